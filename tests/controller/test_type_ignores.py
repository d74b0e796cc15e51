"""Every ``type: ignore`` in the package says why: a comment after it on its line, or a
comment line right above it (or above a run of such lines). The type checker itself runs
in the README's test command."""

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "cachekit"
IGNORE = re.compile(r"#\s*type:\s*ignore(\[[^\]]*\])?")


def test_every_type_ignore_is_explained() -> None:
    bare = []
    paths = sorted(PACKAGE.rglob("*.py"))
    assert len(paths) > 50, f"found only {len(paths)} modules under {PACKAGE}"
    for path in paths:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            found = IGNORE.search(line)
            if not found:
                continue
            after = line[found.end():].strip()
            up = number - 2  # a run of ignored lines may share the comment above it
            while up >= 0 and IGNORE.search(lines[up]):
                up -= 1
            above = lines[up].strip() if up >= 0 else ""
            if not after.startswith("#") and not above.startswith("#"):
                bare.append(f"{path.relative_to(PACKAGE.parent)}:{number}")
    assert not bare, f"type: ignore without a reason: {bare}"

"""Turn the core's absolute imports of itself into relative ones, so the core can be
embedded unchanged under another package name (the Ansible collection's module_utils).

    python scripts/relative_core_imports.py           # rewrite cachekit/core/** in place
    python scripts/relative_core_imports.py --check   # exit 1 and list what is left to do

Inside ``cachekit/core/**`` it rewrites, wherever they stand (top level, functions,
``if TYPE_CHECKING:`` blocks, ``try:``):

- ``from cachekit.core.x import y``   -> ``from .x import y`` (as many dots as needed)
- ``from cachekit.core import x``     -> ``from . import x``
- ``import cachekit.core.x.y [as z]`` -> ``from .x import y [as z]``; without ``as``, the
  code's ``cachekit.core.x.y`` spellings become ``y``
- a string that is a whole dotted name ``"cachekit.core.x.y"`` (the registry's lazily
  loaded managers) -> ``".x.y"``, relative to the core package: load it with
  ``importlib.import_module(name, <the core package>)``.

Running it again changes nothing. What it cannot rewrite safely (``import cachekit.core``
itself, or ``import cachekit.core.x, other`` in one statement) is listed with its file and
line, and the script exits 1: rewrite those by hand (e.g. ``__package__`` names the core
package). After a rewrite it sorts the touched imports with ruff when ruff is installed
beside this Python, as the project's lint would ask.
"""

import argparse
import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
CORE = ("cachekit", "core")
DOTTED = re.compile(r"cachekit\.core(?:\.[A-Za-z_]\w*)+")
FROM_HEAD = re.compile(rb"from\s+(cachekit\.core(?:\s*\.\s*[A-Za-z_]\w*)*)\s+import\b")

Edit = Tuple[int, int, bytes]  # start, end (offsets into the file's bytes), replacement


def module_package(path: Path, core_dir: Path) -> Tuple[str, ...]:
    """The package a core file's relative imports are resolved against."""
    rel = path.relative_to(core_dir).with_suffix("").parts
    return CORE + tuple(rel[:-1])  # an __init__'s package is its own directory: same rule


def relative(package: Tuple[str, ...], target: Tuple[str, ...]) -> str:
    """``target`` (an absolute dotted name in the core) as seen from ``package``."""
    common = 0
    while common < min(len(package), len(target)) and package[common] == target[common]:
        common += 1
    dots = "." * (len(package) - common + 1)
    return dots + ".".join(target[common:])


def _offsets(source: bytes) -> List[int]:
    starts, pos = [0], 0
    for line in source.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    return starts


def _span(node: ast.AST, starts: List[int]) -> Tuple[int, int]:
    # ast's columns count UTF-8 bytes: the edits work on bytes
    start = starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
    end = starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
    return start, end


def _dotted(node: ast.AST) -> Optional[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id] + parts[::-1])
    return None


def plan_file(path: Path, core_dir: Path) -> Tuple[List[Edit], List[str]]:
    """The edits that make ``path``'s self-imports relative, and what needs a hand."""
    source = path.read_bytes()
    tree = ast.parse(source, str(path))
    starts = _offsets(source)
    package = module_package(path, core_dir)
    edits: List[Edit] = []
    problems: List[str] = []
    bare: List[Tuple[str, str]] = []  # (absolute name, the name the rewrite binds)

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                (node.module == "cachekit.core" or node.module.startswith("cachekit.core.")):
            start, end = _span(node, starts)
            head = FROM_HEAD.match(source, start, end)
            if not head:
                problems.append(f"{path}:{node.lineno}: an import this script cannot parse")
                continue
            target = tuple(node.module.split("."))
            new = f"from {relative(package, target)} import".encode()
            edits.append((head.start(), head.end(), new))
        elif isinstance(node, ast.Import):
            ours = [a for a in node.names
                    if a.name == "cachekit.core" or a.name.startswith("cachekit.core.")]
            if not ours:
                continue
            if len(node.names) > 1 or ours[0].name == "cachekit.core":
                problems.append(f"{path}:{node.lineno}: `{ast.unparse(node)}` needs a hand "
                                "(import the core's own modules one per statement; the core "
                                "package itself is __package__)")
                continue
            alias = ours[0]
            target = tuple(alias.name.split("."))
            parent, leaf = relative(package, target[:-1]), target[-1]
            bound = alias.asname or leaf
            as_part = f" as {alias.asname}" if alias.asname else ""
            start, end = _span(node, starts)
            edits.append((start, end, f"from {parent} import {leaf}{as_part}".encode()))
            if not alias.asname:
                bare.append((alias.name, bound))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                DOTTED.fullmatch(node.value):
            start, end = _span(node, starts)
            quote = source[start:end]
            if quote[:1] not in (b'"', b"'") or quote[1:2] == quote[:1] == quote[2:3]:
                problems.append(f"{path}:{node.lineno}: a module name in an unusual string")
                continue
            name = relative(CORE, tuple(node.value.split(".")))
            edits.append((start, end, quote[:1] + name.encode() + quote[:1]))

    if bare:  # the code's spellings of a bare ``import cachekit.core.x``
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            name = _dotted(node)
            for full, bound in bare:
                if name == full:
                    start, end = _span(node, starts)
                    edits.append((start, end, bound.encode()))
    return edits, problems


def apply_edits(path: Path, edits: Sequence[Edit]) -> None:
    data = bytearray(path.read_bytes())
    for start, end, new in sorted(edits, reverse=True):
        data[start:end] = new
    path.write_bytes(bytes(data))


def core_files(core_dir: Path) -> List[Path]:
    return sorted(p for p in core_dir.rglob("*.py") if "__pycache__" not in p.parts)


def _sort_imports(paths: Sequence[Path]) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    if paths and ruff.is_file() and os.access(ruff, os.X_OK):
        subprocess.run([str(ruff), "check", "--quiet", "--fix", "--select", "I",
                        *map(str, paths)], cwd=ROOT, check=False)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if "
                        "some file would change")
    parser.add_argument("--core", type=Path, default=ROOT / "cachekit" / "core",
                        help="the core package directory (default: cachekit/core)")
    args = parser.parse_args(argv)
    core_dir = args.core.resolve()
    touched, problems = [], []
    for path in core_files(core_dir):
        edits, trouble = plan_file(path, core_dir)
        problems += trouble
        if edits:
            touched.append(path)
            if not args.check:
                apply_edits(path, edits)
    for path in touched:
        print(f"{'would rewrite' if args.check else 'rewrote'} {path.relative_to(ROOT)}"
              if path.is_relative_to(ROOT) else str(path))
    if not args.check:
        _sort_imports(touched)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems or (args.check and touched) else 0


if __name__ == "__main__":
    sys.exit(main())

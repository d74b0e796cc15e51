"""The README is the front page and docs/ the manual: every task and every manager is on
both, every page is in the site's nav, and the README's links land where they point (on
GitHub and in the mkdocs site alike)."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Set

import markdown
import yaml

from cachekit.core import KNOWN_MANAGERS

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
SUPPORT_COLUMNS = ["dir", "info", "list", "remove", "purge", "clean", "prune", "locations",
                   "relocate", "report"]


def task_names() -> List[str]:
    """The task list the generated CLI reference is made from."""
    spec = importlib.util.spec_from_file_location("cli_reference",
                                                  REPO / "scripts/cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.task_names()


def between(text: str, name: str) -> str:
    """What the README holds between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``."""
    found = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.S)
    assert found, f"README has no {name}:start/{name}:end markers"
    return found.group(1)


def table_rows(text: str) -> List[List[str]]:
    """The cells of a markdown table's body rows (the header and its rule left out)."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def header_cells(text: str) -> List[str]:
    first = next(line for line in text.splitlines() if line.startswith("|"))
    return [cell.strip() for cell in first.strip("|").split("|")]


def links(cell: str) -> List[str]:
    return re.findall(r"\]\(([^)\s]+)\)", cell)


def heading_ids(page: Path) -> Set[str]:
    """The anchors mkdocs gives a page's headings (its toc extension, as in mkdocs.yml)."""
    md = markdown.Markdown(extensions=["toc", "tables", "fenced_code"])
    md.convert(page.read_text())

    def walk(tokens: List[Dict]) -> Iterator[str]:
        for token in tokens:
            yield token["id"]
            yield from walk(token["children"])

    return set(walk(md.toc_tokens))  # type: ignore[attr-defined]  # set by the toc extension


def github_ids(page: Path) -> Set[str]:
    """The anchors GitHub gives the same headings: lower case, punctuation dropped."""
    ids = set()
    fence = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#{1,6} ", line):
            title = line.lstrip("#").strip().replace("`", "").lower()
            ids.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return ids


def nav_pages(nav: object) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from nav_pages(value)


def test_every_task_is_in_the_cli_reference() -> None:
    reference = (DOCS / "reference/cli.md").read_text()
    tasks = task_names()
    assert len(tasks) >= 12
    for task in tasks:
        assert f"\n## cachekit {task}\n\n```text\nUsage: cachekit {task} " in reference, task


def test_every_task_has_a_row_in_the_readme_linking_to_its_guide() -> None:
    rows = table_rows(between(README.read_text(), "tasks"))
    linked = {}
    for row in rows:
        name = re.match(r"\[`([a-z]+)`\]", row[0])
        assert name and links(row[0]), f"a task row must link its task: {row[0]!r}"
        assert len(row) == 2 and row[1], row
        linked[name.group(1)] = links(row[0])[0]
    missing = [t for t in task_names() if t not in linked]
    assert not missing, f"tasks missing from the README's task table: {missing}"
    for task, target in linked.items():
        assert target.startswith("docs/"), (task, target)
        assert (REPO / target.split("#")[0]).is_file(), (task, target)


def test_every_manager_has_a_page_and_a_row_in_the_readme() -> None:
    table = between(README.read_text(), "managers")
    assert header_cells(table) == ["manager", *SUPPORT_COLUMNS]
    rows = {re.match(r"\[([a-z]+)\]", row[0]).group(1): row  # type: ignore[union-attr]
            for row in table_rows(table)}
    for manager in KNOWN_MANAGERS:
        page = DOCS / "managers" / f"{manager}.md"
        assert page.is_file(), f"{manager} has no docs/managers/{manager}.md"
        assert manager in rows, f"{manager} has no row in the README's managers table"
        row = rows[manager]
        assert links(row[0]) == [f"docs/managers/{manager}.md"], row[0]
        assert len(row) == 1 + len(SUPPORT_COLUMNS), row
        assert set(row[1:]) <= {"✓", "–"}, row
    assert rows["pip"][1 + SUPPORT_COLUMNS.index("clean")] == "–"  # clean is conda's
    assert rows["conda"][1 + SUPPORT_COLUMNS.index("clean")] == "✓"


def test_the_readme_managers_table_says_what_each_manager_declares() -> None:
    """A ✓ exactly where the manager's ``ops`` (data on its class) lists the task."""
    from cachekit.core import registry

    table = between(README.read_text(), "managers")
    for row in table_rows(table):
        name = re.match(r"\[([a-z]+)\]", row[0]).group(1)  # type: ignore[union-attr]
        ops = registry.load(name).ops
        said = {op for op, cell in zip(SUPPORT_COLUMNS, row[1:]) if cell == "✓"}
        assert said == set(SUPPORT_COLUMNS) & ops, (name, sorted(said ^ (set(SUPPORT_COLUMNS)
                                                                      & ops)))


def test_every_docs_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    assert config["theme"]["name"] == "material" and config["strict"] is True
    nav = list(nav_pages(config["nav"]))
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(set(nav)) == pages, set(nav) ^ set(pages)
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    for manager in KNOWN_MANAGERS:
        assert f"managers/{manager}.md" in nav


def test_readme_is_a_front_page() -> None:
    text = README.read_text()
    assert len(text.splitlines()) < 200
    assert "\nsh scripts/test.sh\n" in text  # .ci/run and people run it verbatim
    assert "\nsh scripts/install.sh && ~/.local/bin/cachekit report\n" in text
    assert "bench/README.md" in text


def test_readme_links_land_on_a_file_and_a_heading() -> None:
    for target in links(README.read_text()):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        assert (REPO / path).exists(), target
        if anchor:
            page = REPO / path
            assert anchor in heading_ids(page), f"{target}: no such heading in the site"
            assert anchor in github_ids(page), f"{target}: no such heading on GitHub"


def test_the_architecture_page_names_every_module() -> None:
    """A module added without a word in docs/architecture.md fails here."""
    page = (DOCS / "architecture.md").read_text()
    modules = [p for p in (REPO / "cachekit").rglob("*.py")
               if p.name not in ("__init__.py", "__main__.py")]
    assert len(modules) > 50
    missing = sorted(str(p.relative_to(REPO)) for p in modules if f"`{p.name}`" not in page
                     and f"{p.name})" not in page and f"{p.name}`" not in page)
    assert not missing, f"docs/architecture.md does not name: {missing}"


def test_a_plain_strict_build_prints_only_the_build_s_own_lines(tmp_path: Path) -> None:
    """No theme announcement on stderr (Material 9.7's end-of-life notice buried the
    build's warnings): pyproject pins Material to 9.6, see docs/architecture.md."""
    env = {k: v for k, v in os.environ.items() if k != "NO_MKDOCS_2_WARNING"}
    done = subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--strict",
                           "--site-dir", str(tmp_path / "site")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    noise = [line for line in (done.stdout + done.stderr).splitlines()
             if line.strip() and not line.startswith("INFO")]
    assert noise == [], noise

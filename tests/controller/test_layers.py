"""The controller's layers: the fan-out never imports the renderer, the renderer never
imports the core (it reads results as they came over the wire), and only the renderer
imports tabulate."""

import ast
import subprocess
import sys
from pathlib import Path
from typing import Set

CACHEKIT = Path(__file__).resolve().parents[2] / "cachekit"


def imports(path: Path) -> Set[str]:
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_the_renderer_does_not_import_the_core() -> None:
    for path in (CACHEKIT / "render").rglob("*.py"):  # the HTML pages (render/html/) too
        core = sorted(m for m in imports(path) if m.startswith("cachekit.core")
                      or m == "cachekit.runs")  # runs reads the history through the core's bounds
        assert not core, f"render/{path.name} imports {core}"


def test_the_fan_out_does_not_import_the_renderer() -> None:
    # progress.py draws the progress line, and so may use the renderer's units and counts
    for name in ("fleet.py", "remote.py", "shipping.py", "protocol.py", "inventory.py",
                 "host_patterns.py"):
        render = sorted(m for m in imports(CACHEKIT / name) if m.startswith("cachekit.render"))
        assert not render, f"{name} imports {render}"


def test_shipping_the_core_does_not_import_fabric() -> None:
    """What travels to a host is bytes and strings; only remote.py speaks SSH (Fabric and
    Paramiko cost a local run about 40 ms of start-up)."""
    code = ("import sys, cachekit.shipping\n"
            "print(sorted(m for m in ('fabric', 'paramiko') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=CACHEKIT.parent,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]"]


def test_only_the_html_pages_import_jinja2() -> None:
    """Jinja2 (and its MarkupSafe) load only when a page is written, never for a table."""
    for path in CACHEKIT.rglob("*.py"):
        if {"jinja2", "markupsafe"} & {m.split(".")[0] for m in imports(path)}:
            assert path.parent.name == "html", f"{path.relative_to(CACHEKIT)} imports jinja2"
    code = "import sys, cachekit.tasks\nprint('jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=CACHEKIT.parent,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False"], out.stderr


def test_only_the_renderer_imports_tabulate() -> None:
    for path in CACHEKIT.rglob("*.py"):
        if "tabulate" in {m.split(".")[0] for m in imports(path)}:
            assert path.parent.name == "render", f"{path.relative_to(CACHEKIT)} imports tabulate"

"""The core travels to remote hosts and runs on their own python3: stdlib only, 3.8+."""

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures import REPO

CORE = REPO / "cachekit" / "core"

PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from cachekit.core import agent
result = agent.run({"op": sys.argv[2], "pattern": "*"})
std = set(sys.stdlib_module_names) | {"__main__", "__mp_main__"}
foreign = sorted(m for m in sys.modules
                 if m.split(".")[0] not in std and not m.startswith("cachekit"))
print(json.dumps({"status": result["status"], "schema": result["schema"],
                  "caches": result["caches"], "foreign": foreign}))
"""


def test_core_runs_isolated_without_site(pip_cache: Path, home: Path) -> None:
    """-I -S: no site-packages, no user site, no PYTHON* variables; only the stdlib."""
    for op in ("info", "list", "report"):
        out = subprocess.run(
            [sys.executable, "-I", "-S", "-c", PROBE, str(REPO), op],
            capture_output=True, text=True,
            env={"HOME": str(home), "PIP_CACHE_DIR": str(pip_cache)},
        )
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["status"] == "ok" and doc["schema"] == 1
        assert doc["caches"][0]["path"] == str(pip_cache.resolve())
        assert doc["foreign"] == [], f"core imported non-stdlib modules: {doc['foreign']}"


def test_core_syntax_is_python38() -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "vermin"), "--target=3.8-", "--violations", "--no-tips",
         "--eval-annotations", str(CORE)],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_core_imports_only_stdlib_and_itself() -> None:
    import ast

    std = set(sys.stdlib_module_names) | {"__future__"}
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in std or name.startswith("cachekit.core"), (
                    f"{path.name} imports {name}")


def test_agent_script_reads_request_and_prints_result(pip_cache: Path, home: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cachekit.core.agent"], input=json.dumps({"op": "info"}),
        capture_output=True, text=True, cwd=REPO,
        env={"HOME": str(home), "PIP_CACHE_DIR": str(pip_cache)},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["caches"][0]["wheels"] == 6


ACTION = REPO / ".github" / "actions" / "prune-caches" / "prune_caches.py"


def _controller_imports(path: Path) -> set:
    """The cachekit modules outside the core that ``path`` imports (absolute imports)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "cachekit":
                found |= {f"cachekit.{a.name}" for a in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.startswith("cachekit") and not m.startswith("cachekit.core")}


def test_ci_action_controller_modules_import_only_stdlib() -> None:
    """The CI action runs on the runner's own python3 with nothing installed: the controller
    modules it imports (and theirs, outside the core) may use the standard library only."""
    std = set(sys.stdlib_module_names) | {"__future__"}
    todo, seen = sorted(_controller_imports(ACTION)), set()
    assert "cachekit.policy_input" in todo and "cachekit.errors" in todo
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = REPO.joinpath(*name.split(".")).with_suffix(".py")
        if not path.exists():
            path = REPO.joinpath(*name.split("."), "__init__.py")
        todo += sorted(_controller_imports(path) - seen)
        import ast

        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                and node.module else [])
            for module in names:
                assert module.split(".")[0] in std or module.startswith("cachekit"), (
                    f"{path.relative_to(REPO)} (imported by the CI action) imports {module}")
    probe = ("import json, sys\nsys.path.insert(0, sys.argv[1])\n"
             + "".join(f"import {m}\n" for m in sorted(seen))
             + "std = set(sys.stdlib_module_names) | {'__main__'}\n"
               "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] not in std"
               " and not m.startswith('cachekit'))))\n")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", probe, str(REPO)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [], f"the CI action's modules import {out.stdout}"

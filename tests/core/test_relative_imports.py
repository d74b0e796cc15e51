"""The core imports itself relatively, so it runs unchanged under another package name
(the Ansible collection's module_utils); scripts/relative_core_imports.py keeps it so."""

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.fixtures import REPO

CORE = REPO / "cachekit" / "core"
CONVERTER = REPO / "scripts" / "relative_core_imports.py"
DOTTED = re.compile(r"cachekit\.core(\.\w+)*")


def test_no_core_file_imports_the_core_absolutely() -> None:
    found = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    DOTTED.fullmatch(node.value):
                names = [node.value]  # a module name loaded by importlib
            found += [f"{path.relative_to(REPO)}:{node.lineno}: {n}"  # type: ignore[attr-defined]
                      for n in names if DOTTED.fullmatch(n) or n == "cachekit"]
    assert found == [], "run scripts/relative_core_imports.py:\n" + "\n".join(found)


def test_the_converter_has_nothing_left_to_do() -> None:
    done = subprocess.run([sys.executable, str(CONVERTER), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


SAMPLE = '''\
"""A manager as another helper might write it."""

import os
from typing import TYPE_CHECKING

from cachekit.core import Refused, safety
from cachekit.core.fs import walk
from cachekit.core.managers.base import (
    Manager,
    Settings,
)
from cachekit.core.managers.sample import cache as samplecache

if TYPE_CHECKING:
    from cachekit.core.managers.sample.cache import Record

MODULES = {"sample": "cachekit.core.managers.sample", "doc": "see cachekit.core.wire"}


def lazy() -> None:
    import cachekit.core.fs.mounts
    import cachekit.core.policy as pol
    from cachekit.core.managers.sample import apply

    try:
        from cachekit.core.wire import Run
    except ImportError:
        Run = None
    return cachekit.core.fs.mounts.disk_usage(os.sep), pol, apply, Run, walk, Refused
'''

EXPECTED = '''\
"""A manager as another helper might write it."""

import os
from typing import TYPE_CHECKING

from ... import Refused, safety
from ...fs import walk
from ..base import (
    Manager,
    Settings,
)
from . import cache as samplecache

if TYPE_CHECKING:
    from .cache import Record

MODULES = {"sample": ".managers.sample", "doc": "see cachekit.core.wire"}


def lazy() -> None:
    from ...fs import mounts
    from ... import policy as pol
    from . import apply

    try:
        from ...wire import Run
    except ImportError:
        Run = None
    return mounts.disk_usage(os.sep), pol, apply, Run, walk, Refused
'''


def test_the_converter_rewrites_every_form_and_is_idempotent(tmp_path: Path) -> None:
    core = tmp_path / "cachekit" / "core"
    package = core / "managers" / "sample"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(SAMPLE)
    (package / "cache.py").write_text("from cachekit.core.wire import CacheRecord\n")
    (core / "users.py").write_text("import cachekit.core\n")  # needs a hand: reported
    for _ in range(2):  # the second run finds nothing more to change
        done = subprocess.run([sys.executable, str(CONVERTER), "--core", str(core)],
                              capture_output=True, text=True)
        assert done.returncode == 1
        assert "users.py:1: `import cachekit.core` needs a hand" in done.stderr
        # ruff may sort the imports; compare the lines, which the rewrite decides
        text = (package / "__init__.py").read_text()
        assert sorted(text.splitlines()) == sorted(EXPECTED.splitlines())
        assert (package / "cache.py").read_text() == "from ...wire import CacheRecord\n"
        compile(text, "sample", "exec")


EMBEDDED = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from elsewhere.utils.core import agent, as_user, registry
result = agent.run({"op": "info", "managers": list(registry.known())})
as_user.preload()  # walks the embedded copy by its own name
for name in registry.known():
    registry.load(name)
print(json.dumps({"status": result["status"],
                  "managers": sorted({c["manager"] for c in result["caches"]}),
                  "cachekit": sorted(m for m in sys.modules if m.startswith("cachekit")),
                  "loaded": sum(m.startswith("elsewhere.utils.core.") for m in sys.modules)}))
"""


def test_the_core_runs_under_another_package_name(tmp_path: Path, home: Path) -> None:
    """As the collection embeds it: nothing named cachekit is imported."""
    target = tmp_path / "elsewhere" / "utils" / "core"
    shutil.copytree(CORE, target, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "elsewhere" / "__init__.py").write_text("")
    (tmp_path / "elsewhere" / "utils" / "__init__.py").write_text("")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", EMBEDDED, str(tmp_path)],
                          capture_output=True, text=True, env={"HOME": str(home)})
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["status"] == "ok", doc
    assert doc["cachekit"] == []
    assert doc["loaded"] >= len(list(CORE.rglob("*.py"))) - 2  # preload imported the copy

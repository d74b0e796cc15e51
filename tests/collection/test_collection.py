"""The Ansible collection cachekit.caches as it is built: its copy of the core (one
compressed string in module_utils/core_payload.py) is the core, AnsiballZ ships all of it
and every manager loads from it, each module's documentation says what its argument spec
takes, and ansible-test's sanity tests that run offline pass."""

import ast
import base64
import importlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from cachekit.core import KNOWN_MANAGERS
from tests.fixtures import REPO
from tests.fixtures.ansible_lab import BIN, BUILD, PYTHON, build_collection

CORE = REPO / "cachekit" / "core"
MODULES = ("info", "prune", "clean", "purge", "remove")
# ansible-test sanity tests that need no container and no download (the others install
# their own requirements into virtual environments from the network)
OFFLINE_SANITY = ("action-plugin-docs", "changelog", "compile", "empty-init", "ignores",
                  "line-endings", "no-assert", "no-get-exception", "no-illegal-filenames",
                  "no-smart-quotes", "pslint", "replace-urlopen", "shebang", "shellcheck",
                  "symlinks", "use-argspec-type-path", "use-compat-six")


def core_files() -> Dict[str, str]:
    """The core's sources by dotted name ("" is the package), as the payload holds them."""
    out = {}
    for path in sorted(CORE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(CORE).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path.read_text()
    return out


def payload_sources(text: str) -> Dict[str, str]:
    """The core a core_payload.py carries, read without running it."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SOURCES":
            blob = zlib.decompress(base64.b64decode(ast.literal_eval(node.value)))
            return dict(json.loads(blob)["modules"])
    raise AssertionError("no SOURCES in core_payload.py")


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_collection(tmp_path_factory.mktemp("ckans-built"))


def tree_of(collections: Path) -> Path:
    return collections / "ansible_collections" / "cachekit" / "caches"


def test_invoke_collection_builds_a_tarball_holding_the_core_as_it_is(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "invoke"), "collection", "--output", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (tarball,) = tmp_path.glob("cachekit-caches-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        payload = tar.extractfile("plugins/module_utils/core_payload.py")
        assert payload is not None
        copied = payload_sources(payload.read().decode())
        manifest = json.load(tar.extractfile("MANIFEST.json"))  # type: ignore[arg-type]
    assert copied == core_files()  # byte for byte, every module of the core
    assert {f"plugins/modules/{m}.py" for m in MODULES} <= set(names)
    assert manifest["collection_info"]["namespace"] == "cachekit"
    assert manifest["collection_info"]["name"] == "caches"


def test_a_stale_tree_is_named_file_by_file(tmp_path: Path) -> None:
    tree = tree_of(build_collection(tmp_path))
    check = [sys.executable, str(BUILD), "--check", str(tree)]
    assert subprocess.run(check, capture_output=True).returncode == 0
    payload = tree / "plugins/module_utils/core_payload.py"
    payload.write_text(payload.read_text().replace('DIGEST = "', 'DIGEST = "0'))  # an older core
    (tree / "plugins/module_utils/core").mkdir()
    (tree / "plugins/module_utils/core/agent.py").write_text("")  # a copy someone made
    (tree / "plugins/modules/info.py").unlink()
    done = subprocess.run(check, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "stale collection tree: missing plugins/modules/info.py",
        "stale collection tree: changed plugins/module_utils/core_payload.py",
        "stale collection tree: left over plugins/module_utils/core/agent.py"]
    build_collection(tmp_path)  # a fresh assembly leaves nothing of the old one
    assert subprocess.run(check, capture_output=True).returncode == 0


def test_the_generated_copy_is_not_committed() -> None:
    tracked = subprocess.run(["git", "ls-files", "ansible_collection"], cwd=REPO,
                             capture_output=True, text=True).stdout.split()
    assert tracked and not [p for p in tracked if "/module_utils/core" in p
                            or p.endswith("core_payload.py")]


def _payload(path: Path) -> zipfile.ZipFile:
    """The zip AnsiballZ wraps around a module (its ``zip_data`` argument)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "zip_data":
            return zipfile.ZipFile(io.BytesIO(base64.b64decode(node.value.value)))  # type: ignore[attr-defined]
    raise AssertionError(f"no zip_data in {path}")


def test_ansiballz_ships_every_module_of_the_core(tmp_path: Path, collections: Path,
                                                  home: Path) -> None:
    """The registry loads managers by name, which no import scan sees: the payload must
    hold every module of the core all the same (the real ansible-core builds it)."""
    env = dict(os.environ, HOME=str(home), ANSIBLE_COLLECTIONS_PATH=str(collections),
               ANSIBLE_HOME=str(tmp_path / "ah"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "lt"),
               ANSIBLE_REMOTE_TMP=str(tmp_path / "rt"), ANSIBLE_KEEP_REMOTE_FILES="1",
               ANSIBLE_PIPELINING="False", ANSIBLE_LOCALHOST_WARNING="False")
    done = subprocess.run([str(BIN / "ansible"), "localhost", "-c", "local", "-e",
                           f"ansible_python_interpreter={PYTHON}", "-m", "cachekit.caches.info",
                           "-a", json.dumps({"managers": list(KNOWN_MANAGERS),
                                             "environ": {"PIP_CACHE_DIR": str(tmp_path / "p"),
                                                         "RUNNER_TOOL_CACHE": str(tmp_path)}})],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (wrapper,) = (tmp_path / "rt").rglob("AnsiballZ_info.py")
    shipped = _payload(wrapper)
    utils = "ansible_collections/cachekit/caches/plugins/module_utils/"
    assert sorted(n[len(utils):] for n in shipped.namelist() if n.startswith(utils)) == \
        ["__init__.py", "core_payload.py", "runner.py"]  # the core once, in the payload
    assert payload_sources(shipped.read(utils + "core_payload.py").decode()) == core_files()
    assert {c["manager"] for c in json.loads(done.stdout.split("=>", 1)[1])["caches"]} == \
        set(KNOWN_MANAGERS)


def test_the_managers_choices_are_the_registrys(collections: Path) -> None:
    fragment = (tree_of(collections) / "plugins/doc_fragments/common.py").read_text()
    assert f"choices: [{', '.join(KNOWN_MANAGERS)}]" in fragment


def test_every_text_that_lists_managers_lists_the_registrys(collections: Path) -> None:
    """The default of managers, info's short description, the README and galaxy.yml name
    every manager of the registry (pixi, Poetry and PDM were missing), no placeholder is
    left, and nothing says the core is copied to module_utils/core any more."""
    tree = tree_of(collections)
    fragment = (tree / "plugins/doc_fragments/common.py").read_text()
    default = fragment[fragment.index("By default"):fragment.index("type: list")]
    info = next(line for line in (tree / "plugins/modules/info.py").read_text().splitlines()
                if line.startswith("short_description:"))
    readme = (tree / "README.md").read_text()
    galaxy = (tree / "galaxy.yml").read_text()
    for text in (default, info, readme, galaxy[galaxy.index("description:"):]):
        assert [m for m in KNOWN_MANAGERS if m not in text] == [], text
    assert "conda, uv, pixi, poetry and pdm where found" in " ".join(default.split())
    for path in tree.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".yml"):
            text = path.read_text()
            assert "_MANAGERS@" not in text, path
            assert not re.search(r"module_utils/core\b(?!_payload)", text), path


class _Spec(Exception):
    pass


@pytest.fixture(scope="module")
def collection_path(collections: Path) -> Iterator[Path]:
    """The built collection importable as ``ansible_collections.cachekit.caches``."""
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    finder = _AnsibleCollectionFinder(paths=[str(collections)])
    finder._install()  # type: ignore[no-untyped-call]
    try:
        yield collections
    finally:
        finder._remove()  # type: ignore[no-untyped-call]
        for name in [m for m in sys.modules if m.startswith("ansible_collections")]:
            del sys.modules[name]


def argument_spec(module: str) -> Dict[str, Any]:
    """What ``module`` hands AnsibleModule, caught before it parses any argument."""
    mod = importlib.import_module(f"ansible_collections.cachekit.caches.plugins.modules.{module}")
    seen: Dict[str, Any] = {}

    def catch(**kwargs: Any) -> None:
        seen.update(kwargs)
        raise _Spec

    real, mod.AnsibleModule = mod.AnsibleModule, catch  # type: ignore[attr-defined]
    try:
        with pytest.raises(_Spec):
            mod.main()
    finally:
        mod.AnsibleModule = real  # type: ignore[attr-defined]
    return seen


def _doc_type(spec: Dict[str, Any]) -> str:
    kind = spec.get("type", "str")
    return "str" if callable(kind) else kind  # cachekit's checks take and return strings


def _compare(docs: Dict[str, Any], spec: Dict[str, Any], where: str) -> None:
    assert sorted(docs) == sorted(spec), where
    for name, option in spec.items():
        doc = docs[name]
        at = f"{where}{name}"
        assert doc.get("type", "str") == _doc_type(option), at
        assert doc.get("default") == option.get("default"), at
        assert bool(doc.get("required")) == bool(option.get("required")), at
        assert doc.get("choices") == option.get("choices"), at
        if option.get("elements"):
            elements = option["elements"]
            assert doc.get("elements") == ("str" if callable(elements) else elements), at
        if option.get("options"):
            _compare(doc["suboptions"], option["options"], f"{at}.")


@pytest.mark.parametrize("module", MODULES)
def test_the_documentation_says_what_the_argument_spec_takes(module: str, collection_path: Path,
                                                            home: Path) -> None:
    """As ansible-test's validate-modules holds them (it needs a download here): every
    option documented with the spec's type, default, choices and elements; check mode
    as documented."""
    docs = subprocess.run([str(BIN / "ansible-doc"), "--json", f"cachekit.caches.{module}"],
                          env=dict(os.environ, HOME=str(home),
                                   ANSIBLE_COLLECTIONS_PATH=str(collection_path)),
                          capture_output=True, text=True, timeout=120)
    assert docs.returncode == 0, docs.stderr
    doc = json.loads(docs.stdout)[f"cachekit.caches.{module}"]
    for part in ("examples", "return"):
        assert doc[part], f"{module}: no {part.upper()}"
    spec = argument_spec(module)
    assert spec["supports_check_mode"] is True
    assert doc["doc"]["attributes"]["check_mode"]["support"] == "full"
    _compare(doc["doc"]["options"], spec["argument_spec"], f"{module}: ")


def test_the_offline_sanity_tests_pass(tmp_path: Path, home: Path) -> None:
    """ansible-test sanity in a tree of its own (outside this git checkout, which it would
    read its file list from), for the tests that need neither a container nor a download."""
    tree = tree_of(build_collection(tmp_path))
    args = [a for t in OFFLINE_SANITY for a in ("--test", t)]
    done = subprocess.run([str(BIN / "ansible-test"), "sanity", "--python", "3.11", "--local",
                           "--color", "no", *args], cwd=tree, capture_output=True, text=True,
                          env=dict(os.environ, HOME=str(home)), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    ran = [line for line in done.stdout.splitlines() if line.startswith("Running sanity test")]
    assert len(ran) == len(OFFLINE_SANITY), done.stdout


def test_a_tree_that_is_no_previous_build_is_refused_untouched(tmp_path: Path) -> None:
    """--tree . --tree-only in a checkout would have emptied it: a non-empty directory that
    is not a cachekit.caches build (its galaxy.yml says so) is refused, nothing removed."""
    checkout = tmp_path / "checkout"
    (checkout / "src").mkdir(parents=True)
    (checkout / "src" / "work.py").write_text("precious\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "galaxy.yml").write_text("namespace: someone\nname: caches\n")
    (other / "plugins").mkdir()
    for tree in (checkout, other):
        before = sorted(p.name for p in tree.rglob("*"))
        done = subprocess.run([sys.executable, str(BUILD), "--tree-only", "--tree", str(tree)],
                              capture_output=True, text=True)
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stderr.splitlines() == [
            f"refusing to assemble into {tree}: it is not empty and not a cachekit.caches "
            "build (no galaxy.yml naming namespace cachekit and name caches); give an empty "
            "or new directory"]
        assert sorted(p.name for p in tree.rglob("*")) == before
    assert (checkout / "src" / "work.py").read_text() == "precious\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    build_collection(empty)  # a new or empty directory is fine, and so is a rebuild over it
    build_collection(empty)

"""What a Poetry cache dir may never be, what a removal never follows, and a host without
Poetry: it loads only the few stat calls that tell (``place``)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from cachekit.core import agent
from tests.fixtures import REPO
from tests.fixtures.poetry_cache import tree_digest


def env_for(cache: str, home: Path, **extra: str) -> Dict[str, str]:
    return {"POETRY_CACHE_DIR": cache, "HOME": str(home), "PATH": "/usr/bin:/bin",
            "PWD": str(home), **extra}


@pytest.mark.parametrize("where,why", [
    ("/", "the file system root"),
    ("HOME", "a home directory"),
    ("", "a home directory"),  # empty: Poetry uses the working directory (here the home)
    ("/usr", "a system directory"),
    ("FOREIGN", "does not look like a Poetry cache dir"),
])
@pytest.mark.parametrize("op", ["purge", "remove", "prune"])
def test_destructive_ops_refuse_places_that_are_not_a_poetry_cache(
        home: Path, tmp_path: Path, where: str, why: str, op: str) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    (home / "keep.txt").write_text("mine")
    cache = {"HOME": str(home), "FOREIGN": str(foreign)}.get(where, where)
    request = {"op": op, "managers": ["poetry"], "environ": env_for(cache, home),
               "apply": True, "pattern": "*", "policy": {"keep": [], "max_size_bytes": 0}}
    before = tree_digest(tmp_path)
    result = agent.run(request)
    assert result["status"] == "refused" and why in result["error"], result["error"]
    assert "POETRY_CACHE_DIR" in result["error"]
    assert tree_digest(tmp_path) == before


def test_dir_says_an_empty_variable_means_the_working_directory(home: Path) -> None:
    record = agent.run({"op": "dir", "managers": ["poetry"],
                        "environ": env_for("", home)})["caches"][0]
    assert record["path"] == str(home) and "working directory" in record["source"]


def test_a_symlinked_artifacts_dir_is_never_followed(poetry_cache: Path, home: Path,
                                                     tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    (victim / "aa/bb/cc/dd").mkdir(parents=True)
    (victim / "aa/bb/cc/dd/precious-1.0-py3-none-any.whl").write_text("not Poetry's")
    os.rename(poetry_cache / "artifacts", tmp_path / "real-artifacts")
    (poetry_cache / "artifacts").symlink_to(victim)
    before = tree_digest(victim)
    done = agent.run({"op": "purge", "managers": ["poetry"], "apply": True,
                      "environ": env_for(str(poetry_cache), home)})
    assert done["status"] == "ok", done["error"]
    assert tree_digest(victim) == before and (poetry_cache / "artifacts").is_symlink()
    assert not list((poetry_cache / "cache/repositories").iterdir())


def test_a_symlinked_cache_dir_inside_is_neither_counted_nor_followed(
        poetry_cache: Path, home: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    (victim / "repositories/local/aa").mkdir(parents=True)
    (victim / "repositories/local/aa/notes").write_text("not Poetry's")
    os.rename(poetry_cache / "cache", tmp_path / "real-cache")
    (poetry_cache / "cache").symlink_to(victim)
    env = env_for(str(poetry_cache), home)
    info = agent.run({"op": "info", "managers": ["poetry"], "environ": env})["caches"][0]
    assert info["repositories"] == {} and info["releases"] == 0
    before = tree_digest(victim)
    done = agent.run({"op": "purge", "managers": ["poetry"], "apply": True, "environ": env})
    assert done["status"] == "ok", done["error"]
    assert tree_digest(victim) == before
    assert not list((poetry_cache / "artifacts").iterdir())


def test_a_plan_whose_path_became_a_symlink_removes_nothing_outside(
        poetry_cache: Path, home: Path, tmp_path: Path) -> None:
    env = env_for(str(poetry_cache), home)
    dry = agent.run({"op": "remove", "managers": ["poetry"], "pattern": "delta",
                     "environ": env})
    artifact = next(Path(i[0]) for i in dry["plans"][0]["items"]
                    if i[0].startswith("artifacts/"))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "delta-2.0-py3-none-any.whl").write_text("elsewhere")
    parent = poetry_cache / artifact.parent
    os.rename(parent, tmp_path / "moved-away")
    parent.symlink_to(victim.parent)  # a link swapped in on the way to the entry
    done = agent.run({"op": "apply", "managers": ["poetry"], "plans": dry["plans"],
                      "environ": env})
    assert done["status"] == "ok", done["error"]
    assert (victim / "delta-2.0-py3-none-any.whl").read_text() == "elsewhere"
    row = next(r for r in done["removed"] if r["path"].endswith(str(artifact)))
    assert row["ok"] is False


def _modules_loaded(env: Dict[str, str]) -> Dict:
    code = ("import json, sys; from cachekit.core import agent; "
            "r = agent.run({'op': 'info', 'environ': dict(__import__('os').environ)}); "
            "print(json.dumps({'managers': sorted({c['manager'] for c in r['caches']}), "
            "'poetry': sorted(m for m in sys.modules if 'managers.poetry' in m)}))")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded: Dict = json.loads(done.stdout)
    return loaded


def test_a_host_without_poetry_loads_only_its_signs(home: Path, tmp_path: Path) -> None:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    loaded = _modules_loaded(env)
    assert "poetry" not in loaded["managers"]
    assert loaded["poetry"] == ["cachekit.core.managers.poetry",
                                "cachekit.core.managers.poetry.place"]
    for sign in ({"POETRY_CACHE_DIR": str(tmp_path / "c")},
                 {"POETRY_CONFIG_DIR": str(tmp_path / "cfg")}):
        assert "poetry" in _modules_loaded(dict(env, **sign))["managers"]
    (home / ".cache/pypoetry").mkdir(parents=True)
    assert "poetry" in _modules_loaded(env)["managers"]


def test_src_checkouts_and_strangers_are_shown_and_never_removed(poetry_cache: Path,
                                                                 home: Path) -> None:
    """``src/`` holds the git checkouts editable installs run from: measured apart, kept.
    A name at the top Poetry never writes is shown, and refuses every removal."""
    (poetry_cache / "src/mylib/.git").mkdir(parents=True)
    (poetry_cache / "src/mylib/setup.py").write_text("x" * 1000)
    (poetry_cache / "notes").write_text("mine")
    env = env_for(str(poetry_cache), home)
    before = agent.run({"op": "info", "managers": ["poetry"], "environ": env})["caches"][0]
    (poetry_cache / "cache/repositories/stray").write_text("12345")  # in no repository
    info = agent.run({"op": "info", "managers": ["poetry"], "environ": env})["caches"][0]
    assert (info["files"], info["bytes"]) == (before["files"] + 1, before["bytes"] + 5)
    assert info["src_bytes"] == 1000 and info["unknown"] == ["notes"]
    assert any("notes" in w for w in info["warnings"])
    kept = tree_digest(poetry_cache / "src")
    for op in ("purge", "prune", "remove"):
        done = agent.run({"op": op, "managers": ["poetry"], "environ": env, "apply": True,
                          "pattern": "*", "policy": {"keep": [], "max_size_bytes": 0}})
        assert done["status"] == "refused" and "'notes' is not one of Poetry's" in \
            done["error"], done["error"]
    assert (poetry_cache / "notes").read_text() == "mine"
    (poetry_cache / "notes").unlink()  # a stranger at the top refuses every removal
    for op in ("purge", "prune", "remove"):
        done = agent.run({"op": op, "managers": ["poetry"], "environ": env, "apply": True,
                          "pattern": "*", "policy": {"keep": [], "max_size_bytes": 0}})
        assert done["status"] == "ok", done["error"]
    assert tree_digest(poetry_cache / "src") == kept
    assert not (poetry_cache / "cache/repositories/stray").exists()  # purge took it


def test_a_workspace_holding_artifacts_is_refused(home: Path, tmp_path: Path) -> None:
    """POETRY_CACHE_DIR="" is the working directory: a CI workspace with ``artifacts/``
    beside its own files is no Poetry cache."""
    work = tmp_path / "work"
    (work / "artifacts/ci").mkdir(parents=True)
    (work / "artifacts/ci/build-output.tar").write_text("the build")
    (work / "src").mkdir()
    (work / "Makefile").write_text("all:")
    before = tree_digest(work)
    for op in ("purge", "prune", "remove"):
        done = agent.run({"op": op, "managers": ["poetry"], "pattern": "*",
                          "environ": env_for("", home, PWD=str(work)),
                          "policy": {"keep": [], "max_size_bytes": 0}})
        assert done["status"] == "refused", done
        assert "'Makefile' is not one of Poetry's" in done["error"]
    assert tree_digest(work) == before


def test_purge_takes_only_what_is_shaped_as_poetry_s(poetry_cache: Path, home: Path) -> None:
    """Inside Poetry's own names, only a repository of FileCache and HTTP cache
    directories and ``artifacts/<2>/<2>/<2>/<58 hex>`` directories are taken; the rest
    stays and is named."""
    (poetry_cache / "artifacts/ci").mkdir()
    (poetry_cache / "artifacts/ci/build-output.tar").write_text("the build")
    shaped = next(p for p in (poetry_cache / "artifacts").glob("*/*/*/*"))
    (shaped.parent / "not-a-hash").mkdir()
    (shaped.parent / "not-a-hash/keep.whl").write_text("mine")
    (poetry_cache / "cache/repositories/mine").mkdir()
    (poetry_cache / "cache/repositories/mine/notes.txt").write_text("mine")
    strangers = {p: tree_digest(poetry_cache / p) for p in
                 ("artifacts/ci", "cache/repositories/mine", shaped.parent / "not-a-hash")}
    env = env_for(str(poetry_cache), home)
    dry = agent.run({"op": "purge", "managers": ["poetry"], "environ": env})
    assert dry["status"] == "ok", dry["error"]
    named = " ".join(dry["caches"][0]["warnings"])
    assert "artifacts/ci" in named and "cache/repositories/mine" in named
    assert str((shaped.parent / "not-a-hash").relative_to(poetry_cache)) in named
    done = agent.run({"op": "purge", "managers": ["poetry"], "environ": env, "apply": True})
    assert done["status"] == "ok", done["error"]
    for path, digest in strangers.items():
        assert tree_digest(poetry_cache / path) == digest
    assert not (poetry_cache / "cache/repositories/local").exists()
    assert not shaped.exists()
    left = {str(p.relative_to(poetry_cache)) for p in (poetry_cache / "artifacts").rglob("*")
            if p.is_file()}
    assert left == {"artifacts/ci/build-output.tar",
                    str((shaped.parent / "not-a-hash/keep.whl").relative_to(poetry_cache))}


def test_a_cache_dir_that_is_a_symlink_is_resolved(poetry_cache: Path, home: Path,
                                                   tmp_path: Path) -> None:
    """``~/.cache/pypoetry -> /data/...`` is common: ``dir`` shows it as Poetry does,
    every removal works on the real dir (as pip's and pixi's do), and the link stays."""
    link = home / ".cache/pypoetry"
    link.parent.mkdir(parents=True)
    link.symlink_to(poetry_cache)
    env = env_for(str(link), home)
    info = agent.run({"op": "info", "managers": ["poetry"], "environ": env})["caches"][0]
    assert info["path"] == str(link) and info["files"] > 0
    for op, extra in (("remove", {"pattern": "delta"}),
                      ("prune", {"policy": {"keep": ["gamma"], "max_size_bytes": 0}}),
                      ("purge", {})):
        done = agent.run({"op": op, "managers": ["poetry"], "environ": env, "apply": True,
                          **extra})
        assert done["status"] == "ok", done["error"]
        assert done["removed"] and all(r["ok"] for r in done["removed"]), done["removed"]
        assert all(r["path"].startswith(f"{poetry_cache}/") for r in done["removed"])
    assert link.is_symlink() and not list((poetry_cache / "artifacts").iterdir())
    assert not list((poetry_cache / "cache/repositories").iterdir())

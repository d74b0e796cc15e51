"""cachekit against the real Poetry on the same cache dir: ``poetry cache list``, the
entry counts ``poetry cache clear REPO --all`` asks about, ``poetry cache clear
REPO:PKG:VERSION`` and ``poetry cache clear --all``; and what cachekit does beyond
Poetry (``artifacts/``), with ``virtualenvs/`` byte-identical and still working."""

import os
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Set

import pytest

from tests.core.managers.poetry.test_manager import releases, run
from tests.fixtures.poetry_cache import (
    PROJECTS,
    RELEASES,
    env_python,
    poetry_env,
    run_poetry,
    tree_digest,
)


def poetry(cache: Path, home: Path, *args: str, answer: str = "") -> str:
    env = poetry_env(home, cache)
    if answer:
        env.pop("POETRY_NO_INTERACTION")
        done = subprocess.run([str(Path(run_poetry.__globals__["POETRY"])), *args], env=env,
                              input=answer, capture_output=True, text=True, timeout=120)
        return done.stdout + done.stderr
    return run_poetry(list(args), env).stdout


def files_under(path: Path) -> Set[str]:
    return {str(Path(d, f).relative_to(path)) for d, _ds, fs in os.walk(path) for f in fs}


def metadata_files(cache: Path) -> Set[str]:
    """The release metadata files (not the HTTP cache) under cache/repositories."""
    return {f for f in files_under(cache / "cache/repositories") if "/_http_/" not in f}


def copy_of(cache: Path, tmp_path: Path, name: str) -> Path:
    import shutil

    dest = tmp_path / name
    shutil.copytree(cache, dest, symlinks=True)
    return dest


def test_info_counts_what_poetry_counts(poetry_cache: Path, home: Path) -> None:
    """`poetry cache list` names the repositories; `poetry cache clear REPO --all` asks
    about as many entries as cachekit counts files in each."""
    info = run("info", poetry_cache, home)["caches"][0]
    listed = poetry(poetry_cache, home, "cache", "list").split()
    assert sorted(info["repositories"]) == listed == ["_default_cache", "local"]
    for repo, figures in info["repositories"].items():
        asked = poetry(poetry_cache, home, "cache", "clear", repo, "--all", answer="no\n")
        assert f"Delete {figures['files']} entries?" in asked
    # and the totals are the files' own (lstat sizes), virtualenvs apart
    repos, arts = poetry_cache / "cache/repositories", poetry_cache / "artifacts"
    everything = [p / f for p in (repos, arts) for f in files_under(p)]
    assert info["files"] == len(everything)
    assert info["bytes"] == sum(f.lstat().st_size for f in everything)
    envs = [poetry_cache / "virtualenvs" / f for f in files_under(poetry_cache / "virtualenvs")]
    assert info["virtualenvs_bytes"] == sum(f.lstat().st_size for f in envs
                                            if not f.is_symlink())  # links count 0
    assert info["artifacts"] == 6  # five downloads and the wheel built from gamma's sdist
    assert info["reclaimable_bytes"] == info["bytes"]


def test_remove_repo_pkg_version_drops_what_poetry_drops_and_its_artifacts(
        poetry_cache: Path, home: Path, tmp_path: Path) -> None:
    theirs = copy_of(poetry_cache, tmp_path, "theirs")
    poetry(theirs, home, "cache", "clear", "local:beta:1.1", "-n")
    before = tree_digest(poetry_cache)
    run("remove", poetry_cache, home, pattern="local:beta:1.1", apply=True)
    assert metadata_files(poetry_cache) == metadata_files(theirs)
    assert releases(poetry_cache, home) == RELEASES - {("beta", "1.1")}
    after = tree_digest(poetry_cache)
    gone = {p for p in before if p not in after}
    assert {os.path.basename(p) for p in gone if p.startswith("artifacts/")
            and not before[p].startswith("dir:")} == {"beta-1.1-py3-none-any.whl"}
    # nothing of another package changed: every file left is as it was
    assert all(after[p] == before[p] for p in after if p in before)
    assert not any(n.startswith("beta-1.1") for n in
                   [os.path.basename(p) for p in after if p.startswith("artifacts/")])
    assert any(os.path.basename(p).startswith("beta-1.0") for p in after)
    # Poetry's own check agrees: the entry is gone, another one is still there
    assert "No cache entries for beta:1.1" in poetry(poetry_cache, home, "cache", "clear",
                                                     "local:beta:1.1", "-n")
    assert "Delete cache entry delta:2.0" in poetry(poetry_cache, home, "cache", "clear",
                                                    "local:delta:2.0", answer="no\n")


def test_remove_pkg_drops_every_version_and_nothing_of_another_package(
        poetry_cache: Path, home: Path) -> None:
    before = tree_digest(poetry_cache)
    listed = [e for e in run("list", poetry_cache, home)["entries"] if e["name"] == "foo-bar"]
    dry = run("remove", poetry_cache, home, pattern="Foo_Bar")  # names compared normalised
    assert tree_digest(poetry_cache) == before  # a plan removes nothing
    done = run("apply", poetry_cache, home, plans=dry["plans"])
    assert all(r["ok"] for r in done["removed"])
    assert done["reclaimed_bytes"] == dry["caches"][0]["reclaimable_bytes"] == sum(
        e["bytes"] for e in listed)
    assert ("foo-bar", "3.0") not in releases(poetry_cache, home)
    after = tree_digest(poetry_cache)
    assert all(after[p] == before[p] for p in after if p in before)
    assert not any("foo_bar" in p.lower() for p in after if p.startswith("artifacts/"))
    assert {r for r in RELEASES if r[0] != "foo-bar"} == releases(poetry_cache, home)


def test_purge_is_poetry_s_clear_all_plus_artifacts(poetry_cache: Path, home: Path,
                                                    tmp_path: Path) -> None:
    theirs = copy_of(poetry_cache, tmp_path, "theirs")
    poetry(theirs, home, "cache", "clear", "--all", "-n")
    envs = tree_digest(poetry_cache / "virtualenvs")
    info = run("info", poetry_cache, home)["caches"][0]
    done = run("purge", poetry_cache, home, apply=True)
    assert done["reclaimed_bytes"] == info["reclaimable_bytes"]
    assert {r["path"] for r in done["removed"]} == {
        str(poetry_cache / "cache/repositories/local"),
        str(poetry_cache / "cache/repositories/_default_cache"), str(poetry_cache / "artifacts")}
    # the repositories hold what Poetry's clear leaves: nothing (cachekit keeps the dir)
    assert files_under(poetry_cache / "cache") == files_under(theirs / "cache") == set()
    assert files_under(poetry_cache / "artifacts") == set()  # Poetry leaves these
    assert files_under(theirs / "artifacts")
    assert tree_digest(poetry_cache / "virtualenvs") == envs
    assert run("list", poetry_cache, home)["entries"] == []


def test_environments_in_use_keep_working_after_purge_remove_and_prune(
        poetry_cache: Path, home: Path) -> None:
    envs = tree_digest(poetry_cache / "virtualenvs")
    run("remove", poetry_cache, home, pattern="delta", apply=True)
    run("prune", poetry_cache, home, apply=True, policy={"keep": [], "max_size_bytes": 0})
    run("purge", poetry_cache, home, apply=True)
    assert tree_digest(poetry_cache / "virtualenvs") == envs
    modules = {"app": "beta, delta, gamma, foo_bar", "old": "beta"}
    for project in PROJECTS:
        python = env_python(poetry_cache, project)
        done = subprocess.run([str(python), "-c", f"import {modules[project]}"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


def _age(cache: Path, name: str, days: int) -> None:
    """Make every file of the package last used ``days`` ago (its files as cachekit ties
    them; which files those are is checked against Poetry by the remove tests)."""
    from cachekit.core.managers.poetry.cache import layout

    when = time.time() - days * 86400
    for (package, _v), rel in layout(str(cache)).releases.items():
        if package == name:
            for f in rel.files:
                os.utime(cache / f.path, (when, when))


def _listing(cache: Path) -> Set[str]:
    return files_under(cache)  # names only: reading contents would move access times


@pytest.mark.parametrize("rules,expected", [
    ({"older_than_s": 30 * 86400}, {"delta"}),
    ({"max_size_bytes": 0}, {"beta", "delta", "gamma", "foo-bar"}),
    ({"max_size_bytes": 0, "keep": ["beta", "Foo.Bar"]}, {"delta", "gamma"}),
    # gamma's wheel was built here: its release is kept (its index pages are not)
    ({"ci": True}, {"beta", "delta", "foo-bar"}),
    ({"min_free": ["percent", 100]}, {"beta", "delta", "gamma", "foo-bar"}),
    ({"min_free": ["percent", 0], "max_size_bytes": 0}, set()),
])
def test_prune_policies(poetry_cache: Path, home: Path, rules: Dict[str, Any],
                        expected: Set[str]) -> None:
    _age(poetry_cache, "delta", 90)
    rules = {"keep": [], **rules}
    before = _listing(poetry_cache)
    dry = run("prune", poetry_cache, home, policy=rules)
    assert _listing(poetry_cache) == before  # a dry run removes nothing
    assert {r["package"] for r in dry["removed"] if r["package"]} >= expected
    done = run("prune", poetry_cache, home, policy=rules, apply=True)
    assert all(r["ok"] for r in done["removed"])
    left = {n for n, _v in releases(poetry_cache, home)}
    assert not left & expected
    assert left | expected == {n for n, _v in RELEASES}


def test_symlinks_count_as_poetry_s_os_walk_counts_them(poetry_cache: Path, home: Path,
                                                        tmp_path: Path) -> None:
    """"Delete N entries?" is os.walk's file count: a symlink to a directory is not a file
    (and is not entered), a symlink to a file or a dangling one is."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "sub").mkdir(parents=True)
    (elsewhere / "sub/inside").write_text("x")
    local = poetry_cache / "cache/repositories/local"
    (local / "_http_/to-dir").symlink_to(elsewhere)
    (local / "_http_/to-file").symlink_to(elsewhere / "sub/inside")
    (local / "_http_/dangling").symlink_to(tmp_path / "nowhere")
    (poetry_cache / "artifacts/to-dir").symlink_to(elsewhere)
    (poetry_cache / "cache/repositories/loose-link").symlink_to(elsewhere)
    info = run("info", poetry_cache, home)["caches"][0]
    asked = poetry(poetry_cache, home, "cache", "clear", "local", "--all", answer="no\n")
    assert f"Delete {info['repositories']['local']['files']} entries?" in asked
    asked = poetry(poetry_cache, home, "cache", "clear", "--all", answer="no\n")
    assert f"Delete {info['files'] - len(files_under(poetry_cache / 'artifacts'))} " \
        "entries?" in asked
    repos, arts = poetry_cache / "cache/repositories", poetry_cache / "artifacts"
    assert info["files"] == len(files_under(repos)) + len(files_under(arts))

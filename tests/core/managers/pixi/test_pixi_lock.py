"""rattler's ``pkgs/.cache.lock`` as cachekit meets it, often as root in a user's cache: a
symlink or directory in its place is never followed nor accepted as the cache's signature,
and a missing one is created as the cache's owner would have it."""

import os
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.pixi_cache import PixiFixture

NOBODY = 65534


@pytest.mark.root
def test_a_symlinked_cache_lock_creates_nothing_outside_and_the_purge_refuses(
        pixi: PixiFixture, core_run: Any, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the reviewer's case is root's")
    outside = tmp_path / "x"
    outside.mkdir()
    (pixi.pkgs / ".cache.lock").unlink()
    (pixi.pkgs / ".cache.lock").symlink_to(outside / "evil")
    refused = core_run("purge", ["pixi"], pixi.environ, apply=True, ok=False)
    assert refused["status"] == "refused", refused
    assert refused["error"] == (f"{os.path.realpath(pixi.pkgs)}/.cache.lock: cannot be "
                                "locked: a symbolic link, not a regular file")
    assert os.listdir(outside) == []
    assert all((pixi.pkgs / d).is_dir() for d in pixi.unused)
    moved = core_run("relocate", ["pixi"], pixi.environ, to=str(tmp_path / "moved"),
                     move=True, apply=True, ok=False)
    assert moved["status"] == "refused" and "\n" not in moved["error"]
    assert os.listdir(outside) == [] and pixi.root.is_dir()


def test_only_a_regular_cache_lock_is_rattlers_signature(pixi: PixiFixture, core_run: Any,
                                                        tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    (stranger / "pkgs").mkdir(parents=True)
    (stranger / "pkgs" / "thesis.tex").write_text("mine")
    environ = dict(pixi.environ, PIXI_CACHE_DIR=str(stranger))
    for kind in ("symlink", "dir"):
        lock = stranger / "pkgs" / ".cache.lock"
        if kind == "symlink":
            lock.symlink_to(tmp_path / "elsewhere")
        else:
            lock.unlink()
            lock.mkdir()
        refused = core_run("purge", ["pixi"], environ, apply=True, ok=False)
        assert refused["status"] == "refused" and "rattler package cache" in refused["error"]
    assert (stranger / "pkgs" / "thesis.tex").exists() and not (tmp_path / "elsewhere").exists()


@pytest.mark.root
def test_a_missing_cache_lock_is_created_as_the_caches_owner(pixi: PixiFixture,
                                                             core_run: Any) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    (pixi.pkgs / ".cache.lock").unlink()
    os.chown(pixi.pkgs, NOBODY, NOBODY)
    done = core_run("purge", ["pixi"], pixi.environ, apply=True)
    assert done["status"] == "ok" and not any((pixi.pkgs / d).exists() for d in pixi.unused)
    st = os.lstat(pixi.pkgs / ".cache.lock")
    assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)  # pixi, as that user, can open it


def test_move_is_refused_while_the_root_holds_environments(pixi: PixiFixture, core_run: Any,
                                                           tmp_path: Path) -> None:
    """Detached project environments and pixi's cached ones keep absolute paths."""
    config = pixi.home / ".pixi" / "config.toml"
    config.write_text(f'[cache]\nroot = "{pixi.root}"\n')
    environ = {k: v for k, v in pixi.environ.items() if k != "PIXI_CACHE_DIR"}
    for sub in ("envs", "cached-envs-v0", "cached-build-tool-envs-v0"):
        held = pixi.root / sub / "some-env-0123abcd"
        held.mkdir(parents=True)
        refused = core_run("relocate", ["pixi"], environ, to=str(tmp_path / "moved"),
                           move=True, apply=True, ok=False)
        assert refused["status"] == "refused", refused
        assert f"{pixi.root / sub} holds 1 environments" in refused["error"]
        assert pixi.root.is_dir() and not (tmp_path / "moved").exists()
        assert config.read_text() == f'[cache]\nroot = "{pixi.root}"\n'
        held.rmdir()  # an empty one is nothing to break
    done = core_run("relocate", ["pixi"], environ, to=str(tmp_path / "moved"), move=True,
                    apply=True)
    assert done["status"] == "ok" and (tmp_path / "moved" / "envs").is_dir()

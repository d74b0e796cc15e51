"""rattler names a package cached from a URL or path ``name-version-build-<sha256 of the
origin>``: cachekit's pixi manager parses it as that package (list, remove NAME, the
by-name fallback of an environment record), and conda's parsing stays as it was."""

import os
import shutil
from typing import Any

from cachekit.core.managers import conda_format
from tests.fixtures.pixi_cache import PixiFixture, dist, install

HASH = "0123456789abcdef" * 4


def test_a_hashed_cache_dir_is_the_package_it_names(pixi: PixiFixture, core_run: Any) -> None:
    # an environment cachekit finds records zeta (a copy: only its record says so)
    later = pixi.home / "late" / ".pixi" / "envs" / "default"
    install(pixi.channel, pixi.pkgs, [(pixi.root.parent / "late-src", ["zeta"])])
    shutil.copytree(pixi.root.parent / "late-src", later, symlinks=True)
    shutil.rmtree(pixi.root.parent / "late-src")
    hashed = f"{dist('zeta')}-{HASH}"
    os.rename(pixi.pkgs / dist("zeta"), pixi.pkgs / hashed)
    os.rename(pixi.pkgs / (dist("zeta") + ".lock"), pixi.pkgs / (hashed + ".lock"))
    listed = core_run("list", ["pixi"], pixi.environ, pattern="zeta")["entries"]
    assert [(r["name"], r["version"], r["build"]) for r in listed] == [("zeta", "0.9", "h0_0")]
    # the record's package path is gone: every package of that name stays
    kept = core_run("remove", ["pixi"], pixi.environ, pattern="zeta", apply=True)
    assert kept["removed"] == [] and (pixi.pkgs / hashed).is_dir()
    assert "by name" in listed[0]["used_by"][0]
    purge = core_run("purge", ["pixi"], pixi.environ)
    assert hashed in {os.path.basename(k["path"]) for k in purge["kept"]}
    shutil.rmtree(pixi.home / "late")
    done = core_run("remove", ["pixi"], pixi.environ, pattern="zeta", apply=True)
    assert sorted(os.path.basename(r["path"]) for r in done["removed"] if r["ok"]) == [
        hashed, hashed + ".lock"]
    assert not (pixi.pkgs / hashed).exists()


def test_conda_names_are_parsed_as_before() -> None:
    assert conda_format.split_dist(conda_format.dist_name(f"my-pkg-1.0-{HASH}.conda")) == (
        "my-pkg", "1.0", HASH)
    assert conda_format.matches(f"my-pkg-1.0-{HASH}", "my-pkg")
    assert not conda_format.matches(f"my-pkg-1.0-{HASH}", "my")
    assert conda_format.dist_name(f"numpy-1.26.4-py311_0-{HASH}", rattler=True) == \
        "numpy-1.26.4-py311_0"
    assert conda_format.dist_name(f"numpy-1.26.4-{HASH}", rattler=True) == \
        f"numpy-1.26.4-{HASH}"  # name-version-build already: the build is the hex
    assert conda_format.dist_name(f"a-b-c-{HASH.upper()}", rattler=True) == \
        f"a-b-c-{HASH.upper()}"

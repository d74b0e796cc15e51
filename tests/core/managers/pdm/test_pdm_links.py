"""Symlinks around a PDM cache: a bucket that is a symlink is never entered (nothing
outside the cache is listed, planned or removed), and a cache directory that is itself a
symlink (``~/.cache/pdm -> /data/pdm``) is worked on where it is, with the real PDM's
figures."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Set

import pytest
from pdm.cli.commands.cache import format_size

from tests.core.managers.pdm.test_pdm_parity import tree
from tests.fixtures.pdm_cache import pdm_env, run_pdm
from tests.fixtures.pip_cache import LoopbackIndex, make_wheel
from tests.fixtures.program import run_core


def core(op: str, cache: Path, **request: Any) -> Dict[str, Any]:
    return run_core(op, ["pdm"], {"PDM_CACHE_DIR": str(cache)}, **request)


def shown(result: Dict[str, Any]) -> Set[str]:
    """Every path a result names: rows to remove, rows kept, entries listed."""
    return {r["path"] for key in ("removed", "kept", "entries") for r in result.get(key, [])}


@pytest.mark.parametrize("bucket", ["packages", "wheels", "hashes"])
def test_a_bucket_that_is_a_symlink_is_never_entered(pdm_cache: Path, tmp_path: Path,
                                                     bucket: str) -> None:
    outside = tmp_path / "outside"
    shutil.move(str(pdm_cache / bucket), str(outside))
    (pdm_cache / bucket).symlink_to(outside)
    before = tree(outside)
    assert before  # the real PDM's files, now outside the cache
    results = [core("purge", pdm_cache), core("remove", pdm_cache, pattern="*"),
               core("list", pdm_cache),
               core("prune", pdm_cache, policy={"keep": [], "ci": True})]
    for result in results:
        named = shown(result)
        assert not {p for p in named if p.startswith(str(pdm_cache / bucket) + "/")}, named
        assert str(pdm_cache / bucket) not in named
        assert not {p for p in named if p.startswith(str(outside))}
    rec = core("info", pdm_cache)["caches"][0]
    assert any(f"{pdm_cache / bucket} is not a directory itself" in w for w in rec["warnings"])
    assert rec[f"{bucket}_bytes" if bucket != "packages" else "packages_bytes"] == 0
    if bucket == "packages":
        assert rec["packages"] == 0
    done = core("purge", pdm_cache, apply=True)
    assert all(r["ok"] for r in done["removed"])
    assert tree(outside) == before and (pdm_cache / bucket).is_symlink()


def test_a_cache_dir_that_is_a_symlink_is_worked_on_where_it_is(
        pdm_cache: Path, home: Path, tmp_path: Path) -> None:
    """``~/.cache/pdm -> /data/pdm`` (the default place, a link to another disk): figures
    are ``pdm cache info``'s through the link; remove, prune and purge work and leave what
    ``pdm cache clear`` leaves."""
    link = home / ".cache/pdm"
    link.parent.mkdir(parents=True)
    link.symlink_to(pdm_cache)
    oracle = tmp_path / "pdm-oracle"
    shutil.copytree(pdm_cache, oracle, symlinks=True)
    oracle_link = tmp_path / "oracle-link"
    oracle_link.symlink_to(oracle)
    said = run_pdm(["cache", "info"], pdm_env(home), cwd=home).stdout
    rec = run_core("info", ["pdm"])["caches"][0]
    assert rec["path"] == os.path.realpath(pdm_cache) and rec["source"] == "default (~/.cache/pdm)"
    assert f"Cache Root: {link}, Total size: {format_size(rec['bytes'])}" in said
    assert f"Packages: {rec['packages']}, Size: {format_size(rec['packages_bytes'])}" in said
    removed = run_core("remove", ["pdm"], pattern="zeta*", apply=True)["removed"]
    assert removed and all(r["ok"] for r in removed)
    assert not list(pdm_cache.glob("packages/zeta-*")) and not list(pdm_cache.rglob("zeta*.whl"))
    pruned = run_core("prune", ["pdm"], apply=True, policy={"keep": [], "ci": True})["removed"]
    assert pruned and all(r["ok"] for r in pruned)
    dry = run_core("purge", ["pdm"])
    assert all(r["path"].startswith(os.path.realpath(pdm_cache) + "/") for r in dry["removed"])
    done = run_core("purge", ["pdm"], apply=True)
    assert done["removed"] and all(r["ok"] for r in done["removed"])
    run_pdm(["cache", "clear"], pdm_env(home, PDM_CACHE_DIR=str(oracle_link)), cwd=home)
    assert tree(pdm_cache) == tree(oracle) and link.is_symlink()
    after = run_pdm(["cache", "info"], pdm_env(home), cwd=home).stdout
    rec = run_core("info", ["pdm"])["caches"][0]
    assert f"Total size: {format_size(rec['bytes'])}" in after and rec["packages"] == 4



# Hides pip from an interpreter unless it runs a pip wheel (as PDM runs pip.whl/pip).
HIDE_PIP = '''import sys
if not any(arg.endswith("pip.whl/pip") for arg in sys.orig_argv):
    sys.modules["pip"] = None
'''


def python_without_pip(where: Path) -> Path:
    """An interpreter that sees PDM (this one's packages) but no pip: PDM then downloads a
    pip wheel to ``<cache>/pip.whl`` and runs pip from it."""
    import site
    import venv

    venv.EnvBuilder(with_pip=False).create(where)
    lib = next(where.glob("lib/python3*/site-packages"))
    (lib / "cachekit_test_hide_pip.py").write_text(HIDE_PIP)
    (lib / "cachekit_test_hide_pip.pth").write_text(
        "\n".join(site.getsitepackages()) + "\nimport cachekit_test_hide_pip\n")
    return where / "bin" / "python"


def test_the_pip_wheel_pdm_downloads_is_its_own(pdm_cache: Path, home: Path,
                                                tmp_path: Path) -> None:
    """The real PDM, with no pip at hand, downloads ``pip.whl`` to the top of its cache:
    such a cache is PDM's (never refused), the wheel counts in SIZE as ``pdm cache info``
    counts it, and purge leaves it as ``pdm cache clear`` does."""
    import glob
    import sysconfig

    bundled = sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "ensurepip",
                                            "_bundled", "pip-*.whl")))
    if sys.version_info < (3, 10) or not bundled:
        pytest.skip("needs a bundled pip wheel to serve and sys.orig_argv (3.10+)")
    served = tmp_path / "served"
    make_wheel(served, "beta", "1.0")
    shutil.copy(bundled[-1], served)
    python = python_without_pip(tmp_path / "nopip")
    with LoopbackIndex(served) as index:
        env = pdm_env(home, PDM_CACHE_DIR=str(pdm_cache), PDM_PYPI_URL=index.url,
                      PIP_INDEX_URL=index.url)
        added = subprocess.run([str(python), "-m", "pdm", "self", "add", "beta"], env=env,
                               cwd=home, capture_output=True, text=True, timeout=300)
    assert added.returncode == 0, added.stdout + added.stderr
    assert (pdm_cache / "pip.whl").is_file()  # written by PDM itself
    size = (pdm_cache / "pip.whl").stat().st_size
    said = run_pdm(["cache", "info"], pdm_env(home, PDM_CACHE_DIR=str(pdm_cache)),
                   cwd=home).stdout
    rec = core("info", pdm_cache)["caches"][0]
    assert f"Total size: {format_size(rec['bytes'])}" in said
    assert rec["unknown"] == [] and rec["not_cache_bytes"] >= size
    assert not [w for w in rec["warnings"] if "pip.whl" in w]
    for op, request in (("remove", {"pattern": "zeta*"}), ("purge", {}),
                        ("prune", {"policy": {"keep": [], "ci": True}})):
        dry = core(op, pdm_cache, **request)
        assert dry["removed"] and str(pdm_cache / "pip.whl") not in shown(dry), op
    oracle = tmp_path / "pdm-oracle"
    shutil.copytree(pdm_cache, oracle, symlinks=True)
    run_pdm(["cache", "clear"], pdm_env(home, PDM_CACHE_DIR=str(oracle)), cwd=home)
    done = core("purge", pdm_cache, apply=True)
    assert all(r["ok"] for r in done["removed"])
    assert tree(pdm_cache) == tree(oracle) and "pip.whl" in tree(pdm_cache)

"""cachekit against the real PDM on the same cache: ``pdm cache info``, ``list``,
``remove PATTERN`` and ``clear`` are the oracles (figures, names, what is left on disk)."""

import os
import re
import shutil
from pathlib import Path
from typing import Any, Dict, List, Set

from pdm.cli.commands.cache import format_size

from tests.fixtures.pdm_cache import BUILT, UNUSED, pdm_env, run_pdm
from tests.fixtures.program import run_core


def pdm(args: List[str], cache: Path, home: Path, check: bool = True) -> Any:
    return run_pdm(args, pdm_env(home, PDM_CACHE_DIR=str(cache)), cwd=home, check=check)


def core(op: str, cache: Path, **request: Any) -> Dict[str, Any]:
    return run_core(op, ["pdm"], {"PDM_CACHE_DIR": str(cache)}, **request)


def tree(root: Path) -> Set[str]:
    """Every path under ``root`` (directories marked with a trailing slash)."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        out |= {os.path.normpath(os.path.join(rel, d)) + "/" for d in dirnames}
        out |= {os.path.normpath(os.path.join(rel, f)) for f in filenames}
    return out


def twin(cache: Path, tmp_path: Path) -> Path:
    """A second copy of the cache, for the real PDM to work on."""
    other = tmp_path / "pdm-oracle"
    shutil.copytree(cache, other, symlinks=True)
    return other


def test_info_is_pdm_cache_info(pdm_cache: Path, home: Path) -> None:
    shown = pdm(["cache", "info"], pdm_cache, home).stdout  # it makes missing buckets first
    rec = core("info", pdm_cache)["caches"][0]
    assert f"Cache Root: {pdm_cache}, Total size: {format_size(rec['bytes'])}" in shown
    for bucket in ("hashes", "http", "wheels", "metadata"):
        files, size = rec[f"{bucket}_files"], rec[f"{bucket}_bytes"]
        assert f"{pdm_cache / bucket}\n    Files: {files}, Size: {format_size(size)}" in shown
    assert f"Packages: {rec['packages']}, Size: {format_size(rec['packages_bytes'])}" in shown
    assert rec["packages"] == 6 and rec["in_use"] == 4 and rec["wheels_files"] == len(BUILT)
    assert rec["http_files"] == 1 and rec["hashes_files"] > 0 and rec["metadata_files"] == 1
    # what purge frees: every bucket file and the two packages nothing uses
    assert rec["reclaimable_bytes"] == rec["bytes"] - rec["in_use_bytes"]
    assert rec["disk_bytes"] >= rec["bytes"]


def test_list_is_pdm_cache_list_and_the_packages(pdm_cache: Path, home: Path) -> None:
    for pattern in ("*", "gamma*", "*-py3-*", "nothing*"):
        listed = pdm(["cache", "list", pattern], pdm_cache, home).stdout
        theirs = set(re.findall(r"(\S+\.whl)\b", listed))
        entries = core("list", pdm_cache, pattern=pattern)["entries"]
        ours = {Path(e["path"]).name for e in entries if e["kind"] == "built wheel"}
        assert ours == theirs, pattern
    entries = core("list", pdm_cache)["entries"]
    assert {e["name"] for e in entries if e["kind"] == "built wheel"} == BUILT
    unpacked = {e["name"]: e["kind"] for e in entries if e["kind"] != "built wheel"}
    assert unpacked == {"beta": "unpacked wheel (in use)", "delta": "unpacked wheel (in use)",
                        "gamma": "unpacked wheel (in use)",
                        "foo_bar": "unpacked wheel (in use)",
                        "epsilon": "unpacked wheel", "zeta": "unpacked wheel"}


def test_remove_a_glob_takes_what_pdm_takes_and_the_unused_package(
        pdm_cache: Path, home: Path, tmp_path: Path) -> None:
    oracle = twin(pdm_cache, tmp_path)
    pdm(["cache", "remove", "zeta*"], oracle, home)
    done = core("remove", pdm_cache, pattern="zeta*", apply=True)
    assert done["removed"] and all(r["ok"] for r in done["removed"])
    package = "packages/zeta-2.1-py3-none-any.whl.cache"
    # wider than pdm: the package nothing uses goes too (pdm removes only wheels/)
    assert tree(pdm_cache) == {p for p in tree(oracle) if not p.startswith(package)}
    assert any(p.startswith(package) for p in tree(oracle))


def test_remove_by_name_where_pdm_needs_a_glob(pdm_cache: Path, home: Path,
                                               tmp_path: Path) -> None:
    oracle = twin(pdm_cache, tmp_path)
    refused = pdm(["cache", "remove", "Zeta"], oracle, home, check=False)
    assert refused.returncode != 0 and "No matching files found" in refused.stderr
    pdm(["cache", "remove", "zeta*"], oracle, home)
    dry = core("remove", pdm_cache, pattern="Zeta")
    assert {r["reason"].split(";")[0] for r in dry["removed"]} == {"matched normalised name"}
    core("remove", pdm_cache, pattern="Zeta", apply=True)
    assert {p for p in tree(pdm_cache) if "zeta" in p} == set()
    assert not [p for p in tree(oracle) if "zeta" in p and p.endswith(".whl")]


def test_remove_keeps_a_package_an_installation_uses(pdm_cache: Path) -> None:
    done = core("remove", pdm_cache, pattern="gamma", apply=True)
    assert [Path(r["path"]).name for r in done["removed"]] == ["gamma-0.5-py3-none-any.whl"]
    assert (pdm_cache / "packages/gamma-0.5-py3-none-any.whl.cache/gamma.py").is_file()
    assert [k["reason"].split(" /")[0] for k in done["kept"]] == ["in use by"]


def test_purge_is_pdm_cache_clear(pdm_cache: Path, home: Path, tmp_path: Path) -> None:
    oracle = twin(pdm_cache, tmp_path)
    said = pdm(["cache", "clear"], oracle, home).stdout
    assert f"{len(UNUSED)} packages and" in said
    dry = core("purge", pdm_cache)
    assert all(r["ok"] is None for r in dry["removed"]) and tree(pdm_cache) != tree(oracle)
    done = core("purge", pdm_cache, apply=True)
    assert done["removed"] and all(r["ok"] for r in done["removed"])
    assert tree(pdm_cache) == tree(oracle)  # files and directories alike
    assert done["reclaimed_bytes"] == dry["caches"][0]["reclaimable_bytes"] > 0
    assert len(done["kept"]) == 4  # the packages project a's environment uses
    after = core("info", pdm_cache)["caches"][0]
    assert after["bytes"] == after["in_use_bytes"] and after["packages"] == 4

"""bench/make_synthetic_uv_cache.py writes what uv 0.13 writes: the real uv sizes, cleans
and prunes it without a complaint, and cachekit's figures and plans on it equal uv's."""

import re
import shutil
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from tests.fixtures import REPO
from tests.fixtures.disk import tree_of
from tests.fixtures.uv_cache import UV, run_uv, uv_env

sys.path.insert(0, str(REPO / "bench"))
import make_synthetic_uv_cache as synth  # noqa: E402

from tests.core.managers.uv.test_uv import top_paths, uv_environ  # noqa: E402

SCALE = 0.01  # about a thousand files


@pytest.fixture
def synthetic(tmp_path: Path) -> Dict[str, Any]:
    return synth.generate(str(tmp_path / "synthetic"), SCALE, seed=3)


def test_uv_sizes_and_cleans_it_and_cachekit_counts_what_uv_counts(
        synthetic: Dict[str, Any], home: Path, tmp_path: Path, core_run) -> None:
    cache = Path(synthetic["dir"])
    env = uv_env(home, UV_CACHE_DIR=str(cache))
    size = run_uv(["cache", "size", "--preview-features", "cache-size"], env)
    assert size.returncode == 0 and size.stderr == "", size.stderr
    info = core_run("info", ["uv"], uv_environ(cache, home))["caches"][0]
    assert info["disk_bytes"] == int(size.stdout)  # `uv cache size` is du -sB1
    assert (info["files"], info["bytes"], info["packages"]) == (
        synthetic["files"], synthetic["bytes"], synthetic["packages"])
    assert info["unknown"] == [] and info["warnings"] == [] and info["linked_bytes"] == 0
    assert set(info["buckets"]) == {"archive-v0", "wheels-v8", "sdists-v11", "simple-v28",
                                    "interpreter-v5", "builds-v0", "built-wheels-v3"}
    assert info["buckets"]["archive-v0"]["files"] > synthetic["files"] * 0.8
    cleaned = run_uv(["cache", "clean"], env)
    assert cleaned.returncode == 0, cleaned.stderr
    removed = re.search(r"^Removed (\d+) files", cleaned.stderr, re.M)
    assert removed and int(removed.group(1)) == info["files"] - 1, cleaned.stderr  # .lock stays
    assert [line for line in cleaned.stderr.splitlines()
            if not line.startswith(("Clearing cache at", "Removed "))] == []
    assert tree_of(cache) == {(".lock", "f", 0)}


def test_cachekit_plans_what_uv_removes_from_it(synthetic: Dict[str, Any], home: Path,
                                                tmp_path: Path, core_run) -> None:
    cache = Path(synthetic["dir"])
    names = sorted(e["name"] for e in core_run("list", ["uv"], uv_environ(cache, home))["entries"])
    assert len(names) == synthetic["packages"]
    pypi, built = names[-1], next(n for n in names if n.startswith("built-from-src"))
    for pattern, uv_args in ((pypi, ["cache", "clean", pypi]),
                             (built, ["cache", "clean", built])):
        theirs = tmp_path / f"theirs-{pattern}"
        shutil.copytree(cache, theirs, symlinks=True)
        ours = tmp_path / f"ours-{pattern}"
        shutil.copytree(cache, ours, symlinks=True)
        before = tree_of(ours)
        plan = core_run("remove", ["uv"], uv_environ(ours, home), pattern=pattern)
        done = run_uv(uv_args, uv_env(home, UV_CACHE_DIR=str(theirs)))
        assert done.returncode == 0, done.stderr
        planned = {str(Path(r["path"]).relative_to(ours)) for r in plan["removed"]}
        assert planned and planned == top_paths(before, tree_of(theirs)), pattern
    # `uv cache prune --ci`: the old uv's bucket, pre-built wheels and unused archives go
    theirs = tmp_path / "theirs-prune"
    shutil.copytree(cache, theirs, symlinks=True)
    before = tree_of(cache)
    plan = core_run("prune", ["uv"], uv_environ(cache, home), policy={"keep": [], "ci": True})
    done = run_uv(["cache", "prune", "--ci"], uv_env(home, UV_CACHE_DIR=str(theirs)))
    assert done.returncode == 0, done.stderr
    assert {p[0] for p in plan["plans"][0]["paths"]} == top_paths(before, tree_of(theirs))
    assert not (theirs / "built-wheels-v3").exists()


def test_the_same_seed_makes_the_same_cache_and_a_smaller_scale_a_subset(tmp_path: Path) -> None:
    small = synth.generate(str(tmp_path / "a"), SCALE, seed=5)
    again = synth.generate(str(tmp_path / "b"), SCALE, seed=5)
    larger = synth.generate(str(tmp_path / "c"), SCALE * 2, seed=5)
    assert tree_of(tmp_path / "a") == tree_of(tmp_path / "b")
    assert (small["files"], small["bytes"]) == (again["files"], again["bytes"])
    files = {p for p in tree_of(tmp_path / "a") if p[1] != "d"}
    assert files < {p for p in tree_of(tmp_path / "c") if p[1] != "d"}
    assert larger["files"] > small["files"]


def test_the_full_scale_plan_is_exactly_100000_files() -> None:
    full = synth.dists(0)
    others = synth.others(0, full, 1.0)
    assert sum(len(synth.distribution(0, i, d)) for i, d in enumerate(full)) + len(others) \
        == synth.FILES
    assert Path(UV).exists()

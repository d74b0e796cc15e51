"""Memory is bounded by design: purge and prune plans on a 50,000-file pip cache peak no
higher than ``info`` does (which keeps no record per file), and the compact plans they
show are still exactly what apply removes, and what pip's own purge leaves."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from cachekit.core.managers.pip import pattern as pip_pattern
from cachekit.core.managers.pip import sweep as pip_sweep
from tests.fixtures import REPO
from tests.fixtures.disk import tree_of
from tests.fixtures.pip_cache import pip, pip_env

sys.path.insert(0, str(REPO / "bench"))
import make_synthetic_pip_cache as synth  # noqa: E402

# Above info's own peak (the interpreter, the walk): what a plan may add. Before plans
# were compact, purge --dry-run added ~90 MiB here and prune --max-size ~45 MiB.
PLAN_OVER_INFO_MIB = 20

PEAK = ("import resource, subprocess, sys; "
        "p = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, capture_output=True); "
        "sys.stdout.buffer.write(p.stdout); sys.stderr.buffer.write(p.stderr); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
        "sys.exit(p.returncode)")


@pytest.fixture(scope="module")
def big_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """50,001 files in pip's layout (contents as holes: quick to write, same sizes)."""
    cache = tmp_path_factory.mktemp("big") / "cache"
    synth.generate(str(cache), 0.5, 0, sparse=True)
    return cache


@pytest.fixture(scope="module")
def mid_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,001 files of the same mix: enough for plans of thousands of entries (shown as
    counts), small enough to apply, and to purge with pip, in seconds."""
    cache = tmp_path_factory.mktemp("mid") / "cache"
    synth.generate(str(cache), 0.05, 0, sparse=True)
    return cache


def peak_of(args: List[str], cache: Path, home: Path) -> Tuple[int, Dict[str, Any]]:
    """(peak RSS in MiB of the cachekit process and its forked workers, its JSON output)."""
    env = pip_env(home, PIP_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "cachekit", *args,
                          "--format", "json"], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return int(out.stderr.strip().splitlines()[-1]) // 1024, json.loads(out.stdout)


def test_purge_and_prune_plans_peak_like_info(big_cache: Path, home: Path) -> None:
    info, doc = peak_of(["info", "--managers", "pip"], big_cache, home)
    assert doc["hosts"][0]["caches"][0]["files"] == 50001
    size = doc["hosts"][0]["caches"][0]["bytes"]
    purge, plan = peak_of(["purge", "--managers", "pip", "--dry-run"], big_cache, home)
    prune, pruned = peak_of(["prune", "--managers", "pip", "--max-size", f"{size // 2}B",
                             "--dry-run"], big_cache, home)
    assert purge <= info + PLAN_OVER_INFO_MIB, (purge, info)
    assert prune <= info + PLAN_OVER_INFO_MIB, (prune, info)
    rows = plan["hosts"][0]["removed"]  # one row per bucket, with its counts
    assert {os.path.basename(r["path"]) for r in rows} == {"wheels", "http", "http-v2"}
    assert sum(r["files"] for r in rows) == 50000  # all but the selfcheck file
    entries = pruned["hosts"][0]["removed"]
    assert len(entries) == 1 and entries[0]["entries"] > 1000  # one row per rule
    assert size - entries[0]["bytes"] <= size // 2


def test_a_compact_purge_plan_is_what_apply_removes_and_what_pip_leaves(
        mid_cache: Path, tmp_path: Path, home: Path, run_cachekit) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for copy in (ours, theirs):
        subprocess.run(["cp", "-a", "--sparse=always", str(mid_cache), str(copy)], check=True)
    plan = json.loads(run_cachekit(["purge", "--dry-run", "--format", "json"], ours).stdout)
    done = run_cachekit(["purge", "--yes", "--format", "json"], ours)
    assert done.returncode == 0, done.stderr
    applied = json.loads(done.stdout)
    planned = {r["path"]: (r["files"], r["bytes"], r["dirs"]) for r in plan["hosts"][0]["removed"]}
    removed = {r["path"]: (r["files"], r["bytes"], r["dirs"])
               for r in applied["hosts"][0]["removed"] if r["ok"]}
    assert planned == removed
    assert plan["totals"]["reclaimable_bytes"] == applied["totals"]["reclaimed_bytes"] > 0
    assert pip(["cache", "purge"], theirs, home).returncode == 0
    assert tree_of(ours) == tree_of(theirs)


def test_a_compact_prune_plan_is_what_apply_removes(mid_cache: Path, tmp_path: Path,
                                                    home: Path, run_cachekit) -> None:
    cache = tmp_path / "cache"
    subprocess.run(["cp", "-a", "--sparse=always", str(mid_cache), str(cache)], check=True)
    budget = ["--max-size", "30MB"]
    plan = json.loads(run_cachekit(["prune", *budget, "--dry-run", "--format", "json"],
                                   cache).stdout)["hosts"][0]
    done = run_cachekit(["prune", *budget, "--yes", "--format", "json"], cache)
    assert done.returncode == 0, done.stderr
    applied = json.loads(done.stdout)["hosts"][0]
    assert [(r["entries"], r["bytes"], r["freed"]) for r in plan["removed"]] == [
        (r["entries"], r["bytes"], r["freed"]) for r in applied["removed"]]
    after = json.loads(run_cachekit(["info", "--format", "json"], cache).stdout)
    assert after["hosts"][0]["caches"][0]["bytes"] <= 30_000_000


def test_a_file_changed_after_the_plan_stays(pip_cache: Path, home: Path, run_cachekit) -> None:
    """apply takes what the plan counted: a file written since stays, with its directory."""
    planned = json.loads(run_cachekit(["purge", "--dry-run", "--format", "json"], pip_cache).stdout)
    wire = planned["hosts"][0]["plans"][0]
    late = next(p for p in (pip_cache / "http-v2").rglob("*") if p.is_file())
    late.write_bytes(b"written after the plan")
    from cachekit.core import agent

    result = agent.run({"op": "apply", "managers": ["pip"], "plans": [wire],
                        "environ": {"PIP_CACHE_DIR": str(pip_cache)}})
    assert result["status"] == "ok", result["error"]
    assert late.read_bytes() == b"written after the plan"
    row = next(r for r in result["removed"] if r["path"].endswith("/http-v2"))
    assert row["kept"] == 1 and "changed since the plan" in row["note"]


def test_the_parallel_fold_decides_as_the_serial_one(mid_cache: Path) -> None:
    def figures(parallel: bool) -> Dict[str, Tuple[int, ...]]:
        _started, folds = pip_sweep.plan(str(mid_cache), parallel)
        return {b: (f.matched, f.files, f.bytes, f.freed_bytes(), f.dirs)
                for b, f in folds.items()}

    assert figures(True) == figures(False)


def test_the_parallel_explicit_fold_names_what_the_serial_one_names(mid_cache: Path) -> None:
    pick = pip_pattern.pattern_pick(str(mid_cache), "synth_pkg_000*", False)

    def named(parallel: bool) -> Tuple[List[Any], List[str], int]:
        acc = pip_pattern.explicit(str(mid_cache), ("wheels", "http", "http-v2"), pick,
                                 parallel=parallel)
        return sorted(r[:4] for r in acc.rows or []), acc.dir_rows or [], acc.matched

    serial = named(False)
    assert serial[2] == 20 and named(True)[0] == serial[0]
    assert sorted(named(True)[1]) == sorted(serial[1])

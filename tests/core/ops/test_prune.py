"""`prune` on real pip and conda caches with controlled access and modification times."""

import json
import os
import time
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from cachekit.core import agent, policy
from tests.fixtures import program
from tests.fixtures.conda_cache import CondaFixture, snapshot
from tests.fixtures.disk import tmpfs
from tests.fixtures.pip_cache import LoopbackIndex, make_wheel, pip_env, run_pip

DAY = 86400


def entry_files(cache: Path, entry: str) -> List[Path]:
    path = cache / entry
    return [p for p in (path, Path(str(path) + ".body")) if os.path.lexists(p)]


def age(cache: Path, entries: List[str], start_days: int = 100) -> Dict[str, int]:
    """Give each entry its own last use, oldest first; return entry -> atime (s)."""
    now = int(time.time())
    stamps = {}
    for i, entry in enumerate(entries):
        when = now - (start_days - i) * DAY
        for f in entry_files(cache, entry):
            os.utime(f, (when, when - DAY), follow_symlinks=False)
        stamps[entry] = when
    return stamps


def pip_entries(cache: Path) -> List[str]:
    """Every pip candidate, as prune names them, in a fixed order."""
    plan = program.run_core("prune", ["pip"], {"PIP_CACHE_DIR": str(cache)},
                            policy={"keep": [], "max_size_bytes": 0})
    return sorted(e["entry"] for e in plan["removed"])


def files_on_disk(cache: Path) -> set:
    return {str(p) for p in cache.rglob("*") if p.is_file() or p.is_symlink()}


def of_entries(cache: Path, entries: List[str], files: set) -> set:
    """The files these entries are made of: an HTTP entry's metadata and body, a wheel and
    what its directory holds besides."""
    owned = set()
    for entry in entries:
        path = str(cache / entry)
        if entry.startswith("wheels/"):
            owned |= {f for f in files if os.path.dirname(f) == os.path.dirname(path)}
        else:
            owned |= {f for f in files if f in (path, path + ".body")}
    return owned


def info_bytes(cache: Path) -> int:
    return agent.run({"op": "info", "managers": ["pip"],
                      "environ": {"PIP_CACHE_DIR": str(cache)}})["caches"][0]["bytes"]


def test_max_size_evicts_least_recently_used_until_the_budget_holds(pip_cache: Path,
                                                                    core_run) -> None:
    entries = pip_entries(pip_cache)
    order = entries[::2] + entries[1::2]  # last use not in name order
    age(pip_cache, order)
    total = info_bytes(pip_cache)
    every = core_run("prune", ["pip"], {"PIP_CACHE_DIR": str(pip_cache)},
                     policy={"keep": [], "max_size_bytes": 0})
    sizes = {e["entry"]: e["bytes"] for e in every["removed"]}
    budget = total - sizes[order[0]] - sizes[order[1]] - 1  # forces exactly three out
    plan = core_run("prune", ["pip"], {"PIP_CACHE_DIR": str(pip_cache)},
                    policy={"keep": [], "max_size_bytes": budget})
    chosen = [e["entry"] for e in plan["removed"]]
    assert chosen == order[:3]
    assert {e["reason"] for e in plan["removed"]} == {
        "over the --max-size budget (least recently used)"}
    done = core_run("prune", ["pip"], {"PIP_CACHE_DIR": str(pip_cache)},
                    policy={"keep": [], "max_size_bytes": budget}, apply=True)
    assert all(r["ok"] for r in done["removed"])
    left = info_bytes(pip_cache)
    assert left <= budget < left + sizes[order[2]]  # met, and not one entry too many


def test_older_than_takes_exactly_the_old_entries(pip_cache: Path, core_run) -> None:
    entries = pip_entries(pip_cache)
    stamps = age(pip_cache, entries, start_days=len(entries) + 20)  # ages 20+ .. 21 days
    cutoff = 30
    old = {e for e, when in stamps.items() if when < time.time() - cutoff * DAY}
    assert 0 < len(old) < len(entries)
    plan = core_run("prune", ["pip"], {"PIP_CACHE_DIR": str(pip_cache)},
                    policy={"keep": [], "older_than_s": cutoff * DAY})
    assert {e["entry"] for e in plan["removed"]} == old
    assert {e["reason"] for e in plan["removed"]} == {"older than 30d"}


def test_keep_protects_packages_by_name_including_downloads(pip_cache: Path, core_run) -> None:
    plan = core_run("prune", ["pip"], {"PIP_CACHE_DIR": str(pip_cache)},
                    policy={"max_size_bytes": 0, "keep": ["alpha", "Beta"]})
    chosen = plan["removed"]
    assert not [e for e in chosen if e["package"].lower() in ("alpha", "beta")]
    kept = [k for k in plan["kept"]]
    assert {k["reason"] for k in kept} == {"--keep alpha", "--keep Beta"}
    assert any("alpha-1.0" in k["path"] for k in kept)
    assert sum(k["reason"] == "--keep Beta" for k in kept) >= 2  # beta's downloaded entries


def test_ci_removes_downloads_and_keeps_built_wheels(pip_cache: Path, core_run) -> None:
    wheels_before = sorted(p.name for p in (pip_cache / "wheels").rglob("*.whl"))
    done = core_run("prune", ["pip"], {"PIP_CACHE_DIR": str(pip_cache)},
                    policy={"keep": [], "ci": True}, apply=True)
    assert done["removed"] and all(r["ok"] for r in done["removed"])
    assert sorted(p.name for p in (pip_cache / "wheels").rglob("*.whl")) == wheels_before
    assert not [p for p in (pip_cache / "http-v2").rglob("*") if p.is_file()]
    assert not [p for p in (pip_cache / "http").rglob("*") if p.is_file()]


def test_a_dry_run_changes_no_ranking_and_apply_removes_the_plan(pip_cache: Path, core_run) -> None:
    entries = pip_entries(pip_cache)
    age(pip_cache, entries[::-1])
    rules = {"max_size_bytes": info_bytes(pip_cache) // 2, "keep": ["gamma"]}
    first = core_run("prune", ["pip"], {"PIP_CACHE_DIR": str(pip_cache)},
                     policy={"keep": [], **rules})  # reads bodies
    second = core_run("prune", ["pip"], {"PIP_CACHE_DIR": str(pip_cache)},
                      policy={"keep": [], **rules})
    assert first["removed"] == second["removed"]
    before = files_on_disk(pip_cache)
    done = core_run("prune", ["pip"], {"PIP_CACHE_DIR": str(pip_cache)},
                    policy={"keep": [], **rules}, apply=True)

    def rule(plans):  # the plan is a rule; only the time it was made differs
        return [dict(p, prune=dict(p["prune"], planned_at_ns=0)) for p in plans]

    assert rule(done["plans"]) == rule(first["plans"])  # the same plan, made again
    planned = of_entries(pip_cache, [e["entry"] for e in first["removed"]], before)
    assert sorted(r["path"] for r in done["removed"] if r["ok"]) == sorted(planned)
    assert before - files_on_disk(pip_cache) == planned
    assert not [d for d in (pip_cache / "http-v2").rglob("*") if d.is_dir() and not any(
        d.iterdir())]  # emptied directories cleared, as pip does


def test_pip_still_installs_from_the_pruned_cache(pip_cache: Path, tmp_path: Path,
                                                  home: Path, core_run) -> None:
    core_run("prune", ["pip"], {"PIP_CACHE_DIR": str(pip_cache)},
             policy={"keep": [], "max_size_bytes": info_bytes(pip_cache) // 2}, apply=True)
    served = tmp_path / "served"
    make_wheel(served, "beta", "1.0")
    with LoopbackIndex(served) as index:
        run = run_pip(["--cache-dir", str(pip_cache), "download", "--no-deps", "-d",
                       str(tmp_path / "dl"), "--index-url", index.url, "--trusted-host",
                       "127.0.0.1", "beta==1.0"], pip_env(home))
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "dl/beta-1.0-py3-none-any.whl").exists()


@pytest.fixture
def small_fs(tmp_path: Path):
    """A 2 MiB tmpfs the test mounts (as root), so free space is ours to set."""
    with tmpfs(tmp_path / "small", "size=2m") as mount:
        yield mount


@pytest.mark.root
def test_min_free_on_a_small_file_system(small_fs: Path, pip_cache_master, core_run) -> None:
    import shutil

    cache = small_fs / "cache"
    shutil.copytree(pip_cache_master[0], cache, symlinks=True)
    environ = {"PIP_CACHE_DIR": str(cache)}
    # plenty of room: nothing to do, whatever the other rules say
    calm = core_run("prune", ["pip"], environ,
                    policy={"keep": [], "min_free": ["percent", 10.0], "max_size_bytes": 0})
    assert calm["removed"] == [] and "nothing to do" in calm["policy_notes"][0]
    # fill the disk to 200 kB free, then ask for 600 kB free (percent of 2 MiB: 30%)
    st = os.statvfs(small_fs)
    (small_fs / "filler").write_bytes(b"x" * (st.f_bavail * st.f_frsize - 200_000))
    entries = pip_entries(cache)
    age(cache, entries)
    plan = core_run("prune", ["pip"], environ, policy={"keep": [], "min_free": ["percent", 30.0]})
    chosen = [e["entry"] for e in plan["removed"]]
    assert chosen and chosen == entries[:len(chosen)]  # least recently used first
    assert {e["reason"] for e in plan["removed"]} == {"below --min-free (least recently used)"}
    assert "cannot be met" in " ".join(plan["policy_notes"])  # 11 kB cannot free 400 kB
    assert chosen == entries  # so everything removable is taken
    (small_fs / "filler").unlink()


@pytest.mark.root
def test_noatime_file_systems_rank_by_modification_time(tmp_path: Path) -> None:
    from cachekit.core.fs.mounts import last_use_clock

    with tmpfs(tmp_path / "noatime", "size=1m,noatime") as mount:
        clock, why = last_use_clock(str(mount))
        assert clock == "mtime" and "noatime" in why
        assert last_use_clock(str(tmp_path))[0] == "atime"


def test_conda_prune_takes_unused_packages_and_ci_takes_redundant_archives(
        conda: CondaFixture, core_run) -> None:
    before = snapshot(conda.env_files)
    ci = core_run("prune", ["conda"], conda.environ, policy={"keep": [], "ci": True})
    assert {os.path.basename(e["entry"]) for e in ci["removed"]} == {
        "alpha-1.0-h0_0.conda", "beta-2.0-h1_0.tar.bz2", "delta-3.1-h2_1.conda",
        "meta-1.0-0.conda"}
    ten_days_ago = time.time() - 10 * DAY
    for path in conda.pkgs.rglob("*"):
        os.utime(path, (ten_days_ago, ten_days_ago), follow_symlinks=False)
    old = core_run("prune", ["conda"], conda.environ, policy={"keep": [], "older_than_s": 5 * DAY},
                   apply=True)
    removed = {os.path.relpath(r["path"], conda.pkgs) for r in old["removed"] if r["ok"]}
    assert {"delta-3.1-h2_1", "delta-3.1-h2_1.conda"} <= removed
    assert "beta-2.0-h1_0" not in removed  # used by an environment: never a candidate
    assert snapshot(conda.env_files) == before


def test_cli_prune_with_a_policy_from_the_inventory(pip_cache: Path, home: Path,
                                                    tmp_path: Path, run_cachekit) -> None:
    total = info_bytes(pip_cache)
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"local": {
        "cachekit_policy": {"max_size": f"{total // 2}B", "keep": ["alpha"]}}}}}))
    dry = run_cachekit(["prune", "--dry-run", "--inventory", str(inv), "--managers", "pip"],
                       pip_cache)
    assert dry.returncode == 0, dry.stderr
    assert "over the --max-size budget (least recently used)" in dry.stdout
    assert "keep " in dry.stdout and "(--keep alpha)" in dry.stdout
    assert "last use is the access time" in dry.stdout
    flags = run_cachekit(["prune", "--dry-run", "--inventory", str(inv), "--managers", "pip",
                          "--max-size", "1GB", "--format", "json"], pip_cache)
    assert flags.returncode == 0, flags.stderr
    assert json.loads(flags.stdout)["hosts"][0]["removed"] == []  # the flag overrides


@pytest.mark.parametrize("args,message", [
    (["--older-than", "30x"], "--older-than '30x' is not a duration"),
    (["--max-size", "-1"], "--max-size '-1' is not a size"),
    (["--min-free", "120%"], "--min-free '120%' is not a percentage between 0 and 100"),
    (["--keep", "", "--ci"], "--keep '' is empty"),
    ([], "no prune policy for host local"),
])
def test_bad_input_is_one_line_exit_1_nothing_touched(pip_cache: Path, home: Path, args,
                                                      message: str, run_cachekit) -> None:
    before = sorted(str(p) for p in pip_cache.rglob("*"))
    run = run_cachekit(["prune", "--yes", *args], pip_cache)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert sorted(str(p) for p in pip_cache.rglob("*")) == before


def candidate(entry: str, last: int, size: int = 10, cheap: bool = False,
              package: str = "") -> policy.Candidate:
    return policy.Candidate("pip", "/c", entry, package or entry, size, size, last, cheap, None)


def test_policy_rules_compose() -> None:
    second = 10 ** 9
    cands = [candidate("a", 1 * second), candidate("b", 2 * second, cheap=True),
             candidate("c", 3 * second), candidate("d", 4 * second)]
    chosen, notes = policy.select(cands, {"older_than_s": 2, "ci": True}, 3 * second + 1, 40)
    assert [(s.candidate.entry, s.rule) for s in chosen] == [
        ("a", "older than 2s"), ("b", "cheap to download again (--ci)")]
    chosen, notes = policy.select(cands, {"max_size_bytes": 15}, 0, 40)
    assert [s.candidate.entry for s in chosen] == ["a", "b", "c"] and not notes
    free, protected = policy.protect(cands, ["C", "z*"])
    assert [c.entry for c, _ in protected] == ["c"]
    chosen, notes = policy.select(free, {"max_size_bytes": 5}, 0, 40)
    assert [s.candidate.entry for s in chosen] == ["a", "b", "d"]
    assert notes and "cannot be met: 10 B would remain" in notes[0]
    chosen, notes = policy.evict_for_space(cands, 25)
    assert [s.candidate.entry for s in chosen] == ["a", "b", "c"] and not notes


def test_cli_prune_yes_applies_the_plan_it_showed(pip_cache: Path, home: Path,
                                                  run_cachekit) -> None:
    total = info_bytes(pip_cache)
    dry = run_cachekit(["prune", "--managers", "pip", "--max-size", f"{total // 2}B", "--dry-run",
                        "--format", "json"], pip_cache)
    assert dry.returncode == 0, dry.stderr
    before = files_on_disk(pip_cache)
    planned = of_entries(pip_cache, [e["entry"] for e in json.loads(dry.stdout)["hosts"][0][
        "removed"]], before)
    done = run_cachekit(["prune", "--managers", "pip", "--max-size", f"{total // 2}B", "--yes",
                         "--format", "json"], pip_cache)
    assert done.returncode == 0, done.stderr
    host = json.loads(done.stdout)["hosts"][0]
    assert sorted(r["path"] for r in host["removed"] if r["ok"]) == sorted(planned)
    assert before - files_on_disk(pip_cache) == planned
    assert info_bytes(pip_cache) <= total // 2


def _random_pool(seed: int, n: int = 3000):
    import array
    import random

    rnd = random.Random(seed)
    last = array.array("q", (rnd.choice([10, 20, 20, 30]) * 10**9 + rnd.randrange(50)
                             for _ in range(n)))  # many equal last uses: ties decide
    size = array.array("q", (rnd.randrange(1, 10_000) for _ in range(n)))
    freed = array.array("q", (s if rnd.random() < 0.9 else 0 for s in size))
    tie = array.array("Q", (rnd.getrandbits(64) for _ in range(n)))
    cheap = array.array("B", (rnd.random() < 0.3 for _ in range(n)))
    return policy.Pool("pip", "/c", last, size, freed, tie, cheap), sum(size)


@pytest.mark.parametrize("seed", range(6))
def test_one_pool_budget_takes_what_the_merged_ranking_takes(seed: int) -> None:
    """``Pool.take_lru`` (one cache, no merge) chooses exactly what the general loop over
    ``lru`` chooses: the same entries, tallies, criterion and notes, ties included."""
    rules = [{"max_size_bytes": 0}, {"max_size_bytes": 5_000_000},
             {"max_size_bytes": 2_000_000, "ci": True},
             {"max_size_bytes": 3_000_000, "older_than_s": 5}]
    for rule in rules:
        fast, total = _random_pool(seed)
        slow, _ = _random_pool(seed)
        empty, _ = _random_pool(seed, 0)
        now = 30 * 10**9
        got = policy.select([], rule, now, total, [fast])
        want = policy.select([], rule, now, total, [slow, empty])  # two pools: the merge
        assert got == want
        assert fast.taken == slow.taken and fast.tally == slow.tally
        assert fast.criterion == slow.criterion
        assert fast.taken.count(1) > 0

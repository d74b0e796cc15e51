"""Time ``cachekit prune --max-size … --dry-run`` against ``cachekit info`` on the same cache.

Why: the policy issue's target is that planning a size-budget prune over a 100,000-entry
mixed cache costs at most 1.2x cachekit's own ``info`` on it, measured in the same run.

The cache is the 100,000-file synthetic pip cache of ``make_synthetic_pip_cache.py``
(the reference cache of the pip notes): 51,000 entries of every kind pip keeps (locally
built wheels with their ``origin.json``, downloaded wheels and sdists, index pages,
legacy single-file HTTP entries) in 100,001 files. Entries get access times spread over
a year, so the budget evicts a real least-recently-used prefix; the budget is half the
cache's size. Before timing, the
plan is checked: the cache left after it fits the budget, and no entry used later than
an evicted one was kept out of order.

Each command runs as a subprocess, as a user would run it: one discarded warm-up, then
``--runs`` interleaved rounds; medians count. Exit status: 0 target met, 1 target missed
or plan wrong, 2 the benchmark could not run.

Usage: ``python bench/bench_prune.py [--scale 1.0] [--runs 5] [--keep DIR] [--json]``
(``--scale 10``: the 1,000,001-file cache; ``--keep DIR`` reuses ``DIR/cache``.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import make_synthetic_pip_cache as synth
from benchkit import BenchError, clean_env, cpu_line, run, time_rounds_cpu

PRUNE_VS_INFO_MAX = 1.2


def _env(cache: str) -> dict[str, str]:
    return clean_env(("PIP_", "UV_", "CONDA"), PIP_CACHE_DIR=cache, PIP_CONFIG_FILE=os.devnull)


def spread_times(cache: Path) -> None:
    """Give files access times spread over a year, deterministically by path."""
    now = time.time()
    for path in cache.rglob("*"):
        if path.is_file():
            days = int.from_bytes(str(path.relative_to(cache)).encode()[-3:], "big") % 365
            os.utime(path, (now - days * 86400, now - 400 * 86400))


def check_plan(cache: str, budget: int) -> list[str]:
    env = _env(cache)
    info = json.loads(run([sys.executable, "-m", "cachekit", "info", "--managers", "pip",
                            "--format", "json"], env))["hosts"][0]["caches"][0]
    plan = json.loads(run([sys.executable, "-m", "cachekit", "prune", "--managers", "pip",
                            "--max-size", f"{budget}B", "--dry-run", "--format", "json"], env))
    rows = plan["hosts"][0]["removed"]
    left = info["bytes"] - sum(r["bytes"] for r in rows)
    problems = []
    if left > budget:
        problems.append(f"{left} B would remain, over the {budget} B budget")
    if any("entries" in r for r in rows):  # a large plan: one row per rule, with counts
        return problems
    if rows and left + rows[-1]["bytes"] <= budget:
        problems.append("one entry more than needed is evicted")
    if [r["last_use_ns"] for r in rows] != sorted(r["last_use_ns"] for r in rows):
        problems.append("entries are not evicted least recently used first")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", help="generate into this directory and keep it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cachekit-prune-"))
    cache = base / "cache"
    try:
        if not cache.exists():
            started = time.perf_counter()
            synth.generate(str(cache), args.scale, 0)
            spread_times(cache)
            subprocess.run(["sync"], check=False)
            print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        env = _env(str(cache))
        size = json.loads(run([sys.executable, "-m", "cachekit", "info", "--managers", "pip",
                                "--format", "json"], env))["hosts"][0]["caches"][0]["bytes"]
        budget = size // 2
        problems = check_plan(str(cache), budget)
        times = time_rounds_cpu({
            "cachekit info": ([sys.executable, "-m", "cachekit", "info", "--managers", "pip"],
                              env),
            "cachekit prune --max-size --dry-run": ([
                sys.executable, "-m", "cachekit", "prune", "--managers", "pip", "--max-size",
                f"{budget}B", "--dry-run"], env),
        }, args.runs)
    except (BenchError, subprocess.SubprocessError, OSError) as exc:
        print(f"bench_prune: cannot run: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    medians = {name: t["wall_s"] for name, t in times.items()}
    ratio = medians["cachekit prune --max-size --dry-run"] / medians["cachekit info"]
    ok = ratio <= PRUNE_VS_INFO_MAX and not problems
    out: dict[str, Any] = {"times": times, "medians": medians, "ratio": ratio,
                           "problems": problems, "ok": ok, "budget_bytes": budget,
                           "cache_bytes": size}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.runs} runs per command after a warm-up; {os.cpu_count()} CPUs; "
              f"scale {args.scale}; budget {budget} of {size} bytes "
              f"(plan {'ok' if not problems else 'WRONG: ' + '; '.join(problems)})")
        print(f"  {'command (medians)':<40} {'wall s':>8} {'user s':>8} {'sys s':>8}")
        for name, t in times.items():
            print(cpu_line(name, t))
        print(f"  prune/info {ratio:.2f}   target <= {PRUNE_VS_INFO_MAX:.2f}   "
              f"{'pass' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

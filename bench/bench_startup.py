"""Time the start-up of ``cachekit dir`` against ``pip cache dir``.

Why: ``cachekit dir`` answers the same question as ``pip cache dir`` and should not keep
the user waiting longer; almost all of its time is start-up (imports), not work. The
target: ``cachekit dir`` takes at most 1.0x the time of ``pip cache dir``.

Both are the console scripts of one virtual environment (the one running this script,
or ``--venv``), run as a user runs them, on the same small pip cache (PIP_CACHE_DIR):
one discarded warm-up each, then ``--runs`` interleaved rounds; medians count. Wall time
decides; CPU time (user + system) is printed too, since on a busy machine it varies less.
``python -c pass`` is timed too, as the floor any Python program pays. Exit status: 0
target met, 1 missed, 2 the benchmark could not run.

Usage: ``python bench/bench_startup.py [--runs 21] [--venv DIR] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchkit import BenchError, clean_env, run

TARGET_RATIO = 1.0


def commands(venv: Path, cache: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    # Without PYTHONDONTWRITEBYTECODE: a user's modules are compiled once, not every run.
    env = clean_env(("PIP_", "CACHEKIT_", "XDG_", "PYTHONDONTWRITEBYTECODE"), PIP_CACHE_DIR=cache,
                    PIP_DISABLE_PIP_VERSION_CHECK="1")
    return {
        "python -c pass": ([str(venv / "bin/python"), "-c", "pass"], env),
        "pip cache dir": ([str(venv / "bin/pip"), "cache", "dir"], env),
        "cachekit dir": ([str(venv / "bin/cachekit"), "dir"], env),
    }


def time_rounds(cmds: dict[str, tuple[list[str], dict[str, str]]], runs: int
                ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """benchkit's interleaved rounds, recording each run's wall and CPU time."""
    wall: dict[str, list[float]] = {name: [] for name in cmds}
    cpu: dict[str, list[float]] = {name: [] for name in cmds}
    for argv, env in cmds.values():
        run(argv, env)
    for _ in range(runs):
        for name, (argv, env) in cmds.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            run(argv, env)
            wall[name].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--venv", type=Path, default=Path(sys.prefix),
                        help="the virtual environment whose scripts run (default: this one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        cmds = commands(args.venv, cache)
        try:
            if run(cmds["pip cache dir"][0], cmds["pip cache dir"][1]).strip() != cache:
                raise BenchError("pip cache dir does not print PIP_CACHE_DIR")
            if cache not in run(*cmds["cachekit dir"]):
                raise BenchError("cachekit dir does not show PIP_CACHE_DIR")
            times, cpu_times = time_rounds(cmds, args.runs)
        except BenchError as exc:
            print(f"bench_startup: {exc}", file=sys.stderr)
            return 2
    medians = {name: statistics.median(t) for name, t in times.items()}
    cpu = {name: statistics.median(t) for name, t in cpu_times.items()}
    ratio = medians["cachekit dir"] / medians["pip cache dir"]
    cpu_ratio = cpu["cachekit dir"] / cpu["pip cache dir"]
    result = {"runs": args.runs, "median_s": medians, "median_cpu_s": cpu, "ratio": ratio,
              "cpu_ratio": cpu_ratio,
              "target_ratio": TARGET_RATIO, "met": ratio <= TARGET_RATIO,
              "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"medians of {args.runs} runs     wall        cpu")
        for name, median in medians.items():
            print(f"{name:18} {median * 1000:7.1f} ms {cpu[name] * 1000:7.1f} ms")
        print(f"cachekit dir / pip cache dir = {ratio:.2f} wall (target <= {TARGET_RATIO:.1f}), "
              f"{cpu_ratio:.2f} cpu; load average {result['load_avg_1m']:.2f} on "
              f"{result['cpus']} CPUs")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""What the benchmarks share: running a command as a user would, and timing commands in
interleaved rounds after a warm-up, so each benchmark states only what it measures."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import time

TIMEOUT_S = 600


class BenchError(Exception):
    """The benchmark itself could not run (a command failed, a tool is missing)."""


def clean_env(drop: tuple[str, ...], **extra: str) -> dict[str, str]:
    """This environment without the caller's settings that would skew the tools."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


def program(name: str) -> str:
    """The path of ``name`` on PATH; without it the benchmark cannot run."""
    path = shutil.which(name)
    if path is None:
        raise BenchError(f"{name} is not on PATH")
    return path


def run(argv: list[str], env: dict[str, str]) -> str:
    """Run one command; a failure stops the benchmark, since its timing would mean nothing."""
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=TIMEOUT_S, check=False)
    if proc.returncode != 0:
        shown = " ".join(argv[2:5] if argv[1:2] == ["-m"] else argv[:3])
        raise BenchError(f"{shown} exited {proc.returncode}: {proc.stderr[-400:]}")
    return proc.stdout


def time_rounds(cmds: dict[str, tuple[list[str], dict[str, str]]], runs: int
                ) -> dict[str, list[float]]:
    """One discarded warm-up per command, then ``runs`` interleaved rounds of wall times."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for argv, env in cmds.values():
        run(argv, env)
    for _ in range(runs):
        for name, (argv, env) in cmds.items():
            started = time.perf_counter()
            run(argv, env)
            times[name].append(time.perf_counter() - started)
    return times


def run_cpu(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall, user and system seconds of one run, its forked workers included (what
    ``/usr/bin/time`` prints): where the time goes, beside how long it took."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run(argv, env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def time_rounds_cpu(cmds: dict[str, tuple[list[str], dict[str, str]]], runs: int
                    ) -> dict[str, dict[str, float]]:
    """``time_rounds`` with CPU: per command, the medians of wall, user and sys seconds
    (``wall_s``, ``user_s``, ``sys_s``) and every wall time (``runs_s``)."""
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cmds}
    for argv, env in cmds.values():
        run(argv, env)
    for _ in range(runs):
        for name, (argv, env) in cmds.items():
            figures[name].append(run_cpu(argv, env))
    return {name: {"wall_s": statistics.median(f[0] for f in got),
                   "user_s": statistics.median(f[1] for f in got),
                   "sys_s": statistics.median(f[2] for f in got),
                   "runs_s": [round(f[0], 4) for f in got]}
            for name, got in figures.items()}


def cpu_line(name: str, figures: dict[str, float], width: int = 40) -> str:
    """One command's medians as a table row: wall, user, sys."""
    return (f"  {name:<{width}} {figures['wall_s']:8.3f} {figures['user_s']:8.3f} "
            f"{figures['sys_s']:8.3f}")


def timing_options(ap: argparse.ArgumentParser, runs: int = 5) -> None:
    """``--runs`` and ``--json``, which every timing benchmark takes."""
    ap.add_argument("--runs", type=int, default=runs,
                    help=f"timed runs per command (median counts; default {runs})")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")


def synthetic_cache_options(ap: argparse.ArgumentParser, scale: float, scale_help: str,
                            seed_help: str) -> None:
    """``--scale`` and ``--seed`` of the synthetic pip caches a benchmark generates."""
    ap.add_argument("--scale", type=float, default=scale, help=scale_help)
    ap.add_argument("--seed", type=int, default=0, help=seed_help)

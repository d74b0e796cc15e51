"""Peak memory of every cachekit operation on a 1,000,000-file pip cache.

Why: memory must stay bounded by design, whatever the cache's size: every operation
(info, list, report, remove, purge, prune) keeps its peak RSS under ``RSS_MAX_MB`` on a
1,000,000-file cache, for the local program (with its forked walkers) and for the core
run as a remote host runs it (``python3 -m cachekit.core.agent < request``).

Each operation runs as a subprocess of a small runner process, which reports the peak
RSS of the largest process of the tree (``RUSAGE_CHILDREN``: cachekit and each of its
forked workers) and the peak sum of the tree's proportional set sizes (PSS, sampled every
20 ms from ``/proc``: shared pages counted once). Destructive operations run with
``--dry-run``: the cache is built once and reused by every operation of the run.

The cache is ``make_synthetic_pip_cache.py --scale 10 --sparse`` (1,000,001 files, the
reference cache's mix ten times over, contents left as holes) with access times spread
over a year, so ``--max-size`` evicts a real least-recently-used prefix.

The conda case is ``make_synthetic_conda_cache.py`` at ``--conda-scale`` (2.0: 600 extracted
packages, 300,000 files in the cache, two environments linking into it): ``info``,
``clean --all --dry-run`` and ``purge --dry-run``.

Usage: ``python bench/bench_memory.py [--dir DIR] [--scale 10] [--conda-scale 2]
[--source DIR] [--json]``
``--dir`` keeps the cache for the next run (built there when missing); ``--source``
runs the cachekit package found in that directory instead of this checkout's.
Exit status: 0 every operation stayed under the bound, 1 one did not, 2 could not run.
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

import make_synthetic_conda_cache as conda_synth
import make_synthetic_pip_cache as synth
from benchkit import BenchError, clean_env

RSS_MAX_MB = 150
HERE = Path(__file__).resolve().parent
TIMES_DONE = ".cachekit-bench-times"  # beside the cache: its times were spread

# The runner: start the command, sample the tree's PSS, report peaks as one JSON line.
RUNNER = r"""
import json, os, resource, subprocess, sys, time

def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return out

def pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0

stdin = open(sys.argv[1], "rb") if sys.argv[1] != "-" else subprocess.DEVNULL
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE)
peak = 0
while proc.poll() is None:
    peak = max(peak, sum(pss(p) for p in tree(proc.pid)))
    time.sleep(0.02)
err = proc.stderr.read().decode(errors="replace")
wall = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"rc": proc.returncode, "wall_s": wall, "max_rss": rss, "peak_pss": peak,
                  "stderr": err[-400:]}))
"""


def spread_times(cache: Path) -> None:
    """Access times spread over a year, deterministically by path (one ``utime`` per file)."""
    now = time.time()
    for parent, _dirs, files in os.walk(cache):
        for name in files:
            path = os.path.join(parent, name)
            days = int.from_bytes(path[-3:].encode(), "big") % 365
            os.utime(path, (now - days * 86400, now - 400 * 86400), follow_symlinks=False)


def prepare(base: Path, scale: float) -> Path:
    cache = base / "cache"
    if not cache.exists():
        started = time.perf_counter()
        s = synth.generate(str(cache), scale, 0, sparse=True)
        print(synth.summary_line(s), file=sys.stderr)
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    marker = base / TIMES_DONE
    if not marker.exists():
        started = time.perf_counter()
        spread_times(cache)
        marker.write_text("done\n")
        print(f"access times spread in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return cache


ONLY: str | None = None


def measure(argv: list[str], env: dict[str, str], stdin: str = "-") -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", RUNNER, stdin, *argv], env=env,
                          capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise BenchError(f"the runner failed: {proc.stderr[-400:]}")
    out = json.loads(proc.stdout)
    if out["rc"] != 0:
        raise BenchError(f"{' '.join(argv[2:5])} exited {out['rc']}: {out['stderr']}")
    return out


def operations(cache: str, budget: int) -> dict[str, list[str]]:
    """What a user types (``cachekit`` after the interpreter), by name."""
    pip = ["--managers", "pip"]
    return {
        "info": ["info", *pip],
        "list": ["list", *pip],
        "report": ["report", *pip],
        "remove synth_pkg_00* --dry-run": ["remove", "synth_pkg_00*", *pip, "--dry-run"],
        "purge --dry-run": ["purge", *pip, "--dry-run"],
        "purge --dry-run --format json": ["purge", *pip, "--dry-run", "--format", "json"],
        "prune --max-size --dry-run": ["prune", *pip, "--max-size", f"{budget}B", "--dry-run"],
        "prune --older-than 180d --dry-run": ["prune", *pip, "--older-than", "180d",
                                              "--dry-run"],
    }


def core_requests(budget: int) -> dict[str, dict[str, Any]]:
    """The same operations as the core receives them on a remote host."""
    return {
        "core info": {"op": "info", "managers": ["pip"]},
        "core purge (plan)": {"op": "purge", "managers": ["pip"]},
        "core prune --max-size (plan)": {"op": "prune", "managers": ["pip"],
                                         "policy": {"max_size_bytes": budget, "keep": []}},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dir", help="keep the cache here (built when missing)")
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--source", help="a checkout whose cachekit package to run")
    parser.add_argument("--conda-scale", type=float, default=2.0,
                        help="the conda cache of make_synthetic_conda_cache.py at this scale "
                             "(2.0: 300,000 files in the cache); 0 skips conda")
    parser.add_argument("--only", help="measure only the operations whose name has this")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    global ONLY
    ONLY = args.only
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="cachekit-memory-",
                                                                 dir="/var/tmp"))
    source = Path(args.source).resolve() if args.source else HERE.parent
    figures: dict[str, dict[str, Any]] = {}
    try:
        base.mkdir(parents=True, exist_ok=True)
        cache = prepare(base, args.scale)
        env = clean_env(("PIP_", "UV_", "CONDA"), PIP_CACHE_DIR=str(cache),
                        PIP_CONFIG_FILE=os.devnull, PYTHONPATH=str(source))
        info = subprocess.run([sys.executable, "-m", "cachekit", "info", "--managers", "pip",
                               "--format", "json"], env=env, capture_output=True, text=True,
                              check=True)
        size = json.loads(info.stdout)["hosts"][0]["caches"][0]["bytes"]
        budget = size // 2
        for name, argv in operations(str(cache), budget).items():
            if ONLY is None or ONLY in name:
                figures[name] = measure([sys.executable, "-m", "cachekit", *argv], env)
                _show(name, figures[name])
        if args.conda_scale:
            conda_base = base / f"conda-{args.conda_scale:g}"
            if not conda_base.exists():
                started = time.perf_counter()
                conda_synth.build(conda_base, "root", args.conda_scale, 0)
                print(f"conda cache built in {time.perf_counter() - started:.0f} s",
                      file=sys.stderr)
            home = conda_base / "home"
            conda_env = clean_env(("CONDA", "MAMBA_", "PIP_", "XDG_", "UV_"), HOME=str(home),
                                  CONDA_ROOT_PREFIX=str(home / "miniforge3"),
                                  PYTHONPATH=str(source))
            for name, argv in {"conda info": ["info", "--managers", "conda"],
                               "conda clean --all --dry-run": ["clean", "--all", "--dry-run"],
                               "conda purge --dry-run": ["purge", "--managers", "conda",
                                                         "--dry-run"]}.items():
                if ONLY is None or ONLY in name:
                    figures[name] = measure([sys.executable, "-m", "cachekit", *argv],
                                            conda_env)
                    _show(name, figures[name])
        # the core is a package of relative imports: run as a module, as the fleet runs it
        # locally (a remote host runs the same module from the shipped copy)
        agent_env = dict(env, PYTHONPATH=str(source))
        for name, request in core_requests(budget).items():
            if ONLY is not None and ONLY not in name:
                continue
            request_file = base / "request.json"
            request_file.write_text(json.dumps(request))
            figures[name] = measure(["python3", "-m", "cachekit.core.agent"], agent_env,
                                    str(request_file))
            _show(name, figures[name])
    except (BenchError, subprocess.SubprocessError, OSError) as exc:
        print(f"bench_memory: cannot run: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    over = [n for n, f in figures.items() if f["max_rss"] > RSS_MAX_MB * 2 ** 20]
    if args.json:
        print(json.dumps({"figures": figures, "over": over, "bound_mb": RSS_MAX_MB}, indent=2))
    print(f"bound {RSS_MAX_MB} MiB per process: "
          f"{'all under' if not over else 'OVER: ' + ', '.join(over)}", file=sys.stderr)
    return 1 if over else 0


def _show(name: str, f: dict[str, Any]) -> None:
    print(f"  {name:38} peak RSS {f['max_rss'] / 2 ** 20:7.1f} MiB   tree PSS "
          f"{f['peak_pss'] / 2 ** 20:7.1f} MiB   {f['wall_s']:6.1f} s", file=sys.stderr,
          flush=True)


if __name__ == "__main__":
    sys.exit(main())

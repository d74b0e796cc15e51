"""Time ``cachekit clean --all --dry-run`` against ``du -sb`` on a 150,000-file conda cache.

Why: the conda issue's target is that planning a full clean of a pkgs dir of 300 extracted
packages and 150,000 files, with environments linking into it, costs at most 1.0x
``du -sb`` of that directory, measured in the same run.

Both layouts of ``make_synthetic_conda_cache.py`` are measured: ``shared`` (cache and
environments in the user's ``~/.conda``, a small base install as the root) and ``root``
(cache and environments inside the root prefix; conda's ``--tempfiles`` default, part of
``--all``, then searches every environment's files as well, which ``du`` of the cache
does not count). Before timing, the plan is checked: every archive, the 100 unused
packages, the index cache and the log are selected; the 200 packages the environments
use are kept.

Each command runs as a subprocess, as a user would run it: one discarded warm-up, then
``--runs`` interleaved rounds; the median wall time counts. Exit status: 0 every target
met, 1 a target missed or the plan was wrong, 2 the benchmark could not run.

Usage: ``python bench/bench_clean.py [--scale 1.0] [--runs 5] [--layout root|shared|both]
[--keep DIR] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import make_synthetic_conda_cache as synth
from benchkit import BenchError, clean_env, run, time_rounds

CACHEKIT_VS_DU_MAX = 1.0


def _env(extra: dict[str, str]) -> dict[str, str]:
    return clean_env(("CONDA", "MAMBA_", "PIP_", "XDG_"), **extra)


def check_plan(tree: dict[str, Any]) -> list[str]:
    """What is wrong with cachekit's plan on the synthetic tree (empty: nothing)."""
    env = _env(tree["environ"])
    doc = json.loads(run([sys.executable, "-m", "cachekit", "clean", "--all", "--dry-run",
                           "--format", "json"], env))
    host = doc["hosts"][0]
    pkgs = tree["pkgs"]
    removed = {os.path.relpath(r["path"], pkgs) for r in host["removed"]}
    kept = {os.path.relpath(k["path"], pkgs) for k in host.get("kept", [])}
    names = sorted(os.listdir(pkgs))
    archives = {n for n in names if n.endswith(".conda")}
    packages = [n for n in names if os.path.isdir(os.path.join(pkgs, n, "info"))]
    unused = set(packages[tree["used"]:])
    problems = []
    if removed != archives | unused | {"cache", ".logs/20240101-000000-000000.log"}:
        problems.append(f"selected {len(removed)} entries, expected "
                        f"{len(archives) + len(unused) + 2}")
    if kept != set(packages[:tree["used"]]):
        problems.append(f"kept {len(kept)} packages, expected {tree['used']}")
    return problems


def time_layout(tree: dict[str, Any], runs: int) -> dict[str, Any]:
    du = shutil.which("du")
    if du is None:
        raise BenchError("du is not on PATH")
    cmds = {
        "cachekit clean --all --dry-run": (
            [sys.executable, "-m", "cachekit", "clean", "--all", "--dry-run"],
            _env(tree["environ"])),
        "du -sb PKGS": ([du, "-sb", tree["pkgs"]], _env({})),
    }
    if tree["layout"] == "root":  # for reference: du of everything the plan searches
        cmds["du -sb ROOT (reference)"] = ([du, "-sb", tree["root"]], _env({}))
    times = time_rounds(cmds, runs)
    medians = {name: statistics.median(t) for name, t in times.items()}
    ratio = medians["cachekit clean --all --dry-run"] / medians["du -sb PKGS"]
    out = {"layout": tree["layout"], "times": times, "medians": medians, "ratio": ratio,
           "ok": ratio <= CACHEKIT_VS_DU_MAX}
    if "du -sb ROOT (reference)" in medians:
        out["ratio_root"] = (medians["cachekit clean --all --dry-run"]
                             / medians["du -sb ROOT (reference)"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--layout", choices=("root", "shared", "both"), default="both")
    parser.add_argument("--keep", help="generate into this directory and keep it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    layouts = ["shared", "root"] if args.layout == "both" else [args.layout]
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cachekit-conda-"))
    results, failures = [], []
    try:
        for layout in layouts:
            where = base / layout
            stamp = where / "tree.json"
            if stamp.exists():
                tree = json.loads(stamp.read_text())
            else:
                started = time.perf_counter()
                tree = synth.build(where, layout, args.scale)
                stamp.write_text(json.dumps(tree))
                print(f"generated the {layout} layout in {time.perf_counter() - started:.1f} s",
                      file=sys.stderr)
            problems = check_plan(tree)
            failures += [f"{layout}: {p}" for p in problems]
            results.append(dict(time_layout(tree, args.runs), plan_ok=not problems))
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print(f"bench_clean: cannot run: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    ok = not failures and all(r["ok"] for r in results)
    if args.json:
        print(json.dumps({"results": results, "failures": failures, "ok": ok,
                          "machine": platform.platform(), "cpus": os.cpu_count()}, indent=2))
        return 0 if ok else 1
    print(f"{args.runs} runs per command after a warm-up; {os.cpu_count()} CPUs; "
          f"scale {args.scale}")
    for r in results:
        print(f"\nlayout {r['layout']}:   (plan {'ok' if r['plan_ok'] else 'WRONG'})")
        print(f"  {'command':34} {'median s':>9} {'min s':>7} {'max s':>7}")
        for name, t in r["times"].items():
            print(f"  {name:34} {statistics.median(t):9.3f} {min(t):7.3f} {max(t):7.3f}")
        print(f"  cachekit/du {r['ratio']:.2f}   target <= {CACHEKIT_VS_DU_MAX:.2f}   "
              f"{'pass' if r['ok'] else 'FAIL'}")
        if "ratio_root" in r:
            print(f"  cachekit/du of ROOT {r['ratio_root']:.2f}   (reference only: the "
                  "temp-file search of --all walks all of ROOT)")
    for line in failures:
        print(f"plan: {line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

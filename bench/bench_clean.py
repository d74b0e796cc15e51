"""Time ``cachekit clean --all --dry-run`` against ``du -sb`` on a 150,000-file conda cache.

Why: the issue's target is that planning a full clean of a pkgs dir of 300 extracted
packages and 150,000 files, with environments linking into it, costs at most 1.0x
``du -sb`` of what the plan must read, measured in the same run.

Both layouts of ``make_synthetic_conda_cache.py`` are measured: ``shared`` (cache and
environments in the user's ``~/.conda``, a small base install as the root) and ``root``
(cache and environments inside the root prefix; conda's ``--tempfiles`` default, part of
``--all``, then searches every environment's files as well, which ``du`` of the cache
does not count). Before timing, the plan is checked: every archive, the 100 unused
packages, the index cache and the log are selected; the 200 packages the environments
use are kept.

What the plan must read: the ``lstat`` of every file of the directories it sizes (the
unused packages, the index cache), the top of the cache, the environments' ``conda-meta``
records, and the names (not the ``stat``) of everything else under the root prefix,
where temp files are searched for. No single ``du`` reads exactly that, so three
references are timed:

- ``du -sb PKGS`` (the target, exit status), as the issue first measured it: sizing the
  cache. In the root layout the plan reads more than this (the environments' names too)
  and both other references take longer, so this is the strictest of the three;
- ``same reads in C`` (reference): ``du -sb`` of the sized directories, ``cat`` of the
  records and GNU ``find`` listing the names under the root prefix outside them, one
  after the other: the plan's own reads, single-threaded, at C speed. In the shared
  layout this is quicker than ``du -sb PKGS`` (only the unused third is sized): there it
  is the stricter reference, and cachekit's distance to it is mostly start-up;
- ``du -sb`` of the union (reference): ``ROOT`` in the root layout, ``PKGS ROOT`` in the
  shared one. This ``stat``s every entry the plan only lists by name, so it flatters;
  quoted because it is the literal "du of what the plan reads".

Each command runs as a subprocess, as a user would run it: one discarded warm-up, then
``--runs`` interleaved rounds; the median wall time counts, quoted with the median user
and system CPU (forked workers included). Exit status: 0 every target met, 1 a target
missed or the plan was wrong, 2 the benchmark could not run.

Usage: ``python bench/bench_clean.py [--scale 1.0] [--runs 5] [--layout root|shared|both]
[--keep DIR] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import make_synthetic_conda_cache as synth
from benchkit import BenchError, clean_env, cpu_line, program, run, time_rounds_cpu

CACHEKIT_VS_DU_MAX = 1.0
CACHEKIT = "cachekit clean --all --dry-run"
TARGET = "du -sb PKGS"
SAME_READS = "same reads in C (reference)"
TEMP_NAMES = ("*.c~", "*.trash")  # conda's --tempfiles


def _env(extra: dict[str, str]) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE goes too: the warm-up writes the bytecode an installed
    # package has, or every timed run would compile the modules that lack it
    return clean_env(("CONDA", "MAMBA_", "PIP_", "XDG_", "PYTHONDONTWRITEBYTECODE"), **extra)


def check_plan(tree: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What is wrong with cachekit's plan on the synthetic tree (empty: nothing), and the
    directories it sizes (those it would remove whole)."""
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
    sized = sorted(r["path"] for r in host["removed"] if os.path.isdir(r["path"]))
    return problems, sized


def same_reads(tree: dict[str, Any], sized: list[str]) -> list[str]:
    """The plan's reads done by C tools, one after the other (``sh -c``): ``du -sb`` of
    the sized directories, every environment record read, the names under the root
    prefix outside the sized directories listed (GNU ``find`` tells directories by
    ``d_type``: no ``stat`` of a file). The sized directories are left out by naming the
    rest, not by a ``-path`` test per directory, which ``find`` would run on every entry."""
    pkgs, root = tree["pkgs"], tree["root"]
    envs_dir = os.path.join(os.path.dirname(pkgs), "envs")
    prefixes = [root] + [os.path.join(envs_dir, e) for e in sorted(os.listdir(envs_dir))]
    records = [os.path.join(p, "conda-meta", n) for p in prefixes
               for n in sorted(os.listdir(os.path.join(p, "conda-meta"))) if n.endswith(".json")]
    names = "\\( " + " -o ".join(f"-name {shlex.quote(n)}" for n in TEMP_NAMES) + " \\)"
    if pkgs.startswith(root + "/"):  # the root layout: the search covers the cache too
        rest = [os.path.join(pkgs, n) for n in sorted(os.listdir(pkgs))
                if os.path.join(pkgs, n) not in sized and os.path.isdir(os.path.join(pkgs, n))]
        search = (f"find {shlex.quote(root)} -path {shlex.quote(pkgs)} -prune -o {names} -print"
                  f" && find {shlex.quote(pkgs)} -maxdepth 1 {names} -print"
                  f" && find {' '.join(map(shlex.quote, rest))} {names} -print")
    else:
        search = f"find {shlex.quote(root)} {names} -print"
    script = (f"du -sb {' '.join(map(shlex.quote, sized))} >/dev/null"
              + (f" && cat {' '.join(map(shlex.quote, records))} >/dev/null" if records else "")
              + f" && {{ {search}; }} >/dev/null")
    return ["sh", "-c", script]


def time_layout(tree: dict[str, Any], sized: list[str], runs: int) -> dict[str, Any]:
    du = program("du")
    program("find")  # the same-reads reference lists names with it
    union = [tree["root"]] if tree["layout"] == "root" else [tree["pkgs"], tree["root"]]
    union_name = "du -sb ROOT (reference)" if tree["layout"] == "root" else \
        "du -sb PKGS ROOT (reference)"
    cmds = {
        CACHEKIT: ([sys.executable, "-m", "cachekit", "clean", "--all", "--dry-run"],
                   _env(tree["environ"])),
        TARGET: ([du, "-sb", tree["pkgs"]], _env({})),
        SAME_READS: (same_reads(tree, sized), _env({})),
        union_name: ([du, "-sb", *union], _env({})),
    }
    times = time_rounds_cpu(cmds, runs)
    wall = {name: t["wall_s"] for name, t in times.items()}
    ratios = {name: wall[CACHEKIT] / wall[name] for name in cmds if name != CACHEKIT}
    return {"layout": tree["layout"], "times": times, "medians": wall,
            "ratio": ratios[TARGET], "ratios": ratios,
            "ok": ratios[TARGET] <= CACHEKIT_VS_DU_MAX}


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
            problems, sized = check_plan(tree)
            failures += [f"{layout}: {p}" for p in problems]
            results.append(dict(time_layout(tree, sized, args.runs), plan_ok=not problems))
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
        print(f"  {'command (medians)':<40} {'wall s':>8} {'user s':>8} {'sys s':>8}")
        for name, t in r["times"].items():
            print(cpu_line(name, t))
        print(f"  cachekit/du -sb PKGS {r['ratio']:.2f}   target <= {CACHEKIT_VS_DU_MAX:.2f}   "
              f"{'pass' if r['ok'] else 'FAIL'}")
        for name, ratio in r["ratios"].items():
            if name != TARGET:
                print(f"  cachekit/{name.replace(' (reference)', '')} {ratio:.2f}   (reference)")
    for line in failures:
        print(f"plan: {line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

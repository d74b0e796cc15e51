"""Time ``cachekit info --managers uv`` against ``uv cache size`` and ``du -sb`` on a
100,000-file uv cache.

Why: uv's own walker is Rust (``uv cache size``); cachekit's ``info`` on a uv cache may
take at most 1.2x its time (issue 18), same run, medians. ``du -sb`` is timed beside them
as the kernel's pace. User and system CPU are quoted beside each wall time (``getrusage``
of the children, so cachekit's forked walkers count), to show where the time goes.

Correctness first: ``uv cache size`` prints the bytes the cache takes on disk (allocated
blocks of every entry, directories and the root included, each hard-linked inode once:
``du -sB1``), which is cachekit's ``disk_bytes`` (ON DISK), and the two must be equal.
cachekit's SIZE (``bytes``) is another figure by definition: apparent bytes of the files
(symlinks as 0, directories not counted), so it is checked against the generator's own
count instead, with ``files`` and ``packages``.

The cache comes from ``make_synthetic_uv_cache.py`` (uv 0.13's layout). Exit status: 0
the target is met and the figures agree, 1 the target is missed or a figure disagrees,
2 the benchmark could not run.

Usage: ``python bench/bench_uv.py [--dir DIR] [--scale 1.0] [--runs 5] [--json] [--linked]``
Without ``--dir`` the cache is generated in a temporary directory and removed after; with
``--dir`` an empty or missing DIR is generated (and kept), anything else is measured as it
is. ``--linked`` also hard-links the archives into a virtual environment, as uv installs do.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import make_synthetic_uv_cache as synth
from bench_info import code_identity
from benchkit import (
    BenchError,
    clean_env,
    program,
    run,
    synthetic_cache_options,
    time_rounds_cpu,
    timing_options,
)

CACHEKIT_VS_UV_MAX = 1.2
UV = str(Path(sys.executable).parent / "uv")


def commands(cache: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The three timed commands, as a user would type them, none reading uv's settings."""
    du = program("du")
    if not os.access(UV, os.X_OK):
        raise BenchError(f"no uv at {UV} (install the test extra)")
    env = clean_env(("UV_",), UV_CACHE_DIR=cache, UV_NO_CONFIG="1")
    return {
        "cachekit info": ([sys.executable, "-m", "cachekit", "info", "--managers", "uv"], env),
        "uv cache size": ([UV, "cache", "size", "--preview-features", "cache-size"], env),
        "du -sb": ([du, "-sb", cache], env),
    }


def check_figures(cmds: dict[str, tuple[list[str], dict[str, str]]],
                  generated: dict[str, Any] | None) -> dict[str, Any]:
    """cachekit's figures beside uv's (and the generator's, when it made the cache)."""
    argv, env = cmds["cachekit info"]
    rec = json.loads(run(argv + ["--format", "json"], env))["hosts"][0]["caches"][0]
    said = run(*cmds["uv cache size"]).strip()
    if not said.isdigit():
        raise BenchError(f"uv cache size printed {said!r}, not a number of bytes")
    rows = {"disk_bytes": {"cachekit": rec.get("disk_bytes"), "reference": int(said),
                           "by": "uv cache size"}}
    if generated:
        for key in ("files", "bytes", "packages"):
            rows[key] = {"cachekit": rec.get(key), "reference": generated[key],
                         "by": "the generator"}
    for row in rows.values():
        row["ok"] = row["cachekit"] == row["reference"]
    return {"ok": all(r["ok"] for r in rows.values()), "figures": rows,
            "linked_bytes": rec.get("linked_bytes"), "warnings": rec.get("warnings")}


def render(result: dict[str, Any]) -> str:
    lines = [f"cache: {result['dir']} ({result['source']})"]
    if result.get("generated"):
        lines.append(synth.summary_line(result["generated"]))
    m = result["machine"]
    lines.append(f"machine: {m['cpus']} CPUs, {m['uv']}, cachekit git {m['git']} (sources "
                 f"{m['sources_sha256']}); {result['runs']} runs after 1 warm-up each; "
                 f"1-min load {m['load_1min'][0]} before, {m['load_1min'][1]} after")
    lines.append("")
    for key, row in result["correctness"]["figures"].items():
        lines.append(f"  {key:<10} cachekit {row['cachekit']!s:>14}   {row['by']} "
                     f"{row['reference']!s:>14}   {'ok' if row['ok'] else 'MISMATCH'}")
    lines.append("")
    lines.append(f"{'command (medians)':<17} {'wall s':>8} {'user s':>8} {'sys s':>8}   "
                 f"wall min-max")
    for name, t in result["timings"].items():
        lines.append(f"{name:<17} {t['wall_s']:>8.3f} {t['user_s']:>8.3f} {t['sys_s']:>8.3f}"
                     f"   {min(t['runs_s']):.3f}-{max(t['runs_s']):.3f}")
    lines.append("")
    r = result["ratios"]
    lines.append(f"cachekit/uv = {r['cachekit/uv']:.2f} (target <= {CACHEKIT_VS_UV_MAX}: "
                 f"{'PASS' if r['pass'] else 'FAIL'}); cachekit/du = {r['cachekit/du']:.2f}; "
                 f"uv/du = {r['uv/du']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="uv cache to measure (default: generate one in a temp dir)")
    synthetic_cache_options(ap, 1.0, "size of a generated cache (1.0: 100,000 files)",
                            "seed of a generated cache")
    ap.add_argument("--linked", action="store_true",
                    help="generate the cache with its archives hard-linked into an environment")
    timing_options(ap)
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    temp = None
    result: dict[str, Any] = {"runs": args.runs}
    try:
        if args.dir is None:
            temp = tempfile.mkdtemp(prefix="cachekit-bench-uv-")
            cache, result["source"] = os.path.join(temp, "cache"), "generated, temporary"
        else:
            cache = os.path.abspath(args.dir)
            fresh = not os.path.exists(cache) or (os.path.isdir(cache) and not os.listdir(cache))
            result["source"] = "generated, kept" if fresh else "given"
        result["dir"] = cache
        if result["source"].startswith("generated"):
            if not args.json:
                print(f"generating a synthetic uv cache (scale {args.scale}) ...", file=sys.stderr)
            env_dir = cache.rstrip("/") + "-env" if args.linked else ""
            result["generated"] = synth.generate(cache, args.scale, args.seed, env_dir)
            os.sync()  # writeback now, not inside a timed run
        cmds = commands(cache)
        result["machine"] = {"cpus": os.cpu_count(), "uv": run([UV, "--version"], {}).strip(),
                             **code_identity()}
        result["correctness"] = check_figures(cmds, result.get("generated"))
        load_before = os.getloadavg()[0]
        result["timings"] = time_rounds_cpu(cmds, args.runs)
        result["machine"]["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    except (BenchError, OSError, ValueError, KeyError, IndexError) as exc:
        print(f"bench_uv: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    t = result["timings"]
    ck, uv, du = (t[name]["wall_s"] for name in ("cachekit info", "uv cache size", "du -sb"))
    vs_uv = ck / uv
    result["ratios"] = {"cachekit/uv": round(vs_uv, 3), "cachekit/du": round(ck / du, 3),
                        "uv/du": round(uv / du, 3),
                        "target": CACHEKIT_VS_UV_MAX, "pass": vs_uv <= CACHEKIT_VS_UV_MAX}
    result["ok"] = result["correctness"]["ok"] and result["ratios"]["pass"]
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

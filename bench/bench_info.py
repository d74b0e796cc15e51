"""Time ``cachekit info`` against ``du -sb`` and ``pip cache info`` on a 100k-file pip cache.

Why: cachekit promises to measure big caches faster than the tools people already use.
The targets, from the measurements in the pip cache notes (section 3), are:

* ``cachekit info`` takes at most 0.80x the time of ``du -sb`` on the same tree;
* ``pip cache info`` takes at least 5.0x the time of ``cachekit info``.

All three are run as subprocesses, as a user would run them, in the same session on the
same warm tree: one discarded warm-up each, then ``--runs`` interleaved rounds; the
median wall time counts. Before timing, the counts ``cachekit info --format json``
reports are checked against what ``pip cache info`` prints. Exit status: 0 all targets
met, 1 a target missed or the counts disagree, 2 the benchmark could not run.

Usage: ``python bench/bench_info.py [--dir DIR] [--scale 1.0] [--runs 5] [--json]``
Without ``--dir`` a synthetic cache is generated in a temporary directory and removed
afterwards; with ``--dir`` an empty or missing DIR is generated (and kept), anything
else is measured as it is.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Any

import make_synthetic_pip_cache as synth
from benchkit import BenchError, program, run_cpu, synthetic_cache_options, timing_options

CACHEKIT_VS_DU_MAX = 0.80  # cachekit median / du median must be at most this
PIP_VS_CACHEKIT_MIN = 5.0  # pip median / cachekit median must be at least this
TIMEOUT_S = 600
PIP_BUCKETS = ("http-v2", "http", "wheels")


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without inherited ``PIP_*`` settings, which would skew pip and cachekit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(extra)
    return env


def commands(cache_dir: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The three timed commands, exactly as a user would type them."""
    du = program("du")
    return {
        "cachekit info": (
            [sys.executable, "-m", "cachekit", "info"],
            _clean_env(PIP_CACHE_DIR=cache_dir, PIP_CONFIG_FILE=os.devnull),
        ),
        "du -sb": ([du, "-sb", cache_dir], _clean_env()),
        "pip cache info": (
            [sys.executable, "-m", "pip", "--cache-dir", cache_dir, "cache", "info"],
            _clean_env(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1"),
        ),
    }


def _run(argv: list[str], env: dict[str, str], capture: bool = False) -> str:
    """Run one command; a failure stops the benchmark, since its timing would mean nothing."""
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout if capture else ""


def time_all(cmds: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, Any]:
    """One warm-up each, then ``runs`` rounds; the order rotates so no command always goes first."""
    names = list(cmds)
    for name in names:
        run_cpu(*cmds[name])  # warm-up: discarded
    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    for r in range(runs):
        for name in names[r % len(names):] + names[: r % len(names)]:
            times[name].append(run_cpu(*cmds[name]))
    out = {}
    for name, got in times.items():
        wall = [t[0] for t in got]
        out[name] = {"median_s": statistics.median(wall), "min_s": min(wall), "max_s": max(wall),
                     "user_s": statistics.median(t[1] for t in got),
                     "sys_s": statistics.median(t[2] for t in got),
                     "runs_s": [round(x, 4) for x in wall]}
    return out


_PIP_LINES = {
    "http_files": r"Number of HTTP files: (\d+)",
    "wheels": r"Number of locally built wheels: (\d+)",
    "http_size": r"Package index page cache size: (.+)",
    "wheels_size": r"Locally built wheels size: (.+)",
}


def parse_pip_info(text: str) -> dict[str, Any]:
    """The counts and sizes from ``pip cache info``, which has no machine-readable output."""
    out: dict[str, Any] = {}
    for key, pattern in _PIP_LINES.items():
        m = re.search(rf"^{pattern}$", text, re.M)
        if m is None:
            raise BenchError(f"pip cache info printed no {key!r} line:\n{text}")
        out[key] = int(m.group(1)) if m.group(1).isdigit() else m.group(1).strip()
    return out


def check_counts(cmds: dict[str, tuple[list[str], dict[str, str]]]) -> dict[str, Any]:
    """cachekit's JSON figures next to pip's printed ones; counts and sizes must agree."""
    argv, env = cmds["cachekit info"]
    doc = json.loads(_run(argv + ["--format", "json"], env, capture=True))
    cache = doc["hosts"][0]["caches"][0]
    pip = parse_pip_info(_run(*cmds["pip cache info"], capture=True))
    ours = {
        "http_files": cache["http_files"], "wheels": cache["wheels"],
        # pip prints sizes rounded; compare cachekit's exact bytes in pip's own format.
        "http_size": synth.pip_size(cache["http_bytes"]),
        "wheels_size": synth.pip_size(cache["wheels_bytes"]),
    }
    rows = {k: {"cachekit": ours[k], "pip": pip[k], "ok": ours[k] == pip[k]} for k in ours}
    rows["http_files"]["cachekit_bytes"] = cache["http_bytes"]
    rows["wheels"]["cachekit_bytes"] = cache["wheels_bytes"]
    return {"ok": all(r["ok"] for r in rows.values()), "figures": rows,
            "files": cache.get("files"), "bytes": cache.get("bytes")}


def _version(argv: list[str]) -> str:
    """A tool's ``--version`` line, so results say what was measured."""
    try:
        return _run(argv, _clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1"), capture=True).strip()
    except (BenchError, OSError):
        return "unknown"


def code_identity() -> dict[str, str]:
    """Which cachekit was measured: a hash of its sources, and the git commit if any.

    Why: cachekit changes under the benchmark; figures are only comparable per version.
    """
    spec = importlib.util.find_spec("cachekit")
    if spec is None or not spec.submodule_search_locations:
        return {"sources_sha256": "unknown", "git": "unknown"}
    pkg = list(spec.submodule_search_locations)[0]
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(pkg, "**", "*.py"), recursive=True)):
        digest.update(os.path.relpath(path, pkg).encode() + b"\0")
        with open(path, "rb") as fh:
            digest.update(fh.read())
    git = "unknown"
    try:
        top = os.path.dirname(pkg)
        head = subprocess.run(["git", "-C", top, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True).stdout
        dirty = subprocess.run(["git", "-C", top, "status", "--porcelain", "--", pkg],
                               capture_output=True, text=True, timeout=10, check=True).stdout
        git = head.strip() + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return {"sources_sha256": digest.hexdigest()[:12], "git": git}


def evaluate(timings: dict[str, Any]) -> dict[str, Any]:
    """The two ratios of medians against their targets."""
    ck = timings["cachekit info"]["median_s"]
    du = timings["du -sb"]["median_s"]
    pip = timings["pip cache info"]["median_s"]
    vs_du, vs_pip = ck / du, pip / ck
    return {
        "cachekit/du": {"value": vs_du, "target": f"<= {CACHEKIT_VS_DU_MAX:.2f}",
                        "pass": vs_du <= CACHEKIT_VS_DU_MAX},
        "pip/cachekit": {"value": vs_pip, "target": f">= {PIP_VS_CACHEKIT_MIN:.2f}",
                         "pass": vs_pip >= PIP_VS_CACHEKIT_MIN},
    }


def render(result: dict[str, Any]) -> str:
    """The human report: context first, then correctness, timings, verdicts."""
    lines = [f"cache: {result['dir']} ({result['source']})"]
    if result.get("generated"):
        lines.append(synth.summary_line(result["generated"]))
    m = result["machine"]
    lines.append(f"machine: {m['cpus']} CPUs, Python {m['python']}, {m['pip']}, "
                 f"{m['cachekit']} (git {m['git']}, sources {m['sources_sha256']})")
    lines.append(f"runs: {result['runs']} per command after 1 warm-up each; 1-min load average "
                 f"{m['load_1min'][0]} before, {m['load_1min'][1]} after")
    lines.append("")
    lines.append("correctness (cachekit info --format json vs pip cache info):")
    for key, row in result["correctness"]["figures"].items():
        mark = "ok" if row["ok"] else "MISMATCH"
        ck, pip = str(row["cachekit"]), str(row["pip"])
        lines.append(f"  {key:<12} cachekit {ck:>10}   pip {pip:>10}   {mark}")
    lines.append("")
    lines.append(f"{'command':<16} {'median s':>9} {'min s':>8} {'max s':>8} {'user s':>8} "
                 f"{'sys s':>8}")
    for name, t in result["timings"].items():
        lines.append(f"{name:<16} {t['median_s']:>9.3f} {t['min_s']:>8.3f} {t['max_s']:>8.3f} "
                     f"{t['user_s']:>8.3f} {t['sys_s']:>8.3f}")
    lines.append("")
    for name, r in result["targets"].items():
        verdict = "PASS" if r["pass"] else "FAIL"
        lines.append(f"{name:<13} {r['value']:>6.2f}   target {r['target']:<8} {verdict}")
    return "\n".join(lines)


def _say(message: str, quiet: bool) -> None:
    """Progress on stderr, so stdout stays the report (or clean JSON)."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Generate or pick the cache, check correctness, time, report; exit 0, 1 or 2."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="pip cache to measure (default: generate one in a temp dir)")
    synthetic_cache_options(ap, 1.0, "size of a generated cache, in (0, 10] (1.0: 100,001 files; "
                            "10: 1,000,001; 0.01: quick)", "seed of a generated cache")
    timing_options(ap)
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if not 0 < args.scale <= 10:
        ap.error("--scale must be in (0, 10]")

    temp = None
    result: dict[str, Any] = {"runs": args.runs}
    try:
        if args.dir is None:
            temp = tempfile.mkdtemp(prefix="cachekit-bench-")
            cache_dir, result["source"] = temp, "generated, temporary"
        else:
            cache_dir = os.path.abspath(args.dir)
            fresh = not os.path.exists(cache_dir) or (
                os.path.isdir(cache_dir) and not os.listdir(cache_dir))
            result["source"] = "generated, kept" if fresh else "given"
        result["dir"] = cache_dir
        if result["source"].startswith("generated"):
            _say(f"generating a synthetic pip cache (scale {args.scale}) ...", args.json)
            result["generated"] = synth.generate(cache_dir, args.scale, args.seed)
            os.sync()  # flush dirty pages now, not in the middle of a timed run
        elif not any(os.path.isdir(os.path.join(cache_dir, b)) for b in PIP_BUCKETS):
            raise BenchError(f"{cache_dir} is not a pip cache (no {', '.join(PIP_BUCKETS)} in it)")

        result["machine"] = {
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(),
            "pip": _version([sys.executable, "-m", "pip", "--version"]).split(" from ")[0],
            "cachekit": _version([sys.executable, "-m", "cachekit", "--version"]),
            **code_identity(),
        }
        cmds = commands(cache_dir)
        _say("checking counts ...", args.json)
        result["correctness"] = check_counts(cmds)
        _say(f"timing: 1 warm-up + {args.runs} runs of each command ...", args.json)
        load_before = os.getloadavg()[0]
        result["timings"] = time_all(cmds, args.runs)
        # Other work on the machine skews wall times; the 1-minute load shows whether it ran.
        result["machine"]["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        result["targets"] = evaluate(result["timings"])
    except (BenchError, OSError, subprocess.TimeoutExpired, ValueError, KeyError,
            IndexError) as exc:
        print(f"bench_info: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if temp is not None:
            _say(f"removing {temp} ...", args.json)
            shutil.rmtree(temp, ignore_errors=True)

    ok = result["correctness"]["ok"] and all(r["pass"] for r in result["targets"].values())
    result["pass"] = ok
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

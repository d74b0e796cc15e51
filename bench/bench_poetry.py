"""Time ``cachekit info`` on a 50,000-file Poetry cache dir against ``du -sb`` and
``poetry cache list``.

Why: cachekit measures every Python package cache of a host, and must stay quicker than
the tools people already use. The targets (issue 15):

* ``cachekit info`` takes at most 1.0x the time of ``du -sb`` on the same tree;
* ``poetry cache list`` takes at least 3.0x the time of ``cachekit info``.

The cache is generated in Poetry 2.5's real layout (``cache/repositories/<repo>/`` with
release metadata at ``<8 levels>/<sha256("name:version")>`` and cachecontrol's
``_http_/<5 levels>/<sha224(url)>`` entries, ``artifacts/<2>/<2>/<2>/<58 hex>/``, and one
environment under ``virtualenvs/``). Before timing, cachekit's repositories are checked
against ``poetry cache list`` and its counts against a walk of the tree. All three
commands run as subprocesses in interleaved rounds after one warm-up each; the median
counts. Exit status: 0 targets met, 1 a target missed or a count disagrees, 2 the
benchmark could not run.

Usage: ``python bench/bench_poetry.py [--dir DIR] [--scale 1.0] [--runs 5] [--json]``
(without ``--dir`` the cache is generated in a temporary directory and removed after).
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchkit import BenchError, clean_env, program, run, time_rounds, timing_options

CACHEKIT_VS_DU_MAX = 1.0
POETRY_VS_CACHEKIT_MIN = 3.0
POETRY = str(Path(sys.executable).parent / "poetry")
# at scale 1.0: 10,000 releases (metadata files), 5,000 downloads and 2,000 index pages in
# the HTTP cache (4 files each), 10,000 artifacts plus 1,000 sdists, a 1,000-file env
RELEASES, DOWNLOADS, PAGES, SDISTS, ENV_FILES = 10_000, 5_000, 2_000, 1_000, 1_000
COUNT = "poetry cache clear REPO --all (answered no), each repository"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _http(base: Path, url: str, body: bytes) -> None:
    key = hashlib.sha224(url.encode()).hexdigest()
    where = base.joinpath(*key[:5])
    _write(where / key, b"cc=4," + os.urandom(200))
    _write(where / (key + ".body"), body)
    _write(where / (key + ".lock"), b"")
    _write(where / (key + ".body.lock"), b"")


def generate(root: Path, scale: float, seed: int) -> dict[str, int]:
    """A deterministic Poetry cache dir; returns what it holds."""
    rng = random.Random(seed)
    repos = root / "cache" / "repositories"
    n_rel = int(RELEASES * scale)
    releases = [(f"pkg{i // 5:05d}", f"1.{i % 5}.0") for i in range(n_rel)]
    for name, version in releases:
        url = f"https://files.example.org/{name}-{version}-py3-none-any.whl"
        doc = {"name": name, "version": version, "summary": "", "requires_dist": [],
               "requires_python": None, "yanked": False, "_cache_version": "2.1.0",
               "files": [{"file": url.rsplit("/", 1)[1], "hash": "sha256:0", "url": url}]}
        key = hashlib.sha256(f"{name}:{version}".encode()).hexdigest()
        _write(repos.joinpath("pypi", *[key[i:i + 2] for i in range(0, 16, 2)], key),
               b"9999999999" + json.dumps(doc).encode())
        art = hashlib.sha256(url.encode()).hexdigest()
        _write(root.joinpath("artifacts", art[:2], art[2:4], art[4:6], art[6:],
                             f"{name}-{version}-py3-none-any.whl"),
               rng.randbytes(rng.randint(1000, 6000)))
    for name, version in releases[:int(DOWNLOADS * scale)]:
        url = f"https://files.example.org/{name}-{version}-py3-none-any.whl"
        _http(repos / "_default_cache" / "_http_", url, rng.randbytes(rng.randint(1000, 6000)))
    for i in range(int(PAGES * scale)):
        name = f"pkg{i:05d}"
        page = "".join(f'<a href="https://files.example.org/{name}-1.{v}.0-py3-none-any.whl">'
                       f"x</a>" for v in range(5))
        _http(repos / "pypi" / "_http_", f"https://pypi.org/simple/{name}/", page.encode())
    for name, version in releases[:int(SDISTS * scale)]:
        url = f"https://files.example.org/{name}-{version}.tar.gz"
        art = hashlib.sha256(url.encode()).hexdigest()
        _write(root.joinpath("artifacts", art[:2], art[2:4], art[4:6], art[6:],
                             f"{name}-{version}.tar.gz"), rng.randbytes(2000))
    env = root / "virtualenvs" / "app-AbCdEfGh-py3.11"
    for i in range(int(ENV_FILES * scale)):
        _write(env / "lib/python3.11/site-packages" / f"mod{i // 50}" / f"f{i}.py",
               rng.randbytes(500))
    files = sum(len(f) for _d, _s, f in os.walk(root))
    return {"files": files, "releases": n_rel}


def commands(cache: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    du = program("du")
    if not os.access(POETRY, os.X_OK):
        raise BenchError(f"no poetry at {POETRY} (install the test extra)")
    drop = ("POETRY_", "XDG_")
    config = tempfile.mkdtemp(prefix="cachekit-bench-poetry-config-")
    atexit.register(shutil.rmtree, config, True)  # Poetry's empty config home, ours only
    return {
        "cachekit info": ([sys.executable, "-m", "cachekit", "info", "--managers", "poetry"],
                          clean_env(drop, POETRY_CACHE_DIR=cache, POETRY_CONFIG_DIR=config)),
        "du -sb": ([du, "-sb", cache], clean_env(drop)),
        "poetry cache list": ([POETRY, "cache", "list", "--no-ansi"],
                              clean_env(drop, POETRY_CACHE_DIR=cache,
                                        POETRY_CONFIG_DIR=config)),
        # Poetry's only walk of its cache: `cache clear REPO --all` counts the entries it
        # would delete ("Delete N entries?"); answered no, it deletes nothing. Timed for
        # the record, with no target: it is not a listing command.
        COUNT: (["sh", "-c", " && ".join(
            f"printf 'no\\n' | {POETRY} cache clear {repo} --all --no-ansi"
            for repo in sorted(os.listdir(os.path.join(cache, "cache", "repositories"))))],
            clean_env(drop, POETRY_CACHE_DIR=cache, POETRY_CONFIG_DIR=config)),
    }


def check(cmds: dict[str, tuple[list[str], dict[str, str]]], cache: str) -> dict[str, Any]:
    argv, env = cmds["cachekit info"]
    doc = json.loads(run(argv + ["--format", "json"], env))
    record = doc["hosts"][0]["caches"][0]
    listed = run(*cmds["poetry cache list"]).split()
    walked = [os.path.join(d, f) for part in ("cache/repositories", "artifacts")
              for d, _s, fs in os.walk(os.path.join(cache, part)) for f in fs]
    rows = {
        "repositories": (sorted(record["repositories"]), listed),
        "files": (record["files"], len(walked)),
        "bytes": (record["bytes"], sum(os.lstat(p).st_size for p in walked)),
    }
    return {"ok": all(a == b for a, b in rows.values()),
            "figures": {k: {"cachekit": a, "reference": b, "ok": a == b}
                        for k, (a, b) in rows.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="Poetry cache dir to measure (default: generate one)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="size of a generated cache (1.0: about 50,000 files)")
    ap.add_argument("--seed", type=int, default=0)
    timing_options(ap)
    args = ap.parse_args(argv)
    temp = None
    result: dict[str, Any] = {"runs": args.runs}
    try:
        if args.dir is None:
            temp = tempfile.mkdtemp(prefix="cachekit-bench-poetry-")
            cache = temp
        else:
            cache = os.path.abspath(args.dir)
        if not os.path.isdir(cache) or not os.listdir(cache):
            print(f"generating a Poetry cache dir (scale {args.scale}) ...", file=sys.stderr)
            result["generated"] = generate(Path(cache), args.scale, args.seed)
            os.sync()
        result["dir"] = cache
        cmds = commands(cache)
        result["correctness"] = check(cmds, cache)
        before = os.getloadavg()[0]
        times = time_rounds(cmds, args.runs)
        result["load_1min"] = [round(before, 2), round(os.getloadavg()[0], 2)]
        result["timings"] = {n: {"median_s": statistics.median(t), "min_s": min(t),
                                 "max_s": max(t)} for n, t in times.items()}
    except (BenchError, OSError, ValueError, KeyError) as exc:
        print(f"bench_poetry: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    med = {n: t["median_s"] for n, t in result["timings"].items()}
    vs_du = med["cachekit info"] / med["du -sb"]
    vs_poetry = med["poetry cache list"] / med["cachekit info"]
    result["poetry_count_vs_cachekit"] = med[COUNT] / med["cachekit info"]
    result["targets"] = {
        "cachekit/du": {"value": vs_du, "target": f"<= {CACHEKIT_VS_DU_MAX}",
                        "pass": vs_du <= CACHEKIT_VS_DU_MAX},
        "poetry/cachekit": {"value": vs_poetry, "target": f">= {POETRY_VS_CACHEKIT_MIN}",
                            "pass": vs_poetry >= POETRY_VS_CACHEKIT_MIN}}
    ok = result["correctness"]["ok"] and all(t["pass"] for t in result["targets"].values())
    result["pass"] = ok
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"cache: {result['dir']} {result.get('generated', '')}")
        print(f"load average (1 min): {result['load_1min'][0]} before, "
              f"{result['load_1min'][1]} after; {args.runs} runs after 1 warm-up each")
        for key, row in result["correctness"]["figures"].items():
            print(f"  {key:<13} cachekit {row['cachekit']!s:>12}  reference "
                  f"{row['reference']!s:>12}  {'ok' if row['ok'] else 'MISMATCH'}")
        for name, t in result["timings"].items():
            print(f"{name[:18]:<18} median {t['median_s']:.3f} s  (min {t['min_s']:.3f}, "
                  f"max {t['max_s']:.3f})")
        for name, t in result["targets"].items():
            print(f"{name:<16} {t['value']:.2f}  target {t['target']}  "
                  f"{'PASS' if t['pass'] else 'FAIL'}")
        print(f"poetry's own count / cachekit: {result['poetry_count_vs_cachekit']:.2f} "
              "(no target)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

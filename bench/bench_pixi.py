"""Time ``cachekit info --managers pixi`` against ``du -sb`` on a 50,000-file rattler cache.

Why: issue 15 asks ``info`` on a 50,000-file pixi cache to take at most 1.0x the time of
``du -sb`` of it. pixi has no cache command of its own on PyPI to compare with, so ``du``
is the only reference. The cache is synthetic but in rattler's real layout (see
``docs/managers/pixi.md``): ``pkgs/<name>-<version>-<build>/`` with ``info/``, a 40-byte
``.lock`` beside each, ``pkgs/.cache.lock``; a project environment hard-links 40 of the
100 packages and records them in ``conda-meta``, so cachekit reads records and link counts
as it would on a real host. ``cachekit dir`` is timed too, without a target: the start-up
every run pays before it walks anything. The commands run as subprocesses in the same session: one
warm-up each, then ``--runs`` interleaved rounds; the median counts. Before timing, the
package count cachekit reports is checked. Exit status: 0 target met, 1 missed, 2 the
benchmark could not run.

Usage: ``python bench/bench_pixi.py [--dir DIR] [--runs 5] [--json]`` (without ``--dir`` a
temporary directory is used and removed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchkit import BenchError, clean_env, program, run, time_rounds, timing_options

PACKAGES = 100
FILES_PER_PACKAGE = 497  # + info/index.json, info/paths.json, info/files: 500 each
USED = 40  # packages the project environment hard-links
CACHEKIT_VS_DU_MAX = 1.0
FILES_PER_DIR = 16


def make_cache(base: Path) -> tuple[Path, Path]:
    """Write the cache root and a home with one pixi project; return (root, home)."""
    root, home = base / "rattler-cache", base / "home"
    pkgs = root / "pkgs"
    env = home / "proj" / ".pixi" / "envs" / "default"
    (env / "conda-meta").mkdir(parents=True)
    pkgs.mkdir(parents=True)
    (pkgs / ".cache.lock").touch()
    for n in range(PACKAGES):
        name = f"pkg{n:03d}"
        dist = f"{name}-1.{n}-h0_0"
        here = pkgs / dist
        paths = []
        for i in range(FILES_PER_PACKAGE):
            rel = f"lib/python3.12/site-packages/{name}/m{i // FILES_PER_DIR:02d}/f{i}.py"
            data = f"# {name} {i}\n".encode() * (1 + i % 7)
            (here / rel).parent.mkdir(parents=True, exist_ok=True)
            (here / rel).write_bytes(data)
            paths.append({"_path": rel, "path_type": "hardlink", "size_in_bytes": len(data)})
        (here / "info").mkdir()
        index = {"name": name, "version": f"1.{n}", "build": "h0_0", "build_number": 0,
                 "depends": [], "subdir": "noarch"}
        (here / "info/index.json").write_text(json.dumps(index))
        (here / "info/paths.json").write_text(json.dumps({"paths": paths, "paths_version": 1}))
        (here / "info/files").write_text("".join(p["_path"] + "\n" for p in paths))
        (pkgs / (dist + ".lock")).write_bytes(
            (1).to_bytes(8, "big") + hashlib.sha256(dist.encode()).digest())
        if n < USED:
            for p in paths:
                (env / p["_path"]).parent.mkdir(parents=True, exist_ok=True)
                os.link(here / p["_path"], env / p["_path"])
            record = dict(index, files=[p["_path"] for p in paths],
                          extracted_package_dir=str(here),
                          link={"source": str(here), "type": 1})
            (env / "conda-meta" / f"{dist}.json").write_text(json.dumps(record))
    return root, home


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="where to write the cache (kept); default: a temporary one")
    timing_options(ap)
    args = ap.parse_args()
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-pixi-"))
    try:
        root, home = (base / "rattler-cache", base / "home")
        if not root.exists():
            root, home = make_cache(base)
        env = clean_env(("PIXI_", "RATTLER_", "XDG_", "CACHEKIT_"), HOME=str(home),
                        PIXI_CACHE_DIR=str(root), PWD=str(home))
        du = program("du")
        cmds = {"cachekit info": ([sys.executable, "-m", "cachekit", "info", "--managers",
                                   "pixi"], env),
                "du -sb": ([du, "-sb", str(root)], env),
                # no target: the program's start-up, which info pays before any walk
                "cachekit dir": ([sys.executable, "-m", "cachekit", "dir", "--managers",
                                  "pixi"], env)}
        doc = json.loads(run(cmds["cachekit info"][0] + ["--format", "json"], env))
        cache = doc["hosts"][0]["caches"][0]
        if cache["packages"] != PACKAGES or cache["unused_packages"] != PACKAGES - USED:
            raise BenchError(f"cachekit saw {cache['packages']} packages, "
                             f"{cache['unused_packages']} unused")
        times = time_rounds(cmds, args.runs)
        medians = {name: statistics.median(t) for name, t in times.items()}
        ratio = medians["cachekit info"] / medians["du -sb"]
        ok = ratio <= CACHEKIT_VS_DU_MAX
        load = os.getloadavg()
        result = {"files": cache["files"], "packages": cache["packages"],
                  "medians_s": {k: round(v, 4) for k, v in medians.items()},
                  "cachekit_vs_du": round(ratio, 3), "target": CACHEKIT_VS_DU_MAX,
                  "ok": ok, "loadavg": [round(x, 2) for x in load]}
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(f"{cache['files']} files, {cache['packages']} packages; load average "
                  f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
            for name, median in medians.items():
                print(f"  {name:14} median {median:.3f} s")
            print(f"cachekit info / du -sb = {ratio:.2f} (target <= {CACHEKIT_VS_DU_MAX}): "
                  f"{'met' if ok else 'MISSED'}")
        return 0 if ok else 1
    except BenchError as exc:
        print(f"bench_pixi: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

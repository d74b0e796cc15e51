"""Time ``cachekit info`` against ``du -sb`` and ``pdm cache info`` on a 50,000-file PDM cache.

Issue 15's targets, same run, medians:

* ``cachekit info --managers pdm`` takes at most 1.0x the time of ``du -sb`` on the tree;
* ``pdm cache info`` takes at least 3.0x the time of ``cachekit info``.

The cache is synthetic but laid out as PDM 2.29 lays it out: ``hashes/ab/cd/ef/gh/<rest>``
files, built wheels in ``wheels/ab/cd/ef/<rest>/``, one ``http/http-cache.db``, metadata
JSON files, and ``packages/<wheel>.cache/`` directories (module files, a ``.dist-info``,
``.lock`` and ``.referrers``). Before timing, the per-bucket counts and sizes of
``cachekit info --format json`` are checked against what ``pdm cache info`` prints.
Exit status: 0 targets met, 1 a target missed or the figures disagree, 2 it could not run.

Usage: ``python bench/bench_pdm.py [--files 50000] [--runs 5] [--json] [--dir DIR]``
(``pdm`` is the one beside this python, as the test extra installs it).
"""

from __future__ import annotations

import argparse
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
PDM_VS_CACHEKIT_MIN = 3.0
PDM = str(Path(sys.executable).parent / "pdm")
PACKAGE_FILES = 25  # files per unpacked package


def _hashed(key: str, depth: int) -> list[str]:
    h = hashlib.sha224(key.encode()).hexdigest()
    return [h[2 * i:2 * i + 2] for i in range(depth)] + [h[2 * depth:]]


def make_cache(root: Path, files: int, seed: int = 0) -> int:
    """A PDM cache of about ``files`` files; returns how many it wrote."""
    rng = random.Random(seed)
    written = 0

    def write(path: Path, size: int, data: bytes = b"") -> None:
        nonlocal written
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data or (rng.randbytes(size) if size else b""))
        written += 1

    (root / "http").mkdir(parents=True)
    write(root / "http/http-cache.db", 8 << 20)
    for i in range(3):
        write(root / f"metadata/package_meta_{i:040x}.json", 40_000)
    packages = files * 55 // 100 // PACKAGE_FILES
    wheels = files // 25
    for i in range(packages):
        name, version = f"pkg{i:05d}", f"1.{i % 7}"
        base = root / "packages" / f"{name}-{version}-py3-none-any.whl.cache"
        info = base / f"{name}-{version}.dist-info"
        for meta, size in (("METADATA", 1500), ("WHEEL", 90), ("RECORD", 900)):
            write(info / meta, size)
        write(base / ".lock", 0)
        # half of them used by an environment that is gone, half by one that exists
        user = root if i % 2 else root / "gone"
        write(base / ".referrers", 0, f"{user}/{name}-{version}.dist-info\n".encode())
        for j in range(PACKAGE_FILES - 5):
            write(base / name / f"mod{j:02d}.py", rng.randrange(200, 12_000))
    for i in range(wheels):
        parts = _hashed(f"https://files.example/sdist{i}.tar.gz", 3)
        write(root.joinpath("wheels", *parts, f"built{i:05d}-2.{i % 3}-py3-none-any.whl"),
              rng.randrange(2_000, 60_000))
    for i in range(max(0, files - written)):
        write(root.joinpath("hashes", *_hashed(f"https://files.example/f{i}", 4)), 71)
    return written


def commands(cache: str, home: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    du = program("du")
    if not os.access(PDM, os.X_OK):
        raise BenchError(f"{PDM} not found: install the test extra")
    env = clean_env(("PDM_", "XDG_"), PDM_CACHE_DIR=cache, HOME=home, PDM_CHECK_UPDATE="false",
                    NO_COLOR="1")
    return {
        "cachekit info": ([sys.executable, "-m", "cachekit", "info", "--managers", "pdm"], env),
        "du -sb": ([du, "-sb", cache], env),
        "pdm cache info": ([PDM, "cache", "info"], env),
    }


def check_figures(cmds: dict[str, tuple[list[str], dict[str, str]]]) -> list[str]:
    """Where cachekit's figures and ``pdm cache info``'s differ ([] when they agree)."""
    from pdm.cli.commands.cache import format_size

    argv, env = cmds["cachekit info"]
    rec = json.loads(run(argv + ["--format", "json"], env))["hosts"][0]["caches"][0]
    said = run(*cmds["pdm cache info"])
    wrong = []
    for bucket in ("hashes", "http", "wheels", "metadata"):
        line = f"Files: {rec[bucket + '_files']}, Size: {format_size(rec[bucket + '_bytes'])}"
        if line not in said:
            wrong.append(f"{bucket}: cachekit {line!r} not in pdm's output")
    line = f"Packages: {rec['packages']}, Size: {format_size(rec['packages_bytes'])}"
    if line not in said:
        wrong.append(f"packages: cachekit {line!r} not in pdm's output")
    return wrong


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=50_000, help="files in the cache")
    ap.add_argument("--dir", help="measure (or build, when missing) the cache here")
    ap.add_argument("--seed", type=int, default=0)
    timing_options(ap)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-pdm-"))
    try:
        cache = Path(args.dir) if args.dir else work / "pdm-cache"
        written = make_cache(cache, args.files, args.seed) if not cache.exists() else None
        (work / "home").mkdir()
        cmds = commands(str(cache), str(work / "home"))
        wrong = check_figures(cmds)
        times = time_rounds(cmds, args.runs)
    except BenchError as exc:
        print(f"bench_pdm: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    med = {name: statistics.median(t) for name, t in times.items()}
    vs_du = med["cachekit info"] / med["du -sb"]
    pdm_vs = med["pdm cache info"] / med["cachekit info"]
    ok = not wrong and vs_du <= CACHEKIT_VS_DU_MAX and pdm_vs >= PDM_VS_CACHEKIT_MIN
    result: dict[str, Any] = {
        "files": written, "medians_s": {k: round(v, 4) for k, v in med.items()},
        "cachekit_vs_du": round(vs_du, 3), "pdm_vs_cachekit": round(pdm_vs, 2),
        "targets": {"cachekit_vs_du_max": CACHEKIT_VS_DU_MAX,
                    "pdm_vs_cachekit_min": PDM_VS_CACHEKIT_MIN},
        "figures_agree": not wrong, "disagreements": wrong, "loadavg": os.getloadavg(),
        "ok": ok}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, m in med.items():
            print(f"{name:16} median {m * 1000:8.1f} ms")
        print(f"cachekit / du = {vs_du:.2f} (target <= {CACHEKIT_VS_DU_MAX}); "
              f"pdm / cachekit = {pdm_vs:.1f} (target >= {PDM_VS_CACHEKIT_MIN}); "
              f"figures {'agree' if not wrong else 'DISAGREE: ' + '; '.join(wrong)}; "
              f"load average {os.getloadavg()[0]:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

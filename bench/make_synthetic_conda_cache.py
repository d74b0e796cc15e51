"""Write a deterministic conda installation: a big package cache and environments linking into it.

Layout (at scale 1.0): ``ROOT/pkgs`` holds 300 extracted packages of 500 files each
(150,000 files, including each package's ``info/``), 150 archives, ``urls.txt``, an
index cache and a log. ``ROOT/envs/env1`` installs 100 packages by hard links and
``ROOT/envs/env2`` another 100 by symlinks, each with real ``conda-meta`` records listing
every file; 100 packages are used by no environment. Files are small (conda packages
are mostly small files), 16 to a directory as in real site-packages trees
(``lib/python3.11/site-packages/NAME/modNN/subN/...``).

Two layouts, both common:

* ``root``: a single-user install, ``ROOT/pkgs`` and ``ROOT/envs`` inside the root
  prefix (``~/miniforge3``), so ``clean --tempfiles`` (conda's default: the root) walks
  the environments too;
* ``shared``: a shared server, a small read-only base install at ``BASE/opt-conda`` and
  the user's cache and environments in ``BASE/home/.conda/{pkgs,envs}``, as conda sets
  them up when the root is not writable.

Usage: ``python bench/make_synthetic_conda_cache.py BASE [--layout root|shared]
[--scale 1.0] [--seed 0]``; prints the environment that points cachekit at it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

PACKAGES = 300
FILES_PER_PACKAGE = 500
ARCHIVE_EVERY = 2  # every second package keeps its archive
# env -> (link type: 1 hard link, 2 symlink; the packages it installs)
ENVS = {"env1": (1, range(0, 100)), "env2": (2, range(100, 200))}
FILES_PER_DIR = 16


def _payload_paths(name: str, count: int, rng: random.Random) -> list[str]:
    paths = []
    for i in range(count):
        sub = f"lib/python3.11/site-packages/{name}/mod{i // (FILES_PER_DIR * 4):02d}/sub{i % 4}"
        paths.append(f"{sub}/file{i:04d}.py")
    rng.shuffle(paths)
    return sorted(paths)


BASE_FILES = 2000  # the shared layout's base install: a python and a few tools


def _prefix(path: Path) -> Path:
    (path / "conda-meta").mkdir(parents=True)
    (path / "conda-meta/history").touch()
    return path


def build(base: Path, layout: str = "root", scale: float = 1.0, seed: int = 0
          ) -> dict[str, object]:
    """Write the tree under ``base``; return its figures and the environment for cachekit."""
    rng = random.Random(seed)
    packages = max(3, int(PACKAGES * scale))
    home = base / "home"
    if layout == "root":
        root = _prefix(home / "miniforge3")
        pkgs, envs_dir = root / "pkgs", root / "envs"
    else:
        root = _prefix(base / "opt-conda")
        for i in range(int(BASE_FILES * scale)):
            path = root / f"lib/python3.11/mod{i // FILES_PER_DIR:03d}/f{i}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x" * (i % 700))
        pkgs, envs_dir = home / ".conda/pkgs", home / ".conda/envs"
    pkgs.mkdir(parents=True)
    filler = bytes(rng.getrandbits(8) for _ in range(1 << 16))
    urls = []
    files = 0
    dists = []
    for n in range(packages):
        name = f"pkg{n:03d}"
        dist = f"{name}-1.{n % 7}.0-py311h{n:04x}_0"
        dists.append(dist)
        extracted = pkgs / dist
        payload = _payload_paths(name, FILES_PER_PACKAGE - 4, rng)
        for rel in payload:
            path = extracted / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            size = int(rng.lognormvariate(6.5, 1.0)) % len(filler)
            start = rng.randrange(len(filler) - size)
            path.write_bytes(filler[start:start + size])
        info = extracted / "info"
        info.mkdir()
        index = {"name": name, "version": dist.split("-")[1], "build": dist.split("-")[2],
                 "build_number": 0, "depends": [], "subdir": "linux-64"}
        (info / "index.json").write_text(json.dumps(index))
        (info / "paths.json").write_text(json.dumps({"paths": [
            {"_path": p, "path_type": "hardlink"} for p in payload], "paths_version": 1}))
        (info / "files").write_text("\n".join(payload) + "\n")
        (info / "repodata_record.json").write_text(json.dumps(dict(index, fn=dist + ".conda")))
        files += FILES_PER_PACKAGE
        if n % ARCHIVE_EVERY == 0:
            (pkgs / f"{dist}.conda").write_bytes(filler[: 4096 + n])
            urls.append(f"https://conda.example.invalid/main/linux-64/{dist}.conda")
    (pkgs / "urls.txt").write_text("".join(u + "\n" for u in urls))
    (pkgs / "urls").touch()
    (pkgs / "cache").mkdir()
    (pkgs / "cache/497deca9.json").write_bytes(filler[:30000])
    (pkgs / ".logs").mkdir()
    (pkgs / ".logs/20240101-000000-000000.log").write_text("log\n")
    used = 0
    envs = []
    for env, (link_type, installs) in ENVS.items():
        prefix = _prefix(envs_dir / env)
        envs.append(prefix)
        chosen = [dists[i] for i in sorted({int(i * scale) for i in installs}) if i < packages]
        used += len(chosen)
        for dist in chosen:
            extracted = pkgs / dist
            payload = (extracted / "info/files").read_text().split()
            for rel in payload:
                dst = prefix / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                if link_type == 1:
                    os.link(extracted / rel, dst)
                else:
                    os.symlink(extracted / rel, dst)
            record = {"name": dist.split("-")[0], "files": payload,
                      "paths_data": {"paths": [{"_path": p, "path_type": "hardlink"}
                                               for p in payload], "paths_version": 1},
                      "link": {"source": str(extracted), "type": link_type},
                      "extracted_package_dir": str(extracted),
                      "package_tarball_full_path": str(extracted) + ".conda"}
            (prefix / "conda-meta" / f"{dist}.json").write_text(
                json.dumps(record, indent=2, sort_keys=True))
    (home / ".conda").mkdir(parents=True, exist_ok=True)
    (home / ".conda/environments.txt").write_text("".join(f"{e}\n" for e in envs))
    environ = {"HOME": str(home), "CONDA_ROOT_PREFIX": str(root)}
    if layout == "shared":
        environ["CONDA_PKGS_DIRS"] = str(pkgs)
    return {"layout": layout, "packages": packages, "files": files, "used": used,
            "pkgs": str(pkgs), "root": str(root), "environ": environ}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("base")
    parser.add_argument("--layout", choices=("root", "shared"), default="root")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(build(Path(args.base), args.layout, args.scale, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

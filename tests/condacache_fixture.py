"""A real conda package cache and real environments, as reference/conda.md section 7 lays out.

Archives are made and extracted by conda-package-handling (the library behind ``cph``);
environments hold real hard links, symlinks and copies of the extracted files, with
``conda-meta`` records written the way conda writes them.
"""

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from conda_package_handling import api as cph

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"
CHANNEL = "https://conda.example.invalid/test-channel/linux-64"


@dataclass
class Dist:
    dist: str
    files: Dict[str, bytes] = field(default_factory=dict)
    symlinks: Dict[str, str] = field(default_factory=dict)  # path -> relative target
    hardlinked: Dict[str, str] = field(default_factory=dict)  # path -> path it shares
    placeholder: List[str] = field(default_factory=list)  # files carrying PLACEHOLDER
    archive: Optional[str] = None  # ".conda" or ".tar.bz2": keep the archive in PKGS


PACKAGES = [
    Dist("alpha-1.0-h0_0", {"lib/alpha.txt": b"alpha library\n", "bin/alpha": b"#!/bin/sh\n"},
         symlinks={"lib/alpha-current.txt": "alpha.txt"}, archive=".conda"),
    Dist("beta-2.0-h1_0", {"lib/beta.txt": b"beta data\n"}, archive=".tar.bz2"),
    Dist("gamma-0.5-py_0", {"lib/gamma.py": b"print('gamma')\n"}),
    Dist("delta-3.1-h2_1", {"share/delta.txt": b"delta " * 100}, archive=".conda"),
    Dist("meta-1.0-0", {}, archive=".conda"),
    Dist("selfhl-1.0-0", {"bin/tool": b"tool binary\n"}, hardlinked={"bin/tool-alias": "bin/tool"}),
    Dist("pfx-1.0-0", {"etc/pfx.conf": f"prefix={PLACEHOLDER}\n".encode()},
         placeholder=["etc/pfx.conf"]),
]
# env -> [(dist, link type)]: 1 hard link, 2 symlink, 3 copy
INSTALLS = {
    "hard": [("alpha-1.0-h0_0", 1), ("meta-1.0-0", 1), ("pfx-1.0-0", 1)],
    "soft": [("beta-2.0-h1_0", 2)],
    "copy": [("gamma-0.5-py_0", 3)],
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _source_tree(d: Dist, src: Path) -> None:
    """A package source: payload plus info/index.json, info/paths.json, info/files."""
    name, version, build = d.dist.rsplit("-", 2)
    paths = []
    for rel, data in d.files.items():
        _write(src / rel, data)
        entry = {"_path": rel, "path_type": "hardlink", "sha256": _sha256(data),
                 "size_in_bytes": len(data)}
        if rel in d.placeholder:
            entry.update(prefix_placeholder=PLACEHOLDER, file_mode="text")
        paths.append(entry)
    for rel, other in d.hardlinked.items():
        os.link(src / other, src / rel)
        data = d.files[other]
        paths.append({"_path": rel, "path_type": "hardlink", "sha256": _sha256(data),
                      "size_in_bytes": len(data)})
    for rel, target in d.symlinks.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, src / rel)
        paths.append({"_path": rel, "path_type": "softlink", "size_in_bytes": len(target)})
    paths.sort(key=lambda p: p["_path"])
    index = {"name": name, "version": version, "build": build,
             "build_number": int(build.rsplit("_", 1)[-1]) if build[-1].isdigit() else 0,
             "depends": [], "subdir": "linux-64", "license": "MIT", "timestamp": 1700000000000}
    _write(src / "info/index.json", json.dumps(index, indent=2).encode())
    _write(src / "info/paths.json",
           json.dumps({"paths": paths, "paths_version": 1}, indent=2).encode())
    _write(src / "info/files", "".join(p["_path"] + "\n" for p in paths).encode())


def make_archive(d: Dist, work: Path, ext: str) -> Path:
    """``cph create`` of the package's source tree; returns the archive."""
    src = work / "src" / d.dist
    if not src.exists():
        _source_tree(d, src)
    out = work / "archives"
    out.mkdir(parents=True, exist_ok=True)
    cph.create(str(src), None, d.dist + ext, out_folder=str(out))
    return out / (d.dist + ext)


def extract(archive: Path, pkgs: Path, dist: str, url: str) -> Path:
    """``cph x`` into the cache, then the repodata record conda writes after extracting."""
    dest = pkgs / dist
    cph.extract(str(archive), dest_dir=str(dest))
    index = json.loads((dest / "info/index.json").read_text())
    data = archive.read_bytes()
    record = dict(index, fn=archive.name, url=url, channel=CHANNEL.rsplit("/", 1)[0],
                  md5=hashlib.md5(data).hexdigest(), sha256=_sha256(data), size=len(data))
    (dest / "info/repodata_record.json").write_text(json.dumps(record, indent=2))
    return dest


def install(pkgs: Path, dist: str, prefix: Path, link_type: int) -> Dict[str, bytes]:
    """Link one extracted package into ``prefix`` as conda does; returns path -> content."""
    extracted = pkgs / dist
    paths = json.loads((extracted / "info/paths.json").read_text())["paths"]
    placed: Dict[str, bytes] = {}
    paths_data = []
    for p in paths:
        rel, src, dst = p["_path"], extracted / p["_path"], prefix / p["_path"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        entry = dict(p)
        if p["path_type"] == "softlink":
            os.symlink(os.readlink(src), dst)
        elif "prefix_placeholder" in p:
            data = src.read_bytes().replace(PLACEHOLDER.encode(), str(prefix).encode())
            dst.write_bytes(data)
            entry["sha256_in_prefix"] = _sha256(data)
        elif link_type == 1:
            os.link(src, dst)
        elif link_type == 2:
            os.symlink(src, dst)
        else:
            shutil.copy2(src, dst)
        placed[rel] = dst.read_bytes() if not dst.is_symlink() or dst.exists() else b""
        paths_data.append(entry)
    archive = next((pkgs / (dist + ext) for ext in (".conda", ".tar.bz2")
                    if (pkgs / (dist + ext)).exists()), pkgs / (dist + ".conda"))
    index = json.loads((extracted / "info/index.json").read_text())
    record = dict(index, fn=archive.name, url=f"{CHANNEL}/{archive.name}",
                  channel=CHANNEL.rsplit("/", 1)[0], files=[p["_path"] for p in paths],
                  paths_data={"paths": paths_data, "paths_version": 1},
                  link={"source": str(extracted), "type": link_type},
                  extracted_package_dir=str(extracted),
                  package_tarball_full_path=str(archive), requested_spec=index["name"])
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "history").touch()
    (meta / f"{dist}.json").write_text(json.dumps(record, indent=2, sort_keys=True))
    return placed


@dataclass
class CondaFixture:
    root: Path
    pkgs: Path
    home_pkgs: Path  # configured, but without urls.txt: conda treats it as read-only
    outside: Path
    envs: Dict[str, Path]
    env_files: Dict[Path, bytes]  # every installed file -> its content
    environ: Dict[str, str]


def build(base: Path, home: Path, archives: Path) -> CondaFixture:
    """The section 7 fixture under ``base``; ``archives`` caches cph output between tests."""
    root = base / "root"
    pkgs = root / "pkgs"
    pkgs.mkdir(parents=True)
    (root / "conda-meta").mkdir()
    (root / "conda-meta/history").touch()
    urls = []
    for d in PACKAGES:
        ext = d.archive or ".conda"
        archive = archives / "archives" / (d.dist + ext)
        if not archive.exists():
            archive = make_archive(d, archives, ext)
        url = f"{CHANNEL}/{archive.name}"
        extract(archive, pkgs, d.dist, url)
        if d.archive:
            shutil.copy2(archive, pkgs / archive.name)
            urls.append(url)
        if d.hardlinked:  # keep the package's own hard links, whatever the archive kept
            for rel, other in d.hardlinked.items():
                target = pkgs / d.dist / rel
                target.unlink()
                os.link(pkgs / d.dist / other, target)
    (pkgs / "urls.txt").write_text("".join(u + "\n" for u in urls))
    (pkgs / "urls").touch()
    envs, env_files = {}, {}
    for env, installs in INSTALLS.items():
        prefix = root / "envs" / env
        envs[env] = prefix
        for dist, link_type in installs:
            for rel, data in install(pkgs, dist, prefix, link_type).items():
                env_files[prefix / rel] = data
    conda_dir = home / ".conda"
    conda_dir.mkdir(parents=True, exist_ok=True)
    (conda_dir / "environments.txt").write_text("".join(f"{p}\n" for p in envs.values()))
    _extras(base, root, pkgs, archives)
    home_pkgs = conda_dir / "pkgs"
    home_pkgs.mkdir()
    shutil.copy2(archives / "archives" / "delta-3.1-h2_1.conda", home_pkgs)
    extract(archives / "archives" / "delta-3.1-h2_1.conda", home_pkgs, "delta-3.1-h2_1", "x")
    environ = {"CONDA_PKGS_DIRS": f"{pkgs},{home_pkgs}", "CONDA_ROOT": str(root)}
    return CondaFixture(root, pkgs, home_pkgs, base / "outside", envs, env_files, environ)


def _extras(base: Path, root: Path, pkgs: Path, archives: Path) -> None:
    for rel in ("cache/497deca9.json", "cache/497deca9.info.json", "cache/repodata_shards.db"):
        _write(pkgs / rel, b'{"repodata": true}\n')
    _write(pkgs / ".logs/20240101-000000-000000.log", b"solver log\n")
    _write(pkgs / ".trash/leftover.dll", b"MZ leftover\n")
    _write(pkgs / "notapkg/readme", b"not a package\n")
    _write(pkgs / "notes.txt", b"notes\n")
    _write(pkgs / "epsilon-1.0-0.conda.partial", b"half a download")
    _write(pkgs / "legacy-0.1-0.tar.bz2.part", b"an old partial download")
    zeta = archives / "archives" / "zeta-9.9-0.conda"
    if not zeta.exists():
        zeta = make_archive(Dist("zeta-9.9-0", {"lib/zeta.txt": b"zeta\n"}), archives, ".conda")
    outside = base / "outside"
    outside.mkdir()
    shutil.copy2(zeta, outside / "zeta-9.9-0.conda")
    os.link(outside / "zeta-9.9-0.conda", pkgs / "zeta-9.9-0.conda")
    _write(root / "lib/libfoo.so.c~", b"hold file")
    _write(root / "envs/hard/bin/alpha.c~", b"hold file")
    _write(pkgs / "stale.trash", b"trash")
    _write(root / "lib/old.conda_trash", b"renamed by rm_rf")


def snapshot(paths: Dict[Path, bytes]) -> List[Tuple[Path, Optional[bytes]]]:
    """Each environment file's content now (None when it can no longer be read)."""
    out = []
    for path in paths:
        try:
            out.append((path, path.read_bytes()))
        except OSError:
            out.append((path, None))
    return out

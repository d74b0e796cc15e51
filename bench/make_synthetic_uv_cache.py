"""Generate a large synthetic uv cache in uv 0.13's on-disk layout, deterministically.

Why: ``cachekit info`` must keep up with ``uv cache size`` (uv's Rust walker) on a big uv
cache, and a benchmark needs the same big cache every time. Filling one with the real uv
takes a network and hours, so this writes the tree uv 0.13 writes (bucket names and
versions as ``uv cache prune`` keeps them, file names, symlinks into ``archive-v0``, as a
real ``uv pip install`` leaves them), with synthetic contents:

* ``archive-v0/<16-char id>/``: one unpacked wheel each (a package tree up to six levels
  deep, ``.so`` files in the compiled ones, and its ``.dist-info``), most of the files;
* ``wheels-v8/pypi/<name>/<version>-<tags>`` symlinks to the archives, with the
  ``.http``, ``.lock`` and ``.msgpack`` files beside them; ``wheels-v8/index/<hash>/...``
  for a second index (no ``.msgpack``);
* ``sdists-v11/pypi/<name>/<version>/``: wheels built from source (``.lock``,
  ``revision.http``, and a revision directory with the built ``.whl``, a symlink to its
  archive, ``metadata.msgpack`` and the unpacked ``src/``), and the bucket's ``.git`` and
  ``.gitignore``;
* ``simple-v28/pypi/<name>.rkyv`` (and ``simple-v28/index/<hash>/``): index pages;
* ``interpreter-v5/<hash>/<hash>.msgpack``, an empty ``builds-v0/``, and the root's
  ``.lock``, ``CACHEDIR.TAG`` and ``.gitignore``;
* ``built-wheels-v3/``: a bucket an older uv left behind (uv 0.13's ``uv cache prune``
  removes it; its ``uv cache size`` and ``uv cache clean`` count it like any other).

At ``--scale 1.0`` that is exactly 100,000 files (symlinks included). A smaller scale
keeps the first share of each kind of entry, so a quick cache is a subset of the full one
(each distribution draws from its own seeded generator). ``--linked DIR`` also hard-links
every archive's files into a virtual environment at DIR, as ``uv pip install`` does.

Usage: ``python bench/make_synthetic_uv_cache.py DIR [--scale 1.0] [--seed 0] [--linked ENV]``
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from typing import Any, NamedTuple

FILES = 100_000  # at scale 1.0, symlinks included
PYPI_WHEELS = 1_700  # wheels from PyPI: 1,200 projects, the first 500 with a second version
PYPI_PROJECTS = 1_200
INDEX_WHEELS = 150  # from a second index: 60 projects
INDEX_PROJECTS = 60
SDIST_BUILDS = 100  # wheels built from sdists, one project each
LEGACY_BUILDS = 30  # built-wheels-v3 entries of an older uv
INTERPRETERS = 3
COMPILED_SHARE = 0.25  # wheels with extension modules (larger files)

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
CACHEDIR_TAG = b"Signature: 8a477f597d28d172789f06886806bc55"
FILLER_BYTES = 1 << 20
PURE_TAG = "py3-none-any"
COMPILED_TAG = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
# files each kind of entry holds outside archive-v0
WHEEL_FILES = {"pypi": 4, "index": 3}  # link, .http, .lock (+ .msgpack on PyPI)
SDIST_SRC = ("PKG-INFO", "pyproject.toml", "setup.cfg", "README.md", "LICENSE", "MANIFEST.in",
             "tests/test_core.py")
SDIST_FILES = 6 + len(SDIST_SRC) + 3  # .lock, revision.http, rev/{.lock,link,.whl,
#                                       metadata.msgpack}, src/..., src/<pkg>/{3 modules}
LEGACY_FILES = 3  # manifest.msgpack, metadata.msgpack, the .whl
DIST_INFO_MIN = 4  # METADATA, WHEEL, RECORD and at least one module


class Entry(NamedTuple):
    """One file or symlink to write, relative to the cache root."""

    path: str
    head: bytes = b""  # written first
    filler: int = 0  # then this many filler bytes
    link: str = ""  # a symlink with this target instead of a file


class Dist(NamedTuple):
    """One distribution that has an archive: where it came from, and its archive's size."""

    kind: str  # "pypi", "index" or "sdist"
    project: str  # normalised name
    version: str
    files: int  # files in its archive


def _id(rng: random.Random, n: int = 16, alphabet: str = ID_ALPHABET) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def _size(rng: random.Random, median: float, sigma: float = 1.2, cap: int = 8 << 20) -> int:
    return max(0, min(cap, int(rng.lognormvariate(math.log(median), sigma))))


def _dist_rng(seed: int, kind: str, i: int) -> random.Random:
    """Each distribution's own generator: its files do not depend on the scale."""
    return random.Random(f"{seed}:{kind}:{i}")


def dists(seed: int, times: int = 1) -> list[Dist]:
    """Every distribution of the full-scale cache (``times`` over), archives sized to
    make the cache exactly ``FILES * times`` files."""
    rng = random.Random(seed)
    out: list[Dist] = []
    for i in range(PYPI_WHEELS * times):
        out.append(Dist("pypi", f"synth-pkg-{i % (PYPI_PROJECTS * times):05d}",
                        f"1.{i // (PYPI_PROJECTS * times)}.{i % 7}", 0))
    for i in range(INDEX_WHEELS * times):
        out.append(Dist("index", f"corp-lib-{i % (INDEX_PROJECTS * times):04d}",
                        f"2.{i // (INDEX_PROJECTS * times)}.0", 0))
    for i in range(SDIST_BUILDS * times):
        out.append(Dist("sdist", f"built-from-src-{i:04d}", f"0.{i % 9}.1", 0))
    outside = (PYPI_WHEELS * WHEEL_FILES["pypi"] + INDEX_WHEELS * WHEEL_FILES["index"]
               + SDIST_BUILDS * SDIST_FILES + LEGACY_BUILDS * LEGACY_FILES
               + PYPI_PROJECTS + INDEX_PROJECTS + SDIST_BUILDS  # simple pages
               + INTERPRETERS + 3 + 2) * times  # root files, sdists-v11/.git{,ignore}
    # a few big packages, many small ones (site-packages' shape): log-normal file counts
    raw = [rng.lognormvariate(math.log(20), 1.1) for _ in out]
    budget = FILES * times - outside
    counts = [max(DIST_INFO_MIN, int(r * budget / sum(raw))) for r in raw]
    counts[counts.index(max(counts))] += budget - sum(counts)
    return [d._replace(files=n) for d, n in zip(out, counts)]


def _archive(rng: random.Random, d: Dist, compiled: bool) -> list[Entry]:
    """An unpacked wheel: a package tree and its ``.dist-info`` (relative to the archive)."""
    module = d.project.replace("-", "_")
    info = f"{module}-{d.version}.dist-info"
    extras = [name for name in ("licenses/LICENSE", "top_level.txt", "entry_points.txt")
              if rng.random() < 0.5][:max(0, d.files - DIST_INFO_MIN)]
    out = [Entry(f"{info}/METADATA", f"Metadata-Version: 2.4\nName: {d.project}\nVersion: "
                 f"{d.version}\n".encode(), _size(rng, 3000, 0.8)),
           Entry(f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: synthetic\nRoot-Is-Purelib:"
                 f" {'false' if compiled else 'true'}\nTag: "
                 f"{COMPILED_TAG if compiled else PURE_TAG}\n".encode())]
    out += [Entry(f"{info}/{name}", b"", _size(rng, 600, 0.8)) for name in extras]
    modules = d.files - len(out) - 1  # RECORD last
    dirs = [(module, 1)]
    written = 0
    while written < modules:
        if len(dirs) < 400 and written and rng.random() < 0.1:
            parent, depth = dirs[rng.randrange(len(dirs))]
            if depth < 6:
                dirs.append((f"{parent}/sub{len(dirs)}", depth + 1))
                out.append(Entry(f"{dirs[-1][0]}/__init__.py", b"", _size(rng, 200, 1.0)))
                written += 1
                continue
        where = dirs[rng.randrange(len(dirs))][0]
        if written == 0:
            out.append(Entry(f"{module}/__init__.py", b"", _size(rng, 800, 1.0)))
        elif compiled and rng.random() < 0.08:
            out.append(Entry(f"{where}/_ext{written}.cpython-311-x86_64-linux-gnu.so",
                             b"\x7fELF", _size(rng, 150_000, 1.3)))
        else:
            suffix = rng.choice((".py", ".py", ".py", ".py", ".pyi", ".json", ".txt"))
            out.append(Entry(f"{where}/mod{written}{suffix}", b"", _size(rng, 2500, 1.2)))
        written += 1
    out.append(Entry(f"{info}/RECORD", b"", 90 * len(out)))
    return out


def _http(rng: random.Random, path: str, archive: str, size: int) -> Entry:
    """A cache-policy file: a msgpack head naming the archive and its hash, filler after."""
    head = (b"\x95\xb0" + archive.encode() + b"\x91\x81\xa6Sha256\xd9@"
            + f"{rng.getrandbits(256):064x}".encode())
    return Entry(path, head, max(0, size - len(head)))


def distribution(seed: int, i: int, d: Dist) -> list[Entry]:
    """Every file of one distribution: its archive, and its wheel or sdist entry."""
    rng = _dist_rng(seed, d.kind, i)
    compiled = d.kind != "sdist" and rng.random() < COMPILED_SHARE
    tag = COMPILED_TAG if compiled else PURE_TAG
    archive = _id(rng)
    base = f"archive-v0/{archive}"
    out = [e._replace(path=f"{base}/{e.path}") for e in _archive(rng, d, compiled)]
    stem = f"{d.version}-{tag}"
    if d.kind in ("pypi", "index"):
        where = (f"wheels-v8/pypi/{d.project}" if d.kind == "pypi"
                 else f"wheels-v8/index/{index_hash(seed)}/{d.project}")
        up = "../" * where.count("/")
        out += [Entry(f"{where}/{stem}", link=f"{up}../{base}"),
                _http(rng, f"{where}/{stem}.http", archive, 480 + rng.randrange(60)),
                Entry(f"{where}/{stem}.lock")]
        if d.kind == "pypi":
            out.append(Entry(f"{where}/{stem}.msgpack", b"\x93", _size(rng, 500, 0.3)))
        return out
    module = d.project.replace("-", "_")
    where = f"sdists-v11/pypi/{d.project}/{d.version}"
    rev = f"{where}/{_id(rng)}"
    wheel = f"{module}-{d.version}-{tag}"
    out += [Entry(f"{where}/.lock"),
            _http(rng, f"{where}/revision.http", rev.rsplit("/", 1)[1], 436),
            Entry(f"{rev}/{stem}.lock"),
            Entry(f"{rev}/{wheel}", link="../" * rev.count("/") + base),
            Entry(f"{rev}/{wheel}.whl", b"PK\x03\x04", _size(rng, 20_000, 0.8)),
            Entry(f"{rev}/metadata.msgpack", b"\x96", 14 + len(d.project) + len(d.version))]
    out += [Entry(f"{rev}/src/{name}", b"", _size(rng, 1500, 0.8)) for name in SDIST_SRC]
    out += [Entry(f"{rev}/src/{module}/{name}.py", b"", _size(rng, 2500, 1.0))
            for name in ("__init__", "core", "util")]
    return out


def index_hash(seed: int) -> str:
    """The second index's directory name (uv: a hash of its URL)."""
    return _hex(random.Random(f"{seed}:index"))


def others(seed: int, chosen: list[Dist], scale: float) -> list[Entry]:
    """Everything without an archive: index pages of the chosen projects, interpreters,
    an older uv's built wheels, the buckets' marker files and the root's (each drawn
    from its own generator, as distributions are)."""
    rng = random.Random(f"{seed}:interpreters")
    out = [Entry(".gitignore", b"*"), Entry(".lock"), Entry("CACHEDIR.TAG", CACHEDIR_TAG),
           Entry("sdists-v11/.git"), Entry("sdists-v11/.gitignore")]
    for _i in range(INTERPRETERS):
        out.append(Entry(f"interpreter-v5/{_hex(rng)}/{_hex(rng)}.msgpack", b"\x9c",
                         1900 + rng.randrange(100)))
    pages: dict[str, int] = {}
    for d in chosen:
        where = (f"simple-v28/index/{index_hash(seed)}" if d.kind == "index"
                 else "simple-v28/pypi")
        path = f"{where}/{d.project}.rkyv"
        if path not in pages:
            pages[path] = _size(random.Random(f"{seed}:{path}"), 6000, 1.0, 400_000)
    out += [Entry(path, b"", size) for path, size in pages.items()]
    for i in range(max(1, round(LEGACY_BUILDS * scale))):
        rng = _dist_rng(seed, "legacy", i)
        project = f"old-build-{i:03d}"
        where = f"built-wheels-v3/pypi/{project}/1.0/{_id(rng)}"
        out += [Entry(f"{where}/manifest.msgpack", b"\x92", 60),
                Entry(f"{where}/metadata.msgpack", b"\x96", 40),
                Entry(f"{where}/{project.replace('-', '_')}-1.0-{PURE_TAG}.whl", b"PK\x03\x04",
                      _size(rng, 15_000, 0.8))]
    return out


def select(full: list[Dist], scale: float, times: int) -> list[tuple[int, Dist]]:
    """The first ``scale`` share of each kind of distribution (index, distribution)."""
    chosen: list[tuple[int, Dist]] = []
    for kind in ("pypi", "index", "sdist"):
        mine = [(i, d) for i, d in enumerate(full) if d.kind == kind]
        chosen += mine[:max(1, round(len(mine) * scale / times))]
    return chosen


class Writer:
    """Writes entries under a root, making directories once; counts what it wrote."""

    def __init__(self, root: str, seed: int) -> None:
        self.root = root
        self.filler = memoryview(random.Random(seed ^ 0x5EED).randbytes(FILLER_BYTES))
        self.made = {""}
        self.files = self.links = self.bytes = 0

    def mkdirs(self, rel: str) -> None:
        if rel in self.made:
            return
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            d = "/".join(parts[:depth])
            if d not in self.made:
                os.mkdir(os.path.join(self.root, d))
                self.made.add(d)

    def write(self, e: Entry) -> None:
        self.mkdirs(e.path.rpartition("/")[0])
        path = os.path.join(self.root, e.path)
        if e.link:
            os.symlink(e.link, path)
            self.links += 1
            return
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            if e.head:
                os.write(fd, e.head)
            left, offset = e.filler, (self.files * 4099) % (FILLER_BYTES // 2)
            while left:
                n = os.write(fd, self.filler[offset: offset + min(left, FILLER_BYTES - offset)])
                left -= n
                offset = (offset + n) % FILLER_BYTES
        finally:
            os.close(fd)
        self.files += 1
        self.bytes += len(e.head) + e.filler


def link_environment(root: str, env: str) -> int:
    """Hard-link every archive's files into ``env`` (a virtual environment's
    site-packages), as ``uv pip install``'s default link mode does; returns the links made.
    A path two archives share (two versions of a project) is linked from the first."""
    site = os.path.join(env, "lib", "python3.11", "site-packages")
    os.makedirs(site, exist_ok=True)
    with open(os.path.join(env, "pyvenv.cfg"), "w") as f:
        f.write("home = /usr/bin\ninclude-system-site-packages = false\nuv = 0.13.9\n")
    made = 0
    archives = os.path.join(root, "archive-v0")
    for archive in sorted(os.listdir(archives)):
        top = os.path.join(archives, archive)
        for dirpath, _dirs, names in os.walk(top):
            inside = os.path.join(site, os.path.relpath(dirpath, top))
            os.makedirs(inside, exist_ok=True)
            for name in names:
                if not os.path.lexists(os.path.join(inside, name)):
                    os.link(os.path.join(dirpath, name), os.path.join(inside, name))
                    made += 1
    return made


def generate(root: str, scale: float = 1.0, seed: int = 0, linked: str = "") -> dict[str, Any]:
    """Create the cache at ``root`` (missing or empty); return a summary of it."""
    if not 0 < scale <= 100:
        raise ValueError("scale must be in (0, 100]: 1.0 is 100,000 files")
    if os.path.isdir(root) and os.listdir(root):
        raise FileExistsError(f"{root} is not empty; refusing to mix a synthetic cache into it")
    started = time.perf_counter()
    os.makedirs(root, exist_ok=True)
    times = max(1, math.ceil(scale))
    chosen = select(dists(seed, times), scale, times)
    out = Writer(root, seed)
    for i, d in chosen:
        for e in distribution(seed, i, d):
            out.write(e)
    for e in others(seed, [d for _i, d in chosen], scale):
        out.write(e)
    out.mkdirs("builds-v0")
    summary: dict[str, Any] = {
        "dir": root, "scale": scale, "seed": seed, "files": out.files + out.links,
        "regular_files": out.files, "symlinks": out.links, "dirs": len(out.made),
        "bytes": out.bytes, "archives": len(chosen),
        "packages": len({d.project for _i, d in chosen}),
    }
    if linked:
        summary["linked_env"], summary["hard_links"] = linked, link_environment(root, linked)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def summary_line(s: dict[str, Any]) -> str:
    linked = (f", {s['hard_links']} files hard-linked into {s['linked_env']}"
              if s.get("linked_env") else "")
    return (f"synthetic uv cache: {s['files']} files ({s['symlinks']} symlinks) in {s['dirs']} "
            f"dirs, {s['bytes']:,} apparent bytes, {s['archives']} archives of "
            f"{s['packages']} packages at {s['dir']}{linked} in {s['seconds']:.1f} s "
            f"(scale {s['scale']}, seed {s['seed']})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", help="where to create the cache (must not exist, or be empty)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="share of the full cache, in (0, 100] (1.0 = 100,000 files)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--linked", metavar="ENV", default="",
                    help="also hard-link the archives' files into a virtual environment here")
    args = ap.parse_args(argv)
    try:
        s = generate(args.dir, args.scale, args.seed, args.linked)
    except (OSError, ValueError) as exc:
        print(f"make_synthetic_uv_cache: error: {exc}", file=sys.stderr)
        return 1
    print(summary_line(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())

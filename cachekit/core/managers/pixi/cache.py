"""What rattler keeps in pixi's package cache, and the figures ``info`` shows of the root.

Seen with rattler (py-rattler 0.28, ``crates/rattler_cache/src/package_cache``):
``pkgs/<name>-<version>-<build>/`` holds one extracted package (its ``info/`` beside the
payload), ``pkgs/<name>-<version>-<build>.lock`` beside it is rattler's metadata file (40
bytes: a big-endian revision, then the archive's sha256), and ``pkgs/.cache.lock`` is the
lock rattler's installer holds while it works. No archive is kept, and no
``info/repodata_record.json`` is written (conda's caches have both). The rest of the
cache root (``repodata``, ``uv-cache``, ``cached-envs-v0``...) is measured, not touched.

Sizes follow conda's rule for the same package format: the ``lstat`` sizes of the files
``os.walk`` lists; "freed" counts only regular files whose every link goes.
"""

import os
import stat
from typing import Dict, List, NamedTuple, Optional, Tuple, TypedDict

from ...fs import subtree, walk
from ...fs.subtree import Stats
from ...wire import CacheRecord

CACHE_LOCK = ".cache.lock"
LOCK = ".lock"


class Entry(NamedTuple):
    """A top-level name of the package cache."""

    rel: str
    kind: str  # package, lock (a package's), cache_lock, orphan_lock, other, other_dir, symlink
    size: int
    nlink: int
    ino: int
    mtime_ns: int
    atime_ns: int


class Listing(NamedTuple):
    root: str
    entries: List[Entry]
    errors: List[Tuple[str, str]]

    def of(self, *kinds: str) -> List[Entry]:
        return [e for e in self.entries if e.kind in kinds]

    def lock_of(self, rel: str) -> Optional[Entry]:
        return next((e for e in self.entries if e.rel == rel + LOCK and e.kind == "lock"),
                    None)


class PixiFigures(TypedDict, total=False):
    """What ``info`` shows of the package cache (``figures``)."""

    packages: int
    packages_bytes: int
    unused_packages: int
    unused_bytes: int  # what removing the unused packages (and their .lock files) frees
    locks: int
    other_files: int
    other_bytes: int
    files: Optional[int]  # as CacheRecord has it (always a count here)
    bytes: int


class PixiRecord(CacheRecord, PixiFigures, total=False):
    """pixi's cache record: the root as ``pixi info`` prints it, the package cache beside."""

    packages_dir: str
    packages_source: str
    config_files: List[str]
    environments: int  # environments found that may use the package cache
    buckets: Dict[str, Dict[str, int]]  # the root's directories: files, bytes


def list_cache(root: str) -> Listing:
    """Classify the package cache's top level (one ``lstat`` per name)."""
    listing = Listing(root, [], [])
    found: List[Tuple[str, os.stat_result]] = []
    try:
        with os.scandir(root) as it:
            for entry in it:
                try:
                    found.append((entry.name, entry.stat(follow_symlinks=False)))
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    listing.errors.append((entry.name, exc.strerror or str(exc)))
    except OSError as exc:
        listing.errors.append(("", exc.strerror or str(exc)))
        return listing
    dirs = {name for name, st in found if stat.S_ISDIR(st.st_mode)}
    for name, st in sorted(found, key=lambda f: f[0]):
        if stat.S_ISLNK(st.st_mode):
            kind = "symlink"
        elif stat.S_ISDIR(st.st_mode):
            kind = "package" if os.path.isdir(os.path.join(root, name, "info")) and not \
                os.path.islink(os.path.join(root, name, "info")) else "other_dir"
        elif name == CACHE_LOCK:
            kind = "cache_lock"
        elif name.endswith(LOCK) and stat.S_ISREG(st.st_mode):
            kind = "lock" if name[:-len(LOCK)] in dirs else "orphan_lock"
        else:
            kind = "other"
        listing.entries.append(Entry(name, kind, st.st_size, st.st_nlink, st.st_ino,
                                     st.st_mtime_ns, st.st_atime_ns))
    return listing


def walk_packages(root: str, rels: List[str], parallel: Optional[bool] = None
                  ) -> Dict[str, Stats]:
    """Walk the extracted packages, in parallel when that pays. Every file counts as use:
    rattler reads a package's ``info/`` only when it installs that package."""
    jobs = [(root, r, "", (), True) for r in rels]
    return {s.rel: s for s in walk.fan_out(subtree.walk_dir, jobs, parallel)}


def layout_problem(root: str) -> str:
    """rattler's signature: ``.cache.lock``, or an extracted package with its ``.lock``
    beside it, or nothing at all (a new or emptied cache); or a cache root whose ``pkgs``
    carries that signature (``relocate --move`` moves the root)."""
    problem = _package_cache_problem(root)
    if problem and os.path.isdir(os.path.join(root, "pkgs")) and not os.path.islink(
            os.path.join(root, "pkgs")) and os.listdir(os.path.join(root, "pkgs")):
        return _package_cache_problem(os.path.join(root, "pkgs"))
    return problem


def _package_cache_problem(root: str) -> str:
    try:
        names = os.listdir(root)
    except OSError as exc:
        return f"cannot be listed ({exc.strerror})"
    if not names or (CACHE_LOCK in names and _is_file(os.path.join(root, CACHE_LOCK))):
        return ""
    listed = set(names)
    for name in names:
        if name + LOCK in listed and os.path.isdir(os.path.join(root, name, "info")):
            return ""
    return (f"does not look like a rattler package cache (no {CACHE_LOCK}, and no extracted "
            "package NAME-VERSION-BUILD/ with its NAME-VERSION-BUILD.lock beside it)")


def _is_file(path: str) -> bool:
    """A regular file, not a symlink to one (the lock is never opened through a link)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def figures(listing: Listing, stats: Dict[str, Stats], unused: List[str]) -> PixiFigures:
    """The package cache's figures (``unused``: the packages cachekit's rule would remove)."""
    packages = listing.of("package")
    locks = listing.of("lock", "cache_lock", "orphan_lock")
    others = listing.of("other", "symlink")
    gone_locks = [lk for lk in (listing.lock_of(p) for p in unused) if lk is not None]
    return {
        "packages": len(packages),
        "packages_bytes": sum(stats[p.rel].bytes for p in packages if p.rel in stats),
        "unused_packages": len(unused),
        "unused_bytes": sum(stats[p].freed for p in unused) + sum(
            lk.size for lk in gone_locks if lk.nlink <= 1),
        "locks": len(locks),
        "other_files": len(others) + sum(stats[e.rel].files for e in listing.of("other_dir")
                                         if e.rel in stats),
        "other_bytes": sum(e.size for e in others) + sum(
            stats[e.rel].bytes for e in listing.of("other_dir") if e.rel in stats),
        "files": sum(s.files for s in stats.values()) + len(locks) + len(others),
        "bytes": sum(s.bytes for s in stats.values()) + sum(e.size for e in locks + others),
    }


def _bucket_key(top: str, _name: str, _kind: str) -> str:
    return top


def root_buckets(root: str, pkgs: str) -> Tuple[Dict[str, Dict[str, int]], int, int,
                                                 List[Tuple[str, str]]]:
    """The root's other directories and files (``repodata``, ``uv-cache``...): their
    figures by top-level name, and the totals (files, bytes). The package cache is left out:
    it is measured package by package."""
    buckets: Dict[str, Dict[str, int]] = {}
    errors: List[Tuple[str, str]] = []
    files = size = 0
    try:
        with os.scandir(root) as it:
            tops = [(e.name, e.stat(follow_symlinks=False)) for e in it]
    except OSError as exc:
        return {}, 0, 0, [("", exc.strerror or str(exc))]
    for name, st in tops:
        path = os.path.join(root, name)
        if os.path.realpath(path) == os.path.realpath(pkgs):
            continue
        if stat.S_ISDIR(st.st_mode):
            totals = walk.scan_totals(path, _bucket_key, disk=False)
            count = sum(c[0] for c in totals.counts.values())
            nbytes = sum(c[1] for c in totals.counts.values())
            errors += [(name + "/" + rel, why) for rel, why in totals.errors]
        else:
            count, nbytes = 1, st.st_size if not stat.S_ISLNK(st.st_mode) else 0
        buckets[name] = {"files": count, "bytes": nbytes}
        files += count
        size += nbytes
    return buckets, files, size, errors

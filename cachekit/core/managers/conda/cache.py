"""What a conda/mamba package cache holds: its entries classified, its directories walked,
the figures ``info`` and ``report`` show.

Follows ``conda clean`` (conda 26.1-26.7, ``cli/main_clean.py``) in what each flag
selects, with one deliberate difference: a package is "unused" only if no discoverable
environment records it in ``conda-meta`` (whatever the link type) *and* none of its files
has another hard link (``usage``). conda's rule is the second half alone, which removes
packages that environments use through symlinks or copies.

Sizes are conda's: the ``lstat`` sizes of the files ``os.walk`` lists (a symlink to a file
counts its link length, a symlink to a directory is a directory and counts nothing);
"freed" bytes count only regular files whose last link would go.
"""

import os
import stat
from typing import TYPE_CHECKING, Dict, List, NamedTuple, Optional, Tuple, TypedDict

from ...fs import subtree, walk
from ...fs.subtree import Stats
from ...wire import CacheRecord
from ..conda_format import PACKAGE_EXTENSIONS

if TYPE_CHECKING:
    from ..conda_format import Usage

TEMPFILE_SUFFIXES = (".c~", ".trash")  # `conda clean --tempfiles`
TRASH_SUFFIXES = (".mamba_trash", ".conda_trash")
# micromamba 2.6+ keeps packages under PKGS/<scheme>/<host>/<channel>/<subdir>/
URL_SCHEMES = ("https", "http", "file", "s3", "ftp", "oci")
_NESTED_DEPTH = 8


class CondaFigures(TypedDict, total=False):
    """What ``info`` and ``report`` show of one conda cache (``summarize``)."""

    tarballs: int
    tarballs_bytes: int
    partials: int
    partials_bytes: int
    locks: int
    locks_bytes: int
    other_files: int
    other_files_bytes: int
    packages: int
    packages_bytes: int
    unused_packages: int
    unused_bytes: int  # what removing the unused packages frees
    index_cache_bytes: int
    logfiles: int
    logfiles_bytes: int
    tempfiles: int
    tempfiles_bytes: int
    trash: int
    trash_bytes: int
    files: Optional[int]  # as CacheRecord has it (always a count here)
    bytes: int


class CondaRecord(CacheRecord, CondaFigures, total=False):
    """A conda cache's record: conda's settings beside the shared keys and its figures."""

    configured: bool  # in conda's own pkgs_dirs (False: found beside them)
    config_files: List[str]
    roots: List[str]
    last_use: str  # prune: which clock counts as use


class Entry(NamedTuple):
    """Something found in a package cache, outside extracted packages' contents."""

    rel: str  # relative to the cache root, "/"-separated
    kind: str  # tarball partial legacy_partial package index_cache logs trash_dir
    #            trash_file tempfile lock magic symlink other other_dir
    size: int
    nlink: int
    ino: int
    mtime_ns: int


class Listing(NamedTuple):
    root: str
    entries: List[Entry]
    errors: List[Tuple[str, str]]

    def of(self, *kinds: str) -> List[Entry]:
        return [e for e in self.entries if e.kind in kinds]


def _file_kind(name: str) -> str:
    low = name.lower()
    if low.endswith(".partial") and low[:-len(".partial")].endswith(PACKAGE_EXTENSIONS):
        return "partial"
    if low.endswith(PACKAGE_EXTENSIONS):
        return "tarball"
    if low.endswith(".part") and low[:-len(".part")].endswith(PACKAGE_EXTENSIONS):
        return "legacy_partial"  # conda < 26.1 named partial downloads so; 26.1+ keeps them
    if name in ("urls.txt", "urls"):
        return "magic"
    if low.endswith(".lock"):
        return "lock"
    if name.endswith(TRASH_SUFFIXES):
        return "trash_file"
    if name.endswith(TEMPFILE_SUFFIXES):
        return "tempfile"
    return "other"


def _is_dir_at(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def list_cache(root: str) -> Listing:
    """Classify the cache's top level (and micromamba's nested channel directories)."""
    listing = Listing(root, [], [])
    _list_level(listing, "", 0)
    return listing


def _list_level(listing: Listing, rel: str, depth: int) -> None:
    path = listing.root + "/" + rel if rel else listing.root
    found = _stat_all(listing, path, rel)
    for name, st in sorted(found, key=lambda found: found[0]):
        sub = name if not rel else rel + "/" + name
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            kind = "symlink"
        elif stat.S_ISDIR(mode):
            if _is_dir_at(path + "/" + name + "/info"):
                kind = "package"
            elif rel == "" and name == "cache":
                kind = "index_cache"
                _list_locks(listing, sub)
            elif rel == "" and name == ".logs":
                kind = "logs"
                _list_logs(listing, sub)
            elif rel == "" and name == ".trash":
                kind = "trash_dir"
            elif (depth > 0 or name in URL_SCHEMES) and depth < _NESTED_DEPTH:
                _list_level(listing, sub, depth + 1)
                continue
            else:
                kind = "other_dir"
        else:
            kind = _file_kind(name)
            if depth and kind in ("partial", "legacy_partial"):
                kind = "other"  # only conda cleans partial downloads, and only at the top
        listing.entries.append(Entry(sub, kind, st.st_size, st.st_nlink, st.st_ino,
                                     st.st_mtime_ns))


def _stat_all(listing: Listing, path: str, rel: str) -> List[Tuple[str, os.stat_result]]:
    """``lstat`` of every entry of one directory; one that vanishes meanwhile is left out,
    one that cannot be read is an error (and keeps everything in this cache)."""
    found = []
    try:
        with os.scandir(path) as it:
            for entry in it:
                try:
                    found.append((entry.name, entry.stat(follow_symlinks=False)))
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    listing.errors.append((_sub(rel, entry.name), exc.strerror or str(exc)))
    except FileNotFoundError:
        if not rel:
            listing.errors.append((rel, "No such file or directory"))
    except OSError as exc:
        listing.errors.append((rel, exc.strerror or str(exc)))
    return found


def _sub(rel: str, name: str) -> str:
    return name if not rel else rel + "/" + name


def _list_locks(listing: Listing, rel: str) -> None:
    """mamba's lock files under the index cache (``clean --lock`` takes the stale ones)."""
    stack = [rel]
    while stack:
        here = stack.pop()
        for name, st in _stat_all(listing, listing.root + "/" + here, here):
            if stat.S_ISDIR(st.st_mode):
                stack.append(here + "/" + name)
            elif stat.S_ISREG(st.st_mode) and name.endswith(".lock"):
                listing.entries.append(Entry(here + "/" + name, "lock", st.st_size,
                                             st.st_nlink, st.st_ino, st.st_mtime_ns))


def lock_held(path: str) -> bool:
    """Does a running process hold this lock file? Tried without waiting, with both lock
    kinds (``flock`` and POSIX record locks do not see each other); when in doubt, yes."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        for attempt in (fcntl.flock, fcntl.lockf):
            try:
                attempt(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
        return False
    finally:
        os.close(fd)  # closing drops whatever we just took


def _list_logs(listing: Listing, rel: str) -> None:
    """``conda clean --logfiles`` takes the plain files directly in ``.logs``."""
    found = _stat_all(listing, listing.root + "/" + rel, rel)
    for name, st in sorted(found, key=lambda found: found[0]):
        if stat.S_ISREG(st.st_mode):
            listing.entries.append(Entry(rel + "/" + name, "logfile", st.st_size, st.st_nlink,
                                         st.st_ino, st.st_mtime_ns))


# Walking directories ----------------------------------------------------------------------

def walk_job(root: str, rel: str) -> subtree.Job:
    """How a directory of a cache is walked: ``info/`` counts as use only in a
    metapackage, and the temp files of interrupted transactions inside it are noted."""
    return (root, rel, "info", TEMPFILE_SUFFIXES, True)


def walk_dir(root: str, rel: str) -> Stats:
    """Walk one directory of a cache (``walk_job``)."""
    return subtree.walk_dir(walk_job(root, rel))


def walk_many(root: str, rels: List[str], parallel: Optional[bool] = None) -> Dict[str, Stats]:
    """Walk several directories of one cache, in parallel when that pays."""
    jobs = [walk_job(root, r) for r in rels]
    return {s.rel: s for s in walk.fan_out(subtree.walk_dir, jobs, parallel)}


# Figures for info and report --------------------------------------------------------------

def summarize(listing: Listing, stats: Dict[str, Stats], usage: "Usage") -> CondaFigures:
    """The per-cache figures ``info`` and ``report`` show."""

    def size(entries: List[Entry]) -> int:
        return sum(e.size for e in entries)

    tarballs, partials = listing.of("tarball"), listing.of("partial", "legacy_partial")
    locks, others = listing.of("lock"), listing.of("other", "magic", "symlink")
    packages = listing.of("package")
    unused = [p for p in packages if p.rel in stats and not stats[p.rel].linked_count
              and not stats[p.rel].errors and not usage.reasons(listing.root, p.rel)]
    logfiles = listing.of("logfile")
    temp = listing.of("tempfile") + [Entry(t.rel, "tempfile", t.size, t.nlink, t.ino, t.mtime_ns)
                                     for s in stats.values() for t in s.marked]
    trash = listing.of("trash_file")
    trash_dirs = [stats[e.rel] for e in listing.of("trash_dir") if e.rel in stats]
    files = [e for e in listing.entries if e.kind not in DIR_KINDS and e.kind != "logfile"
             and not (e.kind == "lock" and e.rel.startswith("cache/"))]
    return {
        "tarballs": len(tarballs), "tarballs_bytes": size(tarballs),
        "partials": len(partials), "partials_bytes": size(partials),
        "locks": len(locks), "locks_bytes": size(locks),
        "other_files": len(others), "other_files_bytes": size(others),
        "packages": len(packages),
        "packages_bytes": sum(stats[p.rel].bytes for p in packages if p.rel in stats),
        "unused_packages": len(unused),
        "unused_bytes": sum(stats[p.rel].freed for p in unused),
        "index_cache_bytes": sum(stats[e.rel].bytes for e in listing.of("index_cache")),
        "logfiles": len(logfiles), "logfiles_bytes": size(logfiles),
        "tempfiles": len(temp), "tempfiles_bytes": size(temp),
        "trash": len(trash) + sum(s.files for s in trash_dirs),
        "trash_bytes": size(trash) + sum(s.bytes for s in trash_dirs),
        "files": len(files) + sum(s.files for s in stats.values()),
        "bytes": size(files) + sum(s.bytes for s in stats.values()),
    }


DIR_KINDS = ("package", "index_cache", "logs", "trash_dir", "other_dir")

"""Plan ``clean``, ``remove`` and ``purge`` in one conda package cache: what goes, what stays, why.

Pure selection over a listing, walk statistics and environment usage; nothing here
touches the file system. Each selected item is a whole entry: an archive, an extracted
package directory, the index cache, a log file.
"""

from typing import Dict, List, NamedTuple, Optional, Set, Tuple

from ...fs.subtree import Stats
from ..conda_format import Usage, dist_name, matches, verdict
from .cache import Entry, Listing

CLEAN_FLAGS = ("tarballs", "index_cache", "packages", "tempfiles", "logfiles", "trash", "lock",
               "force")
ALL_FLAGS = ("tarballs", "index_cache", "packages", "tempfiles", "logfiles")  # conda's -a
PURGE_FLAGS = ("tarballs", "index_cache", "packages", "logfiles")


class Item(NamedTuple):
    rel: str  # relative to the plan's root; "" is the root itself (--force-pkgs-dirs)
    kind: str
    bytes: int  # lstat sizes, as conda reports them
    freed: int  # bytes really freed: regular files whose last link goes
    ino: int
    mtime_ns: int
    reason: str
    is_dir: bool
    package: str


class Kept(NamedTuple):
    rel: str
    reason: str


class CachePlan(NamedTuple):
    items: List[Item]
    kept: List[Kept]


def _file_item(e: Entry, reason: str) -> Item:
    freed = e.size if e.nlink <= 1 and e.kind != "symlink" else 0
    return Item(e.rel, e.kind, e.size, freed, e.ino, e.mtime_ns, reason, False,
                dist_name(e.rel) if e.kind in ("tarball", "partial") else "")


def _dir_item(e: Entry, s: Stats, reason: str) -> Item:
    package = dist_name(e.rel) if e.kind == "package" else ""
    return Item(e.rel, e.kind, s.bytes, s.freed, e.ino, e.mtime_ns, reason, True, package)


def package_verdict(listing: Listing, e: Entry, stats: Dict[str, Stats], usage: Usage
                    ) -> Tuple[bool, str]:
    """(removable, why): cachekit's rule for an extracted package (``conda_format``)."""
    return verdict(listing.root, e.rel, stats.get(e.rel), usage)


def plan_cache(listing: Listing, stats: Dict[str, Stats], usage: Usage, flags: Tuple[str, ...],
               pattern: Optional[str] = None, held: Optional[Set[str]] = None) -> CachePlan:
    """What ``clean`` with ``flags`` (or ``remove PATTERN``) takes from one writable cache.

    ``stats`` must hold a walk of every directory the flags may select.
    """
    items: List[Item] = []
    kept: List[Kept] = []
    if pattern is not None:
        flags = ("tarballs", "packages")
    if "tarballs" in flags:
        for e in listing.of("tarball", "partial"):
            if pattern is not None and not matches(e.rel, pattern):
                continue
            if e.nlink > 1:  # conda skips these silently; we say so
                kept.append(Kept(e.rel, f"archive hard-linked elsewhere ({e.nlink} links)"))
                continue
            items.append(_file_item(e, "partial download" if e.kind == "partial" else "archive"))
        if pattern is None:
            for e in listing.of("legacy_partial"):
                kept.append(Kept(e.rel, "*.part: not cleaned since conda 26.1"))
    if "index_cache" in flags:
        for e in listing.of("index_cache"):
            items.append(_dir_item(e, stats[e.rel], "index cache"))
    if "packages" in flags:
        for e in listing.of("package"):
            if pattern is not None and not matches(e.rel, pattern):
                continue
            removable, why = package_verdict(listing, e, stats, usage)
            if removable:
                items.append(_dir_item(e, stats[e.rel], why))
            else:
                kept.append(Kept(e.rel, why))
    if "logfiles" in flags:
        for e in listing.of("logfile"):
            items.append(_file_item(e, "log file"))
    if "lock" in flags:
        for e in listing.of("lock"):
            if e.rel in (held or set()):
                kept.append(Kept(e.rel, "lock held by a running process"))
            else:
                items.append(_file_item(e, "stale lock file (no process holds it)"))
    if "trash" in flags:
        for e in listing.of("trash_file"):
            items.append(_file_item(e, "trash file"))
        for e in listing.of("trash_dir"):
            items.append(_dir_item(e, stats[e.rel], "trash directory"))
    if pattern is None and ("packages" in flags or "tarballs" in flags):
        for e in listing.of("symlink"):
            kept.append(Kept(e.rel, "a symlink; cachekit neither follows nor removes those"))
    return CachePlan(items, kept)


def dirs_to_walk(listing: Listing, usage: Usage, flags: Tuple[str, ...],
                 pattern: Optional[str] = None) -> List[str]:
    """The directories ``plan_cache`` needs statistics for; used packages are not walked."""
    rels: List[str] = []
    if pattern is not None:
        flags = ("packages",)
    if "index_cache" in flags:
        rels += [e.rel for e in listing.of("index_cache")]
    if "trash" in flags:
        rels += [e.rel for e in listing.of("trash_dir")]
    if "packages" in flags:
        rels += [e.rel for e in listing.of("package")
                 if (pattern is None or matches(e.rel, pattern))
                 and not usage.reasons(listing.root, e.rel)]
    return rels

"""``info`` and ``report`` on a uv cache from one records-free walk (``walk.scan_totals``).

A record per file costs more than the walk itself, and ``info`` needs only sums: files
and bytes per bucket, the package names, the bytes on disk, what a purge frees. Files are
folded into keys (bucket, package, kind) as the workers walk. The figures are exactly
``record.scan``'s (tested against it). Where totals cannot say which hard-linked files
have links outside the cache (``linked_bytes``, and what a purge frees), the cache is
walked with a record per file (``walk.scan``) and folded into the same keys, without
``record.scan``'s package layout; a glance at a few archives picks the walk to start with.
"""

import os
from typing import Any, Dict, List, Optional, Set, Tuple

from ...fs import walk
from . import cache as uvcache
from .record import UvCache, warn

# package names sit at most this many levels down (git wheels: wheels-vN/git/a/b/NAME):
# the classifier sees a file's first KEY_DEPTH path components, so it can name them
KEY_DEPTH = 5
_NAMED = ("wheels", "sdists", "simple")  # the buckets whose entries name a package
_PROBE_ARCHIVES = 3


def classifier() -> walk.Classifier:
    """A key per file: "bucket NUL package NUL o" (the last for a special file), or, for
    an entry of the cache root, "NUL its name NUL ..."."""
    memo: Dict[str, str] = {}  # a directory's key, where its files' names do not matter

    def classify(top: str, name: str, kind: str) -> Optional[str]:
        if kind != "o":
            key = memo.get(top)
            if key is not None:
                return key
        flag = "o" if kind == "o" else ""
        if not top:
            return "\0" + name + "\0" + flag
        bucket = top.split("/", 1)[0]
        if uvcache.bucket_of(bucket)[0] not in _NAMED:
            key = bucket + "\0\0"
            memo[top] = key
            return key if not flag else key + flag
        found = uvcache.package_of(top + "/" + name)
        key = bucket + "\0" + (found[0] if found else "") + "\0"
        if top.count("/") + 1 >= KEY_DEPTH:  # deep enough: the name never decides
            memo[top] = key
        return key + flag

    return classify


def measure(record: UvCache) -> None:
    """Set ``record``'s figures and warnings, and ``reclaimable_bytes`` (what a purge
    frees), from totals where they say it all, else from a walk with records."""
    root = record["path"] or ""
    if _hard_linked_archive(root) or not _from_totals(record, root):
        _from_records(record, root)


def _from_totals(record: UvCache, root: str) -> bool:
    """The figures from one totals walk; False (record untouched) when the cache holds
    hard-linked or special files, whose freed bytes depend on links totals do not count."""
    totals = walk.scan_totals(root, classifier(), key_depth=KEY_DEPTH)
    if totals.shared or any(key.endswith("\0o") for key in totals.counts):
        return False
    _set(record, root, totals.counts, totals.disk_bytes or 0, totals.errors, 0, None)
    return True


def _from_records(record: UvCache, root: str) -> None:
    """The figures from a walk with a record per file, folded into the same keys in one
    pass that also counts each hard-linked inode's links: what links from outside keep
    (``figures.linked_out``), what a purge frees (``walk.freed_bytes`` of all but the
    root's own files) and the bytes on disk (``walk.disk_bytes``), as they define them."""
    tree = walk.scan(root)
    classify = classifier()
    counts: Dict[str, List[int]] = {}
    # (dev, ino) -> [st_nlink, size, links here, links a purge takes, a file (not a link)]
    inodes: Dict[Tuple[int, int], List[Any]] = {}
    disk = sum(d.blocks for d in tree.dirs)
    freed = 0
    own = uvcache.ROOT_FILES
    for f in tree.files:
        where, _, name = f.path.rpartition("/")
        if where.count("/") >= KEY_DEPTH:  # the classifier's view: KEY_DEPTH components
            where = "/".join(where.split("/")[:KEY_DEPTH])
        key = classify(where, name, f.kind) or ""  # (never None: every file counts)
        count = counts.get(key)
        if count is None:
            counts[key] = [1, f.size]
        else:
            count[0] += 1
            count[1] += f.size
        purged = bool(where) or name not in own
        if f.nlink < 2:
            disk += f.blocks
            if purged:
                freed += f.size  # a symlink's size is 0
            continue
        seen = inodes.get((f.dev, f.ino))
        if seen is None:
            disk += f.blocks
            seen = inodes[(f.dev, f.ino)] = [f.nlink, f.size, 0, 0, f.kind in ("f", "o")]
        seen[2] += 1
        if purged:
            seen[3] += 1
    linked = 0
    for nlink, size, here, taken, a_file in inodes.values():
        if a_file:
            linked += size if here < nlink else 0
            freed += size if taken >= nlink else 0
    _set(record, root, counts, disk, tree.errors, linked, freed)


def _set(record: UvCache, root: str, counts: Dict[str, List[int]], disk_bytes: int,
         errors: List[Tuple[str, str]], linked_bytes: int, freed: Optional[int]) -> None:
    """The record's figures from the per-key counts (``freed``: None when no file has
    another link, so a purge frees all but the root's own files)."""
    files = size = root_bytes = 0
    buckets: Dict[str, Dict[str, int]] = {}
    names: Set[str] = set()
    root_files: List[str] = []
    for key, (count, apparent) in counts.items():
        bucket, package, _flag = key.split("\0")
        files += count
        size += apparent
        if not bucket:  # an entry of the root: "package" is its name
            root_files.append(package)
            if package in uvcache.ROOT_FILES:
                root_bytes += apparent
            continue
        tally = buckets.setdefault(bucket, {"files": 0, "bytes": 0})
        tally["files"] += count
        tally["bytes"] += apparent
        if package:
            names.add(package)
    tops = _top_dirs(root)
    record["bytes"], record["files"] = size, files
    record["disk_bytes"] = disk_bytes  # what `uv cache size` prints: du -sB1
    record["packages"] = len(names)
    # in the order the root lists them, as record.scan gives them
    record["buckets"] = {top: buckets.get(top, {"files": 0, "bytes": 0}) for top in tops}
    record["buckets"].update(buckets)
    record["unknown"] = sorted({t for t in tops if uvcache.bucket_of(t)[0]
                                not in uvcache.KNOWN_BUCKETS}
                               | {f for f in root_files if f not in uvcache.ROOT_FILES})
    record["linked_bytes"] = linked_bytes
    st = os.lstat(root)
    record["root_id"] = [st.st_dev, st.st_ino]
    warn(record, root, record["unknown"], errors)
    record["reclaimable_bytes"] = size - root_bytes if freed is None else freed


def _top_dirs(root: str) -> List[str]:
    """The directories in the cache root (the buckets, and any stranger)."""
    try:
        with os.scandir(root) as it:
            return [e.name for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _hard_linked_archive(root: str) -> bool:
    """Whether the first files of the first few archives have other links: then the
    cache is shared with environments and records are needed anyway (a guess that only
    picks the walk to start with; the totals walk checks every file)."""
    base = os.path.join(root, "archive-v0")
    try:
        with os.scandir(base) as it:
            # an archive swapped for a symlink is never followed (it only reads, but outside)
            archives = [e.path for _i, e in zip(range(_PROBE_ARCHIVES),
                                                 (e for e in it
                                                  if e.is_dir(follow_symlinks=False)))]
    except OSError:
        return False
    for path in archives:
        for _depth in range(4):
            try:
                with os.scandir(path) as it:
                    entries = list(it)
            except OSError:
                break
            regular = [e for e in entries if e.is_file(follow_symlinks=False)]
            if regular:
                try:
                    if regular[0].stat(follow_symlinks=False).st_nlink > 1:
                        return True
                except OSError:
                    pass
                break
            subdirs = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
            if not subdirs:
                break
            path = subdirs[0]
    return False

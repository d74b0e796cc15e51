"""Walk cache trees fast and honestly: every file as ``lstat`` sees it, or totals.

Standard library only, Python 3.8+: this module is shipped to remote hosts. Each
directory is visited through ``descend`` (descriptor-relative), the depth-2 subtrees are
shared out by ``fan_out`` (forked processes or GNU finds).
"""

import os
import stat
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
)

from ..meter import METER, figures
from .descend import descend, visit_one
from .fan_out import fan_out

S_ISDIR, S_ISREG = stat.S_ISDIR, stat.S_ISREG

class FileStat(NamedTuple):
    """One non-directory entry, as ``lstat`` saw it (symlinks are never followed)."""

    path: str  # relative to the scanned root, "/"-separated
    size: int  # apparent bytes; 0 for a symlink (pip counts symlinks as 0)
    blocks: int  # allocated bytes (st_blocks * 512)
    atime_ns: int
    mtime_ns: int
    nlink: int
    dev: int
    ino: int
    # "f" regular file, "l" symlink to a non-directory, "L" symlink to a directory, "o" other
    kind: str


class DirStat(NamedTuple):
    path: str  # relative to the scanned root; "" is the root itself
    blocks: int
    readable: bool


class Tree(NamedTuple):
    """Everything under one root: files, directories and the paths that could not be read."""

    files: List[FileStat]
    dirs: List[DirStat]
    errors: List[Tuple[str, str]]


def _kind_and_size(entry: "os.DirEntry[str]", st: os.stat_result) -> Tuple[str, int]:
    """A non-directory's kind and the apparent bytes pip counts for it (symlinks: 0)."""
    if stat.S_ISREG(st.st_mode):
        return "f", st.st_size
    if stat.S_ISLNK(st.st_mode):
        return ("L" if _points_to_dir(entry) else "l"), 0
    return ("f" if stat.S_ISREG(st.st_mode) else "o"), st.st_size


def _points_to_dir(entry: "os.DirEntry[str]") -> bool:
    """Tell a symlink to a directory apart (``os.walk`` lists those as directories)."""
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _two_levels(list_dir: Callable[[str], List[str]]) -> List[str]:
    """List the root and its children here; return the depth-2 directories, one task each."""
    tasks: List[str] = []
    for rel in list_dir(""):
        tasks.extend(list_dir(rel))
    return tasks


# Full scan: a record per entry (list, remove, purge, report) ---------------------------

def _list_into(tree: Tree, where: Any, rel: str) -> List[str]:
    """Record one directory's entries in ``tree`` (as plain tuples); return its subdirs.

    Plain tuples cross from the workers several times faster than named ones; ``scan``
    gives them their ``FileStat``/``DirStat`` shape once, at the end.
    """
    subdirs: List[str] = []
    # plain tuples until scan() shapes them, so the lists are typed loosely here
    files: List[Any] = tree.files
    dirs: List[Any] = tree.dirs
    errors = tree.errors
    prefix = rel + "/" if rel else ""
    try:
        it = os.scandir(where)
    except FileNotFoundError:
        return subdirs
    except OSError as exc:
        errors.append((rel, exc.strerror or str(exc)))
        return subdirs
    with it:
        try:
            for entry in it:  # inline, as in _total_dir: this loop is the whole scan
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # vanished while we looked
                except OSError as exc:
                    errors.append((prefix + entry.name, exc.strerror or str(exc)))
                    continue
                path = prefix + entry.name
                mode = st.st_mode
                if S_ISDIR(mode):
                    dirs.append((path, st.st_blocks * 512, True))
                    subdirs.append(path)
                    continue
                if S_ISREG(mode):
                    kind, size = "f", st.st_size
                else:
                    kind, size = _kind_and_size(entry, st)
                files.append((path, size, st.st_blocks * 512, st.st_atime_ns, st.st_mtime_ns,
                              st.st_nlink, st.st_dev, st.st_ino, kind))
        except OSError as exc:  # the listing itself broke off
            errors.append((rel, exc.strerror or str(exc)))
    return subdirs


def _walk_subtree(args: Tuple[str, str]) -> Tree:
    """Walk ``root/rel`` depth-first; paths in the result are relative to ``root``."""
    root, rel = args
    tree = Tree([], [], [])
    descend(root, rel, lambda where, sub: _list_into(tree, where, sub), tree.errors)
    return tree


def _walk_by_find(jobs: List[Any], processes: int) -> Tuple[List[Any], List[Any]]:
    from . import gnu_find  # only when find is wanted: an import less for most walks

    return gnu_find.walk_subtrees(jobs, processes)


def scan(root: str, parallel: Optional[bool] = None) -> Tree:
    """Walk everything under ``root`` (which must be a directory) without following symlinks."""
    st = os.lstat(root)
    raw = Tree([], [DirStat("", st.st_blocks * 512, True)], [])
    tasks = _two_levels(lambda rel: visit_one(
        root, rel, lambda where, sub: _list_into(raw, where, sub), raw.errors))
    if METER.on:
        METER.add(*figures(raw))
    for sub in fan_out(_walk_subtree, [(root, t) for t in tasks], parallel, _walk_by_find):
        raw.files.extend(sub.files)
        raw.dirs.extend(sub.dirs)
        raw.errors.extend(sub.errors)
    unreadable = {path for path, _ in raw.errors}
    dirs = [DirStat(p, b, p not in unreadable) for p, b, _ in raw.dirs]
    return Tree(list(map(FileStat._make, raw.files)), dirs, raw.errors)


# Totals only: what ``info`` needs -------------------------------------------------------

# classify(top-level name, file name, kind) -> a key to count under, or None to skip; with
# ``scan_totals(..., key_depth=2)`` the "top-level name" is the first two components
# ("packages/<one package>"), so a cache's entries can be counted apart in one walk
Classifier = Callable[[str, str, str], Optional[str]]


class Totals:
    """Per-key file counts and bytes, and ``du -sB1`` blocks, without per-file records.

    Sending a record per file back from the workers costs more than the walk itself.
    """

    def __init__(self) -> None:
        self.counts: Dict[str, List[int]] = {}  # key -> [files, apparent bytes]
        self.shared: Dict[str, List[int]] = {}  # the same, for files with other hard links
        self.blocks = 0  # directories and singly-linked files
        self.count_blocks = True  # False: directories were not stat-ed, blocks are unknown
        self.linked: Dict[Tuple[int, int], int] = {}  # hard-linked (dev, ino) -> blocks
        self.errors: List[Tuple[str, str]] = []
        self.part = ""  # which part of a ``scan_totals_parts`` it belongs to

    @property
    def disk_bytes(self) -> Optional[int]:
        if not self.count_blocks:
            return None
        return self.blocks + sum(self.linked.values())

    def add(self, key: str, files: int, size: int, tally: Optional[Dict[str, List[int]]] = None
            ) -> None:
        tally = self.counts if tally is None else tally
        count = tally.get(key)
        if count is None:
            tally[key] = [files, size]
        else:
            count[0] += files
            count[1] += size

    def merge(self, other: "Totals") -> None:
        for key, (files, size) in other.counts.items():
            self.add(key, files, size)
        for key, (files, size) in other.shared.items():
            self.add(key, files, size, self.shared)
        self.blocks += other.blocks
        self.linked.update(other.linked)
        self.errors.extend(other.errors)


def _total_dir(where: Any, rel: str, classify: Classifier, acc: Totals, key_depth: int = 1
               ) -> List[str]:
    """Fold one directory's entries into ``acc``; return its subdirectories.

    The hot loop of ``info`` and ``report``: it spells out the ``lstat`` loop and
    ``_kind_and_size``, because a helper call per file costs a fifth of the walk.
    """
    top = rel.split("/", 1)[0] if key_depth == 1 else "/".join(rel.split("/")[:key_depth])
    prefix = rel + "/" if rel else ""
    subdirs: List[str] = []
    blocks = 0
    counts, errors, stat_dirs = acc.counts, acc.errors, acc.count_blocks
    try:
        it = os.scandir(where)
    except FileNotFoundError:
        return subdirs
    except OSError as exc:
        errors.append((rel, exc.strerror or str(exc)))
        return subdirs
    with it:
        try:
            for entry in it:
                try:
                    if not stat_dirs and entry.is_dir(follow_symlinks=False):
                        subdirs.append(prefix + entry.name)
                        continue
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # vanished while we looked
                except OSError as exc:
                    errors.append((prefix + entry.name, exc.strerror or str(exc)))
                    continue
                mode = st.st_mode
                if S_ISDIR(mode):
                    blocks += st.st_blocks * 512
                    subdirs.append(prefix + entry.name)
                    continue
                if st.st_nlink > 1:
                    acc.linked[(st.st_dev, st.st_ino)] = st.st_blocks * 512
                else:
                    blocks += st.st_blocks * 512
                if S_ISREG(mode):
                    kind, size = "f", st.st_size
                else:
                    kind, size = _kind_and_size(entry, st)
                key = classify(top, entry.name, kind)
                if key is None:
                    continue
                count = counts.get(key)
                if count is None:
                    counts[key] = [1, size]
                else:
                    count[0] += 1
                    count[1] += size
                if st.st_nlink > 1 and kind == "f":
                    acc.add(key, 1, size, acc.shared)
        except OSError as exc:  # the listing itself broke off
            errors.append((rel, exc.strerror or str(exc)))
    acc.blocks += blocks
    return subdirs


def _total_subtree(args: Tuple[str, str, Classifier, bool, int]) -> Totals:
    root, rel, classify, count_blocks, key_depth = args
    acc = Totals()
    acc.count_blocks = count_blocks
    descend(root, rel, lambda where, sub: _total_dir(where, sub, classify, acc, key_depth),
            acc.errors)
    return acc


def scan_totals(root: str, classify: Classifier, parallel: Optional[bool] = None,
                disk: bool = True, key_depth: int = 1) -> Totals:
    """Like ``scan``, but folding files into ``classify``'s keys as the workers go.

    ``disk=False`` skips what only ``disk_bytes`` needs (a stat of every directory).
    ``key_depth=2`` hands ``classify`` the first two components as its "top" (see
    ``Classifier``).
    """
    return scan_totals_parts(root, [("", classify)], parallel, disk, key_depth)[""]


def scan_totals_parts(root: str, parts: Sequence[Tuple[str, Classifier]],
                      parallel: Optional[bool] = None, disk: bool = True,
                      key_depth: int = 1) -> Dict[str, Totals]:
    """``scan_totals`` of several directories under ``root`` (each ``rel`` with its own
    classifier, keys as that part's tops; ``""`` is ``root`` itself) in one fan-out: one
    pool of workers shares the whole tree, where a pool per part would leave cores idle
    at each part's tail."""
    out: Dict[str, Totals] = {}
    jobs: List[Tuple[str, Tuple[str, str, Classifier, bool, int]]] = []
    for rel, classify in parts:
        path = root + "/" + rel if rel else root
        acc = Totals()
        acc.count_blocks = disk
        acc.blocks = os.lstat(path).st_blocks * 512
        out[rel] = acc

        def list_dir(sub: str, path: str = path, classify: Classifier = classify,
                     acc: Totals = acc) -> List[str]:
            return visit_one(path, sub, lambda where, here: _total_dir(
                where, here, classify, acc, key_depth), acc.errors)

        tasks = _two_levels(list_dir)
        if METER.on:
            METER.add(*figures(acc))
        jobs += [(rel, (path, t, classify, disk, key_depth)) for t in tasks]
    for sub in fan_out(_total_part, jobs, parallel, _total_by_find):
        out[sub.part].merge(sub)
    return out


def _total_by_find(jobs: List[Any], processes: int) -> Tuple[List[Any], List[Any]]:
    from . import gnu_find

    return gnu_find.total_parts(jobs, processes)


def _total_part(job: Tuple[str, Tuple[str, str, Classifier, bool, int]]) -> Totals:
    acc = _total_subtree(job[1])
    acc.part = job[0]
    return acc


def disk_bytes(tree: Tree) -> int:
    """Allocated bytes of everything in the tree, directories included, hard links once.

    This is what ``du -sB1`` prints for the same root.
    """
    total = sum(d.blocks for d in tree.dirs)
    seen = set()
    for f in tree.files:
        if f.nlink > 1:
            key = (f.dev, f.ino)
            if key in seen:
                continue
            seen.add(key)
        total += f.blocks
    return total


def freed_bytes(files: Iterable[FileStat]) -> int:
    """Apparent bytes really freed by removing exactly these paths.

    A hard-linked file frees space only when its last link goes; a symlink frees nothing.
    """
    counts: Dict[Tuple[int, int], int] = {}
    chosen = [f for f in files if f.kind in ("f", "o")]
    for f in chosen:
        if f.nlink > 1:
            counts[(f.dev, f.ino)] = counts.get((f.dev, f.ino), 0) + 1
    total = 0
    done = set()
    for f in chosen:
        if f.nlink > 1:
            key = (f.dev, f.ino)
            if key in done or counts[key] < f.nlink:
                continue
            done.add(key)
        total += f.size
    return total


def last_use(f: FileStat, clock: str) -> int:
    """When ``f`` was last used by ``clock`` ("atime": read or written; "mtime": written)."""
    return max(f.atime_ns, f.mtime_ns) if clock == "atime" else f.mtime_ns

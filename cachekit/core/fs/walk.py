"""Walk cache trees fast and honestly: every file as ``lstat`` sees it, or totals.

Standard library only, Python 3.8+: this module is shipped to remote hosts.

Why processes: on a small Linux box one ``os.scandir`` pass already runs at
``du`` speed (the time is kernel path lookups); threads only add GIL hand-offs,
while forked processes (see ``forked``), one depth-2 subtree at a time, walk in parallel.
"""

import os
import stat
import sys
import time
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
from . import forked
from .walker_choice import DECIDE_S, WORTH_DECIDING_S, find_pays, walker_choice

S_ISDIR, S_ISREG = stat.S_ISDIR, stat.S_ISREG

# Subtrees go to a pool of workers only when there are enough of them to share and the
# rest of the walk looks long enough to repay forking (see fan_out).
_MIN_PARALLEL_TASKS = 4
_SAMPLE_S = 0.01
_WORTH_FORKING_S = 0.03
_MAX_WORKERS = 8


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


def _fork_available() -> bool:
    return sys.platform.startswith("linux") and forked.usable_cpus() > 1


# find_walker(jobs, processes) -> (results of the jobs find walked, jobs left for Python)
FindWalker = Callable[[List[Any], int], Tuple[List[Any], List[Any]]]


def _find_available() -> bool:
    from . import gnu_find

    return gnu_find.find_program() is not None


def fan_out(worker: Callable[[Any], Any], jobs: Sequence[Any],
            parallel: Optional[bool], find_walker: Optional[FindWalker] = None) -> List[Any]:
    """Run ``worker`` over ``jobs``: serially for a small tree, else over forked processes,
    or (given ``find_walker``, the same walk by GNU find) over finds when they cost less.

    Forking costs a few milliseconds, more than walking a few hundred files. So jobs
    start serially, in a mixed order (a fair sample of subtree sizes); after
    ``_SAMPLE_S`` of CPU time the rest is shared out only if it looks like more than
    ``_WORTH_FORKING_S`` of work. ``parallel`` forces one way (tests cover both).
    The same sample, split into user and system CPU, chooses the walker (``find_pays``);
    ``CACHEKIT_WALKER`` forces one.
    """
    pending = list(jobs)
    if METER.on:  # progress and Ctrl-C are heard once per subtree, never per file
        worker = _metered(worker)
    mode = walker_choice() if find_walker is not None else "python"
    if find_walker is not None and mode == "find":
        processes = 1 if parallel is False else _processes(len(pending))
        return _by_find(worker, find_walker, pending, processes)
    can_fork = _fork_available()
    if parallel is False or not (can_fork or (mode == "auto" and parallel is None)):
        return [worker(job) for job in pending]
    results: List[Any] = []
    if parallel is None:
        # Listings group subtrees by bucket; their reversed names (hash digits last) mix
        # buckets, so the first jobs are a fair sample of sizes.
        pending.sort(key=lambda job: repr(job)[::-1])
        # CPU time, not wall time: on a busy host the clock runs on while we wait for a
        # core, and a small tree would look big enough to fork for.
        started, before, done = time.process_time(), os.times(), 0
        sample_s, deciding = _SAMPLE_S, mode == "auto"
        while pending:
            elapsed = time.process_time() - started
            if done and elapsed >= sample_s and len(pending) >= _MIN_PARALLEL_TASKS:
                rest = elapsed / done * len(pending)
                if rest > _WORTH_FORKING_S:
                    if not (deciding and sample_s < DECIDE_S and rest > WORTH_DECIDING_S):
                        break
                    sample_s = DECIDE_S  # a long walk: sample enough to choose a walker
            results.append(worker(pending.pop()))
            done += 1
        if pending and find_walker is not None and sample_s == DECIDE_S:
            after = os.times()
            if (find_pays(after.user - before.user, after.system - before.system)
                    and _find_available()):
                return results + _by_find(worker, find_walker, pending,
                                          _processes(len(pending)))
    if not pending:
        return results
    if not can_fork:
        return results + [worker(job) for job in pending]
    return results + forked.run(worker, pending, _processes(len(pending)))


def _processes(jobs: int) -> int:
    if not _fork_available():
        return 1
    return max(1, min(jobs, forked.usable_cpus(), _MAX_WORKERS))


def _by_find(worker: Callable[[Any], Any], find_walker: FindWalker, jobs: List[Any],
             processes: int) -> List[Any]:
    """``jobs`` by ``processes`` finds at once; what find could not walk cleanly (or at
    all: no GNU find here) by ``worker`` over forked processes."""
    results, left = find_walker(jobs, processes)
    if left:
        results += forked.run(worker, left, min(len(left), processes))
    return results


def _metered(worker: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def metered(job: Any) -> Any:
        found = worker(job)
        METER.add(*figures(found))
        return found

    return metered


# Directories are opened relative to their parent's descriptor and their entries stat-ed
# relative to their own (``fstatat``, as du's fts does): the kernel resolves one name, not
# the whole path from the root, for every entry. O_NOFOLLOW: a directory swapped for a
# symlink mid-walk is an error, never followed.
_FIRST_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = _FIRST_DIR_FLAGS | getattr(os, "O_NOFOLLOW", 0)
_BY_DESCRIPTOR = os.scandir in os.supports_fd and os.open in os.supports_dir_fd
# A directory's descriptor stays open while its subdirectories wait on the stack; past
# this many held at once (a hostile, very deep tree) the rest are opened by path.
_MAX_HELD_FDS = 128

# visit(where, rel) lists one directory (``where``: an open descriptor of it, or its path)
# and returns its subdirectories as paths relative to the scanned root
Visit = Callable[[Any, str], List[str]]


def descend(root: str, rel: str, visit: Visit, errors: List[Tuple[str, str]]) -> None:
    """Visit ``root/rel`` and everything below it, depth-first, without following symlinks.

    A directory that vanished is skipped; one that cannot be opened is recorded in
    ``errors`` as ``(rel, reason)``. Only ``root/rel`` itself may be reached through a
    symlink, as the caller named it.
    """
    # (parent: [its descriptor, subdirectories not yet opened] or None, name or path, rel)
    stack: List[Tuple[Optional[List[int]], str, str]] = [
        (None, root + "/" + rel if rel else root, rel)]
    first, held = True, 0
    try:
        while stack:
            parent, name, rel = stack.pop()
            try:
                if parent is not None:
                    try:
                        fd = os.open(name, _DIR_FLAGS, dir_fd=parent[0])
                    finally:
                        parent[1] -= 1
                        if not parent[1]:
                            os.close(parent[0])
                            held -= 1
                elif not _BY_DESCRIPTOR:
                    fd = -1
                else:
                    fd = os.open(name, _FIRST_DIR_FLAGS if first else _DIR_FLAGS)
            except FileNotFoundError:
                continue  # vanished while we looked
            except OSError as exc:
                errors.append((rel, exc.strerror or str(exc)))
                continue
            finally:
                first = False
            if fd < 0:  # no descriptor-relative calls on this platform: by path
                subdirs = visit(name, rel)
                stack.extend((None, root + "/" + sub, sub) for sub in subdirs)
                continue
            try:
                subdirs = visit(fd, rel)
            except BaseException:
                os.close(fd)
                raise
            if not subdirs:
                os.close(fd)
            elif held < _MAX_HELD_FDS:
                holder = [fd, len(subdirs)]
                held += 1
                stack.extend((holder, sub.rsplit("/", 1)[-1], sub) for sub in subdirs)
            else:
                os.close(fd)
                stack.extend((None, root + "/" + sub, sub) for sub in subdirs)
    finally:  # stopped early (Ctrl-C): close what the stack still holds
        for holder in {id(p): p for p, _n, _r in stack if p is not None}.values():
            os.close(holder[0])


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
    tasks = _two_levels(lambda rel: _list_into(raw, root + "/" + rel if rel else root, rel))
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
            return _total_dir(path + "/" + sub if sub else path, sub, classify, acc, key_depth)

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

"""Walk cache trees fast and honestly, and remove entries safely.

Standard library only, Python 3.8+: this module is shipped to remote hosts.

Why a process pool: on a small Linux box one ``os.scandir`` pass already runs at
``du`` speed (the time is kernel path lookups); threads only add GIL hand-offs,
while forked workers, one per depth-2 subtree, walk in parallel.
"""

import contextlib
import errno
import os
import stat
import sys
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

# A subtree is handed to a worker only when there are enough of them to share.
_MIN_PARALLEL_TASKS = 4
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


def _join(parent: str, name: str) -> str:
    return name if not parent else parent + "/" + name


def _walk_subtree(args: Tuple[str, str]) -> Tree:
    """Walk ``root/rel`` depth-first; paths in the result are relative to ``root``."""
    root, rel = args
    tree = Tree([], [], [])
    stack = [rel]
    while stack:
        stack.extend(_list_into(tree, root, stack.pop()))
    return tree


def _points_to_dir(entry: "os.DirEntry[str]") -> bool:
    """Tell a symlink to a directory apart (``os.walk`` lists those as directories)."""
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _fork_available() -> bool:
    return sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1


def scan(root: str, parallel: Optional[bool] = None) -> Tree:
    """Walk everything under ``root`` (which must be a directory) without following symlinks.

    The root and its first level are listed here; each directory two levels down is a task,
    run in a forked pool when there are enough of them.
    """
    st = os.lstat(root)
    tree = Tree([], [DirStat("", st.st_blocks * 512, True)], [])
    first = _list_into(tree, root, "")
    tasks: List[str] = []
    for rel in first:
        tasks.extend(_list_into(tree, root, rel))
    use_pool = parallel if parallel is not None else len(tasks) >= _MIN_PARALLEL_TASKS
    results: Iterable[Tree]
    if use_pool and _fork_available():
        results = _run_pool(root, tasks)
    else:
        results = (_walk_subtree((root, t)) for t in tasks)
    for sub in results:
        tree.files.extend(sub.files)
        tree.dirs.extend(sub.dirs)
        tree.errors.extend(sub.errors)
    if tree.errors:
        unreadable = {path for path, _ in tree.errors}
        tree.dirs[:] = [d._replace(readable=False) if d.path in unreadable else d
                        for d in tree.dirs]
    return tree


def _list_into(tree: Tree, root: str, rel: str) -> List[str]:
    """List one directory into ``tree``; return its subdirectories."""
    shallow = _list_one(root, rel)
    tree.files.extend(shallow.files)
    tree.errors.extend(shallow.errors)
    tree.dirs.extend(shallow.dirs)
    return [d.path for d in shallow.dirs]


def _list_one(root: str, rel: str) -> Tree:
    """List one directory (not recursively): its files and its subdirectories."""
    files: List[FileStat] = []
    dirs: List[DirStat] = []
    errors: List[Tuple[str, str]] = []
    try:
        it = os.scandir(os.path.join(root, rel) if rel else root)
    except FileNotFoundError:
        return Tree(files, dirs, errors)
    except OSError as exc:
        return Tree(files, dirs, [(rel, exc.strerror or str(exc))])
    with it:
        try:
            for entry in it:
                _classify(entry, _join(rel, entry.name), files, dirs, errors)
        except OSError as exc:  # the listing itself broke off (e.g. the directory vanished)
            errors.append((rel, exc.strerror or str(exc)))
    return Tree(files, dirs, errors)


def _classify(entry: "os.DirEntry[str]", path: str, files: List[FileStat],
              dirs: List[DirStat], errors: List[Tuple[str, str]]) -> None:
    try:
        st = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        return  # vanished while we looked
    except OSError as exc:
        errors.append((path, exc.strerror or str(exc)))
        return
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        dirs.append(DirStat(path, st.st_blocks * 512, True))
        return
    if stat.S_ISLNK(mode):
        kind, size = ("L" if _points_to_dir(entry) else "l"), 0
    else:
        kind, size = ("f" if stat.S_ISREG(mode) else "o"), st.st_size
    files.append(FileStat(path, size, st.st_blocks * 512, st.st_atime_ns, st.st_mtime_ns,
                          st.st_nlink, st.st_dev, st.st_ino, kind))


def _run_pool(root: str, tasks: Sequence[str]) -> List[Tree]:
    import multiprocessing

    workers = min(len(tasks), os.cpu_count() or 1, _MAX_WORKERS)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        # chunksize=1: subtrees differ wildly in size, bigger chunks starve a worker.
        return list(pool.imap_unordered(_walk_subtree, [(root, t) for t in tasks], chunksize=1))


class Totals(NamedTuple):
    """Per-key file counts and bytes, without per-file records: what ``info`` needs.

    Sending a record per file back from the workers costs more than the walk itself.
    """

    counts: Dict[str, List[int]]  # key -> [files, apparent bytes]
    blocks: int  # allocated bytes of directories and singly-linked files
    linked: List[Tuple[int, int, int]]  # (dev, ino, blocks) of hard-linked files
    errors: List[Tuple[str, str]]


# Blocks are summed under this key while walking (Totals is a tuple, its dict is mutable).
_BLOCKS = "\0blocks"

# classify(top-level name, file name, kind) -> a key to count under, or None to skip
Classifier = Callable[[str, str, str], Optional[str]]


def _total_dir(root: str, rel: str, classify: Classifier, acc: Totals) -> List[str]:
    """Fold one directory's entries into ``acc``; return its subdirectories."""
    top = rel.split("/", 1)[0]
    subdirs: List[str] = []
    try:
        it = os.scandir(os.path.join(root, rel) if rel else root)
    except FileNotFoundError:
        return subdirs
    except OSError as exc:
        acc.errors.append((rel, exc.strerror or str(exc)))
        return subdirs
    with it:
        try:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    acc.errors.append((_join(rel, entry.name), exc.strerror or str(exc)))
                    continue
                mode = st.st_mode
                if stat.S_ISDIR(mode):
                    acc.counts.setdefault(_BLOCKS, [0, 0])[1] += st.st_blocks * 512
                    subdirs.append(_join(rel, entry.name))
                    continue
                if st.st_nlink > 1:
                    acc.linked.append((st.st_dev, st.st_ino, st.st_blocks * 512))
                else:
                    acc.counts.setdefault(_BLOCKS, [0, 0])[1] += st.st_blocks * 512
                if stat.S_ISLNK(mode):
                    kind, size = ("L" if _points_to_dir(entry) else "l"), 0
                else:
                    kind, size = ("f" if stat.S_ISREG(mode) else "o"), st.st_size
                key = classify(top, entry.name, kind)
                if key is not None:
                    c = acc.counts.setdefault(key, [0, 0])
                    c[0] += 1
                    c[1] += size
        except OSError as exc:
            acc.errors.append((rel, exc.strerror or str(exc)))
    return subdirs


def _total_subtree(args: Tuple[str, str, Classifier]) -> Totals:
    root, rel, classify = args
    acc = Totals({}, 0, [], [])
    stack = [rel]
    while stack:
        stack.extend(_total_dir(root, stack.pop(), classify, acc))
    return acc


def scan_totals(root: str, classify: Classifier, parallel: Optional[bool] = None) -> Totals:
    """Like ``scan`` but folding files into per-key totals (and ``du -sB1`` blocks)."""
    st = os.lstat(root)
    acc = Totals({_BLOCKS: [0, st.st_blocks * 512]}, 0, [], [])
    tasks: List[str] = []
    for rel in _total_dir(root, "", classify, acc):
        tasks.extend(_total_dir(root, rel, classify, acc))
    use_pool = parallel if parallel is not None else len(tasks) >= _MIN_PARALLEL_TASKS
    jobs = [(root, t, classify) for t in tasks]
    results: Iterable[Totals]
    if use_pool and _fork_available():
        import multiprocessing

        workers = min(len(tasks), os.cpu_count() or 1, _MAX_WORKERS)
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = list(pool.imap_unordered(_total_subtree, jobs, chunksize=1))
    else:
        results = (_total_subtree(job) for job in jobs)
    for sub in results:
        for key, (n, size) in sub.counts.items():
            c = acc.counts.setdefault(key, [0, 0])
            c[0] += n
            c[1] += size
        acc.linked.extend(sub.linked)
        acc.errors.extend(sub.errors)
    seen = {}
    for dev, ino, blocks in acc.linked:
        seen[(dev, ino)] = blocks
    blocks = acc.counts.pop(_BLOCKS)[1] + sum(seen.values())
    return Totals(acc.counts, blocks, acc.linked, acc.errors)


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


class Removal(NamedTuple):
    path: str  # relative to the root
    ok: bool
    reason: str  # "" when removed; otherwise why it was left
    stat: Optional[FileStat] = None  # the entry as it was just before it was removed


class RootError(Exception):
    """The root to remove from is not the directory that was scanned."""


def _split_rel(rel: str) -> List[str]:
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"unsafe relative path: {rel!r}")
    return parts


class SafeRemover:
    """Remove files and empty directories strictly inside one root.

    Every path is reached from an open descriptor of the root, one component at a time
    with ``O_NOFOLLOW``, so a symlink swapped in anywhere along the way stops the removal
    instead of redirecting it. Directories are only ``rmdir``-ed: one that gained a file
    since it was planned stays. Entries that vanished are counted as gone, not as errors.
    """

    def __init__(self, root: str, expect: Optional[Tuple[int, int]] = None) -> None:
        flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
        self._root_fd = os.open(root, flags)
        st = os.fstat(self._root_fd)
        if expect is not None and (st.st_dev, st.st_ino) != tuple(expect):
            os.close(self._root_fd)
            raise RootError(f"{root} is not the directory that was planned (it was replaced)")
        self._cache: Dict[str, int] = {"": self._root_fd}

    def close(self) -> None:
        for fd in self._cache.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._cache = {}

    def __enter__(self) -> "SafeRemover":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _dir_fd(self, parts: Sequence[str]) -> int:
        """Open (and remember) the directory ``parts`` below the root, never via a symlink."""
        key = "/".join(parts)
        fd = self._cache.get(key)
        if fd is not None:
            return fd
        parent = self._dir_fd(parts[:-1])
        flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(parts[-1], flags, dir_fd=parent)
        if len(self._cache) > 64:
            self._drop_unrelated(key)
        self._cache[key] = fd
        return fd

    def _drop_unrelated(self, keep: str) -> None:
        for key in list(self._cache):
            if key and not keep.startswith(key + "/") and key != keep:
                os.close(self._cache.pop(key))

    def _forget(self, rel: str) -> None:
        fd = self._cache.pop(rel, None)
        if fd is not None:
            os.close(fd)

    def unlink(self, rel: str, expect: Optional[Tuple[int, int]] = None) -> Removal:
        """Remove one non-directory; with ``expect`` (inode, mtime_ns) only if unchanged."""
        parts = _split_rel(rel)
        try:
            fd = self._dir_fd(parts[:-1])
            st = os.lstat(parts[-1], dir_fd=fd)
            if stat.S_ISDIR(st.st_mode):
                return Removal(rel, False, "is now a directory")
            if expect is not None and (st.st_ino, st.st_mtime_ns) != tuple(expect):
                return Removal(rel, False, "changed since the plan; kept")
            os.unlink(parts[-1], dir_fd=fd)
        except FileNotFoundError:
            return Removal(rel, True, "already gone")
        except OSError as exc:
            return Removal(rel, False, _why(exc))
        is_link = stat.S_ISLNK(st.st_mode)
        kind = "l" if is_link else ("f" if stat.S_ISREG(st.st_mode) else "o")
        return Removal(rel, True, "", FileStat(
            rel, 0 if is_link else st.st_size, st.st_blocks * 512, st.st_atime_ns,
            st.st_mtime_ns, st.st_nlink, st.st_dev, st.st_ino, kind))

    def rmdir(self, rel: str) -> Removal:
        parts = _split_rel(rel)
        self._forget(rel)
        for key in [k for k in self._cache if k.startswith(rel + "/")]:
            self._forget(key)
        try:
            fd = self._dir_fd(parts[:-1])
            st = os.lstat(parts[-1], dir_fd=fd)
            if not stat.S_ISDIR(st.st_mode):
                return Removal(rel, False, "is no longer a directory")
            os.rmdir(parts[-1], dir_fd=fd)
        except FileNotFoundError:
            return Removal(rel, True, "already gone")
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                return Removal(rel, False, "not empty: something was added after the plan")
            return Removal(rel, False, _why(exc))
        return Removal(rel, True, "")


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP or exc.errno == errno.ENOTDIR:
        return "a symlink or file now stands in the path; not followed"
    return exc.strerror or str(exc)


def lstat_or_none(path: str) -> Optional[os.stat_result]:
    try:
        return os.lstat(path)
    except OSError:
        return None

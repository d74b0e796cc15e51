"""Figures of one directory of a cache, walked whole: sizes, what removing it frees, last use.

Used where a cache's entries are directories (a conda package, a runner tool install).
``freed`` is honest about hard links: a file counts only when every link to it lies
inside the walked directory. Symlinked directories are never entered; with
``os_walk_files`` they are not counted either, as ``os.walk`` lists them among the
directories (conda sums the files of ``os.walk``).
"""

import contextlib
import os
import stat
from typing import Dict, Iterator, List, NamedTuple, Tuple

_LINKED_SAMPLE = 3
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


class Marked(NamedTuple):
    """A file whose name has one of the suffixes the caller asked to be noted."""

    rel: str
    size: int
    nlink: int
    ino: int
    mtime_ns: int


class Stats(NamedTuple):
    """What a walk of one directory found."""

    rel: str
    files: int
    bytes: int  # lstat sizes of every non-directory
    freed: int  # regular files whose every link is inside the walked directory
    linked: List[Tuple[str, int]]  # (rel, nlink) of files with other hard links, a few
    linked_count: int
    marked: List[Marked]  # files named with the asked suffixes
    errors: List[Tuple[str, str]]
    last_atime_ns: int = 0  # the latest use of a payload file (outside the ``meta``
    last_mtime_ns: int = 0  # directory); of any file when there is no payload


# (root, rel, meta, suffixes, os_walk_files): ``meta`` names a subdirectory whose files
# do not count as use unless nothing else is there (conda reads a package's ``info/`` on
# every run); files ending in ``suffixes`` are listed in ``marked``; ``os_walk_files``
# leaves out symlinks to directories, as ``os.walk``'s file lists do. One tuple, for
# ``walk.fan_out``.
Job = Tuple[str, str, str, Tuple[str, ...], bool]


def walk_dir(job: Job) -> Stats:
    """Walk ``root/rel`` with ``lstat`` only."""
    root, rel, meta, suffixes, os_walk_files = job
    files = size = freed = linked_count = 0
    linked: List[Tuple[str, int]] = []
    marked: List[Marked] = []
    errors: List[Tuple[str, str]] = []
    shared: Dict[Tuple[int, int], List[int]] = {}  # hard-linked file -> [seen, nlink, size]
    last_atime = last_mtime = meta_use = meta_mtime = 0
    meta_dir = rel + "/" + meta if meta else None
    stack = [rel]
    while stack:
        here = stack.pop()
        in_meta = meta_dir is not None and (here == meta_dir
                                            or here.startswith(meta_dir + "/"))
        # Listed through a descriptor of the directory: each entry's lstat is then an
        # fstatat of one name, not a lookup of its whole path again (a third of the time).
        try:
            fd = os.open(root + "/" + here, _DIR_FLAGS)
        except FileNotFoundError:
            continue
        except OSError as exc:  # ELOOP: replaced by a symlink since it was listed
            errors.append((here, exc.strerror or str(exc)))
            continue
        try:
            it = os.scandir(fd)
        except OSError as exc:
            os.close(fd)
            errors.append((here, exc.strerror or str(exc)))
            continue
        with _closing(fd), it:
            try:
                for entry in it:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        errors.append((here + "/" + entry.name, exc.strerror or str(exc)))
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(here + "/" + entry.name)
                        continue
                    if os_walk_files and stat.S_ISLNK(st.st_mode) and links_to_dir(entry):
                        continue
                    files += 1
                    size += st.st_size
                    # a symlink's access time moves whenever a path through it is resolved
                    # (this walk's own is_dir() too): only its modification counts as use
                    atime = st.st_mtime_ns if stat.S_ISLNK(st.st_mode) else st.st_atime_ns
                    if in_meta:
                        meta_use = max(meta_use, atime, st.st_mtime_ns)
                        meta_mtime = max(meta_mtime, st.st_mtime_ns)
                    else:
                        if atime > last_atime:
                            last_atime = atime
                        if st.st_mtime_ns > last_mtime:
                            last_mtime = st.st_mtime_ns
                    if st.st_nlink > 1:
                        linked_count += 1
                        if len(linked) < _LINKED_SAMPLE:
                            linked.append((here + "/" + entry.name, st.st_nlink))
                        if stat.S_ISREG(st.st_mode):
                            seen = shared.setdefault((st.st_dev, st.st_ino),
                                                     [0, st.st_nlink, st.st_size])
                            seen[0] += 1
                    elif stat.S_ISREG(st.st_mode):
                        freed += st.st_size
                    if suffixes and entry.name.endswith(suffixes):
                        marked.append(Marked(here + "/" + entry.name, st.st_size,
                                             st.st_nlink, st.st_ino, st.st_mtime_ns))
            except OSError as exc:
                errors.append((here, exc.strerror or str(exc)))
    # a file whose every link lies inside this directory is freed with it
    freed += sum(size for seen, nlink, size in shared.values() if seen >= nlink)
    if not last_atime and not last_mtime:  # only the meta directory to go by
        last_atime, last_mtime = meta_use, meta_mtime
    return Stats(rel, files, size, freed, linked, linked_count, marked, errors,
                 max(last_atime, last_mtime), last_mtime)


@contextlib.contextmanager
def _closing(fd: int) -> Iterator[None]:
    try:
        yield
    finally:
        os.close(fd)


def links_to_dir(entry: "os.DirEntry[str]") -> bool:
    """A symlink ``os.walk`` lists among the directories (a dangling one is a file)."""
    try:
        return entry.is_dir()
    except OSError:
        return False

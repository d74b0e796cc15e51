"""Remove entries strictly inside one verified root, never through a symlink.

Standard library only, Python 3.8+: shipped to remote hosts.
"""

import contextlib
import errno
import os
import stat
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from .. import RootError, stopping
from .walk import FileStat


class Removal(NamedTuple):
    path: str  # relative to the root
    ok: bool
    reason: str  # "" when removed; otherwise why it was left
    stat: Optional[FileStat] = None  # the entry as it was just before it was removed


def split_rel(rel: str) -> List[str]:
    """The components of a path relative to a root; refuses empty, ``.`` and ``..``."""
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
        self._dev = st.st_dev

    def close(self) -> None:
        for fd in self._cache.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._cache = {}

    def __enter__(self) -> "SafeRemover":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dev(self) -> int:
        return self._dev

    def dir_fd(self, rel: str) -> int:
        """A descriptor of the directory ``rel`` below the root (valid until the next call
        that may open another: keep it only while using it)."""
        return self._dir_fd(split_rel(rel) if rel else [])

    def _dir_fd(self, parts: Sequence[str]) -> int:
        """Open (and remember) the directory ``parts`` below the root, never via a symlink."""
        key = "/".join(parts)
        fd = self._cache.get(key)
        if fd is not None:
            return fd
        parent = self._dir_fd(parts[:-1])
        flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(parts[-1], flags, dir_fd=parent)
        if os.fstat(fd).st_dev != self._dev:  # a mount point inside the root: not crossed
            os.close(fd)
            raise OSError(errno.EXDEV, "another file system; not crossed", "/".join(parts))
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

    def unlink(self, rel: str, expect: Optional[Tuple[int, int]] = None,
               midway: bool = False) -> Removal:
        """Remove one non-directory; with ``expect`` (inode, mtime_ns) only if unchanged.

        ``midway``: a later file of an entry already being removed, which Ctrl-C lets
        finish (an entry goes whole or not at all)."""
        parts = split_rel(rel)
        if stopping.requested() and not midway:
            return Removal(rel, False, stopping.INTERRUPTED)
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
        if stopping.requested():  # its files stay: no warning that it is not empty
            return Removal(rel, False, "")
        return self._rmdir(rel)

    def _rmdir(self, rel: str) -> Removal:
        parts = split_rel(rel)
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


    def remove_tree(self, rel: str) -> Tuple[List[FileStat], List[Tuple[str, str]]]:
        """Remove the directory ``rel`` and everything in it, depth first.

        Returns the files removed (for ``freed_bytes``) and the paths that could not be.
        Nothing is followed: a symlink inside is unlinked as a file.
        """
        removed: List[FileStat] = []
        problems: List[Tuple[str, str]] = []
        parts = split_rel(rel)
        if stopping.requested():  # an entry goes whole or not at all
            return removed, [(rel, stopping.INTERRUPTED)]
        try:
            st = os.lstat(parts[-1], dir_fd=self._dir_fd(parts[:-1]))
        except FileNotFoundError:
            return removed, problems
        except OSError as exc:
            return removed, [(rel, _why(exc))]
        if not stat.S_ISDIR(st.st_mode) or st.st_dev != self._dev:
            return removed, [(rel, "no longer a directory of this file system; not crossed")]
        self._clear(parts, removed, problems)
        outcome = self._rmdir(rel)
        if not outcome.ok:
            problems.append((rel, outcome.reason))
        return removed, problems

    def remove_contents(self) -> Tuple[List[FileStat], List[Tuple[str, str]]]:
        """Empty the root itself (the caller removes the root, from its parent)."""
        removed: List[FileStat] = []
        problems: List[Tuple[str, str]] = []
        if stopping.requested():
            return removed, [("", stopping.INTERRUPTED)]
        self._clear([], removed, problems)
        return removed, problems

    def _clear(self, parts: List[str], removed: List[FileStat],
               problems: List[Tuple[str, str]]) -> None:
        rel = "/".join(parts)
        try:
            fd = self._dir_fd(parts)
            with os.scandir(fd) as it:
                names = [entry.name for entry in it]
        except FileNotFoundError:
            return
        except OSError as exc:
            problems.append((rel, _why(exc)))
            return
        for name in names:
            sub = _join(rel, name)
            try:
                st = os.lstat(name, dir_fd=fd)
                if stat.S_ISDIR(st.st_mode):
                    if st.st_dev != self._dev:
                        problems.append((sub, "another file system is mounted here; "
                                              "not crossed"))
                        continue
                    self._clear(parts + [name], removed, problems)
                    outcome = self._rmdir(sub)
                    if not outcome.ok:
                        problems.append((sub, outcome.reason))
                    continue
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                continue
            except OSError as exc:
                problems.append((sub, _why(exc)))
                continue
            is_link = stat.S_ISLNK(st.st_mode)
            removed.append(FileStat(
                sub, 0 if is_link else st.st_size, st.st_blocks * 512, st.st_atime_ns,
                st.st_mtime_ns, st.st_nlink, st.st_dev, st.st_ino,
                "l" if is_link else ("f" if stat.S_ISREG(st.st_mode) else "o")))


def _join(parent: str, name: str) -> str:
    return name if not parent else parent + "/" + name


def why(exc: OSError) -> str:
    """Why a removal failed, in words; a symlink in the way is named as such."""
    return _why(exc)


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP or exc.errno == errno.ENOTDIR:
        return "a symlink or file now stands in the path; not followed"
    return exc.strerror or str(exc)

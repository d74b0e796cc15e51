"""Another process's advisory lock on a cache (uv's ``.lock``, rattler's ``.cache.lock``,
PDM's per-package ``.lock``): is it free, or hold it.

cachekit often runs as root in a cache a user owns, so the lock file is never reached
through a symlink, never anything but a regular file (a FIFO or device is not opened),
and when cachekit has to create it, it belongs to the cache directory's owner: the
user's tool must still be able to open it for writing afterwards.

Standard library only, Python 3.8+: shipped to remote hosts.
"""

import contextlib
import errno
import os
import stat
from typing import Iterator, Optional


class Busy(Exception):
    """Another process holds the lock."""


class NotAFile(OSError):
    """The lock path is a symlink, a directory or anything but a regular file: never
    opened, never created through."""


def is_free(path: str) -> bool:
    """Could the exclusive lock on ``path`` be had right now? A missing file is free (and
    is not created); False if it cannot be opened or is not a regular file."""
    try:
        with exclusive(path, create=False):
            return True
    except (Busy, OSError):
        return False


@contextlib.contextmanager
def held_or_refused(path: str, busy: str) -> Iterator[None]:
    """``exclusive(path)`` for a move or a purge that must not run beside the tool, or
    ``Refused``: ``busy`` when another process holds the lock, the path and the reason
    when it cannot be locked at all."""
    from .. import Refused

    with contextlib.ExitStack() as held:
        try:
            held.enter_context(exclusive(path))
        except Busy:
            raise Refused(busy) from None
        except OSError as exc:
            raise Refused(f"{path}: cannot be locked: {exc.strerror}") from None
        yield


@contextlib.contextmanager
def exclusive(path: str, create: bool = True, dir_fd: Optional[int] = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` without waiting.

    ``dir_fd``: ``path`` is a name in that open directory (the caller's safe handle).
    A missing file is created when ``create`` (owned as its directory), otherwise there is
    nothing to hold and the body runs. Raises ``Busy`` when another process holds it,
    ``NotAFile`` when it is not a regular file; other ``OSError``s opening it propagate.
    """
    import fcntl

    if dir_fd is None:
        parent, name = os.path.split(path)
        own = os.open(parent or ".", os.O_RDONLY | os.O_DIRECTORY)
        try:
            with exclusive(name, create, own):
                yield
        finally:
            os.close(own)
        return
    fd = _open(path, create, dir_fd)
    if fd is None:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise Busy(path) from None
        yield
    finally:
        os.close(fd)


def _open(name: str, create: bool, dir_fd: int) -> Optional[int]:
    """The lock file opened for writing, never through a link; ``None`` when it is
    missing and not to be created."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        if not create:
            return None
        return _create(name, flags, dir_fd)
    _refuse_unless_file(name, st)
    fd = os.open(name, flags, dir_fd=dir_fd)
    try:
        opened = os.fstat(fd)
        _refuse_unless_file(name, opened)
        if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
            raise NotAFile(errno.ESTALE, "replaced while being opened", name)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _create(name: str, flags: int, dir_fd: int) -> int:
    """Create the lock file (``O_EXCL``: never through a link planted meanwhile), owned
    by the directory's owner, as the tool would have made it."""
    fd = os.open(name, flags | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=dir_fd)
    try:
        here, made = os.fstat(dir_fd), os.fstat(fd)
        if made.st_uid != here.st_uid:
            try:
                os.fchown(fd, here.st_uid, here.st_gid)
            except PermissionError:  # not root: ours would lock its owner out; none then
                os.unlink(name, dir_fd=dir_fd)
                raise PermissionError(
                    errno.EPERM, f"would be created owned by uid {made.st_uid}, not by the "
                    f"directory's owner (uid {here.st_uid})", name) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _refuse_unless_file(name: str, st: os.stat_result) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else \
        "a directory" if stat.S_ISDIR(st.st_mode) else "a special file"
    raise NotAFile(errno.EINVAL, f"{what}, not a regular file", name)

"""Read a file that another user or host controls without hanging, touching a device or
flooding memory.

A root run reads files other users own: ``~/.conda/environments.txt``, the
``conda-meta/*.json`` records of their environments, ``.condarc``. Any of them can be a
FIFO (``open`` waits for a writer forever), a device (opening some has side effects), a
symbolic link to either, or a 1 GiB sparse file (free to make, costly to read). So every
such file is read here:

- only a regular file is opened: the path is checked with ``lstat`` first, opened with
  ``O_NONBLOCK | O_NOFOLLOW`` (a FIFO swapped in after the check cannot block, a symlink
  swapped in is not followed), and ``fstat`` must show the very file that was checked;
- at most ``cap`` bytes are read: a larger file is refused before any of it is read, and
  one that grows while being read is refused when it passes the cap.

Both refusals are ``OSError`` subclasses with a ``strerror`` that says what was wrong, so
a caller's ``except OSError`` turns them into its usual one-line warning naming the file.
``follow_symlinks=True`` (the default) reads the file a symlink resolves to, since users
keep dotfiles as links; the target is held to the same rules.
"""

import errno
import os
import stat
from typing import Optional

MiB = 1 << 20
# The caps: far above any real file of the kind, far below what would hurt a host.
RECORD_CAP = 16 * MiB  # one conda-meta/*.json record (the largest real ones are a few MiB)
CONFIG_CAP = 1 * MiB  # .condarc, pip.conf, uv.toml, a shell start-up file
LIST_CAP = 1 * MiB  # ~/.conda/environments.txt (one path a line)
INVENTORY_CAP = 64 * MiB  # one inventory, group_vars or host_vars file (controller)
HISTORY_CAP = 64 * MiB  # the run history ``trend`` reads (controller)

_CHUNK = 1 * MiB
_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"),
)


class NotRegularFile(OSError):
    """The path is a FIFO, a device, a socket or a symlink: not read (a directory is
    refused with ``IsADirectoryError``, as ``open`` refuses it)."""


class TooLarge(OSError):
    """The file holds more than the cap: not read (or not read further)."""


def describe(size: int) -> str:
    """``16 MiB``, ``512 KiB``, ``300 bytes``: caps and sizes in messages."""
    for unit, name in ((1 << 30, "GiB"), (MiB, "MiB"), (1 << 10, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str, follow_symlinks: bool = True) -> int:
    """A read-only descriptor of the regular file at ``path``; nothing else is opened."""
    # Resolved only when the file itself is a link: ``realpath`` costs an ``lstat`` of
    # every component, and a reader of every conda-meta record pays it for each of them.
    # Linked directories above the file are followed by the kernel either way.
    real = path
    before = os.lstat(path)
    if follow_symlinks and stat.S_ISLNK(before.st_mode):
        real = os.path.realpath(path)
        before = os.lstat(real)
    if stat.S_ISDIR(before.st_mode):  # what open() says of one: callers know it already
        raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
    if not stat.S_ISREG(before.st_mode):
        what = _kind(before.st_mode)
        raise NotRegularFile(errno.EINVAL, f"not a regular file ({what})", path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(
        os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(real, flags)
    try:
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (
                before.st_dev, before.st_ino):
            raise NotRegularFile(errno.EINVAL, "replaced while being opened: not read", path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: str, cap: int, follow_symlinks: bool = True) -> bytes:
    """The whole content of a regular file of at most ``cap`` bytes."""
    fd = open_regular(path, follow_symlinks)
    try:
        size = os.fstat(fd).st_size
        if size > cap:
            raise _too_large(path, cap, size)
        chunks = []
        total = 0
        want = size + 1  # usually one read: the whole file, and one byte more to see its end
        while True:
            chunk = os.read(fd, want)
            if not chunk:
                break
            total += len(chunk)
            if total > cap:  # it grew while being read, or its size said nothing (/proc)
                raise _too_large(path, cap, None)
            chunks.append(chunk)
            want = min(_CHUNK, cap + 1 - total)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str, cap: int, encoding: str = "utf-8", errors: str = "strict",
              follow_symlinks: bool = True) -> str:
    """``read_bytes`` decoded; a decoding error is the caller's (``UnicodeDecodeError``)."""
    return read_bytes(path, cap, follow_symlinks).decode(encoding, errors)


def _too_large(path: str, cap: int, size: Optional[int]) -> TooLarge:
    found = f"{describe(size)}, " if size is not None else ""
    return TooLarge(errno.EFBIG, f"too large ({found}more than the {describe(cap)} cap)", path)

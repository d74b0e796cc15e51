"""Another process's advisory lock on a cache (uv's ``.lock``): is it free, or hold it.

Standard library only, Python 3.8+: shipped to remote hosts.
"""

import contextlib
import os
from typing import Iterator


class Busy(Exception):
    """Another process holds the lock."""


def is_free(path: str) -> bool:
    """Could the exclusive lock on ``path`` be had right now? False if it cannot be opened."""
    try:
        with exclusive(path):
            return True
    except (Busy, OSError):
        return False


@contextlib.contextmanager
def exclusive(path: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) without waiting.

    Raises ``Busy`` when another process holds it; an ``OSError`` opening the file
    propagates.
    """
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise Busy(path) from None
        yield
    finally:
        os.close(fd)

"""Visit every directory of a tree once, each opened relative to its parent's descriptor.

Standard library only, Python 3.8+: this module is shipped to remote hosts.
"""

import os
from typing import Any, Callable, List, Optional, Tuple

# Directories are opened relative to their parent's descriptor and their entries stat-ed
# relative to their own (``fstatat``, as du's fts does): the kernel resolves one name, not
# the whole path from the root, for every entry. O_NOFOLLOW on every name below the root:
# a directory swapped for a symlink mid-walk is an error, never followed.
_FIRST_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = _FIRST_DIR_FLAGS | getattr(os, "O_NOFOLLOW", 0)
_BY_DESCRIPTOR = os.scandir in os.supports_fd and os.open in os.supports_dir_fd
# A directory's descriptor stays open while its subdirectories wait on the stack; past
# this many held at once (a hostile, very deep tree) the rest are reached again from the
# root, a name at a time.
_MAX_HELD_FDS = 128

# visit(where, rel) lists one directory (``where``: an open descriptor of it, or its path)
# and returns its subdirectories as paths relative to the scanned root
Visit = Callable[[Any, str], List[str]]


def open_below(root_fd: int, rel: str) -> int:
    """A descriptor of the directory ``rel`` below the open ``root_fd``, each of its names
    opened with O_NOFOLLOW (a symlink anywhere on the way is an error, ELOOP)."""
    if not rel:
        return os.dup(root_fd)
    fd = root_fd
    try:
        for name in rel.split("/"):
            below = os.open(name, _DIR_FLAGS, dir_fd=fd)
            if fd != root_fd:
                os.close(fd)
            fd = below
    except BaseException:
        if fd != root_fd:
            os.close(fd)
        raise
    return fd


def visit_one(root: str, rel: str, visit: Visit, errors: List[Tuple[str, str]]) -> List[str]:
    """``visit`` of the one directory ``root/rel``, reached as ``descend`` reaches it; its
    subdirectories (none when it vanished or could not be opened: then in ``errors``)."""
    if not _BY_DESCRIPTOR:
        return visit(root + "/" + rel if rel else root, rel)
    try:
        root_fd = os.open(root, _FIRST_DIR_FLAGS)
        try:
            fd = open_below(root_fd, rel)
        finally:
            os.close(root_fd)
    except FileNotFoundError:
        return []
    except OSError as exc:
        errors.append((rel, exc.strerror or str(exc)))
        return []
    try:
        return visit(fd, rel)
    finally:
        os.close(fd)


def descend(root: str, rel: str, visit: Visit, errors: List[Tuple[str, str]]) -> None:
    """Visit ``root/rel`` and everything below it, depth-first, without following symlinks.

    A directory that vanished is skipped; one that cannot be opened is recorded in
    ``errors`` as ``(rel, reason)``. Only ``root`` itself may be reached through a
    symlink, as the caller named it; every name of ``rel`` and below is opened with
    O_NOFOLLOW.
    """
    if not _BY_DESCRIPTOR:  # no descriptor-relative calls on this platform: by path
        _descend_by_path(root, rel, visit)
        return
    try:
        root_fd = os.open(root, _FIRST_DIR_FLAGS)
    except FileNotFoundError:
        return
    except OSError as exc:
        errors.append((rel, exc.strerror or str(exc)))
        return
    # (parent: [its descriptor, subdirectories not yet opened] or None: from the root,
    # the name in it, rel)
    stack: List[Tuple[Optional[List[int]], str, str]] = [(None, rel, rel)]
    held = 0
    try:
        while stack:
            parent, name, rel = stack.pop()
            try:
                if parent is None:
                    fd = open_below(root_fd, rel)
                else:
                    try:
                        fd = os.open(name, _DIR_FLAGS, dir_fd=parent[0])
                    finally:
                        parent[1] -= 1
                        if not parent[1]:
                            os.close(parent[0])
                            held -= 1
            except FileNotFoundError:
                continue  # vanished while we looked
            except OSError as exc:
                errors.append((rel, exc.strerror or str(exc)))
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
                stack.extend((None, sub, sub) for sub in subdirs)
    finally:  # stopped early (Ctrl-C): close what the stack still holds
        for holder in {id(p): p for p, _n, _r in stack if p is not None}.values():
            os.close(holder[0])
        os.close(root_fd)


def _descend_by_path(root: str, rel: str, visit: Visit) -> None:
    stack = [rel]
    while stack:
        rel = stack.pop()
        stack.extend(visit(root + "/" + rel if rel else root, rel))

"""``relocate``'s shared parts: checking the target, the atomic write, the move.
``ops/relocate`` serves it; each manager's ``settings`` says which file and how to edit it
(pip: ``managers/pip/settings``, conda: ``managers/conda/settings``, uv:
``managers/uv/settings``).

Files are edited as text, so comments and everything else stay as they were, and written
whole to a temporary file that is then renamed over the old one: never half written.
A move renames within one file system; across file systems it copies (hard links among
the moved files kept), checks the copy, and only then removes the original.
"""

import hashlib
import os
import shutil
import stat
import tempfile
from typing import Any, Dict, List, Optional, Tuple

from .. import Refused
from . import remove, walk

# Writing the file ----------------------------------------------------------------------

def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory.

    A config file that is a symlink (dotfiles kept in a repository) is written through:
    the link stays a link.
    """
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o644
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# Checking the target --------------------------------------------------------------------

def _nearest_existing(path: str) -> str:
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def check_target(target: str, current: Optional[str], move: bool) -> None:
    """Refuse a target that cannot hold the cache, before anything is written."""
    if os.path.exists(target) and not os.path.isdir(target):
        raise Refused(f"--to {target}: exists and is not a directory")
    base = _nearest_existing(target)
    if not os.path.isdir(base):
        raise Refused(f"--to {target}: {base} is not a directory, so it cannot be created")
    if os.statvfs(base).f_flag & getattr(os, "ST_RDONLY", 1):
        raise Refused(f"--to {target}: {base} is on a read-only file system")
    if not os.access(base, os.W_OK):
        raise Refused(f"--to {target}: {base} is not writable")
    if current:
        here = os.path.realpath(current)
        there = os.path.realpath(target)
        if there == here:
            raise Refused(f"--to {target}: that is where the cache is already")
        if there.startswith(here.rstrip("/") + "/"):
            raise Refused(f"--to {target}: inside the current cache {current}")
        if here.startswith(there.rstrip("/") + "/") and move:
            raise Refused(f"--to {target}: the current cache {current} is inside it")
    if move and os.path.isdir(target) and os.listdir(target):
        raise Refused(f"--to {target}: not empty; --move needs an empty or new directory")


# Moving ----------------------------------------------------------------------------------

def _same_fs(a: str, b: str) -> bool:
    return os.stat(a).st_dev == os.stat(_nearest_existing(b)).st_dev


def move_plan(source: str, target: str) -> Dict[str, Any]:
    tree = walk.scan(source)
    if tree.errors:
        raise Refused(f"{source} could not be read fully ({tree.errors[0][0]}: "
                      f"{tree.errors[0][1]}); nothing moved")
    return {"source": source, "target": target, "files": len(tree.files),
            "bytes": sum(f.size for f in tree.files),
            "how": "rename" if _same_fs(source, target) else "copy, verify, remove"}


def move(source: str, target: str) -> Dict[str, Any]:
    plan = move_plan(source, target)
    if plan["how"] == "rename":
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isdir(target):
            os.rmdir(target)  # empty (checked): rename onto it
        os.rename(source, target)
        return plan
    existed = os.path.isdir(target)
    try:
        copied = _copy_tree(source, target)
        checked = _verify(source, target)
    except BaseException:
        _undo_copy(target, existed)  # the original is untouched: leave no half copy
        raise
    left = _remove_checked(source, checked)
    if left:
        raise Refused(f"copied and verified; {len(left)} path(s) in {source} changed or "
                      f"arrived meanwhile and were kept there, e.g. {left[0]}")
    plan["hard_links_kept"] = copied
    return plan


def _undo_copy(target: str, existed: bool) -> None:
    if not os.path.isdir(target):
        return
    with remove.SafeRemover(target) as remover:
        remover.remove_contents()
    if not existed:
        os.rmdir(target)


def _remove_checked(source: str, checked: List[Tuple[str, int, int]]) -> List[str]:
    """Remove exactly the files the check saw (same inode and mtime), then the directories
    left empty; whatever changed or arrived since stays. Returns what stayed."""
    left: List[str] = []
    with remove.SafeRemover(source) as remover:
        for rel, ino, mtime_ns in checked:
            outcome = remover.unlink(rel, expect=(ino, mtime_ns))
            if not outcome.ok:
                left.append(rel)
        dirs = sorted({os.path.dirname(rel) for rel, _i, _m in checked} |
                      {rel for here, dirs, _f in os.walk(source)
                       for rel in [os.path.relpath(os.path.join(here, d), source) for d in dirs]},
                      key=lambda d: -d.count("/"))
        for rel in dirs:
            if rel and rel != "." and not remover.rmdir(rel).ok:
                left.append(rel + "/")
    try:
        os.rmdir(source)
    except OSError:
        if not left:
            left.append("(the directory itself)")
    return left


def _copy_tree(source: str, target: str) -> int:
    """Copy files, symlinks and directories; a file with several links inside the tree is
    copied once and linked again. Returns how many links were re-made."""
    seen: Dict[Tuple[int, int], str] = {}
    relinked = 0
    os.makedirs(target, exist_ok=True)
    shutil.copystat(source, target)
    for here, dirs, files in os.walk(source):
        rel = os.path.relpath(here, source)
        dest_dir = os.path.join(target, rel) if rel != "." else target
        for d in dirs:
            src = os.path.join(here, d)
            if os.path.islink(src):
                os.symlink(os.readlink(src), os.path.join(dest_dir, d))
            else:
                os.makedirs(os.path.join(dest_dir, d), exist_ok=True)
        for name in files:
            src, dst = os.path.join(here, name), os.path.join(dest_dir, name)
            st = os.lstat(src)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(src), dst)
            elif st.st_nlink > 1 and (st.st_dev, st.st_ino) in seen:
                os.link(seen[(st.st_dev, st.st_ino)], dst)
                relinked += 1
            else:
                shutil.copy2(src, dst, follow_symlinks=False)
                if st.st_nlink > 1:
                    seen[(st.st_dev, st.st_ino)] = dst
    for here, dirs, _files in os.walk(source):
        for d in dirs:
            src = os.path.join(here, d)
            if not os.path.islink(src):
                shutil.copystat(src, os.path.join(target, os.path.relpath(src, source)))
    return relinked


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(source: str, target: str) -> List[Tuple[str, int, int]]:
    """Every file, link and directory is there with the same content, or nothing goes.

    Returns the files checked (path, inode, mtime): only those are removed afterwards.
    """
    checked: List[Tuple[str, int, int]] = []
    for here, dirs, files in os.walk(source):
        for name in dirs + files:
            src = os.path.join(here, name)
            dst = os.path.join(target, os.path.relpath(src, source))
            a = os.lstat(src)
            b = os.lstat(dst) if os.path.lexists(dst) else None
            same = b is not None and stat.S_IFMT(a.st_mode) == stat.S_IFMT(b.st_mode)
            if same and stat.S_ISLNK(a.st_mode):
                same = os.readlink(src) == os.readlink(dst)
            elif b is not None and same and stat.S_ISREG(a.st_mode):
                same = a.st_size == b.st_size and _digest(src) == _digest(dst)
            if not same:
                raise Refused(f"the copy of {src} in {target} differs; the original is kept")
            if not stat.S_ISDIR(a.st_mode):
                checked.append((os.path.relpath(src, source), a.st_ino, a.st_mtime_ns))
    return checked

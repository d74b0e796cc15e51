"""``relocate``'s shared parts (checking the target, the atomic write, the move) and, until
their packages take them (issue 13), conda's and uv's settings. ``ops/relocate`` serves it.

- pip: the user config file (``~/.config/pip/pip.conf``), section ``[global]``, key
  ``cache-dir``, as ``pip config --user set global.cache-dir`` writes it;
- conda: ``pkgs_dirs`` in ``~/.condarc``, the new cache first and the caches in use before
  after it, so packages already there stay usable (``conda config --prepend pkgs_dirs``);
- uv: ``cache-dir`` at the top of the user's ``uv.toml``.

Files are edited as text, so comments and everything else stay as they were, and written
whole to a temporary file that is then renamed over the old one: never half written.
A move renames within one file system; across file systems it copies (hard links among
the moved files kept), checks the copy, and only then removes the original.
"""

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Tuple

from cachekit.core import Refused, conda_location, uv_location
from cachekit.core import conda as condacache
from cachekit.core.fs import lock, remove, walk
from cachekit.core.miniyaml import bracket_depth as miniyaml_depth


def _home(environ: Mapping[str, str]) -> str:
    return environ.get("HOME") or os.path.expanduser("~")


def _xdg_config(environ: Mapping[str, str]) -> str:
    xdg = environ.get("XDG_CONFIG_HOME", "")
    return xdg if xdg.startswith("/") else os.path.join(_home(environ), ".config")


def config_file(manager: str, environ: Mapping[str, str]) -> str:
    if manager == "conda":
        return os.path.join(_home(environ), ".condarc")
    return os.path.join(_xdg_config(environ), "uv", "uv.toml")


def current_cache(manager: str, environ: Mapping[str, str]) -> Tuple[Optional[str], List[str]]:
    """(the cache in effect, for conda every configured cache in order)."""
    if manager == "uv":
        try:
            return uv_location.locate(environ).path, []
        except uv_location.UvConfigError as exc:
            raise Refused(str(exc)) from None
    loc = conda_location.locate(environ)
    if loc.errors:
        raise Refused(loc.errors[0])
    caches = [c.path for c in loc.caches if c.configured]
    first = next((c.path for c in loc.caches if c.configured and c.writable),
                 caches[0] if caches else None)
    return first, caches


def current_source(manager: str, environ: Mapping[str, str], current: str) -> str:
    """What set the cache in effect (``PIP_CACHE_DIR``, ``pkgs_dirs in ~/.condarc``...)."""
    if manager == "uv":
        return uv_location.locate(environ).source
    return next((c.source for c in conda_location.locate(environ).caches
                 if c.path == current), "")


# Editing the files ----------------------------------------------------------------------

def edit_uv(text: str, target: str) -> str:
    """Set the top-level ``cache-dir`` (before any table)."""
    lines = text.splitlines(keepends=True)
    entry = f"cache-dir = {json.dumps(target)}\n"
    depth, multiline = 0, None
    for i, line in enumerate(lines):
        if multiline:  # inside a multi-line string: nothing here is a key or a table
            if multiline in line:
                multiline = None
            continue
        bare = uv_location._strip_comment(line).strip()
        if depth == 0 and bare.startswith("["):
            break  # the first table: the top level is over
        if depth == 0 and re.match(r"[\"']?cache-dir[\"']?\s*=", bare):
            lines[i] = entry
            return "".join(lines)
        for quotes in ('"""', "'''"):
            if bare.count(quotes) % 2:
                multiline = quotes
        depth += miniyaml_depth(bare)
    return entry + text


def edit_conda(text: str, target: str, previous: List[str]) -> str:
    """Put ``target`` first in ``pkgs_dirs``; with no list yet, the caches in use follow."""
    from cachekit.core import miniyaml

    if text and not text.endswith("\n"):
        text += "\n"
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        match = re.match(r"(pkgs_dirs\s*:)(\s*#!final)?\s*(\[.*\])?\s*(#.*)?$",
                         line.rstrip("\n"))
        if not match:
            continue
        if match.group(3):  # a flow list: pkgs_dirs: [a, b]
            listed: List[str] = miniyaml.loads("x: " + match.group(3))["x"] or []
            flow = [target] + [x for x in listed if x != target]
            comment = f"  {match.group(4)}" if match.group(4) else ""
            lines[i] = (f"{match.group(1)}{match.group(2) or ''} "
                        f"[{', '.join(_yaml_str(x) for x in flow)}]{comment}\n")
            return "".join(lines)
        block = i + 1  # the list's own lines: items, blank lines, comments
        while block < len(lines) and (re.match(r"\s*(-\s|-$|#|$)", lines[block]) or (
                lines[block][:1] in " \t" and lines[block].strip())):
            block += 1
        items = lines[i + 1:block]
        first = next((x for x in items if re.match(r"\s*-", x)), "  - x")
        dash = re.match(r"(\s*)-", first)
        indent = dash.group(1) if dash else "  "
        items = [x for x in items if not (re.match(r"\s*-\s", x) and
                 x.split("-", 1)[1].split("#")[0].strip().strip("'\"") == target)]
        lines[i + 1:block] = [f"{indent}- {_yaml_str(target)}\n"] + items
        return "".join(lines)
    return text + "pkgs_dirs:\n" + "".join(f"  - {_yaml_str(p)}\n" for p in
                                          [target] + [p for p in previous if p != target])


def _yaml_str(path: str) -> str:
    return path if re.match(r"^[\w./~-]+$", path) else json.dumps(path)


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


def symlinked_users(cache: str, environ: Mapping[str, str]) -> List[str]:
    """Environments that use packages of a conda cache through symlinks (a move breaks them)."""
    loc = conda_location.locate(environ)
    usage = condacache.read_usage(e.path for e in loc.envs)
    listing = condacache.list_cache(os.path.realpath(cache))
    envs = set()
    for entry in listing.of("package"):
        for reason in usage.reasons(listing.root, entry.rel):
            if reason.endswith("(symlink)") or "link type not recorded" in reason:
                envs.add(reason.split(" (", 1)[0].replace("used by ", ""))
    return sorted(envs)


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


# The request -----------------------------------------------------------------------------

def _would_be(manager: str, environ: Mapping[str, str], path: str, text: str
              ) -> Optional[str]:
    """The cache the manager would use with ``text`` in ``path``, checked before writing."""
    if manager == "conda":
        loc = conda_location.locate(environ, overrides={path: text})
        configured = [c.path for c in loc.caches if c.configured]
        return configured[0] if configured else None
    with tempfile.TemporaryDirectory(prefix="cachekit-relocate-") as scratch:
        sub = "uv/uv.toml"
        os.makedirs(os.path.dirname(os.path.join(scratch, sub)))
        with open(os.path.join(scratch, sub), "w", encoding="utf-8") as fh:
            fh.write(text)
        trial = dict(environ, XDG_CONFIG_HOME=scratch)
        try:
            return uv_location.locate(trial).path
        except uv_location.UvConfigError as exc:
            raise Refused(f"{path}: would not load after the edit ({exc}); nothing changed"
                          ) from None


def _locked_move(manager: str, source: str, target: str) -> Dict[str, Any]:
    """uv holds a lock on its cache: move only when no uv process uses it."""
    if manager != "uv":
        return move(source, target)
    try:
        with lock.exclusive(os.path.join(source, ".lock")):
            return move(source, target)
    except lock.Busy:
        raise Refused(f"the uv cache {source} is in use by a uv process; try later") from None


def _check_parses(manager: str, path: str, text: str) -> None:
    """The edited file must still read as the manager will read it."""
    try:
        if manager == "conda":
            from cachekit.core import miniyaml

            miniyaml.loads(text)
        else:
            try:
                import tomllib  # novermin: 3.11+, guarded
            except ImportError:  # older hosts: our own reader's checks only
                uv_location.cache_dir_setting_text(text, path)
            else:
                tomllib.loads(text)
    except Exception as exc:  # any parse failure: leave the file as it is
        raise Refused(f"{path}: does not parse ({exc}); fix it first, nothing was changed"
                      ) from None

"""What a uv removal's figures count, so that they add up.

uv installs into environments by hard-linking files out of ``archive-v0``: removing the
cache's link frees nothing while an environment holds another. Every removal therefore
says how many packages and paths it takes, their apparent bytes, the bytes really freed,
and the bytes that stay on disk because other hard links hold them, naming the
environments that hold them where they are found.
"""

import os
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from ... import env as userenv
from ...fs import walk
from . import cache as uvcache

Inode = Tuple[int, int]
ENV_FILE_BUDGET = 200000  # files looked at in environments, at most, per plan


def packages_of(lay: uvcache.Layout, tops: Iterable[str]) -> Dict[str, List[str]]:
    """Each top path's packages: those whose entries it holds, is inside, or links to it."""
    chosen = set(tops)
    entry_names = {e: name for name, pkg in lay.packages.items() for e in pkg.entries}
    out: Dict[str, Set[str]] = {t: set() for t in chosen}
    for entry, name in entry_names.items():
        for top in _ancestors(entry, chosen):
            out[top].add(name)
    for top in chosen:
        for entry in _ancestors(top, set(entry_names)):
            out[top].add(entry_names[entry])
    for link, target in lay.links.items():
        found = uvcache.package_of(link)
        if target in chosen and found:
            out[target].add(found[0])
    return {t: sorted(names) for t, names in out.items()}


def _ancestors(path: str, among: Set[str]) -> List[str]:
    """``path`` and the directories above it that are in ``among``."""
    parts = path.split("/")
    return [p for p in ("/".join(parts[:i]) for i in range(len(parts), 0, -1)) if p in among]


def linked_out(files: Iterable[walk.FileStat]) -> Dict[Inode, int]:
    """Files (by inode, with their size) that other hard links keep on disk."""
    chosen = [f for f in files if f.kind in ("f", "o") and f.nlink > 1]
    counts: Dict[Inode, int] = {}
    for f in chosen:
        counts[(f.dev, f.ino)] = counts.get((f.dev, f.ino), 0) + 1
    return {(f.dev, f.ino): f.size for f in chosen if counts[(f.dev, f.ino)] < f.nlink}


def environment_dirs(root: str, environ: Dict[str, str]) -> List[str]:
    """Where environments that link into a uv cache are usually found, in that order.

    The active one (``VIRTUAL_ENV``), ``.venv`` in the working directory, the home and
    the home's projects (``~/.venv``, ``~/*/.venv``), uv's tools (``UV_TOOL_DIR``, else
    ``$XDG_DATA_HOME/uv/tools`` or ``~/.local/share/uv/tools``), and the cache's own
    ``environments-v*`` (``uv run --with``).
    """
    home = userenv.home(environ)
    places = [environ.get("VIRTUAL_ENV", ""),
              os.path.join(environ.get("PWD") or os.getcwd(), ".venv"),
              os.path.join(home, ".venv")]
    places += sorted(os.path.join(home, d, ".venv") for d in _listdir(home))
    data = environ.get("XDG_DATA_HOME", "")
    tools = environ.get("UV_TOOL_DIR") or os.path.join(
        data if data.startswith("/") else os.path.join(home, ".local", "share"), "uv", "tools")
    places += sorted(os.path.join(tools, d) for d in _listdir(tools))
    for bucket in sorted(_listdir(root)):
        if uvcache.bucket_of(bucket)[0] == "environments":
            inside = os.path.join(root, bucket)
            places += sorted(os.path.join(inside, d) for d in _listdir(inside))
    out: List[str] = []
    for place in places:
        if place and os.path.isfile(os.path.join(place, "pyvenv.cfg")):
            place = os.path.normpath(place)
            if place not in out:
                out.append(place)
    return out


def _listdir(path: str) -> List[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def holders(linked: Dict[Inode, int], root: str, environ: Dict[str, str]
            ) -> Tuple[List[List[Any]], int]:
    """([environment, bytes it keeps], bytes kept by links found in none of them)."""
    left = dict(linked)
    found: List[List[Any]] = []
    budget = ENV_FILE_BUDGET
    for env in environment_dirs(root, environ):
        if not left or budget <= 0:
            break
        kept = 0
        for dirpath, _dirs, filenames in os.walk(env):
            budget -= len(filenames)
            for name in filenames:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                if st.st_nlink > 1 and (st.st_dev, st.st_ino) in left:
                    kept += left.pop((st.st_dev, st.st_ino))
            if budget <= 0 or not left:
                break
        if kept:
            found.append([env, kept])
    return found, sum(left.values())


def figures(files: List[walk.FileStat], packages: int, paths: int, root: str,
            environ: Optional[Dict[str, str]]) -> Dict[str, Any]:
    """A plan's figures: packages, paths, apparent bytes, freed bytes, bytes links keep."""
    linked = linked_out(files)
    where, elsewhere = holders(linked, root, environ) if linked and environ is not None \
        else ([], sum(linked.values()))
    return {"packages": packages, "paths": paths, "bytes": sum(f.size for f in files),
            "freed_bytes": walk.freed_bytes(files), "linked_bytes": sum(linked.values()),
            "linked_from": where, "linked_elsewhere_bytes": elsewhere}


def merge(parts: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Several plans' figures (prune: ``uv cache prune --ci`` and a clean) as one."""
    out: Dict[str, Any] = {"packages": 0, "paths": 0, "bytes": 0, "freed_bytes": 0,
                           "linked_bytes": 0, "linked_from": [], "linked_elsewhere_bytes": 0}
    held: Dict[str, int] = {}
    for part in parts:
        for key in ("packages", "paths", "bytes", "freed_bytes", "linked_bytes",
                    "linked_elsewhere_bytes"):
            out[key] += part.get(key) or 0
        for env, size in part.get("linked_from") or []:
            held[env] = held.get(env, 0) + size
    out["linked_from"] = [[env, size] for env, size in held.items()]
    return out

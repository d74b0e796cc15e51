"""The agent's uv half: dir, info, report, list, remove, purge, and prune's uv entries.

Plans are ``plan``'s, applied by ``apply``; the binary removals go through is found by
``binary``. Without a ``uv`` binary only a purge is possible, done by cachekit under
uv's lock.
"""

import os
from typing import Any, Callable, Dict, Optional, Tuple

from cachekit.core import Refused, safety
from cachekit.core.fs import walk
from cachekit.core.managers.uv import cache as uvcache
from cachekit.core.managers.uv.apply import execute, rows
from cachekit.core.managers.uv.binary import NOT_FOUND, binary_for
from cachekit.core.managers.uv.location import UvConfigError, locate
from cachekit.core.managers.uv.plan import plan_wire

Progress = Optional[Callable[[Dict[str, Any]], None]]


def cache_record(environ: Dict[str, str]) -> Dict[str, Any]:
    try:
        loc = locate(environ)
    except UvConfigError as exc:
        return {"manager": "uv", "path": None, "source": "", "exists": False, "enabled": False,
                "error": str(exc), "warnings": []}
    exists = bool(loc.path and os.path.isdir(loc.path))
    return {"manager": "uv", "path": loc.path, "source": loc.source, "shown": loc.shown,
            "exists": exists, "enabled": loc.path is not None, "config_files": loc.config_files,
            "warnings": [], "error": None}


def scan(record: Dict[str, Any]) -> Tuple[str, walk.Tree, uvcache.Layout]:
    root = record["path"]
    tree = walk.scan(root)
    lay = uvcache.layout(root, tree)
    record.update(uvcache.summarize(root, tree, lay))
    from cachekit.core.managers.uv import figures as uv_figures

    # files that hard links from outside the cache (environments) keep on disk anyway
    record["linked_bytes"] = sum(uv_figures.linked_out(tree.files).values())
    st = os.lstat(root)
    record["root_id"] = [st.st_dev, st.st_ino]
    if lay.unknown:
        record["warnings"].append(f"not uv's (or a newer uv's): {', '.join(lay.unknown)}")
    if tree.errors:
        record["warnings"].append(f"{len(tree.errors)} path(s) could not be read, e.g. "
                                  f"{os.path.join(root, tree.errors[0][0])}: {tree.errors[0][1]}")
    return root, tree, lay


def refuse_unsafe_root(root: str, environ: Dict[str, str], setting: str = "",
                       verb: str = "clean") -> None:
    """Never empty ``/``, a home, a system directory, or one that is not uv's cache."""
    safety.refuse("uv", root, environ, verb, setting)


def serve(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any],
          progress: Progress = None) -> None:
    op = request["op"]
    record = cache_record(environ)
    result["caches"].append(record)
    binary = binary_for(request, environ, record)
    if op == "dir" or not record["exists"]:
        if op == "apply" and [p for p in request.get("plans", []) if p.get("manager") == "uv"]:
            raise Refused("the uv cache planned for removal no longer exists")
        return
    if op in ("apply", "remove", "purge"):
        # before a scan, and before any removal
        refuse_unsafe_root(record["path"], environ, record["source"],
                           "apply a plan to" if op == "apply" else op)
    if op == "apply":
        for wire in [p for p in request.get("plans", []) if p.get("manager") == "uv"]:
            if wire.get("root") != record["path"] or wire.get("root_id") != [
                    os.lstat(record["path"]).st_dev, os.lstat(record["path"]).st_ino]:
                raise Refused("the plan names a uv cache that is not this host's; plan again")
            execute(wire, result, environ, progress)
        return
    if record.get("error") and op in ("remove", "purge", "apply"):
        return  # a uv named but not found: nothing is done without it
    root, tree, lay = scan(record)
    if op in ("info", "report"):
        record["reclaimable_bytes"] = walk.freed_bytes(
            f for f in tree.files if "/" in f.path or f.path not in uvcache.ROOT_FILES)
        return
    if op == "list":
        for name in uvcache.matching(lay, request.get("pattern") or "*"):
            pkg = lay.packages[name]
            result["entries"].append({
                "manager": "uv", "name": name, "version": ", ".join(pkg.versions),
                "kind": "+".join(pkg.kinds), "bytes": sum(f.size for f in pkg.files),
                "freed_bytes": walk.freed_bytes(pkg.files),
                "path": os.path.join(root, next(
                    (e for e in pkg.entries if uvcache.bucket_of(e)[0] != "simple"),
                    pkg.entries[0]))})
        return
    if op not in ("remove", "purge"):
        return
    if tree.errors:
        record["error"] = f"{root} could not be read fully; nothing is removed from it"
        return
    if op == "remove":
        if not request.get("pattern"):
            raise Refused("remove needs a pattern (use purge to remove everything)")
        if not binary:
            record["error"] = (f"{NOT_FOUND}: cachekit removes single packages from a uv "
                               "cache only through `uv cache clean PKG`; purge works")
            return
        names = uvcache.matching(lay, request["pattern"])
        if not names:
            return
        tops, files = uvcache.removal_plan(root, tree, lay, names)
        wire = plan_wire(record, "clean", names, tops, files, binary, lay=lay,
                         environ=environ)
    else:
        tops = sorted({f.path.split("/", 1)[0] for f in tree.files} |
                      {d.path for d in tree.dirs if d.path and "/" not in d.path})
        tops = [t for t in tops if t != ".lock"]
        files = [f for f in tree.files if f.path != ".lock"]
        wire = plan_wire(record, "purge", [], tops, files, binary, lay=lay,
                         environ=environ)
    offer(wire, request, record, result, environ, progress)


def offer(wire: Dict[str, Any], request: Dict[str, Any], record: Dict[str, Any],
          result: Dict[str, Any], environ: Dict[str, str], progress: Progress) -> None:
    result.setdefault("plans", []).append(wire)
    record["reclaimable_bytes"] = (record.get("reclaimable_bytes") or 0) + wire["freed_bytes"]
    record["removal"] = wire["figures"]
    if request.get("apply"):
        execute(wire, result, environ, progress)
    else:
        result["removed"] += [dict(r, ok=None) for r in rows(wire)]

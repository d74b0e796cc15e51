"""Carrying out a uv plan: through the host's ``uv``, or a purge under uv's lock.

The apply runs ``uv cache clean [PKG...]`` or ``uv cache prune --ci`` and then checks
each planned path, so a uv that behaves differently is reported, not hidden. Without a
``uv`` binary only a purge is possible, done by cachekit holding uv's exclusive lock.
"""

import os
from typing import Any, Callable, Dict, List, Optional

from cachekit.core import Refused
from cachekit.core.fs import lock, walk
from cachekit.core.fs import remove as fsremove
from cachekit.core.managers.uv.binary import NOT_FOUND

Progress = Optional[Callable[[Dict[str, Any]], None]]
UV_TIMEOUT_S = 600


def rows(wire: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [{"path": os.path.join(wire["root"], rel), "manager": "uv", "bytes": size,
             "reason": reason, "kind": "uv"} for rel, size, reason, _freed in wire["paths"]]


def _lock_is_free(root: str) -> bool:
    """Can uv's exclusive lock be had right now (no uv process is using the cache)?"""
    return lock.is_free(os.path.join(root, ".lock"))


def execute(wire: Dict[str, Any], result: Dict[str, Any], environ: Dict[str, str],
            progress: Progress = None) -> None:
    """Run the uv action (or, without uv, purge under uv's lock); report each planned path."""
    import subprocess

    root = wire["root"]
    before = {p[0]: os.path.lexists(os.path.join(root, p[0])) for p in wire["paths"]}
    if wire.get("binary"):
        if not _lock_is_free(root):
            raise Refused(f"the uv cache {root} is in use by a uv process; try again later")
        argv = [wire["binary"], "cache", "clean" if wire["action"] in ("clean", "purge")
                else "prune"]
        argv += (["--ci"] if wire["action"] == "prune-ci" else []) + list(wire["names"])
        argv += ["--cache-dir", root]
        env = dict(environ, UV_LOCK_TIMEOUT="60")
        env.pop("UV_NO_CACHE", None)
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True,
                                  timeout=UV_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as exc:
            raise Refused(f"running {wire['binary']} failed: {exc}") from None
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            result["warnings"].append(f"uv: {' '.join(argv[1:3])} exited {done.returncode}: "
                                      f"{tail}")
        freed: List[walk.FileStat] = []
    else:
        freed = _purge_under_lock(wire, root, result)
    for row in rows(wire):
        rel = os.path.relpath(row["path"], root)
        removed = not os.path.lexists(row["path"])
        row["ok"] = removed
        if not removed:
            row["note"] = "uv left it in place" if wire.get("binary") else "could not remove"
        elif not before.get(rel):
            row["note"] = "already gone"
        result["removed"].append(row)
        if progress is not None:
            progress(row)
    gone = [p for p in wire["paths"] if not os.path.lexists(os.path.join(root, p[0]))]
    if wire.get("binary"):  # what the plan said each path frees, for the paths now gone
        result["reclaimed_bytes"] += sum(p[3] for p in gone)
    else:
        result["reclaimed_bytes"] += walk.freed_bytes(freed)
    _record_removed(wire, gone, result)


def _record_removed(wire: Dict[str, Any], gone: List[List[Any]], result: Dict[str, Any]
                    ) -> None:
    """The figures of what went, in the plan's units, on the cache's record.

    A package counts once all its planned paths are gone; bytes links keep are the
    plan's, for the paths that went (their holders as the plan found them).
    """
    from cachekit.core.managers.uv import figures as uv_figures

    planned = wire.get("figures")
    if planned is None:  # a plan from a cachekit without figures
        return
    packages = wire.get("packages") or {}
    went = {p[0] for p in gone}
    names = {n for rel in packages for n in packages[rel]}
    kept_back = {n for rel in packages if rel not in went for n in packages[rel]}
    linked = sum((wire.get("linked") or {}).get(rel, 0) for rel in went)
    share = linked / planned["linked_bytes"] if planned["linked_bytes"] else 0
    done = {"packages": len(names - kept_back), "paths": len(gone),
            "bytes": sum(p[1] for p in gone), "freed_bytes": sum(p[3] for p in gone),
            "linked_bytes": linked,
            "linked_from": [[env, int(size * share)] for env, size in planned["linked_from"]],
            "linked_elsewhere_bytes": int(planned["linked_elsewhere_bytes"] * share)}
    record = next((c for c in result["caches"] if c.get("manager") == "uv"
                   and c.get("path") == wire["root"]), None)
    if record is not None:
        record["removal"] = uv_figures.merge([record["removal"], done]) \
            if record.get("removal", {}).get("done") else done
        record["removal"]["done"] = True


def _purge_under_lock(wire: Dict[str, Any], root: str, result: Dict[str, Any]
                      ) -> List[walk.FileStat]:
    """Empty the cache but its lock file, holding uv's exclusive lock, as `uv cache clean`."""
    if wire["action"] != "purge":
        raise Refused(f"{NOT_FOUND}: only a purge of the whole uv cache is done without it")
    try:
        with lock.exclusive(os.path.join(root, ".lock")):
            return _purge_held(wire, root, result)
    except lock.Busy:
        raise Refused(f"the uv cache {root} is in use by a uv process (its lock is held); "
                      "try again later") from None


def _purge_held(wire: Dict[str, Any], root: str, result: Dict[str, Any]
                ) -> List[walk.FileStat]:
    """The purge itself, while uv's lock is held."""
    result["warnings"].append(f"uv: no uv binary here; cachekit emptied {root} itself, "
                              "holding uv's lock")
    freed: List[walk.FileStat] = []
    with fsremove.SafeRemover(root, expect=tuple(wire["root_id"])) as remover:
        for rel, *_rest in wire["paths"]:
            if rel == ".lock":
                continue
            try:
                st = os.lstat(os.path.join(root, rel))
            except FileNotFoundError:
                continue
            if os.path.isdir(os.path.join(root, rel)) and not os.path.islink(
                    os.path.join(root, rel)):
                removed, _problems = remover.remove_tree(rel)
            else:
                outcome = remover.unlink(rel, expect=(st.st_ino, st.st_mtime_ns))
                removed = [outcome.stat] if outcome.ok and outcome.stat else []
            freed += removed
    return freed



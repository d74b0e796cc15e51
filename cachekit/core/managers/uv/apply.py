"""Carrying out a uv plan: through the host's ``uv``, or a purge under uv's lock.

The apply runs ``uv cache clean [PKG...]`` or ``uv cache prune --ci`` and then checks
each planned path, so a uv that behaves differently is reported, not hidden. Without a
``uv`` binary only a purge is possible, done by cachekit holding uv's exclusive lock.
A plan sent back from the controller is first recognised: it must still name this
host's uv cache, and only paths inside it.
"""

import os
from typing import Any, Dict, List, Optional

from ... import Refused, safety
from ...fs import lock, walk
from ...fs import remove as fsremove
from ...wire import Result, Run
from .binary import NOT_FOUND
from .plan import ACTIONS, UvPlan, rows
from .record import UvCache

UV_TIMEOUT_S = 600


def recognise(plan: UvPlan, record: Optional[UvCache], environ: Dict[str, str]) -> None:
    """Refuse a plan that no longer names this host's uv cache (same path, same inode),
    or that names anything but paths inside it and package names."""
    if record is None or not record.get("exists") or not record.get("path"):
        raise Refused("the uv cache planned for removal no longer exists")
    root = record["path"] or ""
    # before any removal, and before anything of the plan is looked at
    safety.refuse("uv", root, environ, "apply a plan to", record.get("source", ""))
    st = os.lstat(root)
    if plan.get("root") != root or plan.get("root_id") != [st.st_dev, st.st_ino]:
        raise Refused("the plan names a uv cache that is not this host's; plan again")
    problem = _malformed(plan)
    if problem:
        raise Refused(f"the plan for the uv cache {root} is not one cachekit makes "
                      f"({problem}); plan again")
    if plan.get("binary") != record.get("uv_binary"):
        # a plan runs the uv this host would pick now, never a program the plan names
        raise Refused(f"the plan runs {plan.get('binary')!r}, not the uv this host uses "
                      f"({record.get('uv_binary')!r}); plan again")


def _malformed(plan: UvPlan) -> str:
    """What makes ``plan`` one cachekit never makes ("" when nothing does)."""
    if plan.get("action") not in ACTIONS:
        return "an unknown action"
    names = plan.get("names")
    if not isinstance(names, list) or not all(
            isinstance(n, str) and n and not n.startswith("-") for n in names):
        return "a package name that is not one"  # never an option of uv's
    binary = plan.get("binary")
    if binary is not None and not (isinstance(binary, str) and os.path.isabs(binary)):
        return "a uv that is not an absolute path"
    paths = plan.get("paths")
    if not isinstance(paths, list):
        return "no paths"
    for p in paths:
        if not (isinstance(p, list) and len(p) == 4 and isinstance(p[0], str)):
            return "a path row of another shape"
        rel = p[0]
        if not rel or rel.startswith("/") or os.path.normpath(rel) != rel or \
                rel.split("/", 1)[0] == "..":
            return f"a path outside the cache: {rel!r}"
    return ""


def _refuse_unless_free(root: str) -> None:
    """uv's exclusive lock can be had right now (no uv process is using the cache), and
    is a regular file (uv, run as root, would follow a symlink there)."""
    try:
        with lock.exclusive(os.path.join(root, ".lock"), create=False):
            return
    except lock.Busy:
        raise Refused(f"the uv cache {root} is in use by a uv process; try again later"
                      ) from None
    except OSError as exc:
        raise Refused(f"{root}/.lock: cannot be locked: {exc.strerror}") from None


def execute(wire: UvPlan, run: Run) -> None:
    """Run the uv action (or, without uv, purge under uv's lock); report each planned path."""
    import subprocess

    result, environ = run.result, run.environ
    root = wire["root"]
    before = {p[0]: os.path.lexists(os.path.join(root, p[0])) for p in wire["paths"]}
    if wire.get("binary"):
        _refuse_unless_free(root)
        argv = [str(wire["binary"]), "cache", "clean" if wire["action"] in ("clean", "purge")
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
            run.warn(f"uv: {' '.join(argv[1:3])} exited {done.returncode}: {tail}")
        freed: List[walk.FileStat] = []
    else:
        freed = _purge_under_lock(wire, root, run)
    for row in rows(wire):
        rel = os.path.relpath(row["path"], root)
        removed = not os.path.lexists(row["path"])
        row["ok"] = removed
        if not removed:
            row["note"] = "uv left it in place" if wire.get("binary") else "could not remove"
        elif not before.get(rel):
            row["note"] = "already gone"
        run.report(row)
    gone = [p for p in wire["paths"] if not os.path.lexists(os.path.join(root, p[0]))]
    if wire.get("binary"):  # what the plan said each path frees, for the paths now gone
        result["reclaimed_bytes"] += sum(p[3] for p in gone)
    else:
        result["reclaimed_bytes"] += walk.freed_bytes(freed)
    _record_removed(wire, gone, result)


def _record_removed(wire: UvPlan, gone: List[List[Any]], result: Result) -> None:
    """The figures of what went, in the plan's units, on the cache's record.

    A package counts once all its planned paths are gone; bytes links keep are the
    plan's, for the paths that went (their holders as the plan found them).
    """
    from . import figures

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
        record["removal"] = figures.merge([record["removal"], done]) \
            if record.get("removal", {}).get("done") else done
        record["removal"]["done"] = True


def _purge_under_lock(wire: UvPlan, root: str, run: Run) -> List[walk.FileStat]:
    """Empty the cache but its lock file, holding uv's exclusive lock, as `uv cache clean`."""
    if wire["action"] != "purge":
        raise Refused(f"{NOT_FOUND}: only a purge of the whole uv cache is done without it")
    with lock.held_or_refused(os.path.join(root, ".lock"),
                              f"the uv cache {root} is in use by a uv process (its lock is "
                              "held); try again later"):
        return _purge_held(wire, root, run)


def _purge_held(wire: UvPlan, root: str, run: Run) -> List[walk.FileStat]:
    """The purge itself, while uv's lock is held."""
    run.warn(f"uv: no uv binary here; cachekit emptied {root} itself, holding uv's lock")
    freed: List[walk.FileStat] = []
    with fsremove.SafeRemover(root, expect=(wire["root_id"][0], wire["root_id"][1])) as remover:
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



"""Carry out a pixi plan: recognise it, hold rattler's cache lock, re-check, remove.

A plan is applied only to this host's package cache (same real path, same inode), only
while no pixi process holds ``.cache.lock`` (rattler's installer holds it while it
links packages), and each package only if it is still unused now: the environments are
found and read again, and the package walked again, so one that an environment started
to use since the plan stays.
"""

import contextlib
import os
import stat
from typing import List, Mapping, Optional

from ... import Refused
from ...fs import lock, subtree, walk
from ...fs import remove as fsremove
from ...wire import Run
from .. import conda_format
from .cache import CACHE_LOCK, LOCK
from .location import PixiLocation
from .plan import KINDS, PixiPlan, rows
from .record import environments


def recognise(wire: PixiPlan, loc: Optional[PixiLocation]) -> None:
    """Refuse a plan that is malformed or names anything but this host's package cache."""
    root = wire.get("root")
    items = wire.get("items")
    if not isinstance(root, str) or not isinstance(items, list) or \
            root != os.path.realpath(root):
        raise Refused("the pixi plan is malformed; plan again")
    if loc is None or os.path.realpath(loc.pkgs) != root:
        raise Refused(f"the plan names {root!r}, which is not the pixi package cache here; "
                      "plan again")
    try:
        st = os.lstat(root)
    except OSError:
        raise Refused(f"{root} is gone since the plan; plan again") from None
    if [st.st_dev, st.st_ino] != list(wire.get("root_id") or []):
        raise Refused(f"{root} was replaced since the plan; plan again")
    for raw in items:
        if not (isinstance(raw, list) and len(raw) == 8 and isinstance(raw[0], str)
                and raw[1] in KINDS):
            raise Refused(f"the pixi plan holds an entry cachekit did not plan: {raw!r}")
        rel = raw[0]
        if not rel or "/" in rel or rel in (".", "..", CACHE_LOCK):
            raise Refused(f"the plan names {rel!r}, which is not an entry of {root}")
        if raw[1] != "package" and not rel.endswith(LOCK):
            raise Refused(f"the plan names {rel!r} as a lock file")


def _still_unused(root: str, rel: str, ino: int, usage: conda_format.Usage) -> str:
    """Why the planned package must stay now ("" when it may go)."""
    try:
        st = os.lstat(os.path.join(root, rel))
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"kept: {exc.strerror}"
    if not stat.S_ISDIR(st.st_mode) or st.st_ino != ino:
        return "kept: replaced since the plan"
    walked = subtree.walk_dir((root, rel, "", (), True))
    removable, why = conda_format.verdict(root, rel, walked, usage, rattler=True)
    return "" if removable else f"kept: now {why}"


def execute(wire: PixiPlan, run: Run, loc: PixiLocation, environ: Mapping[str, str]) -> None:
    """Remove exactly the planned entries, each only if it is still what was planned."""
    root = wire["root"]
    shown = rows(wire)
    found = environments(loc, environ)
    usage = conda_format.read_usage(found.envs)
    problems = found.problems + usage.warnings
    if problems:  # an environment that cannot be read may use any package
        for row in shown:
            row.update(ok=False, note=f"kept: {problems[0]}")
            run.report(row)
        return
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(lock.exclusive(os.path.join(root, CACHE_LOCK)))
        except lock.Busy:
            for row in shown:
                row.update(ok=False, note="kept: a pixi process holds the package cache's "
                                          "lock (.cache.lock); try again later")
                run.report(row)
            return
        except OSError as exc:
            raise Refused(f"{root}/{CACHE_LOCK}: cannot be locked: {exc.strerror}") from None
        _remove(wire, run, usage, shown)


def _remove(wire: PixiPlan, run: Run, usage: conda_format.Usage, shown: List[dict]) -> None:
    root = wire["root"]
    freed: List[walk.FileStat] = []
    held_back = set()  # packages kept now: their .lock stays too
    with fsremove.SafeRemover(root, expect=(wire["root_id"][0], wire["root_id"][1])) as remover:
        for (rel, kind, _size, _freed, ino, mtime, _reason, _package), row in zip(
                wire["items"], shown):
            note = ""
            if kind == "package":
                note = _still_unused(root, rel, ino, usage)
                if not note:
                    removed, problems = remover.remove_tree(rel)
                    freed += removed
                    if problems:
                        note = f"not all removed: {problems[0][0]}: {problems[0][1]}"
                if note:
                    held_back.add(rel)
            elif kind == "lock" and rel[:-len(LOCK)] in held_back:
                note = "kept: its package stays"
            elif kind == "orphan_lock" and os.path.lexists(os.path.join(root, rel[:-len(LOCK)])):
                note = "kept: its package is back"
            else:
                outcome = remover.unlink(rel, expect=(ino, mtime) if kind == "orphan_lock"
                                         else None)
                if outcome.ok and outcome.stat:
                    freed.append(outcome.stat)
                note = "" if outcome.ok else f"kept: {outcome.reason}"
            row["ok"] = not note
            if note:
                row["note"] = note
            run.report(row)
    run.result["reclaimed_bytes"] += walk.freed_bytes(freed)

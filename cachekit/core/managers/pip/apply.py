"""Carry out a pip plan: exactly the planned files, then the planned directories.

``recognise`` checks a plan before anything is removed (every path of every plan, not
each when its turn comes); ``execute`` removes through one ``SafeRemover`` opened on the
recognised root, so a symlink swapped in anywhere stops the removal.
"""

import os
from typing import Any, Dict, List

from ... import Refused
from ...fs import remove as fsremove
from ...fs import walk
from ...wire import PlanWire, Row, Run
from . import cache as pipcache


def planned_rows(root: str, wire: Any) -> List[Row]:
    """The rows a plan shows: a purge's buckets, then each planned file."""
    swept = [{"path": os.path.join(root, g["bucket"]), "manager": wire["manager"],
              "bytes": g["bytes"], "files": g["files"], "dirs": g["dirs"], "freed": g["freed"],
              "reason": g["reason"], "package": ""}
             for g in (wire.get("sweep") or {}).get("groups", [])]
    return swept + [{"path": os.path.join(root, rel), "manager": wire["manager"], "bytes": size,
                     "reason": reason, "package": package}
                    for rel, size, _ino, _mtime, reason, package in wire["files"]]


def recognise(root: str, root_id: List[int], wire: Any) -> None:
    """Refuse a plan that names another root, or anything but pip's own entries."""
    if os.path.normpath(wire.get("root", "")) != root or list(wire.get("root_id") or []) != root_id:
        raise Refused(f"the plan names {wire.get('root')!r}, which is not this host's "
                      f"recognised {wire.get('manager')} cache {root!r}; plan again")
    allowed = set(pipcache.BUCKETS)
    sweep = wire.get("sweep")
    swept = [g.get("bucket") for g in sweep["groups"]] if sweep else []
    for rel in [f[0] for f in wire["files"]] + list(wire["dirs"]) + swept:
        if not isinstance(rel, str) or (pipcache.bucket(rel) not in allowed
                                        and rel != pipcache.LEGACY_SELFCHECK):
            raise Refused(f"the plan names {rel!r}, which is not a pip cache entry")
        try:  # every path checked before the first removal, not when its turn comes
            fsremove.split_rel(rel)
        except ValueError:
            raise Refused(f"the plan names {rel!r}, which is not a path inside the cache"
                          ) from None
    if sweep and (any(b not in allowed or "/" in b for b in swept)
                  or not isinstance(sweep.get("planned_at_ns"), int)):
        raise Refused("the plan's sweep names no pip bucket, or no time it was planned")
    crit = wire.get("prune")
    if crit is not None and (not isinstance(crit.get("planned_at_ns"), int)
                             or crit.get("clock") not in ("atime", "mtime")):
        raise Refused("the prune plan gives no time it was planned, or no clock")


def execute(run: Run, plan: PlanWire) -> None:
    """Delete exactly the planned files, then rmdir the planned directories."""
    wire: Dict[str, Any] = dict(plan)
    root, root_id = os.path.normpath(wire["root"]), list(wire["root_id"])
    recognise(root, root_id, wire)
    result = run.result
    sweep = wire.get("sweep")
    rows = planned_rows(root, wire)[len(sweep["groups"]) if sweep else 0:]
    freed: List[walk.FileStat] = []
    with fsremove.SafeRemover(root, expect=(root_id[0], root_id[1])) as remover:
        for (rel, _size, ino, mtime_ns, _reason, _pkg), row in zip(wire["files"], rows):
            outcome = remover.unlink(rel, expect=(ino, mtime_ns))
            row["ok"] = outcome.ok
            if outcome.reason:
                row["note"] = outcome.reason
            if outcome.ok and outcome.stat is not None:
                freed.append(outcome.stat)
            run.report(row)
        for rel in wire["dirs"]:
            outcome = remover.rmdir(rel)
            if outcome.ok:
                result["dirs_removed"].append(os.path.join(root, rel))
            elif outcome.reason:
                run.warn(f"kept {os.path.join(root, rel)}: {outcome.reason}")
        if wire.get("prune"):
            from . import prune

            result["reclaimed_bytes"] += prune.apply(remover, root, wire, result,
                                                     run.progress)
        if sweep:
            from . import sweep as sweeper

            done = sweeper.apply(remover, root, wire, run.progress)
            result["removed"] += done
            result["reclaimed_bytes"] += sum(r["freed"] for r in done)
    result["reclaimed_bytes"] += walk.freed_bytes(freed)

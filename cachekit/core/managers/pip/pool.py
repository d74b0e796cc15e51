"""pip's part in a prune: its entries as one ``policy.Pool`` (ranked in arrays, never an
object per file), and the plan as the rule that selects (``prune``)."""

import os
from typing import Any, Dict, List, Optional

from ... import policy
from ...wire import Run, not_fully_read
from . import prune


def scope(run: Run, record: Any) -> Optional[policy.Scope]:
    """pip's entries as a pool: a million-file cache is ranked in arrays, and its plan is
    the rule that selects (see ``walk``), not a list of its files. None when the cache
    could not be read fully (the record says so)."""
    import time

    from ...fs import mounts
    from . import cache as pipcache

    keep = list((run.request.get("policy") or {}).get("keep") or [])
    root = record["path"]
    pipcache.refuse_unsafe_root(root, run.environ, record["source"], "prune")
    clock, why = mounts.last_use_clock(root)
    planned_at = time.time_ns()  # apply keeps what changed after this (sweep)
    walked = prune.walk(root, clock, keep)
    record.update(bytes=walked.bytes, files=walked.files)
    if walked.errors:
        where, why = walked.errors[0]
        record["error"] = not_fully_read(root, "pruned", f" ({where}: {why})")
        return None
    st = os.lstat(root)
    record["root_id"] = [st.st_dev, st.st_ino]
    record["last_use"] = why
    pool = policy.Pool("pip", root, walked.last, walked.size, walked.freed, walked.tie,
                       bytes(1 if f & prune.CHEAP else 0 for f in walked.flags))

    def criterion(p: policy.Pool) -> Dict[str, Any]:
        return dict(p.criterion, planned_at_ns=planned_at, clock=clock, keep=keep,
                    rows=p.chosen <= prune.ROW_LIMIT)

    def plan(p: policy.Pool) -> Dict[str, Any]:
        return prune.wire(root, record["root_id"], criterion(p), p.chosen, p.taken_bytes("freed"))

    def rows(p: policy.Pool, crit: Dict[str, Any]) -> List[Dict[str, Any]]:
        if crit["rows"]:  # a small plan shows each entry: walked once more to name them
            return [{"path": root + "/" + path, "manager": "pip", "entry": path,
                     "package": name, "bytes": size, "freed": free, "reason": rule,
                     "last_use_ns": last, "kind": "entry"}
                    for last, path, name, rule, size, free, _f in
                    prune.pick_rows(root, clock, keep, crit)]
        return [{"path": root, "manager": "pip", "entry": f"{n} entries", "entries": n,
                 "package": "", "bytes": size, "freed": free, "reason": rule,
                 "last_use_ns": newest, "kind": "entries"}
                for rule, (n, size, free, newest) in sorted(p.tally.items())]

    found = policy.Scope("pip", root, record, record["bytes"], [], lambda chosen: [])
    found.pool, found.plan_pool, found.rows_of_pool = pool, plan, rows
    found.kept = [{"manager": "pip", "path": os.path.join(root, entry),
                   "reason": f"--keep {pattern}"} for entry, pattern in walked.kept]
    found.kept_more = walked.kept_count - len(walked.kept)
    return found

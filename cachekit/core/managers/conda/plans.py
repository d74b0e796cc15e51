"""A conda plan as data: the wire format every conda removal travels in, its rows, and
the whole-cache plan of ``--force-pkgs-dirs``; ``offer`` shows a plan (a dry run's rows).
"""

import os
import stat
from typing import Any, Dict, List, Optional

from ... import Refused
from ...wire import PlanWire, Result, Row
from ..conda_format import Usage
from . import cache as condacache
from .cache import CondaRecord
from .clean import CachePlan, Item


class CondaPlan(PlanWire, total=False):
    """A conda plan: ``kind`` is "pkgs" (a package cache), "tempfiles" or "trash" (files
    under a prefix); ``items`` are ``clean.Item`` as lists, ``kept`` (rel, why) pairs."""

    shown: str  # the root as the setting names it (``root`` is its real path)
    items: List[List[Any]]
    kept: List[List[str]]
    remove_root: bool  # --force-pkgs-dirs: the cache directory goes too
    break_environments: bool


def force_plan(root: str, listing: condacache.Listing, usage: Usage,
               break_environments: bool) -> CachePlan:
    """``--force-pkgs-dirs``: everything in the cache, then the cache directory itself.

    Refused while environments use packages in it. Each top-level entry is its own item,
    so an apply removes what was listed, not what arrived since.
    """
    using = usage.envs_using(root, [e.rel for e in listing.of("package")])
    if using and not break_environments:
        raise Refused(f"--force-pkgs-dirs would break environments that use packages in "
                      f"{root}: {users(using)}; add --break-environments to remove it anyway")
    items = []
    reason = "whole package cache (--force-pkgs-dirs)"
    for name in sorted(os.listdir(root)):
        try:
            st = os.lstat(os.path.join(root, name))
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(st.st_mode):
            walked = condacache.walk_dir(root, name)
            if walked.errors:
                raise Refused(f"--force-pkgs-dirs: {root}/{walked.errors[0][0]} could not be "
                              f"read ({walked.errors[0][1]})")
            size, freed = walked.bytes, walked.freed
        else:
            size = st.st_size
            freed = size if stat.S_ISREG(st.st_mode) and st.st_nlink <= 1 else 0
        items.append(Item(name, "pkgs_entry", size, freed, st.st_ino, st.st_mtime_ns, reason,
                          stat.S_ISDIR(st.st_mode), ""))
    return CachePlan(items, [])


def users(using: Dict[str, List[str]]) -> str:
    return "; ".join(f"{env} uses {', '.join(sorted(p)[:3])}"
                     + (f" and {len(p) - 3} more" if len(p) > 3 else "")
                     for env, p in sorted(using.items()))


def plan_to_wire(kind: str, shown: str, root: str, plan: CachePlan) -> CondaPlan:
    st = os.lstat(root)
    return {"manager": "conda", "kind": kind, "root": root, "shown": shown,
            "root_id": [st.st_dev, st.st_ino],
            "freed_bytes": sum(i.freed for i in plan.items),
            "items": [list(i) for i in plan.items],
            "kept": [[k.rel, k.reason] for k in plan.kept]}


def wire_rows(wire: CondaPlan) -> List[Row]:
    return [{"path": os.path.join(wire["root"], i.rel) if i.rel else wire["root"],
             "manager": "conda", "bytes": i.bytes, "reason": i.reason, "package": i.package,
             "kind": i.kind} for i in (Item(*raw) for raw in wire["items"])]


def offer(wire: CondaPlan, result: Result, record: Optional[CondaRecord]) -> CondaPlan:
    """Show the plan: its rows (``ok`` None), what it keeps and why, what it would free."""
    result.setdefault("kept", []).extend(
        {"manager": "conda", "path": os.path.join(wire["root"], rel), "reason": why}
        for rel, why in wire["kept"])
    if record is not None:
        record["reclaimable_bytes"] = (record.get("reclaimable_bytes") or 0) + wire["freed_bytes"]
    result["removed"] += [dict(r, ok=None) for r in wire_rows(wire)]
    return wire

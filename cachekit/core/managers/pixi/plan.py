"""pixi's plans as data: what ``remove PATTERN``, ``purge`` and ``prune`` would take from the
package cache, and why the rest stays.

An item is a whole extracted package or a lock file: a package goes with its ``.lock``
(rattler's metadata file beside it). ``purge`` takes every package cachekit's rule lets go
and the ``.lock`` files whose package is gone; ``.cache.lock`` (rattler's installer lock)
always stays, as ``uv cache clean`` keeps uv's ``.lock``.
"""

import os
from typing import Any, List, Optional, Tuple

from ... import Refused
from ...wire import PlanWire, Result, Row
from .. import conda_format
from .cache import PixiRecord
from .location import PixiLocation
from .record import Reading

# [rel, kind, bytes, freed, ino, mtime_ns, reason, package]; kind: package, lock, orphan_lock
Item = List[Any]
KINDS = ("package", "lock", "orphan_lock")


class PixiPlan(PlanWire, total=False):
    """A pixi plan: ``items`` as above, ``kept`` (rel, why) pairs, ``shown`` the package
    cache as its setting names it (``root`` is its real path)."""

    shown: str
    items: List[Item]
    kept: List[List[str]]


def package_items(reading: Reading, rel: str, reason: str) -> List[Item]:
    """One package's items: its directory, then its ``.lock``."""
    entry = next(e for e in reading.listing.entries if e.rel == rel)
    walked = reading.stats[rel]
    name = conda_format.split_dist(conda_format.dist_name(rel, rattler=True))[0]
    items = [[rel, "package", walked.bytes, walked.freed, entry.ino, entry.mtime_ns, reason,
              name]]
    lock = reading.listing.lock_of(rel)
    if lock is not None:
        items.append([lock.rel, "lock", lock.size, lock.size if lock.nlink <= 1 else 0,
                      lock.ino, lock.mtime_ns, reason, name])
    return items


def select(op: str, pattern: Optional[str], reading: Reading
           ) -> Tuple[List[Item], List[Tuple[str, str]]]:
    """``remove PATTERN`` or ``purge``: (items, kept with why)."""
    if op == "remove" and not pattern:
        raise Refused("remove needs a pattern (use purge to remove everything)")
    items: List[Item] = []
    kept: List[Tuple[str, str]] = []
    for e in reading.listing.of("package"):
        if op == "remove" and not conda_format.matches(e.rel, pattern or "", rattler=True):
            continue
        removable, why = reading.verdicts[e.rel]
        if removable:
            items += package_items(reading, e.rel, why)
        else:
            kept.append((e.rel, why))
    if op == "purge":
        for e in reading.listing.of("orphan_lock"):
            items.append([e.rel, "orphan_lock", e.size, e.size if e.nlink <= 1 else 0, e.ino,
                          e.mtime_ns, "metadata file of a package no longer cached", ""])
        for e in reading.listing.of("other", "other_dir", "symlink"):
            kept.append((e.rel, "not rattler's (or a newer rattler's): left alone"))
    return items, kept


def plan_wire(loc: PixiLocation, reading: Reading, items: List[Item],
              kept: List[Tuple[str, str]]) -> PixiPlan:
    st = os.lstat(reading.root)
    return {"manager": "pixi", "kind": "pkgs", "root": reading.root, "shown": loc.pkgs,
            "source": loc.pkgs_source, "root_id": [st.st_dev, st.st_ino],
            "freed_bytes": sum(i[3] for i in items), "items": items,
            "kept": [[rel, why] for rel, why in kept]}


def rows(wire: PixiPlan) -> List[Row]:
    return [{"path": os.path.join(wire["root"], rel), "manager": "pixi", "bytes": size,
             "freed": freed, "reason": reason, "package": package, "kind": kind}
            for rel, kind, size, freed, _ino, _mtime, reason, package in wire["items"]]


def offer(wire: PixiPlan, result: Result, record: Optional[PixiRecord]) -> PixiPlan:
    """Show the plan: its rows (``ok`` None), what it keeps and why, what it would free."""
    result.setdefault("kept", []).extend(
        {"manager": "pixi", "path": os.path.join(wire["root"], rel), "reason": why}
        for rel, why in wire["kept"])
    if record is not None:
        record["reclaimable_bytes"] = (record.get("reclaimable_bytes") or 0) + wire["freed_bytes"]
    result["removed"] += [dict(r, ok=None) for r in rows(wire)]
    return wire

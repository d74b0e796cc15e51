"""``prune`` for pixi: each package no environment uses is one entry (its directory with its
``.lock``), ranked by the policy like every manager's.

Last use is the newest access (or, on a file system mounted ``noatime``, modification) of
any file of the package or its ``.lock``: rattler reads a package's ``info/`` and its
``.lock`` only when it installs that package, and writes the ``.lock`` when it caches it.
With ``--ci`` every unused package is cheap: rattler keeps nothing it could not download
again (no archives, no builds in ``pkgs``).
"""

from typing import Any, Dict, List, Mapping, cast

from ... import policy
from ...fs.mounts import last_use_clock
from ...wire import not_fully_read
from .cache import PixiRecord, figures
from .location import PixiLocation
from .plan import PixiPlan, package_items, plan_wire
from .record import measure


def scopes(loc: PixiLocation, environ: Mapping[str, str], record: PixiRecord
           ) -> List[policy.Scope]:
    """The package cache's unused packages as candidates, and how to plan the chosen ones."""
    reading = measure(loc, environ, record)  # as info measures it: the history compares
    if reading is None:
        return []
    if reading.problems:
        record["error"] = f"{reading.problems[0]}; nothing pruned until it is fixed"
        return []
    errors = reading.listing.errors + [e for s in reading.stats.values() for e in s.errors]
    if errors:
        record["error"] = not_fully_read(loc.pkgs, "pruned")
        return []
    clock, why = last_use_clock(reading.root)
    record["last_use"] = why
    candidates = []
    for rel in reading.unused:
        walked = reading.stats[rel]
        last = walked.last_atime_ns if clock == "atime" else walked.last_mtime_ns
        lock = reading.listing.lock_of(rel)
        if lock is not None:
            last = max(last, max(lock.atime_ns, lock.mtime_ns) if clock == "atime"
                       else lock.mtime_ns)
        items = package_items(reading, rel, "")
        candidates.append(policy.Candidate(
            "pixi", reading.root, rel, items[0][7], sum(i[2] for i in items),
            sum(i[3] for i in items), last, True, items))

    def plan(chosen: List[policy.Selected]) -> PixiPlan:
        items = [i[:6] + [s.rule] + i[7:] for s in chosen for i in s.candidate.ref]
        return plan_wire(loc, reading, items, [])

    # --max-size budgets the package cache, the part of the root prune removes from
    budgeted = figures(reading.listing, reading.stats, reading.unused)["bytes"]
    return [policy.Scope("pixi", reading.root, cast(Dict[str, Any], record), budgeted,
                         candidates, plan)]

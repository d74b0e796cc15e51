"""``prune``: gather each manager's removable entries, apply the policy, plan the removal.

An entry is what goes as a whole: a pip wheel, a pip HTTP entry (metadata and body), a
conda package no environment uses (extracted directory and archive), a uv package...
Each manager gives its entries as ``policy.Scope``s (``Manager.prune_scopes``); selection
is ``policy``'s; the plans are the managers' own, applied by the same code as ``remove``
and ``clean``.

Ages come from ``lstat`` only. Where a body is opened to learn its package (``--keep``
needs names), its access time is put back, so a dry run changes no ranking.
"""

import os
import time
from typing import Any, Dict, List, Tuple

from .. import ownership, policy
from ..fs import mounts
from ..managers.base import Manager
from ..wire import Run


def gather(run: Run, managers: List[Manager]) -> List[policy.Scope]:
    """Every manager's caches (into the result) and their scopes."""
    scopes: List[policy.Scope] = []
    for manager in managers:
        caches = ownership.caches_of(run, manager)
        run.result["caches"] += caches
        scopes += manager.prune_scopes(caches)
    return scopes


def serve(run: Run, managers: List[Manager]) -> None:
    """Plan one prune on this host: its plans go to ``result["plans"]``, for the agent to
    apply (with ``apply``) as it applies any other plan."""
    request, result = run.request, run.result
    rules = request.get("policy") or {}
    now = int(request.get("now_ns") or time.time_ns())
    scopes = gather(run, managers)
    notes: List[str] = []
    result["policy_notes"] = notes
    open_: List[policy.Candidate] = []
    pools: List[policy.Pool] = []
    scope_of = {(s.manager, s.root): s for s in scopes}  # a candidate's scope, by its cache
    kept = []
    chosen: List[policy.Selected] = []
    for scope in scopes:
        free, protected = policy.protect(scope.candidates, rules.get("keep") or [])
        kept += protected
        if scope.fixed:
            if rules.get("min_free") is not None:  # the gate holds for these rules too
                disk = mounts.disk_usage(scope.root)
                target = policy.free_bytes_target(rules["min_free"], disk["total_bytes"])
                if disk["free_bytes"] >= target:
                    continue
            chosen += [policy.Selected(c, c.ref[1]) for c in free]
        else:
            open_ += free
            if scope.pool is not None:
                pools.append(scope.pool)
    min_free = rules.get("min_free")
    gated: List[policy.Candidate] = []
    gated_pools: List[policy.Pool] = []
    shortfalls: Dict[int, Tuple[int, List[policy.Candidate], List[policy.Pool]]] = {}
    if min_free is not None:
        for dev in sorted({s.dev for s in scopes}):
            group = [s for s in scopes if s.dev == dev]
            disk = mounts.disk_usage(group[0].root)
            target = policy.free_bytes_target(min_free, disk["total_bytes"])
            members = [c for c in open_ if scope_of[(c.manager, c.cache)].dev == dev]
            member_pools = [p for p in pools if scope_of[(p.manager, p.cache)].dev == dev]
            if disk["free_bytes"] >= target:
                notes.append(f"{', '.join(s.root for s in group)}: {disk['free_bytes']} B "
                             f"free, at least --min-free ({target} B): nothing to do")
                continue
            gated += members
            gated_pools += member_pools
            shortfalls[dev] = (target - disk["free_bytes"], members, member_pools)
    else:
        gated, gated_pools = open_, pools
    if any(rules.get(k) for k in ("older_than_s", "ci")) or rules.get("max_size_bytes") \
            is not None:
        counted = {(c.manager, c.cache) for c in gated} | \
            {(p.manager, p.cache) for p in gated_pools} if min_free is not None else None
        total = sum(s.cache_bytes for s in scopes if counted is None
                    or (s.manager, s.root) in counted)
        picked, more = policy.select(gated, rules, now, total, gated_pools)
        chosen += picked
        notes += more
    elif min_free is not None:
        for shortfall, members, member_pools in shortfalls.values():
            picked, more = policy.evict_for_space(members, shortfall, member_pools)
            chosen += picked
            notes += more
    result["kept"] = [{"manager": c.manager, "path": os.path.join(c.cache, c.entry),
                       "reason": f"--keep {pattern}"} for c, pattern in kept]
    for scope in scopes:
        result["kept"] += scope.kept
        if scope.kept_more:
            notes.append(f"{scope.root}: {scope.kept_more} more entries kept by --keep")
    by_scope: Dict[Tuple[str, str], List[policy.Selected]] = {}
    for sel in chosen:
        by_scope.setdefault((sel.candidate.manager, sel.candidate.cache), []).append(sel)
    rows: List[Dict[str, Any]] = []
    for scope in scopes:
        mine = by_scope.get((scope.manager, scope.root), [])
        pool = scope.pool
        scope.record["reclaimable_bytes"] = sum(s.candidate.freed for s in mine) + (
            pool.taken_bytes("freed") if pool is not None else 0)
        if pool is not None and pool.chosen and scope.plan_pool and scope.rows_of_pool:
            wire = scope.plan_pool(pool)
            wire["measure_after"] = True  # the history records the sizes measured after
            result.setdefault("plans", []).append(wire)
            if not request.get("apply"):
                rows += scope.rows_of_pool(pool, wire["prune"])
        if not mine:
            continue
        made = scope.plan(sorted(mine, key=lambda s: s.candidate.entry))
        made = made if isinstance(made, list) else [made]
        for wire in made:  # the history records the sizes measured after a prune
            wire["measure_after"] = True
        result.setdefault("plans", []).extend(made)
    if not request.get("apply"):
        # The plan, one row per entry (an apply reports every file it deletes); a pool's
        # large plan, one row per rule with its count.
        rows += [{"path": c.cache + "/" + c.entry, "manager": c.manager, "entry": c.entry,
                  "package": c.package, "bytes": c.bytes, "freed": c.freed, "reason": s.rule,
                  "last_use_ns": c.last_use_ns, "kind": "entry"}
                 for s in chosen for c in (s.candidate,)]
        rows.sort(key=lambda r: (r["last_use_ns"], r["entry"]))
        result["removed"] = rows

"""``remove``, ``purge``, ``clean``: plan for every manager, check every plan, then (with
``apply``) carry them out; and ``apply``: plans made earlier, recognised again first.

Planning never removes; the plans are data the user saw. Every plan's root passes
safety's refusal before the first removal, whichever manager made it.
"""

from typing import Dict, List

from .. import Refused, ownership, safety
from ..managers.base import Manager
from ..wire import CacheRecord, PlanWire, Run


def serve(run: Run, managers: List[Manager]) -> None:
    """Plan with every manager; with ``apply`` carry the plans out."""
    for manager in managers:
        caches = ownership.caches_of(run, manager)
        run.result["caches"] += caches
        run.result.setdefault("plans", []).extend(manager.plan(caches))
    check_then_apply(run, managers, run.op)


def check_then_apply(run: Run, managers: List[Manager], verb: str) -> None:
    """Every plan's root passes safety's refusal (a dry run's too), all of them before
    the first removal; with ``apply`` the plans are then carried out, and the rows shown
    for the plan give way to what was really removed."""
    plans = run.result.get("plans", [])
    safety.refuse_plans(plans, run.result["caches"], run.environ, verb)
    if not run.applying:
        return
    run.result["removed"], run.result["dirs_removed"] = [], []
    by_name = {m.name: m for m in managers}
    for wire in plans:
        by_name[wire["manager"]].apply(wire)


def apply_plans(run: Run, managers: List[Manager]) -> None:
    """The ``apply`` op: plans computed earlier (shown and confirmed) are checked against
    this host's caches as they are now, every one before the first removal."""
    plans: List[PlanWire] = list(run.request.get("plans") or [])
    safety.refuse_plans(plans, [], run.environ, "apply a plan to")
    by_name = {m.name: m for m in managers}
    caches: Dict[str, List[CacheRecord]] = {}
    for manager in managers:
        caches[manager.name] = ownership.caches_of(run, manager)
        run.result["caches"] += caches[manager.name]
    for wire in plans:
        owner = by_name.get(str(wire.get("manager")))
        if owner is None:
            raise Refused(f"a plan names manager {wire.get('manager')!r}, which this "
                          "request does not serve")
        owner.recognise(wire, caches[owner.name])
    for wire in plans:
        by_name[str(wire["manager"])].apply(wire)

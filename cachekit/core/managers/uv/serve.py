"""Today's agent entry point for uv, over the ``Uv`` manager, until ``core/ops`` drives
every manager through the registry (then this module goes)."""

from typing import Any, Callable, Dict, List, Optional, cast

from cachekit.core.managers.uv import Uv
from cachekit.core.wire import PlanWire, Request, Result, Run

Progress = Optional[Callable[[Dict[str, Any]], None]]


def serve(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any],
          progress: Progress = None) -> None:
    # the agent's request and result are still plain dicts
    run = Run(cast(Request, request), environ, cast(Result, result), progress)
    manager = Uv(run)
    caches = manager.caches()
    result["caches"] += caches
    if run.op == "apply":
        plans: List[PlanWire] = [p for p in request.get("plans", [])
                                 if p.get("manager") == "uv"]
        for wire in plans:
            manager.recognise(wire, caches)
        for wire in plans:
            manager.apply(wire)
    elif run.op in ("info", "report"):
        manager.measure(caches)
    elif run.op == "list":
        result["entries"] += manager.entries(caches)
    elif run.op in ("remove", "purge"):
        result.setdefault("plans", []).extend(manager.plan(caches))

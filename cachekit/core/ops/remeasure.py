"""A prune's caches measured again after its removals, as ``info`` measures them.

The history records what a cache holds after a prune, not its size before minus what the
plan expected to free: the two differ wherever hard links are involved (a uv cache whose
files environments share frees little but shrinks a lot in apparent size). A prune's
plans carry ``measure_after``; the agent calls ``after_apply`` once they are applied.
"""

from typing import Any, Dict, List

from ..wire import Result


def wanted(request: Dict[str, Any], result: Result) -> List[Dict[str, Any]]:
    """The applied plans that ask for a measurement afterwards."""
    if request.get("op") == "apply":
        plans = request.get("plans") or []
    elif request.get("apply"):
        plans = result.get("plans") or []
    else:
        return []
    return [p for p in plans if isinstance(p, dict) and p.get("measure_after")]


def after_apply(request: Dict[str, Any], result: Result) -> None:
    """Set ``after_bytes`` on each cache record of a manager whose plans were applied."""
    from .. import agent

    plans = wanted(request, result)
    managers = sorted({p["manager"] for p in plans})
    if not managers:
        return
    # the same request's settings (environment, a manager's own options), as an `info`
    again = agent.run(dict(request, op="info", managers=managers, apply=False, plans=[],
                           progress=False))
    if again["status"] != "ok":
        result["warnings"].append(f"the caches could not be measured after the removal: "
                                  f"{again['error']}")
        return
    sizes = {(c["manager"], c.get("path")): c["bytes"] for c in again["caches"]
             if c.get("exists") and isinstance(c.get("bytes"), int)}
    for c in result["caches"]:
        if c.get("manager") in managers and (c["manager"], c.get("path")) in sizes:
            c["after_bytes"] = sizes[(c["manager"], c.get("path"))]

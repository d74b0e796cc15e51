"""``prune``'s uv entries: each package (``uv cache clean PKG``), and with ``--ci`` what
``uv cache prune --ci`` removes (pre-built wheels and unpacked archives, keeping the
wheels uv built from source), as one more entry.

Ranked by ``policy`` like every manager's; the chosen ones become uv plans (``plan``).
"""

import time
from typing import Any, Dict, List, cast

from ... import policy, safety
from ...fs import mounts, walk
from ...wire import Run, not_fully_read
from . import binary as uv_binary
from . import cache as uvcache
from . import figures
from .plan import UvPlan, plan_wire
from .record import UvCache, scan


def scopes(record: UvCache, run: Run) -> List[policy.Scope]:
    """uv packages as entries (removed with ``uv cache clean PKG``); with ``--ci`` one more
    entry, what ``uv cache prune --ci`` removes: pre-built wheels and unpacked archives,
    keeping the wheels uv built from source."""
    environ = run.environ
    if not record["exists"] or record.get("error"):
        return []
    binary = record.get("uv_binary")
    safety.refuse("uv", record["path"] or "", environ, "prune", record["source"])
    root, tree, lay = scan(record)
    if tree.errors:
        record["error"] = not_fully_read(root, "pruned")
        return []
    if not binary:
        record["error"] = (f"{uv_binary.NOT_FOUND}: cachekit prunes a uv cache only "
                           "through uv (`uv cache clean PKG`, `uv cache prune --ci`)")
        return []
    clock, why = mounts.last_use_clock(root)
    record["last_use"] = why
    rules = run.request.get("policy") or {}
    candidates = []
    for name, pkg in sorted(lay.packages.items()):
        last = max((walk.last_use(f, clock) for f in pkg.files), default=0)
        candidates.append(policy.Candidate("uv", root, name, name,
                                           sum(f.size for f in pkg.files),
                                           walk.freed_bytes(pkg.files), last, False, name))
    if rules.get("ci"):
        current = uv_binary.current_buckets(binary)
        if current is None:
            record["error"] = (f"{binary} is a uv release whose cache layout cachekit does not "
                               "know (it knows uv 0.13): its `uv cache prune --ci` could delete "
                               "buckets of another release, so it is not run")
            return []
        if uv_binary.newer_than_uv(lay, current):
            record["error"] = (f"{', '.join(uv_binary.newer_than_uv(lay, current))} written by "
                               f"a newer uv than {binary}: its prune would delete them")
            return []
        tops = uvcache.prune_ci_plan(tree, lay, current)
        prefixes = tuple(t + "/" for t in tops)
        files = [f for f in tree.files if f.path in tops or f.path.startswith(prefixes)]
        candidates.append(policy.Candidate(
            "uv", root, "uv cache prune --ci", "", sum(f.size for f in files),
            walk.freed_bytes(files), int(time.time_ns()), True, ("prune-ci", tops, files)))

    def plan(chosen: List[policy.Selected]) -> List[UvPlan]:
        ci = [s for s in chosen if isinstance(s.candidate.ref, tuple)]
        names = sorted(s.candidate.ref for s in chosen if isinstance(s.candidate.ref, str))
        wires = []
        if ci:
            _tag, tops, files = ci[0].candidate.ref
            wires.append(plan_wire(record, "prune-ci", [], tops, files, binary,
                                   lay=lay, environ=environ))
        if names:
            wires.append(clean_wire(names, chosen, ci))
        record["removal"] = figures.merge([w["figures"] for w in wires])
        return wires

    def clean_wire(names: List[str], chosen: List[policy.Selected], ci: List[policy.Selected]
                   ) -> UvPlan:
        tops, files = uvcache.removal_plan(root, tree, lay, names)
        if ci:  # what prune --ci removes first is not removed twice
            gone = tuple(t + "/" for t in ci[0].candidate.ref[1])
            taken = set(ci[0].candidate.ref[1])
            tops = [t for t in tops if t not in taken and not t.startswith(gone)]
            files = [f for f in files if f.path not in taken and not f.path.startswith(gone)]
        rules_of = {}
        for s in chosen:  # the packages' rules (the --ci entry is a plan of its own)
            if not isinstance(s.candidate.ref, str):
                continue
            for entry in lay.packages[s.candidate.ref].entries:
                rules_of[entry] = s.rule
        return plan_wire(record, "clean", names, tops, files, binary, rules_of,
                         lay=lay, environ=environ)

    # the scope holds the record itself: the policy's figures are set on it
    return [policy.Scope("uv", root, cast(Dict[str, Any], record), record["bytes"], candidates,
                         plan)]

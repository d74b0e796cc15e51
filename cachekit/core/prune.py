"""Prune candidates of the managers not yet in packages of their own (uv), served through
``managers/legacy``; the generic prune is ``ops/prune``.

An entry is what goes as a whole: a pip wheel, a pip HTTP entry (metadata and body), a
conda package no environment uses (extracted directory and archive), a conda archive
whose extracted package stays. Selection is ``policy``'s; the plans are the managers'
own wire formats, applied by the same code as ``remove`` and ``clean``.

Ages come from ``lstat`` only. Where a body is opened to learn its package (``--keep``
needs names), its access time is put back, so a dry run changes no ranking.
"""

import time
from typing import Any, Dict, List

from cachekit.core import policy
from cachekit.core.fs import mounts, walk


def _uv_scope(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any]
              ) -> List[policy.Scope]:
    """uv packages as entries (removed with ``uv cache clean PKG``); with ``--ci`` one more
    entry, what ``uv cache prune --ci`` removes: pre-built wheels and unpacked archives,
    keeping the wheels uv built from source."""
    from cachekit.core import uv as uvcache
    from cachekit.core import uv_serve

    record = uv_serve.cache_record(environ)
    result["caches"].append(record)
    if not record["exists"]:
        return []
    binary = uv_serve.binary_for(request, environ, record)
    if record.get("error"):
        return []
    uv_serve.refuse_unsafe_root(record["path"], environ, record["source"], "prune")
    root, tree, lay = uv_serve.scan(record)
    if tree.errors:
        record["error"] = f"{root} could not be read fully; nothing is pruned from it"
        return []
    if not binary:
        record["error"] = (f"{uv_serve.NOT_FOUND}: cachekit prunes a uv cache only "
                           "through uv (`uv cache clean PKG`, `uv cache prune --ci`)")
        return []
    clock, why = mounts.last_use_clock(root)
    record["last_use"] = why
    rules = request.get("policy") or {}
    candidates = []
    for name, pkg in sorted(lay.packages.items()):
        last = max((walk.last_use(f, clock) for f in pkg.files), default=0)
        candidates.append(policy.Candidate("uv", root, name, name,
                                           sum(f.size for f in pkg.files),
                                           walk.freed_bytes(pkg.files), last, False, name))
    if rules.get("ci"):
        current = uv_serve.current_buckets(binary)
        if current is None:
            record["error"] = (f"{binary} is a uv release whose cache layout cachekit does not "
                               "know (it knows uv 0.13): its `uv cache prune --ci` could delete "
                               "buckets of another release, so it is not run")
            return []
        if uv_serve.newer_than_uv(lay, current):
            record["error"] = (f"{', '.join(uv_serve.newer_than_uv(lay, current))} written by "
                               f"a newer uv than {binary}: its prune would delete them")
            return []
        tops = uvcache.prune_ci_plan(tree, lay, current)
        prefixes = tuple(t + "/" for t in tops)
        files = [f for f in tree.files if f.path in tops or f.path.startswith(prefixes)]
        candidates.append(policy.Candidate(
            "uv", root, "uv cache prune --ci", "", sum(f.size for f in files),
            walk.freed_bytes(files), int(time.time_ns()), True, ("prune-ci", tops, files)))

    def plan(chosen: List[policy.Selected]) -> Any:
        ci = [s for s in chosen if isinstance(s.candidate.ref, tuple)]
        names = sorted(s.candidate.ref for s in chosen if isinstance(s.candidate.ref, str))
        wires = []
        if ci:
            _tag, tops, files = ci[0].candidate.ref
            wires.append(uv_serve.plan_wire(record, "prune-ci", [], tops, files, binary,
                                            lay=lay, environ=environ))
        if names:
            wires.append(clean_wire(names, chosen, ci))
        from cachekit.core import uv_figures

        record["removal"] = uv_figures.merge([w["figures"] for w in wires])
        return wires

    def clean_wire(names: List[str], chosen: List[policy.Selected], ci: List[policy.Selected]
                   ) -> Dict[str, Any]:
        tops, files = uvcache.removal_plan(root, tree, lay, names)
        if ci:  # what prune --ci removes first is not removed twice
            gone = tuple(t + "/" for t in ci[0].candidate.ref[1])
            taken = set(ci[0].candidate.ref[1])
            tops = [t for t in tops if t not in taken and not t.startswith(gone)]
            files = [f for f in files if f.path not in taken and not f.path.startswith(gone)]
        rules_of = {}
        for s in chosen:
            for entry in lay.packages[s.candidate.ref].entries:
                rules_of[entry] = s.rule
        return uv_serve.plan_wire(record, "clean", names, tops, files, binary, rules_of,
                                  lay=lay, environ=environ)

    return [policy.Scope("uv", root, record, record["bytes"], candidates, plan)]

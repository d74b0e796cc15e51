"""``prune``'s Poetry entries: each release (its metadata in every repository, its HTTP
cache entries, its artifacts), each project's index pages, and each HTTP entry no
release names.

Last use is the newest access (or, on a ``noatime`` mount, modification) time of the
entry's files: Poetry reads release metadata when it resolves and an artifact when it
installs. ``--ci`` takes what is cheap to download again: every entry but a release
whose artifacts hold a wheel Poetry built from an sdist.
"""

from typing import Any, Dict, List, cast

from ... import policy, safety
from ...fs import mounts, walk
from ...wire import Run, not_fully_read
from . import cache as pcache
from . import plan as pplan
from .record import PoetryCache, real_root


def scopes(record: PoetryCache, run: Run) -> List[policy.Scope]:
    safety.refuse("poetry", record["path"] or "", run.environ, "prune", record["source"])
    root = real_root(record)
    lay = pcache.layout(root)
    record["bytes"] = sum(f.size for f in lay.repo_files) + sum(
        f.size for f in lay.artifact_files)
    record["files"] = len(lay.repo_files) + len(lay.artifact_files)
    record["packages"] = len({k[0] for k in lay.releases})
    if lay.errors:
        record["error"] = not_fully_read(root, "pruned")
        return []
    clock, why = mounts.last_use_clock(root)
    record["last_use"] = why
    candidates = []
    for key, rel in sorted(lay.releases.items()):
        last = max((walk.last_use(f, clock) for f in rel.files), default=0)
        entry = pcache.shown_path(rel)
        candidates.append(policy.Candidate(
            "poetry", root, entry, key[0], sum(f.size for f in rel.files),
            walk.freed_bytes(rel.files), last, not rel.built, ("release", key)))
    for stem, files in sorted(lay.stray_http.items()):
        last = max(walk.last_use(f, clock) for f in files)
        candidates.append(policy.Candidate(
            "poetry", root, stem, "", sum(f.size for f in files), walk.freed_bytes(files),
            last, True, ("http", stem)))

    def plan(chosen: List[policy.Selected]) -> List[pplan.PoetryPlan]:
        items: List[pplan.Item] = []
        names = []
        for s in chosen:
            tag, ref = s.candidate.ref
            if tag == "release":
                items += pplan.release_items(root, lay, ref, reason=s.rule)
                names.append(s.candidate.entry)
            else:
                items += pplan.stray_items(ref, lay.stray_http[ref], s.rule)
        if not items:
            return []
        return [pplan.plan_wire(root, record["root_id"], "prune", items, names)]

    return [policy.Scope("poetry", root, cast(Dict[str, Any], record), record["bytes"],
                         candidates, plan)]

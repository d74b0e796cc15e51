"""``prune``'s PDM entries, ranked by ``policy`` like every manager's.

An entry is what goes as a whole: a built wheel of ``wheels/`` (one file), a package of
``packages/`` that no installation uses (its directory), a metadata file, and the
``http/`` and ``hashes/`` buckets, each one entry (neither is per package: the HTTP cache
is one SQLite file, a hash file is named by the hash of a URL). Last use is the newest
access (or, on a ``noatime`` mount, modification) of the entry's files; a package's own
``.referrers``, ``.lock`` and ``.checksum`` count by modification only (``.referrers``
is rewritten by each install that links to the package, and read by cachekit itself). ``--ci`` takes
what is cheap to fetch again (the HTTP and hash caches, metadata, unpacked packages) and
keeps the wheels PDM built from sdists, as ``uv cache prune --ci`` keeps uv's.
"""

import os
from typing import Any, Dict, List, Tuple, cast

from ... import policy, safety
from ...fs import mounts, walk
from ...wire import CacheRecord, Run, not_fully_read
from . import cache as pdmcache
from . import plan as pdmplan


def scopes(record: CacheRecord, run: Run) -> List[policy.Scope]:
    root = record["path"] or ""
    safety.refuse("pdm", root, run.environ, "prune", record["source"])
    clock, why = mounts.last_use_clock(root)
    record["last_use"] = why
    st = os.lstat(root)
    root_id = [st.st_dev, st.st_ino]
    candidates: List[policy.Candidate] = []
    trees = {b: pdmcache.tree_of(root, b) for b in ("wheels", "metadata", "http", "hashes")}
    if any(t.errors for t in trees.values()):
        record["error"] = not_fully_read(root, "pruned")
        return []
    for f in trees["wheels"].files:
        if f.kind == "o":
            continue
        name = pdmcache.wheel_parts(f.path.rsplit("/", 1)[-1])[0]
        candidates.append(policy.Candidate("pdm", root, f.path, name, f.size,
                                           walk.freed_bytes([f]), walk.last_use(f, clock),
                                           False, ("file", f, "built wheel")))
    for f in trees["metadata"].files:
        if f.kind != "o":
            candidates.append(policy.Candidate("pdm", root, f.path, "", f.size,
                                               walk.freed_bytes([f]), walk.last_use(f, clock),
                                               True, ("file", f, "metadata cache file")))
    for bucket in ("http", "hashes"):
        files = [f for f in trees[bucket].files if f.kind != "o"]
        if files:
            candidates.append(policy.Candidate(
                "pdm", root, bucket, "", sum(f.size for f in files), walk.freed_bytes(files),
                max(walk.last_use(f, clock) for f in files), True, ("sweep", bucket)))
    kept: List[Dict[str, Any]] = []
    for pkg, files in pdmcache.scan_packages(root):
        why = pdmcache.in_use_reason(pkg)
        if why:
            kept.append({"manager": "pdm", "path": os.path.join(root, pkg.entry),
                         "reason": why})
            continue
        # PDM's own files count by their writes only: cachekit reads .referrers itself
        last = max((f.mtime_ns if f.path.rsplit("/", 1)[-1] in pdmcache.PACKAGE_META
                    else walk.last_use(f, clock) for f in files),
                   default=os.lstat(os.path.join(root, pkg.entry)).st_mtime_ns)
        candidates.append(policy.Candidate(
            "pdm", root, pkg.entry, pkg.name, sum(f.size for f in files),
            walk.freed_bytes(files), last, True, ("package", pkg, files)))

    def plan(chosen: List[policy.Selected]) -> pdmplan.PdmPlan:
        wire = pdmplan.new_plan(root, root_id)
        for s in chosen:
            ref: Tuple[Any, ...] = s.candidate.ref
            if ref[0] == "file":
                f = ref[1]
                pdmplan.add_files(wire, [f], lambda _f, s=s, ref=ref: (
                    f"{ref[2]}: {s.rule}", s.candidate.package))
            elif ref[0] == "sweep":
                pdmplan.add_sweep(wire, root, ref[1],
                                  f"{pdmplan.SWEEP_REASONS[ref[1]]}: {s.rule}")
            else:
                pdmplan.add_package(wire, root, ref[1], ref[2], f"{pdmplan.UNUSED}: {s.rule}")
        return wire

    scope = policy.Scope("pdm", root, cast(Dict[str, Any], record),
                         int(record.get("bytes") or 0), candidates, plan)
    scope.kept = kept
    return [scope]

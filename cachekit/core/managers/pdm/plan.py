"""PDM plans: what ``remove``, ``purge`` and ``prune`` would take, as data.

A plan has three parts, each applied by ``apply``:
- ``files``: single files (built wheels, metadata files), each unlinked only while its
  inode and mtime are those planned;
- ``sweeps``: whole buckets emptied as ``pdm cache clear TYPE`` empties them (every file,
  the directories kept), counted here and walked again on apply, where a file changed
  after the plan began stays (the plan holds counts, not a record per hash file);
- ``packages``: ``packages/<wheel>.cache`` directories, removed whole, each only if it is
  still the directory planned and still unused when its turn comes.
"""

import os
import time
from typing import Any, Dict, List, Tuple

from ... import Refused
from ...fs import walk
from ...wire import PlanWire, Row
from . import cache as pdmcache

SWEEP_REASONS = {b: f"every file, directories kept (pdm cache clear {b})"
                 for b in ("hashes", "http", "wheels", "metadata")}
UNUSED = "unpacked wheel no installation uses"


class PdmPlan(PlanWire, total=False):
    files: List[List[Any]]  # [rel, size, ino, mtime_ns, reason, package]
    sweeps: List[Dict[str, Any]]  # {"bucket", "files", "bytes", "freed", "reason"}
    planned_at_ns: int
    packages: List[List[Any]]  # [rel, bytes, ino, reason, name, freed, files, dirs]


def new_plan(root: str, root_id: List[int]) -> PdmPlan:
    return {"manager": "pdm", "root": root, "root_id": root_id, "freed_bytes": 0,
            "files": [], "sweeps": [], "planned_at_ns": time.time_ns(), "packages": []}


def add_files(plan: PdmPlan, files: List[walk.FileStat], reason_of: Any) -> None:
    for f in files:
        reason, package = reason_of(f)
        plan["files"].append([f.path, f.size, f.ino, f.mtime_ns, reason, package])
    plan["freed_bytes"] += walk.freed_bytes(files)


def add_sweep(plan: PdmPlan, root: str, bucket: str, reason: str = "") -> None:
    """A whole bucket, in counts (``pdm cache clear BUCKET``)."""
    if not pdmcache.real_dir(root, bucket):
        return  # absent, or not a directory itself: a symlink is never followed
    path = os.path.join(root, bucket)
    totals = walk.scan_totals(path, lambda top, name, kind: None if kind == "o" else "all",
                              disk=False)
    files, size = totals.counts.get("all", [0, 0])
    shared = totals.shared.get("all", [0, 0])[1]
    if totals.errors:
        raise Refused(f"{path} could not be read fully ({totals.errors[0][0]}: "
                      f"{totals.errors[0][1]}); nothing is removed from it")
    plan["sweeps"].append({"bucket": bucket, "files": files, "bytes": size,
                           "freed": size - shared, "reason": reason or SWEEP_REASONS[bucket]})
    plan["freed_bytes"] += size - shared


def add_package(plan: PdmPlan, root: str, pkg: pdmcache.Package,
                files: List[walk.FileStat], reason: str = UNUSED) -> None:
    st = os.lstat(os.path.join(root, pkg.entry))
    freed = walk.freed_bytes(files)
    plan["packages"].append([pkg.entry, sum(f.size for f in files), st.st_ino, reason,
                             pkg.name, freed, len(files), pkg.dirs])
    plan["freed_bytes"] += freed


def is_empty(plan: PdmPlan) -> bool:
    return not (plan["files"] or plan["sweeps"] or plan["packages"])


def rows(plan: PdmPlan) -> List[Row]:
    """The plan as the rows a dry run shows: each file, each bucket swept, each package."""
    root = plan["root"]
    out: List[Row] = [{"path": os.path.join(root, rel), "manager": "pdm", "bytes": size,
                       "reason": reason, "package": package}
                      for rel, size, _ino, _mtime, reason, package in plan["files"]]
    out += [{"path": os.path.join(root, s["bucket"]), "manager": "pdm", "bytes": s["bytes"],
             "files": s["files"], "freed": s["freed"], "reason": s["reason"], "package": ""}
            for s in plan["sweeps"]]
    out += [{"path": os.path.join(root, rel), "manager": "pdm", "bytes": size, "freed": freed,
             "files": files, "dirs": dirs, "reason": reason, "package": name}
            for rel, size, _ino, reason, name, freed, files, dirs in plan["packages"]]
    return out


def remove_plan(root: str, root_id: List[int], pattern: str, kept: List[Tuple[str, str]]
                ) -> PdmPlan:
    """``remove PATTERN``: matching wheels of ``wheels/`` (PDM's glob over file names, or
    the normalised project name) and matching packages no installation uses; the packages
    in use go to ``kept`` (entry, why)."""
    plan = new_plan(root, root_id)
    tree = pdmcache.tree_of(root, "wheels")
    if tree.errors:
        raise Refused(f"{root}/wheels could not be read fully; nothing is removed from it")
    picked: Dict[str, str] = {}
    for f in tree.files:
        if f.kind != "o":
            rule = pdmcache.matches(pattern, f.path.rsplit("/", 1)[-1])
            if rule:
                picked[f.path] = rule
    add_files(plan, [f for f in tree.files if f.path in picked], lambda f: (
        f"matched {picked[f.path]}", pdmcache.wheel_parts(f.path.rsplit("/", 1)[-1])[0]))
    chosen = {name: rule for name in pdmcache.package_names(root)
              for rule in [pdmcache.matches(pattern, name[:-len(".cache")])] if rule}
    if not chosen:
        return plan
    for pkg, files in pdmcache.scan_packages(root, only=set(chosen)):
        why = pdmcache.in_use_reason(pkg)
        if why:
            kept.append((pkg.entry, why))
            continue
        add_package(plan, root, pkg, files,
                    f"matched {chosen[pkg.entry.split('/', 1)[1]]}; {UNUSED}")
    return plan


def purge_plan(root: str, root_id: List[int], kept: List[Tuple[str, str]]) -> PdmPlan:
    """``purge``: what ``pdm cache clear`` removes (every file of the four file buckets,
    their directories kept, and each package no installation uses); the packages in use
    go to ``kept``."""
    plan = new_plan(root, root_id)
    for bucket in pdmcache.FILE_BUCKETS:
        add_sweep(plan, root, bucket)
    for pkg, files in pdmcache.scan_packages(root):
        why = pdmcache.in_use_reason(pkg)
        if why:
            kept.append((pkg.entry, why))
            continue
        add_package(plan, root, pkg, files)
    return plan

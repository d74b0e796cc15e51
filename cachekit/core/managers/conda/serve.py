"""The agent's conda half: serve dir, info, report, list, remove, purge, clean and apply.

Plans travel as data (``plans.plan_to_wire``) and are applied by ``apply.execute`` only
after the cache is found again, recognised, and each package re-checked.
"""

import os
from typing import Any, Dict, List, Tuple

from cachekit.core import Refused
from cachekit.core.fs.subtree import Stats
from cachekit.core.managers.conda import cache as condacache
from cachekit.core.managers.conda import location
from cachekit.core.managers.conda.apply import apply_plans
from cachekit.core.managers.conda.clean import (
    ALL_FLAGS,
    CLEAN_FLAGS,
    PURGE_FLAGS,
    dirs_to_walk,
    matches,
    plan_cache,
)
from cachekit.core.managers.conda.loose import (
    check_prefix,
    loose_files,
    real_dir,
    refuse_unsafe_roots,
)
from cachekit.core.managers.conda.plans import Progress, force_plan, offer, plan_to_wire
from cachekit.core.managers.conda.usage import Usage, read_usage

DESTRUCTIVE = ("remove", "purge", "clean")


def serve(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any],
          progress: Progress = None) -> None:
    op = request["op"]
    loc = location.locate(environ)
    result["environments"] = [{"manager": "conda", "path": e.path, "source": e.source}
                              for e in loc.envs]
    records = [conda_cache_record(c, loc) for c in loc.caches]
    if loc.errors:  # one line per problem, on the first cache: not repeated per cache
        (records or [_no_cache(result)])[0]["error"] = "; ".join(loc.errors)
    result["caches"] += records
    if op == "dir":
        return
    if op == "apply":
        apply_plans(request, loc, result, progress, environ)
        return
    flags = _flags(request)
    if op in DESTRUCTIVE:  # before anything is read or walked
        refuse_unsafe_roots(request, loc, flags, environ)
    usage = read_usage(e.path for e in loc.envs)
    for line in usage.warnings + usage.notes:
        result["warnings"].append(f"conda: {line}")
    if op in DESTRUCTIVE and (loc.errors or usage.warnings):
        # An unreadable config or environment may hide a user of any package.
        problem = (loc.errors + usage.warnings)[0]
        raise Refused(f"conda: {problem}; nothing cleaned until it is fixed")
    if op == "clean" and "tempfiles" in flags:  # checked before anything is removed
        for path in request.get("tempfile_paths") or []:
            check_prefix(real_dir(path), loc)
    walked: Dict[str, List[str]] = {}  # directories walked already -> the temp files in them
    served = set()
    for cache, record in zip(loc.caches, records):
        if not cache.exists:
            continue
        root = os.path.realpath(cache.path)
        if root in served:  # two names for one directory: count and clean it once
            record["warnings"].append(f"the same directory as another cache ({root})")
            record["exists"] = False
            continue
        served.add(root)
        listing = condacache.list_cache(root)
        if listing.errors and listing.errors[0][0] == "":
            record["error"] = f"{cache.path}: cannot list it: {listing.errors[0][1]}"
            continue
        if op in ("info", "report"):
            rels = [e.rel for e in listing.entries if e.kind in condacache.DIR_KINDS]
            stats = condacache.walk_many(root, rels)
            record.update(condacache.summarize(listing, stats, usage))
            record["reclaimable_bytes"] = _reclaimable(listing, stats, usage, record)
            _warn_unreadable(record, root, listing, stats)
            continue
        if op == "list":
            _list(request, root, listing, usage, result)
            continue
        if not cache.writable or not cache.configured:
            if op == "clean" or op == "purge":
                why = ("read-only cache (no writable urls.txt): never cleaned"
                       if cache.configured else "not in conda's pkgs_dirs here (found beside "
                       "them): point CONDA_PKGS_DIRS at it to clean it")
                result.setdefault("kept", []).append(
                    {"manager": "conda", "path": cache.path, "reason": why})
            continue
        pattern = request.get("pattern") if op == "remove" else None
        if op == "remove" and not pattern:
            raise Refused("remove needs a pattern (use purge to remove everything)")
        if "force" in flags:
            if os.path.islink(cache.path.rstrip("/")):
                raise Refused(f"--force-pkgs-dirs: {cache.path} is a symlink to {root}; "
                              "cachekit removes neither the link nor its target whole")
            if listing.errors:
                raise Refused(f"--force-pkgs-dirs: {cache.path} could not be read fully "
                              f"({listing.errors[0][0] or '.'}: {listing.errors[0][1]})")
            plan = force_plan(root, listing, usage, request)
            wire = plan_to_wire("pkgs", cache.path, root, plan)
            wire.update(remove_root=True, break_environments=bool(
                request.get("break_environments")))
            offer(wire, request, record, result, usage, progress)
            continue
        else:
            stats = condacache.walk_many(root, dirs_to_walk(listing, usage, flags, pattern))
            for rel, st in stats.items():
                walked[os.path.join(root, rel)] = [os.path.join(root, t.rel) for t in st.marked]
            if listing.errors or any(s.errors for s in stats.values()):
                _warn_unreadable(record, root, listing, stats)
                record["error"] = (f"{cache.path} could not be read fully; nothing is removed "
                                   "from it")
                continue
            held = {e.rel for e in listing.of("lock") if "lock" in flags
                    and condacache.lock_held(os.path.join(root, e.rel))}
            plan = plan_cache(listing, stats, usage, flags, pattern, held)
        offer(plan_to_wire("pkgs", cache.path, root, plan), request, record, result, usage,
               progress)
    if op == "clean" and "tempfiles" in flags:
        loose_files(request, loc, result, usage, progress, "tempfiles", walked)
    if op == "clean" and "trash" in flags:
        loose_files(request, loc, result, usage, progress, "trash", {})


def _flags(request: Dict[str, Any]) -> Tuple[str, ...]:
    if request["op"] == "purge":
        return PURGE_FLAGS
    if request["op"] != "clean":
        return ()
    flags = tuple(request.get("flags") or ())
    if "all" in flags:
        flags = tuple(dict.fromkeys(ALL_FLAGS + tuple(f for f in flags if f != "all")))
    unknown = [f for f in flags if f not in CLEAN_FLAGS]
    if unknown:
        raise Refused(f"unknown clean target {unknown[0]!r}")
    if not flags:
        raise Refused("clean needs at least one target (--tarballs, --packages, --index-cache,"
                      " --tempfiles, --logfiles, --trash, --all or --force-pkgs-dirs)")
    if "force" in flags and len(flags) > 1:
        raise Refused("--force-pkgs-dirs removes whole caches; give it alone")
    return flags


def conda_cache_record(cache: location.CondaCache, loc: location.CondaLocation
            ) -> Dict[str, Any]:
    return {"manager": "conda", "path": cache.path, "source": cache.source,
            "exists": cache.exists, "enabled": True, "writable": cache.writable,
            "configured": cache.configured, "config_files": loc.config_files,
            "roots": [r for r, _ in loc.roots], "warnings": [], "error": None}


def _no_cache(result: Dict[str, Any]) -> Dict[str, Any]:
    record: Dict[str, Any] = {"manager": "conda", "path": None, "source": "", "exists": False,
              "enabled": False, "warnings": [], "error": None}
    result["caches"].append(record)
    return record


def _reclaimable(listing: condacache.Listing, stats: Dict[str, Stats],
                 usage: Usage, record: Dict[str, Any]) -> int:
    """What ``clean --all`` would free here (0 for a cache conda treats as read-only)."""
    if not record["writable"] or listing.errors:
        return 0
    plan = plan_cache(listing, stats, usage, PURGE_FLAGS)
    return sum(i.freed for i in plan.items)


def _warn_unreadable(record: Dict[str, Any], root: str, listing: condacache.Listing,
                     stats: Dict[str, Stats]) -> None:
    errors = list(listing.errors) + [e for s in stats.values() for e in s.errors]
    if errors:
        rel, err = errors[0]
        record["warnings"].append(
            f"{len(errors)} path(s) could not be read, e.g. {os.path.join(root, rel)}: {err}")


def _list(request: Dict[str, Any], root: str, listing: condacache.Listing,
          usage: Usage, result: Dict[str, Any]) -> None:
    pattern = request.get("pattern") or "*"
    for e in listing.of("tarball", "partial", "package"):
        if not matches(e.rel, pattern):
            continue
        name, version, build = condacache.split_dist(condacache.dist_name(e.rel))
        used = usage.reasons(root, e.rel) if e.kind == "package" else []
        result["entries"].append({
            "manager": "conda", "name": name, "version": version, "build": build,
            "kind": "extracted" if e.kind == "package" else e.kind,
            "path": os.path.join(root, e.rel), "bytes": e.size if e.kind != "package" else None,
            "used_by": used})

"""What the conda manager serves: each cache's figures (``info``, ``report``), its
entries (``list``) and the plans of ``remove``, ``purge`` and ``clean``.

Every method starts from ``location.locate`` and ``conda_format.read_usage``; a directory two
settings name is counted and cleaned once.
"""

import os
from typing import Dict, Iterator, List, NamedTuple, Optional, Set, Tuple

from ... import Refused
from ...fs.subtree import Stats
from ...wire import EntryRow, Request, Result, Run, not_fully_read, unreadable
from ..conda_format import Usage, dist_name, read_usage, split_dist
from . import cache as condacache
from . import location, walks
from .cache import CondaRecord
from .clean import (
    ALL_FLAGS,
    CLEAN_FLAGS,
    PURGE_FLAGS,
    dirs_to_walk,
    matches,
    plan_cache,
)
from .loose import (
    check_prefix,
    loose_files,
    real_dir,
    refuse_unsafe_roots,
)
from .plans import CondaPlan, force_plan, offer, plan_to_wire


class CondaEntry(EntryRow, total=False):
    """A cached conda package as ``list`` shows it."""

    build: str
    used_by: List[str]  # why it stays: the environments recording it


def cache_record(cache: location.CondaCache, loc: location.CondaLocation) -> CondaRecord:
    return {"manager": "conda", "path": cache.path, "source": cache.source,
            "exists": cache.exists, "enabled": True, "writable": cache.writable,
            "configured": cache.configured, "config_files": loc.config_files,
            "roots": [r for r, _ in loc.roots], "warnings": [], "error": None}


def records(loc: location.CondaLocation, result: Result) -> List[CondaRecord]:
    """Every cache's record, and the environments in the result; a problem locating them
    is said once, on the first record (one without a path when there is none)."""
    result["environments"] = [{"manager": "conda", "path": e.path, "source": e.source}
                              for e in loc.envs]
    out = [cache_record(c, loc) for c in loc.caches]
    if loc.errors:
        if not out:
            out.append({"manager": "conda", "path": None, "source": "", "exists": False,
                        "enabled": False, "warnings": [], "error": None})
        out[0]["error"] = "; ".join(loc.errors)
    return out


def read_usage_of(loc: location.CondaLocation, result: Result) -> Usage:
    """The environments' usage, what could not be read said in the result's warnings."""
    usage = read_usage(e.path for e in loc.envs)
    for line in usage.warnings + usage.notes:
        result["warnings"].append(f"conda: {line}")
    return usage


Served = Tuple[location.CondaCache, CondaRecord, str, condacache.Listing]


def served(loc: location.CondaLocation, caches: List[CondaRecord]) -> Iterator[Served]:
    """Each existing cache once, listed: (cache, its record, its real path, listing)."""
    seen: Set[str] = set()
    for cache, record in zip(loc.caches, caches):
        if not cache.exists:
            continue
        root = os.path.realpath(cache.path)
        if root in seen:  # two names for one directory: count and clean it once
            record["warnings"].append(f"the same directory as another cache ({root})")
            record["exists"] = False
            continue
        seen.add(root)
        listing = condacache.list_cache(root)
        if listing.errors and listing.errors[0][0] == "":
            record["error"] = f"{cache.path}: cannot list it: {listing.errors[0][1]}"
            continue
        yield cache, record, root, listing


def measure(loc: location.CondaLocation, caches: List[CondaRecord], usage: Usage) -> None:
    """``info`` and ``report``: each cache's figures, and what ``clean --all`` frees."""
    for _cache, record, root, listing in served(loc, caches):
        rels = [e.rel for e in listing.entries if e.kind in condacache.DIR_KINDS]
        stats = condacache.walk_many(root, rels)
        record.update(condacache.summarize(listing, stats, usage))
        record["reclaimable_bytes"] = _reclaimable(listing, stats, usage, record)
        _warn_unreadable(record, root, listing, stats)


def entries(loc: location.CondaLocation, caches: List[CondaRecord], usage: Usage,
            pattern: Optional[str]) -> List[EntryRow]:
    """``list``: archives and extracted packages matching ``pattern``, with who uses them."""
    out: List[EntryRow] = []
    for _cache, _record, root, listing in served(loc, caches):
        for e in listing.of("tarball", "partial", "package"):
            if not matches(e.rel, pattern or "*"):
                continue
            name, version, build = split_dist(dist_name(e.rel))
            used = usage.reasons(root, e.rel) if e.kind == "package" else []
            row: CondaEntry = {
                "manager": "conda", "name": name, "version": version, "build": build,
                "kind": "extracted" if e.kind == "package" else e.kind,
                "path": os.path.join(root, e.rel),
                "bytes": e.size if e.kind != "package" else None, "used_by": used}
            out.append(row)
    return out


def plan(run: Run, loc: location.CondaLocation, caches: List[CondaRecord]) -> List[CondaPlan]:
    """``remove``, ``purge``, ``clean``: every root refused first if it may not be
    cleaned, then each writable cache's plan and the temp and trash files'.

    Two passes: the first decides, cache by cache, what must be walked; one fan-out walks
    all of it and searches for temp files (``walks``); the second makes the plans, in
    cache order, from what was read."""
    request, result, op = run.request, run.result, run.op
    flags = clean_flags(request)
    refuse_unsafe_roots(request, loc, flags, run.environ)  # before anything is read
    usage = read_usage_of(loc, result)
    if loc.errors or usage.warnings:
        # An unreadable config or environment may hide a user of any package.
        problem = (loc.errors + usage.warnings)[0]
        raise Refused(f"conda: {problem}; nothing cleaned until it is fixed")
    if op == "clean" and "tempfiles" in flags:  # checked before anything is removed
        for path in request.get("tempfile_paths") or []:
            check_prefix(real_dir(path), loc)
    pattern = request.get("pattern") if op == "remove" else None
    steps: List[_Step] = []
    for cache, record, root, listing in served(loc, caches):
        if not cache.writable or not cache.configured:
            steps.append(_Step(cache, record, root, listing, None))
            continue
        if op == "remove" and not pattern:
            raise Refused("remove needs a pattern (use purge to remove everything)")
        rels = None if "force" in flags else dirs_to_walk(listing, usage, flags, pattern)
        steps.append(_Step(cache, record, root, listing, rels))
    sized = [[condacache.walk_job(s.root, rel) for rel in s.rels or []] for s in steps]
    looked_for = walks.searches(request, loc, flags if op == "clean" else (),
                                [os.path.join(s.root, rel) for s in steps for rel in s.rels or []])
    walked_stats, searched = walks.run(sized, looked_for)
    plans: List[CondaPlan] = []
    walked: Dict[str, List[str]] = {}  # directories walked already -> the temp files in them
    for step, stats in zip(steps, walked_stats):
        done = _plan_cache(step, stats, run, usage, flags, pattern, walked)
        if done is not None:
            plans.append(done)
    if op == "clean" and "tempfiles" in flags:
        plans += loose_files(request, loc, result, "tempfiles", walked, searched)
    if op == "clean" and "trash" in flags:
        plans += loose_files(request, loc, result, "trash", {}, searched)
    return plans


class _Step(NamedTuple):
    """One served cache, as the first pass of ``plan`` left it: ``rels`` are the
    directories to walk (None: it is kept whole, or ``--force-pkgs-dirs`` plans it)."""

    cache: location.CondaCache
    record: CondaRecord
    root: str
    listing: condacache.Listing
    rels: Optional[List[str]]


def _plan_cache(step: _Step, stats: Dict[str, Stats], run: Run, usage: Usage,
                flags: Tuple[str, ...], pattern: Optional[str],
                walked: Dict[str, List[str]]) -> Optional[CondaPlan]:
    """One cache's plan from its walk (None: nothing to offer), the temp files the walk
    noted added to ``walked``."""
    cache, record, root, listing = step.cache, step.record, step.root, step.listing
    request, result, op = run.request, run.result, run.op
    if not cache.writable or not cache.configured:
        if op == "clean" or op == "purge":
            why = ("read-only cache (no writable urls.txt): never cleaned"
                   if cache.configured else "not in conda's pkgs_dirs here (found beside "
                   "them): point CONDA_PKGS_DIRS at it to clean it")
            result.setdefault("kept", []).append(
                {"manager": "conda", "path": cache.path, "reason": why})
        return None
    if "force" in flags:
        if os.path.islink(cache.path.rstrip("/")):
            raise Refused(f"--force-pkgs-dirs: {cache.path} is a symlink to {root}; "
                          "cachekit removes neither the link nor its target whole")
        if listing.errors:
            raise Refused(f"--force-pkgs-dirs: {cache.path} could not be read fully "
                          f"({listing.errors[0][0] or '.'}: {listing.errors[0][1]})")
        breaking = bool(request.get("break_environments"))
        wire = plan_to_wire("pkgs", cache.path, root,
                            force_plan(root, listing, usage, breaking))
        wire["remove_root"], wire["break_environments"] = True, breaking
        return offer(wire, result, record)
    for rel, st in stats.items():
        walked[os.path.join(root, rel)] = [os.path.join(root, t.rel) for t in st.marked]
    if listing.errors or any(s.errors for s in stats.values()):
        _warn_unreadable(record, root, listing, stats)
        record["error"] = not_fully_read(cache.path, "removed")
        return None
    held = {e.rel for e in listing.of("lock") if "lock" in flags
            and condacache.lock_held(os.path.join(root, e.rel))}
    chosen = plan_cache(listing, stats, usage, flags, pattern, held)
    return offer(plan_to_wire("pkgs", cache.path, root, chosen), result, record)


def clean_flags(request: Request) -> Tuple[str, ...]:
    """The ``clean`` targets a request names (``purge``: every target conda's -a has but
    temp files; ``remove``: none, its pattern selects)."""
    if request.get("op") == "purge":
        return PURGE_FLAGS
    if request.get("op") != "clean":
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


def _reclaimable(listing: condacache.Listing, stats: Dict[str, Stats], usage: Usage,
                 record: CondaRecord) -> int:
    """What ``clean --all`` would free here (0 for a cache conda treats as read-only)."""
    if not record["writable"] or listing.errors:
        return 0
    chosen = plan_cache(listing, stats, usage, PURGE_FLAGS)
    return sum(i.freed for i in chosen.items)


def _warn_unreadable(record: CondaRecord, root: str, listing: condacache.Listing,
                     stats: Dict[str, Stats]) -> None:
    errors = list(listing.errors) + [e for s in stats.values() for e in s.errors]
    if errors:
        rel, err = errors[0]
        record["warnings"].append(unreadable(len(errors), os.path.join(root, rel), err,
                                             skipped=False))


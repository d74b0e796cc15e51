"""The agent's conda half: serve dir, info, report, list, remove, purge, clean and apply.

Plans travel as data (``plan_to_wire``) and are applied by ``execute`` only after the
cache is found again, recognised, and each package re-checked: one that an environment
started to use, or whose files gained a hard link, since the plan was made is kept.
"""

import os
import stat
from typing import Any, Callable, Dict, List, Optional, Tuple

from cachekit.core import Refused, conda_location, safety
from cachekit.core import conda as condacache
from cachekit.core.conda_clean import (
    ALL_FLAGS,
    CLEAN_FLAGS,
    PURGE_FLAGS,
    CachePlan,
    Item,
    dirs_to_walk,
    matches,
    package_verdict,
    plan_cache,
)
from cachekit.core.fs import remove as fsremove
from cachekit.core.fs import walk

Progress = Optional[Callable[[Dict[str, Any]], None]]
DESTRUCTIVE = ("remove", "purge", "clean")


def serve(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any],
          progress: Progress = None) -> None:
    op = request["op"]
    loc = conda_location.locate(environ)
    result["environments"] = [{"manager": "conda", "path": e.path, "source": e.source}
                              for e in loc.envs]
    records = [conda_cache_record(c, loc) for c in loc.caches]
    if loc.errors:  # one line per problem, on the first cache: not repeated per cache
        (records or [_no_cache(result)])[0]["error"] = "; ".join(loc.errors)
    result["caches"] += records
    if op == "dir":
        return
    if op == "apply":
        _apply(request, loc, result, progress, environ)
        return
    flags = _flags(request)
    if op in DESTRUCTIVE:  # before anything is read or walked
        refuse_unsafe_roots(request, loc, flags, environ)
    usage = condacache.read_usage(e.path for e in loc.envs)
    for line in usage.warnings + usage.notes:
        result["warnings"].append(f"conda: {line}")
    if op in DESTRUCTIVE and (loc.errors or usage.warnings):
        # An unreadable config or environment may hide a user of any package.
        problem = (loc.errors + usage.warnings)[0]
        raise Refused(f"conda: {problem}; nothing cleaned until it is fixed")
    if op == "clean" and "tempfiles" in flags:  # checked before anything is removed
        for path in request.get("tempfile_paths") or []:
            _check_prefix(_real_dir(path), loc)
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
            plan = _force_plan(root, listing, usage, request)
            wire = plan_to_wire("pkgs", cache.path, root, plan)
            wire.update(remove_root=True, break_environments=bool(
                request.get("break_environments")))
            _offer(wire, request, record, result, usage, progress)
            continue
        else:
            stats = condacache.walk_many(root, dirs_to_walk(listing, usage, flags, pattern))
            for rel, st in stats.items():
                walked[os.path.join(root, rel)] = [os.path.join(root, t.rel) for t in st.tempfiles]
            if listing.errors or any(s.errors for s in stats.values()):
                _warn_unreadable(record, root, listing, stats)
                record["error"] = (f"{cache.path} could not be read fully; nothing is removed "
                                   "from it")
                continue
            held = {e.rel for e in listing.of("lock") if "lock" in flags
                    and condacache.lock_held(os.path.join(root, e.rel))}
            plan = plan_cache(listing, stats, usage, flags, pattern, held)
        _offer(plan_to_wire("pkgs", cache.path, root, plan), request, record, result, usage,
               progress)
    if op == "clean" and "tempfiles" in flags:
        _loose_files(request, loc, result, usage, progress, "tempfiles", walked)
    if op == "clean" and "trash" in flags:
        _loose_files(request, loc, result, usage, progress, "trash", {})


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


def conda_cache_record(cache: conda_location.CondaCache, loc: conda_location.CondaLocation
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


def _reclaimable(listing: condacache.Listing, stats: Dict[str, condacache.Stats],
                 usage: condacache.Usage, record: Dict[str, Any]) -> int:
    """What ``clean --all`` would free here (0 for a cache conda treats as read-only)."""
    if not record["writable"] or listing.errors:
        return 0
    plan = plan_cache(listing, stats, usage, PURGE_FLAGS)
    return sum(i.freed for i in plan.items)


def _warn_unreadable(record: Dict[str, Any], root: str, listing: condacache.Listing,
                     stats: Dict[str, condacache.Stats]) -> None:
    errors = list(listing.errors) + [e for s in stats.values() for e in s.errors]
    if errors:
        rel, err = errors[0]
        record["warnings"].append(
            f"{len(errors)} path(s) could not be read, e.g. {os.path.join(root, rel)}: {err}")


def _list(request: Dict[str, Any], root: str, listing: condacache.Listing,
          usage: condacache.Usage, result: Dict[str, Any]) -> None:
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


def _force_plan(root: str, listing: condacache.Listing, usage: condacache.Usage,
                request: Dict[str, Any]) -> CachePlan:
    """``--force-pkgs-dirs``: everything in the cache, then the cache directory itself.

    Refused while environments use packages in it. Each top-level entry is its own item,
    so an apply removes what was listed, not what arrived since.
    """
    using = usage.envs_using(root, [e.rel for e in listing.of("package")])
    if using and not request.get("break_environments"):
        raise Refused(f"--force-pkgs-dirs would break environments that use packages in "
                      f"{root}: {_users(using)}; add --break-environments to remove it anyway")
    items = []
    reason = "whole package cache (--force-pkgs-dirs)"
    for name in sorted(os.listdir(root)):
        try:
            st = os.lstat(os.path.join(root, name))
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(st.st_mode):
            walked = condacache.walk_dir((root, name))
            if walked.errors:
                raise Refused(f"--force-pkgs-dirs: {root}/{walked.errors[0][0]} could not be "
                              f"read ({walked.errors[0][1]})")
            size, freed = walked.bytes, walked.freed
        else:
            size = st.st_size
            freed = size if stat.S_ISREG(st.st_mode) and st.st_nlink <= 1 else 0
        items.append(Item(name, "pkgs_entry", size, freed, st.st_ino, st.st_mtime_ns, reason,
                          stat.S_ISDIR(st.st_mode), ""))
    return CachePlan(items, [])


def _users(using: Dict[str, List[str]]) -> str:
    return "; ".join(f"{env} uses {', '.join(sorted(p)[:3])}"
                     + (f" and {len(p) - 3} more" if len(p) > 3 else "")
                     for env, p in sorted(using.items()))


def plan_to_wire(kind: str, shown: str, root: str, plan: CachePlan) -> Dict[str, Any]:
    st = os.lstat(root)
    return {"manager": "conda", "kind": kind, "root": root, "shown": shown,
            "root_id": [st.st_dev, st.st_ino],
            "freed_bytes": sum(i.freed for i in plan.items),
            "items": [list(i) for i in plan.items],
            "kept": [[k.rel, k.reason] for k in plan.kept]}


def wire_rows(wire: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [{"path": os.path.join(wire["root"], i.rel) if i.rel else wire["root"],
             "manager": "conda", "bytes": i.bytes, "reason": i.reason, "package": i.package,
             "kind": i.kind} for i in (Item(*raw) for raw in wire["items"])]


def _offer(wire: Dict[str, Any], request: Dict[str, Any], record: Optional[Dict[str, Any]],
           result: Dict[str, Any], usage: condacache.Usage, progress: Progress) -> None:
    """Show the plan (dry run) or carry it out at once (``apply`` in the same request)."""
    result.setdefault("plans", []).append(wire)
    result.setdefault("kept", []).extend(
        {"manager": "conda", "path": os.path.join(wire["root"], rel), "reason": why}
        for rel, why in wire["kept"])
    if record is not None:
        record["reclaimable_bytes"] = (record.get("reclaimable_bytes") or 0) + wire["freed_bytes"]
    if request.get("apply"):
        execute(wire, result, usage, progress)
    else:
        result["removed"] += [dict(r, ok=None) for r in wire_rows(wire)]


# Temp and trash files outside the caches ---------------------------------------------------

LOOSE = {
    "tempfiles": (condacache.TEMPFILE_SUFFIXES, "temp file of an interrupted transaction"),
    "trash": (condacache.TRASH_SUFFIXES, "trash file left by a removal"),
}


def _loose_files(request: Dict[str, Any], loc: conda_location.CondaLocation,
                 result: Dict[str, Any], usage: condacache.Usage, progress: Progress,
                 what: str, walked: Dict[str, List[str]]) -> None:
    """Temp files (``--tempfiles [PATH...]``: ``*.c~``, ``*.trash``) or trash files
    (``--trash``: ``*.mamba_trash``, ``*.conda_trash``) under each PATH (default: the root)."""
    suffixes, reason = LOOSE[what]
    tops = _loose_tops(request, loc, what)
    if not tops:
        result["warnings"].append(f"conda: --{what}: no conda root prefix found"
                                  + ("; give PATHs" if what == "tempfiles" else ""))
        return
    planned = {r["path"] for r in result["removed"]}
    for path, source in tops:
        top = _real_dir(path)
        _check_prefix(top, loc)
        # Packages walked for --packages already noted their temp files: not again.
        skip = {d for d in walked if d.startswith(top.rstrip("/") + "/")}
        found, errors = condacache.find_tempfiles(top, skip, suffixes)
        found += [path for d in skip for path in walked[d]]
        for rel, err in errors[:1]:
            result["warnings"].append(f"conda: {rel}: {err} (not searched for {what})")
        items = []
        for full in found:
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if full in planned:
                continue
            items.append(Item(os.path.relpath(full, top), what, st.st_size,
                              st.st_size if st.st_nlink <= 1 else 0, st.st_ino, st.st_mtime_ns,
                              reason, False, ""))
        wire = plan_to_wire(what, path, top, CachePlan(items, []))
        wire["source"] = source
        _offer(wire, request, None, result, usage, progress)


def _loose_tops(request: Dict[str, Any], loc: conda_location.CondaLocation, what: str
                ) -> List[Tuple[str, str]]:
    """The directories searched for temp or trash files, each with what chose it."""
    given = request.get("tempfile_paths") if what == "tempfiles" else None
    if given:
        return [(p, "--tempfiles") for p in given]
    return [(r, s) for r, s in loc.roots[:1]]


def refuse_unsafe_roots(request: Dict[str, Any], loc: conda_location.CondaLocation,
                        flags: Tuple[str, ...], environ: Dict[str, str]) -> None:
    """safety's one refusal for every cache and prefix this request may clean, before any
    is read: no configured cache may be a home or a system directory, one that would be
    cleaned must be conda's, and temp and trash files are never searched for in a home."""
    verb = request["op"]
    for cache in loc.caches:
        if not (cache.configured and cache.exists):
            continue
        if cache.writable:
            safety.refuse("conda", cache.path, environ, verb, cache.source)
        else:  # never cleaned (no urls.txt), but a setting pointing there is still wrong
            safety.refuse_place(cache.path, environ, verb, "conda package cache",
                                cache.source)
    for what in [w for w in LOOSE if w in flags]:
        for path, setting in _loose_tops(request, loc, what):
            top = _real_dir(path)
            given = setting.startswith("--")
            label = (f"directory given to --{what}" if given else
                     f"conda root searched for {what.replace('files', ' files')}")
            setting = "" if given else setting
            safety.refuse_place(path, environ, verb, label, setting)
            _check_prefix(top, loc)
            holders = [(k, s) for k, s in _known_places(loc)
                       if top == k or top.startswith(k.rstrip("/") + "/")]
            if all(safety.place_problem(k, environ) for k, _s in holders):
                k, s = holders[0]
                safety.refuse_place(k, environ, verb, f"conda prefix holding {path}", s)
            safety.refuse("conda", top, environ, verb, setting, label, kind="tempfiles")


def _known_places(loc: conda_location.CondaLocation) -> List[Tuple[str, str]]:
    """``_known_tops`` with what pointed at each."""
    return [(os.path.realpath(p), s) for p, s in
            list(loc.roots) + [(e.path, e.source) for e in loc.envs]
            + [(c.path, c.source) for c in loc.caches]]


def _real_dir(path: str) -> str:
    top = os.path.realpath(path)
    if not os.path.isdir(top):
        raise Refused(f"--tempfiles {path}: no such directory")
    return top


def _known_tops(loc: conda_location.CondaLocation) -> List[str]:
    return [os.path.realpath(p) for p in
            [r for r, _ in loc.roots] + [e.path for e in loc.envs] + [c.path for c in loc.caches]]


def _check_prefix(top: str, loc: conda_location.CondaLocation) -> None:
    """Temp files are only removed inside a conda installation, environment or cache."""
    if not any(top == k or top.startswith(k.rstrip("/") + "/") for k in _known_tops(loc)):
        raise Refused(f"--tempfiles {top}: not inside a conda root, environment or package "
                      "cache that cachekit found")


# Applying a plan ----------------------------------------------------------------------------

def _apply(request: Dict[str, Any], loc: conda_location.CondaLocation, result: Dict[str, Any],
           progress: Progress, environ: Dict[str, str]) -> None:
    plans = [p for p in request.get("plans", []) if p.get("manager") == "conda"]
    for wire in plans:
        _recognise(wire, loc)
        setting = next((c.source for c in loc.caches if os.path.realpath(c.path)
                        == wire["root"]), "") if wire["kind"] == "pkgs" else ""
        safety.refuse("conda", wire["root"], environ, "apply a plan to",
                      setting or safety.PLAN, kind=wire["kind"])
    usage = condacache.read_usage(e.path for e in loc.envs)
    for wire in plans:
        execute(wire, result, usage, progress)


PKGS_KINDS = ("tarball", "partial", "index_cache", "package", "logfile", "trash_file",
              "trash_dir", "pkgs_entry", "lock")


def _recognise(wire: Dict[str, Any], loc: conda_location.CondaLocation) -> None:
    """Refuse a plan that is malformed, or names anything but a cache or prefix found here."""
    root = wire.get("root")
    kind = wire.get("kind")
    items = wire.get("items")
    if not isinstance(root, str) or kind not in ("pkgs",) + tuple(LOOSE) or \
            not isinstance(items, list) or root != os.path.realpath(root):
        raise Refused("the conda plan is malformed; plan again")
    if kind == "pkgs":
        ok = [os.path.realpath(c.path) for c in loc.caches
              if c.writable and c.exists and c.configured]
        inside = False
    else:
        ok = _known_tops(loc)
        inside = any(root.startswith(k.rstrip("/") + "/") for k in ok)
    if root not in ok and not inside:
        raise Refused(f"the plan names {root!r}, which is not a conda cache or prefix cachekit "
                      "recognises here; plan again")
    try:
        st = os.lstat(root)
    except OSError:
        raise Refused(f"{root} is gone since the plan; plan again") from None
    if [st.st_dev, st.st_ino] != list(wire.get("root_id") or []):
        raise Refused(f"{root} was replaced since the plan; plan again")
    allowed = PKGS_KINDS if kind == "pkgs" else (kind,)
    for raw in items:
        if not isinstance(raw, list) or len(raw) != len(Item._fields) or \
                not isinstance(raw[0], str) or raw[1] not in allowed:
            raise Refused(f"the conda plan holds an entry cachekit did not plan: {raw!r}")
        item = Item(*raw)
        if not item.rel or any(p in ("", ".", "..") for p in item.rel.split("/")):
            raise Refused(f"the plan names {item.rel!r}, which is not inside {root}")
        if kind in LOOSE and not item.rel.endswith(LOOSE[kind][0]):
            raise Refused(f"the plan names {item.rel!r}, which is not a {kind} file")


def _still_unused(root: str, item: Item, usage: condacache.Usage) -> Tuple[bool, str]:
    listing = condacache.Listing(root, [], [])
    entry = condacache.Entry(item.rel, "package", 0, 1, item.ino, item.mtime_ns)
    stats = {item.rel: condacache.walk_dir((root, item.rel))}
    return package_verdict(listing, entry, stats, usage)


def execute(wire: Dict[str, Any], result: Dict[str, Any], usage: condacache.Usage,
            progress: Progress = None) -> None:
    """Remove exactly the planned entries, each only if it is still what was planned.

    ``usage`` is read afresh by the caller: a package an environment started to use since
    the plan was shown stays, and so does a whole cache (``--force-pkgs-dirs``) one of
    whose packages an environment started to use.
    """
    root = wire["root"]
    rows = wire_rows(wire)
    if wire.get("remove_root") and not wire.get("break_environments"):
        listing = condacache.list_cache(root)
        using = usage.envs_using(root, [e.rel for e in listing.of("package")])
        if using:
            for row in rows:
                row.update(ok=False, note=f"kept: environments now use this cache: "
                                          f"{_users(using)}")
                _report(result, row, progress)
            return
    freed: List[walk.FileStat] = []
    try:
        remover = fsremove.SafeRemover(root, expect=tuple(wire["root_id"]))
    except (OSError, fsremove.RootError) as exc:
        for row in rows:
            row.update(ok=False, note=f"kept: {root} cannot be opened: {exc}")
            _report(result, row, progress)
        return
    with remover:
        for item, row in zip((Item(*raw) for raw in wire["items"]), rows):
            note = _blocker(root, item, usage)
            if note:
                row.update(ok=False, note=note)
                _report(result, row, progress)
                continue
            if item.is_dir:
                removed, problems = remover.remove_tree(item.rel)
            else:
                outcome = remover.unlink(item.rel, expect=(item.ino, item.mtime_ns))
                removed = [outcome.stat] if outcome.ok and outcome.stat else []
                problems = [] if outcome.ok else [(item.rel, outcome.reason)]
                note = outcome.reason if outcome.ok else ""
            freed += removed
            row["ok"] = not problems
            if problems:
                note = f"not all removed: {problems[0][0]}: {problems[0][1]}"
            if note:
                row["note"] = note
            _report(result, row, progress)
    if wire.get("remove_root"):
        try:
            os.rmdir(root)
        except OSError as exc:
            result["warnings"].append(f"conda: kept {root}: {exc.strerror}")
    result["reclaimed_bytes"] += walk.freed_bytes(freed)


def _blocker(root: str, item: Item, usage: condacache.Usage) -> str:
    """Why a planned entry must stay now (empty: go ahead)."""
    if item.kind == "lock":
        held = condacache.lock_held(os.path.join(root, item.rel))
        return "kept: a running process now holds this lock" if held else ""
    if not item.is_dir:
        return ""
    try:
        st = os.lstat(os.path.join(root, item.rel))
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"kept: {exc.strerror}"
    if not stat.S_ISDIR(st.st_mode) or st.st_ino != item.ino:
        return "kept: replaced since the plan"
    if item.kind == "package":
        removable, why = _still_unused(root, item, usage)
        if not removable:
            return f"kept: now {why}"
    return ""


def execute_fresh(wire: Dict[str, Any], result: Dict[str, Any], environ: Dict[str, str],
                  progress: Progress = None) -> None:
    """``execute`` with environment usage read now (for plans made by other commands)."""
    loc = conda_location.locate(environ)
    execute(wire, result, condacache.read_usage(e.path for e in loc.envs), progress)


def _report(result: Dict[str, Any], row: Dict[str, Any], progress: Progress) -> None:
    result["removed"].append(row)
    if progress is not None:
        progress(row)

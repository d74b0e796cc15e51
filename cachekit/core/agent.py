"""The entry point run on a host: one request in, one versioned JSON-able result out.

A request is a dict: ``op`` (dir, info, list, remove, purge, report, apply), ``managers``,
and the op's options (``pattern``, ``downloads``, ``apply``, ``plans``). Destructive ops
plan first; with ``apply`` true they execute that same plan in the same process. The
``apply`` op executes plans computed earlier (shown to the user and confirmed), after
checking that each still names this host's recognised cache root.

Run as a script (``python3 agent.py < request.json``) it prints the result as JSON.
"""

import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional

from cachekit.core import KNOWN_MANAGERS, SCHEMA, Refused, safety, stopping, toolcache
from cachekit.core import pip as pipcache
from cachekit.core.fs import mounts, walk
from cachekit.core.fs import remove as fsremove
from cachekit.core.pip_location import PipConfigError, locate

OPS = ("dir", "info", "list", "remove", "purge", "report", "apply", "clean", "prune",
       "locations", "relocate")
DESTRUCTIVE = ("remove", "purge", "clean", "prune", "relocate")
__all__ = ["KNOWN_MANAGERS", "Refused", "run"]

Progress = Optional[Callable[[Dict[str, Any]], None]]


def run(request: Dict[str, Any], progress: Progress = None) -> Dict[str, Any]:
    """Serve one request; never raises for a problem on this host, reports it instead.

    ``progress`` hears of every file a removal deletes (or keeps) as it happens, so a
    controller whose connection breaks off still knows what was removed; with
    ``request["progress"]`` it also hears how far walks have got (``meter``). Ctrl-C
    ends the run with status ``interrupted`` and what was removed until then.
    """
    started = time.monotonic()
    op = request.get("op")
    result: Dict[str, Any] = {
        "schema": SCHEMA, "op": op, "status": "ok", "error": None,
        # os and sys only: socket and platform would cost a few ms of import on every host
        "hostname": os.uname().nodename if hasattr(os, "uname") else "",
        "python": ".".join(str(n) for n in sys.version_info[:3]),
        "dry_run": op in DESTRUCTIVE and not request.get("apply"),
        "disk": None, "caches": [], "entries": [], "removed": [], "dirs_removed": [],
        "reclaimed_bytes": 0, "warnings": [],
        # where a remote run keeps its copy of this code (set by cachekit's bootstrap)
        "core_copy": request.get("core_copy"),
    }
    from cachekit.core.meter import METER

    METER.start(progress if request.get("progress") else None)
    applying = op == "apply" or (op == "prune" and bool(request.get("apply")))
    deferral = stopping.Deferral(applying)
    if applying and progress is not None:  # whom a remote controller sends Ctrl-C to
        progress({"pid": os.getpid()})
    try:
        if op not in OPS:
            raise Refused(f"unknown operation {op!r}")
        environ = dict(os.environ)
        environ.update(request.get("environ") or {})
        managers = request.get("managers") or default_managers(environ, op)
        if op == "apply":  # whatever was planned is applied, if its root may be cleaned
            safety.refuse_plans(request.get("plans") or [], [], environ, "apply a plan to")
            managers += [m for m in (p.get("manager") for p in request.get("plans") or [])
                         if m in KNOWN_MANAGERS and m not in managers]
        unknown = [m for m in managers if m not in KNOWN_MANAGERS]
        if unknown:
            raise Refused(f"unknown manager {unknown[0]!r} (known: {', '.join(KNOWN_MANAGERS)})")
        # Modules only some ops need load only for them: every host imports the core on
        # every run, and a fleet of them shares a controller's CPUs.
        if op == "locations":
            from cachekit.core import locations

            managers = [m for m in managers if m != "toolcache"]
            result["locations"] = locations.locations(managers, environ)
        elif op == "relocate":
            from cachekit.core import relocate

            relocate.serve(dict(request, managers=request.get("managers") or []), environ,
                           result)
        elif op == "prune":
            from cachekit.core import prune

            prune.serve(dict(request, managers=managers), environ, result)
            check_then_apply(result, environ, progress, op, bool(request.get("apply")))
        else:
            # A destructive op plans for every manager first; the plans are then checked
            # and applied here, in one place (``check_then_apply``).
            planning = dict(request, apply=False) if op in DESTRUCTIVE else request
            if "pip" in managers and op != "clean":  # `clean` is conda's command
                _serve_pip(planning, environ, result, progress)
            if "conda" in managers:
                from cachekit.core import conda_serve

                conda_serve.serve(planning, environ, result, progress)
            if "uv" in managers and op != "clean":
                from cachekit.core import uv_serve

                uv_serve.serve(planning, environ, result, progress)
            if "toolcache" in managers and op != "clean":
                _serve_toolcache(planning, environ, result, progress)
            if op in DESTRUCTIVE:
                check_then_apply(result, environ, progress, op, bool(request.get("apply")))
        result["disk"] = _disk([c.get("path") for c in result["caches"]
                                + result.get("locations", [])], environ)
        if op in ("apply", "prune") and result["status"] == "ok" and not stopping.requested():
            from cachekit.core import measure  # a prune's caches, measured after it

            measure.after_apply(request, result)
    except Refused as exc:
        result["status"], result["error"] = "refused", str(exc)
    except (OSError, ValueError, RecursionError, fsremove.RootError) as exc:
        # Whatever this host threw at us is a failed host, reported, never a traceback.
        result["status"], result["error"] = "failed", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a malformed request or plan, or a bug: still one result
        result["status"], result["error"] = "failed", f"internal error: {type(exc).__name__}: " \
            f"{exc}"
    except KeyboardInterrupt:
        result["status"], result["error"] = "interrupted", "interrupted (Ctrl-C)"
    finally:
        METER.stop()
        if deferral.end():
            result["status"], result["error"] = "interrupted", "interrupted (Ctrl-C)"
    result["elapsed_s"] = round(time.monotonic() - started, 3)
    return result


def default_managers(environ: Dict[str, str], op: Optional[str] = None) -> List[str]:
    """The managers this host has: pip always; conda and uv where a sign of them is found
    (``dir`` and ``locations`` show them all); the runner tool cache where a runner says
    where it is.

    Looking costs a few stat calls, where loading a manager's code costs milliseconds on
    every host of a fleet.
    """
    every = op in ("dir", "locations")  # where each cache would be, found or not
    found = {"pip": True, "conda": every or _conda_signs(environ),
             "uv": every or _uv_signs(environ),
             "toolcache": toolcache.locate(environ)[0] is not None}
    return [m for m in KNOWN_MANAGERS if found[m]]


def _conda_signs(environ: Dict[str, str]) -> bool:
    if any(k.startswith(("CONDA", "MAMBA_")) for k in environ):
        return True
    from cachekit.core.conda_location import SYSTEM_CONFIG_DIRS, USUAL_ROOTS

    home = environ.get("HOME") or os.path.expanduser("~")
    places = [os.path.join(home, n) for n in (".conda", ".condarc", ".mamba")]
    places += [p.replace("~", home, 1) for p in USUAL_ROOTS] + list(SYSTEM_CONFIG_DIRS)
    return any(os.path.exists(p) for p in places)


def _uv_signs(environ: Dict[str, str]) -> bool:
    from cachekit.core import uv_location

    try:
        path = uv_location.locate(environ).path
    except uv_location.UvConfigError:
        return True  # let the uv half report the problem
    return bool(path and os.path.isdir(path))


def _serve_toolcache(request: Dict[str, Any], environ: Dict[str, str],
                     result: Dict[str, Any], progress: Progress) -> None:
    op = request["op"]
    record = toolcache.cache_record(environ)
    root = record["path"]
    result["caches"].append(record)
    if op == "dir" or not record["exists"]:
        return
    if op == "apply":
        for wire in [p for p in request.get("plans", []) if p.get("manager") == "toolcache"]:
            toolcache.execute(wire, environ, result, progress)
        return
    if op in ("info", "report", "list"):
        installs, errors = toolcache.scan(root)
        record.update(toolcache.summarize(installs))
        record["reclaimable_bytes"] = sum(i.freed for i, _ in toolcache.selection(installs))
        if errors:
            record["warnings"].append(f"{len(errors)} path(s) could not be read, e.g. "
                                      f"{errors[0][0]}: {errors[0][1]}")
        if op == "list":
            for i in installs:
                result["entries"].append({
                    "manager": "toolcache", "name": i.tool, "version": i.version,
                    "kind": i.arch + ("" if i.complete else " (incomplete)"),
                    "bytes": i.bytes, "path": os.path.join(root, i.entry)})


def _disk(paths: List[Optional[str]], environ: Dict[str, str]) -> Optional[Dict[str, int]]:
    """Size and free space of the file system holding the first cache (or the home)."""
    for path in [p for p in paths if p] + [environ.get("HOME") or os.path.expanduser("~")]:
        while path and not os.path.exists(path):
            parent = os.path.dirname(path)
            path = "" if parent == path else parent
        if path:
            return mounts.disk_usage(path)
    return None


def _serve_pip(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any],
               progress: Progress = None) -> None:
    op = request["op"]
    try:
        loc = locate(environ)
    except PipConfigError as exc:
        result["caches"].append({"manager": "pip", "path": None, "source": "", "exists": False,
                                 "enabled": False, "error": str(exc), "warnings": []})
        return
    cache = pipcache.cache_record(loc)
    result["caches"].append(cache)
    if op == "dir" or not cache["exists"]:
        if cache["path"] and not cache["exists"] and os.path.lexists(cache["path"]):
            cache["warnings"].append(f"{cache['path']} exists but is not a directory")
        if op == "apply" and [p for p in request.get("plans") or []
                              if p.get("manager") == "pip"]:
            raise Refused("the pip cache planned for removal no longer exists")
        return
    root = cache["path"]
    if op in DESTRUCTIVE or op == "apply":
        # before scanning: `/` is never walked
        pipcache.refuse_unsafe_root(root, environ, cache["source"],
                                    "apply a plan to" if op == "apply" else op)
    st = os.lstat(root)
    cache["root_id"] = [st.st_dev, st.st_ino]
    if op == "info" or (op == "report" and not request.get("attribute")):
        # Figures only: one walk folding totals, no per-file records.
        # `report` shows no on-disk size: it skips the directory stats that need.
        totals = walk.scan_totals(root, pipcache.classify, disk=op == "info")
        cache.update(pipcache.summarize_totals(totals))
        _warn_unreadable(cache, root, totals.errors)
        if op == "report":
            cache["reclaimable_bytes"] = pipcache.reclaimable_totals(totals)
        return
    if op == "purge" or (op == "remove" and request.get("pattern") == "*"):
        _pip_purge(request, root, cache, result, progress)  # counts, not a record per file
        return
    if op == "apply":  # the figures before it; the plans hold what to remove
        totals = walk.scan_totals(root, pipcache.classify)
        cache.update(pipcache.summarize_totals(totals))
        for plan in [p for p in request.get("plans", []) if p.get("manager") == "pip"]:
            _execute(root, cache["root_id"], plan, result, progress)
        return
    if op in ("list", "remove"):  # figures from totals; the matches named one by one
        totals = walk.scan_totals(root, pipcache.classify)
        cache.update(pipcache.summarize_totals(totals))
        _warn_unreadable(cache, root, totals.errors)
        if op == "list":
            _pip_list(request, root, result)
            return
        wire = _pip_remove_wire(request, root, cache["root_id"])
    else:  # report --attribute: every body is read anyway
        tree = walk.scan(root)
        cache.update(pipcache.summarize(tree))
        _warn_unreadable(cache, root, tree.errors)
        _pip_report(root, tree, cache)
        return
    result.setdefault("plans", []).append(wire)
    if request.get("apply"):
        _execute(root, cache["root_id"], wire, result, progress)
    else:
        result["removed"] += [dict(r, ok=None) for r in _planned_rows(root, wire)]
        result["dirs_removed"] += [os.path.join(root, d) for d in wire["dirs"]]
        cache["reclaimable_bytes"] = wire["freed_bytes"]  # what this plan would free


def _pip_purge(request: Dict[str, Any], root: str, cache: Dict[str, Any],
               result: Dict[str, Any], progress: Progress) -> None:
    """Plan a purge as one row per bucket (see ``pip_sweep``); with ``apply``, sweep."""
    from cachekit.core import pip_sweep

    totals = walk.scan_totals(root, pipcache.classify)
    cache.update(pipcache.summarize_totals(totals))
    _warn_unreadable(cache, root, totals.errors)
    wire = pip_sweep.plan_wire(root, cache["root_id"])
    result.setdefault("plans", []).append(wire)
    if request.get("apply"):
        _execute(root, cache["root_id"], wire, result, progress)
        return
    result["removed"] += [dict(r, ok=None) for r in _planned_rows(root, wire)]
    cache["reclaimable_bytes"] = wire["freed_bytes"]


def _warn_unreadable(cache: Dict[str, Any], root: str, errors: List[Any]) -> None:
    if errors:
        cache["warnings"].append(
            f"{len(errors)} path(s) could not be read and were skipped, e.g. "
            f"{os.path.join(root, errors[0][0])}: {errors[0][1]}")


def _pip_report(root: str, tree: walk.Tree, cache: Dict[str, Any]) -> None:
    """``report --attribute``: the exact purge figure, and downloads traced to packages."""
    attributed = pipcache.attribute_downloads(root, tree)
    cache["attributed_bytes"] = sum(f.size for files, _ in attributed for f in files)
    cache["unattributed_bytes"] = cache["http_bytes"] - cache["attributed_bytes"]
    purge = pipcache.plan_removal(tree, pipcache.match_wheels(tree, "*"), [], purge=True)
    cache["reclaimable_bytes"] = purge.freed_bytes


def _pip_list(request: Dict[str, Any], root: str, result: Dict[str, Any]) -> None:
    from cachekit.core import pip_sweep

    pattern = request.get("pattern") or "*"
    downloads = bool(request.get("downloads"))
    buckets = (pipcache.WHEELS, "http-v2") if downloads else (pipcache.WHEELS,)
    acc = pip_sweep.explicit(root, buckets, pip_sweep.pattern_pick(root, pattern, downloads),
                             counted_only=True)  # a wheel, or a download's body: pip's list
    rules = {"matched pip pattern": "pip pattern", "matched normalised name": "normalised name"}
    for rel, size, _ino, _mtime, (reason, package, _counted, version, kind) in acc.rows or []:
        result["entries"].append({
            "manager": "pip", "name": package, "version": version, "kind": kind,
            "rule": rules.get(reason, "downloaded body"), "path": os.path.join(root, rel),
            "bytes": size})


def _pip_remove_wire(request: Dict[str, Any], root: str, root_id: List[int]
                     ) -> Dict[str, Any]:
    """``remove PATTERN``: each file pip 26.2+ deletes, and the directories it clears."""
    from cachekit.core import pip_sweep

    pattern = request.get("pattern")
    if not pattern:
        raise Refused("remove needs a pattern (use purge to remove everything)")
    pick = pip_sweep.pattern_pick(root, pattern, bool(request.get("downloads")))
    acc = pip_sweep.explicit(root, pipcache.BUCKETS, pick)
    files = [[rel, size, ino, mtime_ns, reason, package]
             for rel, size, ino, mtime_ns, (reason, package, *_rest) in acc.rows or []]
    selfcheck, selfcheck_freed = pip_sweep.legacy_selfcheck(root)
    return {"manager": "pip", "root": root, "root_id": root_id, "matched": acc.matched,
            "freed_bytes": acc.freed_bytes() + selfcheck_freed, "files": files + selfcheck,
            "dirs": acc.dir_rows or []}


def check_then_apply(result: Dict[str, Any], environ: Dict[str, str], progress: Progress,
                     verb: str, apply: bool) -> None:
    """Every plan's root passes safety's refusal (a dry run's too), all of them before
    the first removal; with ``apply`` the plans are then carried out, and the rows shown
    for the plan give way to what was really removed."""
    plans = result.get("plans", [])
    safety.refuse_plans(plans, result["caches"], environ, verb)
    if not apply:
        return
    result["removed"], result["dirs_removed"] = [], []
    for wire in plans:
        execute_wire(wire, result, environ, progress)


def execute_wire(wire: Dict[str, Any], result: Dict[str, Any], environ: Dict[str, str],
                 progress: Progress = None) -> None:
    """Carry out one plan of any manager, made in this same request."""
    if wire["manager"] == "pip":
        _execute(wire["root"], wire["root_id"], wire, result, progress)
    elif wire["manager"] == "uv":
        from cachekit.core import uv_serve

        uv_serve.execute(wire, result, environ, progress)
    elif wire["manager"] == "toolcache":
        toolcache.execute(wire, environ, result, progress)
    else:
        from cachekit.core import conda_serve

        conda_serve.execute_fresh(wire, result, environ, progress)


def _planned_rows(root: str, wire: Dict[str, Any]) -> List[Dict[str, Any]]:
    swept = [{"path": os.path.join(root, g["bucket"]), "manager": wire["manager"],
              "bytes": g["bytes"], "files": g["files"], "dirs": g["dirs"], "freed": g["freed"],
              "reason": g["reason"], "package": ""}
             for g in (wire.get("sweep") or {}).get("groups", [])]
    return swept + [{"path": os.path.join(root, rel), "manager": wire["manager"], "bytes": size,
                     "reason": reason, "package": package}
                    for rel, size, _ino, _mtime, reason, package in wire["files"]]


def _execute(root: str, root_id: List[int], wire: Dict[str, Any], result: Dict[str, Any],
             progress: Progress = None) -> None:
    """Delete exactly the planned files, then rmdir the planned directories."""
    if os.path.normpath(wire.get("root", "")) != root or list(wire.get("root_id") or []) != root_id:
        raise Refused(f"the plan names {wire.get('root')!r}, which is not this host's "
                      f"recognised {wire.get('manager')} cache {root!r}; plan again")
    allowed = set(pipcache.BUCKETS)
    sweep = wire.get("sweep")
    swept = [g.get("bucket") for g in sweep["groups"]] if sweep else []
    for rel in [f[0] for f in wire["files"]] + list(wire["dirs"]) + swept:
        if not isinstance(rel, str) or (pipcache.bucket(rel) not in allowed
                                        and rel != pipcache.LEGACY_SELFCHECK):
            raise Refused(f"the plan names {rel!r}, which is not a pip cache entry")
        try:  # every path checked before the first removal, not when its turn comes
            fsremove.split_rel(rel)
        except ValueError:
            raise Refused(f"the plan names {rel!r}, which is not a path inside the cache"
                          ) from None
    if sweep and (any(b not in allowed or "/" in b for b in swept)
                  or not isinstance(sweep.get("planned_at_ns"), int)):
        raise Refused("the plan's sweep names no pip bucket, or no time it was planned")
    crit = wire.get("prune")
    if crit is not None and (not isinstance(crit.get("planned_at_ns"), int)
                             or crit.get("clock") not in ("atime", "mtime")):
        raise Refused("the prune plan gives no time it was planned, or no clock")
    rows = _planned_rows(root, wire)[len(swept):]
    freed: List[walk.FileStat] = []
    with fsremove.SafeRemover(root, expect=(root_id[0], root_id[1])) as remover:
        for (rel, _size, ino, mtime_ns, _reason, _pkg), row in zip(wire["files"], rows):
            outcome = remover.unlink(rel, expect=(ino, mtime_ns))
            row["ok"] = outcome.ok
            if outcome.reason:
                row["note"] = outcome.reason
            if outcome.ok and outcome.stat is not None:
                freed.append(outcome.stat)
            result["removed"].append(row)
            if progress is not None:
                progress(row)
        for rel in wire["dirs"]:
            outcome = remover.rmdir(rel)
            if outcome.ok:
                result["dirs_removed"].append(os.path.join(root, rel))
            elif outcome.reason:
                result["warnings"].append(f"kept {os.path.join(root, rel)}: {outcome.reason}")
        if wire.get("prune"):
            from cachekit.core import pip_prune

            result["reclaimed_bytes"] += pip_prune.apply(remover, root, wire, result, progress)
        if sweep:
            from cachekit.core import pip_sweep

            done = pip_sweep.apply(remover, root, wire, progress)
            result["removed"] += done
            result["reclaimed_bytes"] += sum(r["freed"] for r in done)
    result["reclaimed_bytes"] += walk.freed_bytes(freed)


PROGRESS_MARK = "@"


def print_progress(row: Dict[str, Any]) -> None:
    """One line per file as a removal goes, flushed: it outlives a broken connection.

    Entries left because of Ctrl-C go only in the result: they were never removed."""
    if stopping.untouched(row):
        return
    sys.stdout.write(PROGRESS_MARK + json.dumps(row) + "\n")
    sys.stdout.flush()


def main() -> int:
    request = json.loads(sys.stdin.read() or "{}")
    json.dump(run(request, print_progress), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

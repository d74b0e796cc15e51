"""The agent's uv half: dir, info, report, list, remove, purge, and prune's uv entries.

Plans name what uv will delete, computed from the cache as uv 0.13 lays it out; the
apply runs the host's ``uv`` (``uv cache clean [PKG...]``, ``uv cache prune --ci``) and
then checks each planned path, so a uv that behaves differently is reported, not hidden.
Without a ``uv`` binary only a purge is possible, done by cachekit under uv's lock.
"""

import fnmatch
import os
import re
import sys
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from cachekit.core import Refused, safety
from cachekit.core import uv as uvcache
from cachekit.core.fs import lock, walk
from cachekit.core.fs import remove as fsremove
from cachekit.core.uv_location import UvConfigError, locate

Progress = Optional[Callable[[Dict[str, Any]], None]]
UV_TIMEOUT_S = 600
# The bucket set of the uv releases cachekit knows (uv's `CacheBucket::to_str`):
# `uv cache prune` deletes every top-level entry outside its own set.
BUCKETS_BY_RELEASE = {
    (0, 13): ("archive-v0", "builds-v0", "environments-v2", "python-v1", "binaries-v0",
              "osv-v1", "files-v0", "sdists-v11", "wheels-v8", "simple-v28", "flat-index-v7",
              "git-v2", "interpreter-v5"),
}


class Binary(NamedTuple):
    """The ``uv`` a host's removals go through, and where it was found (or why none is)."""

    path: Optional[str]
    source: str
    error: Optional[str] = None


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _explicit(value: str, source: str, environ: Dict[str, str]) -> Binary:
    """A uv the user named: a path (``~`` and relative ones allowed), or a name on PATH."""
    home = environ.get("HOME") or os.path.expanduser("~")
    if "/" not in value:
        for d in [d for d in (environ.get("PATH") or os.defpath).split(":") if d]:
            if _executable(os.path.join(d, value)):
                return Binary(os.path.join(d, value), source)
        return Binary(None, source, f"{source} {value!r}: no such program on PATH")
    path = home + value[1:] if value == "~" or value.startswith("~/") else value
    path = os.path.normpath(os.path.join(environ.get("PWD") or os.getcwd(), path))
    if not _executable(path):
        why = "not an executable file" if os.path.exists(path) else "no such file"
        return Binary(None, source, f"{source} {value!r}: {why}")
    return Binary(path, source)


def locate_binary(environ: Dict[str, str], request: Optional[Dict[str, Any]] = None
                  ) -> Binary:
    """The host's ``uv``, as a user would look for it, first found wins.

    Named: ``--uv``, then the inventory's ``cachekit_uv``, then ``UV`` (uv sets it for the
    programs it runs); a named uv that is missing is an error, never passed over. Else on
    PATH, next to the running python (a ``pip install uv`` in its virtual environment),
    then where uv's installers put it (cron has a short PATH).
    """
    request = request or {}
    for key, source in (("uv", "--uv"), ("uv_inventory", "cachekit_uv")):
        if request.get(key):
            return _explicit(str(request[key]), source, environ)
    if environ.get("UV"):
        return _explicit(environ["UV"], "UV", environ)
    home = environ.get("HOME") or os.path.expanduser("~")
    places = [(os.path.join(d, "uv"), "PATH")
              for d in (environ.get("PATH") or os.defpath).split(":") if d]
    places += [(os.path.join(sys.prefix, "bin", "uv"), "the running python's environment"),
               (os.path.join(os.path.dirname(sys.executable), "uv"),
                "the running python's directory"),
               (os.path.join(home, ".local", "bin", "uv"), "~/.local/bin"),
               (os.path.join(home, ".cargo", "bin", "uv"), "~/.cargo/bin")]
    for candidate, source in places:
        if _executable(candidate):
            return Binary(candidate, source)
    return Binary(None, "", None)


def binary_for(request: Dict[str, Any], environ: Dict[str, str], record: Dict[str, Any]
               ) -> Optional[str]:
    """Find the host's uv and say in ``record`` which one (and from where) or what is wrong."""
    found = locate_binary(environ, request)
    record["uv_binary"], record["uv_binary_source"] = found.path, found.source
    if found.error and not record.get("error"):
        record["error"] = found.error
    return found.path


NOT_FOUND = ("no uv binary found on this host (looked on PATH, next to the running python, "
             "in ~/.local/bin and ~/.cargo/bin; name one with --uv PATH, cachekit_uv or UV)")


def uv_release(binary: str) -> Optional[Tuple[int, int, int]]:
    import subprocess

    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None


def cache_record(environ: Dict[str, str]) -> Dict[str, Any]:
    try:
        loc = locate(environ)
    except UvConfigError as exc:
        return {"manager": "uv", "path": None, "source": "", "exists": False, "enabled": False,
                "error": str(exc), "warnings": []}
    exists = bool(loc.path and os.path.isdir(loc.path))
    return {"manager": "uv", "path": loc.path, "source": loc.source, "shown": loc.shown,
            "exists": exists, "enabled": loc.path is not None, "config_files": loc.config_files,
            "warnings": [], "error": None}


def scan(record: Dict[str, Any]) -> Tuple[str, walk.Tree, uvcache.Layout]:
    root = record["path"]
    tree = walk.scan(root)
    lay = uvcache.layout(root, tree)
    record.update(uvcache.summarize(root, tree, lay))
    from cachekit.core import uv_figures

    # files that hard links from outside the cache (environments) keep on disk anyway
    record["linked_bytes"] = sum(uv_figures.linked_out(tree.files).values())
    st = os.lstat(root)
    record["root_id"] = [st.st_dev, st.st_ino]
    if lay.unknown:
        record["warnings"].append(f"not uv's (or a newer uv's): {', '.join(lay.unknown)}")
    if tree.errors:
        record["warnings"].append(f"{len(tree.errors)} path(s) could not be read, e.g. "
                                  f"{os.path.join(root, tree.errors[0][0])}: {tree.errors[0][1]}")
    return root, tree, lay


def refuse_unsafe_root(root: str, environ: Dict[str, str], setting: str = "",
                       verb: str = "clean") -> None:
    """Never empty ``/``, a home, a system directory, or one that is not uv's cache."""
    safety.refuse("uv", root, environ, verb, setting)


def layout_problem(root: str) -> str:
    """uv's signature: at least one of its versioned buckets (``wheels-v8``,
    ``archive-v0``, ``sdists-v11``...), or nothing but its root files (a new or emptied
    cache). A CACHEDIR.TAG marks any cache (Rust's ``target/`` has one), not uv's."""
    try:
        names = os.listdir(root)
    except OSError as exc:
        return f"cannot be listed ({exc.strerror})"
    for name in names:
        match = uvcache.BUCKET.match(name)
        if match and match.group("name") in uvcache.KNOWN_BUCKETS and os.path.isdir(
                os.path.join(root, name)) and not os.path.islink(os.path.join(root, name)):
            return ""
    strangers = sorted(n for n in names if n not in uvcache.ROOT_FILES)
    if not strangers:
        return ""
    return (f"does not look like a uv cache (no versioned bucket such as wheels-v8 or "
            f"archive-v0, and {strangers[0]!r} is not uv's; a CACHEDIR.TAG marks any cache)")


def matching(lay: uvcache.Layout, pattern: str) -> List[str]:
    """Package names a pattern selects: a name or glob, compared normalised."""
    want = uvcache.normalize(pattern)
    return sorted(n for n in lay.packages if fnmatch.fnmatchcase(n, want))


def serve(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any],
          progress: Progress = None) -> None:
    op = request["op"]
    record = cache_record(environ)
    result["caches"].append(record)
    binary = binary_for(request, environ, record)
    if op == "dir" or not record["exists"]:
        if op == "apply" and [p for p in request.get("plans", []) if p.get("manager") == "uv"]:
            raise Refused("the uv cache planned for removal no longer exists")
        return
    if op in ("apply", "remove", "purge"):
        # before a scan, and before any removal
        refuse_unsafe_root(record["path"], environ, record["source"],
                           "apply a plan to" if op == "apply" else op)
    if op == "apply":
        for wire in [p for p in request.get("plans", []) if p.get("manager") == "uv"]:
            if wire.get("root") != record["path"] or wire.get("root_id") != [
                    os.lstat(record["path"]).st_dev, os.lstat(record["path"]).st_ino]:
                raise Refused("the plan names a uv cache that is not this host's; plan again")
            execute(wire, result, environ, progress)
        return
    if record.get("error") and op in ("remove", "purge", "apply"):
        return  # a uv named but not found: nothing is done without it
    root, tree, lay = scan(record)
    if op in ("info", "report"):
        record["reclaimable_bytes"] = walk.freed_bytes(
            f for f in tree.files if "/" in f.path or f.path not in uvcache.ROOT_FILES)
        return
    if op == "list":
        for name in matching(lay, request.get("pattern") or "*"):
            pkg = lay.packages[name]
            result["entries"].append({
                "manager": "uv", "name": name, "version": ", ".join(pkg.versions),
                "kind": "+".join(pkg.kinds), "bytes": sum(f.size for f in pkg.files),
                "freed_bytes": walk.freed_bytes(pkg.files),
                "path": os.path.join(root, next(
                    (e for e in pkg.entries if uvcache.bucket_of(e)[0] != "simple"),
                    pkg.entries[0]))})
        return
    if op not in ("remove", "purge"):
        return
    if tree.errors:
        record["error"] = f"{root} could not be read fully; nothing is removed from it"
        return
    if op == "remove":
        if not request.get("pattern"):
            raise Refused("remove needs a pattern (use purge to remove everything)")
        if not binary:
            record["error"] = (f"{NOT_FOUND}: cachekit removes single packages from a uv "
                               "cache only through `uv cache clean PKG`; purge works")
            return
        names = matching(lay, request["pattern"])
        if not names:
            return
        tops, files = uvcache.removal_plan(root, tree, lay, names)
        wire = plan_wire(record, "clean", names, tops, files, binary, lay=lay,
                         environ=environ)
    else:
        tops = sorted({f.path.split("/", 1)[0] for f in tree.files} |
                      {d.path for d in tree.dirs if d.path and "/" not in d.path})
        tops = [t for t in tops if t != ".lock"]
        files = [f for f in tree.files if f.path != ".lock"]
        wire = plan_wire(record, "purge", [], tops, files, binary, lay=lay,
                         environ=environ)
    offer(wire, request, record, result, environ, progress)


def plan_wire(record: Dict[str, Any], action: str, names: List[str], tops: List[str],
              files: List[walk.FileStat], binary: Optional[str],
              rules: Optional[Dict[str, str]] = None, lay: Optional[uvcache.Layout] = None,
              environ: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """A uv plan: the uv action, the paths it removes (each with its rule), their bytes,
    and its figures (``uv_figures``); ``packages`` names each path's packages."""
    from cachekit.core import uv_figures

    rules = rules or {}
    under: Dict[str, List[walk.FileStat]] = {t: [] for t in tops}
    for f in files:
        top = next((t for t in tops if f.path == t or f.path.startswith(t + "/")), None)
        if top is not None:
            under[top].append(f)
    packages = uv_figures.packages_of(lay, tops) if lay else {t: [] for t in tops}
    count = len({n for names_of in packages.values() for n in names_of})
    linked = uv_figures.linked_out(files)  # inodes whose other links are outside the plan
    return {"manager": "uv", "root": record["path"], "root_id": record["root_id"],
            "action": action, "names": names, "binary": binary,
            "freed_bytes": walk.freed_bytes(files),
            "paths": [[t, sum(f.size for f in under[t]), rules.get(t, _reason(action, t)),
                       walk.freed_bytes(under[t])] for t in tops],
            "packages": packages,
            "linked": {t: sum(linked[k] for k in {(f.dev, f.ino) for f in under[t]}
                              if k in linked) for t in tops},
            "figures": uv_figures.figures(files, count, len(tops), record["path"], environ)}


def _reason(action: str, top: str) -> str:
    if action == "purge":
        return "uv cache clean (everything)"
    if action == "prune-ci":
        return "uv cache prune --ci"
    if uvcache.bucket_of(top)[0] == "archive":
        return "unpacked wheel only the removed entries linked to"
    if uvcache.bucket_of(top)[0] == "flat-index":
        return "flat index (uv clears it with any package)"
    return "matched package"


def rows(wire: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [{"path": os.path.join(wire["root"], rel), "manager": "uv", "bytes": size,
             "reason": reason, "kind": "uv"} for rel, size, reason, _freed in wire["paths"]]


def offer(wire: Dict[str, Any], request: Dict[str, Any], record: Dict[str, Any],
          result: Dict[str, Any], environ: Dict[str, str], progress: Progress) -> None:
    result.setdefault("plans", []).append(wire)
    record["reclaimable_bytes"] = (record.get("reclaimable_bytes") or 0) + wire["freed_bytes"]
    record["removal"] = wire["figures"]
    if request.get("apply"):
        execute(wire, result, environ, progress)
    else:
        result["removed"] += [dict(r, ok=None) for r in rows(wire)]


def _lock_is_free(root: str) -> bool:
    """Can uv's exclusive lock be had right now (no uv process is using the cache)?"""
    return lock.is_free(os.path.join(root, ".lock"))


def execute(wire: Dict[str, Any], result: Dict[str, Any], environ: Dict[str, str],
            progress: Progress = None) -> None:
    """Run the uv action (or, without uv, purge under uv's lock); report each planned path."""
    import subprocess

    root = wire["root"]
    before = {p[0]: os.path.lexists(os.path.join(root, p[0])) for p in wire["paths"]}
    if wire.get("binary"):
        if not _lock_is_free(root):
            raise Refused(f"the uv cache {root} is in use by a uv process; try again later")
        argv = [wire["binary"], "cache", "clean" if wire["action"] in ("clean", "purge")
                else "prune"]
        argv += (["--ci"] if wire["action"] == "prune-ci" else []) + list(wire["names"])
        argv += ["--cache-dir", root]
        env = dict(environ, UV_LOCK_TIMEOUT="60")
        env.pop("UV_NO_CACHE", None)
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True,
                                  timeout=UV_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as exc:
            raise Refused(f"running {wire['binary']} failed: {exc}") from None
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            result["warnings"].append(f"uv: {' '.join(argv[1:3])} exited {done.returncode}: "
                                      f"{tail}")
        freed: List[walk.FileStat] = []
    else:
        freed = _purge_under_lock(wire, root, result)
    for row in rows(wire):
        rel = os.path.relpath(row["path"], root)
        removed = not os.path.lexists(row["path"])
        row["ok"] = removed
        if not removed:
            row["note"] = "uv left it in place" if wire.get("binary") else "could not remove"
        elif not before.get(rel):
            row["note"] = "already gone"
        result["removed"].append(row)
        if progress is not None:
            progress(row)
    gone = [p for p in wire["paths"] if not os.path.lexists(os.path.join(root, p[0]))]
    if wire.get("binary"):  # what the plan said each path frees, for the paths now gone
        result["reclaimed_bytes"] += sum(p[3] for p in gone)
    else:
        result["reclaimed_bytes"] += walk.freed_bytes(freed)
    _record_removed(wire, gone, result)


def _record_removed(wire: Dict[str, Any], gone: List[List[Any]], result: Dict[str, Any]
                    ) -> None:
    """The figures of what went, in the plan's units, on the cache's record.

    A package counts once all its planned paths are gone; bytes links keep are the
    plan's, for the paths that went (their holders as the plan found them).
    """
    from cachekit.core import uv_figures

    planned = wire.get("figures")
    if planned is None:  # a plan from a cachekit without figures
        return
    packages = wire.get("packages") or {}
    went = {p[0] for p in gone}
    names = {n for rel in packages for n in packages[rel]}
    kept_back = {n for rel in packages if rel not in went for n in packages[rel]}
    linked = sum((wire.get("linked") or {}).get(rel, 0) for rel in went)
    share = linked / planned["linked_bytes"] if planned["linked_bytes"] else 0
    done = {"packages": len(names - kept_back), "paths": len(gone),
            "bytes": sum(p[1] for p in gone), "freed_bytes": sum(p[3] for p in gone),
            "linked_bytes": linked,
            "linked_from": [[env, int(size * share)] for env, size in planned["linked_from"]],
            "linked_elsewhere_bytes": int(planned["linked_elsewhere_bytes"] * share)}
    record = next((c for c in result["caches"] if c.get("manager") == "uv"
                   and c.get("path") == wire["root"]), None)
    if record is not None:
        record["removal"] = uv_figures.merge([record["removal"], done]) \
            if record.get("removal", {}).get("done") else done
        record["removal"]["done"] = True


def _purge_under_lock(wire: Dict[str, Any], root: str, result: Dict[str, Any]
                      ) -> List[walk.FileStat]:
    """Empty the cache but its lock file, holding uv's exclusive lock, as `uv cache clean`."""
    if wire["action"] != "purge":
        raise Refused(f"{NOT_FOUND}: only a purge of the whole uv cache is done without it")
    try:
        with lock.exclusive(os.path.join(root, ".lock")):
            return _purge_held(wire, root, result)
    except lock.Busy:
        raise Refused(f"the uv cache {root} is in use by a uv process (its lock is held); "
                      "try again later") from None


def _purge_held(wire: Dict[str, Any], root: str, result: Dict[str, Any]
                ) -> List[walk.FileStat]:
    """The purge itself, while uv's lock is held."""
    result["warnings"].append(f"uv: no uv binary here; cachekit emptied {root} itself, "
                              "holding uv's lock")
    freed: List[walk.FileStat] = []
    with fsremove.SafeRemover(root, expect=tuple(wire["root_id"])) as remover:
        for rel, *_rest in wire["paths"]:
            if rel == ".lock":
                continue
            try:
                st = os.lstat(os.path.join(root, rel))
            except FileNotFoundError:
                continue
            if os.path.isdir(os.path.join(root, rel)) and not os.path.islink(
                    os.path.join(root, rel)):
                removed, _problems = remover.remove_tree(rel)
            else:
                outcome = remover.unlink(rel, expect=(st.st_ino, st.st_mtime_ns))
                removed = [outcome.stat] if outcome.ok and outcome.stat else []
            freed += removed
    return freed


def current_buckets(binary: Optional[str]) -> Optional[Tuple[str, ...]]:
    release = uv_release(binary) if binary else None
    return BUCKETS_BY_RELEASE.get(release[:2]) if release else None


def newer_than_uv(lay: uvcache.Layout, current: Tuple[str, ...]) -> List[str]:
    """Buckets a newer uv wrote: this host's ``uv cache prune`` would delete them."""
    mine = {uvcache.bucket_of(b)[0]: int(b.rsplit("-v", 1)[1]) for b in current}
    out = []
    for top in lay.buckets:
        name, _ = uvcache.bucket_of(top)
        if name in mine and int(top.rsplit("-v", 1)[1]) > mine[name]:
            out.append(top)
    return out

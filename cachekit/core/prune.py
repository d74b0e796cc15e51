"""``prune``: gather each manager's removable entries, apply the policy, plan the removal.

An entry is what goes as a whole: a pip wheel, a pip HTTP entry (metadata and body), a
conda package no environment uses (extracted directory and archive), a conda archive
whose extracted package stays. Selection is ``policy``'s; the plans are the managers'
own wire formats, applied by the same code as ``remove`` and ``clean``.

Ages come from ``lstat`` only. Where a body is opened to learn its package (``--keep``
needs names), its access time is put back, so a dry run changes no ranking.
"""

import os
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from cachekit.core import conda as condacache
from cachekit.core import conda_location, policy
from cachekit.core import pip as pipcache
from cachekit.core.conda_clean import CachePlan, Item, package_verdict
from cachekit.core.fs import mounts, walk
from cachekit.core.pip_location import PipConfigError, locate


def last_use_clock(path: str) -> Tuple[str, str]:
    """("atime" or "mtime", why): access times count unless the file system skips them."""
    mount = mounts.mount_of(path)
    if mount is None:
        return "mtime", "modification time (mount options unknown)"
    if "noatime" in mount.options:
        return "mtime", f"modification time ({mount.point} is mounted noatime)"
    mode = next((o for o in mount.options if o in ("relatime", "strictatime", "lazytime")),
                "atime")
    return "atime", f"access time ({mode})"


def _when(f: walk.FileStat, clock: str) -> int:
    return max(f.atime_ns, f.mtime_ns) if clock == "atime" else f.mtime_ns


# conda ------------------------------------------------------------------------------------

def conda_candidates(root: str, listing: condacache.Listing,
                     stats: Dict[str, condacache.Stats], usage: condacache.Usage, clock: str,
                     ci: bool = False) -> List[policy.Candidate]:
    """Unused packages (with their archives) and archives whose extracted package stays.

    With ``ci`` an unused package's archive is its own candidate: cheap, since the
    extracted package is still there.
    """
    out: List[policy.Candidate] = []
    packages = {e.rel: e for e in listing.of("package")}
    archives: Dict[str, List[condacache.Entry]] = {}
    for e in listing.of("tarball"):
        archives.setdefault(condacache.dist_path(e.rel), []).append(e)
    for rel, e in packages.items():
        removable, _why = package_verdict(listing, e, stats, usage)
        if not removable:
            continue
        s = stats[rel]
        mine = [] if ci else [a for a in archives.pop(rel, []) if a.nlink <= 1]
        last = s.last_atime_ns if clock == "atime" else s.last_mtime_ns
        items = [Item(rel, "package", s.bytes, s.freed, e.ino, e.mtime_ns, "", True,
                      condacache.dist_name(rel))]
        items += [_archive_item(a) for a in mine]
        out.append(policy.Candidate(
            "conda", root, rel, condacache.split_dist(condacache.dist_name(rel))[0],
            sum(i.bytes for i in items), sum(i.freed for i in items), last, False, items))
    for stem, entries in archives.items():
        for a in entries:
            if a.nlink > 1:
                continue
            cheap = stem in packages  # its extracted package stays: nothing is lost
            last = a.mtime_ns
            try:
                st = os.lstat(os.path.join(root, a.rel))
                last = max(st.st_atime_ns, st.st_mtime_ns) if clock == "atime" else last
            except OSError:
                continue
            out.append(policy.Candidate(
                "conda", root, a.rel, condacache.split_dist(condacache.dist_name(a.rel))[0],
                a.size, a.size, last, cheap, [_archive_item(a)]))
    return out


def _archive_item(a: condacache.Entry) -> Item:
    return Item(a.rel, "tarball", a.size, a.size if a.nlink <= 1 else 0, a.ino, a.mtime_ns,
                "", False, condacache.dist_name(a.rel))


# The request ------------------------------------------------------------------------------

class Scope:
    """One cache's part in a prune: its candidates, its size, how to plan its removal."""

    def __init__(self, manager: str, root: str, record: Dict[str, Any], cache_bytes: int,
                 candidates: List[policy.Candidate],
                 plan: Callable[[List[policy.Selected]], Any], fixed: bool = False) -> None:
        self.manager, self.root, self.record = manager, root, record
        self.cache_bytes, self.candidates, self.plan = cache_bytes, candidates, plan
        self.dev = os.lstat(root).st_dev
        # ``fixed``: the cache has a rule of its own (the tool cache: older patches,
        # incomplete downloads); its candidates carry that rule in ``ref[1]`` and are
        # taken whatever the policy's age and size rules say
        self.fixed = fixed
        # ``pool``: entries too many for an object each (pip); planned by ``plan_pool``
        self.pool: Optional[policy.Pool] = None
        self.plan_pool: Optional[Callable[[policy.Pool], Dict[str, Any]]] = None
        self.rows_of_pool: Optional[Callable[[policy.Pool, Dict[str, Any]],
                                             List[Dict[str, Any]]]] = None
        self.kept: List[Dict[str, Any]] = []
        self.kept_more = 0


def gather(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any]
           ) -> List[Scope]:
    scopes: List[Scope] = []
    managers = request.get("managers") or ["pip", "conda"]
    keep = list((request.get("policy") or {}).get("keep") or [])
    if "pip" in managers:
        scopes += _pip_scope(environ, result, keep)
    if "conda" in managers:
        scopes += _conda_scopes(request, environ, result)
    if "uv" in managers:
        scopes += _uv_scope(request, environ, result)
    if "toolcache" in managers:
        scopes += _toolcache_scope(environ, result)
    return scopes


def _toolcache_scope(environ: Dict[str, str], result: Dict[str, Any]) -> List[Scope]:
    from cachekit.core import toolcache

    record = toolcache.cache_record(environ)
    root = record["path"]
    result["caches"].append(record)
    if not record["exists"]:
        return []
    toolcache.refuse_unsafe_root(root, environ, record["source"])
    installs, errors = toolcache.scan(root)
    record.update(toolcache.summarize(installs))
    if errors:
        record["error"] = f"{root} could not be read fully; nothing is pruned from it"
        return []
    record["last_use"] = "modification time (tools are not read through the cache)"
    candidates = [policy.Candidate("toolcache", root, i.entry, i.tool, i.bytes, i.freed,
                                   i.last_use_ns, False, (i, rule))
                  for i, rule in toolcache.selection(installs)]

    def plan(chosen: List[policy.Selected]) -> Dict[str, Any]:
        return toolcache.plan_wire(root, [(s.candidate.ref[0], s.rule)
                                          for s in chosen])

    return [Scope("toolcache", root, record, record["bytes"], candidates, plan, fixed=True)]


def _uv_scope(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any]
              ) -> List[Scope]:
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
    clock, why = last_use_clock(root)
    record["last_use"] = why
    rules = request.get("policy") or {}
    candidates = []
    for name, pkg in sorted(lay.packages.items()):
        last = max((_when(f, clock) for f in pkg.files), default=0)
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

    return [Scope("uv", root, record, record["bytes"], candidates, plan)]


def _pip_scope(environ: Dict[str, str], result: Dict[str, Any], keep: List[str]
               ) -> List[Scope]:
    """pip's entries as a pool: a million-file cache is ranked in arrays, and its plan is
    the rule that selects (``pip_prune``), not a list of its files."""
    from cachekit.core import pip_prune

    try:
        loc = locate(environ)
    except PipConfigError as exc:
        result["caches"].append({"manager": "pip", "path": None, "source": "",
                                 "exists": False, "enabled": False, "error": str(exc),
                                 "warnings": []})
        return []
    record = pipcache.cache_record(loc)
    result["caches"].append(record)
    if not record["exists"]:
        return []
    root = record["path"]
    pipcache.refuse_unsafe_root(root, environ, record["source"], "prune")
    clock, why = last_use_clock(root)
    planned_at = time.time_ns()  # apply keeps what changed after this (pip_sweep)
    walked = pip_prune.walk(root, clock, keep)
    record.update(bytes=walked.bytes, files=walked.files)
    if walked.errors:
        where, why = walked.errors[0]
        record["error"] = (f"{root} could not be read fully ({where}: {why}); nothing is "
                           "pruned from it")
        return []
    st = os.lstat(root)
    record["root_id"] = [st.st_dev, st.st_ino]
    record["last_use"] = why
    pool = policy.Pool("pip", root, walked.last, walked.size, walked.freed, walked.tie,
                       bytes(1 if f & pip_prune.CHEAP else 0 for f in walked.flags))

    def criterion(p: policy.Pool) -> Dict[str, Any]:
        return dict(p.criterion, planned_at_ns=planned_at, clock=clock, keep=keep,
                    rows=p.chosen <= pip_prune.ROW_LIMIT)

    def plan(p: policy.Pool) -> Dict[str, Any]:
        return pip_prune.wire(root, record["root_id"], criterion(p), p.chosen,
                              p.taken_bytes("freed"))

    def rows(p: policy.Pool, crit: Dict[str, Any]) -> List[Dict[str, Any]]:
        if crit["rows"]:  # a small plan shows each entry: walked once more to name them
            return [{"path": root + "/" + path, "manager": "pip", "entry": path,
                     "package": name, "bytes": size, "freed": free, "reason": rule,
                     "last_use_ns": last, "kind": "entry"}
                    for last, path, name, rule, size, free, _f in
                    pip_prune.pick_rows(root, clock, keep, crit)]
        return [{"path": root, "manager": "pip", "entry": f"{n} entries", "entries": n,
                 "package": "", "bytes": size, "freed": free, "reason": rule,
                 "last_use_ns": newest, "kind": "entries"}
                for rule, (n, size, free, newest) in sorted(p.tally.items())]

    scope = Scope("pip", root, record, record["bytes"], [], lambda chosen: [])
    scope.pool, scope.plan_pool, scope.rows_of_pool = pool, plan, rows
    scope.kept = [{"manager": "pip", "path": os.path.join(root, entry),
                   "reason": f"--keep {pattern}"} for entry, pattern in walked.kept]
    scope.kept_more = walked.kept_count - len(walked.kept)
    return [scope]


def _conda_scopes(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any]
                  ) -> List[Scope]:
    from cachekit.core import conda_serve

    loc = conda_location.locate(environ)
    records = [conda_serve.conda_cache_record(c, loc) for c in loc.caches]
    result["caches"] += records
    if loc.errors:
        records[0]["error"] = "; ".join(loc.errors) + "; nothing pruned until it is fixed"
        return []
    conda_serve.refuse_unsafe_roots(request, loc, (), environ)  # before anything is read
    usage = condacache.read_usage(e.path for e in loc.envs)
    scopes = []
    for cache, record in zip(loc.caches, records):
        if not (cache.exists and cache.writable and cache.configured):
            continue
        root = os.path.realpath(cache.path)
        listing = condacache.list_cache(root)
        rels = [e.rel for e in listing.entries if e.kind in condacache.DIR_KINDS]
        stats = condacache.walk_many(root, rels)
        record.update(condacache.summarize(listing, stats, usage))
        if listing.errors or any(s.errors for s in stats.values()):
            record["error"] = f"{cache.path} could not be read fully; nothing is pruned from it"
            continue
        clock, why = last_use_clock(root)
        record["last_use"] = why
        candidates = conda_candidates(root, listing, stats, usage, clock,
                                      bool((request.get("policy") or {}).get("ci")))

        def plan(chosen: List[policy.Selected], root: str = root, shown: str = cache.path
                 ) -> Dict[str, Any]:
            items = [i._replace(reason=s.rule) for s in chosen for i in s.candidate.ref]
            return conda_serve.plan_to_wire("pkgs", shown, root, CachePlan(items, []))

        scopes.append(Scope("conda", root, record, record["bytes"], candidates, plan))
    return scopes


def serve(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any]) -> None:
    """Plan one prune on this host: its plans go to ``result["plans"]``, for the agent to
    apply (with ``apply``) as it applies any other plan."""
    rules = request.get("policy") or {}
    now = int(request.get("now_ns") or time.time_ns())
    scopes = gather(request, environ, result)
    result["policy_notes"] = notes = []
    open_: List[policy.Candidate] = []
    pools: List[policy.Pool] = []
    scope_of = {(s.manager, s.root): s for s in scopes}  # a candidate's scope, by its cache
    kept = []
    chosen: List[policy.Selected] = []
    for scope in scopes:
        free, protected = policy.protect(scope.candidates, rules.get("keep") or [])
        kept += protected
        if scope.fixed:
            if rules.get("min_free") is not None:  # the gate holds for these rules too
                disk = mounts.disk_usage(scope.root)
                target = policy.free_bytes_target(rules["min_free"], disk["total_bytes"])
                if disk["free_bytes"] >= target:
                    continue
            chosen += [policy.Selected(c, c.ref[1]) for c in free]
        else:
            open_ += free
            if scope.pool is not None:
                pools.append(scope.pool)
    min_free = rules.get("min_free")
    gated: List[policy.Candidate] = []
    gated_pools: List[policy.Pool] = []
    shortfalls: Dict[int, Tuple[int, List[policy.Candidate], List[policy.Pool]]] = {}
    if min_free is not None:
        for dev in sorted({s.dev for s in scopes}):
            group = [s for s in scopes if s.dev == dev]
            disk = mounts.disk_usage(group[0].root)
            target = policy.free_bytes_target(min_free, disk["total_bytes"])
            members = [c for c in open_ if scope_of[(c.manager, c.cache)].dev == dev]
            member_pools = [p for p in pools if scope_of[(p.manager, p.cache)].dev == dev]
            if disk["free_bytes"] >= target:
                notes.append(f"{', '.join(s.root for s in group)}: {disk['free_bytes']} B "
                             f"free, at least --min-free ({target} B): nothing to do")
                continue
            gated += members
            gated_pools += member_pools
            shortfalls[dev] = (target - disk["free_bytes"], members, member_pools)
    else:
        gated, gated_pools = open_, pools
    if any(rules.get(k) for k in ("older_than_s", "ci")) or rules.get("max_size_bytes") \
            is not None:
        counted = {(c.manager, c.cache) for c in gated} | \
            {(p.manager, p.cache) for p in gated_pools} if min_free is not None else None
        total = sum(s.cache_bytes for s in scopes if counted is None
                    or (s.manager, s.root) in counted)
        picked, more = policy.select(gated, rules, now, total, gated_pools)
        chosen += picked
        notes += more
    elif min_free is not None:
        for shortfall, members, member_pools in shortfalls.values():
            picked, more = policy.evict_for_space(members, shortfall, member_pools)
            chosen += picked
            notes += more
    result["kept"] = [{"manager": c.manager, "path": os.path.join(c.cache, c.entry),
                       "reason": f"--keep {pattern}"} for c, pattern in kept]
    for scope in scopes:
        result["kept"] += scope.kept
        if scope.kept_more:
            notes.append(f"{scope.root}: {scope.kept_more} more entries kept by --keep")
    by_scope: Dict[Tuple[str, str], List[policy.Selected]] = {}
    for sel in chosen:
        by_scope.setdefault((sel.candidate.manager, sel.candidate.cache), []).append(sel)
    rows: List[Dict[str, Any]] = []
    for scope in scopes:
        mine = by_scope.get((scope.manager, scope.root), [])
        pool = scope.pool
        scope.record["reclaimable_bytes"] = sum(s.candidate.freed for s in mine) + (
            pool.taken_bytes("freed") if pool is not None else 0)
        if pool is not None and pool.chosen and scope.plan_pool and scope.rows_of_pool:
            wire = scope.plan_pool(pool)
            wire["measure_after"] = True  # the history records the sizes measured after
            result.setdefault("plans", []).append(wire)
            if not request.get("apply"):
                rows += scope.rows_of_pool(pool, wire["prune"])
        if not mine:
            continue
        made = scope.plan(sorted(mine, key=lambda s: s.candidate.entry))
        made = made if isinstance(made, list) else [made]
        for wire in made:  # the history records the sizes measured after a prune
            wire["measure_after"] = True
        result.setdefault("plans", []).extend(made)
    if not request.get("apply"):
        # The plan, one row per entry (an apply reports every file it deletes); a pool's
        # large plan, one row per rule with its count.
        rows += [{"path": c.cache + "/" + c.entry, "manager": c.manager, "entry": c.entry,
                  "package": c.package, "bytes": c.bytes, "freed": c.freed, "reason": s.rule,
                  "last_use_ns": c.last_use_ns, "kind": "entry"}
                 for s in chosen for c in (s.candidate,)]
        rows.sort(key=lambda r: (r["last_use_ns"], r["entry"]))
        result["removed"] = rows

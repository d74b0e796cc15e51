"""Prune candidates of the managers not yet in packages of their own (conda, uv, the tool
cache), served through ``managers/legacy``; the generic prune is ``ops/prune``.

An entry is what goes as a whole: a pip wheel, a pip HTTP entry (metadata and body), a
conda package no environment uses (extracted directory and archive), a conda archive
whose extracted package stays. Selection is ``policy``'s; the plans are the managers'
own wire formats, applied by the same code as ``remove`` and ``clean``.

Ages come from ``lstat`` only. Where a body is opened to learn its package (``--keep``
needs names), its access time is put back, so a dry run changes no ranking.
"""

import os
import time
from typing import Any, Dict, List

from cachekit.core import conda as condacache
from cachekit.core import conda_location, policy
from cachekit.core.conda_clean import CachePlan, Item, package_verdict
from cachekit.core.fs import mounts, walk

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


def _conda_scopes(request: Dict[str, Any], environ: Dict[str, str], result: Dict[str, Any]
                  ) -> List[policy.Scope]:
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
        clock, why = mounts.last_use_clock(root)
        record["last_use"] = why
        candidates = conda_candidates(root, listing, stats, usage, clock,
                                      bool((request.get("policy") or {}).get("ci")))

        def plan(chosen: List[policy.Selected], root: str = root, shown: str = cache.path
                 ) -> Dict[str, Any]:
            items = [i._replace(reason=s.rule) for s in chosen for i in s.candidate.ref]
            return conda_serve.plan_to_wire("pkgs", shown, root, CachePlan(items, []))

        scopes.append(policy.Scope("conda", root, record, record["bytes"], candidates, plan))
    return scopes



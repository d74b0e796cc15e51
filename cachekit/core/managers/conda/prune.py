"""``prune`` for conda: the removable entries of each writable package cache.

An entry is what goes as a whole: a package no environment uses (its extracted directory
with its archives), or an archive whose extracted package stays (cheap: nothing is lost).
Selection is the policy's; the plan is conda's own wire format, applied as a ``clean``.
"""

import os
from typing import Any, Dict, List, cast

from ... import policy
from ...fs.mounts import last_use_clock
from ...fs.subtree import Stats
from ...wire import Run, not_fully_read
from ..conda_format import Usage, dist_name, dist_path, read_usage, split_dist
from . import cache as condacache
from . import location
from .cache import CondaRecord, Entry, Listing
from .clean import CachePlan, Item, package_verdict
from .loose import refuse_unsafe_roots
from .plans import CondaPlan, plan_to_wire


def conda_candidates(root: str, listing: Listing,
                     stats: Dict[str, Stats], usage: Usage, clock: str,
                     ci: bool = False) -> List[policy.Candidate]:
    """Unused packages (with their archives) and archives whose extracted package stays.

    With ``ci`` an unused package's archive is its own candidate: cheap, since the
    extracted package is still there.
    """
    out: List[policy.Candidate] = []
    packages = {e.rel: e for e in listing.of("package")}
    archives: Dict[str, List[Entry]] = {}
    for e in listing.of("tarball"):
        archives.setdefault(dist_path(e.rel), []).append(e)
    for rel, e in packages.items():
        removable, _why = package_verdict(listing, e, stats, usage)
        if not removable:
            continue
        s = stats[rel]
        mine = [] if ci else [a for a in archives.pop(rel, []) if a.nlink <= 1]
        last = s.last_atime_ns if clock == "atime" else s.last_mtime_ns
        items = [Item(rel, "package", s.bytes, s.freed, e.ino, e.mtime_ns, "", True,
                      dist_name(rel))]
        items += [_archive_item(a) for a in mine]
        out.append(policy.Candidate(
            "conda", root, rel, split_dist(dist_name(rel))[0],
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
                "conda", root, a.rel, split_dist(dist_name(a.rel))[0],
                a.size, a.size, last, cheap, [_archive_item(a)]))
    return out


def _archive_item(a: Entry) -> Item:
    return Item(a.rel, "tarball", a.size, a.size if a.nlink <= 1 else 0, a.ino, a.mtime_ns,
                "", False, dist_name(a.rel))


def scopes(run: Run, loc: location.CondaLocation, caches: List[CondaRecord]
           ) -> List[policy.Scope]:
    """Each writable configured cache's candidates, and how to plan the chosen ones."""
    if loc.errors:
        caches[0]["error"] = "; ".join(loc.errors) + "; nothing pruned until it is fixed"
        return []
    refuse_unsafe_roots(run.request, loc, (), run.environ)  # before anything is read
    usage = read_usage(e.path for e in loc.envs)
    ci = bool((run.request.get("policy") or {}).get("ci"))
    out = []
    for cache, record in zip(loc.caches, caches):
        if not (cache.exists and cache.writable and cache.configured):
            continue
        root = os.path.realpath(cache.path)
        listing = condacache.list_cache(root)
        rels = [e.rel for e in listing.entries if e.kind in condacache.DIR_KINDS]
        stats = condacache.walk_many(root, rels)
        record.update(condacache.summarize(listing, stats, usage))
        if listing.errors or any(s.errors for s in stats.values()):
            record["error"] = not_fully_read(cache.path, "pruned")
            continue
        clock, why = last_use_clock(root)
        record["last_use"] = why
        candidates = conda_candidates(root, listing, stats, usage, clock, ci)

        def plan(chosen: List[policy.Selected], root: str = root, shown: str = cache.path
                 ) -> CondaPlan:
            items = [i._replace(reason=s.rule) for s in chosen for i in s.candidate.ref]
            return plan_to_wire("pkgs", shown, root, CachePlan(items, []))

        out.append(policy.Scope("conda", root, cast(Dict[str, Any], record), record["bytes"],
                                candidates, plan))
    return out


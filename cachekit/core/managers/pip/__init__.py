"""pip's cache: where it is (``location``), what is in it (``cache``), ``list``/``remove``/
``purge`` as pip 26 does them (``sweep``), prune candidates (``prune``), downloads traced
to packages (``attribution``), applying a plan (``apply``), relocating (``settings``).

Every host has pip's cache (it may just not exist yet), so pip is always present.
"""

import os
from typing import Any, List, cast

from ... import Refused
from ...fs import walk
from ...wire import CacheRecord, EntryRow, PlanWire, Row, cache_record, unreadable
from ..base import Manager, Settings
from . import cache as pipcache


class Pip(Manager):
    name = "pip"
    label = "pip cache"
    ops = frozenset({"dir", "info", "list", "report", "remove", "purge", "prune",
                     "locations", "relocate"})
    env_prefixes = ("PIP_",)
    info_columns = (
        ("MANAGER", "manager", "text"), ("PATH", "path", "path"), ("SIZE", "bytes", "bytes"),
        ("FILES", "files", "int"), ("BUILT WHEELS", "wheels wheels_bytes", "count_bytes"),
        ("HTTP FILES", "http_files http_bytes", "count_bytes"),
        ("OTHER", "other_files other_bytes", "count_bytes"),
        ("ON DISK", "disk_bytes", "bytes"),
    )
    info_missing_row = True  # where pip's cache would be, even before pip made it

    def caches(self) -> List[CacheRecord]:
        from .location import PipConfigError, locate

        try:
            loc = locate(self.run.environ)
        except PipConfigError as exc:
            return [cache_record("pip", None, "", False, str(exc), enabled=False)]
        record: CacheRecord = pipcache.cache_record(loc)
        path = record["path"]
        if path and not record["exists"] and os.path.lexists(path):
            record["warnings"].append(f"{path} exists but is not a directory")
        if record["exists"] and path and self.run.op != "dir":
            st = os.lstat(path)
            record["root_id"] = [st.st_dev, st.st_ino]
        return [record]

    def _existing(self, caches: List[CacheRecord]) -> List[CacheRecord]:
        return [c for c in caches if c.get("exists") and c.get("path")]

    def measure(self, caches: List[CacheRecord]) -> None:
        for cache in self._existing(caches):
            root = str(cache["path"])
            if self.run.request.get("attribute") and self.run.op == "report":
                _report_attributed(root, cache)
                continue
            # Figures only: one walk folding totals, no per-file records. `report`
            # shows no on-disk size: it skips the directory stats that need.
            totals = walk.scan_totals(root, pipcache.classify, disk=self.run.op == "info")
            _mine(cache).update(pipcache.summarize_totals(totals))
            _warn_unreadable(cache, root, totals.errors)
            if self.run.op == "report":
                cache["reclaimable_bytes"] = pipcache.reclaimable_totals(totals)

    def entries(self, caches: List[CacheRecord]) -> List[EntryRow]:
        from . import pattern as picking

        out: List[EntryRow] = []
        for cache in self._existing(caches):
            root = str(cache["path"])
            _figures(cache, root)
            pattern = self.run.request.get("pattern") or "*"
            downloads = bool(self.run.request.get("downloads"))
            buckets = (pipcache.WHEELS, "http-v2") if downloads else (pipcache.WHEELS,)
            acc = picking.explicit(root, buckets,
                                   picking.pattern_pick(root, pattern, downloads),
                                   counted_only=True)  # a wheel, or a download's body
            rules = {"matched pip pattern": "pip pattern",
                     "matched normalised name": "normalised name"}
            found: List[Any] = acc.rows or []
            for rel, size, _ino, _mtime, (reason, package, _c, version, kind) in found:
                out.append({"manager": "pip", "name": package, "version": version,
                            "kind": kind, "rule": rules.get(reason, "downloaded body"),
                            "path": os.path.join(root, rel), "bytes": size})
        return out

    def plan(self, caches: List[CacheRecord]) -> List[PlanWire]:
        from . import apply

        op, request = self.run.op, self.run.request
        plans: List[PlanWire] = []
        for cache in self._existing(caches):
            root = str(cache["path"])
            # before scanning: `/` is never walked
            pipcache.refuse_unsafe_root(root, self.run.environ, cache["source"], op)
            if op == "purge" or request.get("pattern") == "*":
                wire = _purge_wire(root, cache)  # counts, not a record per file
            else:
                _figures(cache, root)
                wire = _remove_wire(request.get("pattern"), bool(request.get("downloads")),
                                    root, cache["root_id"])
            plans.append(wire)
            self.run.result["removed"] += [dict(r, ok=None)
                                           for r in apply.planned_rows(root, wire)]
            dirs: List[str] = cast(Any, wire).get("dirs", [])  # a remove plan's own key
            self.run.result["dirs_removed"] += [os.path.join(root, d) for d in dirs]
            cache["reclaimable_bytes"] = wire["freed_bytes"]  # what this plan would free
        return plans

    def recognise(self, wire: PlanWire, caches: List[CacheRecord]) -> None:
        from . import apply

        existing = self._existing(caches)
        if not existing:
            raise Refused("the pip cache planned for removal no longer exists")
        cache = existing[0]
        root = str(cache["path"])
        pipcache.refuse_unsafe_root(root, self.run.environ, cache["source"],
                                    "apply a plan to")
        if "files" not in cache:  # the figures before it; the plans hold what to remove
            _figures(cache, root)
        apply.recognise(root, cache["root_id"], wire)

    def apply(self, wire: PlanWire) -> None:
        from . import apply

        apply.execute(self.run, wire)

    def prune_scopes(self, caches: List[CacheRecord]) -> List[Any]:
        from . import pool

        found = [pool.scope(self.run, c) for c in self._existing(caches)]
        return [s for s in found if s is not None]

    def location(self) -> Row:
        from . import settings

        return settings.location_record(self.run.environ)

    def settings(self) -> Settings:
        from . import settings

        return settings.PipSettings(self.run.environ)

    @classmethod
    def layout_problem(cls, root: str, kind: str = "") -> str:
        return pipcache.layout_problem(root)


def _mine(cache: CacheRecord) -> pipcache.PipRecord:
    """A record this manager made is a ``PipRecord`` (the base type is what ops pass)."""
    return cast(pipcache.PipRecord, cache)


def _figures(cache: CacheRecord, root: str) -> None:
    """The cache's figures from one totals walk (list, remove, and before an apply)."""
    totals = walk.scan_totals(root, pipcache.classify)
    _mine(cache).update(pipcache.summarize_totals(totals))
    _warn_unreadable(cache, root, totals.errors)


def _warn_unreadable(cache: CacheRecord, root: str, errors: List[Any]) -> None:
    if errors:
        cache["warnings"].append(unreadable(len(errors), os.path.join(root, errors[0][0]),
                                            errors[0][1]))


def _report_attributed(root: str, cache: CacheRecord) -> None:
    """``report --attribute``: the exact purge figure, and downloads traced to packages."""
    tree = walk.scan(root)
    figures = pipcache.summarize(tree)
    record = _mine(cache)
    record.update(figures)
    _warn_unreadable(cache, root, tree.errors)
    attributed = pipcache.attribute_downloads(root, tree)
    done = sum(f.size for files, _ in attributed for f in files)
    record["attributed_bytes"] = done
    record["unattributed_bytes"] = figures["http_bytes"] - done
    purge = pipcache.plan_removal(tree, pipcache.match_wheels(tree, "*"), [], purge=True)
    cache["reclaimable_bytes"] = purge.freed_bytes


def _purge_wire(root: str, cache: CacheRecord) -> PlanWire:
    """A purge as one row per bucket (see ``sweep``): counts, not a record per file."""
    from . import sweep

    _figures(cache, root)
    wire: Any = sweep.plan_wire(root, cache["root_id"])
    return wire


def _remove_wire(pattern: Any, downloads: bool, root: str, root_id: List[int]) -> PlanWire:
    """``remove PATTERN``: each file pip 26.2+ deletes, and the directories it clears."""
    from . import sweep

    if not pattern:
        raise Refused("remove needs a pattern (use purge to remove everything)")
    from . import pattern as picking

    acc = picking.explicit(root, pipcache.BUCKETS,
                           picking.pattern_pick(root, pattern, downloads))
    files = [[rel, size, ino, mtime_ns, reason, package]
             for rel, size, ino, mtime_ns, (reason, package, *_rest) in acc.rows or []]
    selfcheck, selfcheck_freed = sweep.legacy_selfcheck(root)
    wire: Any = {"manager": "pip", "root": root, "root_id": root_id, "matched": acc.matched,
                 "freed_bytes": acc.freed_bytes() + selfcheck_freed,
                 "files": files + selfcheck, "dirs": acc.dir_rows or []}
    return wire


MANAGER = Pip

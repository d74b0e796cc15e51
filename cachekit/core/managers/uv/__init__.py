"""uv: its cache (``uv cache dir``), measured, listed, and emptied through the host's uv.

Removals of single packages go through the host's ``uv`` (``uv cache clean PKG``,
``uv cache prune --ci``): it takes its own lock and knows its own layout. Without a
``uv`` binary cachekit only purges, holding uv's exclusive lock. The modules, by job:
``location`` (where the cache is), ``record`` (its record), ``totals`` (``info``'s
figures without a record per file), ``cache`` (buckets and packages), ``binary`` (which
uv), ``plan``, ``apply``, ``figures`` (what a removal really frees), ``prune``
(candidates), ``settings`` (``relocate``).

Only ``base`` and ``wire`` are imported here: every host loads this module to ask
``present()``; the rest loads when an op needs it.
"""

import os
from typing import TYPE_CHECKING, Any, List, cast

from ... import Refused
from ...wire import CacheRecord, EntryRow, PlanWire, Row, not_fully_read
from ..base import READ_OPS, Manager

if TYPE_CHECKING:
    from .plan import UvPlan
    from .record import UvCache
    from .settings import UvSettings


class Uv(Manager):
    """uv's cache on this host."""

    name = "uv"
    label = "uv cache"
    ops = READ_OPS | {"remove", "purge", "prune", "locations", "relocate"}
    env_prefixes = ("UV_",)
    info_columns = (
        ("UV CACHE", "path", "path"), ("SIZE", "bytes", "bytes"), ("FILES", "files", "int"),
        ("ON DISK", "disk_bytes", "bytes"), ("PACKAGES", "packages", "int"),
        ("LARGEST BUCKETS", "buckets", "top_bytes"), ("NOT UV'S", "unknown", "list"),
    )
    notes = {
        "dir": (("uv_binary", "{host}: uv program: {uv_binary} (from {uv_binary_source})",
                 "{host}: uv program: none found"),),
        "info": (("linked_bytes", "{host}: uv {path}: {value} of SIZE is hard-linked from "
                  "outside the cache (environments): removing it frees that only when they "
                  "go", ""),),
    }

    def present(self) -> bool:
        """uv is in use where its cache directory exists (or its settings are broken:
        then its record says why)."""
        from . import location

        try:
            path = location.locate(self.run.environ).path
        except location.UvConfigError:
            return True  # let the uv half report the problem
        return bool(path and os.path.isdir(path))

    def caches(self) -> List[CacheRecord]:
        """The one uv cache, with the uv binary removals would go through."""
        from . import binary, record

        rec = record.cache_record(self.run.environ)
        binary.binary_for(self.run.request, self.run.environ, rec)
        return [rec]

    # Reading --------------------------------------------------------------------------

    def measure(self, caches: List[CacheRecord]) -> None:
        from . import totals

        for rec in self._existing(caches):
            totals.measure(rec)

    def entries(self, caches: List[CacheRecord]) -> List[EntryRow]:
        from ...fs import walk
        from . import cache as uvcache
        from .record import UvEntry, scan

        out: List[EntryRow] = []
        for rec in self._existing(caches):
            root, _tree, lay = scan(rec)
            for name in uvcache.matching(lay, self.run.request.get("pattern") or "*"):
                pkg = lay.packages[name]
                row: UvEntry = {
                    "manager": "uv", "name": name, "version": ", ".join(pkg.versions),
                    "kind": "+".join(pkg.kinds), "bytes": sum(f.size for f in pkg.files),
                    "freed_bytes": walk.freed_bytes(pkg.files),
                    "path": os.path.join(root, next(
                        (e for e in pkg.entries if uvcache.bucket_of(e)[0] != "simple"),
                        pkg.entries[0]))}
                out.append(row)
        return out

    # Removing -------------------------------------------------------------------------

    def plan(self, caches: List[CacheRecord]) -> List[PlanWire]:
        """``remove PATTERN`` (through uv) or ``purge``; the plan's rows go to the result
        as a dry run's, its figures on the cache's record."""
        from ... import safety
        from . import plan as uvplan
        from .record import scan

        op = self.run.op
        if op not in ("remove", "purge"):
            raise Refused(f"uv cannot {op}")
        plans: List[PlanWire] = []
        for rec in self._existing(caches):
            # before a scan, and before any removal
            safety.refuse("uv", rec["path"] or "", self.run.environ, op, rec["source"])
            if rec.get("error"):
                continue  # a uv named but not found: nothing is done without it
            root, tree, lay = scan(rec)
            if tree.errors:
                rec["error"] = not_fully_read(root, "removed")
                continue
            wire = uvplan.remove_or_purge(op, rec, tree, lay, self.run.request.get("pattern"),
                                          self.run.environ)
            if wire is None:
                continue
            rec["reclaimable_bytes"] = (rec.get("reclaimable_bytes") or 0) + wire["freed_bytes"]
            rec["removal"] = wire["figures"]
            self.run.result["removed"] += [dict(r, ok=None) for r in uvplan.rows(wire)]
            plans.append(wire)
        return plans

    def recognise(self, wire: PlanWire, caches: List[CacheRecord]) -> None:
        from .apply import recognise

        found = [cast("UvCache", c) for c in caches if c.get("manager") == "uv"]
        recognise(cast("UvPlan", wire), found[0] if found else None, self.run.environ)

    def apply(self, wire: PlanWire) -> None:
        from .apply import execute

        execute(cast("UvPlan", wire), self.run)

    def prune_scopes(self, caches: List[CacheRecord]) -> List[Any]:
        from .prune import scopes

        return [s for rec in self._existing(caches) for s in scopes(rec, self.run)]

    # Settings -------------------------------------------------------------------------

    def location(self) -> Row:
        from .location import record

        return record(self.run.environ)

    def settings(self) -> "UvSettings":
        from .settings import UvSettings

        return UvSettings(self.run.environ)

    # Safety ---------------------------------------------------------------------------

    @classmethod
    def layout_problem(cls, root: str, kind: str = "") -> str:
        from .cache import layout_problem

        return layout_problem(root)

    # ----------------------------------------------------------------------------------

    @staticmethod
    def _existing(caches: List[CacheRecord]) -> "List[UvCache]":
        """This manager's caches that exist (the others have nothing to read)."""
        return [cast("UvCache", c) for c in caches
                if c.get("manager") == "uv" and c.get("exists")]


MANAGER = Uv


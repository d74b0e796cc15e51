"""pixi (and rattler): its package cache, read as rattler writes it, emptied by cachekit.

pixi has no command that lists or cleans single packages of its cache (``pixi clean
cache --conda`` deletes the whole package cache, whoever uses it). cachekit removes
packages itself, holding rattler's cache lock, and keeps every package an environment
uses (conda's rule, ``conda_format``). The modules, by job: ``places`` (signs of pixi,
all ``present()`` needs), ``location`` (where the cache root and the package cache are,
as pixi decides), ``cache`` (the package cache's layout and figures), ``envs`` (the
environments cachekit can find), ``record`` (a cache's record and one reading of it),
``plan``, ``apply``, ``prune``, ``settings`` (``relocate``).

Only ``base`` and ``wire`` are imported here: every host loads this module to ask
``present()``; the rest loads when an op needs it.
"""

import os
from typing import TYPE_CHECKING, Any, List, Optional, cast

from ... import Refused
from ...wire import CacheRecord, EntryRow, PlanWire, Row
from ..base import READ_OPS, Manager

if TYPE_CHECKING:
    from .cache import PixiRecord
    from .location import PixiLocation
    from .plan import PixiPlan
    from .settings import PixiSettings


class Pixi(Manager):
    """pixi's package cache on this host."""

    name = "pixi"
    label = "pixi package cache"
    ops = READ_OPS | {"remove", "purge", "prune", "locations", "relocate"}
    env_prefixes = ("PIXI_", "RATTLER_")
    shown_when_absent = False  # ``dir`` shows it where pixi left a sign, or when asked
    info_columns = (
        ("PIXI CACHE", "path", "path"), ("SIZE", "bytes", "bytes"), ("FILES", "files", "int"),
        ("PACKAGES", "packages packages_bytes", "count_bytes"),
        ("UNUSED", "unused_packages unused_bytes", "count_bytes"),
        ("ENVIRONMENTS", "environments", "int"),
        ("LARGEST BUCKETS", "buckets", "top_bytes"),
    )
    notes = {
        "dir": (("packages_dir", "{host}: pixi packages: {packages_dir} (from "
                 "{packages_source})", ""),),
        "info": (("buckets", "{host}: pixi packages: {packages_dir}; UNUSED: no "
                  "environment cachekit found records them, and no file of theirs has another "
                  "hard link", ""),),
    }

    _loc: "Optional[PixiLocation]" = None

    def present(self) -> bool:
        """A PIXI_*/RATTLER_* variable, ~/.pixi, a pixi config file or a default cache."""
        from .places import signs

        return signs(self.run.environ)

    def caches(self) -> List[CacheRecord]:
        from .record import cache_record

        record, self._loc = cache_record(self.run.environ)
        return [cast(CacheRecord, record)]

    # Reading --------------------------------------------------------------------------

    def measure(self, caches: List[CacheRecord]) -> None:
        from .record import measure

        for record in self._existing(caches):
            measure(self._location(), self.run.environ, record)

    def entries(self, caches: List[CacheRecord]) -> List[EntryRow]:
        from .record import entry_rows, read

        out: List[EntryRow] = []
        for record in self._existing(caches):
            reading = read(self._location(), self.run.environ, record)
            if reading is not None:
                rows = entry_rows(reading, self.run.request.get("pattern") or "*")
                out += cast(List[EntryRow], rows)
        return out

    # Removing -------------------------------------------------------------------------

    def plan(self, caches: List[CacheRecord]) -> List[PlanWire]:
        """``remove PATTERN`` or ``purge``: refused roots first, then the plan."""
        from ...wire import not_fully_read
        from . import plan as pixiplan
        from .record import read

        op = self.run.op
        if op not in ("remove", "purge"):
            raise Refused(f"pixi cannot {op}")
        plans: List[PlanWire] = []
        for record in self._existing(caches):
            loc = self._location()
            self._refuse(record, op)
            reading = read(loc, self.run.environ, record)
            if reading is None:
                continue
            if reading.problems:
                raise Refused(f"pixi: {reading.problems[0]}; nothing removed until it is fixed")
            if reading.listing.errors or any(s.errors for s in reading.stats.values()):
                record["error"] = not_fully_read(loc.pkgs, "removed")
                continue
            items, kept = pixiplan.select(op, self.run.request.get("pattern"), reading)
            wire = pixiplan.plan_wire(loc, reading, items, kept)
            plans.append(cast(PlanWire, pixiplan.offer(wire, self.run.result, record)))
        return plans

    def recognise(self, wire: PlanWire, caches: List[CacheRecord]) -> None:
        from .apply import recognise

        for record in self._existing(caches):
            self._refuse(record, "apply a plan to")
        recognise(cast("PixiPlan", wire), self._loc)

    def apply(self, wire: PlanWire) -> None:
        from .apply import execute, recognise

        recognise(cast("PixiPlan", wire), self._location())
        execute(cast("PixiPlan", wire), self.run, self._location(), self.run.environ)

    def prune_scopes(self, caches: List[CacheRecord]) -> List[Any]:
        from .prune import scopes

        out: List[Any] = []
        for record in self._existing(caches):
            self._refuse(record, "prune")
            out += scopes(self._location(), self.run.environ, record)
        return out

    # Settings -------------------------------------------------------------------------

    def location(self) -> Row:
        from .location import record

        return record(self.run.environ)

    def settings(self) -> "PixiSettings":
        from .settings import PixiSettings

        return PixiSettings(self.run.environ)

    # Safety ---------------------------------------------------------------------------

    @classmethod
    def layout_problem(cls, root: str, kind: str = "") -> str:
        from .cache import layout_problem

        return layout_problem(root)

    def _refuse(self, record: "PixiRecord", verb: str) -> None:
        """safety's refusal, before anything is read: the cache root may not be ``/``, a
        home or a system directory, and the package cache must be rattler's."""
        from ... import safety

        loc = self._location()
        safety.refuse_place(loc.path or "", self.run.environ, verb, "pixi cache root",
                            record.get("source", ""))
        if os.path.isdir(loc.pkgs):  # a root without packages yet has nothing to remove
            safety.refuse("pixi", loc.pkgs, self.run.environ, verb, loc.pkgs_source)

    def _location(self) -> "PixiLocation":
        if self._loc is None:
            from .location import locate

            self._loc = locate(self.run.environ)
        return self._loc

    @staticmethod
    def _existing(caches: List[CacheRecord]) -> "List[PixiRecord]":
        """This manager's caches whose package cache (or root) exists."""
        return [cast("PixiRecord", c) for c in caches
                if c.get("manager") == "pixi" and c.get("exists") and not c.get("error")]


MANAGER = Pixi

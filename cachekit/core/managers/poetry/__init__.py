"""Poetry: its cache dir (``poetry config cache-dir``), measured, listed, cleared.

cachekit removes Poetry's entries itself (Poetry keeps no lock on its cache): ``purge``
is every repository cleared (``poetry cache clear REPO --all``) plus ``artifacts/``
emptied, which no Poetry command does; ``remove PATTERN`` drops the matching releases'
metadata, HTTP cache entries and artifacts. ``virtualenvs/`` and ``src/`` in the same
directory are never touched. The modules, by job: ``place`` (config dir, default cache:
all ``present()`` needs), ``location`` (where the cache is), ``record`` (its figures),
``cache`` (layout and attribution), ``plan``, ``apply``, ``prune``, ``settings``.
"""

import os
from typing import TYPE_CHECKING, Any, List, cast

from ... import Refused
from ...wire import CacheRecord, EntryRow, PlanWire, Row, not_fully_read
from ..base import READ_OPS, Manager

if TYPE_CHECKING:
    from .plan import PoetryPlan
    from .record import PoetryCache
    from .settings import PoetrySettings


class Poetry(Manager):
    """Poetry's cache dir on this host."""

    name = "poetry"
    label = "Poetry cache dir"
    ops = READ_OPS | {"remove", "purge", "prune", "locations", "relocate"}
    env_prefixes = ("POETRY_",)
    info_columns = (
        ("POETRY CACHE", "path", "path"), ("SIZE", "bytes", "bytes"), ("FILES", "files", "int"),
        ("RELEASES", "releases releases_bytes", "count_bytes"),
        ("HTTP FILES", "http_files http_bytes", "count_bytes"),
        ("ARTIFACTS", "artifacts artifacts_bytes", "count_bytes"),
        ("REPOSITORIES", "repositories", "top_bytes"),
        ("VIRTUALENVS (NOT CACHE)", "virtualenvs", "int"),
        ("THEIR SIZE", "virtualenvs_bytes", "bytes"),
    )
    notes = {
        "info": (("src_bytes", "{host}: poetry {path}: src/ holds {value} of git checkouts "
                  "(editable installs run from them): not cache, never touched", ""),),
    }

    def present(self) -> bool:
        """Poetry is in use where its variables are set, or its config file or default
        cache dir exists."""
        from . import place

        return place.signs(self.run.environ)

    def caches(self) -> List[CacheRecord]:
        from . import record

        return [record.cache_record(self.run.environ)]

    # Reading --------------------------------------------------------------------------

    def measure(self, caches: List[CacheRecord]) -> None:
        from . import record

        for rec in self._existing(caches):
            record.measure(rec, self.run.op)

    def entries(self, caches: List[CacheRecord]) -> List[EntryRow]:
        from . import cache as pcache

        out: List[EntryRow] = []
        for rec in self._existing(caches):
            root = rec["path"] or ""
            lay = pcache.layout(root)
            for key in pcache.matching(lay, self.run.request.get("pattern") or "*"):
                rel = lay.releases[key]
                kinds = ([f"metadata({','.join(rel.repos)})"] if rel.metadata else []) + (
                    ["http"] if rel.http else []) + (
                    ["built wheel" if rel.built else "artifact"] if rel.artifacts else [])
                out.append({"manager": "poetry", "name": key[0],
                            "version": key[1] or "(index pages)", "kind": "+".join(kinds),
                            "bytes": sum(f.size for f in rel.files),
                            "path": os.path.join(root, pcache.shown_path(rel))})
        return out

    # Removing -------------------------------------------------------------------------

    def plan(self, caches: List[CacheRecord]) -> List[PlanWire]:
        from ... import safety
        from . import cache as pcache
        from . import plan as pplan
        from .record import real_root

        op = self.run.op
        if op not in ("remove", "purge"):
            raise Refused(f"poetry cannot {op}")
        pattern = self.run.request.get("pattern")
        if op == "remove" and not pattern:
            raise Refused("remove needs a pattern (use purge to remove everything)")
        plans: List[PlanWire] = []
        for rec in self._existing(caches):
            safety.refuse("poetry", rec["path"] or "", self.run.environ, op, rec["source"])
            root = real_root(rec)
            if op == "purge":
                items, left = pplan.purge_items(root)
                names: List[str] = []
                if left:
                    rec["warnings"].append("not shaped as Poetry's (left alone): "
                                           + ", ".join(left))
            else:
                lay = pcache.layout(root)
                if lay.errors:
                    rec["error"] = not_fully_read(root, "removed")
                    continue
                keys = pcache.matching(lay, str(pattern))
                repo = pcache.parse_pattern(str(pattern)).repo
                items = [i for k in keys for i in pplan.release_items(root, lay, k, repo)]
                names = pcache.tidy_names(set(keys))
            if not items:
                continue
            wire = pplan.plan_wire(root, rec["root_id"], op, items, names)
            rec["reclaimable_bytes"] = wire["freed_bytes"]
            self.run.result["removed"] += [dict(r, ok=None) for r in pplan.rows(wire)]
            plans.append(wire)
        return plans

    def recognise(self, wire: PlanWire, caches: List[CacheRecord]) -> None:
        from ... import safety
        from .apply import recognise
        from .record import real_root

        found = self._existing(caches)
        if not found:
            raise Refused("the Poetry cache dir planned for removal no longer exists")
        rec = found[0]
        safety.refuse("poetry", rec["path"] or "", self.run.environ, "apply a plan to",
                      rec["source"])
        recognise(cast("PoetryPlan", wire), real_root(rec), rec.get("root_id") or [])

    def apply(self, wire: PlanWire) -> None:
        from .apply import execute

        execute(cast("PoetryPlan", wire), self.run)

    def prune_scopes(self, caches: List[CacheRecord]) -> List[Any]:
        from .prune import scopes

        return [s for rec in self._existing(caches) for s in scopes(rec, self.run)]

    # Settings -------------------------------------------------------------------------

    def location(self) -> Row:
        from .location import record

        return record(self.run.environ)

    def settings(self) -> "PoetrySettings":
        from .settings import PoetrySettings

        return PoetrySettings(self.run.environ)

    # Safety ---------------------------------------------------------------------------

    @classmethod
    def layout_problem(cls, root: str, kind: str = "") -> str:
        from .cache import layout_problem

        return layout_problem(root)

    @staticmethod
    def _existing(caches: List[CacheRecord]) -> "List[PoetryCache]":
        return [cast("PoetryCache", c) for c in caches
                if c.get("manager") == "poetry" and c.get("exists")]


MANAGER = Poetry

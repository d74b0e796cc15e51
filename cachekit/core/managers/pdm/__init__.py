"""PDM: its cache (``pdm config cache_dir``), measured as ``pdm cache info`` measures it,
listed, and emptied by ``pdm cache clear``'s rules, except that a package an installation
still uses is never removed (PDM's ``.referrers``, and hard links PDM does not track).

The modules, by job: ``location`` (where the cache is), ``cache`` (buckets, packages and
who uses them), ``plan`` (what a removal takes), ``apply`` (carrying it out), ``prune``
(candidates), ``settings`` (``relocate``). Only ``base`` and ``wire`` are imported here:
every host loads this module to ask ``present()``; the rest loads when an op needs it.
"""

import os
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, cast

from ... import Refused
from ...wire import CacheRecord, EntryRow, PlanWire, Row
from ..base import READ_OPS, Manager

if TYPE_CHECKING:
    from .settings import PdmSettings


class Pdm(Manager):
    """PDM's cache on this host."""

    name = "pdm"
    label = "PDM cache"
    ops = READ_OPS | {"remove", "purge", "prune", "locations", "relocate"}
    env_prefixes = ("PDM_",)
    info_columns = (
        ("PDM CACHE", "path", "path"), ("SIZE", "bytes", "bytes"), ("FILES", "files", "int"),
        ("BUILT WHEELS", "wheels_files wheels_bytes", "count_bytes"),
        ("PACKAGES", "packages packages_bytes", "count_bytes"),
        ("IN USE", "in_use in_use_bytes", "count_bytes"),
        ("HTTP", "http_files http_bytes", "count_bytes"),
        ("HASHES", "hashes_files hashes_bytes", "count_bytes"),
        ("METADATA", "metadata_files metadata_bytes", "count_bytes"),
        ("ON DISK", "disk_bytes", "bytes"),
    )
    notes = {
        "info": (("not_cache_bytes", "{host}: PDM {path}: {value} of SIZE is PDM's own "
                  "(plugins/, .compat_libs/, pip.whl, self-check/...): counted as "
                  "`pdm cache info` counts it, never removed", ""),),
    }

    def present(self) -> bool:
        """PDM is in use where its cache directory or its config file exists, or a PDM
        variable is set (a few stat calls; a broken config file reports itself)."""
        from . import location

        environ = self.run.environ
        if any(k.startswith(self.env_prefixes) for k in environ):
            return True
        try:
            loc = location.locate(environ)
        except location.PdmConfigError:
            return True
        return bool(loc.config_files) or os.path.isdir(loc.path)

    def caches(self) -> List[CacheRecord]:
        from ...wire import cache_record
        from . import location

        try:
            loc = location.locate(self.run.environ)
        except location.PdmConfigError as exc:
            return [cache_record("pdm", None, "", False, str(exc), enabled=False)]
        # A cache dir that is a symlink (~/.cache/pdm -> /data/pdm) is worked on where it
        # is, as pip's and pixi's are: every later step opens the root without following
        # a symlink, and its identity is the directory's, not the link's.
        path = os.path.realpath(loc.path)
        exists = os.path.isdir(path)
        record = cache_record("pdm", path, loc.source, exists, enabled=True,
                              shown=loc.shown, config_files=loc.config_files)
        if not exists and os.path.lexists(loc.path):
            record["warnings"].append(f"{loc.path} exists but is not a directory")
        if exists and self.run.op != "dir":
            st = os.lstat(path)
            record["root_id"] = [st.st_dev, st.st_ino]
        return [record]

    # Reading --------------------------------------------------------------------------

    def _measure(self, rec: CacheRecord, disk: bool = True) -> None:
        from ...wire import unreadable
        from . import cache as pdmcache

        root = rec["path"] or ""
        figures = pdmcache.measure(root, disk)
        packages = pdmcache.packages_of(root, figures)
        mine: Dict[str, Any] = cast(Dict[str, Any], rec)
        mine.update(pdmcache.summarize(root, figures, packages))
        purgeable = sum(mine["buckets"][b]["bytes"] for b in pdmcache.FILE_BUCKETS)
        rec["reclaimable_bytes"] = purgeable + mine["unused_bytes"]  # what purge takes
        for bucket in pdmcache.not_entered(root):
            rec["warnings"].append(f"{os.path.join(root, bucket)} is not a directory itself "
                                   "(a symlink is never followed): not entered, nothing in "
                                   "it is listed or removed")
        if mine["unknown"]:
            rec["warnings"].append(f"not PDM's (or a newer PDM's): {', '.join(mine['unknown'])}")
        if figures.errors:
            rel, why = figures.errors[0]
            rec["warnings"].append(unreadable(len(figures.errors), os.path.join(root, rel),
                                              why, skipped=False))

    def measure(self, caches: List[CacheRecord]) -> None:
        for rec in self._existing(caches):
            self._measure(rec, disk=self.run.op == "info")

    def entries(self, caches: List[CacheRecord]) -> List[EntryRow]:
        """Built wheels (``pdm cache list``'s files) and unpacked packages matching the
        pattern (PDM's file-name glob, or the normalised project name)."""
        from . import cache as pdmcache

        pattern = self.run.request.get("pattern") or "*"
        out: List[EntryRow] = []
        for rec in self._existing(caches):
            root = rec["path"] or ""
            for f in pdmcache.tree_of(root, "wheels").files:
                filename = f.path.rsplit("/", 1)[-1]
                rule = pdmcache.matches(pattern, filename)
                if f.kind == "o" or not rule:
                    continue
                name, version = pdmcache.wheel_parts(filename)
                out.append({"manager": "pdm", "name": name, "version": version,
                            "kind": "built wheel" if filename.endswith(".whl") else "file",
                            "rule": rule, "bytes": f.size,
                            "path": os.path.join(root, f.path)})
            chosen = {n: rule for n in pdmcache.package_names(root)
                      for rule in [pdmcache.matches(pattern, n[:-len(".cache")])] if rule}
            for pkg, files in pdmcache.scan_packages(root, only=set(chosen)) if chosen else []:
                why = pdmcache.in_use_reason(pkg)
                out.append({"manager": "pdm", "name": pkg.name, "version": pkg.version,
                            "kind": "unpacked wheel" + (" (in use)" if why else ""),
                            "rule": chosen[pkg.entry.split("/", 1)[1]],
                            "bytes": sum(f.size for f in files),
                            "path": os.path.join(root, pkg.entry)})
        return out

    # Removing -------------------------------------------------------------------------

    def plan(self, caches: List[CacheRecord]) -> List[PlanWire]:
        """``remove PATTERN`` or ``purge``; rows to the result as a dry run's."""
        from ... import safety
        from . import plan as pdmplan

        op = self.run.op
        if op not in ("remove", "purge"):
            raise Refused(f"pdm cannot {op}")
        pattern = self.run.request.get("pattern")
        if op == "remove" and not pattern:
            raise Refused("remove needs a pattern (use purge to remove everything)")
        plans: List[PlanWire] = []
        for rec in self._existing(caches):
            root = rec["path"] or ""
            safety.refuse("pdm", root, self.run.environ, op, rec["source"])  # before a walk
            self._measure(rec, disk=False)
            kept: List[Tuple[str, str]] = []
            wire = pdmplan.remove_plan(root, rec["root_id"], str(pattern), kept) \
                if op == "remove" else pdmplan.purge_plan(root, rec["root_id"], kept)
            self.run.result.setdefault("kept", []).extend(
                {"manager": "pdm", "path": os.path.join(root, entry), "reason": why}
                for entry, why in kept)
            rec["reclaimable_bytes"] = wire["freed_bytes"]
            if pdmplan.is_empty(wire):
                continue
            self.run.result["removed"] += [dict(r, ok=None) for r in pdmplan.rows(wire)]
            plans.append(wire)
        return plans

    def recognise(self, wire: PlanWire, caches: List[CacheRecord]) -> None:
        from ... import safety
        from . import apply

        existing = self._existing(caches)
        if not existing:
            raise Refused("the PDM cache planned for removal no longer exists")
        rec = existing[0]
        root = rec["path"] or ""
        safety.refuse("pdm", root, self.run.environ, "apply a plan to", rec["source"])
        apply.recognise(wire, root, rec["root_id"])

    def apply(self, wire: PlanWire) -> None:
        from . import apply

        apply.execute(self.run, cast(Any, wire), os.path.normpath(wire["root"]))

    def prune_scopes(self, caches: List[CacheRecord]) -> List[Any]:
        from ... import safety
        from . import prune

        out: List[Any] = []
        for rec in self._existing(caches):
            # before the walk that measures it: `/` is never walked for a prune
            safety.refuse("pdm", rec["path"] or "", self.run.environ, "prune", rec["source"])
            self._measure(rec, disk=False)
            out += prune.scopes(rec, self.run)
        return out

    # Settings -------------------------------------------------------------------------

    def location(self) -> Row:
        from . import location

        return location.record(self.run.environ)

    def settings(self) -> "PdmSettings":
        from .settings import PdmSettings

        return PdmSettings(self.run.environ)

    # Safety ---------------------------------------------------------------------------

    @classmethod
    def layout_problem(cls, root: str, kind: str = "") -> str:
        from .cache import layout_problem

        return layout_problem(root)

    @staticmethod
    def _existing(caches: List[CacheRecord]) -> List[CacheRecord]:
        return [c for c in caches if c.get("manager") == "pdm" and c.get("exists")
                and c.get("path")]


MANAGER = Pdm

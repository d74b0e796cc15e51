"""pixi's cache record, and one reading of its package cache: every package walked, every
environment found read, and cachekit's verdict on each package.

A package any environment uses stays (``conda_format.verdict``): a file of it with another
hard link, or a ``conda-meta`` record of an environment ``envs`` finds that names it.
"""

import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ... import wire
from ...fs.subtree import Stats
from .. import conda_format
from . import cache as pixicache
from . import envs as pixienvs
from .cache import PixiRecord
from .location import (
    PixiConfigError,
    PixiLocation,
    cache_root,
    kind_dir,
    locate,
)


class Reading(NamedTuple):
    """The package cache as it is now."""

    root: str  # its real path
    listing: pixicache.Listing
    stats: Dict[str, Stats]
    usage: conda_format.Usage
    envs: List[str]
    verdicts: Dict[str, Tuple[bool, str]]  # package -> (removable, why)
    problems: List[str]  # what may hide a user of a package: nothing is removed

    @property
    def unused(self) -> List[str]:
        return [rel for rel, (ok, _why) in self.verdicts.items() if ok]


def cache_record(environ: Mapping[str, str]) -> Tuple[PixiRecord, Optional[PixiLocation]]:
    """Where pixi's cache is, before it is measured (with the location it came from)."""
    try:
        loc = locate(environ)
    except PixiConfigError as exc:
        return {"manager": "pixi", "path": None, "source": "", "exists": False,
                "error": str(exc), "warnings": []}, None
    root = loc.path or ""
    exists = os.path.isdir(root) or os.path.isdir(loc.pkgs)
    return {"manager": "pixi", "path": root, "source": loc.source, "exists": exists,
            "error": None, "warnings": [], "packages_dir": loc.pkgs,
            "packages_source": loc.pkgs_source, "config_files": loc.config_files}, loc


def environments(loc: PixiLocation, environ: Mapping[str, str]) -> pixienvs.Found:
    """Every environment cachekit can find that may use this package cache."""
    settings = loc.settings
    root = cache_root(environ, settings)[0]
    dirs = {k: kind_dir(k, environ, settings)[0]
            for k in ("exec-environments", "build-tool-environments")}
    detached_setting = settings.get("detached-environments", (False, ""))[0]
    detached = detached_setting if isinstance(detached_setting, str) else (
        kind_dir("detached-environments", environ, settings)[0] if detached_setting else "")
    return pixienvs.find(root, loc.home, dirs, detached, dict(environ))


def read(loc: PixiLocation, environ: Mapping[str, str], record: Optional[PixiRecord],
         parallel: Optional[bool] = None) -> Optional[Reading]:
    """Read the package cache (None when it does not exist); its figures and what could
    not be read go on ``record``."""
    if not os.path.isdir(loc.pkgs):
        if record is not None:
            record.update(pixicache.PixiFigures(packages=0, packages_bytes=0, unused_packages=0,
                                                unused_bytes=0))
            record["environments"] = 0  # nothing to keep: not looked for
        return None
    root = os.path.realpath(loc.pkgs)
    found = environments(loc, environ)
    usage = conda_format.read_usage(found.envs)
    listing = pixicache.list_cache(root)
    rels = [e.rel for e in listing.of("package", "other_dir")]
    stats = pixicache.walk_packages(root, rels, parallel)
    verdicts = {e.rel: conda_format.verdict(root, e.rel, stats.get(e.rel), usage, rattler=True)
                for e in listing.of("package")}
    problems = found.problems + usage.warnings
    reading = Reading(root, listing, stats, usage, found.envs, verdicts, problems)
    if record is not None:
        record.update(pixicache.figures(listing, stats, reading.unused))
        record["environments"] = len(found.envs)
        record["warnings"] += [f"pixi: {line}" for line in found.problems + found.notes
                               + usage.warnings + usage.notes]
        errors = listing.errors + [e for s in stats.values() for e in s.errors]
        if errors:
            record["warnings"].append(wire.unreadable(
                len(errors), os.path.join(root, errors[0][0]), errors[0][1], skipped=False))
    return reading


def measure(loc: PixiLocation, environ: Mapping[str, str], record: PixiRecord
            ) -> Optional[Reading]:
    """``info`` and ``report`` (and ``prune``): the package cache's figures, and the rest of
    the root's; returns the package cache's reading."""
    reading = read(loc, environ, record)
    root = record.get("path") or ""
    files, size = record.get("files") or 0, record.get("bytes") or 0
    buckets: Dict[str, Dict[str, int]] = {}
    if reading is not None:
        real_root = os.path.realpath(root) if root else ""
        inside = bool(real_root) and (reading.root + "/").startswith(real_root + "/")
        name = os.path.relpath(reading.root, real_root) if inside else loc.pkgs
        buckets[name] = {"files": files, "bytes": size}
        st = os.lstat(reading.root)
        record["root_id"] = [st.st_dev, st.st_ino]
    if os.path.isdir(root):
        more, more_files, more_size, errors = pixicache.root_buckets(root, loc.pkgs)
        buckets.update(more)
        files, size = files + more_files, size + more_size
        if errors:
            record["warnings"].append(wire.unreadable(len(errors), os.path.join(
                root, errors[0][0]), errors[0][1], skipped=False))
    record["files"], record["bytes"], record["buckets"] = files, size, buckets
    record["reclaimable_bytes"] = record.get("unused_bytes") or 0
    return reading


def entry_rows(reading: Reading, pattern: str) -> List[Dict[str, Any]]:
    """``list``: the extracted packages matching ``pattern``, each with who keeps it."""
    out: List[Dict[str, Any]] = []
    for e in reading.listing.of("package"):
        if not conda_format.matches(e.rel, pattern, rattler=True):
            continue
        name, version, build = conda_format.split_dist(conda_format.dist_name(e.rel, rattler=True))
        removable, why = reading.verdicts[e.rel]
        s = reading.stats.get(e.rel)
        out.append({"manager": "pixi", "name": name, "version": version, "build": build,
                    "kind": "extracted" if removable else "extracted, in use",
                    "path": os.path.join(reading.root, e.rel),
                    "bytes": s.bytes if s is not None else None,
                    "used_by": [] if removable else [why]})
    return out

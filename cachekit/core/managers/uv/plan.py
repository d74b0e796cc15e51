"""A uv plan: what ``uv cache clean`` or ``uv cache prune --ci`` will delete, as data.

Plans name what uv will delete, computed from the cache as uv 0.13 lays it out, each
path with its rule, its bytes, its packages and the figures that say what really frees
(``figures``: hard links out of the cache keep bytes on disk).
"""

import os
from typing import Any, Dict, List, Optional

from ... import Refused, wire
from ...fs import walk
from . import cache as uvcache
from .binary import NOT_FOUND
from .record import UvCache

# what uv does for a plan: `uv cache clean [PKG...]` (purge: no names), `uv cache prune --ci`
ACTIONS = ("clean", "purge", "prune-ci")


class UvPlan(wire.PlanWire, total=False):
    """A uv plan on the wire (README, schema 1)."""

    action: str  # one of ACTIONS
    names: List[str]  # the packages `uv cache clean` is given (none: everything)
    binary: Optional[str]  # the uv that runs it; None: cachekit purges under uv's lock
    paths: List[List[Any]]  # [path relative to root, bytes, rule, bytes freed]
    packages: Dict[str, List[str]]  # path -> the packages it holds
    linked: Dict[str, int]  # path -> bytes hard links from outside keep on disk
    figures: Dict[str, Any]  # ``figures.figures``


def plan_wire(record: UvCache, action: str, names: List[str], tops: List[str],
              files: List[walk.FileStat], binary: Optional[str],
              rules: Optional[Dict[str, str]] = None, lay: Optional[uvcache.Layout] = None,
              environ: Optional[Dict[str, str]] = None) -> UvPlan:
    """A uv plan: the uv action, the paths it removes (each with its rule), their bytes,
    and its figures (``figures``); ``packages`` names each path's packages."""
    from . import figures

    rules = rules or {}
    under: Dict[str, List[walk.FileStat]] = {t: [] for t in tops}
    for f in files:
        top = next((t for t in tops if f.path == t or f.path.startswith(t + "/")), None)
        if top is not None:
            under[top].append(f)
    packages = figures.packages_of(lay, tops) if lay else {t: [] for t in tops}
    count = len({n for names_of in packages.values() for n in names_of})
    linked = figures.linked_out(files)  # inodes whose other links are outside the plan
    root = record["path"] or ""
    return {"manager": "uv", "root": root, "root_id": record["root_id"],
            "action": action, "names": names, "binary": binary,
            "freed_bytes": walk.freed_bytes(files),
            "paths": [[t, sum(f.size for f in under[t]), rules.get(t, _reason(action, t)),
                       walk.freed_bytes(under[t])] for t in tops],
            "packages": packages,
            "linked": {t: sum(linked[k] for k in {(f.dev, f.ino) for f in under[t]}
                              if k in linked) for t in tops},
            "figures": figures.figures(files, count, len(tops), root, environ)}


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


def rows(plan: UvPlan) -> List[wire.Row]:
    """The plan's paths as removal rows (``ok`` is set once applied)."""
    return [{"path": os.path.join(plan["root"], rel), "manager": "uv", "bytes": size,
             "reason": reason, "kind": "uv"} for rel, size, reason, _freed in plan["paths"]]


def remove_or_purge(op: str, record: UvCache, tree: walk.Tree, lay: uvcache.Layout,
                    pattern: Optional[str], environ: Dict[str, str]) -> Optional[UvPlan]:
    """``remove PATTERN`` (``uv cache clean PKG...``, through uv only) or ``purge`` (all but
    uv's lock file); None when nothing matches or (``error`` on the record) no uv."""
    root = record["path"] or ""
    binary = record.get("uv_binary")
    if op == "remove":
        if not pattern:
            raise Refused("remove needs a pattern (use purge to remove everything)")
        if not binary:
            record["error"] = (f"{NOT_FOUND}: cachekit removes single packages from a uv "
                               "cache only through `uv cache clean PKG`; purge works")
            return None
        names = uvcache.matching(lay, pattern)
        if not names:
            return None
        tops, files = uvcache.removal_plan(root, tree, lay, names)
        return plan_wire(record, "clean", names, tops, files, binary, lay=lay, environ=environ)
    tops = sorted({f.path.split("/", 1)[0] for f in tree.files} |
                  {d.path for d in tree.dirs if d.path and "/" not in d.path})
    tops = [t for t in tops if t != ".lock"]
    files = [f for f in tree.files if f.path != ".lock"]
    return plan_wire(record, "purge", [], tops, files, binary, lay=lay, environ=environ)

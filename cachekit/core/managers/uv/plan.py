"""A uv plan: what ``uv cache clean`` or ``uv cache prune --ci`` will delete, as data.

Plans name what uv will delete, computed from the cache as uv 0.13 lays it out, each
path with its rule, its bytes, its packages and the figures that say what really frees
(``figures``: hard links out of the cache keep bytes on disk).
"""

from typing import Any, Dict, List, Optional

from cachekit.core.fs import walk
from cachekit.core.managers.uv import cache as uvcache


def plan_wire(record: Dict[str, Any], action: str, names: List[str], tops: List[str],
              files: List[walk.FileStat], binary: Optional[str],
              rules: Optional[Dict[str, str]] = None, lay: Optional[uvcache.Layout] = None,
              environ: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """A uv plan: the uv action, the paths it removes (each with its rule), their bytes,
    and its figures (``uv_figures``); ``packages`` names each path's packages."""
    from cachekit.core.managers.uv import figures as uv_figures

    rules = rules or {}
    under: Dict[str, List[walk.FileStat]] = {t: [] for t in tops}
    for f in files:
        top = next((t for t in tops if f.path == t or f.path.startswith(t + "/")), None)
        if top is not None:
            under[top].append(f)
    packages = uv_figures.packages_of(lay, tops) if lay else {t: [] for t in tops}
    count = len({n for names_of in packages.values() for n in names_of})
    linked = uv_figures.linked_out(files)  # inodes whose other links are outside the plan
    return {"manager": "uv", "root": record["path"], "root_id": record["root_id"],
            "action": action, "names": names, "binary": binary,
            "freed_bytes": walk.freed_bytes(files),
            "paths": [[t, sum(f.size for f in under[t]), rules.get(t, _reason(action, t)),
                       walk.freed_bytes(under[t])] for t in tops],
            "packages": packages,
            "linked": {t: sum(linked[k] for k in {(f.dev, f.ino) for f in under[t]}
                              if k in linked) for t in tops},
            "figures": uv_figures.figures(files, count, len(tops), record["path"], environ)}


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

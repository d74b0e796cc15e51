"""``pip cache remove PATTERN`` and ``pip cache list``: which files a pattern selects,
named one by one (they are few next to a purge), by the same fold as a purge (``sweep``).
"""

import fnmatch
import os
from typing import List, Optional, Tuple

from .sweep import WHEELS, Fold, Found, Pick, Picked, fold_bucket


def pattern_pick(root: str, pattern: str, downloads: bool) -> Pick:
    """``pip cache remove PATTERN``: wheels by pip's glob or by normalised name; with
    ``downloads``, HTTP entries whose body names a matching package."""
    from . import attribution as pip_attribution
    from . import cache as pipcache

    glob = pipcache.pip_glob(pattern)

    def pick(bucket: str, rel: str, files: List[Found]) -> Picked:
        out: Picked = {}
        if bucket == WHEELS:
            for name, _st, kind, _size in files:
                if kind == "L":
                    continue
                parts = name.split("-")
                version = parts[1] if len(parts) > 1 else ""
                if fnmatch.fnmatch(name, glob):
                    out[name] = ("matched pip pattern", parts[0], True, version, "wheel")
                elif name.endswith(".whl") and len(parts) >= 3 and \
                        pipcache.name_matches(pattern, parts[0], version):
                    out[name] = ("matched normalised name", parts[0], True, version, "wheel")
        elif bucket == "http-v2" and downloads:
            regular = {name: st for name, st, kind, _size in files if kind == "f"}
            for name, st in regular.items():
                if not name.endswith(".body"):
                    continue
                found = pip_attribution.attribute(os.path.join(root, rel, name),
                                                  st.st_atime_ns, st.st_mtime_ns)
                if found is None or not pipcache.name_matches(pattern, found.name,
                                                              found.version):
                    continue
                why = f"downloaded {found.kind}"
                meta = name[:-len(".body")]
                if meta in regular:
                    out[meta] = (why, found.name, False, found.version, found.kind)
                out[name] = (why, found.name, True, found.version, found.kind)
        return out

    return pick


def explicit(root: str, buckets: Tuple[str, ...], pick: Pick, counted_only: bool = False,
             parallel: Optional[bool] = None) -> Fold:
    """Every file and directory a removal by ``pick`` takes, named one by one (for
    removals of some packages, and ``list``: these are few next to a purge)."""
    acc = Fold()
    acc.rows, acc.dir_rows, acc.counted_only = [], [], counted_only
    for bucket in buckets:
        path = os.path.join(root, bucket)
        if os.path.isdir(path) and not os.path.islink(path):
            fold_bucket(root, bucket, acc, pick, parallel)
    return acc

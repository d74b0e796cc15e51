"""The uv cache's record: where it is, which ``uv`` removals go through, what it holds.

``UvCache`` is the wire's cache record with uv's own keys: the path as ``uv cache dir``
prints it, the config files read, the binary, and (once measured) the buckets, the
packages, the names that are not uv's and the bytes hard links from outside keep.
"""

import os
from typing import Any, Dict, List, Optional, Tuple

from ... import wire
from ...fs import walk
from . import cache as uvcache
from .location import UvConfigError, locate


class UvCache(wire.CacheRecord, total=False):
    """uv's cache record (README, schema 1)."""

    shown: str  # the path as ``uv cache dir`` prints it
    config_files: List[str]
    uv_binary: Optional[str]  # the uv removals go through, None when none is found
    uv_binary_source: str  # where it was found ("PATH", "--uv"...)
    packages: int
    buckets: Dict[str, Dict[str, int]]  # bucket dir -> files, bytes
    unknown: List[str]  # top-level names that are not uv's
    linked_bytes: int  # bytes that hard links from outside the cache keep on disk
    removal: Dict[str, Any]  # a plan's figures (``figures.figures``), ``done`` once applied
    last_use: str  # prune: which clock ranks the entries


class UvEntry(wire.EntryRow, total=False):
    """A uv package as ``list`` shows it."""

    freed_bytes: int  # what removing it frees (files other links keep free nothing)


def cache_record(environ: Dict[str, str]) -> UvCache:
    """Where uv's cache is, before it is measured (the binary is added by the manager)."""
    try:
        loc = locate(environ)
    except UvConfigError as exc:
        return {"manager": "uv", "path": None, "source": "", "exists": False, "enabled": False,
                "error": str(exc), "warnings": []}
    exists = bool(loc.path and os.path.isdir(loc.path))
    return {"manager": "uv", "path": loc.path, "source": loc.source, "shown": loc.shown,
            "exists": exists, "enabled": loc.path is not None, "config_files": loc.config_files,
            "warnings": [], "error": None}


def scan(record: UvCache) -> Tuple[str, walk.Tree, uvcache.Layout]:
    """Walk the cache once with a record per file: its figures and warnings go on
    ``record`` (``info`` gets the same figures from ``totals.measure``)."""
    root = record["path"] or ""
    tree = walk.scan(root)
    lay = uvcache.layout(root, tree)
    record["bytes"] = sum(f.size for f in tree.files)
    record["files"] = len(tree.files)
    record["disk_bytes"] = walk.disk_bytes(tree)  # what `uv cache size` prints: du -sB1
    record["packages"] = len(lay.packages)
    record["buckets"] = lay.buckets
    record["unknown"] = lay.unknown
    from . import figures

    # files that hard links from outside the cache (environments) keep on disk anyway
    record["linked_bytes"] = sum(figures.linked_out(tree.files).values())
    st = os.lstat(root)
    record["root_id"] = [st.st_dev, st.st_ino]
    warn(record, root, lay.unknown, tree.errors)
    return root, tree, lay


def warn(record: UvCache, root: str, unknown: List[str], errors: List[Tuple[str, str]]
         ) -> None:
    """The warnings a measured cache carries: names that are not uv's, unreadable paths."""
    if unknown:
        record["warnings"].append(f"not uv's (or a newer uv's): {', '.join(unknown)}")
    if errors:
        record["warnings"].append(wire.unreadable(
            len(errors), os.path.join(root, errors[0][0]), errors[0][1], skipped=False))

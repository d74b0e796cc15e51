"""The one contract between the core and the controller: request and result shapes.

Declared as ``TypedDict``s (free at run time: no ``dataclasses``/``inspect`` import on a
host) with their constructors, so every manager and the controller's failed-host rows
build the same skeletons. The JSON is the README's schema 1; the keys below are the
ones every manager shares, and a manager's own figures (pip's ``wheels``, conda's
``tarballs``...) are declared by the manager in a ``TypedDict`` of its own that extends
``CacheRecord``.
"""

import os
import sys
from typing import Any, Callable, Dict, List, Optional, TypedDict

from . import SCHEMA

PROGRESS_MARK = "@"  # a line of progress on a core's stdout starts with it

Row = Dict[str, Any]
Progress = Optional[Callable[[Row], None]]


class Request(TypedDict, total=False):
    """What the controller asks one host: ``op`` and that op's options."""

    op: str
    managers: Optional[List[str]]
    environ: Dict[str, str]
    apply: bool
    progress: bool
    core_copy: Optional[str]
    pattern: Optional[str]
    downloads: bool
    attribute: bool
    flags: List[str]
    plans: List[Any]
    policy: Dict[str, Any]
    now_ns: int
    uv: Optional[str]
    uv_inventory: Optional[str]
    to: str
    move: bool
    tempfile_paths: List[str]  # conda's clean --tempfiles PATH...
    break_environments: bool  # conda's clean --force-pkgs-dirs --break-environments
    users: Any  # "all" or a list of names: every user's caches (``core/users``)
    as_user: Dict[str, Any]  # set in a user's child: {"name", "uid"} (``core/ownership``)


class CacheRecord(TypedDict, total=False):
    """One cache of one manager on one host; figures are added by the op that measured."""

    manager: str
    path: Optional[str]
    source: str
    exists: bool
    enabled: bool
    writable: bool
    error: Optional[str]
    warnings: List[str]
    root_id: List[int]
    bytes: int
    files: Optional[int]  # None where a manager counts no files (the tool cache)
    disk_bytes: Optional[int]  # None where the op skips the stats it needs (`report`)
    unreadable: int
    reclaimable_bytes: int
    after_bytes: int
    last_use: str  # which clock a prune ranks this cache's entries by
    user: str  # whose cache, with --users


class EntryRow(TypedDict, total=False):
    """One cached package, as ``list`` shows it."""

    manager: str
    name: str
    version: str
    kind: str
    rule: str
    path: str
    bytes: Optional[int]  # None for a directory not measured (conda's extracted package)


class RemovalRow(TypedDict, total=False):
    """One planned or done removal (``ok`` is None in a plan, then True or False)."""

    path: str
    manager: str
    bytes: int
    freed: int
    reason: str
    package: str
    ok: Optional[bool]
    note: str
    entry: str
    entries: int
    files: int
    dirs: int
    kind: str
    last_use_ns: int
    partial: bool


class PlanWire(TypedDict, total=False):
    """A plan as it crosses the wire: the envelope every manager's plan carries; the
    body keys (``files``, ``items``, ``paths``...) belong to the manager."""

    manager: str
    root: str
    root_id: List[int]
    freed_bytes: int
    kind: str
    source: str
    measure_after: bool


class Result(TypedDict, total=False):
    """One host's answer to one request."""

    schema: int
    op: Optional[str]
    status: str
    error: Optional[str]
    hostname: str
    python: str
    dry_run: bool
    disk: Optional[Dict[str, int]]
    caches: List[Any]  # CacheRecord and the managers' extensions of it
    entries: List[EntryRow]
    removed: List[Row]
    dirs_removed: List[str]
    reclaimed_bytes: int
    warnings: List[str]
    core_copy: Optional[str]
    elapsed_s: float
    plans: List[Any]  # PlanWire and the managers' extensions of it
    kept: List[Row]
    policy_notes: List[str]
    environments: List[Row]
    locations: List[Row]
    relocation: Row
    users: List[Row]  # with --users: each user's name, uid, home, status, error


DESTRUCTIVE = ("remove", "purge", "clean", "prune", "relocate")


def skeleton(status: str = "ok", error: Optional[str] = None) -> Result:
    """The keys every host's result has: a core's answer, and the controller's row for a
    host that gave none (unreachable, timed out, bent)."""
    return {"schema": SCHEMA, "status": status, "error": error, "disk": None, "caches": [],
            "entries": [], "removed": [], "dirs_removed": [], "reclaimed_bytes": 0,
            "warnings": []}


def new_result(op: Optional[str], request: Request) -> Result:
    """The answer a core starts from."""
    result = skeleton()
    result.update({
        "op": op,
        # os and sys only: socket and platform would cost a few ms of import on every host
        "hostname": os.uname().nodename if hasattr(os, "uname") else "",
        "python": ".".join(str(n) for n in sys.version_info[:3]),
        "dry_run": op in DESTRUCTIVE and not request.get("apply"),
        # where a remote run keeps its copy of this code (set by cachekit's bootstrap)
        "core_copy": request.get("core_copy"),
    })
    return result


def cache_record(manager: str, path: Optional[str], source: str, exists: bool,
                 error: Optional[str] = None, **extra: Any) -> CacheRecord:
    """A cache's record before it is measured; ``error`` when it could not be located."""
    record: CacheRecord = {"manager": manager, "path": path, "source": source,
                           "exists": exists, "error": error, "warnings": []}
    record.update(extra)  # type: ignore[typeddict-item]  # a manager's own keys
    return record


def unreadable(count: int, example: str, why: str, skipped: bool = True) -> str:
    """The one spelling of "N paths could not be read" (a warning on the cache)."""
    tail = " and were skipped" if skipped else ""
    return f"{count} path(s) could not be read{tail}, e.g. {example}: {why}"


def not_fully_read(root: str, verb: str, detail: str = "") -> str:
    """The one spelling of a cache left alone because part of it could not be read
    (``verb``: "removed", "pruned"; ``detail``: where and why)."""
    return f"{root} could not be read fully{detail}; nothing is {verb} from it"


class Run:
    """One request being served on this host: what every manager method is handed.

    ``report`` is the one place a removal row is recorded: in the result and, as it
    happens, to ``progress`` (which a controller whose connection breaks still heard).
    """

    __slots__ = ("op", "request", "environ", "result", "progress")

    def __init__(self, request: Request, environ: Dict[str, str], result: Result,
                 progress: Progress = None) -> None:
        self.op = request.get("op") or ""
        self.request = request
        self.environ = environ
        self.result = result
        self.progress = progress

    @property
    def applying(self) -> bool:
        return bool(self.request.get("apply"))

    def report(self, row: Row) -> None:
        self.result["removed"].append(row)
        if self.progress is not None:
            self.progress(row)

    def warn(self, line: str) -> None:
        self.result["warnings"].append(line)

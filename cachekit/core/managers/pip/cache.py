"""pip's cache: what is in it, which entries a pattern selects, and what a removal plans.

Counting and selection follow pip 26.x (``commands/cache.py``, ``utils/filesystem.py``):
``http/`` and ``http-v2/`` hold HTTP files, ``wheels/`` holds locally built wheels, and
after removing files pip deletes every directory left without files (HTTP buckets) or
without ``.whl`` files (the wheel bucket, with the ``origin.json`` files inside).
Everything here works on a scanned ``Tree``; nothing is deleted in this module.
"""

import fnmatch
import os
import re
from typing import Dict, List, NamedTuple, Optional, Set, Tuple

from ... import safety, wire
from ...fs import walk
from ...names import normalize as canonical
from ...wire import CacheRecord
from . import attribution as pip_attribution
from .attribution import Attribution
from .location import PipLocation

WHEELS = "wheels"
HTTP_BUCKETS = ("http", "http-v2")
BUCKETS = (WHEELS,) + HTTP_BUCKETS
LEGACY_SELFCHECK = "selfcheck.json"
_VERSIONED = re.compile(r"^(?P<name>.+?)-(?P<version>\d.*)$")


class Planned(NamedTuple):
    """One path a removal will delete, and why."""

    file: walk.FileStat
    reason: str
    package: str = ""


class Plan(NamedTuple):
    files: List[Planned]  # in deletion order (an http-v2 entry: metadata, then body)
    dirs: List[str]  # deepest first; only ever rmdir-ed
    matched: int  # entries the pattern selected (what pip counts as "Files removed")

    @property
    def freed_bytes(self) -> int:
        return walk.freed_bytes(p.file for p in self.files)


class Match(NamedTuple):
    file: walk.FileStat
    name: str
    version: str
    kind: str  # "wheel" (locally built), or an attribution kind for http-v2 bodies
    rule: str  # "pip pattern", "normalised name" or "downloaded body"


def bucket(path: str) -> str:
    return path.split("/", 1)[0]


def basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _counted(f: walk.FileStat) -> bool:
    """pip's ``os.walk`` lists a symlink to a directory as a directory, never as a file."""
    return f.kind != "L"


def classify(top: str, name: str, kind: str) -> Optional[str]:
    """The ``info`` figure a file counts toward, by its top-level directory and name.

    ``top`` is "" for files directly in the cache root.
    """
    if kind == "L":
        return None  # pip's os.walk lists a symlink to a directory as a directory
    if top == "" and name == LEGACY_SELFCHECK:
        return "legacy_selfcheck"  # "other" for pip's figures, but a purge deletes it
    if top == WHEELS:
        # fnmatch "*-*.whl", without fnmatch's per-call overhead on every file
        return "wheel" if name.endswith(".whl") and "-" in name[:-4] else "wheels_other"
    if top in HTTP_BUCKETS:
        return "http"
    return "other"


class PipRecord(CacheRecord, total=False):
    """pip's cache record: the figures of ``pip cache info``, in exact bytes."""

    config_files: List[str]
    wheels: int
    wheels_bytes: int
    http_files: int
    http_bytes: int
    other_files: int
    other_bytes: int
    attributed_bytes: int
    unattributed_bytes: int


def _figures(counts: Dict[str, List[int]], disk: Optional[int], unreadable: int
             ) -> PipRecord:
    def get(key: str) -> List[int]:
        return counts.get(key, [0, 0])

    figures: PipRecord = {
        "wheels": get("wheel")[0], "wheels_bytes": get("wheel")[1] + get("wheels_other")[1],
        "http_files": get("http")[0], "http_bytes": get("http")[1],
        "other_files": get("other")[0] + get("legacy_selfcheck")[0],
        "other_bytes": get("other")[1] + get("legacy_selfcheck")[1],
        "files": sum(n for n, _ in counts.values()),
        "bytes": sum(b for _, b in counts.values()),
        "unreadable": unreadable, "disk_bytes": disk}  # None: `report` skips those stats
    return figures


def summarize(tree: walk.Tree) -> PipRecord:
    """The figures of ``pip cache info`` plus whole-cache totals, all in exact bytes."""
    counts: Dict[str, List[int]] = {}
    for f in tree.files:
        top = bucket(f.path) if "/" in f.path else ""
        key = classify(top, basename(f.path), f.kind)
        if key is not None:
            c = counts.setdefault(key, [0, 0])
            c[0] += 1
            c[1] += f.size
    return _figures(counts, walk.disk_bytes(tree), len(tree.errors))


def summarize_totals(totals: walk.Totals) -> PipRecord:
    """``summarize`` from a records-free walk (``walk.scan_totals(root, classify)``)."""
    return _figures(totals.counts, totals.disk_bytes, len(totals.errors))


PURGED_KEYS = ("wheel", "wheels_other", "http", "legacy_selfcheck")


def reclaimable_totals(totals: walk.Totals) -> int:
    """What a purge frees, from totals: every wheel-bucket and HTTP file, no hard-linked one.

    Files with other hard links are left out, as if their other links were outside the
    cache: a lower bound that is exact unless something hard-links into the cache. It
    equals the purge plan's figure except when a ``wheels/`` directory keeps a ``.whl``
    that pip's ``*-*.whl`` does not match (pip then keeps that directory's other files).
    """
    def total(tally: Dict[str, List[int]]) -> int:
        return sum(tally.get(key, [0, 0])[1] for key in PURGED_KEYS)

    return total(totals.counts) - total(totals.shared)


def pip_glob(pattern: str) -> str:
    """pip's rule: a pattern with a ``-`` already names a version."""
    return pattern + ("*.whl" if "-" in pattern else "-*.whl")


def _split_pattern(pattern: str) -> Tuple[str, Optional[str]]:
    m = _VERSIONED.match(pattern)
    return (m.group("name"), m.group("version")) if m else (pattern, None)


def name_matches(pattern: str, name: str, version: str) -> bool:
    """cachekit's extra rule: the pattern as a (normalised) project name, optional version."""
    name_pat, version_pat = _split_pattern(pattern)
    if not fnmatch.fnmatchcase(canonical(name), canonical(name_pat)):
        return False
    if version_pat is None:
        return True
    return bool(version) and fnmatch.fnmatchcase(version, version_pat + "*")


def match_wheels(tree: walk.Tree, pattern: str) -> List[Match]:
    """Locally built wheels selected by pip's rule, or by the project's normalised name."""
    glob = pip_glob(pattern)
    found = []
    for f in tree.files:
        if not _counted(f) or bucket(f.path) != WHEELS or "/" not in f.path:
            continue
        base = basename(f.path)
        parts = base.split("-")
        name, version = parts[0], parts[1] if len(parts) > 1 else ""
        if fnmatch.fnmatch(base, glob):
            found.append(Match(f, name, version, "wheel", "pip pattern"))
        elif base.endswith(".whl") and len(parts) >= 3 and name_matches(pattern, name, version):
            found.append(Match(f, name, version, "wheel", "normalised name"))
    return found


def http_v2_pairs(tree: walk.Tree) -> Dict[str, Tuple[Optional[walk.FileStat], walk.FileStat]]:
    """Body path -> (metadata file, body file) for every ``http-v2`` body."""
    files = {f.path: f for f in tree.files if bucket(f.path) == "http-v2" and f.kind == "f"}
    return {path: (files.get(path[: -len(".body")]), f)
            for path, f in files.items() if path.endswith(".body")}


def attribute_downloads(root: str, tree: walk.Tree
                        ) -> List[Tuple[List[walk.FileStat], Attribution]]:
    """Every ``http-v2`` entry whose body names its package, with the entry's files."""
    out = []
    for _body_path, (meta, body) in sorted(http_v2_pairs(tree).items()):
        found = pip_attribution.attribute(os.path.join(root, body.path), body.atime_ns,
                                          body.mtime_ns)
        if found is not None:
            out.append(([m for m in (meta, body) if m is not None], found))
    return out


def plan_removal(
    tree: walk.Tree,
    wheels: List[Match],
    downloads: List[Tuple[List[walk.FileStat], Match]],
    purge: bool,
) -> Plan:
    """What pip 26.2+ deletes for these matches, plus the directories it then clears.

    ``purge`` adds every HTTP file, as ``pip cache remove '*'`` does.
    """
    planned: List[Planned] = [Planned(m.file, "matched " + m.rule, m.name) for m in wheels]
    matched = len(wheels)
    if purge:
        http = [f for f in tree.files if _counted(f) and bucket(f.path) in HTTP_BUCKETS
                and "/" in f.path]
        planned += [Planned(f, "HTTP cache file") for f in http]
        matched += len(http)
    else:
        for files, m in downloads:
            planned += [Planned(f, f"downloaded {m.kind}", m.name) for f in files]
            matched += 1
    return finish_plan(tree, planned, matched, legacy_selfcheck=True)


def finish_plan(tree: walk.Tree, planned: List[Planned], matched: int,
                legacy_selfcheck: bool = False) -> Plan:
    """Add the directories pip clears after these files go, and order the deletions."""
    gone = {p.file.path for p in planned}
    dirs, extra = _emptied_dirs(tree, gone)
    planned = planned + extra
    selfcheck = next((f for f in tree.files if f.path == LEGACY_SELFCHECK and f.kind == "f"), None)
    if legacy_selfcheck and selfcheck is not None:
        planned.append(Planned(selfcheck, "legacy selfcheck.json (pip 26 deletes it)"))
    planned.sort(key=_deletion_order)
    return Plan(planned, dirs, matched)


def _deletion_order(p: Planned) -> Tuple[str, bool]:
    """Group files by entry, metadata before ``.body``: pip never sees a half entry."""
    path = p.file.path
    is_body = path.endswith(".body")
    return (path[: -len(".body")] if is_body else path, is_body)


def _emptied_dirs(tree: walk.Tree, gone: Set[str]) -> Tuple[List[str], List[Planned]]:
    """Directories pip removes after the files in ``gone`` are deleted.

    HTTP buckets: every directory with no file left beneath it. Wheel bucket: every
    directory with no ``.whl`` left beneath it, after deleting the files in it. Unreadable
    directories are kept (with their parents): we cannot know what they hold.
    """
    keep: Set[str] = set()

    def keep_with_parents(path: str) -> None:
        while path and path not in keep:
            keep.add(path)
            path = path.rsplit("/", 1)[0] if "/" in path else ""

    for d in tree.dirs:
        if not d.readable:
            keep_with_parents(d.path)
    for f in tree.files:
        b = bucket(f.path)
        if "/" not in f.path or b not in BUCKETS or f.path in gone or not _counted(f):
            continue
        if b == WHEELS and not f.path.endswith(".whl"):
            continue  # origin.json and strays do not keep a wheel directory
        keep_with_parents(f.path.rsplit("/", 1)[0])
    dirs = [d.path for d in tree.dirs if d.path and bucket(d.path) in BUCKETS
            and d.path not in keep]
    emptied = set(dirs)
    extra = [Planned(f, "left in a directory pip clears") for f in tree.files
             if f.path not in gone and "/" in f.path and f.path.rsplit("/", 1)[0] in emptied]
    return sorted(dirs, reverse=True), extra


def cache_record(loc: PipLocation) -> CacheRecord:
    """The pip cache as a result's cache record (figures are added by the caller)."""
    record = wire.cache_record("pip", loc.path, loc.source,
                               bool(loc.path and os.path.isdir(loc.path)),
                               enabled=loc.path is not None, config_files=loc.config_files)
    record["warnings"] = list(loc.warnings)
    return record


def refuse_unsafe_root(root: str, environ: Dict[str, str], setting: str = "",
                       verb: str = "clean") -> None:
    """A cache dir that is /, a home, a system directory or holds nothing of pip's is
    never cleaned."""
    safety.refuse("pip", root, environ, verb, setting)


def layout_problem(root: str) -> str:
    """pip's signature: its buckets (http, http-v2, wheels, selfcheck), or nothing yet."""
    try:
        top = set(os.listdir(root))
    except OSError as exc:
        return f"cannot be listed ({exc.strerror})"
    pip_names = set(BUCKETS) | {"selfcheck", LEGACY_SELFCHECK}
    if top and not top & pip_names:
        return ("does not look like a pip cache (no http, http-v2, wheels or selfcheck "
                "inside)")
    return ""

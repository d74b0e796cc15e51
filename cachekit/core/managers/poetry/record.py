"""Poetry's cache record: where the cache dir is, and its figures (``info``, ``report``).

``bytes`` and ``files`` are the cache's own: ``cache/repositories`` and ``artifacts``.
``virtualenvs`` and ``src`` are shown apart (``info`` only measures them) and are never
in ``reclaimable_bytes``: they hold environments and the checkouts editable installs
run from.
"""

import os
from typing import Dict, List, Mapping, Optional

from ... import wire
from ...fs import walk
from . import cache as pcache
from .location import PoetryConfigError, locate


class PoetryCache(wire.CacheRecord, total=False):
    """Poetry's cache record (README, schema 1)."""

    shown: str  # as ``poetry config cache-dir`` prints it
    config_file: Optional[str]
    releases: int  # release metadata files
    releases_bytes: int
    http_files: int
    http_bytes: int
    artifacts: int  # archives (wheels and sdists) in artifacts/
    artifacts_bytes: int  # everything in artifacts/
    other_files: int  # files in repositories that are neither
    repositories: Dict[str, Dict[str, int]]  # repository -> files, bytes
    virtualenvs: int  # environments (never cache)
    virtualenvs_bytes: Optional[int]  # None where the op does not measure them
    src_bytes: Optional[int]  # git checkouts (never cache)
    unknown: List[str]  # top-level names that are not Poetry's
    packages: int
    last_use: str


def cache_record(environ: Mapping[str, str]) -> PoetryCache:
    """Where Poetry's cache dir is, before it is measured."""
    try:
        loc = locate(environ)
    except PoetryConfigError as exc:
        return {"manager": "poetry", "path": None, "source": "", "exists": False,
                "enabled": False, "error": str(exc), "warnings": []}
    exists = os.path.isdir(loc.path)
    record: PoetryCache = {"manager": "poetry", "path": loc.path, "source": loc.source,
                           "shown": loc.shown, "exists": exists, "enabled": True,
                           "config_file": loc.config_file, "warnings": [], "error": None}
    if not exists and os.path.lexists(loc.path):
        record["warnings"].append(f"{loc.path} exists but is not a directory")
    if exists:  # the real dir's identity: a removal never goes through a symlink
        st = os.lstat(real_root(record))
        record["root_id"] = [st.st_dev, st.st_ino]
    return record


def real_root(record: PoetryCache) -> str:
    """The cache dir with every symlink resolved (``~/.cache/pypoetry -> /data/...``):
    what plans name and removals open, as pip's and pixi's do."""
    return os.path.realpath(record["path"] or "")


def _walked(root: str, parts: Dict[str, walk.Classifier]) -> Dict[str, walk.Totals]:
    """One fan-out over the parts that are directories (a symlink is never entered)."""
    real = [(rel, how) for rel, how in parts.items() if pcache.real_dir(root, rel)]
    found = walk.scan_totals_parts(root, real, disk=False) if real else {}
    return {rel: found.get(rel) or walk.Totals() for rel in parts}


def _repo_classifier(repo: str) -> walk.Classifier:
    def classify(_top: str, name: str, kind: str) -> Optional[str]:
        return pcache.classify_repo(repo, name, kind)

    return classify


def _loose_files(root: str, rel: str) -> walk.Totals:
    """Files directly in ``root/rel`` (no repository's), as ``other``."""
    acc = walk.Totals()
    if not pcache.real_dir(root, rel):
        return acc
    try:
        with os.scandir(os.path.join(root, rel)) as it:
            for entry in it:
                if entry.is_dir():  # and a symlink to one: os.walk's rule, no file
                    continue
                st = entry.stat(follow_symlinks=False)
                size = st.st_size if not entry.is_symlink() else 0
                acc.add("\0other", 1, size)
                if st.st_nlink > 1 and entry.is_file(follow_symlinks=False):
                    acc.add("\0other", 1, size, acc.shared)
    except OSError as exc:
        acc.errors.append((rel, exc.strerror or str(exc)))
    return acc


def measure(record: PoetryCache, op: str) -> None:
    """One totals walk of each part: the figures, and what a purge would free."""
    root = record["path"] or ""
    # each repository a part of its own: its _http_ is split among the workers too
    repo_parts = {f"{pcache.REPOS}/{repo}": _repo_classifier(repo)
                  for repo in _subdirs(root, pcache.REPOS)}
    parts: Dict[str, walk.Classifier] = dict(repo_parts)
    parts[pcache.ARTIFACTS] = pcache.classify_artifact
    if op == "info":  # the environments' size is shown, never counted as cache
        parts.update({"virtualenvs": pcache.classify_any, "src": pcache.classify_any})
    walked = _walked(root, parts)
    repos, arts = _loose_files(root, pcache.REPOS), walked[pcache.ARTIFACTS]
    for rel in repo_parts:
        repos.merge(walked[rel])
    per_repo: Dict[str, Dict[str, int]] = {}
    kinds: Dict[str, List[int]] = {}
    for key, (files, size) in repos.counts.items():
        repo, _, kind = key.partition("\0")
        if repo:
            got = per_repo.setdefault(repo, {"files": 0, "bytes": 0})
            got["files"] += files
            got["bytes"] += size
        tally = kinds.setdefault(kind, [0, 0])
        tally[0] += files
        tally[1] += size
    for rel in repo_parts:
        per_repo.setdefault(rel.rsplit("/", 1)[1], {"files": 0, "bytes": 0})
    art_files = sum(n for n, _ in arts.counts.values())
    art_bytes = sum(b for _, b in arts.counts.values())
    cache_bytes = sum(b for _, b in repos.counts.values()) + art_bytes
    shared = sum(b for _, b in repos.shared.values()) + sum(b for _, b in arts.shared.values())
    envs = _subdirs(root, "virtualenvs")
    record.update({
        "bytes": cache_bytes,
        "files": sum(n for n, _ in repos.counts.values()) + art_files,
        "releases": kinds.get("release", [0, 0])[0],
        "releases_bytes": kinds.get("release", [0, 0])[1],
        "http_files": kinds.get("http", [0, 0])[0], "http_bytes": kinds.get("http", [0, 0])[1],
        "other_files": kinds.get("other", [0, 0])[0],
        "artifacts": arts.counts.get("archive", [0, 0])[0], "artifacts_bytes": art_bytes,
        "repositories": dict(sorted(per_repo.items())), "virtualenvs": len(envs),
        "virtualenvs_bytes": None, "src_bytes": None, "unknown": pcache.unknown_tops(root),
        "reclaimable_bytes": cache_bytes - shared, "disk_bytes": None})
    if op == "info":
        record["virtualenvs_bytes"] = _size(root, "virtualenvs", walked)
        record["src_bytes"] = _size(root, "src", walked)
    errors = repos.errors + arts.errors
    if errors:
        record["warnings"].append(wire.unreadable(len(errors), errors[0][0], errors[0][1]))
    if record["unknown"]:
        record["warnings"].append("not Poetry's (left alone): " + ", ".join(record["unknown"]))


def _size(root: str, rel: str, walked: Dict[str, walk.Totals]) -> Optional[int]:
    if not os.path.isdir(os.path.join(root, rel)):
        return None
    return sum(b for _, b in walked[rel].counts.values())


def _subdirs(root: str, rel: str) -> List[str]:
    if not pcache.real_dir(root, rel):
        return []
    path = os.path.join(root, rel)
    try:
        with os.scandir(path) as it:
            return sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
    except OSError:
        return []

"""Poetry's cache dir: what is in it, and which package each entry belongs to.

Layout (Poetry 2.5, seen with the real tool):

- ``cache/repositories/<repo>/`` one directory per package source (and
  ``_default_cache`` for downloads): release metadata, one file per release, at
  ``<8 levels of 2 hex>/<sha256("name:version")>`` holding a 10-digit expiry and JSON
  (name, version, files with their URLs); and ``_http_/``, Poetry's HTTP cache
  (cachecontrol), ``<5 levels of 1 hex>/<sha224(url)>`` with a ``.body`` and lock files;
- ``artifacts/<2>/<2>/<2>/<58 hex>/`` downloaded distributions (a wheel Poetry built
  from an sdist lies beside the sdist);
- ``virtualenvs/`` (real environments) and ``src/`` (git checkouts that editable
  installs run from): never cache, never touched, never counted as reclaimable.

Nothing here deletes.
"""

import fnmatch
import hashlib
import json
import os
import re
from typing import Dict, List, NamedTuple, Optional, Set, Tuple

from ...fs import walk
from ...names import normalize

REPOS = "cache/repositories"
ARTIFACTS = "artifacts"
HTTP = "_http_"
NEVER = ("virtualenvs", "src")  # Poetry's, but not cache: never touched
# Everything Poetry 2.5 writes at the top of its cache dir (``repository_cache_directory``,
# ``artifacts_cache_directory``, ``virtualenvs.path``'s default and git's ``src``).
TOPS = ("cache", ARTIFACTS) + NEVER
# What a repository directory holds: FileCache's first level (2 hex) and the HTTP cache
# (``_http_``; ``_http`` before Poetry 2.4).
REPO_NAMES = re.compile(r"^(?:[0-9a-f]{2}|_http_?)$")
# ``artifacts/<2>/<2>/<2>/<58>``: a sha256 split as ArtifactCache does.
ARTIFACT_DIR = re.compile(r"^artifacts/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{58}$")
ARCHIVES = (".whl", ".tar.gz", ".tar.bz2", ".bz2", ".zip")  # Poetry's archive types
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HTTP_SUFFIXES = (".body.lock", ".body", ".lock")


def archive_of(filename: str) -> Optional[Tuple[str, str]]:
    """(canonical name, version) a wheel or sdist file name gives; None for others."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        return (normalize(parts[0]), parts[1]) if len(parts) >= 5 else None
    for ext in ARCHIVES[1:]:
        if filename.endswith(ext):
            name, dash, version = filename[:-len(ext)].rpartition("-")
            return (normalize(name), version) if dash and name else None
    return None


# Totals (info, report) ------------------------------------------------------------------

def classify_repo(repo: str, name: str, kind: str) -> Optional[str]:
    """A file under ``cache/repositories`` (``repo`` is its repository), counted as the
    ``os.walk`` of ``poetry cache clear REPO --all`` counts: a symlink to a directory is
    not a file."""
    if kind == "L":
        return None
    if _HEX64.match(name):
        return repo + "\0release"
    stem = http_stem(name)
    if len(stem) == 56:
        return repo + "\0http"
    return repo + "\0other"


def classify_artifact(_top: str, name: str, kind: str) -> Optional[str]:
    if kind == "L":  # as os.walk: a symlink to a directory is no file
        return None
    return "archive" if archive_of(name) else "other"


def classify_any(top: str, name: str, kind: str) -> Optional[str]:
    return top or name


def http_stem(name: str) -> str:
    for suffix in _HTTP_SUFFIXES:
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


# Full scan (list, remove, purge, prune) ----------------------------------------------------

class Release(NamedTuple):
    """One package version and every file of it the cache holds."""

    name: str
    version: str  # "" for a project's index pages (every version)
    metadata: List[walk.FileStat]  # release metadata, one per repository
    http: List[walk.FileStat]  # HTTP cache entries: its downloads (and index pages)
    artifacts: List[str]  # artifact directories wholly of this release
    files: List[walk.FileStat]  # everything removing it deletes
    repos: List[str]
    built: bool  # an artifact directory holds a wheel built from an sdist


def shown_path(rel: Release) -> str:
    """The one file that names a release best: its archive, else its metadata, else its
    index page's body (relative to the cache dir)."""
    archives = sorted(f.path for f in rel.files if f.path.startswith(ARTIFACTS + "/")
                      and archive_of(f.path.rsplit("/", 1)[-1]))
    bodies = sorted(f.path for f in rel.http if f.path.endswith(".body"))
    return (archives + sorted(f.path for f in rel.metadata) + bodies
            + sorted(f.path for f in rel.files))[0]


class Layout(NamedTuple):
    releases: Dict[Tuple[str, str], Release]
    repos: List[str]  # repository directories
    repo_files: List[walk.FileStat]
    artifact_files: List[walk.FileStat]
    stray_http: Dict[str, List[walk.FileStat]]  # HTTP entries no release names: stem -> files
    artifact_dirs: List[str]  # every artifacts/<2>/<2>/<2>/<hash> directory
    unknown: List[str]  # top-level names that are not Poetry's
    errors: List[Tuple[str, str]]


def real_dir(root: str, rel: str) -> bool:
    """``root/rel`` is a directory reached without a symlink on the way."""
    path = root
    for part in rel.split("/"):
        path = os.path.join(path, part)
        if os.path.islink(path) or not os.path.isdir(path):
            return False
    return True


def tree_of(root: str, rel: str) -> walk.Tree:
    """Walk ``root/rel`` (when it is a directory), paths relative to ``root``."""
    path = os.path.join(root, rel)
    if not real_dir(root, rel):
        return walk.Tree([], [], [])
    tree = walk.scan(path)
    prefix = rel + "/"
    return walk.Tree([f._replace(path=prefix + f.path) for f in tree.files],
                     [d._replace(path=prefix + d.path if d.path else rel) for d in tree.dirs],
                     [(prefix + p if p else rel, why) for p, why in tree.errors])


def _read_keeping_atime(path: str, f: walk.FileStat, cap: int) -> Optional[bytes]:
    """Read a small file; its access time, which ``prune`` ranks by, is put back."""
    if f.kind != "f" or f.size > cap:
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read(cap)
        if os.lstat(path).st_atime_ns != f.atime_ns:
            os.utime(path, ns=(f.atime_ns, f.mtime_ns), follow_symlinks=False)
    except OSError:
        return None
    return data


def release_of(root: str, f: walk.FileStat) -> Optional[Tuple[str, str, List[str]]]:
    """(name, version, file URLs) of a release metadata file; None when unreadable."""
    data = _read_keeping_atime(os.path.join(root, f.path), f, 16 << 20)
    if data is None or len(data) < 11:
        return None
    try:
        doc = json.loads(data[10:].decode("utf-8"))
        name, version = doc["name"], doc["version"]
        urls = [x["url"] for x in doc.get("files") or [] if isinstance(x, dict)
                and isinstance(x.get("url"), str)]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(name, str) or not isinstance(version, str):
        return None
    return normalize(name), version, urls


_HREF = re.compile(rb'(?:href="|"filename":\s*")([^"#?]+)')


def page_project(root: str, body: walk.FileStat) -> Optional[str]:
    """The one project an index page (an HTML or JSON simple page) lists files of."""
    data = _read_keeping_atime(os.path.join(root, body.path), body, 1 << 20)
    if not data or data.lstrip()[:1] not in (b"<", b"{"):
        return None
    found = set()
    for link in _HREF.findall(data):
        got = archive_of(link.decode("utf-8", "replace").rsplit("/", 1)[-1])
        if got:
            found.add(got[0])
    return found.pop() if len(found) == 1 else None


class _Found:
    """What the walk has tied to one release so far."""

    __slots__ = ("metadata", "http", "artifacts", "files", "repos", "built")

    def __init__(self) -> None:
        self.metadata: List[walk.FileStat] = []
        self.http: List[walk.FileStat] = []
        self.artifacts: List[str] = []
        self.files: List[walk.FileStat] = []
        self.repos: Set[str] = set()
        self.built = False


def layout(root: str) -> Layout:
    """Walk ``cache/repositories`` and ``artifacts`` (never ``virtualenvs``) and tie each
    entry to its release."""
    repos_tree, art_tree = tree_of(root, REPOS), tree_of(root, ARTIFACTS)
    by_key: Dict[Tuple[str, str], _Found] = {}

    def rel_entry(key: Tuple[str, str]) -> _Found:
        return by_key.setdefault(key, _Found())

    http_stems: Dict[str, List[walk.FileStat]] = {}
    url_keys: Dict[str, Tuple[str, str]] = {}
    repos = sorted({d.path.split("/")[2] for d in repos_tree.dirs if d.path.count("/") >= 2})
    poetry_repos = {r for r in repos if poetry_repo(root, f"{REPOS}/{r}")}
    for f in repos_tree.files:
        parts = f.path.split("/")
        if len(parts) < 4 or parts[2] not in poetry_repos:
            continue  # directly in repositories/, or in a directory not shaped as Poetry's
        leaf = parts[-1]
        if parts[3] == HTTP:
            http_stems.setdefault(f.path[:len(f.path) - len(leaf)] + http_stem(leaf),
                                  []).append(f)
        elif _HEX64.match(leaf) and len(parts) == 12:
            got = release_of(root, f)
            if got is None:
                continue
            name, version, urls = got
            entry = rel_entry((name, version))
            entry.metadata.append(f)
            entry.repos.add(parts[2])
            for url in urls:
                url_keys[hashlib.sha224(url.encode("utf-8")).hexdigest()] = (name, version)
    stray: Dict[str, List[walk.FileStat]] = {}
    for stem, files in http_stems.items():
        key = url_keys.get(stem.rsplit("/", 1)[-1])
        if key is None:
            body = next((f for f in files if f.path == stem + ".body"), None)
            project = page_project(root, body) if body is not None else None
            key = (project, "") if project else None
        if key is None:
            stray[stem] = files
        else:
            rel_entry(key).http.extend(files)
    art_dirs: Dict[str, List[walk.FileStat]] = {}
    for f in art_tree.files:
        parts = f.path.split("/")
        if len(parts) >= 6 and ARTIFACT_DIR.match("/".join(parts[:5])):
            art_dirs.setdefault("/".join(parts[:5]), []).append(f)
    for entry_dir, files in sorted(art_dirs.items()):
        keys = {archive_of(f.path.rsplit("/", 1)[-1]) for f in files}
        if len(keys) != 1 or None in keys:
            continue  # strays or several releases: never removed as one release's
        key = keys.pop()
        assert key is not None
        entry = rel_entry(key)
        entry.artifacts.append(entry_dir)
        entry.files.extend(files)
        names = [f.path.rsplit("/", 1)[-1] for f in files]
        if any(n.endswith(".whl") for n in names) and any(not n.endswith(".whl")
                                                           for n in names):
            entry.built = True
    releases = {key: Release(key[0], key[1], e.metadata, e.http, e.artifacts,
                             e.metadata + e.http + e.files, sorted(e.repos), e.built)
                for key, e in by_key.items()}
    return Layout(releases, repos, repos_tree.files, art_tree.files, stray,
                  sorted({"/".join(d.path.split("/")[:5]) for d in art_tree.dirs
                          if ARTIFACT_DIR.match("/".join(d.path.split("/")[:5]))}),
                  unknown_tops(root), repos_tree.errors + art_tree.errors)


def unknown_tops(root: str) -> List[str]:
    """Top-level names that are not Poetry's (reported, never touched)."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    return sorted(n for n in names if n not in TOPS)


def poetry_repo(root: str, rel: str) -> bool:
    """``root/rel`` (a repository under ``cache/repositories``) holds only what Poetry puts
    there: directories named as FileCache's first level or the HTTP cache."""
    if not real_dir(root, rel):
        return False
    try:
        with os.scandir(os.path.join(root, rel)) as it:
            return all(REPO_NAMES.match(e.name) and e.is_dir(follow_symlinks=False)
                       for e in it)
    except OSError:
        return False


# Patterns ----------------------------------------------------------------------------------

class Pattern(NamedTuple):
    repo: Optional[str]
    name: str
    version: Optional[str]


def parse_pattern(pattern: str) -> Pattern:
    """``NAME``, ``NAME:VERSION`` or Poetry's own ``REPO:NAME:VERSION``; globs allowed,
    names compared normalised."""
    parts = pattern.split(":")
    if len(parts) == 3:
        return Pattern(parts[0], normalize(parts[1]), parts[2])
    if len(parts) == 2:
        return Pattern(None, normalize(parts[0]), parts[1])
    return Pattern(None, normalize(pattern), None)


def matching(lay: Layout, pattern: str) -> List[Tuple[str, str]]:
    """The releases a pattern selects (with no version: the project's index pages too)."""
    want = parse_pattern(pattern)
    out = []
    for key, rel in sorted(lay.releases.items()):
        if not fnmatch.fnmatchcase(key[0], want.name):
            continue
        if want.version is not None and not (key[1] and fnmatch.fnmatchcase(key[1],
                                                                              want.version)):
            continue
        if want.repo is not None and want.repo not in rel.repos:
            continue
        out.append(key)
    return out


def layout_problem(root: str) -> str:
    """Poetry's signature: nothing at the top but what Poetry writes there (``cache``,
    ``artifacts``, ``virtualenvs``, ``src``), and ``cache/repositories``, ``artifacts`` or
    ``virtualenvs`` as directories (or nothing at all yet). ``artifacts`` and ``src`` are
    common words: a project or CI workspace holding them also holds other things, and is
    refused."""
    try:
        names = os.listdir(root)
    except OSError as exc:
        return f"cannot be listed ({exc.strerror})"
    if not names:
        return ""
    strangers = sorted(n for n in names if n not in TOPS)
    if strangers:
        return (f"does not look like a Poetry cache dir ({strangers[0]!r} is not one of "
                f"Poetry's {', '.join(TOPS)})")
    if any(real_dir(root, rel) for rel in (REPOS, ARTIFACTS, "virtualenvs")):
        return ""
    return ("does not look like a Poetry cache dir (no cache/repositories, artifacts or "
            "virtualenvs inside)")


def tidy_names(keys: Set[Tuple[str, str]]) -> List[str]:
    return sorted(f"{n} {v}".strip() for n, v in keys)

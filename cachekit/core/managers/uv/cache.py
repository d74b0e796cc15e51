"""uv's cache: buckets, packages, and what ``uv cache clean PKG`` removes.

Buckets are recognised by name (``wheels-v8``, ``sdists-v11``...): uv bumps the version
often, so any ``name-vN`` counts, and names cachekit does not know are reported. Package
files live in ``archive-v0/<id>``; the wheel and sdist buckets hold symlinks into it,
and installs hard-link out of it, so sizes count each inode once.

Removals inside a uv cache go through the ``uv`` binary when the host has one (uv takes
its own lock and knows its own layout); without it cachekit only empties the whole cache,
holding uv's exclusive lock on ``CACHE/.lock``.
"""

import fnmatch
import os
import re
from typing import Any, Dict, List, NamedTuple, Optional, Set, Tuple

from ...fs import walk
from ...names import normalize

BUCKET = re.compile(r"^(?P<name>[a-z][a-z-]*?)-v(?P<version>\d+)$")
KNOWN_BUCKETS = ("archive", "binaries", "builds", "built-wheels", "environments", "files",
                 "flat-index", "git", "interpreter", "osv", "python", "sdists", "simple",
                 "wheels")
ROOT_FILES = (".lock", "CACHEDIR.TAG", ".gitignore", ".git")
# where the package name sits in each kind of wheel/sdist/simple entry
_NAME_DEPTH = {"pypi": 2, "index": 3, "url": 3, "path": 3, "editable": 3, "git": 4}


def bucket_of(rel: str) -> Tuple[str, str]:
    """(bucket name, bucket dir) of a path: ``("wheels", "wheels-v8")``; ("", "") at top."""
    top = rel.split("/", 1)[0]
    match = BUCKET.match(top)
    return (match.group("name"), top) if match else ("", "")


def package_of(rel: str) -> Optional[Tuple[str, str]]:
    """(normalised name, the entry's own path) for a path in a named package entry."""
    parts = rel.split("/")
    name, _ = bucket_of(rel)
    if name not in ("wheels", "sdists", "simple") or len(parts) < 2:
        return None
    depth = _NAME_DEPTH.get(parts[1])
    if depth is None or len(parts) <= depth:
        return None
    if name == "sdists" and parts[1] not in ("pypi", "index"):
        return None  # url/path/git sdists are named only inside their metadata
    leaf = parts[depth]
    if name == "simple":
        if not leaf.endswith(".rkyv"):
            return None
        leaf = leaf[:-len(".rkyv")]
    return normalize(leaf), "/".join(parts[:depth + 1])


class Package(NamedTuple):
    name: str
    entries: List[str]  # wheel/sdist directories and simple-index files, whole
    archives: List[str]  # archive-v0 entries only this package links to
    versions: List[str]
    kinds: List[str]  # "wheel" (pre-built), "sdist" (built here), "index"
    files: List[walk.FileStat]  # everything removing the package deletes


class Layout(NamedTuple):
    packages: Dict[str, Package]
    buckets: Dict[str, Dict[str, int]]  # bucket dir -> files, bytes
    unknown: List[str]  # top-level names that are not uv's
    links: Dict[str, str]  # symlink path -> archive entry it points to


def _archive_target(root: str, link: walk.FileStat) -> Optional[str]:
    """``archive-v0/<id>`` a wheel or sdist symlink resolves to, inside the cache.

    Reading a link stamps its access time, which ``prune`` ranks by: it is put back.
    """
    path = os.path.join(root, link.path)
    try:
        target = os.readlink(path)
        if os.lstat(path).st_atime_ns != link.atime_ns:
            os.utime(path, ns=(link.atime_ns, link.mtime_ns), follow_symlinks=False)
    except (OSError, NotImplementedError):
        return None
    rel = link.path
    full = os.path.normpath(os.path.join(root, os.path.dirname(rel), target))
    inside = os.path.relpath(full, root)
    if inside.startswith("..") or bucket_of(inside)[0] != "archive":
        return None
    return "/".join(inside.split("/")[:2])


def layout(root: str, tree: walk.Tree) -> Layout:
    buckets: Dict[str, Dict[str, int]] = {}
    unknown: Set[str] = set()
    links: Dict[str, str] = {}
    by_name: Dict[str, Dict[str, Any]] = {}
    for d in tree.dirs:
        top = d.path.split("/", 1)[0]
        if d.path and "/" not in d.path:
            name, _ = bucket_of(top)
            if name not in KNOWN_BUCKETS:
                unknown.add(top)
            buckets.setdefault(top, {"files": 0, "bytes": 0})
    for f in tree.files:
        top = f.path.split("/", 1)[0]
        if "/" not in f.path:
            if f.path not in ROOT_FILES:
                unknown.add(f.path)
            continue
        count = buckets.setdefault(top, {"files": 0, "bytes": 0})
        count["files"] += 1
        count["bytes"] += f.size
        found = package_of(f.path)
        if found is None:
            continue
        name, entry = found
        pkg = by_name.setdefault(name, {"entries": set(), "files": [], "versions": set(),
                                        "kinds": set(), "links": []})
        pkg["entries"].add(entry)
        pkg["files"].append(f)
        bucket = bucket_of(f.path)[0]
        pkg["kinds"].add({"wheels": "wheel", "sdists": "sdist", "simple": "index"}[bucket])
        if f.kind in ("l", "L"):
            target = _archive_target(root, f)
            if target:
                links[f.path] = target
                pkg["links"].append(target)
        # a `.lock` alone (what a failed offline resolve leaves) is not a cached version
        version = "" if f.path.endswith(".lock") else _version(f.path, entry, bucket)
        if version:
            pkg["versions"].add(version)
    referrers: Dict[str, Set[str]] = {}
    for name, pkg in by_name.items():
        for target in pkg["links"]:
            referrers.setdefault(target, set()).add(name)
    archive_files: Dict[str, List[walk.FileStat]] = {}
    for f in tree.files:
        if bucket_of(f.path)[0] == "archive" and f.path.count("/") >= 2:
            archive_files.setdefault("/".join(f.path.split("/")[:2]), []).append(f)
    packages = {}
    for name, pkg in by_name.items():
        own = sorted({t for t in pkg["links"] if referrers.get(t) == {name}})
        files = list(pkg["files"]) + [f for a in own for f in archive_files.get(a, [])]
        packages[name] = Package(name, sorted(pkg["entries"]), own, sorted(pkg["versions"]),
                                 sorted(pkg["kinds"]), files)
    return Layout(packages, buckets, sorted(unknown), links)


def _version(rel: str, entry: str, bucket: str) -> str:
    rest = rel[len(entry) + 1:].split("/") if rel.startswith(entry + "/") else []
    if not rest or not rest[0]:
        return ""
    if bucket == "sdists":
        return rest[0]  # sdists-vN/<kind>/<name>/<version>/...
    if bucket == "wheels":
        return rest[0].split("-", 1)[0]  # <version>-<tags>[.http|.msgpack|.lock]
    return ""


def removal_plan(root: str, tree: walk.Tree, lay: Layout, names: List[str]
                 ) -> Tuple[List[str], List[walk.FileStat]]:
    """What ``uv cache clean NAME...`` deletes: (top paths, every file under them).

    Each package's wheel and sdist directories and index files, the whole flat-index
    bucket, and the archives whose every link goes with them (uv 0.13, tested).
    """
    chosen = [lay.packages[n] for n in names if n in lay.packages]
    tops: List[str] = []
    for pkg in chosen:
        tops += pkg.entries
    tops += [b for b in lay.buckets if bucket_of(b)[0] == "flat-index"]
    gone_links = {link for link in lay.links for t in tops
                  if link == t or link.startswith(t + "/")}
    still = {target for link, target in lay.links.items() if link not in gone_links}
    tops += sorted({lay.links[link] for link in gone_links} - still)
    prefixes = tuple(t + "/" for t in tops)
    files = [f for f in tree.files if f.path in tops or f.path.startswith(prefixes)]
    return sorted(set(tops)), files


def prune_ci_plan(tree: walk.Tree, lay: Layout, current: Optional[Tuple[str, ...]]
                  ) -> List[str]:
    """What ``uv cache prune --ci`` deletes (uv 0.13, section 2.6 of the notes, tested).

    ``current`` is the host uv's own bucket set; without it, the newest version of each
    bucket present stands in for it.
    """
    tops_now = sorted({f.path.split("/", 1)[0] for f in tree.files} |
                      {d.path for d in tree.dirs if d.path and "/" not in d.path})
    if current is None:
        newest: Dict[str, Tuple[int, str]] = {}
        for top in tops_now:
            match = BUCKET.match(top)
            if match and match.group("name") in KNOWN_BUCKETS:
                version = int(match.group("version"))
                if version >= newest.get(match.group("name"), (-1, ""))[0]:
                    newest[match.group("name")] = (version, top)
        current = tuple(top for _v, top in newest.values())
    gone: List[str] = [t for t in tops_now if t not in current and t not in ROOT_FILES]
    children: Dict[str, List[str]] = {}
    for path in [d.path for d in tree.dirs] + [f.path for f in tree.files]:
        if "/" in path:
            parent, _, _ = path.rpartition("/")
            children.setdefault(parent, []).append(path)
    for top in current:
        name = bucket_of(top)[0]
        if name in ("environments", "builds", "wheels"):
            gone += children.get(top, [])
    metadata_dirs = {f.path.rsplit("/", 1)[0] for f in tree.files
                     if f.path.endswith("/metadata.msgpack") and bucket_of(f.path)[0] == "sdists"
                     and f.path.split("/", 1)[0] in current}
    for d in sorted(metadata_dirs):
        for child in children.get(d, []):
            leaf = child.rsplit("/", 1)[-1]
            if leaf == "metadata.msgpack" or leaf.endswith(".whl") or child in metadata_dirs:
                continue
            gone.append(child)
    prefixes = tuple(g + "/" for g in gone)
    linked = {target for link, target in lay.links.items()
              if link not in gone and not link.startswith(prefixes)}
    for top in current:
        if bucket_of(top)[0] == "archive":
            gone += [a for a in children.get(top, []) if a not in linked]
    return sorted(set(gone))


def layout_problem(root: str) -> str:
    """uv's signature: at least one of its versioned buckets (``wheels-v8``,
    ``archive-v0``, ``sdists-v11``...), or nothing but its root files (a new or emptied
    cache). A CACHEDIR.TAG marks any cache (Rust's ``target/`` has one), not uv's."""
    try:
        names = os.listdir(root)
    except OSError as exc:
        return f"cannot be listed ({exc.strerror})"
    for name in names:
        match = BUCKET.match(name)
        if match and match.group("name") in KNOWN_BUCKETS and os.path.isdir(
                os.path.join(root, name)) and not os.path.islink(os.path.join(root, name)):
            return ""
    strangers = sorted(n for n in names if n not in ROOT_FILES)
    if not strangers:
        return ""
    return (f"does not look like a uv cache (no versioned bucket such as wheels-v8 or "
            f"archive-v0, and {strangers[0]!r} is not uv's; a CACHEDIR.TAG marks any cache)")


def matching(lay: Layout, pattern: str) -> List[str]:
    """Package names a pattern selects: a name or glob, compared normalised."""
    want = normalize(pattern)
    return sorted(n for n in lay.packages if fnmatch.fnmatchcase(n, want))

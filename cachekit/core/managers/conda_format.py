"""What conda-format package caches share (conda, mamba, micromamba, and pixi's rattler):
package names, the environments' ``conda-meta`` records, and the rule that keeps a package.

A package is kept when any discoverable environment records it, whatever the link type
(conda's own rule looks at hard links only, and removes packages that environments use
through symlinks or copies), or when a file of it has another hard link. A record whose
package path is gone keeps every package of that name.
"""

import fnmatch
import json
import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Tuple

from .. import bounded

if TYPE_CHECKING:
    from ..fs.subtree import Stats

PACKAGE_EXTENSIONS = (".conda", ".tar.bz2")

_HEX = frozenset("0123456789abcdef")
LINK_TYPES = {1: "hard link", 2: "symlink", 3: "copy", 4: "directory"}


def dist_name(rel: str, rattler: bool = False) -> str:
    """``a/b/numpy-1.26.4-py311_0.conda`` -> ``numpy-1.26.4-py311_0``; with ``rattler``, an
    origin hash rattler may append to a cache directory's name is dropped
    (``without_origin_hash``)."""
    base = rel.rsplit("/", 1)[-1]
    if base.endswith(".partial"):
        base = base[:-len(".partial")]
    for ext in PACKAGE_EXTENSIONS:
        if base.lower().endswith(ext):
            base = base[:-len(ext)]
            break
    return without_origin_hash(base) if rattler else base


def without_origin_hash(dist: str) -> str:
    """rattler names a package from a URL or path ``name-version-build-<sha256 of the
    origin>`` (``CacheKey``'s path segment): ``name-version-build``. Only for rattler's
    caches: in conda's, ``a-b-c-<64 hex>`` is the package ``a-b``'s build ``<64 hex>``."""
    head, _, tail = dist.rpartition("-")
    if len(tail) == 64 and head.count("-") >= 2 and all(c in _HEX for c in tail):
        return head
    return dist


def split_dist(dist: str) -> Tuple[str, str, str]:
    """``name-version-build``; names may hold dashes, version and build never do."""
    parts = dist.rsplit("-", 2)
    if len(parts) < 3:
        return dist, "", ""
    return parts[0], parts[1], parts[2]


def dist_path(tarball: str) -> str:
    """The extracted directory an archive unpacks to (``strip_pkg_extension``)."""
    for ext in PACKAGE_EXTENSIONS:
        if tarball.lower().endswith(ext):
            return tarball[:-len(ext)]
    return tarball


def matches(rel: str, pattern: str, rattler: bool = False) -> bool:
    """A conda-style pattern: a package name, or a glob over ``name-version-build``."""
    dist = dist_name(rel, rattler).lower()
    pattern = pattern.lower()
    return fnmatch.fnmatchcase(dist, pattern) or fnmatch.fnmatchcase(split_dist(dist)[0], pattern)


class Usage:
    """Packages recorded in environments' ``conda-meta``, by directory identity and by name."""

    def __init__(self) -> None:
        self.by_id: Dict[Tuple[int, int], List[str]] = {}
        self.by_name: Dict[str, List[str]] = {}
        self.envs: Dict[str, int] = {}  # env -> records read
        self.warnings: List[str] = []  # a record not read: cleaning stops until it is fixed
        self.notes: List[str] = []  # a record too large or malformed: kept by name, said

    def reasons(self, root: str, rel: str, rattler: bool = False) -> List[str]:
        """Why the package at ``root/rel`` must stay (empty: no environment records it).
        ``rattler``: the directory's name may carry an origin hash (``dist_name``)."""
        out: List[str] = []
        try:
            st = os.stat(root + "/" + rel)
            out += self.by_id.get((st.st_dev, st.st_ino), [])
        except OSError:
            pass
        out += self.by_name.get(dist_name(rel, rattler), [])
        return out

    def envs_using(self, root: str, rels: Iterable[str]) -> Dict[str, List[str]]:
        """env -> the packages of this cache it records."""
        out: Dict[str, List[str]] = {}
        for rel in rels:
            for reason in self.reasons(root, rel):
                env = reason.split(" (", 1)[0].replace("used by ", "").replace(
                    "recorded by ", "")
                out.setdefault(env, []).append(dist_name(rel))
        return out


def _values_of(text: str, key: str) -> Iterator[Any]:
    """Every JSON value stored under ``"key":`` anywhere in ``text``, without parsing the
    rest: a ``conda-meta`` record is mostly its file list, and parsing that is the cost."""
    decoder = json.JSONDecoder()
    quoted = '"' + key + '"'
    start = 0
    while True:
        at = text.find(quoted, start)
        if at < 0:
            return
        start = at + len(quoted)
        if at and text[at - 1] == "\\":
            continue  # inside a string
        colon = start
        while colon < len(text) and text[colon] in " \t\r\n":
            colon += 1
        if text[colon:colon + 1] != ":":
            continue  # a string value that happens to equal the key
        value_at = colon + 1
        while value_at < len(text) and text[value_at] in " \t\r\n":
            value_at += 1
        try:
            value, start = decoder.raw_decode(text, value_at)
        except ValueError:
            continue
        yield value


def _first(text: str, key: str, kind: type) -> Any:
    """The first value of type ``kind`` stored under ``key``, or None."""
    for value in _values_of(text, key):
        if isinstance(value, kind):
            return value
    return None


def _record_paths(text: str) -> Tuple[List[str], Optional[int]]:
    """The package paths and link type a ``conda-meta`` record holds.

    Each key is looked up once, so the scan stops where the key is (conda writes one of
    each). A record without a ``link`` object is parsed whole, its paths taken wherever
    they are: nothing a record names is missed.
    """
    link = _first(text, "link", dict)
    if link is None:
        try:
            whole = json.loads(text)
        except ValueError:
            whole = None
        if not isinstance(whole, dict):
            return [], None
        link = whole["link"] if isinstance(whole.get("link"), dict) else {}
        values = [link.get("source"), whole.get("extracted_package_dir"),
                  whole.get("package_tarball_full_path")]
    else:
        values = [link.get("source"), _first(text, "extracted_package_dir", str),
                  _first(text, "package_tarball_full_path", str)]
    paths = [v for v in values[:2] if isinstance(v, str) and v]
    if isinstance(values[2], str) and values[2]:
        paths.append(dist_path(values[2]))
    link_type = link.get("type")
    return paths, link_type if isinstance(link_type, int) else None


# What other users' environments on this host use (``core/users``: their runs read them
# as those users and send it to root's, which keeps those packages in a shared cache).
OTHERS: List[Usage] = []


def to_wire(usage: Usage) -> Dict[str, Any]:
    return {"by_id": [[d, i, r] for (d, i), r in usage.by_id.items()],
            "by_name": usage.by_name, "envs": usage.envs}


def from_wire(data: Dict[str, Any]) -> Usage:
    usage = Usage()
    for dev, ino, reasons in data.get("by_id") or []:
        usage.by_id[(int(dev), int(ino))] = [str(r) for r in reasons]
    for name, reasons in (data.get("by_name") or {}).items():
        usage.by_name[str(name)] = [str(r) for r in reasons]
    usage.envs = {str(k): int(v) for k, v in (data.get("envs") or {}).items()}
    return usage


def read_usage(envs: Iterable[str]) -> Usage:
    """Read every environment's ``conda-meta/*.json``: which cached packages it records
    (and what other users' environments record: ``OTHERS``)."""
    usage = Usage()
    for other in OTHERS:
        for key, reasons in other.by_id.items():
            usage.by_id.setdefault(key, []).extend(reasons)
        for name, reasons in other.by_name.items():
            usage.by_name.setdefault(name, []).extend(reasons)
        usage.envs.update(other.envs)
    for env in envs:
        meta = os.path.join(env, "conda-meta")
        try:
            names = [n for n in os.listdir(meta) if n.endswith(".json")]
        except OSError as exc:
            usage.warnings.append(f"{meta}: cannot list: {exc.strerror}")
            continue
        usage.envs[env] = len(names)
        for name in names:
            dist = name[:-len(".json")]
            try:
                paths, link_type = _record_paths(bounded.read_text(
                    os.path.join(meta, name), bounded.RECORD_CAP, errors="replace"))
            except bounded.TooLarge as exc:
                usage.notes.append(f"{meta}/{name}: {exc.strerror}; kept by name")
                paths, link_type = [], None
            except OSError as exc:  # a FIFO, a device, a directory, no permission
                usage.warnings.append(f"{meta}/{name}: cannot read: {exc.strerror}")
                paths, link_type = [], None
            except (ValueError, RecursionError):  # not JSON: kept by name below
                usage.notes.append(f"{meta}/{name}: not a valid JSON record; kept by name")
                paths, link_type = [], None
            how = LINK_TYPES.get(link_type or 0, "link type not recorded")
            reason = f"used by {env} ({how})"
            resolved = False
            for path in paths:
                try:
                    st = os.stat(path)
                except (OSError, ValueError):  # gone, unreadable, or a NUL in the path
                    continue
                resolved = True
                reasons = usage.by_id.setdefault((st.st_dev, st.st_ino), [])
                if reason not in reasons:
                    reasons.append(reason)
            if not resolved:
                # The recorded cache path is gone or was never written (moved caches, other
                # tools): keep every package of that name, wherever it is cached.
                usage.by_name.setdefault(dist, []).append(
                    f"recorded by {env} (by name: its recorded package path is not found)")
    return usage


def verdict(root: str, rel: str, walked: "Optional[Stats]", usage: Usage,
            rattler: bool = False) -> Tuple[bool, str]:
    """(removable, why) for the extracted package ``root/rel``: cachekit's rule, whose walk
    (``subtree.walk_dir``) is ``walked`` (``rattler``: a rattler cache's directory name)."""
    used = usage.reasons(root, rel, rattler)
    if used:
        return False, "; ".join(used)
    if walked is None:
        return False, "not examined"
    if walked.errors:
        where, err = walked.errors[0]
        return False, f"could not be read fully ({where}: {err}); kept"
    if walked.linked_count:
        sample = ", ".join(f"{r.split('/', 1)[-1]} ({n} links)" for r, n in walked.linked[:2])
        return False, (f"{walked.linked_count} file(s) with more than one hard link (linked "
                       f"elsewhere or within the package), e.g. {sample}")
    return True, "unused package (no environment records it, no file hard-linked elsewhere)"

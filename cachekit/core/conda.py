"""conda/mamba package caches: what is in one, which packages environments use, what to clean.

Follows ``conda clean`` (conda 26.1-26.7, ``cli/main_clean.py``) in what each flag
selects, with one deliberate difference: a package is "unused" only if no discoverable
environment records it in ``conda-meta`` (whatever the link type) *and* none of its files
has another hard link. conda's rule is the second half alone, which removes packages that
environments use through symlinks or copies.

Sizes are ``lstat`` sizes as conda reports them (a symlink counts its link length);
"freed" bytes count only regular files whose last link would go.
"""

import json
import os
import stat
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Set, Tuple

from cachekit.core import bounded
from cachekit.core.fs import walk

PACKAGE_EXTENSIONS = (".conda", ".tar.bz2")
TEMPFILE_SUFFIXES = (".c~", ".trash")  # `conda clean --tempfiles`
TRASH_SUFFIXES = (".mamba_trash", ".conda_trash")
# micromamba 2.6+ keeps packages under PKGS/<scheme>/<host>/<channel>/<subdir>/
URL_SCHEMES = ("https", "http", "file", "s3", "ftp", "oci")
_NESTED_DEPTH = 8
_SPLIT_BELOW = 8  # see find_tempfiles
LINK_TYPES = {1: "hard link", 2: "symlink", 3: "copy", 4: "directory"}


class Entry(NamedTuple):
    """Something found in a package cache, outside extracted packages' contents."""

    rel: str  # relative to the cache root, "/"-separated
    kind: str  # tarball partial legacy_partial package index_cache logs trash_dir
    #            trash_file tempfile lock magic symlink other other_dir
    size: int
    nlink: int
    ino: int
    mtime_ns: int


class Stats(NamedTuple):
    """What a walk of one directory (a package, the index cache, ...) found."""

    rel: str
    files: int
    bytes: int  # lstat sizes of every non-directory
    freed: int  # regular files whose every link is inside the walked directory
    linked: List[Tuple[str, int]]  # (rel, nlink) of files with other hard links, a few
    linked_count: int
    tempfiles: List[Entry]
    errors: List[Tuple[str, str]]
    last_atime_ns: int = 0  # the latest use of a payload file (outside info/, which conda
    last_mtime_ns: int = 0  # reads on every run); of any file when there is no payload


class Listing(NamedTuple):
    root: str
    entries: List[Entry]
    errors: List[Tuple[str, str]]

    def of(self, *kinds: str) -> List[Entry]:
        return [e for e in self.entries if e.kind in kinds]


def dist_name(rel: str) -> str:
    """``a/b/numpy-1.26.4-py311_0.conda`` -> ``numpy-1.26.4-py311_0``."""
    base = rel.rsplit("/", 1)[-1]
    if base.endswith(".partial"):
        base = base[:-len(".partial")]
    for ext in PACKAGE_EXTENSIONS:
        if base.lower().endswith(ext):
            return base[:-len(ext)]
    return base


def split_dist(dist: str) -> Tuple[str, str, str]:
    """``name-version-build``; names may hold dashes, version and build never do."""
    parts = dist.rsplit("-", 2)
    if len(parts) < 3:
        return dist, "", ""
    return parts[0], parts[1], parts[2]


def _file_kind(name: str) -> str:
    low = name.lower()
    if low.endswith(".partial") and low[:-len(".partial")].endswith(PACKAGE_EXTENSIONS):
        return "partial"
    if low.endswith(PACKAGE_EXTENSIONS):
        return "tarball"
    if low.endswith(".part") and low[:-len(".part")].endswith(PACKAGE_EXTENSIONS):
        return "legacy_partial"  # conda < 26.1 named partial downloads so; 26.1+ keeps them
    if name in ("urls.txt", "urls"):
        return "magic"
    if low.endswith(".lock"):
        return "lock"
    if name.endswith(TRASH_SUFFIXES):
        return "trash_file"
    if name.endswith(TEMPFILE_SUFFIXES):
        return "tempfile"
    return "other"


def _is_dir_at(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def list_cache(root: str) -> Listing:
    """Classify the cache's top level (and micromamba's nested channel directories)."""
    listing = Listing(root, [], [])
    _list_level(listing, "", 0)
    return listing


def _list_level(listing: Listing, rel: str, depth: int) -> None:
    path = listing.root + "/" + rel if rel else listing.root
    found = _stat_all(listing, path, rel)
    for name, st in sorted(found, key=lambda found: found[0]):
        sub = name if not rel else rel + "/" + name
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            kind = "symlink"
        elif stat.S_ISDIR(mode):
            if _is_dir_at(path + "/" + name + "/info"):
                kind = "package"
            elif rel == "" and name == "cache":
                kind = "index_cache"
                _list_locks(listing, sub)
            elif rel == "" and name == ".logs":
                kind = "logs"
                _list_logs(listing, sub)
            elif rel == "" and name == ".trash":
                kind = "trash_dir"
            elif (depth > 0 or name in URL_SCHEMES) and depth < _NESTED_DEPTH:
                _list_level(listing, sub, depth + 1)
                continue
            else:
                kind = "other_dir"
        else:
            kind = _file_kind(name)
            if depth and kind in ("partial", "legacy_partial"):
                kind = "other"  # only conda cleans partial downloads, and only at the top
        listing.entries.append(Entry(sub, kind, st.st_size, st.st_nlink, st.st_ino,
                                     st.st_mtime_ns))


def _stat_all(listing: Listing, path: str, rel: str) -> List[Tuple[str, os.stat_result]]:
    """``lstat`` of every entry of one directory; one that vanishes meanwhile is left out,
    one that cannot be read is an error (and keeps everything in this cache)."""
    found = []
    try:
        with os.scandir(path) as it:
            for entry in it:
                try:
                    found.append((entry.name, entry.stat(follow_symlinks=False)))
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    listing.errors.append((_sub(rel, entry.name), exc.strerror or str(exc)))
    except FileNotFoundError:
        if not rel:
            listing.errors.append((rel, "No such file or directory"))
    except OSError as exc:
        listing.errors.append((rel, exc.strerror or str(exc)))
    return found


def _sub(rel: str, name: str) -> str:
    return name if not rel else rel + "/" + name


def _list_locks(listing: Listing, rel: str) -> None:
    """mamba's lock files under the index cache (``clean --lock`` takes the stale ones)."""
    stack = [rel]
    while stack:
        here = stack.pop()
        for name, st in _stat_all(listing, listing.root + "/" + here, here):
            if stat.S_ISDIR(st.st_mode):
                stack.append(here + "/" + name)
            elif stat.S_ISREG(st.st_mode) and name.endswith(".lock"):
                listing.entries.append(Entry(here + "/" + name, "lock", st.st_size,
                                             st.st_nlink, st.st_ino, st.st_mtime_ns))


def lock_held(path: str) -> bool:
    """Does a running process hold this lock file? Tried without waiting, with both lock
    kinds (``flock`` and POSIX record locks do not see each other); when in doubt, yes."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        for attempt in (fcntl.flock, fcntl.lockf):
            try:
                attempt(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
        return False
    finally:
        os.close(fd)  # closing drops whatever we just took


def _list_logs(listing: Listing, rel: str) -> None:
    """``conda clean --logfiles`` takes the plain files directly in ``.logs``."""
    found = _stat_all(listing, listing.root + "/" + rel, rel)
    for name, st in sorted(found, key=lambda found: found[0]):
        if stat.S_ISREG(st.st_mode):
            listing.entries.append(Entry(rel + "/" + name, "logfile", st.st_size, st.st_nlink,
                                         st.st_ino, st.st_mtime_ns))


# Walking directories ----------------------------------------------------------------------

_LINKED_SAMPLE = 3


def walk_dir(args: Tuple[str, str]) -> Stats:
    """Walk ``root/rel`` with ``lstat`` only; never enter a symlinked directory."""
    root, rel = args
    files = size = freed = linked_count = 0
    linked: List[Tuple[str, int]] = []
    tempfiles: List[Entry] = []
    errors: List[Tuple[str, str]] = []
    shared: Dict[Tuple[int, int], List[int]] = {}  # hard-linked file -> [seen, nlink, size]
    last_atime = last_mtime = info_use = info_mtime = 0
    info_dir = rel + "/info"
    stack = [rel]
    while stack:
        here = stack.pop()
        in_info = here == info_dir or here.startswith(info_dir + "/")
        try:
            it = os.scandir(root + "/" + here)
        except FileNotFoundError:
            continue
        except OSError as exc:
            errors.append((here, exc.strerror or str(exc)))
            continue
        with it:
            try:
                for entry in it:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        errors.append((here + "/" + entry.name, exc.strerror or str(exc)))
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(here + "/" + entry.name)
                        continue
                    files += 1
                    size += st.st_size
                    if in_info:
                        info_use = max(info_use, st.st_atime_ns, st.st_mtime_ns)
                        info_mtime = max(info_mtime, st.st_mtime_ns)
                    else:
                        if st.st_atime_ns > last_atime:
                            last_atime = st.st_atime_ns
                        if st.st_mtime_ns > last_mtime:
                            last_mtime = st.st_mtime_ns
                    if st.st_nlink > 1:
                        linked_count += 1
                        if len(linked) < _LINKED_SAMPLE:
                            linked.append((here + "/" + entry.name, st.st_nlink))
                        if stat.S_ISREG(st.st_mode):
                            seen = shared.setdefault((st.st_dev, st.st_ino),
                                                     [0, st.st_nlink, st.st_size])
                            seen[0] += 1
                    elif stat.S_ISREG(st.st_mode):
                        freed += st.st_size
                    if entry.name.endswith(TEMPFILE_SUFFIXES):
                        tempfiles.append(Entry(here + "/" + entry.name, "tempfile", st.st_size,
                                               st.st_nlink, st.st_ino, st.st_mtime_ns))
            except OSError as exc:
                errors.append((here, exc.strerror or str(exc)))
    # a file whose every link lies inside this directory is freed with it
    freed += sum(size for seen, nlink, size in shared.values() if seen >= nlink)
    if not last_atime and not last_mtime:  # a metapackage: only info/ to go by
        last_atime, last_mtime = info_use, info_mtime
    return Stats(rel, files, size, freed, linked, linked_count, tempfiles, errors,
                 max(last_atime, last_mtime), last_mtime)


def walk_many(root: str, rels: List[str], parallel: Optional[bool] = None) -> Dict[str, Stats]:
    """Walk several directories of one cache, in parallel when that pays."""
    return {s.rel: s for s in walk.fan_out(walk_dir, [(root, r) for r in rels], parallel)}


def find_tempfiles(top: str, skip: Set[str], suffixes: Tuple[str, ...] = TEMPFILE_SUFFIXES,
                   parallel: Optional[bool] = None) -> Tuple[List[str], List[Tuple[str, str]]]:
    """``conda clean --tempfiles``: files named ``*.c~`` or ``*.trash`` under ``top``.

    Names only (no ``stat`` of a file); symlinked directories are not entered, as
    ``os.walk`` does not. Directories in ``skip`` (absolute) are left out. A root
    prefix holds every environment's files, so the subtrees are searched in parallel.
    """
    found: List[str] = []
    errors: List[Tuple[str, str]] = []
    # Jobs of similar size: a directory with few subdirectories (an environment's lib/,
    # python3.x/) is opened here, one with many hands each to a worker.
    jobs: List[str] = []
    frontier = [(top, 0)]
    while frontier:
        here, depth = frontier.pop()
        subdirs = _find_level(here, skip, suffixes, found, errors)
        if len(subdirs) < _SPLIT_BELOW and depth < _NESTED_DEPTH:
            frontier += [(d, depth + 1) for d in subdirs]
        else:
            jobs += subdirs
    for more, errs in walk.fan_out(_find_below, [(j, skip, suffixes) for j in jobs], parallel):
        found += more
        errors += errs
    return sorted(found), errors


def _find_level(here: str, skip: Set[str], suffixes: Tuple[str, ...], found: List[str],
                errors: List[Tuple[str, str]]) -> List[str]:
    """Note the matching files of one directory; return its subdirectories."""
    subdirs: List[str] = []
    try:
        it = os.scandir(here)
    except FileNotFoundError:
        return subdirs
    except OSError as exc:
        errors.append((here, exc.strerror or str(exc)))
        return subdirs
    with it:
        for entry in it:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.path not in skip:
                        subdirs.append(entry.path)
                    continue
            except OSError:
                continue
            if entry.name.endswith(suffixes):
                found.append(entry.path)
    return subdirs


def _find_below(args: Tuple[str, Set[str], Tuple[str, ...]]
                ) -> Tuple[List[str], List[Tuple[str, str]]]:
    top, skip, suffixes = args
    found: List[str] = []
    errors: List[Tuple[str, str]] = []
    stack = [top]
    while stack:
        stack += _find_level(stack.pop(), skip, suffixes, found, errors)
    return found, errors


# Which packages environments use --------------------------------------------------------

class Usage:
    """Packages recorded in environments' ``conda-meta``, by directory identity and by name."""

    def __init__(self) -> None:
        self.by_id: Dict[Tuple[int, int], List[str]] = {}
        self.by_name: Dict[str, List[str]] = {}
        self.envs: Dict[str, int] = {}  # env -> records read
        self.warnings: List[str] = []  # a record not read: cleaning stops until it is fixed
        self.notes: List[str] = []  # a record too large or malformed: kept by name, said

    def reasons(self, root: str, rel: str) -> List[str]:
        """Why the package at ``root/rel`` must stay (empty: no environment records it)."""
        out: List[str] = []
        try:
            st = os.stat(root + "/" + rel)
            out += self.by_id.get((st.st_dev, st.st_ino), [])
        except OSError:
            pass
        out += self.by_name.get(dist_name(rel), [])
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


def dist_path(tarball: str) -> str:
    """The extracted directory an archive unpacks to (``strip_pkg_extension``)."""
    for ext in PACKAGE_EXTENSIONS:
        if tarball.lower().endswith(ext):
            return tarball[:-len(ext)]
    return tarball


def read_usage(envs: Iterable[str]) -> Usage:
    """Read every environment's ``conda-meta/*.json``: which cached packages it records."""
    usage = Usage()
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


# Figures for info and report --------------------------------------------------------------

def summarize(listing: Listing, stats: Dict[str, Stats], usage: Usage) -> Dict[str, Any]:
    """The per-cache figures ``info`` and ``report`` show."""
    out: Dict[str, Any] = {}

    def put(key: str, entries: List[Entry]) -> None:
        out[key] = len(entries)
        out[key + "_bytes"] = sum(e.size for e in entries)

    put("tarballs", listing.of("tarball"))
    put("partials", listing.of("partial", "legacy_partial"))
    put("locks", listing.of("lock"))
    put("other_files", listing.of("other", "magic", "symlink"))
    packages = listing.of("package")
    out["packages"] = len(packages)
    out["packages_bytes"] = sum(stats[p.rel].bytes for p in packages if p.rel in stats)
    unused = [p for p in packages if p.rel in stats and not stats[p.rel].linked_count
              and not stats[p.rel].errors and not usage.reasons(listing.root, p.rel)]
    out["unused_packages"] = len(unused)
    out["unused_bytes"] = sum(stats[p.rel].freed for p in unused)
    out["index_cache_bytes"] = sum(stats[e.rel].bytes for e in listing.of("index_cache"))
    put("logfiles", listing.of("logfile"))
    temp = listing.of("tempfile") + [t for s in stats.values() for t in s.tempfiles]
    put("tempfiles", temp)
    trash = listing.of("trash_file")
    trash_dirs = [stats[e.rel] for e in listing.of("trash_dir") if e.rel in stats]
    out["trash"] = len(trash) + sum(s.files for s in trash_dirs)
    out["trash_bytes"] = sum(e.size for e in trash) + sum(s.bytes for s in trash_dirs)
    dir_stats = [s for s in stats.values()]
    files = [e for e in listing.entries if e.kind not in DIR_KINDS and e.kind != "logfile"
             and not (e.kind == "lock" and e.rel.startswith("cache/"))]
    out["files"] = len(files) + sum(s.files for s in dir_stats)
    out["bytes"] = sum(e.size for e in files) + sum(s.bytes for s in dir_stats)
    return out


DIR_KINDS = ("package", "index_cache", "logs", "trash_dir", "other_dir")

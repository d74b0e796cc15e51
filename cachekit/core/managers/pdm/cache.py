"""PDM's cache (2.29): its buckets, its packages and who uses them, and what a pattern picks.

Buckets (``pdm cache clear``'s types): ``hashes/`` (one file per URL hashed), ``http/``
(one SQLite file, ``http-cache.db``: nothing in it is per package that a file shows),
``wheels/`` (wheels PDM built from sdists, ``wheels/ab/cd/ef/<rest>/<name>.whl``),
``metadata/`` (one JSON file per Python range) and ``packages/`` (with ``install.cache =
true``: each wheel unpacked once as ``packages/<wheel file name>.cache/``, installs are
per-file symlinks into it, and ``.referrers`` lists the ``.dist-info`` of every install).

Beside them PDM keeps ``plugins/`` (the project plugins ``pdm install --plugins`` puts
there: environments), ``.compat_libs/`` (a library PDM itself imports), ``pip.whl`` (the
pip wheel PDM downloads to run pip where none is installed), ``self-check/`` and
``use_cache.json``: counted in the total as ``pdm cache info`` counts them, never
removed.

Counting is ``pdm cache info``'s: every file and symlink (a symlink counts 0 bytes),
hard links once per path; a package is a ``*.whl.cache`` directory.
"""

import fnmatch
import os
import stat
from typing import Any, Dict, List, NamedTuple, Optional, Set, Tuple

from ...fs import walk
from ...names import normalize

BUCKETS = ("hashes", "http", "wheels", "metadata", "packages")
# The buckets whose every file ``pdm cache clear`` unlinks (``packages`` goes by package).
FILE_BUCKETS = ("hashes", "http", "wheels", "metadata")
PACKAGES = "packages"
PACKAGE_SUFFIX = ".whl.cache"
# PDM's own files beside the buckets: never a cache entry, never removed.
# Every name PDM 2.29 itself writes at the top of its cache, by its source: plugins/
# (project/core.py), .compat_libs/ and .compat_libs.lock, pip.whl (environments/base.py;
# the pip wheel it downloads when neither the environment nor PDM has pip), self-check/
# (cli/actions.py), use_cache.json (cli/commands/use.py).
PDM_OWN = ("plugins", ".compat_libs", ".compat_libs.lock", "pip.whl", "self-check",
           "use_cache.json")
PACKAGE_META = (".lock", ".checksum", ".referrers")  # PDM's, in every package directory


def wheel_parts(filename: str) -> Tuple[str, str]:
    """(project, version) of a wheel file name (``foo_bar-3.0-py3-none-any.whl``)."""
    parts = filename.split("-")
    return parts[0], parts[1] if len(parts) > 1 else ""


def matches(pattern: str, filename: str) -> Optional[str]:
    """Which rule picks ``filename`` (a wheel's file name): PDM's glob over the file name
    (``pdm cache remove``), or the normalised project name; None when neither does."""
    if fnmatch.fnmatchcase(filename, pattern):
        return "pdm pattern"
    project, version = wheel_parts(filename)
    if filename.endswith(".whl") and version and "/" not in pattern and \
            fnmatch.fnmatchcase(normalize(project), normalize(pattern)):
        return "normalised name"
    return None


class Package(NamedTuple):
    """One ``packages/<wheel>.cache`` directory."""

    entry: str  # "packages/<wheel>.whl.cache"
    name: str
    version: str
    users: List[str]  # the referrers that exist (PDM's rule), or the reason it is in use
    linked: int  # files with another hard link (a hardlink install, PDM does not track)
    dirs: int = 1  # its directories, itself included (once walked)


def package_users(root: str, entry: str) -> List[str]:
    """The installs of ``.referrers`` that still exist (PDM's rule). A path that cannot be
    looked at (another user's) counts as existing: cachekit never guesses it gone."""
    from ... import bounded

    try:
        text = bounded.read_text(os.path.join(root, entry, ".referrers"), bounded.LIST_CAP,
                                 errors="replace", follow_symlinks=False)
    except FileNotFoundError:
        return []
    except OSError as exc:  # unreadable: its users are unknown, so it is in use
        return [f"(.referrers unreadable: {exc.strerror or exc})"]
    users = []
    for line in text.splitlines():
        path = line.strip()
        if not path:
            continue
        try:
            os.stat(path)
        except (FileNotFoundError, NotADirectoryError, ValueError):
            continue  # gone, or not a path at all (a NUL byte): PDM's exists() says False
        except OSError:
            pass
        users.append(path)
    return users


def real_dir(root: str, bucket: str) -> bool:
    """``root/bucket`` is a directory itself, not a symlink to one: a bucket is entered
    only then (through a symlink cachekit would list, and plan, outside the cache)."""
    try:
        return stat.S_ISDIR(os.lstat(os.path.join(root, bucket)).st_mode)
    except OSError:
        return False


def not_entered(root: str) -> List[str]:
    """The buckets that exist but are not directories (a symlink to one, a file): never
    entered, so nothing in them is counted as a bucket's, listed or removed."""
    return [b for b in BUCKETS
            if os.path.lexists(os.path.join(root, b)) and not real_dir(root, b)]


def package_names(root: str) -> List[str]:
    """The ``*.whl.cache`` directories of ``packages/`` (PDM's packages); none when
    ``packages`` is not a directory itself (opened without following a symlink)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(os.path.join(root, PACKAGES), flags)
    except OSError:
        return []
    try:
        with os.scandir(fd) as it:
            return sorted(e.name for e in it if e.name.endswith(PACKAGE_SUFFIX)
                          and e.is_dir(follow_symlinks=False))
    except OSError:
        return []
    finally:
        os.close(fd)


def package(root: str, name: str, linked: int) -> Package:
    project, version = wheel_parts(name[:-len(".cache")])
    users = package_users(root, f"{PACKAGES}/{name}")
    return Package(f"{PACKAGES}/{name}", project, version, users, linked)


def in_use_reason(pkg: Package) -> str:
    """Why a package stays ("" when nothing uses it)."""
    if pkg.users:
        more = f" and {len(pkg.users) - 1} more" if len(pkg.users) > 1 else ""
        return f"in use by {pkg.users[0]}{more}"
    if pkg.linked:
        return f"in use: {pkg.linked} of its files are hard-linked into an environment"
    return ""


def _classify(top: str, name: str, kind: str) -> Optional[str]:
    """``pdm cache info``'s files (regular files and symlinks, not sockets or FIFOs), keyed
    by bucket, a package's by ``packages/<its directory>``, a file at the top by its name
    (``top`` is the first two components of the directory: ``walk``'s ``key_depth=2``)."""
    if kind == "o":
        return None
    if not top:
        return name
    if top.startswith(PACKAGES + "/"):
        return top
    return top.split("/", 1)[0]


class Figures(NamedTuple):
    """What ``info`` shows of one PDM cache."""

    buckets: Dict[str, List[int]]  # top-level name -> [files, bytes]
    packages: Dict[str, List[int]]  # package dir -> [files, bytes, hard-linked files]
    disk_bytes: Optional[int]
    errors: List[Tuple[str, str]]


def measure(root: str, disk: bool = True) -> Figures:
    """One walk of the whole cache (the shared walker, its work shared out from the
    cache's root), files counted per bucket and per package. Totals only: no record per
    file."""
    totals = walk.scan_totals(root, _classify, disk=disk, key_depth=2)
    buckets: Dict[str, List[int]] = {}
    packages: Dict[str, List[int]] = {}
    for key, (files, size) in totals.counts.items():
        top, _, rest = key.partition("/")
        count = buckets.setdefault(top, [0, 0])
        count[0] += files
        count[1] += size
        if rest:
            packages[rest] = [files, size, totals.shared.get(key, [0, 0])[0]]
    return Figures(buckets, packages, totals.disk_bytes, totals.errors)


def packages_of(root: str, figures: Figures) -> List[Package]:
    """Every package with its users (one read of its ``.referrers``)."""
    return [package(root, name, figures.packages.get(name, [0, 0, 0])[2])
            for name in package_names(root)]


def summarize(root: str, figures: Figures, packages: List[Package]) -> Dict[str, Any]:
    """The record's figures, in ``pdm cache info``'s terms."""
    b = figures.buckets
    out: Dict[str, Any] = {
        "bytes": sum(v[1] for v in b.values()), "files": sum(v[0] for v in b.values()),
        "disk_bytes": figures.disk_bytes,
        "buckets": {name: {"files": b.get(name, [0, 0])[0], "bytes": b.get(name, [0, 0])[1]}
                    for name in BUCKETS},
        "packages": len(packages),
        "in_use": sum(1 for p in packages if in_use_reason(p)),
        "in_use_bytes": sum(_bytes_of(figures, p) for p in packages if in_use_reason(p)),
        "unused_bytes": sum(_bytes_of(figures, p) for p in packages if not in_use_reason(p)),
        "unknown": sorted(n for n in b if n not in BUCKETS and n not in PDM_OWN),
        "not_cache_bytes": sum(v[1] for n, v in b.items() if n not in BUCKETS),
    }
    for name in ("hashes", "http", "wheels", "metadata"):
        out[f"{name}_files"], out[f"{name}_bytes"] = b.get(name, [0, 0])
    out["packages_bytes"] = b.get(PACKAGES, [0, 0])[1]
    return out


def _bytes_of(figures: Figures, pkg: Package) -> int:
    return figures.packages.get(pkg.entry.split("/", 1)[1], [0, 0])[1]


def layout_problem(root: str) -> str:
    """PDM's signature: nothing at the top but PDM's buckets and PDM's own files, and at
    least one bucket directory (or nothing at all: a new or emptied cache). The bucket
    names are plain words (``http``, ``metadata``), so one alone is no proof: a project
    directory with an ``http/`` folder also holds other things, and is refused."""
    try:
        names = os.listdir(root)
    except OSError as exc:
        return f"cannot be listed ({exc.strerror})"
    strangers = sorted(n for n in names if n not in BUCKETS and n not in PDM_OWN)
    if strangers:
        return (f"does not look like a PDM cache ({strangers[0]!r} is not one of PDM's "
                f"buckets {', '.join(BUCKETS)} or its own files)")
    if names and not any(n in BUCKETS and os.path.isdir(os.path.join(root, n))
                         and not os.path.islink(os.path.join(root, n)) for n in names):
        return "does not look like a PDM cache (no bucket directory such as wheels/ or http/)"
    return ""


def scan_packages(root: str, only: Optional[Set[str]] = None
                  ) -> List[Tuple[Package, List[walk.FileStat]]]:
    """Every package (or those named in ``only``, each walked alone) with its files as
    ``walk.scan`` sees them, and its users; one whose files could not all be read is in
    use (what it holds is unknown)."""
    files: Dict[str, List[walk.FileStat]] = {}
    dirs: Dict[str, int] = {}
    broken: Set[str] = set()
    names = [n for n in package_names(root) if only is None or n in only]
    if only is None:
        tree = tree_of(root, PACKAGES)
        trees = [tree]
    else:
        trees = [tree_of(root, f"{PACKAGES}/{n}") for n in names]
    for tree in trees:
        for f in tree.files:
            parts = f.path.split("/", 2)
            if len(parts) == 3:
                files.setdefault(parts[1], []).append(f)
        for d in tree.dirs:
            parts = d.path.split("/", 2)
            if len(parts) >= 2:
                dirs[parts[1]] = dirs.get(parts[1], 0) + 1
        broken |= {rel.split("/", 2)[1] for rel, _why in tree.errors if "/" in rel}
    out = []
    for name in names:
        mine = files.get(name, [])
        linked = sum(1 for f in mine if f.nlink > 1 and f.kind == "f")
        pkg = package(root, name, linked)._replace(dirs=dirs.get(name, 1))
        if name in broken:
            pkg = pkg._replace(users=pkg.users + ["(some of its files could not be read)"])
        out.append((pkg, mine))
    return out


def tree_of(root: str, bucket: str) -> walk.Tree:
    """Every file of one bucket, paths relative to the cache root ("" tree when absent)."""
    if not real_dir(root, bucket):
        return walk.Tree([], [], [])
    tree = walk.scan(os.path.join(root, bucket))
    return walk.Tree([f._replace(path=f"{bucket}/{f.path}") for f in tree.files],
                     [d._replace(path=f"{bucket}/{d.path}".rstrip("/")) for d in tree.dirs],
                     [(f"{bucket}/{rel}".rstrip("/"), why) for rel, why in tree.errors])

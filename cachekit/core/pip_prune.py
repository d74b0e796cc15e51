"""pip entries for ``prune``, folded by the walkers themselves.

``prune`` needs, for each entry (a built wheel with its ``origin.json``, an HTTP entry's
metadata and body, a legacy HTTP file), its files, size and last use, and the cache's
total size: one pass, as fast as ``info``'s, that never builds a record per directory.
Directories left empty are cleared at apply time, as pip 26.2+ does after a removal.
"""

import os
import stat
from typing import Any, Dict, List, Optional, Tuple

from cachekit.core import fs

# An entry file: path, size, ino, mtime_ns, atime_ns, nlink, dev, kind
EntryFile = Tuple[str, int, int, int, int, int, int, str]
# What a plan keeps of an entry's file: path, size, ino, mtime_ns, atime_ns
PlanFile = Tuple[str, int, int, int, int]
# An entry: path, package name, cheap, files, bytes, freed, last atime, last mtime (of the
# files that show use: a wheel's own file, both files of an HTTP entry)
Entry = Tuple[str, str, bool, List[PlanFile], int, int, int, int]


class Walk:
    """What one worker found: entries, the bytes of every file, unreadable paths."""

    def __init__(self) -> None:
        self.entries: List[Entry] = []
        self.bytes = 0
        self.files = 0
        self.errors: List[Tuple[str, str]] = []


def _walk_dir(root: str, rel: str, acc: Walk) -> List[str]:
    bucket = rel.split("/", 1)[0]
    prefix = rel + "/" if rel else ""
    subdirs: List[str] = []
    found: List[EntryFile] = []
    try:
        it = os.scandir(root + "/" + rel if rel else root)
    except FileNotFoundError:
        return subdirs
    except OSError as exc:
        acc.errors.append((rel, exc.strerror or str(exc)))
        return subdirs
    with it:
        try:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    acc.errors.append((prefix + entry.name, exc.strerror or str(exc)))
                    continue
                mode = st.st_mode
                if stat.S_ISDIR(mode):
                    subdirs.append(prefix + entry.name)
                    continue
                size = st.st_size if stat.S_ISREG(mode) else (
                    0 if stat.S_ISLNK(mode) else st.st_size)
                kind = "f" if stat.S_ISREG(mode) else ("l" if stat.S_ISLNK(mode) else "o")
                if kind == "l" and entry.is_dir(follow_symlinks=True):
                    kind = "L"  # pip's os.walk lists it as a directory: not a file of pip's
                acc.bytes += size
                acc.files += 1
                if rel:
                    found.append((prefix + entry.name, size, st.st_ino, st.st_mtime_ns,
                                  st.st_atime_ns, st.st_nlink, st.st_dev, kind))
        except OSError as exc:
            acc.errors.append((rel, exc.strerror or str(exc)))
    if found:
        _entries_of(bucket, found, acc.entries)
    return subdirs


def _entry(path: str, name: str, cheap: bool, files: List[EntryFile],
           used: List[EntryFile]) -> Entry:
    # only what a plan needs crosses back from the worker
    return (path, name, cheap, [f[:5] for f in files], sum(f[1] for f in files), freed(files),
            max(max(f[4], f[3]) for f in used), max(f[3] for f in used))


def _entries_of(bucket: str, found: List[EntryFile], out: List[Entry]) -> None:
    """Group one directory's files into pip's entries."""
    if bucket == "wheels":
        wheels = [f for f in found if f[0].endswith(".whl") and f[7] in ("f", "l")]
        others = [f for f in found if f not in wheels and f[7] != "L"]
        for i, w in enumerate(wheels):
            name = w[0].rsplit("/", 1)[-1].split("-")[0]
            # the last wheel of a directory takes its origin.json along, as pip does; its
            # use is the wheel's own (origin.json is written once, at build time)
            files = [w] + (others if i == len(wheels) - 1 else [])
            out.append(_entry(w[0], name, False, files, [w]))
    elif bucket == "http-v2":
        by_key: Dict[str, List[EntryFile]] = {}
        for f in found:
            if f[7] == "f":
                key = f[0][:-5] if f[0].endswith(".body") else f[0]
                by_key.setdefault(key, []).append(f)
        for key, files in by_key.items():
            if len(files) > 1:
                files.sort(key=lambda f: f[0].endswith(".body"))  # metadata first
            out.append(_entry(key, "", True, files, files))
    elif bucket == "http":
        out += [_entry(f[0], "", True, [f], [f]) for f in found if f[7] == "f"]


def _walk_subtree(args: Tuple[str, str]) -> Walk:
    root, rel = args
    acc = Walk()
    stack = [rel]
    while stack:
        stack.extend(_walk_dir(root, stack.pop(), acc))
    return acc


def walk(root: str, parallel: Optional[bool] = None) -> Walk:
    acc = Walk()
    tasks: List[str] = []
    for rel in _walk_dir(root, "", acc):
        tasks.extend(_walk_dir(root, rel, acc))
    for sub in fs.fan_out(_walk_subtree, [(root, t) for t in tasks], parallel):
        acc.entries += sub.entries
        acc.bytes += sub.bytes
        acc.files += sub.files
        acc.errors += sub.errors
    return acc


def freed(files: List[EntryFile]) -> int:
    """Bytes really freed by removing these files (see ``fs.freed_bytes``)."""
    if all(f[5] <= 1 for f in files):  # the usual case, without building records
        return sum(f[1] for f in files if f[7] in ("f", "o"))
    return fs.freed_bytes(fs.FileStat(f[0], f[1], 0, f[4], f[3], f[5], f[6], f[2], f[7])
                          for f in files)


def names_of_downloads(root: str, entries: List[Entry]) -> Dict[str, str]:
    """Entry -> package, from each downloaded body (access times put back)."""
    from cachekit.core import pip_attribution

    out = {}
    for path, _name, _cheap, files, *_figures in entries:
        body = next((f for f in files if f[0].endswith(".body")), None)
        if body is None:
            continue
        found = pip_attribution.attribute(os.path.join(root, body[0]), body[4], body[3])
        if found is not None:
            out[path] = found.name
    return out


def wire(root: str, root_id: List[int], chosen: List[Tuple[Any, str, str, int]]
         ) -> Dict[str, Any]:
    """A pip plan (the same wire format as ``remove``) whose directories are cleared at
    apply time: ``chosen`` is (entry files, rule, package, freed bytes) per entry."""
    files = []
    for entry_files, rule, package, _freed in chosen:
        files += [[f[0], f[1], f[2], f[3], rule, package] for f in entry_files]
    return {"manager": "pip", "root": root, "root_id": root_id, "matched": len(chosen),
            "freed_bytes": sum(c[3] for c in chosen), "files": files, "dirs": [],
            "clear_empty_dirs": True}

"""pip's purge as a fold over each bucket: plan it in counts, apply it by the same rule.

A purge plan that named every file would hold a record per file: 1.5 GB for a
1,000,000-file cache. So a purge walks each bucket once, depth first, deciding each
directory's fate from what lies beneath it, and keeps only counts per bucket. Apply walks
the bucket again, from the verified root (``remove.SafeRemover``: no symlink followed, no
other file system crossed), and deletes by the same rule what the plan counted.

pip 26.2+'s rule (``pip cache purge`` = ``pip cache remove '*'``): every HTTP file and
every ``*-*.whl`` goes; then each directory with no file (HTTP buckets) or no ``.whl``
(``wheels/``) left beneath it goes, with whatever else it held (``origin.json``).

"Exactly what the plan said": apply keeps every file whose inode changed after the plan
began (``st_ctime`` later than the plan's start: created, replaced, rewritten, renamed or
re-linked since), and such a file keeps its directories as an unmatched file would.
Reading a cache entry changes only its access time, not ``ctime``. The kernel stamps
``ctime`` from a clock up to one tick (1-10 ms) behind the one read here, so a file
changed within a tick after the plan began may pass as unchanged; it still goes only by
the plan's rule, inside the verified root.
"""

import fnmatch
import os
import stat
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from ... import stopping
from ...fs import remove, walk

WHEELS = "wheels"
HTTP_BUCKETS = ("http", "http-v2")
WHEEL_GLOB = "*-*.whl"  # pip's ``remove '*'``
REASONS = {"wheels": "locally built wheels (*-*.whl) and what their directories hold",
           "http": "legacy HTTP cache files", "http-v2": "HTTP cache files"}
KEPT_SAMPLE = 20  # per-file notes of an apply: the first few, then a count


class Fold:
    """What a purge of one bucket takes (or took): counts only, never a record per file."""

    def __init__(self) -> None:
        self.matched = 0  # pip's "Files removed": wheels and HTTP files
        self.files = 0
        self.bytes = 0
        self.freed = 0
        self.dirs = 0
        self.kept = 0  # apply: files left because they changed, or could not be removed
        self.notes: List[Tuple[str, str]] = []  # apply: (path, why) for the first few kept
        self.errors: List[Tuple[str, str]] = []
        self.linked: Dict[Tuple[int, int], List[int]] = {}  # (dev, ino) -> [seen, nlink, size]
        # an explicit plan (remove PATTERN, list): each file and directory it takes
        self.rows: Optional[List[Tuple[str, int, int, int, Tuple[str, str, bool, str,
                                                                str]]]] = None
        self.dir_rows: Optional[List[str]] = None
        self.counted_only = False  # ``list``: only what pip lists (wheels, bodies)

    def take(self, st: os.stat_result, kind: str, size: int) -> None:
        self.files += 1
        self.bytes += size
        if kind in ("f", "o"):
            if st.st_nlink <= 1:
                self.freed += size
            else:  # frees space only when its last link goes (see walk.freed_bytes)
                seen = self.linked.setdefault((st.st_dev, st.st_ino), [0, st.st_nlink, size])
                seen[0] += 1

    def keep(self, rel: str, why: str) -> None:
        if why in (stopping.INTERRUPTED, ""):  # Ctrl-C left it: the row says so once
            return
        self.kept += 1
        if len(self.notes) < KEPT_SAMPLE:
            self.notes.append((rel, why))

    def merge(self, other: "Fold") -> None:
        for name in ("matched", "files", "bytes", "freed", "dirs", "kept"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.notes += other.notes[:KEPT_SAMPLE - len(self.notes)]
        if self.rows is not None and other.rows is not None:
            self.rows += other.rows
        if self.dir_rows is not None and other.dir_rows is not None:
            self.dir_rows += other.dir_rows  # deeper than any the caller adds after
        self.errors += other.errors
        for key, (seen, nlink, size) in other.linked.items():
            self.linked.setdefault(key, [0, nlink, size])[0] += seen

    def freed_bytes(self) -> int:
        return self.freed + sum(size for seen, nlink, size in self.linked.values()
                                if seen >= nlink)


# A source lists a directory (relative to the root) and, when applying, deletes in it.
class _Reader:
    def __init__(self, root: str) -> None:
        self.root = root
        self.dev = os.lstat(root).st_dev

    def scandir(self, rel: str) -> Any:
        return os.scandir(os.path.join(self.root, rel))

    def unlink(self, rel: str, name: str, listed: Optional[os.stat_result] = None,
               midway: bool = False) -> Optional[str]:
        return None  # planning deletes nothing

    def stopped(self) -> bool:
        return False  # planning: Ctrl-C raises as usual

    def rmdir(self, rel: str) -> Optional[str]:
        return None


class _Remover(_Reader):
    def __init__(self, root: str, remover: remove.SafeRemover) -> None:
        self.root, self.remover, self.dev = root, remover, remover.dev

    def scandir(self, rel: str) -> Any:
        return os.scandir(self.remover.dir_fd(rel))

    def stopped(self) -> bool:
        return stopping.requested()

    def unlink(self, rel: str, name: str, listed: Optional[os.stat_result] = None,
               midway: bool = False) -> Optional[str]:
        """``midway``: the body of an HTTP entry whose metadata just went (Ctrl-C lets
        it finish); ``listed``: the file as the walk saw it, kept if it was replaced."""
        if stopping.requested() and not midway:  # an entry goes whole or not at all
            return stopping.INTERRUPTED
        try:
            fd = self.remover.dir_fd(rel)
            if listed is not None:
                now = os.lstat(name, dir_fd=fd)
                if (now.st_ino, now.st_ctime_ns) != (listed.st_ino, listed.st_ctime_ns):
                    return "changed since the plan; kept"
            os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            pass  # gone already: what the plan wanted
        except OSError as exc:
            return remove.why(exc)
        return None

    def rmdir(self, rel: str) -> Optional[str]:
        outcome = self.remover.rmdir(rel)
        return None if outcome.ok else outcome.reason


def _kind(entry: "os.DirEntry[str]", st: os.stat_result) -> Tuple[str, int]:
    """As ``walk.scan`` records it: a symlink to a directory is "L", never pip's file."""
    if stat.S_ISREG(st.st_mode):
        return "f", st.st_size
    if stat.S_ISLNK(st.st_mode):
        try:
            return ("L" if entry.is_dir(follow_symlinks=True) else "l"), 0
        except OSError:
            return "l", 0
    return "o", st.st_size


# One file of a directory being visited: name, lstat, kind, apparent bytes
Found = Tuple[str, os.stat_result, str, int]
# What a removal picks in one directory: name -> (reason, package, counted as pip counts
# it (a wheel, an HTTP entry), version, kind)
Picked = Dict[str, Tuple[str, str, bool, str, str]]
Pick = Callable[[str, str, List[Found]], Picked]


def purge_pick(bucket: str, rel: str, files: List[Found]) -> Picked:
    """``pip cache purge``: every HTTP file, every ``*-*.whl``."""
    out: Picked = {}
    for name, _st, kind, _size in files:
        if kind == "L":
            continue  # pip's os.walk lists it as a directory
        if bucket != WHEELS:
            out[name] = ("HTTP cache file", "", True, "", "http")
        elif fnmatch.fnmatch(name, WHEEL_GLOB):
            parts = name.split("-")
            out[name] = ("matched pip pattern", parts[0], True, parts[1], "wheel")
    return out


def _visit(src: _Reader, rel: str, bucket: str, acc: Fold, changed_after: Optional[int],
           progress: Optional[Callable[[str, Fold], None]], pick: Pick = purge_pick,
           done: Optional[Dict[str, bool]] = None) -> bool:
    """Fold (or sweep) ``rel`` depth first; True when something beneath keeps it.

    Recursion is as deep as the tree: pip's is five levels; a hostile one past Python's
    limit fails the host (RecursionError), having deleted nothing in a plan.

    ``done``: subdirectories already folded (by workers), with whether they stay.
    """
    keeper = False
    files: List[Found] = []
    subdirs: List[str] = []
    if src.stopped():  # Ctrl-C in an apply: what is left stays, unread
        return True
    try:
        with src.scandir(rel) as it:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    acc.errors.append((rel + "/" + entry.name, exc.strerror or str(exc)))
                    keeper = True
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if st.st_dev != src.dev:  # a mount point: never crossed
                        acc.keep(rel + "/" + entry.name, "another file system; not crossed")
                        keeper = True
                    else:
                        subdirs.append(entry.name)
                    continue
                kind, size = _kind(entry, st)
                files.append((entry.name, st, kind, size))
    except FileNotFoundError:
        return False
    except OSError as exc:  # unreadable: what it holds is unknown, so it stays
        acc.errors.append((rel, exc.strerror or str(exc)))
        return True
    for name in subdirs:
        sub = rel + "/" + name
        if done is not None and sub in done:
            keeper = done[sub] or keeper
        elif _visit(src, sub, bucket, acc, changed_after, None, pick, done):
            keeper = True
        if progress is not None:
            progress(sub, acc)
    later: List[Found] = []
    if len(files) > 1:  # an HTTP entry's metadata before its body: pip never sees half
        files.sort(key=lambda f: (f[0][:-5], True) if f[0].endswith(".body") else (f[0], False))
    picked = pick(bucket, rel, files) if files else {}
    went = ""  # the HTTP entry (metadata, then its body) whose first file just went
    for found in files:
        name, st, kind, _size = found
        if changed_after is not None and st.st_ctime_ns > changed_after:
            acc.keep(rel + "/" + name, "changed since the plan; kept")
            keeper = keeper or (kind != "L" and (bucket != WHEELS or name.endswith(".whl")))
            continue
        got = picked.get(name)
        if got is not None:
            key = name[:-5] if name.endswith(".body") else name
            if _remove(src, rel, found, acc, got, midway=key == went):
                went = key
        elif kind == "L" or (bucket == WHEELS and not name.endswith(".whl")):
            later.append(found)  # goes only with its directory (origin.json, strays)
        else:
            keeper = True  # a file the removal leaves keeps its directory (pip's rule)
    if keeper:
        return True
    for found in later:
        _remove(src, rel, found, acc, ("left in a directory pip clears", "", False, "", ""))
    why = src.rmdir(rel)
    if why is None:
        acc.dirs += 1
        if acc.dir_rows is not None:
            acc.dir_rows.append(rel)
        return False
    acc.keep(rel, why)
    return True


def _remove(src: _Reader, rel: str, found: Found, acc: Fold,
            got: Tuple[str, str, bool, str, str], midway: bool = False) -> bool:
    """Remove (or, planning, count) one file; whether it went."""
    name, st, kind, size = found
    why = src.unlink(rel, name, st, midway)
    if why is not None:
        acc.keep(rel + "/" + name, why)
        return False
    acc.take(st, kind, size)
    acc.matched += got[2]
    if acc.rows is not None and (got[2] or not acc.counted_only):
        acc.rows.append((rel + "/" + name, size, st.st_ino, st.st_mtime_ns, got))
    return True


def _fold_subtree(job: Tuple[str, str, str, Pick, Optional[bool]]) -> Tuple[str, Fold, bool]:
    root, rel, bucket, pick, counted_only = job
    acc = Fold()
    if counted_only is not None:  # an explicit plan: rows, all of them or pip's list
        acc.rows, acc.dir_rows, acc.counted_only = [], [], counted_only
    return rel, acc, _visit(_Reader(root), rel, bucket, acc, None, None, pick)


def fold_bucket(root: str, bucket: str, acc: Fold, pick: Pick,
                 parallel: Optional[bool]) -> None:
    """Fold one bucket: its subdirectories in forked workers (depth 2 of the cache, as
    ``walk.scan`` shares it out), the bucket itself decided here from their answers."""
    tasks = _subdirs(root, bucket)
    jobs = [(root, t, bucket, pick, acc.counted_only if acc.rows is not None else None)
            for t in tasks]
    done = {}
    for rel, sub, keeper in walk.fan_out(_fold_subtree, jobs, parallel):
        acc.merge(sub)
        done[rel] = keeper
    _visit(_Reader(root), bucket, bucket, acc, None, None, pick, done)


def _subdirs(root: str, rel: str) -> List[str]:
    try:
        with os.scandir(os.path.join(root, rel)) as it:
            return [rel + "/" + e.name for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []  # the fold itself reports it


def plan(root: str, parallel: Optional[bool] = None) -> Tuple[int, Dict[str, Fold]]:
    """(the plan's start, each bucket's fold) for a purge of the cache at ``root``.

    """
    started = time.time_ns()
    folds = {}
    for bucket in (WHEELS,) + HTTP_BUCKETS:
        if os.path.isdir(os.path.join(root, bucket)) and \
                not os.path.islink(os.path.join(root, bucket)):
            folds[bucket] = acc = Fold()
            fold_bucket(root, bucket, acc, purge_pick, parallel)
    return started, folds


def wire_groups(folds: Dict[str, Fold]) -> List[Dict[str, Any]]:
    """The plan's rows: one per bucket, with the counts apply will report."""
    return [{"bucket": b, "matched": f.matched, "files": f.files, "bytes": f.bytes,
             "freed": f.freed_bytes(), "dirs": f.dirs, "reason": REASONS[b]}
            for b, f in folds.items()]


def apply(remover: remove.SafeRemover, root: str, wire: Dict[str, Any],
          progress: Optional[Callable[[Dict[str, Any]], None]]) -> List[Dict[str, Any]]:
    """Carry out a purge's sweep; one row per bucket (what went, what stayed and why)."""
    src = _Remover(root, remover)
    changed_after = int(wire["sweep"]["planned_at_ns"])
    rows = []
    for group in wire["sweep"]["groups"]:
        bucket = group["bucket"]
        if bucket not in REASONS:
            continue  # checked by the caller; never a path of its own
        acc = Fold()
        before = [0, 0]  # files and bytes already reported

        def report(sub: str, acc: Fold = acc, before: List[int] = before) -> None:
            if progress is not None and sub.count("/") == 1 and acc.files > before[0]:
                progress({"path": os.path.join(root, sub), "manager": "pip",
                          "files": acc.files - before[0], "bytes": acc.bytes - before[1],
                          "ok": True, "reason": "swept", "partial": True})
                before[:] = [acc.files, acc.bytes]

        _visit(src, bucket, bucket, acc, changed_after, lambda sub, _a: report(sub))
        report(bucket + "/")  # the rest: the progress rows add up to the bucket's row
        row: Dict[str, Any] = {"path": os.path.join(root, bucket), "manager": "pip",
                               "bytes": acc.bytes,
               "files": acc.files, "dirs": acc.dirs, "freed": acc.freed_bytes(),
               "reason": group.get("reason") or REASONS[bucket], "package": "",
               "ok": not acc.errors and not [n for n in acc.notes if "kept" not in n[1]],
               "kept": acc.kept}
        if acc.kept:
            sample = "; ".join(f"{p}: {why}" for p, why in acc.notes[:3])
            row["note"] = f"{acc.kept} kept, e.g. {sample}"
        if stopping.requested() and acc.files < int(group.get("files") or 0):
            # a bucket Ctrl-C never reached is untouched (left out); one it cut short
            # says how far it got
            row["note"] = "; ".join(filter(None, [row.get("note"), (
                f"interrupted (Ctrl-C) after {acc.files:,} of {group['files']:,} planned "
                "files; the rest remain") if acc.files else stopping.INTERRUPTED]))
        if acc.errors:
            row["note"] = (row.get("note", "") + f"; {len(acc.errors)} could not be read, "
                           f"e.g. {acc.errors[0][0]}: {acc.errors[0][1]}").lstrip("; ")
        rows.append(row)
    return rows


LEGACY_SELFCHECK = "selfcheck.json"


def legacy_selfcheck(root: str) -> Tuple[List[List[Any]], int]:
    """The plan's row for pip's legacy ``selfcheck.json`` (pip 26 deletes it), if there
    is one, and the bytes its removal frees."""
    try:
        st = os.lstat(os.path.join(root, LEGACY_SELFCHECK))
    except OSError:
        return [], 0
    if not stat.S_ISREG(st.st_mode):
        return [], 0
    return [[LEGACY_SELFCHECK, st.st_size, st.st_ino, st.st_mtime_ns,
             "legacy selfcheck.json (pip 26 deletes it)", ""]], \
        st.st_size if st.st_nlink <= 1 else 0


def plan_wire(root: str, root_id: List[int]) -> Dict[str, Any]:
    """A purge plan as data: per bucket its counts, the legacy ``selfcheck.json`` by name."""
    planned_at, folds = plan(root)
    files, freed = legacy_selfcheck(root)
    linked: Dict[Tuple[int, int], List[int]] = {}  # a file linked into two buckets
    for f in folds.values():
        for key, (seen, nlink, size) in f.linked.items():
            linked.setdefault(key, [0, nlink, size])[0] += seen
        freed += f.freed
    freed += sum(size for seen, nlink, size in linked.values() if seen >= nlink)
    groups = wire_groups(folds)
    return {"manager": "pip", "root": root, "root_id": root_id,
            "matched": sum(f.matched for f in folds.values()), "freed_bytes": freed,
            "files": files, "dirs": [],
            "sweep": {"planned_at_ns": planned_at, "groups": groups},
            "unreadable": [e for f in folds.values() for e in f.errors][:KEPT_SAMPLE]}

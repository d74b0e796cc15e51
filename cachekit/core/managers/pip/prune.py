"""pip entries for ``prune``, folded by the walkers themselves.

``prune`` needs, for each entry (a built wheel with its ``origin.json``, an HTTP entry's
metadata and body, a legacy HTTP file), its size and last use, and the cache's total
size: one pass, as fast as ``info``'s, that keeps each entry as a few numbers in arrays
(a million-file cache would otherwise cost a gigabyte of records). What the policy takes
is a rule (``policy.rule_for``); listing and applying the plan walk again and apply that
rule entry by entry. Directories left empty are cleared at apply time, as pip 26.2+ does.
"""

import array
import hashlib
import os
import stat
from typing import Any, Dict, List, Optional, Tuple

from ... import policy, stopping
from ...fs import mounts, remove
from ...fs import walk as fswalk
from ...fs.descend import descend, visit_one
from ...wire import Result

# An entry file: path, size, ino, mtime_ns, atime_ns, nlink, dev, kind, ctime_ns
EntryFile = Tuple[str, int, int, int, int, int, int, str, int]
BUCKET_CODES = {"wheels": 0, "http-v2": 1, "http": 2}
BUCKET_NAMES = ("wheels", "http-v2", "http")
CHEAP = 4  # flag beside the bucket code: cheap to download again
ROW_LIMIT = 1000  # plans of up to this many entries show (and report) each one


def tie_of(path: str) -> int:
    """A stable 64-bit tie-break for entries used in the same nanosecond (LRU order)."""
    raw = path.encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


class Walk:
    """What one worker found: every entry as numbers in arrays (never an object per entry
    or per file), the bytes of every file, unreadable paths, entries a keep pattern holds.

    ``mode`` "pool" ranks; "pick" lists the entries a criterion selects; "apply" removes
    them (serially, through a ``remove.SafeRemover``).
    """

    def __init__(self, root: str = "", clock: str = "atime", keep: Optional[List[str]] = None,
                 mode: str = "pool", criterion: Optional[Dict[str, Any]] = None,
                 stat_dirs: bool = True) -> None:
        self.root, self.clock, self.keep, self.mode = root, clock, keep or [], mode
        # False: nothing is mounted below the root, so a directory's st_dev needs no
        # check and its type comes from the listing (never when applying)
        self.stat_dirs = stat_dirs or mode == "apply"
        self.criterion = criterion or {}
        try:  # a directory on another file system (a mount point) is never entered
            self.dev: Optional[int] = os.lstat(root).st_dev if root else None
        except OSError:
            self.dev = None
        self.last = array.array("q")
        self.size = array.array("q")
        self.freed = array.array("q")
        self.tie = array.array("Q")
        self.flags = array.array("B")
        self.bytes = 0
        self.files = 0
        self.errors: List[Tuple[str, str]] = []
        self.kept: List[Tuple[str, str]] = []  # (entry, pattern), the first ROW_LIMIT
        self.kept_count = 0
        self.picked: List[Tuple[int, str, str, str, int, int, List[EntryFile]]] = []
        self.remover: Any = None
        self.done: Dict[str, List[int]] = {}  # apply: rule -> [entries, bytes, freed, kept]
        self.rows: List[Dict[str, Any]] = []
        self.progress: Any = None
        self.removed_here = False

    def entry(self, bucket: str, path: str, name: str, cheap: bool, files: List[EntryFile],
              used: List[EntryFile]) -> None:
        # a symlink's access time moves whenever a walk follows it: its mtime counts
        last = max(max(f[4], f[3]) if f[7] not in ("l", "L") else f[3] for f in used) \
            if self.clock == "atime" else max(f[3] for f in used)
        if self.keep or self.mode != "pool":
            if not name and bucket == "http-v2" and self.keep:
                name = _name_of_download(self.root, files)
            if self.keep:
                pattern = policy.kept_by_name(name, path, self.keep)
                if pattern is not None:
                    if self.mode == "pool":
                        self.kept_count += 1
                        if len(self.kept) < ROW_LIMIT:
                            self.kept.append((path, pattern))
                    return
        size, free = sum(f[1] for f in files), freed(files)
        if self.mode == "pool":
            self.last.append(last)
            self.size.append(size)
            self.freed.append(free)
            self.tie.append(tie_of(path))
            self.flags.append(BUCKET_CODES[bucket] | (CHEAP if cheap else 0))
            return
        rule = policy.rule_for(self.criterion, last, tie_of(path), cheap)
        if rule is None:
            return
        if self.mode == "pick":
            self.picked.append((last, path, name, rule, size, free, []))
            return
        self._remove(path, name, rule, size, free, files)

    def _remove(self, path: str, name: str, rule: str, size: int, free: int,
                files: List[EntryFile]) -> None:
        tally = self.done.setdefault(rule, [0, 0, 0, 0])
        if any(f[8] > int(self.criterion["planned_at_ns"]) for f in files):
            tally[3] += 1  # changed since the plan: kept whole
            if self.criterion.get("rows"):
                self.rows.append({"path": os.path.join(self.root, path), "manager": "pip",
                                  "bytes": size, "reason": rule, "package": name, "ok": False,
                                  "note": "changed since the plan; kept"})
            return
        if stopping.requested():  # Ctrl-C: this entry stays whole
            tally[3] += 1
            return
        all_ok = True
        for i, f in enumerate(files):
            outcome = self.remover.unlink(f[0], expect=(f[2], f[3]), midway=i > 0)
            all_ok = all_ok and outcome.ok
            if outcome.ok:
                self.removed_here = True
            if self.criterion.get("rows"):
                row = {"path": os.path.join(self.root, f[0]), "manager": "pip",
                       "bytes": f[1], "reason": rule, "package": name, "ok": outcome.ok}
                if outcome.reason:
                    row["note"] = outcome.reason
                self.rows.append(row)
                if self.progress is not None:
                    self.progress(row)
        if all_ok:
            tally[0] += 1
            tally[1] += size
            tally[2] += free
        else:
            tally[3] += 1

    def merge(self, other: "Walk") -> None:
        for mine, theirs in ((self.last, other.last), (self.size, other.size),
                             (self.freed, other.freed), (self.tie, other.tie),
                             (self.flags, other.flags)):
            mine.extend(theirs)
        self.bytes += other.bytes
        self.files += other.files
        self.errors += other.errors
        self.kept += other.kept[:ROW_LIMIT - len(self.kept)]
        self.kept_count += other.kept_count
        self.picked += other.picked

    def __getstate__(self) -> Dict[str, Any]:  # what crosses back from a worker
        return {k: v for k, v in self.__dict__.items() if k not in ("remover", "progress")}


def _name_of_download(root: str, files: List[EntryFile]) -> str:
    """The package a downloaded body names, or "".

    Read with ``O_NOATIME`` where this user may: putting the access time back would
    change the body's ``ctime``, and apply keeps whatever changed after the plan began.
    """
    from . import attribution as pip_attribution

    body = next((f for f in files if f[0].endswith(".body")), None)
    if body is None:
        return ""
    path = os.path.join(root, body[0])
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NOATIME", 0))
    except OSError:  # not this user's file: read it as usual, its access time put back
        found = pip_attribution.attribute(path, body[4], body[3])
        return found.name if found is not None else ""
    with os.fdopen(fd, "rb") as fh:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return ""
            found = pip_attribution._sniff(fh)  # what ``attribute`` reads, without a restore
        except Exception:  # a body that does not parse is simply unattributed
            return ""
    return found.name if found is not None else ""


def _walk_dir(where: Any, rel: str, acc: Walk) -> List[str]:
    """Fold one directory's files into ``acc`` as pip's entries; return its subdirectories.

    ``where``: the directory's open descriptor or path (``descend``), ignored when
    applying: then every level is opened through the remover, never following a link.
    """
    bucket = rel.split("/", 1)[0]
    prefix = rel + "/" if rel else ""
    subdirs: List[str] = []
    found: List[EntryFile] = []
    S_ISDIR, S_ISREG, S_ISLNK = stat.S_ISDIR, stat.S_ISREG, stat.S_ISLNK
    nbytes = 0
    stat_dirs = acc.stat_dirs
    try:
        if acc.remover is not None and rel:
            it = os.scandir(acc.remover.dir_fd(rel))
        else:
            it = os.scandir(where)
    except FileNotFoundError:
        return subdirs
    except OSError as exc:
        acc.errors.append((rel, exc.strerror or str(exc)))
        return subdirs
    with it:
        try:
            for entry in it:
                try:
                    if not stat_dirs and entry.is_dir(follow_symlinks=False):
                        subdirs.append(prefix + entry.name)
                        continue
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    acc.errors.append((prefix + entry.name, exc.strerror or str(exc)))
                    continue
                mode = st.st_mode
                if S_ISREG(mode):
                    size, kind = st.st_size, "f"
                elif S_ISDIR(mode):
                    if acc.dev is not None and st.st_dev != acc.dev:
                        acc.errors.append((prefix + entry.name,
                                           "another file system; not crossed"))
                    else:
                        subdirs.append(prefix + entry.name)
                    continue
                elif S_ISLNK(mode):
                    # pip's os.walk lists a link to a directory as a directory: not a file
                    size, kind = 0, "L" if entry.is_dir(follow_symlinks=True) else "l"
                else:
                    size, kind = st.st_size, "o"
                found.append((prefix + entry.name, size, st.st_ino, st.st_mtime_ns,
                              st.st_atime_ns, st.st_nlink, st.st_dev, kind, st.st_ctime_ns))
                nbytes += size
        except OSError as exc:
            acc.errors.append((rel, exc.strerror or str(exc)))
    acc.files += len(found)
    acc.bytes += nbytes
    if not found or not rel:  # files at the root are nobody's entries
        return subdirs
    if acc.mode == "pool" and not acc.keep and bucket in ("http-v2", "http"):
        _rank_downloads(bucket, found, acc)
    else:
        _entries_of(bucket, found, acc)
    return subdirs


def _rank_downloads(bucket: str, found: List[EntryFile], out: Walk) -> None:
    """``_entries_of`` then ``Walk.entry`` for the ranking walk's HTTP entries, their
    numbers straight into the arrays: a million-file cache holds half a million of them,
    and a call or two per entry was a sixth of the prune plan's CPU."""
    groups: Dict[str, List[EntryFile]] = {}
    for f in found:
        if f[7] == "f":  # HTTP entries are regular files; anything else is nobody's
            path = f[0]
            key = path[:-5] if bucket == "http-v2" and path.endswith(".body") else path
            group = groups.get(key)
            if group is None:
                groups[key] = [f]
            else:
                group.append(f)
    atime = out.clock == "atime"
    flags = BUCKET_CODES[bucket] | CHEAP
    for key, files in groups.items():
        last = -(1 << 63)  # times before 1970 are negative
        size = 0
        linked = False
        for f in files:
            used = f[4] if atime and f[4] > f[3] else f[3]
            if used > last:
                last = used
            size += f[1]
            linked = linked or f[5] > 1
        out.last.append(last)
        out.size.append(size)
        out.freed.append(freed(files) if linked else size)
        out.tie.append(tie_of(key))
        out.flags.append(flags)


def _entries_of(bucket: str, found: List[EntryFile], out: Walk) -> None:
    """Group one directory's files into pip's entries."""
    if bucket == "wheels":
        wheels = [f for f in found if f[0].endswith(".whl") and f[7] in ("f", "l")]
        others = [f for f in found if f not in wheels and f[7] != "L"]
        for i, w in enumerate(wheels):
            name = w[0].rsplit("/", 1)[-1].split("-")[0]
            # the last wheel of a directory takes its origin.json along, as pip does; its
            # use is the wheel's own (origin.json is written once, at build time)
            files = [w] + (others if i == len(wheels) - 1 else [])
            out.entry(bucket, w[0], name, False, files, [w])
    elif bucket == "http-v2":
        by_key: Dict[str, List[EntryFile]] = {}
        for f in found:
            if f[7] == "f":
                key = f[0][:-5] if f[0].endswith(".body") else f[0]
                by_key.setdefault(key, []).append(f)
        for key, files in by_key.items():
            if len(files) > 1:
                files.sort(key=lambda f: f[0].endswith(".body"))  # metadata first
            out.entry(bucket, key, "", True, files, files)
    elif bucket == "http":
        for f in found:
            if f[7] == "f":
                out.entry(bucket, f[0], "", True, [f], [f])


def _walk_subtree(args: Tuple[str, str, Dict[str, Any]]) -> Walk:
    root, rel, how = args
    acc = Walk(root, **how)
    descend(root, rel, lambda where, sub: _walk_dir(where, sub, acc), acc.errors)
    return acc


def walk(root: str, clock: str = "atime", keep: Optional[List[str]] = None,
         mode: str = "pool", criterion: Optional[Dict[str, Any]] = None,
         parallel: Optional[bool] = None) -> Walk:
    """Every pip entry under ``root``, folded by ``mode`` (see ``Walk``)."""
    # a plan's walk stats directories only to see mount points; with none below the root
    # (the mount table says so), it lists them by type alone: a tenth fewer system calls
    how: Dict[str, Any] = {"clock": clock, "keep": keep, "mode": mode, "criterion": criterion,
                           "stat_dirs": mounts.mounted_below(root) is not False}
    acc = Walk(root, **how)
    tasks: List[str] = []
    def list_dir(rel: str) -> List[str]:
        return visit_one(root, rel, lambda where, sub: _walk_dir(where, sub, acc), acc.errors)

    for rel in list_dir(""):
        tasks.extend(list_dir(rel))
    for sub in fswalk.fan_out(_walk_subtree, [(root, t, how) for t in tasks], parallel):
        acc.merge(sub)
    return acc


def freed(files: List[EntryFile]) -> int:
    """Bytes really freed by removing these files (see ``fswalk.freed_bytes``)."""
    if all(f[5] <= 1 for f in files):  # the usual case, without building records
        return sum(f[1] for f in files if f[7] in ("f", "o"))
    return fswalk.freed_bytes(fswalk.FileStat(f[0], f[1], 0, f[4], f[3], f[5], f[6], f[2], f[7])
                          for f in files)


def pick_rows(root: str, clock: str, keep: List[str], criterion: Dict[str, Any]
              ) -> List[Tuple[int, str, str, str, int, int, List[EntryFile]]]:
    """The entries a (small) plan's criterion selects: (last use, path, package, rule,
    bytes, freed, [])."""
    return walk(root, clock, keep, "pick", criterion).picked


def apply(remover: remove.SafeRemover, root: str, wire: Dict[str, Any], result: Result,
          progress: Any) -> int:
    """Remove what a prune plan's criterion selects, entry by entry, and the directories
    that leaves empty (as pip 26.2+ does); return the bytes freed."""
    crit = wire["prune"]
    acc = Walk(root, crit["clock"], crit.get("keep") or [], "apply", crit)
    acc.remover, acc.progress = remover, progress
    cleared = [0]  # a large plan counts the directories it clears, rather than naming them
    told = [0, 0]  # entries and bytes a large plan's progress has reported so far

    def tell(rel: str) -> None:
        """A large plan's progress: what went since the last report (the progress line,
        and what a controller that loses the connection knows was removed)."""
        n = sum(t[0] for t in acc.done.values())
        size = sum(t[1] for t in acc.done.values())
        if progress is not None and not crit.get("rows") and n > told[0]:
            progress({"path": os.path.join(root, rel), "manager": "pip", "entries": n - told[0],
                      "bytes": size - told[1], "ok": True, "reason": "pruned", "partial": True})
        told[:] = [n, size]

    def visit(rel: str) -> bool:
        if stopping.requested():  # Ctrl-C: the rest stays, unread
            return False
        acc.removed_here = False
        subdirs = _walk_dir(root, rel, acc)  # ``root`` serves only the root itself
        removed = acc.removed_here
        for sub in subdirs:
            removed = visit(sub) or removed
            if sub.count("/") == 1:
                tell(sub)
        # never a bucket itself; rmdir keeps a directory that still holds anything
        if removed and rel.count("/") >= 1 and remover.rmdir(rel).ok:
            if crit.get("rows"):
                result["dirs_removed"].append(os.path.join(root, rel))
            cleared[0] += 1
        return removed

    for bucket in BUCKET_NAMES:
        try:  # a bucket swapped for a symlink is not followed
            is_dir = stat.S_ISDIR(os.lstat(os.path.join(root, bucket)).st_mode)
        except OSError:
            is_dir = False
        if is_dir:
            visit(bucket)
            tell(bucket)
    if crit.get("rows"):
        result["removed"] += acc.rows
    else:
        stopped = stopping.requested()
        for rule, (n, size, free, kept) in sorted(acc.done.items()):
            row = {"path": root, "manager": "pip", "entry": f"{n} entries", "entries": n,
                   "bytes": size, "freed": free, "reason": rule, "package": "",
                   "ok": True, "kind": "entries", "dirs_cleared": cleared[0]}
            cleared[0] = 0  # counted once, on the first row
            if kept and not stopped:
                row["note"] = f"{kept} entries changed since the plan or could not be " \
                    "removed; kept"
            elif stopped:
                row["note"] = (f"interrupted (Ctrl-C) after {n:,} entries; the rest remain"
                               if n else stopping.INTERRUPTED)
            result["removed"].append(row)
        if stopped and not acc.done:  # Ctrl-C before the first entry: nothing went
            result["removed"].append({"path": root, "manager": "pip", "entries": 0,
                                      "bytes": 0, "freed": 0, "reason": "pruned",
                                      "ok": False, "note": stopping.INTERRUPTED})
    return sum(t[2] for t in acc.done.values())


def wire(root: str, root_id: List[int], criterion: Dict[str, Any], matched: int,
         freed_bytes: int) -> Dict[str, Any]:
    """A pip prune plan: the rule that selects its entries, checked again at apply."""
    return {"manager": "pip", "root": root, "root_id": root_id, "matched": matched,
            "freed_bytes": freed_bytes, "files": [], "dirs": [], "prune": criterion}

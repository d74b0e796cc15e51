"""Carry out a PDM plan from a verified root: the planned files, the swept buckets, the
unused packages. Every row goes through ``run.report``; only this module deletes.

``recognise`` checks the whole plan before the first removal: the same root (path and
inode), files only inside PDM's file buckets, sweeps only of those buckets, packages only
``packages/<wheel>.cache``. A package is checked again just before it goes: still the
directory planned, not being unpacked (PDM's ``.lock`` is free), and still used by no
installation (its ``.referrers`` and hard links read again).
"""

import contextlib
import os
import stat
from typing import Any, Iterator, List, Optional, Tuple

from ... import Refused, stopping
from ...fs import remove as fsremove
from ...fs import walk
from ...wire import Run
from . import cache as pdmcache
from .plan import PdmPlan, rows


def recognise(plan: Any, root: str, root_id: List[int]) -> None:
    """Refuse a plan for another root, or naming anything but PDM's own entries."""
    if os.path.normpath(str(plan.get("root", ""))) != root or \
            list(plan.get("root_id") or []) != list(root_id):
        raise Refused(f"the plan names {plan.get('root')!r}, which is not this host's PDM "
                      f"cache {root!r}; plan again")
    if not isinstance(plan.get("planned_at_ns"), int):
        raise Refused("the PDM plan gives no time it was planned; plan again")
    for key in ("files", "sweeps", "packages"):
        if not isinstance(plan.get(key), list):
            raise Refused(f"the PDM plan has no {key} list; plan again")
    for row in plan["files"]:
        rel = row[0] if isinstance(row, list) and len(row) == 6 else None
        if not isinstance(rel, str) or rel.split("/", 1)[0] not in pdmcache.FILE_BUCKETS \
                or "/" not in rel:
            raise Refused(f"the plan names {rel!r}, which is not a file of a PDM bucket")
        _inside(rel)
    for sweep in plan["sweeps"]:
        if not isinstance(sweep, dict) or sweep.get("bucket") not in pdmcache.FILE_BUCKETS:
            raise Refused("the plan sweeps something that is not a PDM bucket; plan again")
    for row in plan["packages"]:
        rel = row[0] if isinstance(row, list) and len(row) == 8 else None
        parts = rel.split("/") if isinstance(rel, str) else []
        if len(parts) != 2 or parts[0] != pdmcache.PACKAGES or \
                not parts[1].endswith(pdmcache.PACKAGE_SUFFIX) or not isinstance(row[2], int):
            raise Refused(f"the plan names {rel!r}, which is not a PDM package directory")
        _inside(str(rel))


def _inside(rel: str) -> None:
    try:
        fsremove.split_rel(rel)
    except ValueError:
        raise Refused(f"the plan names {rel!r}, which is not a path inside the cache"
                      ) from None


def execute(run: Run, plan: PdmPlan, root: str) -> None:
    """Remove exactly what the plan names, as it is now; report every row."""
    recognise(plan, root, plan["root_id"])
    shown = rows(plan)
    n_files, n_sweeps = len(plan["files"]), len(plan["sweeps"])
    freed: List[walk.FileStat] = []
    with fsremove.SafeRemover(root, expect=(plan["root_id"][0], plan["root_id"][1])) as rm:
        for (rel, _size, ino, mtime_ns, _reason, _pkg), row in zip(plan["files"], shown):
            outcome = rm.unlink(rel, expect=(ino, mtime_ns))
            row["ok"] = outcome.ok
            if outcome.reason:
                row["note"] = outcome.reason
            if outcome.ok and outcome.stat is not None:
                freed.append(outcome.stat)
            run.report(row)
        for sweep, row in zip(plan["sweeps"], shown[n_files:]):
            removed, kept = _sweep(rm, sweep["bucket"], plan["planned_at_ns"])
            freed += removed
            row.update(ok=not kept, files=len(removed), bytes=sum(f.size for f in removed),
                       freed=walk.freed_bytes(removed))
            if kept:
                row["note"] = f"{len(kept)} kept, e.g. {kept[0][0]}: {kept[0][1]}"
            run.report(row)
        for item, row in zip(plan["packages"], shown[n_files + n_sweeps:]):
            removed, why = _package(rm, root, item[0], item[2])
            freed += removed
            row["ok"] = not why
            if why:
                row["note"] = why
            run.report(row)
    run.result["reclaimed_bytes"] += walk.freed_bytes(freed)


def _sweep(rm: fsremove.SafeRemover, bucket: str, planned_at_ns: int
           ) -> Tuple[List[walk.FileStat], List[Tuple[str, str]]]:
    """Unlink every file under ``bucket`` (never a directory, as ``pdm cache clear``) that
    has not changed since the plan began; (removed, kept with why)."""
    removed: List[walk.FileStat] = []
    kept: List[Tuple[str, str]] = []
    stack = [bucket]
    while stack:
        rel = stack.pop()
        if stopping.requested():
            kept.append((rel, stopping.INTERRUPTED))
            break
        try:
            fd = rm.dir_fd(rel)
            with os.scandir(fd) as it:
                names = [e.name for e in it]
        except FileNotFoundError:
            continue
        except OSError as exc:
            kept.append((rel, fsremove.why(exc)))
            continue
        for name in names:
            sub = rel + "/" + name
            try:
                st = os.lstat(name, dir_fd=rm.dir_fd(rel))
            except FileNotFoundError:
                continue
            except OSError as exc:
                kept.append((sub, fsremove.why(exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                if st.st_dev == rm.dev:
                    stack.append(sub)
                else:
                    kept.append((sub, "another file system; not crossed"))
                continue
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                continue  # a socket or FIFO: pdm leaves it too
            if st.st_ctime_ns > planned_at_ns:
                kept.append((sub, "changed since the plan; kept"))
                continue
            outcome = rm.unlink(sub, expect=(st.st_ino, st.st_mtime_ns), midway=True)
            if outcome.ok and outcome.stat is not None:
                removed.append(outcome.stat)
            elif not outcome.ok:
                kept.append((sub, outcome.reason))
    return removed, kept


def _package(rm: fsremove.SafeRemover, root: str, rel: str, ino: int
             ) -> Tuple[List[walk.FileStat], Optional[str]]:
    """Remove one package directory if it is still the one planned and still unused."""
    name = rel.split("/", 1)[1]
    try:
        st = os.lstat(name, dir_fd=rm.dir_fd(pdmcache.PACKAGES))
    except FileNotFoundError:
        return [], None
    except OSError as exc:
        return [], fsremove.why(exc)
    if not stat.S_ISDIR(st.st_mode) or st.st_ino != ino:
        return [], "replaced since the plan; kept"
    from ...fs import lock

    try:
        with _package_lock(rm, rel):
            found = pdmcache.scan_packages(root, only={name})
            if not found:
                return [], None
            pkg, _files = found[0]
            why = pdmcache.in_use_reason(pkg)
            if why:
                return [], f"{why}; kept"
            removed, problems = rm.remove_tree(rel)
    except lock.Busy:
        return [], "PDM is unpacking it (its .lock is held); kept"
    if problems:
        return removed, f"not all removed: {problems[0][0]}: {problems[0][1]}"
    return removed, None


@contextlib.contextmanager
def _package_lock(rm: fsremove.SafeRemover, rel: str) -> Iterator[None]:
    """Hold PDM's lock on a package (``filelock`` on its ``.lock``) while it is removed;
    ``lock.Busy`` while PDM holds it. A package without a ``.lock`` has none to hold; a
    ``.lock`` that is not a regular file is never opened (no symlink is followed)."""
    from ...fs import lock

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(lock.exclusive(".lock", create=False, dir_fd=rm.dir_fd(rel)))
        except FileNotFoundError:
            pass  # the package is gone: nothing to hold
        except OSError as exc:
            raise lock.Busy(f"{rel}/.lock: {fsremove.why(exc)}") from None
        yield

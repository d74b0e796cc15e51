"""Carry out a Poetry plan: each planned path, through one ``SafeRemover`` on the cache dir.

``recognise`` checks the whole plan before the first removal: the same cache dir (path
and inode), and only paths under ``cache/repositories/<repo>/`` or an artifact
directory (never ``virtualenvs/``, ``src/`` or anything else). A path that changed since the plan
(another inode, a newer file) is kept. Directories a removal leaves empty are cleared up
to the repository or ``artifacts/``, which stay.
"""

import os
from typing import Any, Dict, List

from ... import Refused
from ...fs import remove as fsremove
from ...fs import walk
from ...wire import Run
from .cache import ARTIFACT_DIR
from .plan import PoetryPlan, rows


def _allowed(rel: Any) -> bool:
    """A path a Poetry plan may name: inside one repository, or an artifact directory
    (``artifacts/<2>/<2>/<2>/<58 hex>``) or inside one."""
    if not isinstance(rel, str):
        return False
    try:
        parts = fsremove.split_rel(rel)
    except ValueError:
        return False
    if parts[:2] == ["cache", "repositories"]:
        return len(parts) >= 3
    return parts[0] == "artifacts" and bool(ARTIFACT_DIR.match("/".join(parts[:5])))


def recognise(plan: PoetryPlan, root: str, root_id: List[int]) -> None:
    if plan.get("root") != root or list(plan.get("root_id") or []) != list(root_id):
        raise Refused(f"the plan names {plan.get('root')!r}, which is not this host's Poetry "
                      f"cache dir {root!r}; plan again")
    items = plan.get("items")
    if not isinstance(items, list):
        raise Refused("the Poetry plan names no items; plan again")
    for item in items:
        if not (isinstance(item, list) and len(item) == 9 and item[1] in ("file", "tree")
                and isinstance(item[2], int) and isinstance(item[3], int)):
            raise Refused("the Poetry plan has an item of another shape; plan again")
        if not _allowed(item[0]):
            raise Refused(f"the plan names {item[0]!r}, which is not in a Poetry repository "
                          "cache or an artifact directory (virtualenvs and src are never touched)")


def _tidy(remover: fsremove.SafeRemover, rel: str) -> None:
    """rmdir the parents a removal left empty, up to the repository or ``artifacts``."""
    parts = rel.split("/")
    floor = 3 if parts[0] == "cache" else 1
    for depth in range(len(parts) - 1, floor, -1):
        if not remover.rmdir("/".join(parts[:depth])).ok:
            break


def execute(plan: PoetryPlan, run: Run) -> None:
    root = plan["root"]
    shown = {r["path"]: r for r in rows(plan)}
    state: Dict[str, List[Any]] = {}  # group -> [all ok, notes]
    freed: List[walk.FileStat] = []
    with fsremove.SafeRemover(root, expect=(plan["root_id"][0], plan["root_id"][1])) as rm:
        for rel, what, ino, mtime_ns, _size, _freed, _reason, _package, group in plan["items"]:
            got = state.setdefault(group, [True, []])
            try:  # reached from the root, never through a symlink swapped in since
                parent, _, leaf = rel.rpartition("/")
                st = os.lstat(leaf, dir_fd=rm.dir_fd(parent))
            except FileNotFoundError:
                got[1].append("already gone")
                continue
            except OSError as exc:
                got[0] = False
                got[1].append(fsremove.why(exc))
                continue
            if what == "file":
                outcome = rm.unlink(rel, expect=(ino, mtime_ns))
                if outcome.ok and outcome.stat is not None:
                    freed.append(outcome.stat)
                ok, note = outcome.ok, outcome.reason
            elif st.st_ino != ino:
                ok, note = False, "replaced since the plan; kept"
            else:
                removed, problems = rm.remove_tree(rel)
                freed += removed
                ok = not problems
                note = f"not all removed: {problems[0][0]}: {problems[0][1]}" if problems else ""
            got[0] = got[0] and ok
            if note and note not in got[1]:
                got[1].append(note)
            if ok:
                _tidy(rm, rel)
    for group, (ok, notes) in state.items():
        row = dict(shown[os.path.join(root, group)], ok=ok)
        if notes:
            row["note"] = "; ".join(notes)
        run.report(row)
    run.result["reclaimed_bytes"] += walk.freed_bytes(freed)

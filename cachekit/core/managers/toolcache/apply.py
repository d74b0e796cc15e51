"""Remove planned tool installs: each install (its marker first), then versions and
tools left empty. Every row, kept or removed, goes through ``run.report``."""

import os
from typing import Any, List

from ... import Refused
from ...fs import remove, walk
from ...wire import Run
from .cache import rows


def recognise(wire: Any, root: str) -> None:
    """Refuse a plan for another root (path or inode), or naming anything but
    TOOL/VERSION/ARCH rows: all of it before the first removal of any plan."""
    if os.path.realpath(wire.get("root", "")) != os.path.realpath(root):
        raise Refused("the plan names a tool cache that is not this host's; plan again")
    st = os.lstat(root)
    if wire.get("root_id") != [st.st_dev, st.st_ino]:
        raise Refused("the plan names a tool cache that was replaced since; plan again")
    items = wire.get("items")
    if not isinstance(items, list):
        raise Refused("the tool cache plan names no items; plan again")
    for item in items:
        if not (isinstance(item, list) and len(item) == 5 and isinstance(item[2], int)):
            raise Refused("the tool cache plan has an item of another shape; plan again")
        entry = item[0]
        parts = entry.split("/") if isinstance(entry, str) else []
        if len(parts) != 3 or any(p in ("", ".", "..") for p in parts):
            raise Refused(f"the plan names {entry!r}, which is not TOOL/VERSION/ARCH")


def execute(run: Run, wire: Any, root: str) -> None:
    recognise(wire, root)
    freed: List[walk.FileStat] = []
    with remove.SafeRemover(root, expect=tuple(wire["root_id"])) as remover:
        for (entry, _size, ino, _rule, _complete), row in zip(wire["items"], rows(wire)):
            try:
                st = os.lstat(os.path.join(root, entry))
            except FileNotFoundError:
                row.update(ok=True, note="already gone")
                run.report(row)
                continue
            if st.st_ino != ino:
                row.update(ok=False, note="replaced since the plan; kept")
                run.report(row)
                continue
            marker = remover.unlink(entry + ".complete")  # first: an install half-removed
            removed, problems = remover.remove_tree(entry)  # never looks complete
            freed += removed
            row["ok"] = not problems and marker.ok
            if problems:
                row["note"] = f"not all removed: {problems[0][0]}: {problems[0][1]}"
            run.report(row)
            parts = entry.split("/")
            for parent in ("/".join(parts[:2]), parts[0]):
                if not remover.rmdir(parent).ok:
                    break
    run.result["reclaimed_bytes"] += walk.freed_bytes(freed)

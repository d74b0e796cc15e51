"""Carry out a conda plan made earlier: recognise it, re-check each entry, remove.

A plan is applied only after its root is found again among this host's caches (or
prefixes, for temp and trash files) with the same identity, and each package re-checked:
one that an environment started to use, or whose files gained a hard link, since the plan
was made is kept.
"""

import os
import stat
from typing import Dict, List, Tuple

from ... import Refused, safety
from ...fs import remove as fsremove
from ...fs import walk
from ...wire import Run
from ..conda_format import Usage
from . import cache as condacache
from . import location
from .clean import Item, package_verdict
from .loose import LOOSE, known_tops
from .plans import CondaPlan, users, wire_rows


def refuse_root(wire: CondaPlan, loc: location.CondaLocation, environ: Dict[str, str]) -> None:
    """safety's refusal of a recognised plan's root, naming the setting that chose it."""
    setting = next((c.source for c in loc.caches if os.path.realpath(c.path)
                    == wire["root"]), "") if wire["kind"] == "pkgs" else ""
    safety.refuse("conda", wire["root"], environ, "apply a plan to", setting or safety.PLAN,
                  kind=wire["kind"])


PKGS_KINDS = ("tarball", "partial", "index_cache", "package", "logfile", "trash_file",
              "trash_dir", "pkgs_entry", "lock")


def recognise(wire: CondaPlan, loc: location.CondaLocation) -> None:
    """Refuse a plan that is malformed, or names anything but a cache or prefix found here."""
    root = wire.get("root")
    kind = wire.get("kind")
    items = wire.get("items")
    if not isinstance(root, str) or kind not in ("pkgs",) + tuple(LOOSE) or \
            not isinstance(items, list) or root != os.path.realpath(root):
        raise Refused("the conda plan is malformed; plan again")
    if kind == "pkgs":
        ok = [os.path.realpath(c.path) for c in loc.caches
              if c.writable and c.exists and c.configured]
        inside = False
    else:
        ok = known_tops(loc)
        inside = any(root.startswith(k.rstrip("/") + "/") for k in ok)
    if root not in ok and not inside:
        raise Refused(f"the plan names {root!r}, which is not a conda cache or prefix cachekit "
                      "recognises here; plan again")
    try:
        st = os.lstat(root)
    except OSError:
        raise Refused(f"{root} is gone since the plan; plan again") from None
    if [st.st_dev, st.st_ino] != list(wire.get("root_id") or []):
        raise Refused(f"{root} was replaced since the plan; plan again")
    allowed = PKGS_KINDS if kind == "pkgs" else (kind,)
    for raw in items:
        if not isinstance(raw, list) or len(raw) != len(Item._fields) or \
                not isinstance(raw[0], str) or raw[1] not in allowed:
            raise Refused(f"the conda plan holds an entry cachekit did not plan: {raw!r}")
        item = Item(*raw)
        if not item.rel or any(p in ("", ".", "..") for p in item.rel.split("/")):
            raise Refused(f"the plan names {item.rel!r}, which is not inside {root}")
        if kind in LOOSE and not item.rel.endswith(LOOSE[kind][0]):
            raise Refused(f"the plan names {item.rel!r}, which is not a {kind} file")


def _still_unused(root: str, item: Item, usage: Usage) -> Tuple[bool, str]:
    listing = condacache.Listing(root, [], [])
    entry = condacache.Entry(item.rel, "package", 0, 1, item.ino, item.mtime_ns)
    stats = {item.rel: condacache.walk_dir(root, item.rel)}
    return package_verdict(listing, entry, stats, usage)


def execute(wire: CondaPlan, run: Run, usage: Usage) -> None:
    """Remove exactly the planned entries, each only if it is still what was planned.

    ``usage`` is read afresh by the caller: a package an environment started to use since
    the plan was shown stays, and so does a whole cache (``--force-pkgs-dirs``) one of
    whose packages an environment started to use.
    """
    root = wire["root"]
    rows = wire_rows(wire)
    if wire.get("remove_root") and not wire.get("break_environments"):
        listing = condacache.list_cache(root)
        using = usage.envs_using(root, [e.rel for e in listing.of("package")])
        if using:
            for row in rows:
                row.update(ok=False, note=f"kept: environments now use this cache: "
                                          f"{users(using)}")
                run.report(row)
            return
    freed: List[walk.FileStat] = []
    dev, ino = wire["root_id"]
    try:
        remover = fsremove.SafeRemover(root, expect=(dev, ino))
    except (OSError, fsremove.RootError) as exc:
        for row in rows:
            row.update(ok=False, note=f"kept: {root} cannot be opened: {exc}")
            run.report(row)
        return
    with remover:
        for item, row in zip((Item(*raw) for raw in wire["items"]), rows):
            note = _blocker(root, item, usage)
            if note:
                row.update(ok=False, note=note)
                run.report(row)
                continue
            if item.is_dir:
                removed, problems = remover.remove_tree(item.rel)
            else:
                outcome = remover.unlink(item.rel, expect=(item.ino, item.mtime_ns))
                removed = [outcome.stat] if outcome.ok and outcome.stat else []
                problems = [] if outcome.ok else [(item.rel, outcome.reason)]
                note = outcome.reason if outcome.ok else ""
            freed += removed
            row["ok"] = not problems
            if problems:
                note = f"not all removed: {problems[0][0]}: {problems[0][1]}"
            if note:
                row["note"] = note
            run.report(row)
    if wire.get("remove_root"):
        try:
            os.rmdir(root)
        except OSError as exc:
            run.warn(f"conda: kept {root}: {exc.strerror}")
    run.result["reclaimed_bytes"] += walk.freed_bytes(freed)


def _blocker(root: str, item: Item, usage: Usage) -> str:
    """Why a planned entry must stay now (empty: go ahead)."""
    if item.kind == "lock":
        held = condacache.lock_held(os.path.join(root, item.rel))
        return "kept: a running process now holds this lock" if held else ""
    if not item.is_dir:
        return ""
    try:
        st = os.lstat(os.path.join(root, item.rel))
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"kept: {exc.strerror}"
    if not stat.S_ISDIR(st.st_mode) or st.st_ino != item.ino:
        return "kept: replaced since the plan"
    if item.kind == "package":
        removable, why = _still_unused(root, item, usage)
        if not removable:
            return f"kept: now {why}"
    return ""

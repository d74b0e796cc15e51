"""``relocate``: write where a manager keeps its cache into the file it reads for every
process of the user, and (``--move``) move the cache's content there.

Each manager's ``Settings`` says which file and how to edit it (pip: ``[global]
cache-dir`` in the user's ``pip.conf``; conda: ``pkgs_dirs`` in ``~/.condarc``, the new
cache first; uv: top-level ``cache-dir`` in ``uv.toml``). Here: the checks every manager
shares, the diff, the atomic write, and the move (``core/fs/move``).
"""

import difflib
import os
from typing import Any, Dict, List

from .. import Refused, bounded, env, registry, safety
from ..managers.base import Manager
from ..wire import Run


def serve(run: Run, managers: List[Manager]) -> None:
    from ..fs import move as moving

    request, environ, result = run.request, run.environ, run.result
    if len(managers) != 1 or "relocate" not in managers[0].ops:
        able = [n for n in registry.known() if "relocate" in registry.load(n).ops]
        raise Refused("relocate moves one manager's cache at a time: give --managers "
                      f"{', '.join(able[:-1])} or {able[-1]}")
    manager = managers[0]
    name = manager.name
    settings = manager.settings()
    raw = request.get("to") or ""
    if not raw:
        raise Refused("relocate needs --to PATH")
    home = env.home(environ)
    target = os.path.normpath(home + raw[1:] if raw == "~" or raw.startswith("~/") else
                              os.path.join(environ.get("PWD") or os.getcwd(), raw))
    current, previous = settings.current()
    move_it = bool(request.get("move")) and bool(current) and os.path.isdir(current or "")
    # safety's refusal, before anything is read: a cache is never pointed at, or moved
    # into, a home or a system directory, and only the manager's own cache is moved
    safety.refuse_place(target, environ, "relocate to", f"new {name} cache given by --to")
    if move_it and current:
        safety.refuse(name, current, environ, "move", settings.source(current))
    moving.check_target(target, current, move_it)
    path = settings.config_file()
    try:
        old = bounded.read_text(path, bounded.CONFIG_CAP, "utf-8-sig")  # a BOM is dropped
    except FileNotFoundError:
        old = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise Refused(f"{path}: cannot read it: {exc}") from None
    new = settings.edit(old, target, previous)
    try:
        settings.parse(path, new)
    except Exception as exc:  # any parse failure: leave the file as it is
        raise Refused(f"{path}: does not parse ({exc}); fix it first, nothing was changed"
                      ) from None
    would = settings.would_be(path, new)
    if not would or os.path.realpath(would) != os.path.realpath(target):
        raise Refused(f"{name}'s cache would still be {would} after writing {path}: a "
                      "setting of higher precedence wins (see `cachekit locations`); nothing "
                      "was changed")
    result["warnings"] += settings.warnings()
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        fromfile=path, tofile=path))
    plan: Dict[str, Any] = {"manager": name, "config_file": path, "diff": diff,
                            "from": current, "to": target, "move": None}
    if move_it and current:
        if os.path.islink(current.rstrip("/")):
            raise Refused(f"{current} is a symlink to {os.path.realpath(current)}; move that "
                          "directory, or point the setting at it first")
        settings.refuse_move(current)
        plan["move"] = moving.move_plan(current, target)
    result["relocation"] = plan
    if not request.get("apply"):
        return
    if plan["move"] and current:
        plan["move"] = settings.move(current, target, moving.move)
    elif not os.path.isdir(target):
        os.makedirs(target)
    moving.write_atomic(path, new)
    plan["now"], _ = settings.current()

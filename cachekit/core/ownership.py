"""Whose cache is it: a user's run (``--users``) cleans only caches that user owns.

pip itself refuses a cache directory owned by another user; cachekit holds every manager
to that in a user's run (the request's ``as_user``, set by ``core/users``): a cache root
that belongs to someone else, or that is a home or a system directory, is refused on its
record, naming the user and what set it (the config file). A *default* place that belongs
to root (``/opt/conda/pkgs`` of a root install, which every user's conda lists) is not the
user's at all: it is left out of their rows and shown in root's.
"""

import os
from typing import Any, Dict, List

from . import safety
from .managers.base import Manager
from .wire import CacheRecord, Run


def caches_of(run: Run, manager: Manager) -> List[CacheRecord]:
    """The manager's caches this run may serve; the others go straight to the result
    (refused, with ``error``), or nowhere (root's shared default)."""
    records = manager.caches()
    who = run.request.get("as_user")
    if not isinstance(who, dict):
        return records
    mine: List[CacheRecord] = []
    for rec in records:
        verdict = _verdict(rec, str(who.get("name")), int(who.get("uid", -1)), run.environ)
        if verdict == "mine":
            mine.append(rec)
        elif verdict != "root's":
            rec["error"] = verdict
            run.result["caches"].append(rec)
    return mine


def _verdict(rec: CacheRecord, name: str, uid: int, environ: Dict[str, str]) -> str:
    """"mine", "root's" (a shared default), or why the record is refused."""
    path = rec.get("path")
    source = str(rec.get("source") or "")
    if not path and "not owned by this user" in source:  # pip's own rule disabled it
        return f"refusing the cache of user {name}: {source.replace('disabled: ', '', 1)}"
    if not path or not rec.get("exists"):
        return "mine"
    try:
        owner = os.stat(path).st_uid
    except OSError:
        return "mine"  # gone, or closed to this user: the manager says so itself
    default = rec.get("configured") is False or source.startswith(("default", "usual"))
    setter = source or "its setting"
    if owner == uid:
        why = safety.place_problem(path, environ)
        return "mine" if not why else (
            f"refusing {path} for user {name}: it is {why} (set by {setter})")
    if default and owner == 0:
        return "root's"
    return (f"refusing {path} for user {name}: it belongs to {name_of(owner)}, not to "
            f"{name} (set by {setter}); a user's run cleans only that user's own cache")


def name_of(uid: int) -> Any:
    """A user's name, or ``uid N`` for a uid the passwd database does not know."""
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"

"""The one check every destructive path makes first: never a file system root, never a
home directory, never a directory that holds one, whatever a setting says."""

import os
from typing import Dict, List

from cachekit.core import Refused


def home_dirs(environ: Dict[str, str]) -> List[str]:
    """Every home this host knows (this user's, the usual places, every account's)."""
    homes = {environ.get("HOME") or "", os.path.expanduser("~"), "/root", "/home", "/Users"}
    try:
        import pwd

        homes.update(p.pw_dir for p in pwd.getpwall())
    except (ImportError, KeyError):
        pass
    return [os.path.realpath(h) for h in homes if h]


def refuse_system_dir(root: str, environ: Dict[str, str], what: str, verb: str = "clean",
                      hint: str = "") -> None:
    """Refuse ``root`` when it is ``/``, a home, or holds a home."""
    real = os.path.realpath(root)
    homes = home_dirs(environ)
    if os.path.dirname(real) == real:
        why = "a file system root"
    elif real in homes:
        why = "a home directory"
    elif any(h.startswith(real.rstrip("/") + "/") for h in homes):
        why = "a directory that holds home directories"
    else:
        return
    raise Refused(f"refusing to {verb} {root}: the {what} is {why}"
                  + (f"; {hint}" if hint else ""))

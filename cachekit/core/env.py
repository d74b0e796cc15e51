"""The user's home as the managers see it: ``HOME`` from the request's environment, else
the process's own (``~``). pip keeps a fallback of its own (the passwd entry, as
platformdirs does; ``managers/pip/location``), and keeps it on purpose.

``expanduser`` is Python's ``os.path.expanduser`` against the request's environment, for
the managers written in Python (pip, Poetry, PDM: ``Path(...).expanduser()``), and, with
``users=False`` and the home given, for pixi (which expands a bare ``~`` only)."""

import os
from typing import Mapping, Optional


def home(environ: Mapping[str, str]) -> str:
    return environ.get("HOME") or os.path.expanduser("~")


def passwd_home() -> str:
    """This user's home in the passwd database (what Python uses when HOME is unset)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError):
        return os.path.expanduser("~")


def expanduser(path: str, environ: Mapping[str, str], users: bool = True,
               home_dir: Optional[str] = None) -> str:
    """``~`` and ``~/...`` from ``home_dir``, else ``HOME`` (an empty HOME stays empty, as
    in Python), else the passwd entry; ``~user/...`` from that user's passwd entry (when
    ``users``; an unknown user is left as written). Anything else is returned as is."""
    if path != "~" and not path.startswith("~/"):
        return os.path.expanduser(path) if users and path.startswith("~") else path
    if home_dir is None:
        home_dir = environ["HOME"] if "HOME" in environ else passwd_home()
    return (home_dir.rstrip("/") + path[1:]) or "/"

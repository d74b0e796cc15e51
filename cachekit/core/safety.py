"""The one check every destructive path makes before it walks or removes anything.

A root is refused when it is ``/``, a home or a directory holding homes, a system
directory or one holding system directories, or when it does not carry the layout of the
manager whose cache it is said to be. Each manager supplies only that layout check (its
``layout_problem``); a name the registry does not know can remove nothing. The agent
runs ``refuse_plans`` on every plan before it applies one, so a manager that forgot its
own early check is still stopped before the first removal.
"""

import contextlib
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional

from . import Refused

# The system directories themselves (and, through the parent rule, everything holding
# one). What lies below them stays allowed: /var/cache/pip, /opt/conda/pkgs, /tmp/x.
SYSTEM_DIRS = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32",
    "/lost+found", "/media", "/mnt", "/opt", "/proc", "/run", "/sbin", "/snap",
    "/srv", "/sys", "/tmp", "/usr", "/var",
    "/usr/bin", "/usr/etc", "/usr/games", "/usr/include", "/usr/lib", "/usr/lib32",
    "/usr/lib64", "/usr/libexec", "/usr/libx32", "/usr/local", "/usr/sbin", "/usr/share",
    "/usr/src", "/usr/local/bin", "/usr/local/etc", "/usr/local/include", "/usr/local/lib",
    "/usr/local/sbin", "/usr/local/share", "/usr/local/src",
    "/var/backups", "/var/cache", "/var/lib", "/var/local", "/var/lock", "/var/log",
    "/var/mail", "/var/opt", "/var/run", "/var/spool", "/var/tmp", "/var/www",
    "/nix", "/nix/store", "/nix/var",
    # macOS
    "/Applications", "/Library", "/Library/Caches", "/System", "/Users", "/Volumes",
    "/cores", "/private", "/private/etc", "/private/tmp", "/private/var",
    "/private/var/folders",
)

def home_dirs(environ: Mapping[str, str]) -> List[str]:
    """Every home this host knows (this user's, the usual places, every account's)."""
    homes = {environ.get("HOME") or "", os.path.expanduser("~"), "/root", "/home", "/Users"}
    try:
        import pwd

        homes.update(p.pw_dir for p in pwd.getpwall())
    except (ImportError, KeyError):
        pass
    return [os.path.realpath(h) for h in homes if h]


def system_dirs() -> List[str]:
    """``SYSTEM_DIRS`` as this host resolves them (``/bin`` may be ``/usr/bin``), and every
    ``/lib*`` it has."""
    dirs = set(SYSTEM_DIRS)
    with contextlib.suppress(OSError):
        dirs.update("/" + n for n in os.listdir("/") if n.startswith("lib"))
    return sorted({os.path.realpath(d) for d in dirs} | dirs)


def place_problem(root: str, environ: Mapping[str, str]) -> str:
    """Why ``root`` may never be cleaned, whatever it holds ("" when it may be)."""
    real = os.path.realpath(root)
    if os.path.dirname(real) == real:
        return "the file system root"
    inside = real.rstrip("/") + "/"
    system = system_dirs()
    if real in system:
        return "a system directory"
    homes = home_dirs(environ)
    if real in homes:
        return "a home directory"
    if any(h.startswith(inside) for h in homes):
        return "a directory that holds home directories"
    if any(s.startswith(inside) for s in system):
        return "a directory that holds system directories"
    return ""


PLAN = "the plan"  # the setting of a root that only a plan names (an ``apply``)


def _who(label: str, setting: str) -> str:
    if not setting:
        return f"the {label}"
    if setting == PLAN:
        return f"the {label} named by the plan"
    if setting.startswith(("default", "found", "usual")):
        return f"the {label} from {setting}"
    return f"the {label} set by {setting}"


def _manager(name: str) -> Any:
    """The registered manager class; one cachekit does not know can remove nothing."""
    from . import registry

    if name not in registry.known():
        raise Refused(f"refusing to remove anything for {name!r}: cachekit knows no "
                      "layout signature for it")
    return registry.load(name)


def layout_check(manager: str) -> Any:
    """The manager's own ``layout_problem``; a manager cachekit does not know is refused."""
    return _manager(manager).layout_problem


def refuse_place(root: str, environ: Mapping[str, str], verb: str, label: str,
                 setting: str = "") -> None:
    """Refuse ``/``, homes, system directories and their parents; nothing is read."""
    why = place_problem(root, environ)
    if why:
        raise Refused(f"refusing to {verb} {root}: {_who(label, setting)} is {why}")


def refuse(manager: str, root: str, environ: Mapping[str, str], verb: str = "clean",
           setting: str = "", label: str = "", kind: str = "") -> None:
    """The one refusal: the place first (before anything is listed), then the layout
    the manager declares (``Manager.layout_problem``; ``kind`` is a plan's kind).

    ``setting`` names what pointed at ``root`` (``UV_CACHE_DIR``, ``pkgs_dirs in
    ~/.condarc``...), so the one-line error says what to fix.
    """
    cls = _manager(manager)
    label = label or cls.label_for(kind)
    refuse_place(root, environ, verb, label, setting)
    problem = cls.layout_problem(os.path.realpath(root), kind)
    if problem:
        raise Refused(f"refusing to {verb} {root}: {_who(label, setting)} {problem}")


def refuse_plans(plans: Iterable[Mapping[str, Any]], records: Iterable[Mapping[str, Any]],
                 environ: Mapping[str, str], verb: str) -> None:
    """Check every plan's root before the first one is applied (the agent calls this for
    every destructive request and every ``apply``)."""
    settings: Dict[str, str] = {}
    for record in records:
        path = record.get("path")
        if isinstance(path, str) and record.get("source"):
            settings.setdefault(os.path.realpath(path), str(record["source"]))
    for wire in plans:
        root = wire.get("root") if isinstance(wire, Mapping) else None
        if not isinstance(root, str) or not root.startswith("/"):
            raise Refused(f"refusing to {verb}: a plan names no absolute root ({root!r}); "
                          "plan again")
        source = wire.get("source")
        setting: Optional[str] = (source if isinstance(source, str) and source
                                  else settings.get(os.path.realpath(root)))
        refuse(str(wire.get("manager")), root, environ, verb, setting or PLAN,
               kind=str(wire.get("kind") or ""))

"""What ``locations`` shares between managers: the record's sources, its file system, and
the traps (``ops/locations`` serves the op; each manager builds its own record).

The traps are the ones people fall into when they move a cache by hand:
- a ``cache-dir`` in a pip config section that ``pip cache`` ignores (``[install]``);
- a cache set by an environment variable that unattended jobs (cron, systemd, CI
  runners) never see, because only shell start-up files set it: they use the next source;
- a conda ``pkgs_dirs`` list that dropped the defaults, leaving a default cache that still
  holds packages nobody uses or cleans;
- a cache on a nearly full file system while another local file system has room.
"""

import contextlib
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import bounded, env
from .fs import mounts as fsmounts

# Files that set variables for every session, unattended ones included (pam_env).
SESSION_FILES = ("/etc/environment", "~/.pam_environment")
SESSION_DIRS = ("/etc/environment.d", "~/.config/environment.d")
# Files only shells read (interactive, or login): cron and systemd read none of them.
SHELL_FILES = ("~/.bashrc", "~/.bash_profile", "~/.bash_login", "~/.profile", "~/.zshrc",
               "~/.zshenv", "~/.zprofile", "~/.bash_aliases", "/etc/profile", "/etc/bash.bashrc",
               "~/.config/fish/config.fish")
SHELL_DIRS = ("/etc/profile.d",)
NEARLY_FULL = 0.10  # less free than this share of the file system


def _files(names: Tuple[str, ...], dirs: Tuple[str, ...], environ: Mapping[str, str]
           ) -> List[str]:
    home = env.home(environ)
    out = [n.replace("~", home, 1) if n.startswith("~") else n for n in names]
    for d in dirs:
        d = d.replace("~", home, 1) if d.startswith("~") else d
        with contextlib.suppress(OSError):
            out += [os.path.join(d, n) for n in sorted(os.listdir(d))]
    return out


def _setting_files(var: str, files: List[str]) -> List[str]:
    pattern = re.compile(r"(^|[\s;])(export\s+|set\s+-gx\s+|setenv\s+)?" + re.escape(var)
                         + r"(\s*=|\s+\S)", re.M)
    found = []
    for path in files:
        try:
            text = bounded.read_text(path, bounded.CONFIG_CAP, errors="replace")
        except OSError:  # not a regular file, too large, unreadable: it sets nothing for us
            continue
        if any(not line.lstrip().startswith("#") for line in text.splitlines()
               if pattern.search(line)):
            found.append(path)
    return found


def env_trap(var: str, environ: Mapping[str, str], fallback: Optional[str]) -> Optional[str]:
    """Why unattended jobs will not see ``var`` (None: they will)."""
    if _setting_files(var, _files(SESSION_FILES, SESSION_DIRS, environ)):
        return None
    shells = _setting_files(var, _files(SHELL_FILES, SHELL_DIRS, environ))
    where = f"set in {', '.join(shells)}" if shells else "set in this session only"
    then = f"; they use {fallback}" if fallback else ""
    return (f"{var} is {where}: cron jobs, systemd services and CI runners read no shell "
            f"start-up file, so they do not see it{then}")


def _without(environ: Mapping[str, str], *names: str) -> Dict[str, str]:
    return {k: v for k, v in environ.items() if k not in names}


def file_system(path: Optional[str], mounts: str = "/proc/mounts") -> Optional[Dict[str, Any]]:
    """The mount holding ``path`` (or its nearest existing parent), with its free space."""
    if not path:
        return None
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        path = "" if parent == path else parent
    if not path:
        return None
    real = os.path.realpath(path)
    mount = fsmounts.mount_of(real, mounts) or fsmounts.Mount("?", "/", "?", [])
    return dict(fsmounts.disk_usage(real), mount=mount.point, type=mount.kind,
                device=mount.device, dev=os.stat(real).st_dev)


def full_trap(fs: Optional[Dict[str, Any]], mounts: str = "/proc/mounts") -> Optional[str]:
    """A nearly full file system while another local one has room."""
    if not fs or not fs["total_bytes"] or fs["free_bytes"] >= NEARLY_FULL * fs["total_bytes"]:
        return None
    best: Optional[Tuple[int, str, str]] = None
    for m in fsmounts.mounts(mounts):
        if not m.device.startswith("/dev/") or m.point == fs["mount"]:
            continue
        try:
            usage = fsmounts.disk_usage(m.point)
            if os.stat(m.point).st_dev == fs["dev"]:
                continue
        except OSError:
            continue
        free = usage["free_bytes"]
        roomy = free > 2 * fs["free_bytes"] and free >= NEARLY_FULL * usage["total_bytes"]
        if roomy and (best is None or free > best[0]):
            best = (free, m.point, m.kind)
    if best is None:
        return None
    used = 100 - 100 * fs["free_bytes"] // fs["total_bytes"]
    return (f"the file system at {fs['mount']} is {used}% full ({fs['free_bytes']} B free); "
            f"{best[1]} ({best[2]}) has {best[0]} B free")


def source(setting: str, value: str, where: str, won: bool, note: str = "") -> Dict[str, Any]:
    return {"setting": setting, "value": value, "where": where, "won": won, "note": note}


def location_record(manager: str, environ: Mapping[str, str], locate: Any, error: Any,
                    variables: Tuple[str, ...], won_by: Any) -> Tuple[Dict[str, Any], Any]:
    """A single-cache manager's record (pip, uv): the cache ``locate`` finds and each set
    variable of ``variables`` as a source (``won_by(var, source)`` marks the winner).
    Returns the record and the location, or the record with the error and None."""
    rec: Dict[str, Any] = {"manager": manager, "sources": [], "traps": []}
    try:
        loc = locate(environ)
    except error as exc:
        rec.update(path=None, source="", error=str(exc))
        return rec, None
    rec.update(path=loc.path, source=loc.source, error=None)
    for var in variables:
        if environ.get(var):
            rec["sources"].append(source(var, environ[var], f"environment variable {var}",
                                         won_by(var, loc.source)))
    return rec, loc


def var_trap(rec: Dict[str, Any], var: str, environ: Mapping[str, str],
              locate: Any, error: Any) -> None:
    """The trap of a cache set by ``var``, naming the cache used where ``var`` is unset."""
    try:
        fallback = locate(_without(environ, var)).path
    except error as exc:
        fallback = f"nothing: {exc}"
    trap = env_trap(var, environ, fallback)
    if trap:
        rec["traps"].append(trap)

"""The mounted file systems and their free space (Linux's mount table; statvfs).

Standard library only, Python 3.8+: shipped to remote hosts.
"""

import os
from typing import Dict, List, NamedTuple, Optional, Tuple


class Mount(NamedTuple):
    device: str
    point: str
    kind: str
    options: List[str]


def mounts(table: str = "/proc/mounts") -> List[Mount]:
    """The mounted file systems (none where the table cannot be read)."""
    try:
        with open(table, encoding="utf-8") as fh:
            rows = [line.split() for line in fh]
    except OSError:
        return []
    return [Mount(r[0], r[1].replace("\\040", " "), r[2], r[3].split(","))
            for r in rows if len(r) >= 4]


def mounted_below(path: str, table: str = "/proc/self/mounts") -> Optional[bool]:
    """Whether a file system is mounted strictly below ``path``.

    None when that cannot be told: the table is unreadable, or a mount point in it is
    escaped (a space or newline in its name) and so cannot be compared. Walkers that must
    not cross into another file system stat every directory unless this says False.
    """
    below = os.path.realpath(path).rstrip("/") + "/"
    try:
        with open(table, encoding="utf-8", errors="surrogateescape") as fh:
            rows = fh.read().splitlines()
    except OSError:
        return None
    for row in rows:
        fields = row.split(" ")
        if len(fields) < 2 or "\\" in fields[1]:
            return None
        point = fields[1].rstrip("/") + "/"
        if point != below and point.startswith(below):
            return True
    return False


def mount_of(path: str, table: str = "/proc/mounts") -> Optional[Mount]:
    """The mount holding ``path``: the longest mount point it lies under."""
    real = os.path.realpath(path)
    best: Optional[Mount] = None
    for m in mounts(table):
        inside = real == m.point or real.startswith(m.point.rstrip("/") + "/")
        if inside and (best is None or len(m.point) >= len(best.point)):
            best = m
    return best


def disk_usage(path: str) -> Dict[str, int]:
    """The size and free space of the file system holding ``path``, in bytes."""
    st = os.statvfs(path)
    return {"total_bytes": st.f_blocks * st.f_frsize, "free_bytes": st.f_bavail * st.f_frsize}


def last_use_clock(path: str) -> Tuple[str, str]:
    """("atime" or "mtime", why): access times count unless the file system skips them."""
    mount = mount_of(path)
    if mount is None:
        return "mtime", "modification time (mount options unknown)"
    if "noatime" in mount.options:
        return "mtime", f"modification time ({mount.point} is mounted noatime)"
    mode = next((o for o in mount.options if o in ("relatime", "strictatime", "lazytime")),
                "atime")
    return "atime", f"access time ({mode})"

"""What unattended runs need: one run at a time, a log, and a history of cache sizes.

- The run lock is an ``flock`` on a file in the user's state directory, taken without
  waiting: a second ``prune`` started by cron while the first still runs stops at once,
  saying which process holds the lock.
- The history is one JSON line per host per run (``--history``), so ``cachekit trend``
  can show each host's caches over time, and anything else can read it too.
"""

import contextlib
import datetime
import fcntl
import json
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple

from cachekit.core import bounded
from cachekit.errors import CachekitError


def state_dir() -> str:
    """``$XDG_STATE_HOME/cachekit``, else ``~/.local/state/cachekit``."""
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = xdg if xdg.startswith("/") else os.path.join(os.path.expanduser("~"), ".local",
                                                          "state")
    return os.path.join(base, "cachekit")


def default_history() -> str:
    return os.path.join(state_dir(), "history.jsonl")


def default_lock() -> str:
    return os.path.join(state_dir(), "prune.lock")


@contextlib.contextmanager
def run_lock(path: str) -> Iterator[None]:
    """Hold ``path`` exclusively for the run, or stop at once if another run holds it.

    Only taking the lock is checked here: an error inside the run is the run's own.
    """
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise CachekitError(f"cannot take the run lock {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "another process"
            raise CachekitError(f"another cachekit run holds {path} (pid {holder}); this one "
                                "stops", hint="runs never overlap; the next one will run"
                                ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def log(path: str, command: str, text: str) -> None:
    """Append one run's output to ``--log-file``, under a time stamp."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"== {now_iso()} cachekit {command}\n{text.rstrip()}\n")


def records(command: str, results: List[Dict[str, Any]], dry_run: bool) -> List[Dict[str, Any]]:
    """One history line per host: sizes per manager, before and (for a prune) after."""
    stamp = now_iso()
    out = []
    for h in results:
        caches = h.get("caches_before") or h.get("caches", [])
        before = sum(c.get("bytes") or 0 for c in caches)
        reclaimed = 0 if dry_run else h.get("reclaimed_bytes") or 0
        by_manager: Dict[str, int] = {}
        for c in caches:
            by_manager[c["manager"]] = by_manager.get(c["manager"], 0) + (c.get("bytes") or 0)
        out.append({"time": stamp, "host": h["host"], "command": command,
                    "status": h["status"], "dry_run": dry_run, "bytes": before,
                    "after_bytes": max(before - reclaimed, 0), "reclaimed_bytes": reclaimed,
                    "free_bytes": (h.get("disk") or {}).get("free_bytes"),
                    "managers": by_manager, "error": h.get("error")})
    return out


def append(path: str, lines: List[Dict[str, Any]]) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, sort_keys=True) + "\n")


def read(path: str) -> List[Dict[str, Any]]:
    """The history's lines; a line that is not JSON stops nothing, it is skipped."""
    try:  # a regular file of at most HISTORY_CAP: a FIFO here would hang `trend`
        raw = bounded.read_text(path, bounded.HISTORY_CAP, errors="replace").splitlines()
    except FileNotFoundError:
        raise CachekitError(f"no history at {path}",
                            hint="prune writes it; or give --history PATH") from None
    except bounded.TooLarge as exc:
        raise CachekitError(f"cannot read {path}: {exc.strerror}",
                            hint="keep its recent lines: tail -n 100000 FILE > NEW, then "
                                 "move NEW over it") from None
    except OSError as exc:
        raise CachekitError(f"cannot read {path}: {exc.strerror}") from None
    out = []
    for line in raw:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and "host" in item and "time" in item:
            out.append(item)
    return out


def _seconds(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp).timestamp()


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: List[int]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[int((v - low) * (len(SPARKS) - 1) / (high - low))] for v in values)


def weekly_growth(points: List[Tuple[float, int]]) -> Optional[float]:
    """Least-squares slope of size over time, in bytes per week (None: too few points)."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / var
    return slope * 7 * 86400


def trend(lines: List[Dict[str, Any]], last: int = 20) -> List[Dict[str, Any]]:
    """Per host: its sizes over time (the size each run found), growth per week."""
    by_host: Dict[str, List[Dict[str, Any]]] = {}
    for line in lines:
        if line.get("status") == "ok":
            by_host.setdefault(line["host"], []).append(line)
    out = []
    for host, runs in by_host.items():
        runs.sort(key=lambda r: r["time"])
        points = [(_seconds(r["time"]), int(r.get("bytes") or 0)) for r in runs]
        out.append({"host": host, "runs": len(runs), "first": runs[0]["time"],
                    "last": runs[-1]["time"], "bytes": points[-1][1],
                    "after_bytes": int(runs[-1].get("after_bytes", points[-1][1]) or 0),
                    "growth_per_week": weekly_growth(points),
                    "spark": sparkline([v for _, v in points[-last:]])})
    return out

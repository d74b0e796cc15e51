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
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from cachekit.core import bounded
from cachekit.errors import CachekitError
from cachekit.stamps import iso_time, stamp_seconds


def state_dir() -> str:
    """``$XDG_STATE_HOME/cachekit``, else ``~/.local/state/cachekit``.

    Run as root with the environment of another user (``sudo -E``), that would put
    root's lock and history in that user's home: root's own home is used instead."""
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = xdg if xdg.startswith("/") else os.path.join(os.path.expanduser("~"), ".local",
                                                          "state")
    path = os.path.join(base, "cachekit")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and _owner(path) != 0:
        import pwd

        path = os.path.join(pwd.getpwuid(0).pw_dir, ".local", "state", "cachekit")
    return path


def _owner(path: str) -> int:
    """The owner of ``path``, or of its nearest existing parent."""
    while True:
        try:
            return os.stat(path).st_uid
        except OSError:
            parent = os.path.dirname(path)
            if parent == path:
                return 0
            path = parent


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


def record(command: str, results: List[Dict[str, Any]], dry_run: bool, history: Optional[str],
           log_file: Optional[str], log_text: Callable[[], str]) -> Optional[str]:
    """Keep the record of a run: its history lines (unless ``history`` is ``off``) and,
    with ``log_file``, its output. Returns why that could not be written, or None: the
    caller says so after the report, which still goes out."""
    try:
        if history != "off":
            append(history or default_history(), records(command, results, dry_run))
        if log_file:
            log(log_file, command + (" --dry-run" if dry_run else ""), log_text())
    except OSError as exc:
        return f"cannot write {exc.filename}: {exc.strerror}"
    return None


def records(command: str, results: List[Dict[str, Any]], dry_run: bool) -> List[Dict[str, Any]]:
    """One history line per host: sizes per manager before and (measured) after a prune.

    A dry run is recorded with ``dry_run`` true and no after sizes; ``trend`` leaves it
    out. ``after_managers`` holds what the core measured after its removals; a manager
    nothing was removed from keeps its size; one removed from but not measured is None.
    """
    stamp = now_iso()
    out = []
    for h in results:
        caches = h.get("caches_before") or h.get("caches", [])
        before = sum(c.get("bytes") or 0 for c in caches)
        reclaimed = 0 if dry_run else h.get("reclaimed_bytes") or 0
        by_manager: Dict[str, int] = {}
        for c in caches:
            by_manager[c["manager"]] = by_manager.get(c["manager"], 0) + (c.get("bytes") or 0)
        after = None if dry_run or h["status"] != "ok" else _after(h, by_manager)
        known = after is not None and all(v is not None for v in after.values())
        out.append({"time": stamp, "host": h["host"], "command": command,
                    "status": h["status"], "dry_run": dry_run, "bytes": before,
                    "after_bytes": sum(v or 0 for v in after.values()) if after and known
                    else None,
                    "reclaimed_bytes": reclaimed,
                    "free_bytes": (h.get("disk") or {}).get("free_bytes"),
                    "managers": by_manager, "after_managers": after, "format": 2,
                    "error": h.get("error")})
    return out


def _after(h: Dict[str, Any], before: Dict[str, int]) -> Dict[str, Optional[int]]:
    """Each manager's size after the run, as measured by the core after its removals."""
    out: Dict[str, Optional[int]] = {}
    for manager, size in before.items():
        mine = [c for c in h.get("caches", []) if c.get("manager") == manager
                and c.get("exists") is not False]
        removed = any(r.get("manager") == manager and r.get("ok") for r in h.get("removed", []))
        if mine and all(isinstance(c.get("after_bytes"), int) for c in mine):
            out[manager] = sum(c["after_bytes"] for c in mine)
        else:
            out[manager] = None if removed else size
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


MIN_RUNS = 3
MIN_SPAN_S = 3 * 86400
ALL = "all"  # the series of records that carry no per-manager sizes


def span_text(seconds: float) -> str:
    """How long a history spans, in the unit that reads best."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (2 if unit == "days" else 1):
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _points(lines: List[Dict[str, Any]]) -> Dict[Tuple[str, str], List[Tuple[float, str, int,
                                                                           Optional[int]]]]:
    """(host, manager) -> (time, stamp, size, after) of each real run that measured it.

    Dry runs and failed runs are left out. Records of the previous format carry sizes per
    manager but an after size only derived for the whole host, which hard links made
    wrong: their after sizes are not used.
    """
    out: Dict[Tuple[str, str], List[Tuple[float, str, int, Optional[int]]]] = {}
    for line in lines:
        if line.get("status") != "ok" or line.get("dry_run"):
            continue
        when = stamp_seconds(line["time"])
        if when is None:
            continue
        managers = line.get("managers")
        after = line["after_managers"] if isinstance(line.get("after_managers"), dict) \
            else {}
        if isinstance(managers, dict):
            sizes = [(m, b, after.get(m)) for m, b in managers.items()]
        else:  # no per-manager sizes at all: the host's total is its own series
            sizes = [(ALL, line.get("bytes"), line.get("after_bytes"))]
        for manager, size, after_size in sizes:
            if isinstance(size, int):
                out.setdefault((str(line["host"]), manager), []).append(
                    (when, str(line["time"]), size,
                     after_size if isinstance(after_size, int) else None))
    return out


def trend(lines: List[Dict[str, Any]], last: int = 20) -> List[Dict[str, Any]]:
    """Per host and manager: its sizes over time, growth per week once the history is long
    enough (``MIN_RUNS`` runs over ``MIN_SPAN_S``), and the host's latest total."""
    series = _points(lines)
    totals: Dict[str, int] = {}
    for (host, manager), points in series.items():
        if manager != ALL or not any(h == host and m != ALL for h, m in series):
            totals[host] = totals.get(host, 0) + max(points)[2]
    out = []
    for (host, manager), points in series.items():
        points.sort()
        span = points[-1][0] - points[0][0]
        enough = len(points) >= MIN_RUNS and span >= MIN_SPAN_S
        growth = weekly_growth([(t, v) for t, _s, v, _a in points]) if enough else None
        note = None if enough else (
            f"{len(points)} run{'' if len(points) == 1 else 's'} over {span_text(span)}; "
            f"growth per week needs at least {MIN_RUNS} runs over "
            f"{span_text(MIN_SPAN_S)}")
        out.append({"host": host, "manager": manager, "runs": len(points),
                    "first": points[0][1], "last": points[-1][1], "bytes": points[-1][2],
                    "after_bytes": points[-1][3], "span_s": round(span),
                    "growth_per_week": growth, "growth_note": note,
                    "host_bytes": totals.get(host, 0),
                    "spark": sparkline([v for _t, _s, v, _a in points[-last:]])})
    return out


WEEK_S = 7 * 86400
IN_SIGHT_S = 100 * 365.25 * 86400  # a crossing further away is "not in sight": None


def host_series(lines: List[Dict[str, Any]]) -> Dict[str, List[Tuple[float, int, Optional[int]]]]:
    """host -> (time, size, size after) of each real run, oldest first: the host's whole
    caches as each run measured them (dry and failed runs left out, as ``trend`` does)."""
    out: Dict[str, List[Tuple[float, int, Optional[int]]]] = {}
    for line in lines:
        size = line.get("bytes")
        if line.get("status") != "ok" or line.get("dry_run") or not isinstance(size, int):
            continue
        when = stamp_seconds(line["time"])
        if when is None:
            continue
        after = line.get("after_bytes")
        out.setdefault(str(line["host"]), []).append(
            (when, size, after if isinstance(after, int) else None))
    for points in out.values():
        points.sort()
    return out


def host_totals(lines: List[Dict[str, Any]], rows: List[Dict[str, Any]],
                threshold: Optional[int]) -> List[Dict[str, Any]]:
    """Per host: its latest total (``host_bytes`` of its rows), the growth per week of its
    whole caches, and when that growth takes it over ``threshold`` (``crosses_threshold``,
    an ISO time; None when it shrinks, has too little history, is over already, or would
    cross more than ``IN_SIGHT_S`` (a hundred years) from its last run).
    The latest run's status and error are kept too, failed or not."""
    series = host_series(lines)
    latest: Dict[str, Dict[str, Any]] = {}
    for line in lines:
        host = str(line.get("host"))
        if not line.get("dry_run") and str(line.get("time")) >= str(
                latest.get(host, {}).get("time", "")):
            latest[host] = line
    totals = {r["host"]: r["host_bytes"] for r in rows}
    out = []
    for host in sorted(set(series) | set(latest)):
        points = series.get(host, [])
        span = points[-1][0] - points[0][0] if points else 0.0
        enough = len(points) >= MIN_RUNS and span >= MIN_SPAN_S
        growth = weekly_growth([(t, v) for t, v, _a in points]) if enough else None
        size = totals.get(host, points[-1][1] if points else 0)
        over = threshold is not None and size > threshold
        crosses = None
        if threshold is not None and not over and growth and growth > 0 and points:
            wait = (threshold - size) / growth * WEEK_S
            if wait <= IN_SIGHT_S:
                crosses = iso_time(points[-1][0] + wait)
        last = latest.get(host, {})
        out.append({"host": host, "runs": len(points), "bytes": size,
                    "growth_per_week": growth,
                    "over_threshold": over if threshold is not None else None,
                    "crosses_threshold": crosses, "last_run": last.get("time"),
                    "last_status": last.get("status"), "last_error": last.get("error")})
    return out

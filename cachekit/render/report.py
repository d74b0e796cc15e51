"""``report``: one row per host (or per user of a host, then its subtotal) and a totals
row, in a table, markdown, CSV with exact bytes, or any tabulate format."""

import csv
import io
from typing import Any, Dict, List, Optional

from cachekit import text
from cachekit.render import END, Width, format_table, human_bytes, natural

REPORT_FORMATS = ["table", "json", "markdown", "csv"]


def report_formats() -> List[str]:
    """``report``'s formats: ours, plus every tabulate format by its own name."""
    from tabulate import tabulate_formats

    return REPORT_FORMATS + [f for f in tabulate_formats if f not in REPORT_FORMATS]


def render_report(hosts: List[Dict[str, Any]], fmt: str = "table", width: Width = None) -> str:
    """One row per host, sorted by name, then a totals row. CSV carries exact bytes.

    With ``--users`` a host's row becomes one row per user (USER column), followed by the
    host's subtotal."""
    managers: List[str] = []
    for h in hosts:
        for c in h.get("caches", []):
            if c["manager"] not in managers:
                managers.append(c["manager"])
    exact = fmt == "csv"
    size = (lambda n: n) if exact else human_bytes
    attributed = any("attributed_bytes" in c for h in hosts for c in h.get("caches", []))
    per_user = any(h.get("users") for h in hosts)
    rows = []
    sums = _report_sums(managers)
    for h in sorted(hosts, key=lambda h: natural(h["host"])):
        free = (h.get("disk") or {}).get("free_bytes")
        sums["free"] += free or 0
        users = h.get("users") or []
        if not users:
            rows.append(_report_row(h["host"], "-" if per_user else None, h["status"],
                                    h.get("caches", []), managers, attributed, size, free,
                                    h.get("elapsed_s", 0), h.get("error"), sums))
            continue
        host_sums = _report_sums(managers)
        for u in users:
            caches = [c for c in h.get("caches", []) if c.get("user") == u["user"]]
            rows.append(_report_row(h["host"], u["user"], u["status"], caches, managers,
                                    attributed, size, free, u.get("elapsed_s") or 0,
                                    u.get("error"), host_sums))
        for key, value in host_sums.items():
            if key != "free":
                sums[key] += value
        bad = sum(u["status"] != "ok" for u in users)
        rows.append([h["host"], f"({len(users)} user{'' if len(users) == 1 else 's'})",
                     h["status"] if h["status"] != "ok" or not bad else f"{bad} failed",
                     *[size(host_sums[m]) for m in managers], size(host_sums["total"]),
                     size(host_sums["reclaimable"]),
                     *([size(host_sums["attributed"]), size(host_sums["unattributed"])]
                       if attributed else []), "" if free is None else size(free),
                     f"{h.get('elapsed_s', 0):.2f}", h.get("error") or ""])
    failed = sum(h["status"] != "ok" for h in hosts)
    split_sums = [size(sums["attributed"]), size(sums["unattributed"])] if attributed else []
    rows.append([f"TOTAL ({len(hosts)} host{'' if len(hosts) == 1 else 's'})",
                 *([""] if per_user else []), f"{failed} failed",
                 *[size(sums[m]) for m in managers], size(sums["total"]),
                 size(sums["reclaimable"]), *split_sums, size(sums["free"]), "", ""])
    headers = ["HOST", *(["USER"] if per_user else []), "STATUS", *managers, "TOTAL",
               "RECLAIMABLE", *(["ATTRIBUTED", "UNATTRIBUTED"] if attributed else []),
               "DISK FREE", "ELAPSED S", "NOTE"]
    if exact:
        return _csv(rows, [h.lower().replace(" ", "_") for h in headers])
    if fmt == "table":  # too narrow: an empty NOTE goes, then ELAPSED S, then DISK FREE
        note = len(headers) - 1
        optional = ([note] if not any(r[note] for r in rows) else []) + [note - 1, note - 2]
        return text.fit_table(rows, headers, width, {note: END}, optional)
    return format_table(rows, headers, "github" if fmt == "markdown" else fmt)


def _report_sums(managers: List[str]) -> Dict[str, int]:
    return {"total": 0, "reclaimable": 0, "free": 0, "attributed": 0, "unattributed": 0,
            **{m: 0 for m in managers}}


def _report_row(host: str, user: Optional[str], status: str, caches: List[Dict[str, Any]],
                managers: List[str], attributed: bool, size: Any, free: Optional[int],
                elapsed: float, error: Optional[str], sums: Dict[str, int]) -> List[Any]:
    """One host's (or one user's) row of ``report``; its figures are added to ``sums``."""
    by_manager: Dict[str, int] = {}  # a manager may have several caches on one host
    for c in caches:
        by_manager[c["manager"]] = by_manager.get(c["manager"], 0) + (c.get("bytes") or 0)
    for m, size_of_m in by_manager.items():
        sums[m] += size_of_m
    total = sum(by_manager.values())
    reclaimable = sum(c.get("reclaimable_bytes") or 0 for c in caches)
    sums["total"] += total
    sums["reclaimable"] += reclaimable
    note = error or "; ".join(
        [c["error"] for c in caches if c.get("error")]
        + [w for c in caches for w in (c.get("warnings") or [])])
    split = []
    if attributed:
        known = sum(c.get("attributed_bytes") or 0 for c in caches)
        unknown = sum(c.get("unattributed_bytes") or 0 for c in caches)
        sums["attributed"] += known
        sums["unattributed"] += unknown
        split = [size(known), size(unknown)]
    return [host, *([user] if user is not None else []), status,
            *[size(by_manager[m]) if m in by_manager else "" for m in managers],
            size(total), size(reclaimable), *split, "" if free is None else size(free),
            f"{elapsed:.2f}", note]


def _csv(rows: List[List[Any]], headers: List[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().rstrip("\n")

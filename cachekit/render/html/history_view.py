"""What the trend page shows, from the history's runs and ``trend``'s JSON document.

Per host: its latest sizes by manager, its size over time with each prune's drop
(before -> after), the growth per week of its whole caches and when that growth takes
it over ``--threshold``. The time axis is the fleet's, so the charts line up; it runs a
quarter past the last run, where the projections are drawn.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

from cachekit import stamps
from cachekit.render import human_bytes, natural
from cachekit.render.html import svg
from cachekit.render.html.fleet_view import colours, manager_order, manager_shares

Series = Dict[str, List[Tuple[float, int, Optional[int]]]]
FUTURE = 0.25  # the share of the time axis after the last run, for the projections


def day(stamp: Optional[str]) -> str:
    return str(stamp)[:10] if stamp else ""


def signed(n: Optional[float]) -> str:
    if n is None:
        return "-"
    return ("+" if n >= 0 else "-") + human_bytes(abs(n))


def trend_view(doc: Dict[str, Any], series: Series, known: Sequence[str]) -> Dict[str, Any]:
    """Everything the trend page draws: glance figures, the managers' latest totals, one
    row per host (bar, chart, figures), the hosts whose latest run failed, the table."""
    rows = doc.get("hosts") or []
    threshold = doc.get("threshold_bytes")
    managers = manager_order(rows, known)
    slot = colours(managers, known)
    latest: Dict[str, Dict[str, int]] = {}
    for r in rows:
        latest.setdefault(r["host"], {})[r["manager"]] = r.get("bytes") or 0
    times = [t for points in series.values() for t, _b, _a in points]
    start, last = (min(times), max(times)) if times else (0.0, 1.0)
    end = last + max(last - start, 86400.0) * FUTURE
    top_of = {h: max([b for _t, b, _a in series.get(h, [])] + [1]) for h in latest}
    scale = max([sum(s.values()) for s in latest.values()] + [1])
    hosts, failed = [], []
    for total in doc.get("host_totals") or []:
        name = total["host"]
        if total.get("last_status") not in (None, "ok"):
            failed.append({"host": name, "status": str(total["last_status"]),
                           "note": str(total.get("last_error") or ""),
                           "when": day(total.get("last_run"))})
        if name not in latest:
            continue
        sizes = latest[name]
        growth = total.get("growth_per_week")
        crosses = stamps.stamp_seconds(total.get("crosses_threshold"))
        points = series.get(name, [])
        top = top_of[name]
        if threshold and threshold <= 2 * top:
            top = max(top, threshold)
        projection = None
        if crosses is not None and points:
            t0, v0 = points[-1][0], total["bytes"]
            t1 = min(crosses, end)
            projection = (t1, int(v0 + (growth or 0) * (t1 - t0) / (7 * 86400)))
        prunes = [(b, a) for _t, b, a in points if a is not None and a < b]
        hosts.append({
            "host": name, "total": total["bytes"], "human": human_bytes(total["bytes"]),
            "growth": growth, "growth_text": signed(growth),
            "over": bool(total.get("over_threshold")),
            "crosses": day(total.get("crosses_threshold")),
            "crosses_s": crosses,
            "last_prune": f"{human_bytes(prunes[-1][0])} → {human_bytes(prunes[-1][1])}"
            if prunes else "",
            "bar": svg.stacked_bar([(slot[m], sizes[m], 0) for m in managers if sizes.get(m)],
                                   scale),
            "chart": svg.history_chart(points, start, end, top, threshold, projection)})
    # the soonest to cross first, then those over already, then by size
    hosts.sort(key=lambda h: (not h["over"], h["crosses_s"] is None, h["crosses_s"] or 0,
                              -h["total"], natural(h["host"])))
    per_manager = {m: sum(s.get(m, 0) for s in latest.values()) for m in managers}
    total = sum(per_manager.values())
    growth = sum(h["growth"] or 0 for h in hosts)
    return {
        **manager_shares(per_manager, slot),
        "glance": {"hosts": len(hosts), "total": human_bytes(total),
                   "growth": signed(growth) if any(h["growth"] is not None for h in hosts)
                   else "-",
                   "failed": len(failed), "over": sum(h["over"] for h in hosts),
                   "crossing": sum(h["crosses_s"] is not None for h in hosts),
                   "threshold": human_bytes(threshold) if threshold is not None else None,
                   "since": day(stamps.iso_time(start)) if times else "",
                   "until": day(stamps.iso_time(last)) if times else ""},
        "hosts": hosts, "failed": sorted(failed, key=lambda f: natural(f["host"])),
        "table": sorted(rows, key=lambda r: (natural(r["host"]), r["manager"])),
        "scale": human_bytes(scale),
    }

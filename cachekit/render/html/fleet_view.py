"""What the report page shows, worked out from the ``--format json`` document.

The page is drawn from these figures only; they are computed here, in plain Python, so
the template stays a layout and the tests can check the numbers without a browser.
Managers are never named here: they come from the data, in the order the caller gives
(the registry's), so a new manager shows up on the page with no change to it.
"""

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from cachekit.render import human_bytes, natural
from cachekit.render.html import svg

Threshold = Optional[Tuple[str, float]]  # policy_input.parse_threshold's (kind, value)


def manager_order(records: Iterable[Dict[str, Any]], known: Sequence[str]) -> List[str]:
    """Every manager the records name: the known ones in ``known``'s order, then any
    other in the order it first appears (a host newer than this controller)."""
    seen: List[str] = []
    for record in records:
        name = record.get("manager")
        if isinstance(name, str) and name not in seen:
            seen.append(name)
    return [m for m in known if m in seen] + [m for m in seen if m not in known]


def colours(managers: Sequence[str], known: Sequence[str]) -> Dict[str, int]:
    """Each manager's colour slot: its place in ``known``, so a manager keeps its colour
    whichever others a fleet has; an unknown one takes the next free slot."""
    out = {m: known.index(m) for m in managers if m in known}
    spare = len(known)
    for m in managers:
        if m not in out:
            out[m] = spare
            spare += 1
    return {m: slot % svg.PALETTE for m, slot in out.items()}


def manager_shares(per_manager: Dict[str, int], slot: Dict[str, int]) -> Dict[str, Any]:
    """The "By manager" section of either page: each manager's fleet total (in the
    order of ``per_manager``) and share, and the bar of those shares."""
    total = sum(per_manager.values())
    return {"managers": [{"name": m, "slot": slot[m], "human": human_bytes(b),
                          "share": b * 100.0 / total if total else 0.0}
                         for m, b in per_manager.items()],
            "share_bar": svg.stacked_bar([(slot[m], b, 0) for m, b in per_manager.items()],
                                         max(total, 1))}


def over_limit(host: Dict[str, Any], total: int, threshold: Threshold) -> bool:
    """``--fail-above``: the host's caches over a size, or over a share of its disk."""
    if not threshold or host.get("status") != "ok":
        return False
    kind, value = threshold
    if kind == "bytes":
        return total > value
    disk = (host.get("disk") or {}).get("total_bytes")
    return isinstance(disk, int) and disk > 0 and total * 100.0 / disk > value


def _by_manager(caches: Iterable[Dict[str, Any]]) -> Tuple[Dict[str, int], Dict[str, int]]:
    sizes: Dict[str, int] = {}
    free: Dict[str, int] = {}
    for c in caches:
        m = c.get("manager")
        if not isinstance(m, str):
            continue
        sizes[m] = sizes.get(m, 0) + _int(c.get("bytes"))
        free[m] = free.get(m, 0) + _int(c.get("reclaimable_bytes"))
    return sizes, free


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _note(host: Dict[str, Any]) -> str:
    caches = host.get("caches") or []
    parts = [str(host["error"])] if host.get("error") else []
    parts += [f"{c.get('manager')}: {c['error']}" for c in caches if c.get("error")]
    parts += [str(w) for c in caches for w in (c.get("warnings") or [])]
    return "; ".join(parts)


def report_view(doc: Dict[str, Any], known: Sequence[str], threshold: Threshold = None,
                threshold_text: Optional[str] = None) -> Dict[str, Any]:
    """Everything the report page draws: the glance figures, the managers' totals, one
    bar per host (and per user), the failed hosts, and the table's rows."""
    hosts = doc.get("hosts") or []
    managers = manager_order((c for h in hosts for c in h.get("caches") or []), known)
    slot = colours(managers, known)
    rows = [_host_row(h, threshold) for h in hosts]
    ok = [r for r in rows if r["status"] == "ok"]
    failed = sorted((r for r in rows if r["status"] != "ok"), key=lambda r: natural(r["host"]))
    per_manager = {m: sum(r["sizes"].get(m, 0) for r in rows) for m in managers}
    total = sum(per_manager.values())
    reclaimable = sum(r["reclaimable"] for r in rows)
    ok.sort(key=lambda r: (-r["total"], natural(r["host"])))
    scale = max([r["total"] for r in ok] + [u["total"] for r in ok for u in r["users"]] + [1])
    for r in ok:
        r["bar"] = svg.stacked_bar(_segments(r, managers, slot), scale)
        r["disk_bar"] = svg.disk_bar(r["total"], r["free"], r["disk_total"])
        for u in r["users"]:
            u["bar"] = svg.stacked_bar(_segments(u, managers, slot), scale)
    return {
        "command": doc.get("command", "report"),
        **manager_shares(per_manager, slot),
        "glance": {"hosts": len(rows), "total": human_bytes(total),
                   "reclaimable": human_bytes(reclaimable),
                   "reclaimable_share": reclaimable * 100.0 / total if total else 0.0,
                   "failed": len(failed), "over": sum(r["over"] for r in rows),
                   "threshold": threshold_text},
        "hosts": ok, "failed": failed,
        "table": sorted(rows, key=lambda r: natural(r["host"])),
        "scale": human_bytes(scale),
    }


def _host_row(h: Dict[str, Any], threshold: Threshold) -> Dict[str, Any]:
    caches = h.get("caches") or []
    sizes, reclaimable = _by_manager(caches)
    total = sum(sizes.values())
    disk = h.get("disk") or {}
    users: List[Dict[str, Any]] = []
    for u in h.get("users") or []:
        mine = [c for c in caches if c.get("user") == u.get("user")]
        u_sizes, u_free = _by_manager(mine)
        users.append({"user": str(u.get("user")), "status": str(u.get("status")),
                      "error": u.get("error") or "", "sizes": u_sizes,
                      "total": sum(u_sizes.values()), "human": human_bytes(sum(u_sizes.values())),
                      "reclaimables": u_free})
    users.sort(key=lambda u: (-u["total"], u["user"]))
    free = disk.get("free_bytes") if isinstance(disk.get("free_bytes"), int) else None
    disk_total = disk.get("total_bytes") if isinstance(disk.get("total_bytes"), int) else None
    return {"host": str(h.get("host")), "status": str(h.get("status")), "note": _note(h),
            "sizes": sizes, "reclaimables": reclaimable, "total": total,
            "reclaimable": sum(reclaimable.values()), "free": free, "disk_total": disk_total,
            "over": over_limit(h, total, threshold), "users": users,
            "human": {"total": human_bytes(total),
                      "reclaimable": human_bytes(sum(reclaimable.values())),
                      "free": human_bytes(free) if free is not None else "",
                      "disk": human_bytes(disk_total) if disk_total is not None else "",
                      **{m: human_bytes(b) for m, b in sizes.items()}}}


def _segments(row: Dict[str, Any], managers: Sequence[str], slot: Dict[str, int]
              ) -> List[Tuple[int, int, int]]:
    return [(slot[m], row["sizes"][m], row["reclaimables"].get(m, 0))
            for m in managers if row["sizes"].get(m)]

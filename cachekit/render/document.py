"""The ``--format json`` document, the exit code, and the error and warning lines.

What a run yields as data, apart from how a table shows it: the counts the question and
the Ctrl-C summary use (``entries_in``), the hosts over ``--fail-above``.
"""

import json
from typing import Any, Dict, Iterable, List

from cachekit import text
from cachekit.errors import EXIT_BAD_INPUT, EXIT_HOST_FAILED, EXIT_OK
from cachekit.protocol import FAILURE_STATUSES, SCHEMA, host_problems
from cachekit.render import human_bytes


def document(command: str, dry_run: bool, hosts: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The ``--format json`` object: schema, command, dry_run, hosts, totals."""
    totals: Dict[str, int] = {"hosts": len(hosts), "ok": 0, "failed": 0, "bytes": 0,
                              "files": 0, "disk_bytes": 0, "reclaimable_bytes": 0,
                              "reclaimed_bytes": 0}
    for h in hosts:
        totals["ok" if h["status"] == "ok" else "failed"] += 1
        for c in h.get("caches", []):
            for key in ("bytes", "files", "disk_bytes", "reclaimable_bytes"):
                totals[key] += c.get(key) or 0
        totals["reclaimed_bytes"] += h.get("reclaimed_bytes") or 0
    return {"schema": SCHEMA, "command": command, "dry_run": dry_run, "hosts": hosts,
            "totals": totals}


def exit_code(hosts: Iterable[Dict[str, Any]]) -> int:
    """0 all done; 1 refused everywhere (nothing done); 2 some host failed."""
    hosts = list(hosts)
    statuses = [h["status"] for h in hosts]
    # a cache not served, a removal that failed, a user's part that failed: the core's rule
    if any(s in FAILURE_STATUSES for s in statuses) or any(host_problems(h) for h in hosts):
        return EXIT_HOST_FAILED
    if statuses and all(s == "refused" for s in statuses):
        return EXIT_BAD_INPUT
    if "refused" in statuses:
        return EXIT_HOST_FAILED
    return EXIT_OK


def to_json(doc: Dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False)


def errors(hosts: List[Dict[str, Any]]) -> List[str]:
    """One line per host that failed or refused, and per cache that could not be served."""
    out = []
    for h in hosts:
        out += [f"{_where(h, c)}: {c['manager']}: {c['error']}"
                for c in h.get("caches", []) if c.get("error")]
        out += [f"{h['host']}: user {u['user']}: {u.get('error')}"
                for u in h.get("users") or [] if u.get("status") != "ok"]
        if h["status"] != "ok":
            out.append(f"{h['host']}: {h.get('error')}")
    return [text.printable(line) for line in out]


def warnings(hosts: List[Dict[str, Any]]) -> List[str]:
    """Warnings worth a line on stderr, prefixed with the host."""
    out = []
    for h in hosts:
        for c in h.get("caches", []):
            out += [f"{_where(h, c)}: {c['manager']}: {w}" for w in c.get("warnings") or []]
        out += [f"{h['host']}: {w}" for w in h.get("warnings") or []]
    return [text.printable(line) for line in out]


def _where(h: Dict[str, Any], record: Dict[str, Any]) -> str:
    """The host a line is about, and the user (``--users``) whose record it is."""
    return f"{h['host']}: user {record['user']}" if record.get("user") else h["host"]


def entries_in(rows: List[Dict[str, Any]]) -> int:
    """How many entries removal rows stand for: a row of a compact plan stands for its
    entries (prune) or files (purge), any other row for one. A count that is not a
    whole number (a progress line a host bent) counts as none."""
    counts = (r.get("entries", r.get("files", 1)) for r in rows)
    return sum(n for n in counts if isinstance(n, int) and not isinstance(n, bool) and n > 0)


def planned_entries(hosts: List[Dict[str, Any]]) -> int:
    """What the hosts that planned would remove."""
    return entries_in([r for h in hosts if h["status"] == "ok" for r in h.get("removed", [])])


def over_threshold(hosts: List[Dict[str, Any]], threshold: Any) -> List[str]:
    """``report --fail-above``: each host whose caches exceed it, with its figure."""
    kind, value = threshold
    out = []
    for h in hosts:
        if h["status"] != "ok":
            continue
        total = sum(c.get("bytes") or 0 for c in h.get("caches", []))
        disk = (h.get("disk") or {}).get("total_bytes")
        if kind == "bytes" and total > value:
            out.append(f"{h['host']} ({human_bytes(total)})")
        elif kind == "percent" and disk and total * 100.0 / disk > value:
            out.append(f"{h['host']} ({human_bytes(total)}, {total * 100.0 / disk:.1f}% of "
                       f"{human_bytes(disk)})")
    return out


def host_settings(host: Any, way: Any, becomes: Any = None) -> Dict[str, Any]:
    """What ``cachekit hosts`` shows of an inventory host: its variables' summary and its
    ``route.Route``: where and how it is reached (jump hosts nearest the controller
    first), which source set each value, and what could not be honoured; and whom its
    core runs as (``becomes``: a ``become.Become``, None, or the failure its settings
    make)."""
    row: Dict[str, Any] = {"host": host.name, "local": host.local, "address": host.address,
                           "port": None, "user": None, "key_files": [], "known_hosts": [],
                           "jumps": [], "proxy_command": None, "accept_new_host_key": False}
    if not host.local:
        row.update({k: v for k, v in _hop(way.target).items() if k not in ("name", "sources")})
        row["jumps"] = [_hop(j) for j in way.jumps]
    row.update(python=host.python, groups=host.groups, cachekit_vars=host.cachekit_vars(),
               sources=dict(way.sources), ssh_config=list(way.config_files),
               warnings=list(way.warnings),
               failure=dict(zip(("status", "reason"), way.failure)) if way.failure else None,
               become=_become(becomes))
    return row


def _become(becomes: Any) -> Any:
    """A host's become settings as JSON: user, method, flags, exe and the variable (or
    flag, or default) that set each; ``{"error": ...}`` for settings it cannot run with."""
    if becomes is None:
        return None
    if isinstance(becomes, Exception):
        return {"error": getattr(becomes, "reason", str(becomes))}
    return {"user": becomes.user, "method": becomes.method, "flags": becomes.flags,
            "exe": becomes.exe, "sources": dict(becomes.sources)}


def _hop(hop: Any) -> Dict[str, Any]:
    """One hop as JSON; the user ssh would log in as (the local one unless one is set)."""
    return {"name": hop.name, "address": hop.address, "port": hop.port,
            "user": hop.user or _local_user(),
            "key_files": list(hop.key_files), "known_hosts": list(hop.known_hosts),
            "proxy_command": hop.proxy_command, "accept_new_host_key": hop.accept_new,
            "sources": dict(hop.sources)}


def _local_user() -> str:
    """ssh's local user name; the ssh_config reader loads only when a route is shown."""
    from cachekit.ssh_config import local_user

    return local_user()

"""The tables people read: dir, list, removal and prune plans, locations, relocation,
trend and hosts (``report``'s is ``render/report``)."""

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from cachekit import text
from cachekit.render import (
    END,
    MIDDLE,
    Width,
    format_table,
    human_bytes,
    many_hosts,
    natural,
    plural,
)
from cachekit.render.document import planned_entries
from cachekit.render.info import Note, note_lines, per_user_rows


def render_dir(hosts: List[Dict[str, Any]], width: Width = None,
               notes: Optional[Mapping[str, Sequence[Note]]] = None) -> str:
    rows = []
    per_user = per_user_rows(hosts, "caches")
    for h in hosts:
        for c in h.get("caches", []):
            where = c.get("path") or "(disabled)"
            state = "yes" if c.get("exists") else "no"
            if c.get("exists") and c.get("writable") is False:
                state = "yes, read-only"
            rows.append([h["host"], *([c.get("user") or "-"] if per_user else []),
                         c["manager"], where, c.get("source", ""), state])
    first = 3 if per_user else 2
    out = format_table(rows, ["HOST", *(["USER"] if per_user else []), "MANAGER", "PATH",
                              "SOURCE", "EXISTS"], width=width,
                       shrink={first: MIDDLE, first + 1: MIDDLE})
    envs = [[h["host"], e["manager"], e["path"], e["source"]]
            for h in hosts for e in h.get("environments", [])]
    if envs:
        out += "\n\n" + format_table(envs, ["HOST", "MANAGER", "ENVIRONMENT", "FOUND THROUGH"],
                                      width=width, shrink={2: MIDDLE, 3: MIDDLE})
    return "\n".join([out] + note_lines(hosts, notes or {}, width))


def render_locations(hosts: List[Dict[str, Any]], width: Width = None) -> str:
    """One row per host and manager; then, for one host, every source and each trap."""
    rows = []
    for h in sorted(hosts, key=lambda h: natural(h["host"])):
        if h["status"] != "ok":
            rows.append([h["host"], "-", "-", f"{h['status']}: {h.get('error')}", "-", "-"])
            continue
        for loc in h.get("locations", []):
            fs = loc.get("file_system") or {}
            free = (f"{human_bytes(fs['free_bytes'])} of {human_bytes(fs['total_bytes'])} "
                    f"on {fs['mount']}") if fs else "-"
            rows.append([h["host"] + (f" ({loc['user']})" if loc.get("user") else ""),
                         loc["manager"], loc.get("path") or "(none)",
                         loc.get("error") or loc.get("source") or "-", free,
                         str(len(loc.get("traps", []))) if loc.get("traps") else "-"])
    table = format_table(rows, ["HOST", "MANAGER", "CACHE", "SET BY", "FREE", "TRAPS"], width=width,
                         shrink={2: MIDDLE, 3: MIDDLE})
    details = []
    for h in hosts:
        for loc in h.get("locations", []):
            if len(hosts) == 1:
                details += ["", f"{loc['manager']}, highest precedence first:"]
                for src in loc.get("sources", []):
                    mark = "*" if src["won"] else " "
                    note = f"  ({src['note']})" if src.get("note") else ""
                    details.append(text.fit_line(f"  {mark} {src['where']}: ", str(src["value"]),
                                                 note, width))
            details += [text.wrap(f"{h['host']}: {loc['manager']}: trap: {t}", width)
                        for t in loc.get("traps", [])]
    return "\n".join([table] + [text.printable(d) if "\n" not in d else d for d in details])


def render_relocation(hosts: List[Dict[str, Any]], dry_run: bool, width: Width = None) -> str:
    """Per host: from and to, the config file's diff, the move. Lines are escaped but
    never shortened (``width`` is taken as every renderer takes it): a diff is shown whole."""
    lines = []
    for h in hosts:
        plan = h.get("relocation")
        if h["status"] != "ok" or not plan:
            lines.append(summary_line(h, dry_run))
            continue
        lines.append(f"{h['host']}: {plan['manager']}: {plan['from'] or '(none)'} -> "
                     f"{plan['to']}")
        lines.append(plan["diff"].rstrip("\n") if plan["diff"] else
                     f"{plan['config_file']}: already says so")
        move = plan.get("move")
        if move:
            verb = "would move" if dry_run else "moved"
            lines.append(f"{h['host']}: {verb} {move['files']} files "
                         f"({human_bytes(move['bytes'])}) from {move['source']} to "
                         f"{move['target']} by {move['how']}")
        elif plan["from"] and not dry_run:
            lines.append(f"{h['host']}: the old cache {plan['from']} stays where it was "
                         "(--move takes it along)")
        if not dry_run:
            lines.append(f"{h['host']}: wrote {plan['config_file']}; {plan['manager']}'s cache "
                         f"is now {plan.get('now')}")
    return "\n".join(text.printable(line) for chunk in lines for line in chunk.split("\n"))


def render_list(hosts: List[Dict[str, Any]], fmt: str, width: Width = None,
                escape: bool = True) -> str:
    """The table, or pip's abspath lines: exact names for scripts (``escape`` false), made
    printable for a terminal."""
    entries = [(h["host"], e) for h in hosts for e in h.get("entries", [])]
    if fmt == "abspath":
        paths = sorted(e["path"] for _host, e in entries)
        return "\n".join(text.printable(p) for p in paths) if escape else "\n".join(paths)
    if not entries:
        return "No cached packages match."
    many = many_hosts(hosts)
    mixed = len({e.get("manager") for _host, e in entries}) > 1
    per_user = per_user_rows(hosts, "entries")
    rows = []
    for host, e in sorted(entries, key=lambda he: (he[0], he[1].get("user") or "",
                                                   he[1]["path"].rsplit("/", 1)[-1])):
        row = [e["name"], e["version"] or "-", e["kind"], human_bytes(e["bytes"]),
               e["path"].rsplit("/", 1)[-1]]
        rows.append(([host] if many else []) + ([e.get("user") or "-"] if per_user else [])
                    + ([e.get("manager") or "-"] if mixed else []) + row)
    headers = (["HOST"] if many else []) + (["USER"] if per_user else []) + \
        (["MANAGER"] if mixed else []) + ["PACKAGE", "VERSION", "KIND", "SIZE", "FILE"]
    return format_table(rows, headers, width=width,
                        shrink={len(headers) - 5: END, len(headers) - 1: MIDDLE})


def render_removal(hosts: List[Dict[str, Any]], dry_run: bool, width: Width = None) -> str:
    """Every file a removal deletes (or would delete), then one summary line per host.

    One line per path whatever its name holds; a long path is shortened in the middle so
    the line fits ``width``."""
    lines = []
    many = many_hosts(hosts)
    for h in hosts:
        prefix = f"{h['host']}: " if many else ""
        for r in h.get("removed", []):
            mark = "would remove" if dry_run else ("removed" if r.get("ok") else "kept")
            mark = f"{r['user']}: {mark}" if r.get("user") else mark
            note = f"; {r['note']}" if r.get("note") else ""
            swept = f"{r['files']} files in {r['dirs']} directories, " if "dirs" in r else ""
            lines.append(text.fit_line(f"{prefix}{mark} ", r.get("path") or r.get("entry"),
                                       f" ({swept}{human_bytes(r.get('bytes'))}, "
                                       f"{r.get('reason')}{note})", width))
        for d in h.get("dirs_removed", []):
            verb = "would remove" if dry_run else "removed"
            lines.append(text.fit_line(f"{prefix}{verb} directory ", d, "", width))
        for k in h.get("kept", []):
            lines.append(text.fit_line(f"{prefix}keep ", k["path"], f" ({k['reason']})", width))
    lines += [text.wrap(summary_line(h, dry_run), width) for h in hosts]
    lines += [text.wrap(line, width) for h in hosts for line in removal_lines(h, dry_run)]
    return "\n".join(lines)


def summary_line(h: Dict[str, Any], dry_run: bool) -> str:
    if h["status"] != "ok":
        return text.printable(f"{h['host']}: {h['status']}: {h.get('error')}")
    rows = [r for r in h.get("removed", []) if dry_run or r.get("ok")]
    files = [r for r in rows if "kind" not in r]
    by_manager: Dict[str, int] = {}
    for r in rows:
        if "kind" in r:  # a row of a large prune plan stands for ``entries`` entries
            by_manager[r["manager"]] = by_manager.get(r["manager"], 0) + r.get("entries", 1)
    if dry_run:
        freed = sum(c.get("reclaimable_bytes") or 0 for c in h.get("caches", []))
    else:
        freed = h.get("reclaimed_bytes", 0)
    # a purge's rows are buckets, each with its counts (see core/managers/pip/sweep.py)
    dirs = len(h.get("dirs_removed", [])) + sum(r.get("dirs", 0) for r in files)
    what = f"{sum(r.get('files', 1) for r in files)} files and {dirs} directories"
    if by_manager:
        counted = [_removal_count(h, m) or f"{n} {m} {'entry' if n == 1 else 'entries'}"
                   for m, n in by_manager.items()]
        what = ", ".join(counted + ([what] if files else []))
    return text.printable(f"{h['host']}: {what}"
                          f" {'to remove' if dry_run else 'removed'}; "
                          f"{'would free' if dry_run else 'freed'} {human_bytes(freed)}")


def plan_total(hosts: List[Dict[str, Any]]) -> str:
    """One line for a plan over several hosts, shown right above the confirmation."""
    ok = [h for h in hosts if h["status"] == "ok"]
    entries = planned_entries(ok)
    freed = sum(c.get("reclaimable_bytes") or 0 for h in ok for c in h.get("caches", []))
    failed = len(hosts) - len(ok)
    return (f"total: {entries} entries to remove on {len(ok)} of {len(hosts)} hosts"
            f"{f' ({failed} could not plan)' if failed else ''}; would free "
            f"{human_bytes(freed)}")


def _removal_count(h: Dict[str, Any], manager: str) -> str:
    """Removals a manager counts in packages (and the paths deleted for them), from the
    ``removal`` figures its caches carry (uv's); "" when it sends none."""
    parts = [c["removal"] for c in h.get("caches", []) if c["manager"] == manager
             and c.get("removal")]
    if not parts:
        return ""
    packages, paths = sum(p["packages"] for p in parts), sum(p["paths"] for p in parts)
    return f"{plural(packages, manager + ' package')} ({plural(paths, 'path')})"


def removal_lines(h: Dict[str, Any], dry_run: bool) -> List[str]:
    """Per cache with ``removal`` figures (uv's): what its removal counts, and what hard
    links keep on disk, by whom."""
    out = []
    for c in h.get("caches", []):
        r = c.get("removal") if h["status"] == "ok" else None
        if not r:
            continue
        line = (f"{h['host']}: {c['manager']} {c['path']}: {plural(r['packages'], 'package')} "
                f"({plural(r['paths'], 'path')}, {human_bytes(r['bytes'])} apparent) "
                f"{'to remove' if dry_run else 'removed'}; "
                f"{'would free' if dry_run else 'freed'} {human_bytes(r['freed_bytes'])}")
        if r.get("linked_bytes"):
            where = [f"{env} ({human_bytes(size)})" for env, size in r["linked_from"]]
            if r.get("linked_elsewhere_bytes"):
                where.append(f"links outside the places searched "
                             f"({human_bytes(r['linked_elsewhere_bytes'])})")
            line += (f"; {human_bytes(r['linked_bytes'])} "
                     f"{'would stay' if dry_run else 'stays'} on disk, hard-linked from "
                     f"{', '.join(where)}")
        out.append(line)
    return out


def _when(ns: Optional[int]) -> str:
    import time

    return "-" if not ns else time.strftime("%Y-%m-%d %H:%M", time.localtime(ns / 1e9))


def render_prune(hosts: List[Dict[str, Any]], dry_run: bool, width: Width = None) -> str:
    """The plan as a table (host, manager, entry, last use, size, rule), then per host:
    totals, which clock ranked the entries, and notes on the policy."""
    if not dry_run:
        return render_removal(hosts, dry_run, width)
    planned = [(h["host"], e) for h in hosts for e in h.get("removed", [])]
    # HOST when the plan spans hosts, MANAGER when it mixes managers: room for the entry
    many = len({host for host, _e in planned}) > 1
    mixed = len({e.get("manager") for _host, e in planned}) > 1
    per_user = per_user_rows(hosts, "removed")
    rows = [([host] if many else []) + ([e.get("user") or "-"] if per_user else [])
            + ([e.get("manager") or "-"] if mixed else [])
            + [e.get("entry") or e.get("path"), _when(e.get("last_use_ns")),
               human_bytes(e.get("bytes")), e.get("reason") or "-"] for host, e in planned]
    headers = (["HOST"] if many else []) + (["USER"] if per_user else []) + \
        (["MANAGER"] if mixed else []) + ["ENTRY", "LAST USE", "SIZE", "RULE"]
    table = [format_table(rows, headers, width=width,
                          shrink={len(headers) - 4: MIDDLE, len(headers) - 1: END})] if rows else []
    lines: List[str] = []
    for h in hosts:
        if h["status"] != "ok":
            lines.append(summary_line(h, dry_run))
            continue
        entries = h.get("removed", [])
        size = sum(c.get("bytes") or 0 for c in h.get("caches", []))
        freed = sum(c.get("reclaimable_bytes") or 0 for c in h.get("caches", []))
        lines.append(text.wrap(
            f"{h['host']}: {sum(e.get('entries', 1) for e in entries)} entries to remove "
            f"({human_bytes(sum(e.get('bytes') or 0 for e in entries))}); would free "
            f"{human_bytes(freed)} of {human_bytes(size)} in its caches", width))
        for c in h.get("caches", []):
            if c.get("last_use"):
                lines.append(text.fit_line(f"{h['host']}: {c['manager']} ", c["path"],
                                           f": last use is the {c['last_use']}", width))
        lines += [text.wrap(line, width) for line in removal_lines(h, dry_run)]
        lines += [text.wrap(f"{h['host']}: {note}", width) for note in h.get("policy_notes", [])]
        lines += [text.fit_line(f"{h['host']}: keep ", k["path"], f" ({k['reason']})", width)
                  for k in h.get("kept", [])]
    return "\n".join(table + lines)


def render_trend(rows: List[Dict[str, Any]], threshold: Optional[int], fmt: str) -> str:
    """``trend``: one row per host and manager; growth per week only over a history long
    enough to mean it (the others say why not); hosts over the threshold marked and listed."""
    if not rows:
        return "No prune runs in the history yet (dry runs and failed runs do not count)."
    table = []
    over = sorted({r["host"] for r in rows
                   if threshold is not None and r.get("host_bytes", r["bytes"]) > threshold},
                  key=natural)
    for r in sorted(rows, key=lambda r: (natural(r["host"]), r.get("manager", ""))):
        growth = r["growth_per_week"]
        table.append([r["host"], r.get("manager", "all"), str(r["runs"]), r["first"][:10],
                      r["last"][:16].replace("T", " "), human_bytes(r["bytes"]),
                      human_bytes(r["after_bytes"]),
                      "-" if growth is None else ("+" if growth >= 0 else "-")
                      + human_bytes(abs(growth)),
                      r["spark"], "OVER" if r["host"] in over else ""])
    headers = ["HOST", "MANAGER", "RUNS", "SINCE", "LAST RUN", "SIZE", "AFTER PRUNE",
               "PER WEEK", "HISTORY", "THRESHOLD"]
    text = format_table(table, headers, "github" if fmt == "markdown" else "simple")
    short = [f"{r['host']} {r.get('manager', 'all')}: {r['growth_note']}" for r in
             sorted(rows, key=lambda r: (natural(r["host"]), r.get("manager", "")))
             if r.get("growth_note")]
    if short:
        text += "\n\nNo PER WEEK yet:\n" + "\n".join(f"  {line}" for line in short)
    if over:
        text += f"\n\nAbove {human_bytes(threshold)}: {', '.join(over)}"
    return text


def render_hosts(rows: List[Dict[str, Any]], width: Width = None) -> str:
    """``cachekit hosts``: each host's route as ssh would take it, and whom its core runs
    as when the inventory says become (``--format json`` says which source set each
    value)."""
    table = []
    for r in rows:
        becomes = r.get("become") or {}
        runs_as = f"{becomes['user']} ({becomes['method']})" if "user" in becomes else "-"
        notes = [f"become: {becomes['error']}"] if "error" in becomes else []
        if r["local"]:
            table.append([r["host"], "local (in-process)", "-", "-", runs_as, "-", "-",
                          r["python"], ",".join(r["groups"]) or "-", "; ".join(notes)])
            continue
        via = " -> ".join(j["name"] for j in r["jumps"])
        if r["proxy_command"]:
            via = f"ProxyCommand {r['proxy_command']}"
        keys = ",".join(os.path.basename(k) for k in r["key_files"])
        if r["failure"]:
            notes.insert(0, f"{r['failure']['status']}: {r['failure']['reason']}")
        table.append([r["host"], r["address"], r["port"], r["user"], runs_as, keys or "-",
                      via or "-", r["python"], ",".join(r["groups"]) or "-", "; ".join(notes)])
    headers = ["HOST", "ADDRESS", "PORT", "USER", "BECOME", "KEY", "VIA", "PYTHON", "GROUPS",
               "NOTE"]
    shrink = {1: END, 5: END, 6: END, 8: END, 9: END}
    if not any(row[-1] for row in table):
        headers, table = headers[:-1], [row[:-1] for row in table]
    if all(row[4] == "-" for row in table):  # no host becomes anyone: no column for it
        del headers[4]
        table = [row[:4] + row[5:] for row in table]
        shrink = {k - (k > 4): v for k, v in shrink.items()}
    return format_table(table, headers, width=width, shrink=shrink)

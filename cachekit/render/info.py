"""``info``: one table per manager, since their caches hold different things.

Kept together, as they are, until each manager declares its own columns.
"""

from typing import Any, Dict, List

from cachekit import text
from cachekit.render import END, MIDDLE, Width, format_table, human_bytes


def render_info(hosts: List[Dict[str, Any]], width: Width = None) -> str:
    """One table per manager: their caches hold different things."""
    tables = [t for t in (_pip_info(hosts, width), _conda_info(hosts, width),
                          _uv_info(hosts, width), _toolcache_info(hosts, width)) if t]
    linked = [text.wrap(
              f"{h['host']}: uv {c['path']}: {human_bytes(c['linked_bytes'])} of SIZE is "
              "hard-linked from outside the cache (environments): removing it frees that "
              "only when they go", width) for h in hosts for c in h.get("caches", [])
              if c["manager"] == "uv" and c.get("linked_bytes")]
    return "\n\n".join(tables + (["\n".join(linked)] if linked else []))


def uv_program_lines(hosts: List[Dict[str, Any]]) -> List[str]:
    """Which ``uv`` each host's removals go through, and where it was found."""
    return [f"{h['host']}: uv program: {c['uv_binary']} (from {c['uv_binary_source']})"
            if c.get("uv_binary") else f"{h['host']}: uv program: none found"
            for h in hosts for c in h.get("caches", [])
            if c["manager"] == "uv" and "uv_binary" in c and not c.get("error")]


def _pip_info(hosts: List[Dict[str, Any]], width: Width = None) -> str:
    rows = []
    for h in hosts:
        for c in h.get("caches", []):
            if c["manager"] != "pip":
                continue
            if not c.get("exists"):
                rows.append([h["host"], c["manager"], c.get("path") or "(disabled)",
                             "0 B", "0", "-", "-", "-", "0 B"])
                continue
            rows.append([
                h["host"], c["manager"], c["path"], human_bytes(c["bytes"]), str(c["files"]),
                f"{c['wheels']} ({human_bytes(c['wheels_bytes'])})",
                f"{c['http_files']} ({human_bytes(c['http_bytes'])})",
                f"{c['other_files']} ({human_bytes(c['other_bytes'])})",
                human_bytes(c["disk_bytes"]),
            ])
    if not rows:
        return ""
    return format_table(rows, ["HOST", "MANAGER", "PATH", "SIZE", "FILES", "BUILT WHEELS",
                               "HTTP FILES", "OTHER", "ON DISK"], width=width, shrink={2: MIDDLE})


def _uv_info(hosts: List[Dict[str, Any]], width: Width = None) -> str:
    rows = []
    for h in hosts:
        for c in h.get("caches", []):
            if c["manager"] != "uv" or not c.get("exists") or "bytes" not in c:
                continue
            buckets = sorted(c["buckets"].items(), key=lambda kv: -kv[1]["bytes"])
            rows.append([h["host"], c["path"], human_bytes(c["bytes"]), str(c["files"]),
                         human_bytes(c["disk_bytes"]), str(c["packages"]),
                         ", ".join(f"{b} {human_bytes(v['bytes'])}" for b, v in buckets[:3]),
                         ", ".join(c["unknown"]) or "-"])
    if not rows:
        return ""
    return format_table(rows, ["HOST", "UV CACHE", "SIZE", "FILES", "ON DISK", "PACKAGES",
                               "LARGEST BUCKETS", "NOT UV'S"], width=width,
                        shrink={1: MIDDLE, 6: END, 7: END})


def _toolcache_info(hosts: List[Dict[str, Any]], width: Width = None) -> str:
    """The runner tool cache: one row per tool, its versions newest first."""
    rows = []
    for h in hosts:
        for c in h.get("caches", []):
            if c["manager"] != "toolcache" or not c.get("exists") or "tools" not in c:
                continue
            for tool, versions in sorted(c["tools"].items()):
                ordered = list(versions)  # the core sends them newest first
                rows.append([h["host"], tool, str(len(ordered)),
                             human_bytes(sum(versions.values())),
                             ", ".join(f"{v} ({human_bytes(versions[v])})" for v in ordered)])
    if not rows:
        return ""
    return format_table(rows, ["HOST", "TOOL", "VERSIONS", "SIZE", "EACH VERSION"], width=width,
                        shrink={4: END})


def _count(c: Dict[str, Any], key: str) -> str:
    return f"{c.get(key, 0)} ({human_bytes(c.get(key + '_bytes', 0))})"


def _conda_info(hosts: List[Dict[str, Any]], width: Width = None) -> str:
    rows = []
    for h in hosts:
        for c in h.get("caches", []):
            if c["manager"] != "conda" or not c.get("exists"):
                continue
            if "bytes" not in c:  # could not be read
                rows.append([h["host"], c["path"]] + ["-"] * 9 + [c.get("error") or "-"])
                continue
            rows.append([
                h["host"], c["path"], human_bytes(c["bytes"]), str(c["files"]),
                _count(c, "tarballs"), _count(c, "packages"),
                f"{c['unused_packages']} ({human_bytes(c['unused_bytes'])})",
                human_bytes(c["index_cache_bytes"]), _count(c, "logfiles"),
                _count(c, "tempfiles"), _count(c, "partials"),
                "writable" if c.get("writable") else "read-only",
            ])
    if not rows:
        return ""
    return format_table(rows, ["HOST", "CONDA CACHE", "SIZE", "FILES", "TARBALLS", "PACKAGES",
                               "UNUSED", "INDEX CACHE", "LOGS", "TEMP", "PARTIAL", "STATE"],
                        width=width, shrink={1: MIDDLE, 11: END})

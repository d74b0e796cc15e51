"""The GitHub runner tool cache (``_work/_tool``): what setup-python and friends keep.

Layout (actions/tool-cache): ``TOOL/VERSION/ARCH/`` with a marker file
``TOOL/VERSION/ARCH.complete`` written when the download finished. Nothing ever prunes
it (actions/runner#2521). cachekit's rule for ``prune``: keep the newest patch of each
minor version of each tool (and whatever ``--keep`` names: ``Python`` or
``Python/3.8.*``); remove older patches, and downloads that never completed.

The directory is ``AGENT_TOOLSDIRECTORY`` when set (setup-python honours it first), else
``RUNNER_TOOL_CACHE``.
"""

import os
import re
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from ... import wire
from ...fs import walk
from ...wire import CacheRecord
from .place import locate


class Install(NamedTuple):
    tool: str
    version: str
    arch: str
    complete: bool
    bytes: int
    freed: int
    last_use_ns: int
    ino: int

    @property
    def entry(self) -> str:
        return f"{self.tool}/{self.version}/{self.arch}"


def layout_problem(root: str) -> str:
    """The tool cache's signature: a ``TOOL/VERSION/ARCH.complete`` marker somewhere."""
    try:
        for tool in os.listdir(root):
            for version in os.listdir(os.path.join(root, tool)):
                if any(n.endswith(".complete")
                       for n in os.listdir(os.path.join(root, tool, version))):
                    return ""
    except OSError:
        pass
    return ("does not look like a runner tool cache (no TOOL/VERSION/ARCH.complete marker "
            "anywhere)")


def cache_record(environ: Dict[str, str]) -> CacheRecord:
    """The tool cache as a result's cache record (its figures are added by the caller)."""
    root, source = locate(environ)
    return wire.cache_record("toolcache", root, source, bool(root and os.path.isdir(root)),
                             enabled=True)


_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:[-+](.+))?$")
ARCHES = ("x64", "x86", "arm64", "arm", "aarch64", "ppc64le", "s390x", "amd64", "i386")
STALE_S = 3600  # an install without its marker this old is a download that never finished


def version_key(version: str) -> Optional[Tuple[Any, ...]]:
    """3.10.12 > 3.9.18 > 3.9; a pre-release sorts below its release (3.13.0-rc.2 <
    3.13.0-rc.10 < 3.13.0); None for what is not a version (never pruned)."""
    match = _VERSION.match(version)
    if not match:
        return None
    numbers = (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
    pre = match.group(4)
    if not pre:
        return numbers + (1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                  for p in re.split(r"[.\-_]", pre) if p)
    return numbers + (0, parts)


def minor(version: str) -> Tuple[int, ...]:
    key = version_key(version)
    return key[:2] if key else ()


def scan(root: str) -> Tuple[List[Install], List[Tuple[str, str]]]:
    """Every ``TOOL/VERSION/ARCH`` install with its size and whether it completed."""
    installs: List[Install] = []
    errors: List[Tuple[str, str]] = []
    jobs = []
    for tool in _dirs(root, "", errors):
        for version in _dirs(root, tool, errors):
            here = f"{tool}/{version}"
            try:
                names = set(os.listdir(os.path.join(root, here)))
            except OSError as exc:
                errors.append((here, exc.strerror or str(exc)))
                continue
            for arch in _dirs(root, here, errors):
                jobs.append((tool, version, arch, f"{arch}.complete" in names))
    from ...fs import subtree  # its directory walk counts links honestly

    stats = {s.rel: s for s in walk.fan_out(subtree.walk_dir, [
        (root, f"{t}/{v}/{a}", "", (), False) for t, v, a, _ in jobs], None)}
    for tool, version, arch, complete in jobs:
        s = stats[f"{tool}/{version}/{arch}"]
        errors += s.errors
        st = os.lstat(os.path.join(root, tool, version, arch))
        installs.append(Install(tool, version, arch, complete, s.bytes, s.freed,
                                max(s.last_mtime_ns, st.st_mtime_ns), st.st_ino))
    return installs, errors


def _dirs(root: str, rel: str, errors: List[Tuple[str, str]]) -> List[str]:
    path = os.path.join(root, rel) if rel else root
    try:
        with os.scandir(path) as it:
            return sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return []
    except OSError as exc:
        errors.append((rel, exc.strerror or str(exc)))
        return []


class ToolcacheRecord(CacheRecord, total=False):
    """The tool cache's record: each tool's versions (newest first) and their bytes."""

    tools: Dict[str, Dict[str, int]]
    versions: int
    incomplete: int


def summarize(installs: List[Install]) -> ToolcacheRecord:
    """Figures for ``info``; each tool's versions newest first (what is not a version
    last), so a renderer shows them in order without knowing how versions compare."""
    sizes: Dict[str, Dict[str, int]] = {}
    for i in installs:
        sizes.setdefault(i.tool, {})
        sizes[i.tool][i.version] = sizes[i.tool].get(i.version, 0) + i.bytes
    tools = {tool: {v: versions[v] for v in sorted(
                 versions, key=lambda v: (version_key(v) is not None, version_key(v) or (), v),
                 reverse=True)}
             for tool, versions in sorted(sizes.items())}
    return {"bytes": sum(i.bytes for i in installs), "files": None, "tools": tools,
            "versions": sum(len(v) for v in tools.values()),
            "incomplete": sum(not i.complete for i in installs)}


def selection(installs: List[Install], now_ns: Optional[int] = None
              ) -> List[Tuple[Install, str]]:
    """What prune removes: older patches of a minor version, and incomplete downloads.

    Only what reads as a tool install is ever a candidate: a version like 3.11.7 and an
    architecture name; an install without its marker only once it is an hour old (a
    download in progress, perhaps by another runner sharing the cache, stays).
    """
    import time

    now_ns = now_ns or time.time_ns()
    ours = [i for i in installs if version_key(i.version) and i.arch in ARCHES]
    newest: Dict[Tuple[str, str, Tuple[int, ...]], str] = {}
    for i in ours:
        if not i.complete:
            continue
        key = (i.tool, i.arch, minor(i.version))
        if key not in newest or (version_key(i.version) or ()) > (version_key(newest[key])
                                                                   or ()):
            newest[key] = i.version
    out = []
    for i in ours:
        if not i.complete:
            if now_ns - i.last_use_ns > STALE_S * 10 ** 9:
                out.append((i, "incomplete download (no .complete marker)"))
            continue
        best = newest[(i.tool, i.arch, minor(i.version))]
        if best != i.version:
            out.append((i, f"older patch of {i.tool} {'.'.join(map(str, minor(i.version)))} "
                           f"({best} is kept)"))
    return out


def plan_wire(root: str, chosen: List[Tuple[Install, str]]) -> Dict[str, Any]:
    st = os.lstat(root)
    return {"manager": "toolcache", "root": root, "root_id": [st.st_dev, st.st_ino],
            "freed_bytes": sum(i.freed for i, _ in chosen),
            "items": [[i.entry, i.bytes, i.ino, rule, i.complete] for i, rule in chosen]}


def rows(wire: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [{"path": os.path.join(wire["root"], entry), "manager": "toolcache", "bytes": size,
             "reason": rule, "kind": "toolcache"} for entry, size, _ino, rule, _c in wire["items"]]

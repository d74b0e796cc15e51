"""Pure selection for ``prune``: age, size budget (LRU), keep list, free-space trigger, CI mode.

Works on candidates of any manager; what a candidate is (a pip wheel, a pip HTTP entry,
a conda package, a uv package) is the manager's business. Nothing here touches a file.

The rules compose like this:
1. ``keep`` patterns protect a candidate from every rule.
2. ``older_than_s`` selects candidates last used before ``now - older_than_s``;
   ``ci`` selects those cheap to download again.
3. ``max_size_bytes`` then evicts the least recently used of the rest until the caches'
   ``bytes`` (as ``info`` reports them) fit the budget.
4. ``min_free`` is a gate: with another rule, nothing happens while the file system has
   that much free space; alone, it evicts least recently used until it would have.
"""

import fnmatch
import re
from typing import Any, Dict, List, NamedTuple, Optional, Tuple


class Candidate(NamedTuple):
    manager: str
    cache: str  # the cache root
    entry: str  # what is removed, relative to the cache root (shown in the plan)
    package: str  # project name, for --keep
    bytes: int  # apparent bytes, as ``info`` counts them
    freed: int  # bytes really freed
    last_use_ns: int
    cheap: bool  # cheap to download again (removed by --ci)
    ref: Any  # the manager's own handle on the entry


class Selected(NamedTuple):
    candidate: Candidate
    rule: str


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def kept_by(candidate: Candidate, patterns: List[str]) -> Optional[str]:
    """The keep pattern that protects ``candidate`` (package names, globs, normalised).

    A pattern with a ``/`` is matched against the entry's path instead (``Python/3.8.*``
    keeps those versions of a runner's tool).
    """
    name = _normalize(candidate.package)
    for pattern in patterns:
        if "/" in pattern:
            if fnmatch.fnmatchcase(candidate.entry.lower(), pattern.lower() + "*"):
                return pattern
        elif fnmatch.fnmatchcase(name, _normalize(pattern)):
            return pattern
    return None


def free_bytes_target(min_free: List[Any], total_bytes: int) -> int:
    kind, value = min_free
    return int(total_bytes * value / 100.0) if kind == "percent" else int(value)


def protect(candidates: List[Candidate], keep: List[str]
            ) -> Tuple[List[Candidate], List[Tuple[Candidate, str]]]:
    """Split candidates into those rules may take and those a keep pattern protects."""
    protected = [(c, p) for c in candidates for p in [kept_by(c, keep)] if p]
    ids = {id(c) for c, _ in protected}
    return [c for c in candidates if id(c) not in ids], protected


def select(candidates: List[Candidate], policy: Dict[str, Any], now_ns: int,
           cache_bytes: int) -> Tuple[List[Selected], List[str]]:
    """Age, CI and budget rules over unprotected candidates: (selected, notes)."""
    notes: List[str] = []
    chosen: List[Selected] = []
    taken = set()
    if policy.get("older_than_s"):
        cutoff = now_ns - int(policy["older_than_s"]) * 10 ** 9
        for c in candidates:
            if c.last_use_ns < cutoff:
                chosen.append(Selected(c, f"older than {_span(policy['older_than_s'])}"))
                taken.add(id(c))
    if policy.get("ci"):
        for c in candidates:
            if c.cheap and id(c) not in taken:
                chosen.append(Selected(c, "cheap to download again (--ci)"))
                taken.add(id(c))
    if policy.get("max_size_bytes") is not None:
        budget = int(policy["max_size_bytes"])
        left = cache_bytes - sum(s.candidate.bytes for s in chosen)
        for c in lru(c for c in candidates if id(c) not in taken):
            if left <= budget:
                break
            chosen.append(Selected(c, "over the --max-size budget (least recently used)"))
            left -= c.bytes
        if left > budget:
            notes.append(f"the --max-size budget cannot be met: {left} B would remain in "
                         "entries that are kept or cannot be removed")
    return chosen, notes


def evict_for_space(candidates: List[Candidate], shortfall: int
                    ) -> Tuple[List[Selected], List[str]]:
    """``--min-free`` alone: least recently used first, until ``shortfall`` bytes are freed."""
    chosen: List[Selected] = []
    freed = 0
    for c in lru(candidates):
        if freed >= shortfall:
            break
        chosen.append(Selected(c, "below --min-free (least recently used)"))
        freed += c.freed
    notes = []
    if freed < shortfall:
        notes.append(f"--min-free cannot be met: removing everything allowed frees {freed} B "
                     f"of the {shortfall} B needed")
    return chosen, notes


def lru(candidates: Any) -> List[Candidate]:
    """Least recently used first; ties in a stable order (by cache and entry)."""
    return sorted(candidates, key=lambda c: (c.last_use_ns, c.cache, c.entry))


def _span(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

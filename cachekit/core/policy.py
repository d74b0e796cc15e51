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
import heapq
import os
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
)

from .names import normalize


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


CI_RULE = "cheap to download again (--ci)"
BUDGET_RULE = "over the --max-size budget (least recently used)"
FREE_RULE = "below --min-free (least recently used)"


def older_rule(seconds: int) -> str:
    return f"older than {_span(seconds)}"


def kept_by(candidate: Candidate, patterns: List[str]) -> Optional[str]:
    """The keep pattern that protects ``candidate`` (package names, globs, normalised).

    A pattern with a ``/`` is matched against the entry's path instead (``Python/3.8.*``
    keeps those versions of a runner's tool).
    """
    return kept_by_name(candidate.package, candidate.entry, patterns)


def kept_by_name(package: str, entry: str, patterns: List[str]) -> Optional[str]:
    name = normalize(package)
    for pattern in patterns:
        if "/" in pattern:
            if fnmatch.fnmatchcase(entry.lower(), pattern.lower() + "*"):
                return pattern
        elif fnmatch.fnmatchcase(name, normalize(pattern)):
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


class Pool:
    """Many entries of one cache as parallel arrays, ranked without an object per entry.

    What selection takes from a pool is a criterion (``rule_for``), not a list: the
    manager's walk applies it again, entry by entry, to list or remove them.
    """

    def __init__(self, manager: str, cache: str, last: Any, size: Any, freed: Any, tie: Any,
                 cheap: Any) -> None:
        self.manager, self.cache = manager, cache
        self.last, self.size, self.freed, self.tie, self.cheap = last, size, freed, tie, cheap
        self.taken = bytearray(len(last))
        self.criterion: Dict[str, Any] = {}
        self.tally: Dict[str, List[int]] = {}  # rule -> [entries, bytes, freed, newest use]

    def take(self, i: int, rule: str) -> None:
        self.taken[i] = 1
        t = self.tally.setdefault(rule, [0, 0, 0, 0])
        t[0] += 1
        t[1] += self.size[i]
        t[2] += self.freed[i]
        t[3] = max(t[3], self.last[i])

    @property
    def chosen(self) -> int:
        return sum(t[0] for t in self.tally.values())

    def taken_bytes(self, field: str = "size") -> int:
        return sum(t[1 if field == "size" else 2] for t in self.tally.values())

    def _lru_keys(self) -> List[int]:
        """Entries not yet taken, least recently used first, as ``last << 96 | tie << 32 |
        index``: one int each, sorted in C."""
        taken = self.taken
        return sorted((self.last[i] << 96) | (self.tie[i] << 32) | i
                      for i in range(len(self.last)) if not taken[i])

    def lru(self) -> Iterator[Tuple[Tuple[Any, ...], Any]]:
        """Entries not yet taken, least recently used first: ((last, cache, 1, tie), (self, i))."""
        mask = (1 << 64) - 1
        for k in self._lru_keys():
            yield (k >> 96, self.cache, 1, (k >> 32) & mask), (self, k & 0xFFFFFFFF)

    def take_lru(self, left: int, budget: int, rule: str) -> int:
        """``select``'s budget loop when this pool is all there is to rank: take entries
        least recently used first while ``left`` bytes exceed ``budget``; return what is
        left. The same choice as the loop over ``lru``, without a tuple and two calls per
        entry (half a million of them in a million-file cache)."""
        size, freed, taken = self.size, self.freed, self.taken
        count = total = total_freed = 0
        final = -1
        for k in self._lru_keys():
            if left <= budget:
                break
            i = k & 0xFFFFFFFF
            taken[i] = 1
            left -= size[i]
            total += size[i]
            total_freed += freed[i]
            count += 1
            final = k
        if count:
            t = self.tally.setdefault(rule, [0, 0, 0, 0])
            t[0] += count
            t[1] += total
            t[2] += total_freed
            t[3] = max(t[3], final >> 96)
            self.criterion["lru_upto"] = [final >> 96, (final >> 32) & ((1 << 64) - 1)]
            self.criterion["lru_rule"] = rule
        return left


def rule_for(criterion: Dict[str, Any], last: int, tie: int, cheap: bool) -> Optional[str]:
    """The rule that takes an entry of a pool under ``criterion``, or None."""
    before = criterion.get("older_before_ns")
    if before is not None and last < before:
        return criterion["older_rule"]
    if criterion.get("ci") and cheap:
        return CI_RULE
    upto = criterion.get("lru_upto")
    if upto is not None and (last, tie) <= (upto[0], upto[1]):
        return criterion["lru_rule"]
    return None


def _ranked(candidates: Iterable[Candidate], pools: Sequence[Pool]) -> Iterator[Any]:
    objects = (((c.last_use_ns, c.cache, 0, c.entry), c) for c in lru(candidates))
    return heapq.merge(objects, *[p.lru() for p in pools], key=lambda item: item[0])


def _take_ranked(item: Any, rule: str, chosen: List["Selected"]) -> Tuple[int, int]:
    """Take one ranked item (object or pool entry); return its (bytes, freed)."""
    key, ref = item
    if isinstance(ref, Candidate):
        chosen.append(Selected(ref, rule))
        return ref.bytes, ref.freed
    pool, i = ref
    pool.take(i, rule)
    pool.criterion["lru_upto"] = [key[0], key[3]]
    pool.criterion["lru_rule"] = rule
    return pool.size[i], pool.freed[i]


def select(candidates: List[Candidate], policy: Dict[str, Any], now_ns: int,
           cache_bytes: int, pools: Sequence[Pool] = ()) -> Tuple[List[Selected], List[str]]:
    """Age, CI and budget rules over unprotected candidates: (selected, notes)."""
    notes: List[str] = []
    chosen: List[Selected] = []
    taken = set()
    if policy.get("older_than_s"):
        cutoff = now_ns - int(policy["older_than_s"]) * 10 ** 9
        for c in candidates:
            if c.last_use_ns < cutoff:
                chosen.append(Selected(c, older_rule(policy["older_than_s"])))
                taken.add(id(c))
        for p in pools:
            p.criterion.update(older_before_ns=cutoff,
                               older_rule=older_rule(policy["older_than_s"]))
            for i, last in enumerate(p.last):
                if last < cutoff:
                    p.take(i, p.criterion["older_rule"])
    if policy.get("ci"):
        for c in candidates:
            if c.cheap and id(c) not in taken:
                chosen.append(Selected(c, CI_RULE))
                taken.add(id(c))
        for p in pools:
            p.criterion["ci"] = True
            for i, cheap in enumerate(p.cheap):
                if cheap and not p.taken[i]:
                    p.take(i, CI_RULE)
    if policy.get("max_size_bytes") is not None:
        budget = int(policy["max_size_bytes"])
        left = cache_bytes - sum(s.candidate.bytes for s in chosen) \
            - sum(p.taken_bytes() for p in pools)
        rest = [c for c in candidates if id(c) not in taken]
        if not rest and len(pools) == 1:  # one cache's entries: no merge to make
            left = pools[0].take_lru(left, budget, BUDGET_RULE)
        else:
            for item in _ranked(rest, pools):
                if left <= budget:
                    break
                left -= _take_ranked(item, BUDGET_RULE, chosen)[0]
        if left > budget:
            notes.append(f"the --max-size budget cannot be met: {left} B would remain in "
                         "entries that are kept or cannot be removed")
    return chosen, notes


def evict_for_space(candidates: List[Candidate], shortfall: int, pools: Sequence[Pool] = ()
                    ) -> Tuple[List[Selected], List[str]]:
    """``--min-free`` alone: least recently used first, until ``shortfall`` bytes are freed."""
    chosen: List[Selected] = []
    freed = 0
    for item in _ranked(candidates, pools):
        if freed >= shortfall:
            break
        freed += _take_ranked(item, FREE_RULE, chosen)[1]
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


class Scope:
    """One cache's part in a prune: its candidates, its size, how to plan its removal."""

    def __init__(self, manager: str, root: str, record: Any, cache_bytes: int,
                 candidates: List[Candidate],
                 plan: Callable[[List[Selected]], Any], fixed: bool = False) -> None:
        self.manager, self.root, self.record = manager, root, record
        self.cache_bytes, self.candidates, self.plan = cache_bytes, candidates, plan
        self.dev = os.lstat(root).st_dev
        # ``fixed``: the cache has a rule of its own (the tool cache: older patches,
        # incomplete downloads); its candidates carry that rule in ``ref[1]`` and are
        # taken whatever the policy's age and size rules say
        self.fixed = fixed
        # ``pool``: entries too many for an object each (pip); planned by ``plan_pool``
        self.pool: Optional[Pool] = None
        self.plan_pool: Optional[Callable[[Pool], Dict[str, Any]]] = None
        self.rows_of_pool: Optional[Callable[[Pool, Dict[str, Any]],
                                             List[Dict[str, Any]]]] = None
        self.kept: List[Dict[str, Any]] = []
        self.kept_more = 0

"""Every walk one conda plan needs, in one fan-out: the package directories it must size
(``lstat`` of every file) and the temp and trash file searches (names only).

Why one: ``clean --all`` in a root-prefix install sizes the unused packages and searches
the rest of the root for temp files; run one after the other, each paid its own serial
start and its own wait for the slowest worker, and the cores idled in between. Here both
kinds of job share one pool. A directory is read once: a search skips the directories
being sized (their walk notes the temp files in them), and searches of one top for
several kinds of file (``--tempfiles`` and ``--trash``) are one walk, split by suffix.
The trash search has always listed the sized directories by name too (their walk notes
temp files, not trash), so with ``--trash`` that one walk enters them as well.
"""

from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Set, Tuple

from ...fs import subtree
from ...fs.fan_out import fan_out
from ...fs.subtree import Stats
from ...wire import Request
from . import loose
from .location import CondaLocation

Found = Tuple[List[str], List[Tuple[str, str]]]  # (matching paths, sorted; errors)


class Search(NamedTuple):
    """Files named with ``suffixes`` under ``top`` (real path), outside ``skip``."""

    what: str  # "tempfiles" or "trash"
    top: str
    skip: Set[str]  # absolute directories left out
    suffixes: Tuple[str, ...]


class _Walked(NamedTuple):
    """One job's outcome; ``files`` and ``bytes`` feed the progress meter."""

    key: int  # the stat job list's index, or the search group's
    stats: Optional[Stats]
    found: List[str]
    errors: List[Tuple[str, str]]
    files: int
    bytes: int


def run(sized: List[List[subtree.Job]], searches: List[Search],
        parallel: Optional[bool] = None) -> Tuple[List[Dict[str, Stats]], Dict[Tuple[str, str],
                                                                                 Found]]:
    """Walk ``sized`` (one list of ``subtree.walk_dir`` jobs per cache) and search
    ``searches``: each cache's stats by rel, and each search's result by (what, top)."""
    groups: Dict[str, List[Search]] = {}
    for s in searches:
        groups.setdefault(s.top, []).append(s)
    tops = list(groups)
    # a group's walk leaves out only what every search of the group leaves out
    common = [set.intersection(*(set(s.skip) for s in groups[t])) for t in tops]
    suffixes = [tuple(dict.fromkeys(x for s in groups[t] for x in s.suffixes)) for t in tops]
    found: List[List[str]] = []
    errors: List[List[Tuple[str, str]]] = []
    # ("find", group, directory) or ("stat", cache, subtree.Job): small tuples, as
    # fan_out orders jobs by their repr (a skip set in each would be written out hundreds
    # of times)
    jobs: List[Tuple[str, int, Any]] = []
    for key, top in enumerate(tops):  # the upper levels are listed here, the rest in jobs
        matches, errs, below = loose.search_jobs(top, common[key], suffixes[key])
        found.append(matches)
        errors.append(errs)
        jobs += [("find", key, d) for d in below]
    jobs += [("stat", key, job) for key, cache in enumerate(sized) for job in cache]

    def work(job: Tuple[str, int, Any]) -> _Walked:
        kind, key, arg = job
        if kind == "stat":
            st = subtree.walk_dir(arg)
            return _Walked(key, st, [], [], st.files, st.bytes)
        more, errs = loose.find_below((arg, common[key], suffixes[key]))
        return _Walked(key, None, more, errs, 0, 0)

    stats: List[Dict[str, Stats]] = [{} for _ in sized]
    for done in fan_out(work, jobs, parallel):
        if done.stats is not None:
            stats[done.key][done.stats.rel] = done.stats
        else:
            found[done.key] += done.found
            errors[done.key] += done.errors
    # each cache's stats in its jobs' order, as ``cache.walk_many`` gives them
    ordered = [{job[1]: got[job[1]] for job in cache} for cache, got in zip(sized, stats)]
    out: Dict[Tuple[str, str], Found] = {}
    for key, top in enumerate(tops):
        for s in groups[top]:
            own = sorted(set(s.skip) - common[key])
            out[(s.what, top)] = (
                sorted(f for f in found[key] if f.endswith(s.suffixes) and not _under(f, own)),
                [e for e in errors[key] if not _under(e[0], own)])
    return ordered, out


def searches(request: Request, loc: CondaLocation, flags: Tuple[str, ...],
             walked: Iterable[str]) -> List[Search]:
    """The searches ``loose.loose_files`` will need: temp files outside the directories
    ``walked`` for the plan (their walk notes the temp files in them), trash files
    everywhere under their tops (as before this module: a walked directory too)."""
    out = []
    for what in [w for w in loose.LOOSE if w in flags]:
        for path, _source in loose.loose_tops(request, loc, what):
            top = loose.real_dir(path)
            skip = set(loose.walked_under(top, walked)) if what == "tempfiles" else set()
            out.append(Search(what, top, skip, loose.LOOSE[what][0]))
    return out


def _under(path: str, dirs: List[str]) -> bool:
    return any(path == d or path.startswith(d + "/") for d in dirs)

"""Share a walk's subtrees out: serially for a small tree, else over forked processes or
GNU finds, whichever the first subtrees show costs less.

Standard library only, Python 3.8+: this module is shipped to remote hosts.

Why processes: on a small Linux box one ``os.scandir`` pass already runs at ``du`` speed
(the time is the kernel's); threads only add GIL hand-offs, while forked processes (see
``forked``), one depth-2 subtree at a time, walk in parallel.
"""

import os
import sys
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ..meter import METER, figures
from . import forked
from .walker_choice import DECIDE_S, WORTH_DECIDING_S, find_pays, walker_choice

# Subtrees go to a pool of workers only when there are enough of them to share and the
# rest of the walk looks long enough to repay forking (see fan_out).
_MIN_PARALLEL_TASKS = 4
_SAMPLE_S = 0.01
_WORTH_FORKING_S = 0.03
_MAX_WORKERS = 8


def _fork_available() -> bool:
    return sys.platform.startswith("linux") and forked.usable_cpus() > 1


# find_walker(jobs, processes) -> (results of the jobs find walked, jobs left for Python)
FindWalker = Callable[[List[Any], int], Tuple[List[Any], List[Any]]]


def _find_available() -> bool:
    from . import gnu_find

    return gnu_find.find_program() is not None


def fan_out(worker: Callable[[Any], Any], jobs: Sequence[Any],
            parallel: Optional[bool], find_walker: Optional[FindWalker] = None) -> List[Any]:
    """Run ``worker`` over ``jobs``: serially for a small tree, else over forked processes,
    or (given ``find_walker``, the same walk by GNU find) over finds when they cost less.

    Forking costs a few milliseconds, more than walking a few hundred files. So jobs
    start serially, in a mixed order (a fair sample of subtree sizes); after
    ``_SAMPLE_S`` of CPU time the rest is shared out only if it looks like more than
    ``_WORTH_FORKING_S`` of work. ``parallel`` forces one way (tests cover both).
    The same sample, split into user and system CPU, chooses the walker (``find_pays``);
    ``CACHEKIT_WALKER`` forces one.
    """
    pending = list(jobs)
    if METER.on:  # progress and Ctrl-C are heard once per subtree, never per file
        worker = _metered(worker)
    mode = walker_choice() if find_walker is not None else "python"
    if find_walker is not None and mode == "find":
        processes = 1 if parallel is False else _processes(len(pending))
        return _by_find(worker, find_walker, pending, processes)
    can_fork = _fork_available()
    if parallel is False or not (can_fork or (mode == "auto" and parallel is None)):
        return [worker(job) for job in pending]
    results: List[Any] = []
    if parallel is None:
        # Listings group subtrees by bucket; their reversed names (hash digits last) mix
        # buckets, so the first jobs are a fair sample of sizes.
        pending.sort(key=lambda job: repr(job)[::-1])
        # CPU time, not wall time: on a busy host the clock runs on while we wait for a
        # core, and a small tree would look big enough to fork for.
        started, before, done = time.process_time(), os.times(), 0
        sample_s, deciding = _SAMPLE_S, mode == "auto"
        while pending:
            elapsed = time.process_time() - started
            if done and elapsed >= sample_s and len(pending) >= _MIN_PARALLEL_TASKS:
                rest = elapsed / done * len(pending)
                if rest > _WORTH_FORKING_S:
                    if not (deciding and sample_s < DECIDE_S and rest > WORTH_DECIDING_S):
                        break
                    sample_s = DECIDE_S  # a long walk: sample enough to choose a walker
            results.append(worker(pending.pop()))
            done += 1
        if pending and find_walker is not None and sample_s == DECIDE_S:
            after = os.times()
            if (find_pays(after.user - before.user, after.system - before.system)
                    and _find_available()):
                return results + _by_find(worker, find_walker, pending,
                                          _processes(len(pending)))
    if not pending:
        return results
    if not can_fork:
        return results + [worker(job) for job in pending]
    return results + forked.run(worker, pending, _processes(len(pending)))


def _processes(jobs: int) -> int:
    if not _fork_available():
        return 1
    return max(1, min(jobs, forked.usable_cpus(), _MAX_WORKERS))


def _by_find(worker: Callable[[Any], Any], find_walker: FindWalker, jobs: List[Any],
             processes: int) -> List[Any]:
    """``jobs`` by ``processes`` finds at once; what find could not walk cleanly (or at
    all: no GNU find here) by ``worker`` over forked processes."""
    results, left = find_walker(jobs, processes)
    if left:
        results += forked.run(worker, left, min(len(left), processes))
    return results


def _metered(worker: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def metered(job: Any) -> Any:
        found = worker(job)
        METER.add(*figures(found))
        return found

    return metered

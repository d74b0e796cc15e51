"""The same walk as ``walk``'s subtree walkers, streamed by GNU ``find -printf``.

Standard library only, Python 3.8+: this module is shipped to remote hosts.

Why: where the interpreter spends much more user CPU per entry than the kernel spends
listing it (older, slower Pythons), a C walker the host already has streams the same
facts for less, and one ``find`` per core over disjoint subtrees uses every core while
this process only folds records (``walk.fan_out`` decides when that pays).

Why the figures are identical to the pure-Python walker's: every record carries the
``lstat`` fields ``walk`` reads (``-P``: no symlink is followed, a starting point swapped
for one included: it prints as a link, which fails the run), paths are
NUL-terminated and decoded with ``os.fsdecode`` as ``os.scandir`` decodes names, times
are parsed into integer nanoseconds without a float in between. Errors are identical by
construction: whenever a ``find`` writes anything to stderr, exits non-zero, or prints
a record this module does not expect (unreadable or vanished directory, vanished file,
anything), all its output is discarded and its subtrees are handed back to the caller,
who walks them with the pure-Python walker. Only the order of a Tree's records differs
(find's pre-order against the Python walker's stack), and no caller reads meaning into
it: forked jobs already come back in any order.
"""

import os
import select
import subprocess
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..meter import INTERVAL_S, METER, figures
from .walk import Classifier, Totals, Tree

# One record per entry, numeric fields first, the path (relative to the starting point,
# empty for the starting point itself) last, so a space or newline in a name is just
# part of it. "%y%Y": the type, and for a symlink its target's ("d": a directory).
# "%b": st_blocks in 512-byte units; "%D": st_dev; "%A@"/"%T@": seconds.nanoseconds.
_TOTALS_FORMAT = "%y%Y %s %b %n %D %i %P\\0"
_TREE_FORMAT = "%y%Y %s %b %n %D %i %A@ %T@ %P\\0"
_D, _F, _L = ord("d"), ord("f"), ord("l")

# A find's starting points are cut into runs whose arguments stay far below ARG_MAX;
# a run that fails is walked again in Python, so runs are kept small enough to share
# the cores but no smaller (each costs a fork and an exec).
_MAX_RUN_ARG_BYTES = 64 * 1024

_program: List[Optional[str]] = []  # cached per process: [path or None]


def find_program() -> Optional[str]:
    """The ``find`` on PATH if it is GNU findutils' (its ``--version`` says so), else None."""
    if not _program:
        _program.append(_verified_find())
    return _program[0]


def _verified_find() -> Optional[str]:
    import shutil

    path = shutil.which("find")
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env=_environ(), timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.split(b"\n", 1)[0]
    return path if b"GNU findutils" in first else None


def _environ() -> Dict[str, str]:
    return dict(os.environ, LC_ALL="C")


def _ns(text: bytes) -> int:
    """``%A@``/``%T@`` ("1700000000.1234567890") as integer nanoseconds, exactly.

    GNU find prints ``tv_sec`` then ``tv_nsec`` (so -1.5 s reads "-2.5000000000"); fewer
    than nine decimals would lose precision, so they fail the run (ValueError).
    """
    sec, dot, frac = text.partition(b".")
    if not dot or len(frac) < 9:
        raise ValueError(text)
    return int(sec) * 1000000000 + int(frac[:9])


# Folding records -----------------------------------------------------------------------

class _Run:
    """One ``find`` over some jobs' directories, and what its records folded into so far."""

    def __init__(self, jobs: List[Any]) -> None:
        self.jobs = jobs
        self.results: List[Any] = []  # one per job whose starting record was seen
        self.rest = b""  # an unfinished record from the last read
        self.failed = False
        self.metered = 0  # results already counted on the progress line
        self.process: Optional[subprocess.Popen[bytes]] = None


class _Flavour:
    """What a walk needs from ``find`` and how it folds records into a job's result."""

    format = ""

    def directory(self, job: Any) -> str:
        raise NotImplementedError

    def fold(self, run: _Run, records: List[bytes]) -> None:
        raise NotImplementedError


class _TreeFlavour(_Flavour):
    """``walk._walk_subtree``: a record per entry (plain tuples, as the walker keeps them)."""

    format = _TREE_FORMAT

    def directory(self, job: Tuple[str, str]) -> str:
        return job[0] + "/" + job[1]

    def fold(self, run: _Run, records: List[bytes]) -> None:
        tree: Optional[Tree] = run.results[-1] if run.results else None
        files: List[Any] = tree.files if tree is not None else []
        dirs: List[Any] = tree.dirs if tree is not None else []
        prefix = ""
        if tree is not None:
            prefix = run.jobs[len(run.results) - 1][1] + "/"
        fsdecode = os.fsdecode
        for rec in records:
            kinds, size, blocks, nlink, dev, ino, atime, mtime, path = rec.split(b" ", 8)
            if not path:  # a starting point: the next job begins
                if kinds[0] != _D or len(run.results) >= len(run.jobs):
                    raise ValueError(rec)
                prefix = run.jobs[len(run.results)][1] + "/"
                tree = Tree([], [], [])
                files, dirs = tree.files, tree.dirs
                run.results.append(tree)
                _meter(run)
                continue
            if tree is None:
                raise ValueError(rec)
            kind = kinds[0]
            if kind == _D:
                dirs.append((prefix + fsdecode(path), int(blocks) * 512, True))
                continue
            if kind == _F:
                sort, nbytes = "f", int(size)
            elif kind == _L:
                sort, nbytes = ("L" if kinds[1] == _D else "l"), 0
            else:
                sort, nbytes = "o", int(size)
            files.append((prefix + fsdecode(path), nbytes, int(blocks) * 512, _ns(atime),
                          _ns(mtime), int(nlink), int(dev), int(ino), sort))


class _TotalsFlavour(_Flavour):
    """``walk._total_part``: files folded into the job's classifier keys, no records kept."""

    format = _TOTALS_FORMAT

    def directory(self, job: Tuple[str, Tuple[str, str, Classifier, bool, int]]) -> str:
        return job[1][0] + "/" + job[1][1]

    def fold(self, run: _Run, records: List[bytes]) -> None:
        acc: Optional[Totals] = run.results[-1] if run.results else None
        tops: Dict[bytes, str] = {}
        classify: Optional[Classifier] = None
        rel, key_depth, stat_dirs = "", 1, True
        if acc is not None:
            _part, (_root, rel, classify, stat_dirs, key_depth) = run.jobs[len(run.results) - 1]
        fsdecode = os.fsdecode
        for rec in records:
            kinds, size, blocks, nlink, dev, ino, path = rec.split(b" ", 6)
            if not path:  # a starting point: the next job begins
                if kinds[0] != _D or len(run.results) >= len(run.jobs):
                    raise ValueError(rec)
                part, (_root, rel, classify, stat_dirs, key_depth) = run.jobs[len(run.results)]
                acc = Totals()
                acc.count_blocks, acc.part = stat_dirs, part
                run.results.append(acc)
                tops = {}
                _meter(run)
                continue
            if acc is None or classify is None:
                raise ValueError(rec)
            kind = kinds[0]
            if kind == _D:
                if stat_dirs:
                    acc.blocks += int(blocks) * 512
                continue
            if nlink != b"1":
                acc.linked[(int(dev), int(ino))] = int(blocks) * 512
            else:
                acc.blocks += int(blocks) * 512
            if kind == _F:
                sort, nbytes = "f", int(size)
            elif kind == _L:
                sort, nbytes = ("L" if kinds[1] == _D else "l"), 0
            else:
                sort, nbytes = "o", int(size)
            where, _slash, name = path.rpartition(b"/")
            top = tops.get(where)
            if top is None:  # the entry's directory, as walk._total_dir names its "top"
                parent = rel + "/" + fsdecode(where) if where else rel
                top = tops[where] = (parent.split("/", 1)[0] if key_depth == 1 else
                                     "/".join(parent.split("/")[:key_depth]))
            key = classify(top, fsdecode(name), sort)
            if key is None:
                continue
            count = acc.counts.get(key)
            if count is None:
                acc.counts[key] = [1, nbytes]
            else:
                count[0] += 1
                count[1] += nbytes
            if sort == "f" and nlink != b"1":
                acc.add(key, 1, nbytes, acc.shared)


def _meter(run: _Run) -> None:
    """Count the run's complete jobs on the progress line (each begun job but the last)."""
    if METER.on:
        while run.metered < len(run.results) - 1:
            METER.add(*figures(run.results[run.metered]))
            run.metered += 1


# Running finds ---------------------------------------------------------------------------

def _runs(jobs: Sequence[Any], flavour: _Flavour, processes: int) -> List[_Run]:
    """Jobs dealt round-robin over at least ``processes`` runs, each run's arguments small."""
    size = sum(len(os.fsencode(flavour.directory(job))) + 1 for job in jobs)
    count = max(processes, -(-size // _MAX_RUN_ARG_BYTES))
    count = max(1, min(count, len(jobs)))
    return [_Run(list(jobs[i::count])) for i in range(count)]


def _start(run: _Run, program: str, flavour: _Flavour) -> None:
    starts = []
    for job in run.jobs:
        where = flavour.directory(job)
        # an argument starting with "-" or naming an operator would be read as an expression
        starts.append(where if where.startswith("/") else "./" + where)
    try:
        run.process = subprocess.Popen(
            [program, "-P"] + starts + ["-printf", flavour.format],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=_environ())
    except (OSError, ValueError):
        run.failed = True


def _finish(run: _Run) -> None:
    process = run.process
    if process is None:
        return
    if run.failed and process.poll() is None:
        process.kill()
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
    if process.wait() != 0 or run.rest or len(run.results) != len(run.jobs):
        run.failed = True
    if not METER.on:
        return
    if run.failed:  # its jobs are walked again, and counted again: take back these
        for found in run.results[:run.metered]:
            files, nbytes = figures(found)
            METER.add(-files, -nbytes)
    else:
        for found in run.results[run.metered:]:
            METER.add(*figures(found))


def _fail(run: _Run) -> None:
    if not run.failed and run.process is not None and run.process.poll() is None:
        run.process.kill()
    run.failed = True


def _stream(runs: List[_Run], program: str, flavour: _Flavour, processes: int) -> None:
    """Run ``processes`` finds at a time, folding each one's records as they come."""
    waiting = list(reversed(runs))
    readers: Dict[int, Tuple[_Run, bool]] = {}  # fd -> (run, is stderr)
    open_fds: Dict[int, int] = {}  # id(run) -> pipes still open
    try:
        while waiting or readers:
            while waiting and len(open_fds) < processes:
                run = waiting.pop()
                _start(run, program, flavour)
                if run.process is None:
                    continue
                assert run.process.stdout is not None and run.process.stderr is not None
                readers[run.process.stdout.fileno()] = (run, False)
                readers[run.process.stderr.fileno()] = (run, True)
                open_fds[id(run)] = 2
            if not readers:
                break
            ready, _w, _x = select.select(list(readers), [], [], INTERVAL_S)
            for fd in ready:
                run, is_err = readers[fd]
                chunk = os.read(fd, 1 << 18)
                if chunk and (is_err or run.failed):
                    _fail(run)  # a complaint, or output after one: all discarded
                    continue
                if chunk:
                    records = (run.rest + chunk).split(b"\0")
                    run.rest = records.pop()
                    try:
                        flavour.fold(run, records)
                    except (ValueError, IndexError):
                        _fail(run)
                    continue
                del readers[fd]
                open_fds[id(run)] -= 1
                if not open_fds[id(run)]:
                    del open_fds[id(run)]
                    _finish(run)
            METER.tick()
    finally:  # stopped early (Ctrl-C): leave no find behind
        for run in {id(run): run for run, _is_err in readers.values()}.values():
            if run.process is not None and run.process.returncode is None:
                _fail(run)
                _finish(run)


def _walk(flavour: _Flavour, jobs: Sequence[Any], processes: int
          ) -> Tuple[List[Any], List[Any]]:
    """(results of the jobs ``find`` walked, jobs left for the Python walker)."""
    program = find_program()
    if program is None or not jobs:
        return [], list(jobs)
    runs = _runs(jobs, flavour, processes)
    _stream(runs, program, flavour, max(1, processes))
    results: List[Any] = []
    left: List[Any] = []
    for run in runs:
        if run.failed:
            left += run.jobs
        else:
            results += run.results
    return results, left


def walk_subtrees(jobs: Sequence[Tuple[str, str]], processes: int
                  ) -> Tuple[List[Tree], List[Tuple[str, str]]]:
    """``walk._walk_subtree`` of each ``(root, rel)`` job, by up to ``processes`` finds at
    once: (the trees, in any order; the jobs a find could not walk cleanly)."""
    return _walk(_TreeFlavour(), jobs, processes)


def total_parts(jobs: Sequence[Tuple[str, Tuple[str, str, Classifier, bool, int]]],
                processes: int) -> Tuple[List[Totals], List[Any]]:
    """``walk._total_part`` of each job, as ``walk_subtrees`` does ``_walk_subtree``."""
    return _walk(_TotalsFlavour(), jobs, processes)

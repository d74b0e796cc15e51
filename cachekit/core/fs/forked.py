"""Run jobs in forked copies of this process, each claiming the next job as it frees up.

Why not ``multiprocessing.Pool``: its worker start-up, handler threads and per-job
messages cost 30-50 ms, as much as the walk they share on a small host. Here the jobs'
indices sit in a pipe (reads of 4 bytes are atomic), so claiming a job is one ``read``;
each process sends its results back once, pickled. The calling process works too.

At most ``_PIPE_SLOTS`` indices go into the pipe, which every Linux pipe holds without a
reader (a user over their pipe quota gets one page); more jobs are claimed in batches.
A child that fails loses nothing: the jobs it did not report are run again here, and
when no child can be forked the caller does them all.
"""

import contextlib
import os
import select
import signal
import struct
from typing import Any, Callable, Dict, List, Sequence, Tuple

from ..meter import INTERVAL_S, METER

_INDEX = struct.Struct("I")
_PIPE_SLOTS = 1024  # 4 KiB of indices: one page


_SHARE = 1  # how many processes of this request share the CPUs (``share_cpus``)


def usable_cpus() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, cpus // _SHARE)


def share_cpus(processes: int) -> None:
    """This process is one of ``processes`` working side by side (``--users``' children):
    its walks fork only its share of the CPUs."""
    global _SHARE
    _SHARE = max(1, processes)


def _claim(worker: Callable[[Any], Any], batches: List[List[Any]], queue: int
           ) -> Tuple[List[int], List[Any]]:
    done: List[int] = []
    results: List[Any] = []
    while True:
        raw = os.read(queue, _INDEX.size)
        if len(raw) < _INDEX.size:
            return done, results
        index = _INDEX.unpack(raw)[0]
        results += [worker(job) for job in batches[index]]
        done.append(index)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _gather(fds: List[int]) -> Dict[int, bytes]:
    """Everything each child sends, read as it comes; the meter ticks while we wait."""
    chunks: Dict[int, List[bytes]] = {fd: [] for fd in fds}
    open_fds = list(fds)
    while open_fds:
        ready, _w, _x = select.select(open_fds, [], [], INTERVAL_S)
        for fd in ready:
            chunk = os.read(fd, 1 << 20)
            if chunk:
                chunks[fd].append(chunk)
            else:
                open_fds.remove(fd)
        METER.tick()
    return {fd: b"".join(parts) for fd, parts in chunks.items()}


def _batches(jobs: Sequence[Any]) -> List[List[Any]]:
    """Consecutive runs of jobs, at most ``_PIPE_SLOTS`` of them."""
    size = -(-len(jobs) // _PIPE_SLOTS)
    return [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]


def run(worker: Callable[[Any], Any], jobs: Sequence[Any], processes: int) -> List[Any]:
    """``[worker(job) for job in jobs]`` in any order, over ``processes`` processes."""
    if processes < 2 or len(jobs) < 2:
        return [worker(job) for job in jobs]
    import pickle  # only when there is something to send back
    batches = _batches(jobs)
    queue, feed = os.pipe()
    try:
        _write_all(feed, b"".join(_INDEX.pack(i) for i in range(len(batches))))
    finally:
        os.close(feed)
    children: List[Tuple[int, int]] = []
    METER.share(processes - 1)
    try:
        for index in range(1, processes):
            try:
                reply, send = os.pipe()
            except OSError:
                break
            try:
                pid = os.fork()
            except OSError:  # no process to spare: this one does the rest
                os.close(reply)
                os.close(send)
                break
            if pid == 0:  # the child: work, send everything back once, leave at once
                code = 1
                try:
                    os.close(reply)
                    METER.become_child(index)
                    _write_all(send, pickle.dumps(_claim(worker, batches, queue), protocol=4))
                    code = 0
                finally:
                    os._exit(code)
            os.close(send)
            children.append((pid, reply))
        done, results = _claim(worker, batches, queue)
        finished = set(done)
        replies = _gather([reply for _pid, reply in children])
        while children:
            pid, reply = children[-1]
            data = replies[reply]
            os.close(reply)
            status = _reap(pid)
            children.pop()
            if status == 0 and data:
                more_done, more = pickle.loads(data)
                finished.update(more_done)
                results += more
        # whatever a failed child had claimed is done here
        for i in range(len(batches)):
            if i not in finished:
                results += [worker(job) for job in batches[i]]
        return results
    finally:
        METER.unshare()
        os.close(queue)
        for pid, reply in children:  # only after an exception here: stop the rest
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            _reap(pid)
            with contextlib.suppress(OSError):
                os.close(reply)


def _reap(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:  # SIGCHLD ignored: the child was reaped for us
        return 0

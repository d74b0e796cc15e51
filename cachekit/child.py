"""The core in a child process on this machine (``local`` when it becomes another user, or
when it is not run in-process), read as a remote host's output is: stdout capped, stderr
drained alongside into a bounded tail, a deadline, and sudo's handshake when the child is
started through it. Every failure becomes a ``protocol.HostFailure``.
"""

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from cachekit.protocol import OUTPUT_CAP, HostFailure, StderrTail, Stdout

if TYPE_CHECKING:
    from cachekit.become import Handshake


def _interrupt(proc: "subprocess.Popen[bytes]") -> bool:
    """Send a running child Ctrl-C; False when it has already ended."""
    if proc.poll() is not None:
        return False
    try:  # sudo relays it to the core it started; a child we may not signal is cut off
        proc.send_signal(signal.SIGINT)
    except OSError:
        return False
    return True


def run_child(argv: List[str], stdin: bytes, timeout: float,
              cap: int = OUTPUT_CAP, stream: Any = None,
              become: "Optional[Handshake]" = None) -> Tuple[bytearray, List[str], int]:
    """Run ``argv`` with ``stdin``: its capped stdout, stderr tail and exit status.

    Both streams are read as they come (a child that fills its stderr first cannot
    stall), stdin is written by a thread of its own; past the deadline or the cap the
    child is killed and HostFailure raised. A ``progress.Stream`` sees stdout as it
    comes; the child then has a session of its own, and Ctrl-C reaches it only through
    ``stream.stop``, as it reaches a remote core. With ``become`` (``argv`` runs sudo,
    with no terminal to ask on), ``stdin`` is written only once sudo has let the command
    start, after the password when sudo asks for it.
    """
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            start_new_session=stream is not None or become is not None)
    if stream is not None:
        stream.stop = lambda: _interrupt(proc)
    writer = threading.Thread(target=_feed, args=(proc, stdin), daemon=True)
    if become is None:
        writer.start()
    out, err = Stdout(cap), StderrTail()
    deadline = time.monotonic() + timeout
    if become is not None:
        become.begin(deadline)
    try:
        with selectors.DefaultSelector() as sel:
            assert proc.stdout is not None and proc.stderr is not None  # both PIPE above
            sel.register(proc.stdout, selectors.EVENT_READ, out)
            sel.register(proc.stderr, selectors.EVENT_READ, err)
            while sel.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HostFailure("timeout", f"no result within {timeout:g} s",
                                      err.lines())
                for key, _ in sel.select(min(remaining, 1.0)):
                    chunk = os.read(key.fd, 65536)  # what the pipe holds, without waiting
                    if chunk:
                        key.data.add(chunk)
                        if stream is not None and key.data is out:
                            stream.feed(chunk)
                    else:
                        sel.unregister(key.fileobj)
                if become is not None and not become.done:
                    _become_step(proc, become, out, err, writer, not sel.get_map(), deadline)
            remaining = max(0.0, deadline - time.monotonic())
            try:
                status = proc.wait(remaining)
            except subprocess.TimeoutExpired:
                raise HostFailure("timeout", f"no result within {timeout:g} s (the process "
                                  "closed its output but did not exit)", err.lines()) from None
    except HostFailure as exc:
        exc.stderr_tail = exc.stderr_tail or err.lines()
        raise
    finally:
        if proc.poll() is None:
            _end(proc)
        for stream in (proc.stdout, proc.stderr):
            stream.close()
    return out.data, err.lines(), status


def _become_step(proc: "subprocess.Popen[bytes]", become: "Handshake", out: Stdout,
                 err: StderrTail, writer: threading.Thread, ended: bool,
                 deadline: float) -> None:
    """sudo's part of a child's output (``Handshake.advance``): its prompt answered on
    stdin, the writer of the request started once its marker came."""
    def status() -> int:
        try:
            return proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return -1

    answer = become.advance(out.data, err, ended, status)
    if become.done:
        writer.start()
    elif answer:
        assert proc.stdin is not None  # PIPE above
        os.write(proc.stdin.fileno(), answer)


def _end(proc: "subprocess.Popen[bytes]") -> None:
    """Stop a child still running: its stdin closed (sudo, which a user may not signal,
    then stops asking), then killed."""
    with contextlib.suppress(OSError, ValueError):
        if proc.stdin is not None:
            proc.stdin.close()
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def _feed(proc: "subprocess.Popen[bytes]", data: bytes) -> None:
    try:
        stdin = proc.stdin
        if stdin is None:
            return
        stdin.write(data)
        stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass  # the child exited without reading: its status says why

"""Run the core on a remote host over SSH (Fabric), agentless: nothing is installed there.

What travels (the bootstrap, the request, the core's sources) is ``shipping``'s; this
module carries it over one SSH session per run, written to the remote ``python3``'s stdin
in one piece (Invoke's ``in_stream`` would trickle it one character per 10 ms), and reads
both output streams together until the deadline.
Where and how to log in is the host's ``route.Route``; ``ssh_login`` logs in to each SSH
server on the way (host keys checked) and ``jumps`` shares the sessions to jump hosts.
Every failure becomes a status.
"""

import contextlib
import select
import socket
import time
from typing import Any, Callable, Dict, Optional

import paramiko
from fabric import Connection

from cachekit import protocol
from cachekit.become import Handshake
from cachekit.inventory import Host
from cachekit.jumps import JumpSessions
from cachekit.progress import Stream
from cachekit.protocol import (
    READY,
    STDERR_TAIL,
    HostFailure,
    Settings,
    StderrTail,
    Stdout,
    parse_output,
)
from cachekit.route import Route
from cachekit.shipping import (
    MARKER_WAIT_S,
    command_line,
    compressed_core,
    named_interpreter,
    request_line,
    take_marker,
)
from cachekit.ssh_login import login

__all__ = ["STDERR_TAIL", "HostFailure", "Settings", "connect", "parse_output", "run_core"]


def connect(route: Route, settings: Settings, jumps: JumpSessions) -> Connection:
    """An open Fabric connection to the host exactly as ``route`` says (through its jump
    hosts or ProxyCommand, whose sessions ``jumps`` shares between the hosts of a fleet),
    every host key checked; failures raise HostFailure."""
    return login(route.target, settings, jumps.socket_to(route.target))


def run_core(conn: Connection, host: Host, request: Dict[str, Any],
             settings: Settings, stream: Optional[Stream] = None,
             become: Optional[Handshake] = None) -> Dict[str, Any]:
    """Run the shipped core once on an open connection and return its parsed result.

    ``stream`` sees the core's stdout as it arrives (its ``@`` lines: progress), and gets
    a way to send the core Ctrl-C (``stream.stop``). With ``become``, the core starts
    through sudo, and the request is sent only once sudo has let it start.
    """
    command = command_line(host)
    if become is not None:
        command = become.command(command)
    cap = protocol.output_cap(host.vars, settings.output_cap)
    transport = conn.client.get_transport()
    if transport is None or not transport.is_active():
        raise HostFailure("unreachable", "the SSH connection was lost")
    deadline = time.monotonic() + settings.timeout
    try:
        channel = transport.open_session(timeout=settings.connect_timeout)
    except (OSError, paramiko.SSHException, EOFError) as exc:
        raise HostFailure("failed", f"the SSH session broke off: {exc}") from None
    reader = _Reader(channel, deadline, settings.timeout, cap,
                     stream.feed if stream is not None else None)
    try:
        channel.exec_command(command)
        if stream is not None:
            stream.stop = lambda: interrupt(conn, stream.pid, become)
        if become is not None:
            _become(channel, reader, become)
        # A host gone at once (no such interpreter) may close before the request is
        # written: its exit status, not the failed write, says why.
        _send(channel, request_line(request), reader)
        # The host says whether it keeps this core already; 70 kB of sources cross only
        # when it does not (the first run, or a new cachekit).
        marker = reader.first_line(min(deadline, time.monotonic() + MARKER_WAIT_S))
        if marker != READY and not channel.exit_status_ready():
            _send(channel, compressed_core()[1], reader)  # needed, or no answer yet: send them
        if not channel.closed:
            with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                channel.shutdown_write()
        reader.to_end()
        status = reader.exit_status()
        close_session(channel)
    except (OSError, paramiko.SSHException, EOFError) as exc:
        close_session(channel)
        raise HostFailure("failed", f"the SSH session broke off: {exc}",
                          reader.err.lines()) from None
    except HostFailure as exc:
        close_session(channel)
        exc.stderr_tail = exc.stderr_tail or reader.err.lines()
        raise
    out, tail = reader.out.data, reader.err.lines()
    if marker is None:  # a marker after our wait: not output
        marker = take_marker(out)
    cause = f": {tail[-1]}" if tail else ""
    if status in (126, 127):
        raise HostFailure("failed", f"no usable python: {named_interpreter(host)} could not be run "
                          f"({protocol.exit_text(status)}){cause}", tail)
    if marker is None and status != 0:
        raise HostFailure("failed", f"{named_interpreter(host)} did not start cachekit "
                          f"({protocol.exit_text(status)}){cause}", tail)
    return parse_output(out, tail, status, request.get("op"))


def interrupt(conn: Connection, pid: Optional[int], become: Optional[Handshake] = None) -> bool:
    """Ctrl-C for the core on the host: ``kill -INT`` from a second session on the same
    connection, so that the core stops between two removals and still sends its result.
    (SSH's own "signal" request is refused by OpenSSH for root logins.) Only a core that
    applies a plan says its pid; one that only reads is simply cut off. A core started
    through sudo is another user's: the kill goes through sudo too, as that user."""
    transport = conn.client.get_transport()
    if pid is None or transport is None:
        return False
    command = f"kill -INT {int(pid)}"
    shake = become.again() if become is not None else None
    try:
        channel = transport.open_session(timeout=5)
        channel.exec_command(shake.command(command) if shake is not None else command)
        if shake is not None:
            _become(channel, _Reader(channel, time.monotonic() + 5, 5, 1024 * 1024), shake)
        sent = channel.status_event.wait(5) and channel.exit_status == 0
        channel.close()
        return sent
    except (OSError, paramiko.SSHException, EOFError, HostFailure):  # gone, or sudo said no
        return False


def _become(channel: paramiko.Channel, reader: "_Reader", shake: Handshake) -> None:
    """sudo's part of the session (``Handshake.advance``): its prompt answered on the
    session's stdin (the password crosses only here), until its marker says the core
    starts; a sudo that does not start it within ``shake.wait`` fails the host."""
    shake.begin(reader.deadline)
    while True:
        answer = shake.advance(reader.out.data, reader.err, reader.out_done and reader.err_done,
                               reader.exit_status)
        if shake.done:
            return
        if answer:
            _send(channel, answer, reader)
        else:
            reader.more(shake.deadline)


def close_session(channel: paramiko.Channel) -> None:
    """Close a session whose connection may be gone already: paramiko then raises
    EOFError from close() itself, which would turn a host's clear failure (the output
    cap, a timeout) into an "internal error"."""
    with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
        channel.close()


def _send(channel: paramiko.Channel, data: bytes, reader: "_Reader") -> None:
    """Write to the host's stdin, draining its output whenever its window is full (a
    host that writes before it reads cannot stall us). A host that stopped reading is
    not an error here: its output and exit status say what happened."""
    sent = 0
    while sent < len(data) and time.monotonic() < reader.deadline:
        if channel.closed or channel.exit_status_ready():
            return
        if not channel.send_ready():
            reader.pump_briefly()
            continue
        channel.settimeout(0.0)
        try:
            sent += channel.send(data[sent:sent + 32768])
        except socket.timeout:
            continue
        except (OSError, paramiko.SSHException, EOFError):
            return


class _Reader:
    """Both streams of one remote run, read together as they come, until the deadline.

    stdout is kept up to the cap (past it the run fails); stderr is drained into a
    bounded tail, so a host that writes megabytes there cannot fill the SSH window and
    stall its own stdout, nor grow the controller.
    """

    def __init__(self, channel: paramiko.Channel, deadline: float, limit: float,
                 cap: int, on_output: Optional[Callable[[bytes], None]] = None) -> None:
        self.channel = channel
        self.on_output = on_output  # sees stdout as it comes: progress lines
        self.deadline = deadline
        self.limit = limit
        self.out = Stdout(cap)
        self.err = StderrTail()
        self.out_done = self.err_done = False
        self.ready = channel.fileno()  # readable when either stream has data, or at EOF

    def first_line(self, until: float) -> Optional[bytes]:
        """The bootstrap's first line if it is ``@need`` or ``@ready`` (taken out of the
        output); else None, and whatever came stays output for the usual checks."""
        while len(self.out.data) < 8 and b"\n" not in self.out.data and not self.out_done:
            if not self._pump(until):
                return None
        return take_marker(self.out.data)

    def to_end(self) -> None:
        while not (self.out_done and self.err_done):
            if not self._pump(self.deadline):
                self._timeout()

    def exit_status(self) -> int:
        """The exit status; a host that closed its output but never exits times out."""
        if not self.channel.status_event.wait(max(0.0, self.deadline - time.monotonic())):
            self._timeout()
        return self.channel.recv_exit_status()

    def more(self, until: float = float("inf")) -> None:
        """Wait for more of either stream (or their end), until ``until`` at most; past
        the run's deadline, time out."""
        if not self._pump(min(until, self.deadline)) and time.monotonic() >= self.deadline:
            self._timeout()

    def pump_briefly(self) -> None:
        """Read what came, waiting a moment for something (while stdin cannot be sent)."""
        if not (self.out_done and self.err_done):
            self._pump(min(self.deadline, time.monotonic() + 0.05))
        else:
            time.sleep(0.05)

    def _timeout(self) -> None:
        close_session(self.channel)
        raise HostFailure("timeout", f"no result within {self.limit:g} s (--timeout)",
                          self.err.lines())

    def _pump(self, until: float) -> bool:
        """Read what either stream has, waiting for some until ``until``; False when that
        passed with nothing new."""
        while True:
            got = False
            self.channel.settimeout(0.0)
            for stream in ("out", "err"):
                if getattr(self, f"{stream}_done"):
                    continue
                receive = self.channel.recv if stream == "out" else self.channel.recv_stderr
                try:
                    chunk = receive(65536)
                except socket.timeout:
                    continue
                if chunk:
                    getattr(self, stream).add(chunk)
                    if stream == "out" and self.on_output is not None:
                        self.on_output(chunk)
                else:
                    setattr(self, f"{stream}_done", True)
                got = True
            if got or (self.out_done and self.err_done):
                return True
            remaining = until - time.monotonic()
            if remaining <= 0:
                return False
            select.select([self.ready], [], [], min(remaining, 1.0))

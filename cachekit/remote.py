"""Run the core on a remote host over SSH (Fabric), agentless: nothing is installed there.

The core's sources travel on every run, compressed, written to the remote ``python3``'s
stdin in one piece (Invoke's ``in_stream`` would trickle them one character per 10 ms);
a small bootstrap passed with ``-c`` keeps a copy named by their digest under the remote
user's cache directory (reported as ``core_copy``), or imports them from memory where it
cannot write, and prints one JSON result.
Host keys are checked against known_hosts (and ``UserKnownHostsFile`` from ssh_config);
an unknown or changed key is refused unless ``accept_new`` records a new one, as
OpenSSH's ``StrictHostKeyChecking=accept-new`` does. Every failure becomes a status.
"""

import contextlib
import hashlib
import json
import os
import select
import shlex
import socket
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import paramiko
from fabric import Connection

from cachekit import protocol
from cachekit.inventory import Host
from cachekit.progress import Stream
from cachekit.protocol import (
    NEED,
    READY,
    STDERR_TAIL,
    HostFailure,
    Settings,
    StderrTail,
    Stdout,
    parse_output,
)

__all__ = ["STDERR_TAIL", "HostFailure", "Settings", "connect", "parse_output", "run_core"]

CORE_DIR = Path(__file__).resolve().parent / "core"

# Runs on the remote python3 (3.8+). It keeps a copy of the shipped core, named by its
# digest, in $XDG_CACHE_HOME/cachekit (or ~/.cache/cachekit; a host's cachekit_env may set
# XDG_CACHE_HOME), so that Python reuses compiled .pyc files instead of compiling 50 kB
# of source on every run (about 10 ms a host); it imports from memory when that
# directory cannot be written. The copy is trusted as the user's own files are: whoever
# can write there can already edit that user's shell start-up files.
BOOTSTRAP = """\
import json, os, sys, time, zlib
if sys.version_info < (3, 8):
    sys.stderr.write("cachekit needs python3 >= 3.8 on this host, found %s\\n" % sys.version)
    sys.exit(3)
request = json.loads(sys.stdin.buffer.readline().decode("utf-8"))
base = (request.get("environ") or {}).get("XDG_CACHE_HOME") or os.environ.get("XDG_CACHE_HOME", "")
base = base.strip()
if not base.startswith("/"):
    base = os.path.join(os.path.expanduser("~"), ".cache")
target = os.path.join(base, "cachekit", "core-" + request["core_digest"])
ready = os.path.isfile(os.path.join(target, "COMPLETE"))
if ready:
    try:
        os.utime(target)  # in use: not an old copy another version may clear
    except OSError:
        pass
sys.stdout.write("@ready\\n" if ready else "@need\\n")  # the sources come only if needed
sys.stdout.flush()
body = b"" if ready else sys.stdin.buffer.read()
if not ready:
    blob = json.loads(zlib.decompress(body).decode("utf-8"))
    tmp = "%s.tmp%d" % (target, os.getpid())
    try:
        for name, src in blob["modules"].items():
            path = os.path.join(tmp, *name.split("."))
            path += "/__init__.py" if name in blob["packages"] else ".py"
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(src)
        open(os.path.join(tmp, "COMPLETE"), "w").close()
        os.rename(tmp, target)
        for old in os.listdir(os.path.dirname(target)):  # earlier copies, a day unused
            old_path = os.path.join(os.path.dirname(target), old)
            if old.startswith("core-") and len(old) == 21 and old != os.path.basename(target) \
                    and os.stat(old_path).st_mtime < time.time() - 86400:
                import shutil
                shutil.rmtree(os.path.join(os.path.dirname(target), old), ignore_errors=True)
    except OSError:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)  # read-only, full, or another run won
if os.path.isfile(os.path.join(target, "COMPLETE")):
    sys.path.insert(0, target)
    request["core_copy"] = target
else:
    from importlib.machinery import ModuleSpec
    blob = json.loads(zlib.decompress(body).decode("utf-8"))
    SRC, PKGS = blob["modules"], set(blob["packages"])
    class Loader:  # finder and loader in one; importlib.abc/util cost ~5 ms to import
        def find_spec(self, name, path=None, target=None):
            if name in SRC:
                spec = ModuleSpec(name, self, is_package=name in PKGS)
                if name in PKGS:
                    spec.submodule_search_locations = []
                return spec
        def create_module(self, spec):
            return None
        def exec_module(self, module):
            exec(compile(SRC[module.__name__], "<cachekit>/" + module.__name__, "exec"),
                 module.__dict__)
    sys.meta_path.insert(0, Loader())
from cachekit.core import agent
sys.stdout.write(json.dumps(agent.run(request, agent.print_progress)) + "\\n")
"""


def _modules() -> Dict[str, str]:
    """Every module of the core, subpackages included, by dotted name (``cachekit`` is
    shipped empty: a host needs only its core)."""
    sources = {"cachekit": ""}
    for path in sorted(CORE_DIR.rglob("*.py")):
        parts = path.relative_to(CORE_DIR.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        sources[name] = path.read_text()
    return sources


def _packages() -> List[str]:
    """The shipped names that are packages: ``cachekit`` and every directory of the core."""
    return ["cachekit"] + sorted(
        ".".join(p.parent.relative_to(CORE_DIR.parent.parent).parts)
        for p in CORE_DIR.rglob("__init__.py"))


_CORE: Optional[Tuple[str, bytes]] = None


_DIGEST: Optional[Tuple[str, Dict[str, str]]] = None


def _digest() -> Tuple[str, Dict[str, str]]:
    """The core's digest (names the copy a host keeps) and its sources, read once."""
    global _DIGEST
    if _DIGEST is None:
        modules = _modules()
        shape = {"modules": modules, "packages": _packages()}
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]
        _DIGEST = (digest, modules)
    return _DIGEST


def _core() -> Tuple[str, bytes]:
    """The digest and the compressed sources, made once per process, and only when a
    host needs them (compressing costs more than a fleet run's whole start-up)."""
    global _CORE
    if _CORE is None:
        digest, modules = _digest()
        blob = {"modules": modules, "packages": _packages()}
        _CORE = (digest, zlib.compress(json.dumps(blob).encode("utf-8"), 6))
    return _CORE


def request_line(request: Dict[str, Any]) -> bytes:
    """The request as one JSON line (JSON never holds a raw newline), naming the core."""
    return json.dumps(dict(request, core_digest=_digest()[0])).encode("utf-8") + b"\n"


class _UnknownKey(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        raise HostFailure("hostkey", f"unknown host key for {hostname} ({key.get_name()}); "
                          "refusing to connect (verify it, then add it to known_hosts, e.g. "
                          "with ssh-keyscan, or pass --accept-new-host-keys)")


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """Record a key never seen before in the user's known_hosts; a changed key still fails."""

    def __init__(self, known_hosts: str) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        os.makedirs(os.path.dirname(self.known_hosts), mode=0o700, exist_ok=True)
        with open(self.known_hosts, "a", encoding="utf-8") as fh:
            fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


def _known_hosts_files(conn: Connection) -> List[str]:
    configured = conn.ssh_config.get("userknownhostsfile")
    if configured:
        files = configured if isinstance(configured, list) else shlex.split(configured)
        return [os.path.expanduser(f) for f in files]
    return [os.path.expanduser("~/.ssh/known_hosts"), os.path.expanduser("~/.ssh/known_hosts2")]


def connect(host: Host, settings: Settings) -> Connection:
    """An open Fabric connection with host keys checked; failures raise HostFailure."""
    connect_kwargs: Dict[str, Any] = {"allow_agent": True, "look_for_keys": True}
    if host.key_file:
        connect_kwargs["key_filename"] = [host.key_file]
    conn = Connection(host.address, user=host.user, port=host.port,
                      connect_timeout=int(max(1, settings.connect_timeout)),
                      connect_kwargs=connect_kwargs)
    files = _known_hosts_files(conn)
    for path in ["/etc/ssh/ssh_known_hosts"] + files:
        if os.path.isfile(path):
            conn.client.load_system_host_keys(path)
    conn.client.set_missing_host_key_policy(
        _AcceptNew(files[0]) if settings.accept_new_host_keys else _UnknownKey())
    try:
        conn.open()
    except HostFailure:
        conn.close()
        raise
    except paramiko.BadHostKeyException as exc:
        conn.close()
        where = exc.hostname
        raise HostFailure("hostkey", f"the host key of {where} CHANGED ({exc.key.get_name()}); "
                          "refusing to connect. If the change is expected, remove the old "
                          f"key with `ssh-keygen -R '{where}'`") from None
    except paramiko.AuthenticationException as exc:
        conn.close()
        raise HostFailure("auth", f"authentication failed for {conn.user}@{host.address}: "
                          f"{exc}") from None
    except (socket.timeout, TimeoutError):
        conn.close()
        raise HostFailure("unreachable", f"no answer from {host.address}:{conn.port} within "
                          f"{settings.connect_timeout:g} s") from None
    except (OSError, paramiko.SSHException, EOFError) as exc:
        conn.close()
        raise HostFailure("unreachable", f"cannot connect to {host.address}:{conn.port}: "
                          f"{_why(exc)}") from None
    return conn


def _why(exc: BaseException) -> str:
    """A short cause: "connection refused" rather than paramiko's "[Errno None] ..."."""
    causes = getattr(exc, "errors", None)  # NoValidConnectionsError: one error per address
    if causes:
        exc = next(iter(causes.values()))
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def interpreter(host: Host) -> List[str]:
    """``ansible_python_interpreter`` as Ansible takes it: a command, with arguments
    (``/usr/bin/env python3``), split as a POSIX shell splits words; each word is quoted
    again when the command is sent, so nothing in it is expanded on the host."""
    value = host.python
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise HostFailure("failed", f"ansible_python_interpreter {value!r} of host {host.name} "
                          f"is not a command ({exc}); quote a path with spaces as a shell "
                          "would") from None
    if not words:
        raise HostFailure("failed", f"ansible_python_interpreter of host {host.name} is empty")
    return words


# Ansible's interpreter discovery values: cachekit runs the first of Ansible's fallback
# list, newest first, that starts and is 3.8 or newer (a version shim may exist and fail).
AUTO = ("auto", "auto_silent", "auto_legacy", "auto_legacy_silent")
AUTO_CANDIDATES = ["python3.13", "python3.12", "python3.11", "python3.10", "python3.9",
                   "python3.8", "/usr/bin/python3", "/usr/libexec/platform-python", "python3"]


def command_line(host: Host) -> str:
    """The shell command that starts the bootstrap with the host's interpreter."""
    if host.python.strip() in AUTO:
        tried = " ".join(AUTO_CANDIDATES)
        works = shlex.quote("import sys; sys.exit(sys.version_info < (3, 8))")
        return (f"for p in {tried}; do if \"$p\" -c {works} >/dev/null 2>&1; then exec "
                f"\"$p\" -c {shlex.quote(BOOTSTRAP)}; fi; done; "
                f"echo 'no python 3.8+ found (tried {tried})' >&2; exit 127")
    return " ".join(shlex.quote(w) for w in interpreter(host) + ["-c", BOOTSTRAP])


def _named(host: Host) -> str:
    if "ansible_python_interpreter" in host.vars:
        return f"the python interpreter {host.python!r} (ansible_python_interpreter)"
    return (f"the python interpreter {host.python!r} (the default; set "
            "ansible_python_interpreter)")


def run_core(conn: Connection, host: Host, request: Dict[str, Any],
             settings: Settings, stream: Optional[Stream] = None) -> Dict[str, Any]:
    """Run the shipped core once on an open connection and return its parsed result.

    ``stream`` sees the core's stdout as it arrives (its ``@`` lines: progress), and gets
    a way to send the core Ctrl-C (``stream.stop``).
    """
    command = command_line(host)
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
            stream.stop = lambda: interrupt(conn, stream.pid)
        # A host gone at once (no such interpreter) may close before the request is
        # written: its exit status, not the failed write, says why.
        _send(channel, request_line(request), reader)
        # The host says whether it keeps this core already; 70 kB of sources cross only
        # when it does not (the first run, or a new cachekit).
        marker = reader.first_line(min(deadline, time.monotonic() + MARKER_WAIT_S))
        if marker != READY and not channel.exit_status_ready():
            _send(channel, _core()[1], reader)  # needed, or no answer yet: send them
        if not channel.closed:
            with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                channel.shutdown_write()
        reader.to_end()
        status = reader.exit_status()
        channel.close()
    except (OSError, paramiko.SSHException, EOFError) as exc:
        channel.close()
        raise HostFailure("failed", f"the SSH session broke off: {exc}",
                          reader.err.lines()) from None
    except HostFailure as exc:
        channel.close()
        exc.stderr_tail = exc.stderr_tail or reader.err.lines()
        raise
    out, tail = reader.out.data, reader.err.lines()
    if marker is None:
        for late in (NEED + b"\n", READY + b"\n"):  # a marker after our wait: not output
            if out.startswith(late):
                marker = late.strip()
                del out[:len(late)]
    cause = f": {tail[-1]}" if tail else ""
    if status in (126, 127):
        raise HostFailure("failed", f"no usable python: {_named(host)} could not be run "
                          f"({protocol.exit_text(status)}){cause}", tail)
    if marker is None and status != 0:
        raise HostFailure("failed", f"{_named(host)} did not start cachekit "
                          f"({protocol.exit_text(status)}){cause}", tail)
    return parse_output(out, tail, status, request.get("op"))


def interrupt(conn: Connection, pid: Optional[int]) -> bool:
    """Ctrl-C for the core on the host: ``kill -INT`` from a second session on the same
    connection, so that the core stops between two removals and still sends its result.
    (SSH's own "signal" request is refused by OpenSSH for root logins.) Only a core that
    applies a plan says its pid; one that only reads is simply cut off."""
    transport = conn.client.get_transport()
    if pid is None or transport is None:
        return False
    try:
        channel = transport.open_session(timeout=5)
        channel.exec_command(f"kill -INT {int(pid)}")
        sent = channel.status_event.wait(5) and channel.exit_status == 0
        channel.close()
        return sent
    except (OSError, paramiko.SSHException, EOFError):  # the connection is gone already
        return False


MARKER_WAIT_S = 2.0  # a host slower than this to say what it needs gets the sources anyway


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
        line, sep, _rest = bytes(self.out.data[:8]).partition(b"\n")
        if sep and line in (NEED, READY):
            del self.out.data[:len(line) + 1]
            return line
        return None

    def to_end(self) -> None:
        while not (self.out_done and self.err_done):
            if not self._pump(self.deadline):
                self._timeout()

    def exit_status(self) -> int:
        """The exit status; a host that closed its output but never exits times out."""
        if not self.channel.status_event.wait(max(0.0, self.deadline - time.monotonic())):
            self._timeout()
        return self.channel.recv_exit_status()

    def pump_briefly(self) -> None:
        """Read what came, waiting a moment for something (while stdin cannot be sent)."""
        if not (self.out_done and self.err_done):
            self._pump(min(self.deadline, time.monotonic() + 0.05))
        else:
            time.sleep(0.05)

    def _timeout(self) -> None:
        self.channel.close()
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

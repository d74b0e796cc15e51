"""Log in to one SSH server (a ``route.Hop``: a target or a jump host) with Fabric, exactly
as the hop says: its address, port, user and keys, its known-hosts files, over the socket
the caller gives (a channel forwarded by a jump host, a ProxyCommand) or a direct TCP
connection. Fabric's own ssh_config (and ``~/.fabric.yml``) lookup is switched off: the
route already decided everything, and ``cachekit hosts`` shows what it decided.

Host keys are checked against the hop's ``UserKnownHostsFile`` (else
``~/.ssh/known_hosts{,2}``) and ``/etc/ssh/ssh_known_hosts``; an unknown or changed key is
refused unless ``accept_new`` records a new one, as OpenSSH's
``StrictHostKeyChecking=accept-new`` does. Every failure becomes a ``HostFailure``.
"""

import contextlib
import logging
import os
import select
import signal
import socket
import subprocess
import threading
from typing import Any, Dict, List, Optional, Union

import paramiko
from fabric import Config, Connection

from cachekit.protocol import HostFailure, Settings, StderrTail
from cachekit.route import Hop
from cachekit.ssh_config import local_user

Sock = Union[paramiko.Channel, paramiko.ProxyCommand]
SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"
PROXY_STDERR_KEEP = 8 * 1024  # bytes of a ProxyCommand's stderr kept for its reason
# paramiko logs a traceback on stderr for a server that breaks off before its banner (a
# ProxyCommand that failed, a jump host that dropped the channel): the host's row says
# why, so its log stays quiet
logging.getLogger("paramiko").addHandler(logging.NullHandler())


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


def known_hosts_files(hop: Hop) -> List[str]:
    """The user's known-hosts files for ``hop``; a new key is recorded in the first."""
    files = hop.known_hosts or ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
    return [os.path.expanduser(f) for f in files]


def _config() -> Config:
    """A Fabric config that reads no file: no ssh_config, no ``~/.fabric.yml``."""
    return Config(lazy=True, ssh_config=paramiko.SSHConfig())


def login(hop: Hop, settings: Settings, sock: Optional[Sock] = None) -> Connection:
    """An open Fabric connection to ``hop`` (over ``sock`` when given), host key checked."""
    connect_kwargs: Dict[str, Any] = {"allow_agent": True, "look_for_keys": True}
    if hop.key_files:
        connect_kwargs["key_filename"] = list(hop.key_files)
    if sock is not None:
        # the TCP connect timeout does not cover a forwarded channel or a proxy: the
        # server's first words must come within the same time
        connect_kwargs.update(sock=sock, banner_timeout=settings.connect_timeout)
    # ssh's user, not Fabric's default (getpass.getuser(): $LOGNAME or $USER first)
    conn = Connection(hop.address, user=hop.user or local_user(), port=hop.port, config=_config(),
                      gateway=False, connect_timeout=int(max(1, settings.connect_timeout)),
                      connect_kwargs=connect_kwargs)
    files = known_hosts_files(hop)
    for path in [SYSTEM_KNOWN_HOSTS] + files:
        if os.path.isfile(path):
            conn.client.load_system_host_keys(path)
    # --accept-new-host-keys, or StrictHostKeyChecking=accept-new for this hop in ssh_config
    accept_new = settings.accept_new_host_keys or hop.accept_new
    conn.client.set_missing_host_key_policy(_AcceptNew(files[0]) if accept_new
                                            else _UnknownKey())
    try:
        conn.open()
    except HostFailure:
        _drop(conn, sock)
        raise
    except paramiko.BadHostKeyException as exc:
        _drop(conn, sock)
        where = exc.hostname
        raise HostFailure("hostkey", f"the host key of {where} CHANGED ({exc.key.get_name()}); "
                          "refusing to connect. If the change is expected, remove the old "
                          f"key with `ssh-keygen -R '{where}'`") from None
    except paramiko.AuthenticationException as exc:
        _drop(conn, sock)
        raise HostFailure("auth", f"authentication failed for {conn.user}@{hop.address}: "
                          f"{exc}") from None
    except (socket.timeout, TimeoutError):
        _drop(conn, sock)
        raise HostFailure("unreachable", f"no answer from {hop.address}:{hop.port} within "
                          f"{settings.connect_timeout:g} s") from None
    except (OSError, paramiko.SSHException, EOFError) as exc:
        said = sock.exit_note() if isinstance(sock, ProxySocket) else ""
        _drop(conn, sock)
        raise HostFailure("unreachable", f"cannot connect to {hop.address}:{hop.port}: "
                          f"{why(exc)}{said}") from None
    return conn


class ProxySocket(paramiko.ProxyCommand):
    """paramiko's ProxyCommand, but started as OpenSSH starts it (``$SHELL -c "exec
    command"``: redirections, pipes and quotes work), its stderr drained as it comes into
    a bounded tail (a chatty ``ssh -v -W`` cannot fill the pipe and stall), a command
    that exits is an end of file at once (the original spins until its timeout on a
    closed pipe), closing it reaps it, and what it said on stderr before it exited by
    itself is kept for the reason."""

    note: Optional[str] = None

    def __init__(self, command: str) -> None:  # not paramiko's: it splits, with no shell
        self.cmd = [os.environ.get("SHELL") or "/bin/sh", "-c", "exec " + command]
        self.process = subprocess.Popen(self.cmd, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        bufsize=0)
        self.timeout: Optional[float] = None
        self.said = StderrTail(PROXY_STDERR_KEEP)
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()

    def _drain_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None  # a pipe: Popen(stderr=PIPE)
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: os.read(stderr.fileno(), 65536), b""):
                self.said.add(chunk)
        stderr.close()

    def recv(self, size: int) -> bytes:
        stdout = self.process.stdout
        assert stdout is not None  # a pipe: Popen(stdout=PIPE)
        if not select.select([stdout], [], [], self.timeout)[0]:
            raise socket.timeout()
        try:
            return os.read(stdout.fileno(), size)  # b"" once the command is gone: EOF
        except OSError as exc:
            raise paramiko.ProxyCommandFailure(" ".join(self.cmd), exc.strerror) from None

    def close(self) -> None:
        ended = self.process.poll() is not None
        if not ended:
            self.process.terminate()
            try:
                ended = self.process.wait(timeout=0.2) != -signal.SIGTERM  # ended on its own
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.note is None:
            self.note = self._last_words() if ended else ""
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        # stderr is the drain's to close: it ends when the command (and what it started
        # with the same stderr) is gone

    def exit_note(self) -> str:
        """" (ProxyCommand exited N: its last stderr line)" once it has exited by itself
        (waiting half a second for that), else ""."""
        if self.note is None:
            try:
                self.process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:  # still running: nothing final to say
                return ""
            self.note = self._last_words()
        return self.note

    def _last_words(self) -> str:
        self._drain.join(0.2)  # what it wrote before it exited
        lines = self.said.lines()
        said = f": {lines[-1].strip()}" if lines else ""
        return f" (ProxyCommand exited {self.process.returncode}{said})"

def proxy(command: str) -> ProxySocket:
    """The socket a ProxyCommand gives; one that cannot be started is ``unreachable``."""
    try:
        return ProxySocket(command)
    except (OSError, ValueError) as exc:
        raise HostFailure("unreachable", f"ProxyCommand `{command}` could not be started: "
                          f"{why(exc)}") from None


def _drop(conn: Connection, sock: Optional[Sock]) -> None:
    """A login that failed: its connection and the socket it was given, both closed (a
    connection never started does not close its socket: a ProxyCommand would live on)."""
    conn.close()
    conn.client.close()
    if sock is not None:
        sock.close()


def why(exc: BaseException) -> str:
    """A short cause: "connection refused" rather than paramiko's "[Errno None] ..."."""
    causes = getattr(exc, "errors", None)  # NoValidConnectionsError: one error per address
    if causes:
        exc = next(iter(causes.values()))
    if isinstance(exc, paramiko.ProxyCommandFailure):  # not its whole command line again
        return f"the ProxyCommand ended ({str(exc.error).lower()})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__

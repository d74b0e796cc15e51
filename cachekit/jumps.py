"""The ways to a host that is not reached directly: a ProxyCommand, or jump hosts, whose
SSH sessions are shared by every host behind them.

A fleet keeps one ``JumpSessions``: the first host behind a bastion logs in to it, and
every other host behind it (16 workers may ask at once) gets its own forwarded
``direct-tcpip`` channel over that one session: one bastion login per run, not one per
host. A second hop reached through the first is shared the same way. Sessions are keyed
by the chain of hops that leads to them (address, port, user, keys, known hosts), so two
inventory names for one bastion share it, and one bastion reached two ways does not.

A hop that fails is named in the reason of every host behind it ("jump host bastion
(root@10.0.0.1:22): unknown host key ..."), and its failure is kept: the hosts behind it
fail at once instead of each waiting for the same timeout again.
"""

import socket
import threading
import time
from typing import Dict, List, Optional, Tuple

import paramiko
from fabric import Connection

from cachekit.protocol import HostFailure, Settings
from cachekit.route import Hop
from cachekit.ssh_login import Sock, login, proxy

Identity = Tuple[object, ...]


def identity(hop: Hop) -> Identity:
    """What makes two hops the same SSH login (their names are only for messages)."""
    return (hop.address, hop.port, hop.user, hop.key_files, hop.known_hosts,
            hop.proxy_command, tuple(identity(j) for j in hop.jumps))


def named(hop: Hop) -> str:
    return f"jump host {hop.name} ({hop.label()})"


class _HopFailure(HostFailure):
    """A jump host's failure, already naming it: passed on unchanged by the hops after it."""


class _Session:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # held while this hop is being logged in to
        self.conn: Optional[Connection] = None
        self.failure: Optional[_HopFailure] = None


class JumpSessions:
    """The open sessions to jump hosts, shared by the hosts behind them; closed together."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._sessions: Dict[Tuple[Identity, ...], _Session] = {}
        self._opened: List[Connection] = []  # in the order they were opened
        self._closed = False

    def socket_to(self, hop: Hop) -> Optional[Sock]:
        """What to log in to ``hop`` over: a channel forwarded by its last jump host, a
        ProxyCommand, or None for a direct TCP connection."""
        if hop.jumps:
            return self._forward(hop.jumps, hop)
        if hop.proxy_command:
            return proxy(hop.proxy_command)
        return None

    def logins(self) -> int:
        """How many jump-host sessions were opened (for tests and the benchmark)."""
        with self._lock:
            return len(self._opened)

    def close(self) -> None:
        """Close every session, the farthest hops first."""
        with self._lock:
            opened, self._opened = self._opened, []
            self._sessions.clear()
            self._closed = True
        for conn in reversed(opened):
            conn.close()

    def _forward(self, chain: Tuple[Hop, ...], dest: Hop) -> paramiko.Channel:
        """A channel to ``dest`` opened by ``chain[-1]``, reached through the rest of it."""
        via = chain[-1]
        conn = self._session(chain)
        transport = conn.client.get_transport()
        started = time.monotonic()
        try:
            if transport is None or not transport.is_active():
                raise EOFError("the session to it was lost")
            return transport.open_channel("direct-tcpip", (dest.address, dest.port),
                                          ("127.0.0.1", 0),
                                          timeout=self.settings.connect_timeout)
        except paramiko.ChannelException as exc:  # the jump host could not connect
            raise HostFailure("unreachable", f"cannot reach {dest.address}:{dest.port} "
                              f"through {named(via)}: {exc.text.lower()}") from None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            # paramiko's timeout is a bare SSHException: known by the time it took
            waited = time.monotonic() - started >= self.settings.connect_timeout
            cause = (f"no channel within {self.settings.connect_timeout:g} s"
                     if waited or isinstance(exc, socket.timeout)
                     else str(exc) or type(exc).__name__)
            raise HostFailure("unreachable", f"cannot reach {dest.address}:{dest.port} "
                              f"through {named(via)}: {cause}") from None

    def _session(self, chain: Tuple[Hop, ...]) -> Connection:
        """The shared login to ``chain[-1]``: through the hops before it in the chain, or,
        as the first hop, the way its own route says (direct, ProxyCommand, its jumps)."""
        key = tuple(identity(h) for h in chain)
        with self._lock:
            if self._closed:
                raise HostFailure("unreachable", "the fleet was closed")
            session = self._sessions.setdefault(key, _Session())
        hop = chain[-1]
        with session.lock:
            if session.failure is not None:
                raise _HopFailure(session.failure.status, session.failure.reason)
            if session.conn is not None and session.conn.is_connected:
                return session.conn
            try:
                sock = self._forward(chain[:-1], hop) if len(chain) > 1 else self.socket_to(hop)
                conn = login(hop, self.settings, sock)
            except _HopFailure:
                raise  # an earlier hop's, named already
            except HostFailure as exc:
                session.failure = _HopFailure(exc.status, f"{named(hop)}: {exc.reason}")
                raise _HopFailure(exc.status, session.failure.reason) from None
            with self._lock:
                closed = self._closed
                if not closed:
                    self._opened.append(conn)
            if closed:  # Ctrl-C closed the fleet while this hop was logged in to
                conn.close()
                raise HostFailure("unreachable", "the fleet was closed")
            session.conn = conn
            return conn

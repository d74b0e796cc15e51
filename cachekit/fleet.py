"""Choose the hosts a ``--hosts`` pattern names and run the core on each, in parallel.

Every host yields a result, failures included: a host that cannot be reached, refuses
its key, fails authentication, times out or breaks is a row with a status and a reason.
``local`` runs in-process when it is the only host, and in a child process when remote
hosts run beside it (the core forks, which is unsafe next to SSH threads), or through sudo
when it becomes another user (the core shipped to it as to a remote host: root's python
may not have cachekit). A fleet keeps
one connection per host for the whole task, so a plan and its apply share it.
"""

import concurrent.futures
import json
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from cachekit import become, child, inventory, protocol
from cachekit.core import wire
from cachekit.errors import CachekitError
from cachekit.progress import Board, Stream

if TYPE_CHECKING:
    from fabric import Connection

    from cachekit.jumps import JumpSessions
    from cachekit.route import Route

DEFAULT_WORKERS = 16
STOP_WAIT_S = 10.0  # after Ctrl-C, how long a running core has to stop and send its result


def select_hosts(pattern: str, inventory_path: Optional[str] = None) -> List[inventory.Host]:
    """Hosts selected by an Ansible-style ``pattern`` in the inventory."""
    inv = inventory.load(inventory.default_path(inventory_path))
    return inv.select(pattern)


def environment(host: inventory.Host) -> Dict[str, str]:
    """``cachekit_env``: variables (e.g. PIP_CACHE_DIR) the core sees on this host."""
    env = host.vars.get("cachekit_env") or {}
    if not isinstance(env, dict):
        raise CachekitError(f"cachekit_env of host {host.name} must be a mapping of "
                            "variable names to values")
    return {str(k): str(v) for k, v in env.items()}


def core_settings(host: inventory.Host, request: Optional[Dict[str, Any]] = None
                  ) -> Dict[str, Any]:
    """Inventory variables the core reads from the request: ``cachekit_uv``, the uv to use;
    ``cachekit_users``, whose caches (``--users`` on the command line wins, ``none`` too)."""
    out: Dict[str, Any] = {}
    if host.vars.get("cachekit_uv"):
        out["uv_inventory"] = str(host.vars["cachekit_uv"])
    users = host.vars.get("cachekit_users")
    if users is not None and "users" not in (request or {}):
        chosen = inventory.parse_users(users, f"cachekit_users of host {host.name}")
        if chosen is not None:
            out["users"] = chosen
    return out


def failed_result(host: str, status: str, reason: str, elapsed: float,
                  stderr_tail: Optional[List[str]] = None,
                  removed: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    row: Dict[str, Any] = dict(wire.skeleton(status, reason))
    row.update(host=host, stderr_tail=stderr_tail or [], elapsed_s=round(elapsed, 3),
               removed=removed or [])
    return row


class Interrupted(Exception):
    """Ctrl-C: the results of the hosts that finished, the names of those that did not,
    and for each of those a result with status ``interrupted`` holding what it reported
    removed before it was stopped (``partial``)."""

    def __init__(self, finished: List[Dict[str, Any]], unfinished: List[str],
                 partial: Optional[List[Dict[str, Any]]] = None) -> None:
        super().__init__("interrupted")
        self.finished = finished
        self.unfinished = unfinished
        self.partial = partial or []


_UNRESOLVED = object()  # a host whose become settings were not asked for yet


class Fleet:
    """The selected hosts, their open connections, and a bounded pool to run them."""

    def __init__(self, hosts: List[inventory.Host], settings: Optional[protocol.Settings] = None,
                 workers: int = DEFAULT_WORKERS, progress: Optional[Board] = None,
                 escalation: Optional[become.Escalation] = None) -> None:
        if workers < 1:
            raise CachekitError(f"--workers must be at least 1 (got {workers})")
        self.hosts = hosts
        self.settings = settings or protocol.Settings()
        self.escalation = escalation or become.Escalation()  # --become, its user, the password
        self.workers = workers
        self.progress = progress
        self._conns: Dict[str, Connection] = {}
        self._routes: Dict[str, Route] = {}
        self._becomes_of: Dict[str, object] = {}  # a Become, None, or its HostFailure
        self._jumps: Optional[JumpSessions] = None  # made with the first remote connection
        self._lock = threading.Lock()
        self._removed: Dict[str, List[Dict[str, Any]]] = {}  # as each host reports it
        self._started: Dict[str, float] = {}
        self._streams: Dict[str, Stream] = {}
        for host in hosts:
            environment(host)  # a malformed cachekit_env is bad input: fail before any run
            core_settings(host)  # and so is a malformed cachekit_users

    def __enter__(self) -> "Fleet":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every host's connection, then the jump hosts' sessions they went through."""
        with self._lock:
            conns, self._conns = list(self._conns.values()), {}
            jumps, self._jumps = self._jumps, None
        for conn in conns:
            conn.close()
        if jumps is not None:
            jumps.close()

    def run(self, request: Dict[str, Any],
            per_host: Optional[Dict[str, Dict[str, Any]]] = None,
            planned: Optional[int] = None) -> List[Dict[str, Any]]:
        """One result per host, in selection order, each labelled and timed.

        With ``per_host``, only the hosts named there run, each with its own additions to
        the request (an apply carries each host's own plan; ``planned`` counts its
        entries, for the progress line). Ctrl-C raises ``Interrupted``.
        """
        hosts = [h for h in self.hosts if per_host is None or h.name in per_host]
        if self.progress is not None:
            self.progress.begin(len(hosts), planned)
            request = dict(request, progress=True)  # the core also says how far walks got
        requests = {h.name: dict(request, **core_settings(h, request),
                                 **(per_host or {}).get(h.name, {})) for h in hosts}
        self._removed = {h.name: [] for h in hosts}
        self._started, self._streams = {}, {}
        try:
            if all(h.local and not self._becomes(h) for h in hosts):
                return self._run_in_process(hosts, requests)
            return self._run_pool(hosts, requests)
        finally:
            if self.progress is not None:
                self.progress.erase()

    def _run_in_process(self, hosts: List[inventory.Host],
                        requests: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
        results: List[Dict[str, Any]] = []
        for h in hosts:
            result = self._run_local(h, requests[h.name], in_process=True)
            if result["status"] == "interrupted":  # the core stopped between two entries
                raise Interrupted(results, [x.name for x in hosts[len(results):]], [result])
            results.append(result)
        return results

    def _heard(self, host: str, item: Dict[str, Any]) -> None:
        """Something a host's core said as it went: kept for Ctrl-C, shown as progress."""
        if "pid" in item:
            return
        if "path" in item and item.get("ok"):
            self._removed[host].append(item)
        if self.progress is not None:
            self.progress.event(host, item)

    def _partial(self, host: str) -> Dict[str, Any]:
        """An unfinished host's result after Ctrl-C: the removals it reported so far."""
        elapsed = time.monotonic() - self._started.get(host, time.monotonic())
        return failed_result(host, "interrupted", "interrupted (Ctrl-C)", elapsed,
                             removed=list(self._removed.get(host, [])))

    def _run_pool(self, hosts: List[inventory.Host],
                  requests: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
        results: Dict[str, Dict[str, Any]] = {}
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.workers)
        futures = {pool.submit(self._run_one, h, requests[h.name]): h.name for h in hosts}
        try:
            for future in concurrent.futures.as_completed(futures):
                result = future.result()
                results[result["host"]] = result
                if self.progress is not None:
                    self.progress.host_done(result)
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()  # those not started yet never start
            results.update(self._stop({f: n for f, n in futures.items()
                                       if not f.cancelled() and n not in results}))
            self.close()  # what still runs ends at once
            pool.shutdown(wait=False)
            done = [results[h.name] for h in hosts
                    if h.name in results and results[h.name]["status"] != "interrupted"]
            unfinished = [h.name for h in hosts if h.name not in [r["host"] for r in done]]
            partial = [results.get(n) or self._partial(n) for n in unfinished]
            raise Interrupted(done, unfinished, partial) from None
        pool.shutdown()
        return [results[h.name] for h in hosts]

    def _stop(self, running: Dict["concurrent.futures.Future[Dict[str, Any]]", str]
              ) -> Dict[str, Dict[str, Any]]:
        """Ctrl-C: send each running core Ctrl-C, so that it stops between two removals
        and still sends its result; wait up to ``STOP_WAIT_S`` for the cores told so."""
        told = [f for f, name in running.items() if name in self._streams
                and _told_to_stop(self._streams[name])]
        if not told:
            return {}
        try:
            done, _ = concurrent.futures.wait(told, timeout=STOP_WAIT_S)
        except KeyboardInterrupt:  # a second Ctrl-C: wait no more
            return {}
        out = {}
        for future in done:
            if future.exception() is None:
                out[future.result()["host"]] = future.result()
        return out

    def _run_one(self, host: inventory.Host, request: Dict[str, Any]) -> Dict[str, Any]:
        if host.local:
            return self._run_local(host, request, in_process=False)
        row = self._run_remote(host, request)
        with self._lock:
            way = self._routes.get(host.name)
        if way is not None and way.warnings:  # what its route could not honour: never silent
            row["warnings"] = [*way.warnings, *(row.get("warnings") or [])]
        return row

    def _run_remote(self, host: inventory.Host, request: Dict[str, Any]) -> Dict[str, Any]:
        from cachekit import remote  # Fabric loads only when a host is remote

        started = self._started[host.name] = time.monotonic()
        stream = self._streams[host.name] = Stream(lambda item: self._heard(host.name, item))
        try:
            shake = self._handshake(host)
            conn = self._connection(host)
            result = remote.run_core(conn, host, dict(request, environ=environment(host)),
                                     self.settings, stream, shake)
            protocol.check_schema(result, host.name)
        except protocol.HostFailure as exc:
            return failed_result(host.name, exc.status, exc.reason,
                                 time.monotonic() - started, exc.stderr_tail, exc.removed)
        except CachekitError as exc:
            return failed_result(host.name, "failed", str(exc), time.monotonic() - started)
        except Exception as exc:  # whatever a host sent, it is a row, never a traceback
            return failed_result(host.name, "failed", f"internal error: {type(exc).__name__}: "
                                 f"{exc}", time.monotonic() - started)
        result["host"] = host.name
        result["elapsed_s"] = round(time.monotonic() - started, 3)
        return result

    def route_of(self, host: inventory.Host) -> "Route":
        """How ``host`` is reached (resolved once per fleet; ssh_config is read only when
        a host is remote, so a local run never loads it)."""
        with self._lock:
            found = self._routes.get(host.name)
        if found is None:
            from cachekit import route

            found = route.resolve(host)  # ~/.ssh/config, or CACHEKIT_SSH_CONFIG
            with self._lock:
                self._routes[host.name] = found
        return found

    def _connection(self, host: inventory.Host) -> "Connection":
        with self._lock:
            conn = self._conns.get(host.name)
        if conn is not None and conn.is_connected:
            return conn
        from cachekit import jumps, remote

        way = self.route_of(host)
        if way.failure is not None:
            raise protocol.HostFailure(*way.failure)
        with self._lock:
            if self._jumps is None:
                self._jumps = jumps.JumpSessions(self.settings)
            sessions = self._jumps
        conn = remote.connect(way, self.settings, sessions)
        with self._lock:
            self._conns[host.name] = conn
        return conn

    def become_of(self, host: inventory.Host) -> Optional[become.Become]:
        """Whom ``host``'s core runs as (resolved once per fleet, as its route is); bad
        settings raise HostFailure (status ``become``), each time they are asked for."""
        with self._lock:
            found = self._becomes_of.get(host.name, _UNRESOLVED)
        if found is _UNRESOLVED:
            try:
                found = become.for_host(host, self.escalation)
            except protocol.HostFailure as exc:
                found = exc
            with self._lock:
                self._becomes_of[host.name] = found
        if isinstance(found, protocol.HostFailure):
            raise protocol.HostFailure(found.status, found.reason)
        assert found is None or isinstance(found, become.Become)
        return found

    def _handshake(self, host: inventory.Host) -> Optional[become.Handshake]:
        """The host's sudo, when its core runs as another user; bad settings raise
        HostFailure (status ``become``)."""
        settings = self.become_of(host)
        return None if settings is None else become.Handshake(
            settings, self.escalation.password, self.settings.connect_timeout)

    def _becomes(self, host: inventory.Host) -> bool:
        try:
            return self.become_of(host) is not None
        except protocol.HostFailure:
            return True  # its row says why, from the child path

    def _run_local(self, host: inventory.Host, request: Dict[str, Any],
                   in_process: bool) -> Dict[str, Any]:
        started = self._started[host.name] = time.monotonic()
        request = dict(request, environ=environment(host))
        if in_process:  # never for a host that becomes another user (run)
            from cachekit.core import agent  # only a local host runs the core here

            # Ctrl-C is the core's to handle here: it stops between two removals
            result = agent.run(request, lambda item: self._heard(host.name, item))
        else:
            stream = self._streams[host.name] = Stream(lambda item: self._heard(host.name, item))
            try:  # read as a remote host's output is: capped, stderr drained alongside
                shake = self._handshake(host)
                argv, stdin = _local_child(host, request, shake)
                out, tail, status = child.run_child(
                    argv, stdin, self.settings.timeout,
                    protocol.output_cap(host.vars, self.settings.output_cap), stream, shake)
                if shake is not None:
                    from cachekit.shipping import take_marker

                    take_marker(out)  # the bootstrap's @need/@ready: not output
                result = protocol.parse_output(out, tail, status, request.get("op"))
            except protocol.HostFailure as exc:
                return failed_result(host.name, exc.status, exc.reason,
                                     time.monotonic() - started, exc.stderr_tail, exc.removed)
        protocol.check_schema(result, host.name)
        result["host"] = host.name
        result["elapsed_s"] = round(time.monotonic() - started, 3)
        return result


def _local_child(host: inventory.Host, request: Dict[str, Any],
                 shake: Optional[become.Handshake]) -> Tuple[List[str], bytes]:
    """The command and stdin that run this machine's core in a child: this cachekit's own
    core, or (through sudo) the bootstrap and the shipped core, as a remote host gets
    them, all sent at once (the bootstrap leaves unread what it does not need)."""
    if shake is None:
        return [sys.executable, "-m", "cachekit.core.agent"], json.dumps(request).encode()
    from cachekit import shipping

    argv = ["/bin/sh", "-c", shake.command(shipping.command_line(host))]
    return argv, shipping.request_line(request) + shipping.compressed_core()[1]


def _told_to_stop(stream: Stream) -> bool:
    """Ask a host's stream to pass Ctrl-C on to its core; False when it cannot."""
    return stream.stop is not None and stream.stop()

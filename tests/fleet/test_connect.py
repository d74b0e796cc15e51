"""``remote.connect`` on routes built by hand, against real sshd's on loopback: it opens
what the route says (never what Fabric would read in ~/.ssh/config), and the hosts behind
one jump host share one login to it, however many threads ask at once.

(The jump-host tests through the inventory, in network namespaces, are in
``test_jump_hosts.py``.)
"""

import socket
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from cachekit import remote
from cachekit.jumps import JumpSessions
from cachekit.protocol import HostFailure, Settings
from cachekit.route import Hop, Route
from tests.fixtures.sshd_lab import PORT, SshLab, _wait_listening

pytestmark = pytest.mark.ssh

JUMP, TARGET, STRANGER = "127.0.0.51", "127.0.0.52", "127.0.0.53"
SETTINGS = Settings(connect_timeout=5)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshLab]:
    lab = SshLab(tmp_path_factory.mktemp("sshlab"))
    try:
        for name, address in (("jump", JUMP), ("target", TARGET), ("stranger", STRANGER)):
            lab.launch(name, address, log_level="INFO")
        for name, host in lab.hosts.items():
            assert host.proc is not None
            _wait_listening(host.address, PORT, host.proc, lab.base / name / "log")
        yield lab
    finally:
        lab.stop_all()


def hop(lab: SshLab, name: str, address: str, known: Path, **more: Any) -> Hop:
    return Hop(name, address, PORT, "root", (str(lab.client_key),), (str(known),), **more)


def address_seen(conn) -> str:
    """The address the server was reached at, as it saw it."""
    return str(conn.run("echo $SSH_CONNECTION", hide=True, in_stream=False).stdout.split()[2])


def test_the_route_is_opened_not_fabrics_ssh_config(lab: SshLab, home: Path) -> None:
    known = lab.write_known_hosts(home, ["target"])
    # Fabric would connect to nowhere with this; the route says where to go
    (home / ".ssh" / "config").write_text(
        f"Host {TARGET}\n    HostName 127.0.0.250\n    Port 1\n    ProxyCommand false\n")
    sessions = JumpSessions(SETTINGS)
    conn = remote.connect(Route("target", hop(lab, "target", TARGET, known)), SETTINGS, sessions)
    try:
        assert address_seen(conn) == TARGET
    finally:
        conn.close()
        sessions.close()


def test_hosts_behind_one_jump_host_share_one_login(lab: SshLab, home: Path) -> None:
    known = lab.write_known_hosts(home, ["jump", "target"])
    bastion = hop(lab, "bastion", JUMP, known)
    routes = [Route(f"t{n}", hop(lab, f"t{n}", TARGET, known, jumps=(bastion,)))
              for n in range(16)]
    sessions = JumpSessions(SETTINGS)
    before = lab.logins("jump"), lab.logins("target")
    conns: Dict[str, Any] = {}
    start = threading.Barrier(16)

    def one(route: Route) -> None:
        start.wait()  # all 16 ask at the same moment
        conns[route.host] = remote.connect(route, SETTINGS, sessions)

    threads = [threading.Thread(target=one, args=(r,)) for r in routes]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(conns) == 16
        assert {address_seen(c) for c in conns.values()} == {TARGET}
        assert sessions.logins() == 1
        assert lab.logins("jump") - before[0] == 1
        assert lab.logins("target") - before[1] == 16
    finally:
        for c in conns.values():
            c.close()
        sessions.close()


def test_a_jump_host_with_an_unknown_key_is_named_once(lab: SshLab, home: Path) -> None:
    known = lab.write_known_hosts(home, ["target"])  # the jump host's key is not there
    bastion = hop(lab, "stranger", STRANGER, known)
    sessions = JumpSessions(SETTINGS)
    reasons: List[str] = []
    try:
        for n in range(3):
            with pytest.raises(HostFailure) as failed:
                remote.connect(Route(f"t{n}", hop(lab, f"t{n}", TARGET, known,
                                                  jumps=(bastion,))), SETTINGS, sessions)
            assert failed.value.status == "hostkey"
            reasons.append(failed.value.reason)
    finally:
        sessions.close()
    assert reasons[0].startswith(f"jump host stranger (root@{STRANGER}:{PORT}): unknown host "
                                 f"key for [{STRANGER}]:{PORT}")
    assert reasons == reasons[:1] * 3  # the same reason for each, from one attempt
    accepting = Settings(connect_timeout=5, accept_new_host_keys=True)
    sessions = JumpSessions(accepting)
    conn = remote.connect(Route("t", hop(lab, "t", TARGET, known, jumps=(bastion,))),
                          accepting, sessions)
    try:
        assert address_seen(conn) == TARGET
        assert lab.hosts["stranger"].known_hosts_line() in known.read_text()
    finally:
        conn.close()
        sessions.close()


def test_a_target_the_jump_host_cannot_reach_is_named(lab: SshLab, home: Path) -> None:
    known = lab.write_known_hosts(home, ["jump"])
    bastion = hop(lab, "bastion", JUMP, known)
    sessions = JumpSessions(SETTINGS)
    try:
        with pytest.raises(HostFailure) as failed:
            remote.connect(Route("gone", Hop("gone", "127.0.0.54", 1, "root",
                                             jumps=(bastion,))), SETTINGS, sessions)
    finally:
        sessions.close()
    assert failed.value.status == "unreachable"
    assert failed.value.reason == (f"cannot reach 127.0.0.54:1 through jump host bastion "
                                   f"(root@{JUMP}:{PORT}): connect failed")


def proxy_ssh(lab: SshLab, known: Path, dest: str) -> str:
    """The OpenSSH client as a ProxyCommand to ``dest`` through the jump server."""
    return (f"ssh -F none -i {lab.client_key} -o BatchMode=yes -o UserKnownHostsFile={known} "
            f"-W {dest}:{PORT} -p {PORT} root@{JUMP}")


def test_a_proxycommand_runs_in_a_shell_as_openssh_runs_it(lab: SshLab, home: Path,
                                                           tmp_path: Path) -> None:
    """``$SHELL -c "exec command"``, as the OpenSSH client (the oracle) runs it: a
    redirection works, a command that writes a lot on stderr (``ssh -vvv`` and more) does
    not stall on a full pipe, and an ``exec`` of its own fails in both."""
    known = lab.write_known_hosts(home, ["jump", "target"])
    chatty = tmp_path / "chatty"
    chatty.write_text("#!/bin/sh\nhead -c 400000 /dev/zero | tr '\\0' x >&2\necho >&2\n"
                      'exec "$@"\n')
    chatty.chmod(0o755)
    proxy = proxy_ssh(lab, known, TARGET)
    for command, works in ((f"{proxy} 2>/dev/null", True), (f"{chatty} {proxy} -vvv", True),
                           (f"exec {proxy}", False)):
        openssh = subprocess.run(
            ["ssh", "-F", "none", "-i", str(lab.client_key), "-o", "BatchMode=yes",
             "-o", f"UserKnownHostsFile={known}", "-o", f"ProxyCommand={command}",
             "-p", str(PORT), f"root@{TARGET}", "true"], capture_output=True, timeout=30)
        assert (openssh.returncode == 0) is works, (command, openssh.stderr[-300:])
        sessions = JumpSessions(SETTINGS)
        way = Route("target", hop(lab, "target", TARGET, known, proxy_command=command))
        try:
            conn = remote.connect(way, SETTINGS, sessions)
        except HostFailure as exc:
            assert not works, (command, exc.reason)
            sessions.close()
            continue
        try:
            assert works, command
            assert conn.run("head -c 300000 /dev/zero | wc -c", hide=True,
                            in_stream=False).stdout.strip() == "300000"
        finally:
            conn.close()
            sessions.close()


def test_a_proxycommand_that_fails_says_its_last_stderr_line(lab: SshLab, home: Path) -> None:
    known = lab.write_known_hosts(home, ["jump", "target"])
    command = "sh -c \"echo one >&2; echo 'the last words' >&2; exit 3\""
    sessions = JumpSessions(SETTINGS)
    with pytest.raises(HostFailure) as failed:
        remote.connect(Route("target", hop(lab, "target", TARGET, known, proxy_command=command)),
                       SETTINGS, sessions)
    sessions.close()
    assert failed.value.status == "unreachable"
    assert failed.value.reason.endswith("(ProxyCommand exited 3: the last words)"), \
        failed.value.reason
    assert "sh -c" not in failed.value.reason  # the cause, not the command line again


def test_with_no_user_given_the_login_is_the_local_users_as_ssh_takes_it(
        lab: SshLab, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The passwd entry's name, as ssh (and the route, and ``cachekit hosts``) take it,
    not $LOGNAME or $USER (Fabric's default)."""
    known = lab.write_known_hosts(home, ["target"])
    for variable in ("LOGNAME", "USER"):
        monkeypatch.setenv(variable, "ckfx-nobody")
    sessions = JumpSessions(SETTINGS)
    target = Hop("target", TARGET, PORT, None, (str(lab.client_key),), (str(known),))
    conn = remote.connect(Route("target", target), SETTINGS, sessions)
    try:
        assert conn.run("id -un", hide=True, in_stream=False).stdout.strip() == "root"
    finally:
        conn.close()
        sessions.close()


def test_a_channel_the_jump_host_cannot_open_in_time_is_a_timeout(lab: SshLab,
                                                                  home: Path) -> None:
    """A target whose accept queue is full (its SYNs dropped): the jump host's connect
    hangs, and the channel is refused after --connect-timeout, said as such."""
    known = lab.write_known_hosts(home, ["jump"])
    bastion = hop(lab, "bastion", JUMP, known)
    settings = Settings(connect_timeout=2)
    full = socket.socket()
    full.bind(("127.0.0.55", 0))
    full.listen(0)
    port = full.getsockname()[1]
    queued = socket.create_connection(("127.0.0.55", port), timeout=5)  # fills the queue
    sessions = JumpSessions(settings)
    try:
        with pytest.raises(HostFailure) as failed:
            remote.connect(Route("slow", Hop("slow", "127.0.0.55", port, "root",
                                             jumps=(bastion,))), settings, sessions)
    finally:
        sessions.close()
        queued.close()
        full.close()
    assert failed.value.reason == (f"cannot reach 127.0.0.55:{port} through jump host bastion "
                                   f"(root@{JUMP}:{PORT}): no channel within 2 s")



def test_a_session_on_a_connection_that_can_no_longer_write_closes_without_raising(
        lab: SshLab, home: Path) -> None:
    """When a connection's write side is gone while paramiko still thinks it alive (a host
    flooding its output at the cap, under load), paramiko's own close() raises EOFError;
    that turned a host's clear failure into "internal error: EOFError". remote closes
    sessions so that it cannot."""
    known = lab.write_known_hosts(home, ["target"])
    sessions = JumpSessions(SETTINGS)
    conn = remote.connect(Route("target", hop(lab, "target", TARGET, known)), SETTINGS, sessions)
    try:
        transport = conn.client.get_transport()
        ours, plain = transport.open_session(), transport.open_session()
        for channel in (ours, plain):
            channel.exec_command("sleep 5")
        transport.sock.shutdown(socket.SHUT_WR)
        with pytest.raises(EOFError):
            plain.close()
        remote.close_session(ours)
    finally:
        conn.close()
        sessions.close()

"""Real OpenSSH servers on loopback addresses, started and stopped by the tests.

Each host is its own ``sshd -D`` on 127.0.0.N with a throwaway host key; one throwaway
client key logs in as the current user (root here). Nothing listens beyond 127.0.0.0/8.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

SSHD = "/usr/sbin/sshd"


def _unused_port() -> int:
    """A port free on 127.0.0.1 now, so that two test runs on one machine do not collide."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PORT = int(os.environ.get("CACHEKIT_TEST_SSH_PORT") or _unused_port())


def keygen(path: Path) -> str:
    """A new ed25519 key pair at ``path``; returns the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cachekit-test",
                    "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class SshHost:
    name: str
    address: str
    port: int
    host_key: Path
    proc: Optional[subprocess.Popen] = None

    @property
    def public_key(self) -> str:
        return " ".join(self.host_key.with_suffix(".pub").read_text().split()[:2])

    def known_hosts_line(self) -> str:
        return f"[{self.address}]:{self.port} {self.public_key}"


class SshLab:
    def __init__(self, base: Path) -> None:
        if not os.path.exists(SSHD):
            raise RuntimeError(f"{SSHD} is missing: the test command installs openssh-server")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.client_key = base / "client_ed25519"
        (base / "authorized_keys").write_text(keygen(self.client_key) + "\n")
        self.hosts: Dict[str, SshHost] = {}

    def start(self, name: str, address: str, port: int = PORT) -> SshHost:
        home = self.base / name
        home.mkdir(exist_ok=True)
        host = self.hosts.get(name)
        if host is None:
            key = home / "host_ed25519"
            keygen(key)
            host = SshHost(name, address, port, key)
            self.hosts[name] = host
        config = home / "sshd_config"
        config.write_text(
            f"ListenAddress {address}:{port}\n"
            f"HostKey {host.host_key}\n"
            f"PidFile {home / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.base / 'authorized_keys'}\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            "Subsystem sftp internal-sftp\nLogLevel ERROR\n"
        )
        host.proc = subprocess.Popen([SSHD, "-D", "-f", str(config), "-E", str(home / "log")],
                                     start_new_session=True)
        _wait_listening(address, port, host.proc, home / "log")
        return host

    def new_host_key(self, name: str) -> None:
        """Give a (stopped) host a different key: its known_hosts entry is now wrong."""
        host = self.hosts[name]
        for path in (host.host_key, host.host_key.with_suffix(".pub")):
            path.unlink()
        keygen(host.host_key)

    def kill(self, name: str) -> None:
        """SIGKILL the server and every session it started, as a crashed host would."""
        host = self.hosts[name]
        if host.proc is not None and host.proc.poll() is None:
            for pid in [*_descendants(host.proc.pid), host.proc.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            host.proc.wait()

    def stop_all(self) -> None:
        for name in self.hosts:
            self.kill(name)

    def write_known_hosts(self, home: Path, names: List[str]) -> Path:
        ssh = home / ".ssh"
        ssh.mkdir(mode=0o700, exist_ok=True)
        path = ssh / "known_hosts"
        path.write_text("".join(self.hosts[n].known_hosts_line() + "\n" for n in names))
        return path


@contextlib.contextmanager
def one_host_lab(base: Path, name: str, address: str) -> Iterator[SshLab]:
    """A lab with one running host, stopped at the end (a test module's fixture)."""
    lab = SshLab(base)
    try:
        lab.start(name, address)
        yield lab
    finally:
        lab.stop_all()


def _wait_listening(address: str, port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd on {address}:{port} exited: {log.read_text()}")
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd on {address}:{port} did not start listening")


def _descendants(pid: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def free_port_address(base: int = 60) -> str:
    """A loopback address where nothing listens on PORT (for the dead host)."""
    for last in range(base, 250):
        address = f"127.0.0.{last}"
        try:
            with socket.create_connection((address, PORT), timeout=0.2):
                continue
        except OSError:
            return address
    raise RuntimeError("no free loopback address")


def copy_tree(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest

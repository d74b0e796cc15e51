"""Where and how the controller reaches one inventory host: its address, port, user, keys,
known-hosts files, and the jump hosts (or ProxyCommand) on the way, each value with the
source that set it.

One ``Route`` per host is the single answer to "how do I connect": ``remote.connect``
opens exactly what it says (Fabric's own ssh_config loading is not used), and ``cachekit
hosts`` shows it, as ``ssh -G`` shows what OpenSSH would use.
"""

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from cachekit.inventory import Host

DEFAULT_PORT = 22


@dataclass(frozen=True)
class Hop:
    """One SSH server to log in to: the target, or a jump host on the way to it."""

    name: str  # as written (inventory name, ProxyJump entry or ssh_config alias): for messages
    address: str  # what to connect to (HostName resolved)
    port: int = DEFAULT_PORT
    user: Optional[str] = None  # None: the local user name, as ssh does
    key_files: Tuple[str, ...] = ()
    known_hosts: Tuple[str, ...] = ()  # UserKnownHostsFile; empty: ~/.ssh/known_hosts{,2}
    jumps: Tuple["Hop", ...] = ()  # hops before this one, nearest the controller first
    proxy_command: Optional[str] = None  # tokens already expanded; exclusive with jumps

    def label(self) -> str:
        """``user@address:port`` as messages name a hop."""
        return f"{self.user + '@' if self.user else ''}{self.address}:{self.port}"


@dataclass
class Route:
    """How to reach one inventory host, why, and what could not be honoured."""

    host: str  # the inventory name
    target: Hop
    sources: Dict[str, str] = field(default_factory=dict)  # "port" -> "ansible_port", ...
    warnings: List[str] = field(default_factory=list)  # options seen and not honoured
    failure: Optional[Tuple[str, str]] = None  # (status, reason): cannot be reached at all

    @property
    def jumps(self) -> Tuple[Hop, ...]:
        return self.target.jumps


def resolve(host: Host, ssh_config: Optional[str] = None) -> Route:
    """The route to ``host`` from its inventory variables (and ``ssh_config``, the file
    OpenSSH would read: ``~/.ssh/config`` unless ``-F``/``CACHEKIT_SSH_CONFIG`` names
    another).

    Placeholder until ssh_config and ``ansible_ssh_*_args`` are read: inventory values only.
    """
    sources: Dict[str, str] = {"address": "ansible_host" if "ansible_host" in host.vars
                               else "inventory name"}
    port = host.port
    sources["port"] = "ansible_port" if port is not None else "default"
    if host.user is not None:
        sources["user"] = "ansible_user"
    keys: Tuple[str, ...] = ()
    if host.key_file:
        keys = (host.key_file,)
        sources["key_files"] = "ansible_ssh_private_key_file"
    target = Hop(host.name, host.address, port or DEFAULT_PORT, host.user, keys)
    return Route(host.name, target, sources)


def ssh_config_path(explicit: Optional[str] = None) -> Optional[str]:
    """The ssh_config file to read: ``explicit``, else ``CACHEKIT_SSH_CONFIG``, else
    ``~/.ssh/config`` when it exists."""
    if explicit:
        return explicit
    if os.environ.get("CACHEKIT_SSH_CONFIG"):
        return os.environ["CACHEKIT_SSH_CONFIG"]
    default = os.path.expanduser("~/.ssh/config")
    return default if os.path.isfile(default) else None

"""Where and how the controller reaches one inventory host: its address, port, user, keys,
known-hosts files, and the jump hosts (or ProxyCommand) on the way, each value with the
source that set it.

One ``Route`` per host is the single answer to "how do I connect": ``remote.connect``
opens exactly what it says (Fabric's own ssh_config loading is not used), and ``cachekit
hosts`` shows it, as ``ssh -G`` shows what OpenSSH would use. The answer is the one
``ssh`` gives for the command line Ansible builds (``ssh_args``) and the ssh_config it
reads (``ssh_config``): the tests hold it to ``ssh -G``. Each jump host is resolved as
OpenSSH resolves it, through the same ssh_config, with only its ``user@host:port``
from the ProxyJump entry.
"""

import hashlib
import os
import socket
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from cachekit import ssh_args
from cachekit.inventory import Host
from cachekit.ssh_config import (
    SYSTEM_CONFIG,
    Options,
    Reader,
    SshConfigError,
    expand,
    expand_env,
    local_user,
)

DEFAULT_PORT = 22
MAX_HOPS = 10  # jump hosts on the way to one host: more is a ProxyJump loop
SSH_CONNECTIONS = {"ssh", "smart", "paramiko", "paramiko_ssh", "ansible.builtin.ssh",
                   "ansible.legacy.ssh", "ansible.builtin.paramiko_ssh"}
_AGENT = "load the key into the SSH agent"
# variables that change how Ansible logs in, which cachekit does not do: a warning each
NOT_USED = {
    **dict.fromkeys(("ansible_password", "ansible_ssh_pass", "ansible_ssh_password"),
                    "cachekit logs in with keys and the SSH agent only: the password is not "
                    "used"),
    **dict.fromkeys(("ansible_private_key", "ansible_ssh_private_key"),
                    f"a key given as text is not used: name a key file or {_AGENT}"),
    **dict.fromkeys(("ansible_private_key_passphrase", "ansible_ssh_private_key_passphrase"),
                    f"the passphrase is not used: {_AGENT}"),
    "ansible_ssh_pkcs11_provider": f"PKCS#11 keys are not used: {_AGENT}",
    **dict.fromkeys(("ansible_ssh_timeout", "ansible_timeout"),
                    "--connect-timeout applies instead"),
}


@dataclass(frozen=True)
class Hop:
    """One SSH server to log in to: the target, or a jump host on the way to it."""

    name: str  # as written (inventory name, ProxyJump entry or ssh_config alias): for messages
    address: str  # what to connect to (HostName resolved)
    port: int = DEFAULT_PORT
    user: Optional[str] = None  # None: the local user name, as ssh does
    key_files: Tuple[str, ...] = ()  # empty: the SSH agent and ~/.ssh/id_* as ssh would
    known_hosts: Tuple[str, ...] = ()  # UserKnownHostsFile; empty: ~/.ssh/known_hosts{,2}
    jumps: Tuple["Hop", ...] = ()  # hops before this one, nearest the controller first;
    #   each of them carries its own (a prefix of these)
    proxy_command: Optional[str] = None  # tokens already expanded; exclusive with jumps
    accept_new: bool = False  # StrictHostKeyChecking=accept-new: record a key never seen
    sources: Tuple[Tuple[str, str], ...] = field(default=(), compare=False)  # value -> source

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
    local: bool = False  # this machine, in-process: no SSH at all
    config_files: Tuple[str, ...] = ()  # the ssh_config files read

    @property
    def jumps(self) -> Tuple[Hop, ...]:
        """The jump hosts on the way to the target, nearest the controller first."""
        return self.target.jumps


def resolve(host: Host, ssh_config: Optional[str] = None) -> Route:
    """The route to ``host``: what ssh would use for the command line Ansible builds from
    its variables, with ``ssh_config`` (``-F`` in those variables wins; None: what
    ``ssh_config_path`` gives, and /etc/ssh/ssh_config as ssh reads it after
    ``~/.ssh/config``). Never raises for a host: what ssh would refuse is ``failure``."""
    if host.local:
        return Route(host.name, Hop(host.name, "local", 0), {"address": "local"}, local=True)
    warnings = [f"{var}: {why}" for var, why in NOT_USED.items() if host.vars.get(var)]
    executable = host.vars.get("ansible_ssh_executable")
    if executable and os.path.basename(str(executable)) != "ssh":
        warnings.append(f"ansible_ssh_executable: {executable} is not run: cachekit speaks "
                        "SSH itself")
    failure = _connection_failure(host.vars)
    target = Hop(host.name, host.address)  # what is known if resolving fails
    files: Tuple[str, ...] = ()
    try:
        options = Options()
        parsed = ssh_args.apply(ssh_args.command_line(host.vars), options)
        warnings += parsed.warnings
        chosen = _config_files(ssh_config, parsed.config_file)
        files = tuple(path for path, _ in chosen)
        destination, source = ssh_args.setting(host.vars, "host")
        target = _hop(host.name, destination or host.name, source or "inventory name",
                      options, chosen, warnings, 0)
    except SshConfigError as exc:
        failure = failure or ("failed", str(exc))
    return Route(host.name, target, dict(target.sources), _unique(warnings), failure,
                 config_files=files)


def ssh_config_path(explicit: Optional[str] = None) -> Optional[str]:
    """The ssh_config file to read: ``explicit``, else ``CACHEKIT_SSH_CONFIG``, else
    ``~/.ssh/config`` when it exists."""
    if explicit:
        return explicit
    if os.environ.get("CACHEKIT_SSH_CONFIG"):
        return os.environ["CACHEKIT_SSH_CONFIG"]
    default = os.path.expanduser("~/.ssh/config")
    return default if os.path.isfile(default) else None


def _connection_failure(variables: Dict[str, Any]) -> Optional[Tuple[str, str]]:
    kind = variables.get("ansible_connection")
    if kind is None or str(kind) in SSH_CONNECTIONS:
        return None
    return ("failed", f"ansible_connection is {kind!r}: cachekit reaches hosts over SSH "
                      "(or `local`) only")


ConfigFile = Tuple[str, str]  # path, and "user" (~/.ssh/config), "system" or "given" (-F)


def _config_files(given: Optional[str], dash_f: Optional[Tuple[str, str]]
                  ) -> List[ConfigFile]:
    """The files to read, as ssh picks them: ``-F`` alone (``none``: nothing), else the
    user's file and then /etc/ssh/ssh_config. ``given`` (``ssh_config_path``) naming
    ~/.ssh/config is the default, not a -F."""
    default = os.path.expanduser("~/.ssh/config")
    chosen = dash_f[0] if dash_f else ssh_config_path(given)
    if chosen == "none":
        return []
    if chosen and (dash_f or os.path.abspath(chosen) != os.path.abspath(default)):
        if not os.path.isfile(chosen):
            named = f"-F in {dash_f[1]}" if dash_f else "the ssh_config file"
            raise SshConfigError(f"{named}: {chosen} does not exist")
        return [(chosen, "given")]
    return [(path, kind) for path, kind in ((default, "user"), (SYSTEM_CONFIG, "system"))
            if os.path.isfile(path)]


def _hop(name: str, destination: str, source: str, options: Options,
         files: List[ConfigFile], warnings: List[str], depth: int) -> Hop:
    """One hop as ssh resolves ``ssh [command-line options] destination``."""
    if depth > MAX_HOPS:
        raise SshConfigError(f"more than {MAX_HOPS} jump hosts on the way (a ProxyJump loop?)")
    host = destination
    if "@" in host:
        given, host = host.rsplit("@", 1)
        options.set("user", given, source)
    ssh_args.check_destination(host, source, options.get("user"), options.source("user"))
    reader = Reader(options, host, host, local_user())
    for path, kind in files:
        reader.read(path, kind == "system", kind == "user")
    if reader.wants_final:  # Match canonical/final: a second pass, Host matching HostName
        reader.final, reader.host = True, _address(options, host)
        for path, kind in files:
            reader.read(path, kind == "system", kind == "user")
    warnings += options.warnings
    address = _address(options, host)
    port = int(options.get("port") or DEFAULT_PORT)
    user = options.get("user")
    tokens = _tokens(address, port, user or local_user(), host, options)
    keys = tuple(_path(raw, tokens, "IdentityFile") for raw, _ in options.identity_files)
    sources = {"address": options.source("hostname") if options.get("hostname") else source,
               "port": options.source("port"),
               "user": options.source("user") if user else "default (the local user)"}
    if keys:
        sources["key_files"] = ", ".join(dict.fromkeys(s for _, s in options.identity_files))
    known = _known_hosts(options, tokens, warnings, sources)
    accept_new = _accept_new(options, warnings, sources)
    jumps: Tuple[Hop, ...] = ()
    proxy = None
    jump, command = options.get("proxyjump"), options.get("proxycommand")
    if jump is not None and jump.lower() != "none":
        sources["jumps"] = options.source("proxyjump")
        last = _jump_hop(jump, options.source("proxyjump"), files, warnings, depth)
        jumps = last.jumps + (last,)
    elif command is not None and command != "none":
        sources["proxy_command"] = options.source("proxycommand")
        proxy = expand(command, {"h": address, "n": host, "p": str(port),
                                 "r": user or local_user()}, "ProxyCommand")
    return Hop(name, address, port, user, keys, known, jumps, proxy, accept_new,
               tuple(sources.items()))


def _jump_hop(value: str, source: str, files: List[ConfigFile], warnings: List[str],
              depth: int) -> Hop:
    """The last hop of a ProxyJump list (set by ``source``), reached as ssh reaches it:
    ``ssh [-l user] [-p port] [-J the hops before it] host`` with the same ssh_config."""
    before, _, last = value.rpartition(",")
    user, host, port = ssh_args.parse_jump(last, source)
    options = Options()
    entry = f"{source} ({last})"
    if user:
        options.set("user", user, entry)
    if port:
        options.set("port", str(port), entry)
    if before:
        options.set("proxyjump", before, source)
    try:
        return _hop(host, host, entry, options, files, warnings, depth + 1)
    except SshConfigError as exc:  # named: many hosts may go through this one
        raise SshConfigError(f"jump host {host}: {exc}") from None


def _address(options: Options, host: str) -> str:
    name = options.get("hostname")
    return (expand(name, {"h": host}, "HostName") if name else host).lower()


def _tokens(address: str, port: int, user: str, original: str,
            options: Options) -> Dict[str, str]:
    """The tokens of IdentityFile and UserKnownHostsFile (ssh_config(5), TOKENS)."""
    local = socket.gethostname()
    tokens = {"h": address, "p": str(port), "r": user, "n": original, "k": original,
              "u": local_user(), "d": os.path.expanduser("~"), "i": str(os.getuid()),
              "l": local, "L": local.split(".")[0], "j": options.get("proxyjump") or ""}
    tokens["C"] = hashlib.sha1(f"{local}{address}{port}{user}".encode()).hexdigest()
    return tokens


def _path(raw: str, tokens: Dict[str, str], what: str) -> str:
    return expand(expand_env(os.path.expanduser(raw), what), tokens, what)


def _known_hosts(options: Options, tokens: Dict[str, str], warnings: List[str],
                 sources: Dict[str, str]) -> Tuple[str, ...]:
    value = options.get("userknownhostsfile")
    if value is None:
        return ()
    source = options.source("userknownhostsfile")
    files = [_path(f, tokens, "UserKnownHostsFile") for f in value.split()]
    kept = tuple(f for f in files if f not in ("/dev/null", "none"))
    if len(kept) < len(files):
        warnings.append(f"{_said(source, 'UserKnownHostsFile', value)} is refused: host keys "
                        "are still checked" + ("" if kept else " against ~/.ssh/known_hosts"))
    if kept:
        sources["known_hosts"] = source
    return kept


def _accept_new(options: Options, warnings: List[str], sources: Dict[str, str]) -> bool:
    value = (options.get("stricthostkeychecking") or "").lower()
    source = options.source("stricthostkeychecking")
    if value in ("no", "off", "false"):
        warnings.append(f"{_said(source, 'StrictHostKeyChecking', value)} is refused: host "
                        "keys are still checked (StrictHostKeyChecking=accept-new or "
                        "--accept-new-host-keys records new ones)")
    if value == "accept-new":
        sources["accept_new"] = source
        return True
    return False


def _said(source: str, key: str, value: str) -> str:
    """``ansible_ssh_common_args -o Key=value`` or ``~/.ssh/config line 3: Key value``."""
    if source.lower().endswith(f"-o {key.lower()}"):
        return f"{source}={value}"
    return f"{source}: {key} {value}"


def _unique(lines: List[str]) -> List[str]:
    return list(dict.fromkeys(lines))

"""A host's Ansible connection variables as the ssh command line Ansible builds from them,
read back as ssh reads it, for the options that decide where and how to connect.

Ansible's ssh connection plugin (``_build_command``; the tests check the order against
Ansible itself) writes, in this order: ``ansible_ssh_args``, ``-o
StrictHostKeyChecking=no`` when host key checking is off, ``-o Port=`` (ansible_port),
``-o IdentityFile=`` (ansible_ssh_private_key_file), ``-o User=`` (ansible_user),
``ansible_ssh_common_args``, ``ansible_ssh_extra_args``, and last the destination
(ansible_host). ssh keeps the first value it gets for each setting, before any
ssh_config: so ansible_port beats ``-p`` in the common args, which beats ssh_config.
"""

import os
import re
import shlex
from typing import Any, Dict, List, Optional, Tuple

from cachekit.inventory import boolean
from cachekit.ssh_config import (
    KEYWORDS,
    Options,
    SshConfigError,
    keyword_value,
    parse_port,
    set_keyword,
)

# Ansible reads each setting from several variables; the last one set in this list wins
# (the old ``ansible_ssh_*`` spellings, as Ansible 2.19 does it)
ALIASES = {
    "host": ("ansible_host", "ansible_ssh_host"),
    "port": ("ansible_port", "ansible_ssh_port"),
    "user": ("ansible_user", "ansible_ssh_user"),
    "key": ("ansible_private_key_file", "ansible_ssh_private_key_file"),
    "host_key_checking": ("ansible_host_key_checking", "ansible_ssh_host_key_checking"),
}
ARG_VARIABLES = ("ansible_ssh_args", "ansible_ssh_common_args", "ansible_ssh_extra_args")
# ssh's options (OpenSSH 9.4's getopt string): these take an argument, the others do not
WITH_ARGUMENT = set("bceilmopBDEFIJLOPQRSWw")
FLAGS = set("1246afgknqstvxACGKMNTVXYy")
Piece = Tuple[str, List[str]]  # the variable and the arguments it put on the command line


def setting(variables: Dict[str, Any], name: str) -> Tuple[Optional[str], Optional[str]]:
    """The value of one of Ansible's settings and the variable it came from."""
    found: Tuple[Optional[str], Optional[str]] = (None, None)
    for var in ALIASES[name]:
        if variables.get(var) is not None and str(variables[var]) != "":
            found = (str(variables[var]), var)
    return found


def command_line(variables: Dict[str, Any]) -> List[Piece]:
    """The options Ansible puts on ssh's command line for a host, in Ansible's order."""
    pieces: List[Piece] = []
    if variables.get("ansible_ssh_args"):
        pieces.append(("ansible_ssh_args", _split("ansible_ssh_args",
                                                  variables["ansible_ssh_args"])))
    checking, var = setting(variables, "host_key_checking")
    # off only when Ansible's boolean says false: anything else keeps the keys checked
    if checking is not None and var and boolean(checking) is False:
        pieces.append((var, ["-o", "StrictHostKeyChecking=no"]))
    port, var = setting(variables, "port")
    if port is not None and var:
        pieces.append((var, ["-o", f"Port={port}"]))
    key, var = setting(variables, "key")
    if key is not None and var:
        pieces.append((var, ["-o", f'IdentityFile="{os.path.expanduser(key)}"']))
    user, var = setting(variables, "user")
    if user is not None and var:
        pieces.append((var, ["-o", f'User="{user}"']))
    for var in ARG_VARIABLES[1:]:
        if variables.get(var):
            pieces.append((var, _split(var, variables[var])))
    return pieces


def _split(var: str, value: Any) -> List[str]:
    """As Ansible's _split_ssh_args: shell words, blank ones dropped."""
    try:
        return [w.strip() for w in shlex.split(str(value)) if w.strip()]
    except ValueError as exc:  # Ansible stops on it too
        raise SshConfigError(f"{var}: {exc}") from None


class Parsed:
    """What a command line set: ``-F``'s file, warnings, and ssh's own refusals."""

    def __init__(self) -> None:
        self.config_file: Optional[Tuple[str, str]] = None  # (path, variable)
        self.warnings: List[str] = []
        self.jump_given = False


def apply(pieces: List[Piece], options: Options) -> Parsed:
    """Read the pieces as ssh's getopt does, setting ``options`` (first value wins).

    What ssh would refuse to run with raises SshConfigError; options that do not decide
    the route are warnings."""
    parsed = Parsed()
    for var, args in pieces:
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if not arg.startswith("-") or arg == "-":
                parsed.warnings.append(f"{var}: {arg!r} is not an option: not honoured by "
                                       "cachekit: ignored")
                continue
            at = 1
            while at < len(arg):
                letter = arg[at]
                at += 1
                if letter in WITH_ARGUMENT:
                    value = arg[at:]
                    if not value:
                        if i >= len(args):
                            raise SshConfigError(f"{var}: -{letter} needs an argument")
                        value = args[i]
                        i += 1
                    _option(var, letter, value, options, parsed)
                    break
                shown = f"-{letter}"
                if letter not in FLAGS:
                    shown += " (not an ssh option)"
                parsed.warnings.append(f"{var}: {shown} is not honoured by cachekit: ignored")
    return parsed


def _option(var: str, letter: str, value: str, options: Options, parsed: Parsed) -> None:
    source = f"{var} -{letter}" if var in ARG_VARIABLES else var
    if letter == "o":
        _dash_o(var, value, options, parsed)
    elif letter == "p":
        options.set("port", str(parse_port(value, source)), source)
    elif letter == "l":
        options.set("user", value, source)
    elif letter == "i":
        path = os.path.expanduser(value)
        if os.path.exists(path):
            options.set("identityfile", path, source)
        else:  # ssh skips it too, with a warning
            parsed.warnings.append(f"{source} {value}: no such file: skipped, as ssh does")
    elif letter == "J":
        _jump(source, value, options, parsed)
    elif letter == "F":
        parsed.config_file = (os.path.expanduser(value), var)  # the last -F wins, as in ssh
    else:
        parsed.warnings.append(f"{var}: -{letter} {value} is not honoured by cachekit: ignored")


def _jump(source: str, value: str, options: Options, parsed: Parsed) -> None:
    if parsed.jump_given or options.get("proxyjump") is not None:
        raise SshConfigError(f"{source} {value}: ssh permits a single -J (and no -J after "
                             "-o ProxyJump): use commas to separate jump hosts")
    if options.get("proxycommand") is not None:
        raise SshConfigError(f"{source} {value}: ssh refuses -J with a ProxyCommand")
    parsed.jump_given = True
    options.set("proxyjump", value, source)


def _dash_o(var: str, text: str, options: Options, parsed: Parsed) -> None:
    found = keyword_value(text)
    if found is None:
        raise SshConfigError(f"{var}: -o {text}: no argument after the keyword (ssh stops)")
    key, rest = found
    source = f"{var} -o {text.split('=')[0].split()[0]}" if var in ARG_VARIABLES else var
    if key not in KEYWORDS:
        parsed.warnings.append(f"{var}: -o {text} is not honoured by cachekit: ignored")
        return
    if not set_keyword(options, key, rest, source):
        raise SshConfigError(f"{var}: -o {text}: no argument after the keyword (ssh stops)")


def check_destination(host: str, source: str, user: Optional[str], user_source: str) -> None:
    """ssh refuses a host name or a user given on the command line that a shell would
    read as more than a name (OpenSSH 9.6, CVE-2023-51385: they reach ProxyCommand's
    %h and %r); the same names from ssh_config are not checked, as in ssh."""
    if host.startswith("-") or any(c in "'`\"$\\;&<>|(){}," or c.isspace() or
                                   not c.isprintable() for c in host):
        raise SshConfigError(f"{source}: host name {host!r} contains characters ssh refuses")
    if user is not None and (user.startswith("-") or user.endswith("\\") or
                             any(c in "'`\";&<>|(){}" for c in user) or
                             any(a.isspace() and b == "-" for a, b in zip(user, user[1:]))):
        raise SshConfigError(f"{user_source}: user name {user!r} contains characters ssh "
                             "refuses")


def parse_jump(entry: str, source: str) -> Tuple[Optional[str], str, Optional[int]]:
    """``[user@]host[:port]``, ``[user@][v6addr]:port`` or ``ssh://[user@]host[:port]``."""
    text = entry.strip()
    if text.startswith("ssh://"):
        text = text[len("ssh://"):].rstrip("/")
    user, _, hostport = text.rpartition("@")
    m = re.fullmatch(r"\[([^\]]+)\](?::(.*))?|([^:]*)(?::(.*))?", hostport)
    host = (m.group(1) or m.group(3) or "") if m else ""
    port_text: Optional[str] = (m.group(2) if m.group(1) else m.group(4)) if m else None
    if not host:
        raise SshConfigError(f"{source}: invalid jump host {entry!r}")
    port = parse_port(port_text, source) if port_text is not None else None
    return user or None, host, port

"""Privilege escalation as Ansible spells it: whom a host's core runs as, the sudo command
that starts it there, and the handshake that answers sudo's password prompt.

Settings come from the inventory (``ansible_become``, ``ansible_become_user``,
``ansible_become_method``, ``ansible_become_flags``, ``ansible_become_exe``, and the older
``ansible_sudo_user/flags/exe`` spellings: the last one set wins, as in ansible-core
2.19) and from the command line (``--become``, ``--become-user``, ``--ask-become-pass``).
As in Ansible, a host's inventory variables beat the command line.

The password is asked once on the terminal (``--ask-become-pass``), kept in memory, and
crosses only the stdin of the session that runs sudo, when sudo shows the prompt this run
chose: never a command line, a request, a log or the history. An inventory's
``ansible_become_password`` is never used (a warning says so). sudo runs with ``-n``
unless a password was given, and any prompt is answered at once or ends the run, so a
host never waits for a password that will not come. The shell sudo starts prints a
one-time marker before the core starts: what comes before it is sudo's, what comes after
it the core's.

Bytes and strings only: ``remote`` (over SSH) and ``child.run_child`` (``local``) read
their own streams and hand them to the same ``Handshake.advance``.
"""

import getpass
import os
import shlex
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from cachekit.errors import CachekitError
from cachekit.inventory import Host, boolean
from cachekit.protocol import CONNECT_TIMEOUT_S, HostFailure, StderrTail

METHODS = ("sudo",)  # su needs a terminal for its password; not supported (yet)
# the names Ansible loads the sudo plugin by (become_loader.get)
METHOD_NAMES = {"sudo": "sudo", "ansible.builtin.sudo": "sudo", "ansible.legacy.sudo": "sudo"}
DEFAULT_USER = "root"
DEFAULT_FLAGS = "-H -S -n"  # Ansible's: target user's HOME, password on stdin, never ask
DEFAULT_EXE = "sudo"
HANDSHAKE_MIN_S = 15.0  # at least this long for sudo to start the command
# Each setting's variables; as in ansible-core 2.19 (the config manager's _loop_entries
# over the sudo plugin's vars), the LAST one set in this order wins. Whether become is
# on, and its method, are ansible_become and ansible_become_method alone (the task
# executor reads them); the old ``ansible_sudo`` no longer turns it on.
VARIABLES: Dict[str, Tuple[str, ...]] = {
    "become": ("ansible_become",),
    "user": ("ansible_become_user", "ansible_sudo_user"),
    "method": ("ansible_become_method",),
    "flags": ("ansible_become_flags", "ansible_sudo_flags"),
    "exe": ("ansible_become_exe", "ansible_sudo_exe"),
}
PASSWORD_VARIABLES = ("ansible_become_password", "ansible_become_pass", "ansible_sudo_pass",
                      "ansible_sudo_password")


@dataclass(frozen=True)
class Escalation:
    """What the command line asks of become (``--become``, ``--become-user``), and the
    password asked on the terminal; each host's ``Become`` comes from it and the host's
    variables."""

    become: bool = False
    user: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)  # never printed


@dataclass(frozen=True)
class Become:
    """How one host's core is started as another user."""

    user: str
    method: str
    flags: str
    exe: str
    sources: Dict[str, str] = field(default_factory=dict)  # "user" -> "ansible_become_user"


def _lookup(host: Host, setting: str) -> Tuple[Any, Optional[str]]:
    found: Tuple[Any, Optional[str]] = (None, None)
    for name in VARIABLES[setting]:
        if host.vars.get(name) is not None:
            found = (host.vars[name], name)
    return found


def _boolean(value: Any, host: Host, variable: str) -> bool:
    """Ansible's boolean (strict, as its task executor reads ansible_become)."""
    found = boolean(value)
    if found is None:
        raise HostFailure("become", f"{variable} {value!r} of host {host.name} is not a "
                          "boolean (use true or false)")
    return found


def for_host(host: Host, asked: Escalation) -> Optional[Become]:
    """The host's become settings (its variables, else what the command line ``asked``),
    or None when its core runs as the login user.

    A bad value (an unsupported method, flags that do not split) is this host's failure,
    with status ``become``.
    """
    value, variable = _lookup(host, "become")
    enabled = asked.become if variable is None else _boolean(value, host, variable)
    if not enabled:
        return None
    sources = {"become": variable or "--become"}
    user, variable = _lookup(host, "user")
    sources["user"] = variable or ("--become-user" if asked.user else "default")
    user = str(user if variable else asked.user or DEFAULT_USER)
    given, variable = _lookup(host, "method")
    method = METHOD_NAMES.get(str(given or "sudo"), str(given))
    if method not in METHODS:
        raise HostFailure("become", f"unsupported become method {method!r} "
                          f"({variable} of host {host.name}); cachekit supports "
                          f"{', '.join(METHODS)}")
    flags, variable = _lookup(host, "flags")
    sources["flags"] = variable or "default"
    flags = DEFAULT_FLAGS if flags is None else str(flags)
    try:
        shlex.split(flags)
    except ValueError as exc:
        raise HostFailure("become", f"{variable} {flags!r} of host {host.name} does not "
                          f"split into words ({exc})") from None
    exe, variable = _lookup(host, "exe")
    sources["exe"] = variable or "default"
    if not user.strip() or not str(exe or DEFAULT_EXE).strip():
        raise HostFailure("become", f"host {host.name}: the become user and the become exe "
                          "must not be empty")
    return Become(user, method, flags, str(exe or DEFAULT_EXE), sources)


def warnings(host: Host) -> List[str]:
    """What the inventory asks of become that cachekit will not do (said, never ignored)."""
    said = []
    found = [name for name in PASSWORD_VARIABLES if name in host.vars]
    if found:
        said.append(f"host {host.name}: {found[0]} in the inventory is not used: cachekit "
                    "never reads a password from the inventory; give it with "
                    "--ask-become-pass, or let the login user run sudo without one (NOPASSWD)")
    if "ansible_sudo" in host.vars:
        said.append(f"host {host.name}: ansible_sudo is not used (Ansible 2.19 does not read "
                    "it either): write ansible_become")
    return said


def ask_password() -> Optional[str]:
    """``--ask-become-pass``: the password, typed on the terminal without echo (Ansible's
    ``-K`` prompt); None when left empty. No terminal is an error: a password is never
    read from a pipe, where it would sit in a script."""
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        raise CachekitError("--ask-become-pass needs a terminal to ask on",
                            hint="for unattended runs, give the login user a NOPASSWD sudo "
                                 "rule") from None
    try:
        password = getpass.getpass("BECOME password: ")
    except EOFError:
        raise CachekitError("--ask-become-pass: no password was typed") from None
    return password or None


def _flags(flags: str, password: bool) -> List[str]:
    """The flags as words; with a password, without ``-n``, as Ansible drops it (sudo
    must be allowed to ask)."""
    words = shlex.split(flags)
    if not password:
        return words
    kept = []
    for word in words:
        if word == "--non-interactive":
            continue
        if word.startswith("-") and not word.startswith("--") and "n" in word:
            word = word.replace("n", "")
            if word == "-":
                continue
        kept.append(word)
    return kept


class Handshake:
    """One run's sudo: its command line, and the reading of what sudo says before the core
    starts (the prompt, answered once; the marker, after which the core's output begins)."""

    def __init__(self, become: Become, password: Optional[str],
                 connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        self.become = become
        self._password = password or None
        self.connect_timeout = connect_timeout
        # sudo has this long to start the command (a prompt it did not recognise waits
        # for ever): the run's --timeout is for the core, not for a stuck sudo
        self.wait = max(HANDSHAKE_MIN_S, 2 * connect_timeout)
        self.deadline = float("inf")
        token = os.urandom(12).hex()  # what `secrets` does, without its imports
        self.prompt = f"[cachekit become {token}] password:"
        self.marker = f"BECOME-SUCCESS-{token}"
        self.answered_at = 0  # how far into stderr the prompt last answered ended
        self.done = False

    def again(self) -> "Handshake":
        """A new handshake (its own prompt and marker) for another command on the same
        host as the same user: the Ctrl-C that must reach a core running as root."""
        return Handshake(self.become, self._password, self.connect_timeout)

    def begin(self, run_deadline: float) -> None:
        """sudo starts now: it has ``wait`` seconds, and never past the run's deadline."""
        now = time.monotonic()
        self.deadline = min(run_deadline, now + self.wait)
        self.wait = max(0.0, self.deadline - now)  # what it gets, as the failure says

    def command(self, inner: str) -> str:
        """``inner`` (a shell command) wrapped in sudo, announcing itself with the marker."""
        b = self.become
        words = [b.exe, *_flags(b.flags, self._password is not None), "-p", self.prompt,
                 "-u", b.user, "/bin/sh", "-c", f"echo {self.marker}; {inner}"]
        return " ".join(shlex.quote(w) for w in words)

    def step(self, out: bytearray, err: bytes, end: Optional[int] = None) -> Optional[bytes]:
        """Look at what came so far: take sudo's part out of ``out`` once the marker is
        there (``done``); the bytes to write to sudo's stdin when it asks for the password.
        A prompt without a password, or a second one (the password was refused), raises.

        sudo asks by writing the prompt with no newline and waiting: only a stderr that
        ends with it is asked (the prompt inside a line, a shell's ``set -x`` or a
        wrapper echoing the command, is not). ``err`` may be the tail of a longer stderr
        that ends ``end`` bytes in (default: all of it)."""
        if self.done:
            return None
        marker = self.marker.encode()
        at = out.find(marker + b"\n")
        if at >= 0:
            del out[:at + len(marker) + 1]
            self.done = True
            return None
        end = len(err) if end is None else end
        if not err.endswith(self.prompt.encode()) or end <= self.answered_at:
            return None
        if self._password is None:
            raise HostFailure("become", f"{self._who()}: sudo asked for a password and none "
                              "was given (use --ask-become-pass, or a NOPASSWD sudo rule)")
        if self.answered_at:
            raise HostFailure("become", f"{self._who()}: sudo refused the password given "
                              f"with --ask-become-pass ({self.reason(err) or 'asked again'})")
        self.answered_at = end
        return self._password.encode("utf-8") + b"\n"

    def advance(self, out: bytearray, err: StderrTail, ended: bool,
                status: Callable[[], int]) -> Optional[bytes]:
        """One look at a session sudo runs in, whatever carries it (``remote``'s SSH
        channel, ``child.run_child``'s pipes): what to write to sudo's stdin, if
        anything. Once the marker came (``done``), sudo's words leave the stderr tail;
        sudo ending first (``ended``: both streams closed) is a ``become`` failure in its
        words, with ``status()`` its exit status."""
        answer = self.step(out, bytes(err.data), err.total)
        if self.done:
            err.clear()
            return None
        if answer is None and ended:
            raise self.failure(bytes(err.data), status())
        if answer is None and time.monotonic() >= self.deadline:
            said = self.reason(bytes(err.data))
            raise HostFailure("become", f"{self._who()}: sudo did not start the command "
                              f"within {self.wait:.0f} s" + (f": {said} (a prompt cachekit "
                                                             "does not know?)" if said else ""))
        return answer

    def failure(self, err: bytes, status: int) -> HostFailure:
        """sudo (or the shell) ended before the core started: its own reason, one line."""
        why = self.reason(err) or f"exit {status}"
        hint = ""
        if "password is required" in why:
            hint = " (use --ask-become-pass, or a NOPASSWD sudo rule)"
        return HostFailure("become", f"{self._who()}: {why}{hint}")

    def reason(self, err: bytes) -> str:
        """sudo's last line, without our prompt (sudo writes it with no newline)."""
        text = err.decode("utf-8", "replace").replace(self.prompt, "\n")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""

    def _who(self) -> str:
        return f"become {self.become.user} with {self.become.method}"

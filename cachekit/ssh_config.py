"""Read ssh_config as OpenSSH's client reads it, for the settings that decide where and how
to connect: HostName, Port, User, IdentityFile, ProxyJump, ProxyCommand, UserKnownHostsFile
and StrictHostKeyChecking.

The rules are OpenSSH's (``ssh_config(5)``, checked against ``ssh -G`` by the tests): the
first value obtained for a setting wins (the command line's come first), IdentityFile
adds up; ``Host`` patterns with ``*``, ``?`` and ``!`` negation, matched against the name
as given; ``Match host|originalhost|user|localuser|all|canonical|final`` (``canonical``
and ``final`` in a second pass, as ssh does); ``Include`` (relative to ~/.ssh, or to
/etc/ssh for the system file), conditional inside a block. ``Match exec`` and other
criteria are not evaluated: where the block's outcome hangs on one, a warning says so
and the block is skipped.
"""

import functools
import glob
import os
import pwd
import re
from typing import Dict, List, Optional, Tuple

SYSTEM_CONFIG = "/etc/ssh/ssh_config"
MAX_INCLUDE_DEPTH = 16  # as OpenSSH's READCONF_MAX_DEPTH
MAX_FILE_BYTES = 1 << 20
# what a Route is made of; every other keyword is OpenSSH's business, not a route's
KEYWORDS = {"hostname", "port", "user", "identityfile", "proxyjump", "proxycommand",
            "userknownhostsfile", "stricthostkeychecking"}
# Match criteria with an argument that are not evaluated (exec runs a command)
UNEVALUATED = ("exec", "localnetwork", "tagged", "version", "sessiontype", "command")
_KEYWORD = re.compile(r"\s*([^\s=]+)\s*(?:=\s*)?(.*)$", re.S)


class SshConfigError(Exception):
    """What ssh itself would stop on (a bad port, a config it may not read)."""


class Options:
    """Settings as they are obtained, first value wins; each with where it came from."""

    def __init__(self) -> None:
        self.values: Dict[str, Tuple[str, str]] = {}  # keyword -> (raw value, source)
        self.identity_files: List[Tuple[str, str]] = []
        self.warnings: List[str] = []

    def set(self, key: str, value: str, source: str) -> None:
        if key == "identityfile":
            if value not in [f for f, _ in self.identity_files]:
                self.identity_files.append((value, source))
            return
        if key in self.values:
            return
        # ProxyJump and ProxyCommand exclude each other, the first one set wins; but
        # ``ProxyJump none`` leaves room for a ProxyCommand (as ssh 9 does)
        if key == "proxyjump" and "proxycommand" in self.values:
            return
        if key == "proxycommand" and (self.get("proxyjump") or "none").lower() != "none":
            return
        self.values[key] = (value, source)

    def get(self, key: str) -> Optional[str]:
        found = self.values.get(key)
        return found[0] if found else None

    def source(self, key: str) -> str:
        found = self.values.get(key)
        return found[1] if found else "default"


def split_args(text: str) -> List[str]:
    """OpenSSH's argv_split: words separated by blanks, "double" or 'single' quotes,
    backslash escaping a quote, a backslash or a blank; a word starting with # ends it."""
    args: List[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n or text[i] == "#":
            break
        word, quote = [], ""
        while i < n and (quote or text[i] not in " \t\r\n"):
            ch = text[i]
            if ch == "\\" and i + 1 < n and text[i + 1] in "\\\"' ":
                word.append(text[i + 1])
                i += 2
                continue
            if quote and ch == quote:
                quote = ""
            elif not quote and ch in "\"'":
                quote = ch
            else:
                word.append(ch)
            i += 1
        args.append("".join(word))
    return args


def keyword_value(text: str) -> Optional[Tuple[str, str]]:
    """``Key value``, ``Key=value`` or ``Key = value`` -> (lowercased key, value)."""
    m = _KEYWORD.match(text)
    if not m or not m.group(2).strip():
        return None
    return m.group(1).lower(), m.group(2).strip()


def match_pattern(name: str, pattern: str) -> bool:
    """OpenSSH's match_pattern: ``*`` and ``?`` wildcards, case as written."""
    return _compiled(pattern).fullmatch(name) is not None


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> "re.Pattern[str]":
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                              for c in pattern), re.S)


def match_list(name: str, patterns: List[str]) -> bool:
    """A pattern list: some pattern matches and no ``!pattern`` does."""
    found = False
    for pattern in patterns:
        if pattern.startswith("!"):
            if match_pattern(name, pattern[1:]):
                return False
        elif match_pattern(name, pattern):
            found = True
    return found


def _read_lines(path: str, checked: bool) -> List[Tuple[int, str, str]]:
    """The settings of a config file: (line number, keyword, the rest); ``checked``:
    refused if others may write it, as ssh refuses ~/.ssh/config and included files
    (not a -F file, nor the system's). Parsed once while the file stays the same."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SshConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if checked and (st.st_uid not in (0, os.getuid()) or st.st_mode & 0o022):
        raise SshConfigError(f"{path}: bad owner or permissions (ssh refuses it)")
    return _parsed(path, st.st_ino, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _parsed(path: str, inode: int, mtime: int, size: int) -> List[Tuple[int, str, str]]:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SshConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise SshConfigError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    out = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        found = keyword_value(line)
        if found is not None and not found[0].startswith("#"):
            out.append((number, found[0], found[1]))
    return out


class Reader:
    """Applies config files to ``Options`` for one destination, as one ssh run would."""

    def __init__(self, options: Options, host: str, original: str, local_user: str) -> None:
        self.options = options
        self.host = host  # what Host lines match: the name given (HostName in the final pass)
        self.original = original
        self.local_user = local_user
        self.final = False
        self.wants_final = False

    def read(self, path: str, system: bool = False, checked: bool = False) -> None:
        self._file(path, system, True, 0, checked)

    def _where(self, path: str, number: int) -> str:
        home = os.path.expanduser("~")
        if path.startswith(home + os.sep):
            path = "~" + path[len(home):]
        return f"{path} line {number}"

    def _file(self, path: str, system: bool, may_match: bool, depth: int,
              checked: bool = True) -> None:
        active = may_match  # lines before any Host or Match apply as the block around
        for number, key, rest in _read_lines(path, checked):
            if key == "host":
                active = may_match and match_list(self.host, split_args(rest))
            elif key == "match":
                active = may_match and self._match(split_args(rest), self._where(path, number))
            elif key == "include":
                self._include(split_args(rest), system, may_match and active, depth,
                              self._where(path, number))
            elif active and key in KEYWORDS:
                set_keyword(self.options, key, rest, self._where(path, number))

    def _include(self, args: List[str], system: bool, active: bool, depth: int,
                 where: str) -> None:
        if depth >= MAX_INCLUDE_DEPTH:
            raise SshConfigError(f"{where}: Include nested more than {MAX_INCLUDE_DEPTH} deep")
        for arg in args:
            pattern = os.path.expanduser(arg)
            if not os.path.isabs(pattern):
                base = "/etc/ssh" if system else os.path.expanduser("~/.ssh")
                pattern = os.path.join(base, pattern)
            for path in sorted(glob.glob(pattern)):
                self._file(path, system, active, depth + 1)

    def _match(self, args: List[str], where: str) -> bool:
        """Every criterion of a ``Match`` line holds (``!`` negates one). One cachekit does
        not evaluate (``exec``, ...) is a warning, and the block is skipped, only when the
        line's outcome hangs on it: after a criterion that failed, ssh does not run an
        ``exec`` either, and a line that fails anyway says nothing."""
        result, i, unevaluated = True, 0, []
        while i < len(args):
            word = args[i].lower()
            negate = word.startswith("!")
            word = word.lstrip("!")
            i += 1
            if word in ("all", "canonical", "final"):
                if word != "all":
                    self.wants_final = True
                hit = word == "all" or self.final
            elif word in ("host", "originalhost", "user", "localuser") and i < len(args):
                patterns = args[i].split(",")
                i += 1
                hit = match_list(self._subject(word), patterns)
            elif word in UNEVALUATED and i < len(args):
                i += 1
                unevaluated.append(word)
                continue
            else:  # not a criterion this reader knows the shape of: nothing after it is read
                unevaluated.append(word)
                break
            if hit == negate:
                result = False
        if result and unevaluated:
            self.options.warnings.append(f"{where}: Match {unevaluated[0]} is not evaluated "
                                         "by cachekit: the block is skipped")
            return False
        return result

    def _subject(self, criterion: str) -> str:
        if criterion == "host":
            name = self.options.get("hostname")
            return expand(name, {"h": self.host}, "HostName") if name else self.host
        if criterion == "originalhost":
            return self.original
        if criterion == "user":
            return self.options.get("user") or self.local_user
        return self.local_user


def local_user() -> str:
    """The local user name as ssh takes it (for User, %r, %u, Match localuser): the
    passwd entry of the real uid, not $USER. A uid with no entry (a container's) is
    $USER, else $LOGNAME, else the uid's number (where ssh itself would stop)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid())


def set_keyword(options: Options, key: str, rest: str, source: str) -> bool:
    """One of the route's ``KEYWORDS`` with its value as ssh reads it (from a config line
    or ``-o``); False when the value holds no argument at all."""
    if key == "proxycommand":  # the rest of the line, as a shell would get it
        options.set(key, rest, source)
        return True
    args = split_args(rest)
    if not args:
        return False
    if key == "userknownhostsfile":
        options.set(key, " ".join(args), source)
    elif key == "port":
        options.set(key, str(parse_port(args[0], source)), source)
    else:
        options.set(key, args[0], source)
    return True


def parse_port(text: str, where: str) -> int:
    """A port as ssh's a2port takes it: 1-65535, decimal."""
    if text.isdigit() and 0 < int(text) < 65536:
        return int(text)
    raise SshConfigError(f"{where}: bad port {text!r}")


def expand(text: str, tokens: Dict[str, str], what: str) -> str:
    """OpenSSH's percent_expand: ``%x`` from ``tokens``, ``%%`` a percent sign; an unknown
    token is an error, as ssh makes it."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "%":
            out.append(text[i])
            i += 1
            continue
        key = text[i + 1: i + 2]
        if key == "%":
            out.append("%")
        elif key in tokens:
            out.append(tokens[key])
        else:
            raise SshConfigError(f"{what} {text!r}: unknown token %{key}")
        i += 2
    return "".join(out)


def expand_env(text: str, what: str) -> str:
    """``${NAME}`` from the environment, as ssh expands it in IdentityFile and
    UserKnownHostsFile; an unset one is an error."""
    def value(m: "re.Match[str]") -> str:
        if m.group(1) not in os.environ:
            raise SshConfigError(f"{what} {text!r}: environment variable {m.group(1)} is not set")
        return os.environ[m.group(1)]
    return re.sub(r"\$\{([^}]*)\}", value, text)

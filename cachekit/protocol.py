"""The wire between controller and core: how to reach a host, and what running the core
on it yields, whether over SSH (``remote``) or in a child process (``child``).

Kept apart from ``remote`` so that a local run never imports Fabric and Paramiko (about
40 ms of start-up that a command on this machine alone does not need).

No host is trusted. Its stdout is read up to ``OUTPUT_CAP`` and its stderr is drained
alongside, keeping only a bounded tail, so neither stream can stall or flood the
controller; the result is parsed with bounds on its values and nesting, and checked
field by field (``wire_check``). Whatever is wrong becomes a ``HostFailure``: a failed
row with a one-line reason, never a traceback.
"""

import json
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

from cachekit import wire_check
from cachekit.core import SCHEMA, outcome
from cachekit.errors import CachekitError

STDERR_TAIL = 10  # lines of a host's stderr kept for its row
STDERR_KEEP = 16 * 1024  # bytes of stderr kept while draining; the rest is dropped
STDERR_LINE = 300  # characters of one stderr line kept
OUTPUT_CAP = 64 * 1024 * 1024  # bytes of stdout one run of the core may send
CAP_VARIABLE = "cachekit_max_output"  # a host's own cap, from the inventory
# What one parsed result may hold. A real result has about 0.06 values and 0.005 objects
# or lists per byte (a 16 MB purge plan parses to 80 MB), while 64 MiB of `[{},{},...]`
# would be 1.4 GB of Python objects.
MAX_VALUES = 8_000_000
MAX_CONTAINERS = 1_000_000
MAX_DEPTH = 32  # a result nests 6 deep; the JSON writer recurses
TIMEOUT_S = 300.0  # per host, for one run of the core (--timeout)
CONNECT_TIMEOUT_S = 10.0  # for a host's SSH server to answer (--connect-timeout)

# The marks on the core's stdout. A line starting with PROGRESS is a progress row (the
# core's agent.PROGRESS_MARK); NEED or READY is the bootstrap's first line, saying whether
# the host wants the core's sources (shipping.BOOTSTRAP writes them literally).
PROGRESS = b"@"
NEED = b"@need"
READY = b"@ready"


@dataclass
class Settings:
    connect_timeout: float = CONNECT_TIMEOUT_S
    timeout: float = TIMEOUT_S
    accept_new_host_keys: bool = False
    output_cap: int = OUTPUT_CAP


def check_schema(result: Dict[str, Any], host: str) -> None:
    """Refuse a result this controller cannot read."""
    if result.get("schema") != SCHEMA:
        raise CachekitError(
            f"host {host} answered with result schema {result.get('schema')!r}, "
            f"this cachekit reads schema {SCHEMA}",
            hint="run the same cachekit version on both ends",
        )


# Why a host yielded no result, as its row's status says (besides the core's own
# "refused", "failed" and "interrupted"): no connection, its key, its login, its sudo
# (become), no answer in time.
FAILURE_STATUSES = ("failed", "unreachable", "timeout", "hostkey", "auth", "become")

# What fails a host that answered (a cache not served, a removal that failed): the core's
# rule, which the Ansible modules apply too; the renderer's exit code takes it from here.
host_problems = outcome.problems


class HostFailure(Exception):
    """A host could not serve the request; ``status`` is one of ``FAILURE_STATUSES``.

    ``removed`` lists the files a removal reported as it went, before it broke off.
    """

    def __init__(self, status: str, reason: str, stderr_tail: Optional[List[str]] = None,
                 removed: Optional[List[Dict[str, Any]]] = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.stderr_tail = stderr_tail or []
        self.removed = removed or []


def mib(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB"


def exit_text(status: int) -> str:
    """Paramiko reports -1 for a process a signal ended (it sent no exit status)."""
    return "killed by a signal" if status == -1 else f"exit {status}"


def output_cap(host_vars: Dict[str, Any], default: int = OUTPUT_CAP) -> int:
    """The host's ``cachekit_max_output`` (``256MiB``), else the default cap."""
    value = host_vars.get(CAP_VARIABLE)
    if value is None:
        return default
    from cachekit.policy_input import parse_size

    try:
        cap = parse_size(str(value), CAP_VARIABLE)
    except CachekitError as exc:
        raise HostFailure("failed", str(exc)) from None
    if cap < 1024 * 1024:
        raise HostFailure("failed", f"{CAP_VARIABLE} {value!r} is below 1 MiB")
    return cap


class Stdout:
    """A host's stdout, up to the cap: past it, reading stops and the host fails."""

    def __init__(self, cap: int = OUTPUT_CAP) -> None:
        self.data = bytearray()
        self.cap = cap

    def add(self, chunk: bytes) -> None:
        if len(self.data) + len(chunk) > self.cap:
            raise HostFailure("failed", f"the host sent more than {mib(self.cap)} on stdout "
                              f"(the cap on one result; {CAP_VARIABLE} raises it); "
                              "stopped reading it")
        self.data += chunk


class StderrTail:
    """The last few kB of a host's stderr: drained as it comes, never held whole."""

    def __init__(self, keep: int = STDERR_KEEP) -> None:
        self.data = bytearray()
        self.keep = keep
        self.dropped = False
        self.total = 0  # bytes ever added: where the tail ends

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        self.total += len(chunk)
        if len(self.data) > 2 * self.keep:  # trim in batches, not on every chunk
            del self.data[:-self.keep]
            self.dropped = True

    def lines(self) -> List[str]:
        """The last lines, each cut to a readable length (escaping is the renderer's)."""
        text = bytes(self.data[-self.keep:]).decode("utf-8", "replace")
        lines = text.strip().splitlines()
        if (self.dropped or len(self.data) > self.keep) and len(lines) > 1:
            lines = lines[1:]  # the first was cut in the middle
        return [line if len(line) <= STDERR_LINE else line[:STDERR_LINE] + "..."
                for line in lines[-STDERR_TAIL:]]

    def clear(self) -> None:
        """Forget what came so far (sudo's words, once the core has started)."""
        self.data = bytearray()
        self.dropped = False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def loads(data: bytes, unique_keys: bool = False) -> Any:
    """Strict JSON from a host: no NaN or Infinity, bounded values and nesting; with
    ``unique_keys``, an object naming a key twice is refused too (a file, where the second
    would silently win).

    The bounds are counted on the bytes before parsing (a comma, brace or bracket inside
    a string counts too, which only errs on the safe side).
    """
    values = data.count(b",") + data.count(b":")
    containers = data.count(b"{") + data.count(b"[")
    if containers > MAX_CONTAINERS or values + containers > MAX_VALUES:
        raise ValueError(f"more than {MAX_VALUES:,} values or {MAX_CONTAINERS:,} objects "
                         "and lists")
    try:
        doc = json.loads(data, parse_constant=_no_constant, parse_float=_finite,
                         object_pairs_hook=_unique if unique_keys else None)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    _check_depth(doc)
    return doc


def _unique(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} twice in one object")
        out[key] = value
    return out


def _check_depth(doc: Any) -> None:
    todo = [(doc, 0)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            todo += [(v, depth + 1) for v in value.values() if isinstance(v, (dict, list))]
        elif isinstance(value, list):
            todo += [(v, depth + 1) for v in value if isinstance(v, (dict, list))]


def parse_output(out: Union[bytes, bytearray], tail: List[str], exit_status: int,
                 op: Optional[str] = None) -> Dict[str, Any]:
    """The core's result from its stdout: progress lines (``@``), then one JSON object.

    A result of this controller's schema is checked field by field, as the answer to
    ``op``; one of another schema is returned for ``check_schema`` to refuse with its hint.
    """
    end = len(out)
    while end and out[end - 1] in b"\r\n":
        end -= 1
    start = out.rfind(b"\n", 0, end) + 1
    last = bytes(out[start:end])
    result: Any = None
    why = None
    if last and not last.startswith(PROGRESS):
        try:
            result = loads(last)
        except (ValueError, UnicodeDecodeError) as exc:
            why = f"its result is not valid JSON ({_short(exc)})"
    if isinstance(result, dict) and exit_status == 0:
        schema = result.get("schema")
        if schema != SCHEMA and wire_check.is_int64(schema):
            return result  # another version's answer: check_schema says so, with a hint
        try:
            return wire_check.check_result(result, op)
        except wire_check.WireError as exc:
            raise HostFailure("failed", f"the host sent an invalid result: {exc}",
                              tail) from None
    # A last line without its newline was cut off in transit, not sent malformed.
    progress = out[:start] if last and not last.startswith(PROGRESS) else out[:end + (
        end < len(out))]
    removed, bad_line = _progress(bytes(progress))
    if removed or bad_line:
        why = (f"broke off during removal: {len(removed)} files confirmed removed; the rest "
               "may remain (see --dry-run)")
        if bad_line:
            why += f"; then a malformed progress line: {bad_line}"
    elif exit_status != 0:
        why = f"the core failed on the host: {tail[-1] if tail else exit_text(exit_status)}"
    elif result is not None and not isinstance(result, dict):
        why = f"the host sent a result that is not an object (got {type(result).__name__})"
    elif not last:
        why = "the host sent an empty result"
    else:
        why = f"the host sent a truncated or garbled result{'; ' + why if why else ''}"
    raise HostFailure("failed", why, tail, removed)


# progress lines that are not removed files: a walk's figures, an applying core's pid
NOT_ROWS = (PROGRESS + b'{"scanned": ', PROGRESS + b'{"pid": ')


def _progress(data: bytes) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """The files a removal confirmed (``@`` lines), and what is wrong with the first bad
    complete line, if any; a last piece without its newline was cut off, and is dropped."""
    confirmed: List[Dict[str, Any]] = []
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or cut off in the middle of a line
    for number, line in enumerate(lines, 1):
        if not line.startswith(PROGRESS):
            continue
        if line.startswith(NOT_ROWS):
            continue
        try:
            row = wire_check.check_removed_row(loads(line[1:]), "row")
        except (ValueError, UnicodeDecodeError) as exc:
            return confirmed, f"line {number}: {_short(exc)}"
        if row.get("ok"):
            confirmed.append(row)
    return confirmed, None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."

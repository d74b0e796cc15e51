"""The shape of a host's result, written once, and the check every remote result passes.

A host is not trusted: what it sends is checked field by field before any part of the
controller reads it, so a wrong type ends as that host's failed row with a one-line
reason naming the field (``caches[0].bytes: expected a count (an integer >= 0), got
str``), never as a traceback in a renderer. Fields this controller does not know are let
through (a newer core may add some; they reach only ``--format json``); every known field
must have its wire type. Values are never echoed in a reason: they may be huge or hold
escape sequences. Map keys (names found on the host) are shown through ``repr``.
"""

import math
from typing import Any, Callable, Dict, Optional, Tuple

from cachekit.core import KNOWN_MANAGERS

__all__ = ["REMOVED_ROW", "WireError", "check_removed_row", "check_result"]


class WireError(ValueError):
    """A result that does not have the wire's shape; ``str()`` is the one-line reason."""

    def __init__(self, where: str, expected: str, got: str) -> None:
        super().__init__(f"{where or 'the result'}: expected {expected}, got {got}")
        self.where = where


def _got(value: Any) -> str:
    return "null" if value is None else type(value).__name__


class Check:
    """One wire type: what it expects (for reasons), and the test of a value."""

    def __init__(self, expected: str, test: Callable[[Any], bool] = lambda v: True) -> None:
        self.expected = expected
        self.test = test

    def __call__(self, value: Any, where: str) -> None:
        if not self.test(value):
            raise WireError(where, self.expected, _got(value))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # JSON true is not a count


MAX_STRING = 64 * 1024  # a path, a name or a message; more would flood a terminal


def text(limit: int = MAX_STRING) -> Check:
    return Check(f"a string of at most {limit:,} characters",
                 lambda v: isinstance(v, str) and len(v) <= limit)


STR = text()
BOOL = Check("true or false", lambda v: isinstance(v, bool))
def is_int64(v: Any) -> bool:
    return _is_int(v) and -2**63 <= v <= 2**63


INT = Check("an integer of 64 bits", is_int64)
# Bounded above too: a renderer turns sizes into floats, which an 800-digit int overflows.
COUNT = Check("a count (an integer from 0 to 2**63)", lambda v: _is_int(v) and 0 <= v <= 2**63)
SECONDS = Check("seconds (a number >= 0)", lambda v: (_is_int(v) or isinstance(v, float))
                and 0 <= v < 2**63 and math.isfinite(v))


def null_or(check: Check) -> Check:
    class NullOr(Check):
        def __call__(self, value: Any, where: str) -> None:
            if value is not None:
                try:
                    check(value, where)
                except WireError as exc:
                    if exc.where != where:
                        raise  # a field inside was wrong: name that one
                    raise WireError(where, self.expected, _got(value)) from None

    return NullOr(f"{check.expected} or null")


def one_of(*allowed: str) -> Check:
    return Check("one of " + ", ".join(allowed), lambda v: isinstance(v, str) and v in allowed)


def list_of(item: Check) -> Check:
    class ListOf(Check):
        def __call__(self, value: Any, where: str) -> None:
            if not isinstance(value, list):
                raise WireError(where, self.expected, _got(value))
            for i, one in enumerate(value):
                item(one, f"{where}[{i}]")

    return ListOf(f"a list of {item.expected}")


def map_of(item: Check) -> Check:
    """An object whose keys are names found on the host, each value of one type."""
    class MapOf(Check):
        def __call__(self, value: Any, where: str) -> None:
            if not isinstance(value, dict):
                raise WireError(where, self.expected, _got(value))
            for key, one in value.items():
                item(one, f"{where}[{_shown(key)}]")

    return MapOf("an object")


def _shown(key: str) -> str:
    text = repr(key)  # escapes control characters: a reason stays one harmless line
    return text if len(text) <= 40 else text[:37] + "..."


Fields = Dict[str, Check]


def record(required: Fields, optional: Optional[Fields] = None,
           when: Optional[Callable[[Dict[str, Any]], Fields]] = None,
           maybe: Optional[Callable[[Dict[str, Any]], Fields]] = None) -> Check:
    """An object with these fields; ``when`` adds the fields required given the others,
    ``maybe`` the fields typed (when present) given the others."""
    class Record(Check):
        def __call__(self, value: Any, where: str) -> None:
            if not isinstance(value, dict):
                raise WireError(where, self.expected, _got(value))
            _fields(value, where, required, True)
            _fields(value, where, optional or {}, False)
            if maybe is not None:
                _fields(value, where, maybe(value), False)
            if when is not None:
                _fields(value, where, when(value), True)

    return Record("an object")


def _fields(value: Dict[str, Any], where: str, fields: Fields, required: bool) -> None:
    for name, check in fields.items():
        at = f"{where}.{name}" if where else name
        if name in value:
            check(value[name], at)
        elif required:
            raise WireError(at, check.expected, "nothing")


# The records as the core writes them and as render/, tasks.py and runs.py read them.

MANAGER = one_of(*KNOWN_MANAGERS)
PATH = null_or(STR)
STRINGS = list_of(STR)

# The managers' own figures are typed by the formats of the ``info`` columns they
# declare (``render/info``): the renderer reads the number and list columns of a measured
# cache (one with ``bytes``) unguarded, so ``info`` needs them; every figure is checked
# where present.
_BY_FORMAT: Dict[str, Check] = {
    "path": PATH, "text": STR, "int": COUNT, "bytes": null_or(COUNT), "count_bytes": COUNT,
    "top_bytes": map_of(record({"bytes": COUNT})), "list": STRINGS, "state": BOOL,
    "rows": map_of(map_of(COUNT)),
}
_NEEDED = ("int", "bytes", "count_bytes", "top_bytes", "list")
_FIELDS: Dict[Tuple[str, bool], Fields] = {}


def _manager_fields(manager: Any, needed: bool) -> Fields:
    """The fields ``manager``'s columns type (only the needed ones, with ``needed``)."""
    if manager not in KNOWN_MANAGERS:
        return {}
    if (manager, needed) not in _FIELDS:
        from cachekit import catalog

        fields: Fields = {}
        for _head, key, how in catalog.info_columns()[manager]:
            if key in ("", "manager", "path") or how not in _BY_FORMAT:
                continue
            if (needed and how not in _NEEDED) or (not needed and key in CACHE_FIELDS):
                continue  # a shared key keeps the shared type (a tool cache has no files)
            for one in key.split():
                fields[one] = _BY_FORMAT[how]
        _FIELDS[(manager, needed)] = fields
    return _FIELDS[(manager, needed)]


def _measured(cache: Dict[str, Any]) -> Fields:
    """The figures ``info``'s table reads unguarded from a cache it measured."""
    if not cache.get("exists") or "bytes" not in cache:
        return {}
    return _manager_fields(cache.get("manager"), True)


def _figures(cache: Dict[str, Any]) -> Fields:
    """Every figure any manager declares, typed wherever it appears (a key means one
    thing on the wire, whoever sends it)."""
    if ("*", False) not in _FIELDS:
        _FIELDS[("*", False)] = {k: v for m in KNOWN_MANAGERS
                                 for k, v in _manager_fields(m, False).items()}
    return _FIELDS[("*", False)]


CACHE_FIELDS: Fields = {
    "source": STR, "shown": PATH, "exists": BOOL, "enabled": BOOL, "writable": BOOL,
    "configured": BOOL, "error": null_or(STR), "warnings": STRINGS, "config_files": STRINGS,
    "roots": STRINGS, "root_id": list_of(INT), "reclaimable_bytes": COUNT,
    "attributed_bytes": COUNT, "unattributed_bytes": INT, "last_use": STR,
    "bytes": COUNT, "files": null_or(COUNT),  # a tool cache counts no files
    "disk_bytes": null_or(COUNT),  # `report` skips the stats it needs
}
CACHE = record({"manager": MANAGER, "path": PATH}, CACHE_FIELDS, maybe=_figures)
MEASURED_CACHE = record({"manager": MANAGER, "path": PATH}, CACHE_FIELDS, _measured,
                        maybe=_figures)

REMOVED_ROW = record(
    {"path": STR, "manager": MANAGER, "bytes": COUNT, "reason": STR},
    {"ok": null_or(BOOL), "note": null_or(STR), "package": null_or(STR), "kind": STR,
     "entry": STR, "freed": COUNT, "last_use_ns": null_or(COUNT)})

ENTRY = record(
    {"manager": MANAGER, "name": STR, "version": null_or(STR), "kind": STR, "path": STR,
     "bytes": null_or(COUNT)},
    {"rule": null_or(STR), "build": null_or(STR), "used_by": STRINGS})

LOCATION = record(
    {"manager": MANAGER},
    {"path": PATH, "source": STR, "error": null_or(STR), "traps": STRINGS, "caches": STRINGS,
     "sources": list_of(record({"where": STR, "value": STR, "won": BOOL},
                               {"setting": STR, "note": STR})),
     "file_system": record({"free_bytes": COUNT, "total_bytes": COUNT, "mount": STR})})

RELOCATION = record(
    {"manager": MANAGER, "config_file": STR, "diff": text(1024 * 1024), "from": PATH, "to": STR},
    {"now": PATH, "move": null_or(record({"files": COUNT, "bytes": COUNT, "source": STR,
                                          "target": STR, "how": STR}))})

RESULT_FIELDS: Fields = {
    "op": null_or(STR), "hostname": STR, "python": STR, "dry_run": BOOL,
    "disk": null_or(record({"total_bytes": COUNT, "free_bytes": COUNT})),
    "entries": list_of(ENTRY), "dirs_removed": STRINGS, "reclaimed_bytes": COUNT,
    "core_copy": PATH, "elapsed_s": SECONDS, "policy_notes": STRINGS,
    "kept": list_of(record({"path": STR, "reason": STR}, {"manager": MANAGER})),
    "environments": list_of(record({"manager": MANAGER, "path": STR, "source": STR})),
    "locations": list_of(LOCATION), "relocation": null_or(RELOCATION),
    # a plan goes back only to the host that made it, which checks it again at apply
    "plans": list_of(record({"manager": MANAGER})),
    # the controller's own fields, which a host has no business sending wrong
    "stderr_tail": STRINGS, "caches_before": list_of(CACHE), "host": STR,
}


def _result(op: Optional[str]) -> Check:
    def required(r: Dict[str, Any]) -> Fields:
        return {"error": STR} if r.get("status") != "ok" else {}

    return record(
        {"schema": INT, "op": one_of(op) if op else null_or(STR),
         # what a core may say; "become", "auth", "hostkey", "unreachable" and "timeout"
         # are the controller's own (protocol.FAILURE_STATUSES), never a host's to claim
         "status": one_of("ok", "refused", "failed", "interrupted"), "error": null_or(STR),
         "caches": list_of(MEASURED_CACHE if op == "info" else CACHE),
         "removed": list_of(REMOVED_ROW), "warnings": STRINGS},
        RESULT_FIELDS, required)


def check_result(result: Any, op: Optional[str] = None) -> Dict[str, Any]:
    """``result`` itself when it has the wire's shape, as an answer to ``op`` (the
    operation the controller asked for); else WireError naming the field."""
    _result(op)(result, "")
    return result


def check_removed_row(row: Any, where: str) -> Dict[str, Any]:
    """A progress line's row: a file a removal reports as it goes."""
    REMOVED_ROW(row, where)
    return row

"""Read what people write for a prune policy: durations (``30d``), sizes (``20GB``), free
space (``15%``), keep patterns.

The controller's flags and inventory and the Ansible modules' arguments are read by these
same functions, so a typo is refused with the same words everywhere, before any host
runs. ``BadValue`` carries the one-line cause and a hint; the callers name the input.
"""

import math
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import Refused

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DURATION_DAYS = 36500  # a hundred years: older than anything on a disk
MAX_SIZE_BYTES = 2 ** 63 - 1  # the largest size a file system reports
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000 ** 2, "mb": 1000 ** 2, "g": 1000 ** 3, "gb": 1000 ** 3,
    "t": 1000 ** 4, "tb": 1000 ** 4,
    "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4,
}
POLICY_KEYS = ("older_than", "max_size", "keep", "min_free", "ci")


class BadValue(Refused):
    """A value that is not what its flag or key takes: the cause, and how to write it."""

    def __init__(self, message: str, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


def parse_duration(text: Any, flag: str = "--older-than") -> int:
    """``12h``, ``30d``, ``2w``, ``90m``, ``45s`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(text).lower())
    if not match:
        raise BadValue(f"{flag} {text!r} is not a duration",
                       hint="use a number and a unit: 12h, 30d, 2w (s, m, h, d, w)")
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds <= 0:
        raise BadValue(f"{flag} {text!r} must be longer than zero")
    if not math.isfinite(seconds) or seconds > MAX_DURATION_DAYS * 86400:
        raise BadValue(f"{flag} {text!r} is too long: the most is {MAX_DURATION_DAYS}d "
                       "(100 years)")
    return int(seconds)


def parse_size(text: Any, flag: str = "--max-size") -> int:
    """``500MB``, ``20GB``, ``1.5GiB``, ``1000`` -> bytes (kB/MB/GB are decimal, as pip)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", str(text).lower())
    if not match or match.group(2) not in _SIZE_UNITS:
        raise BadValue(f"{flag} {text!r} is not a size",
                       hint="use a number and a unit: 500MB, 20GB, 1.5GiB")
    size = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if not math.isfinite(size) or size > MAX_SIZE_BYTES:
        raise BadValue(f"{flag} {text!r} is too large: the most is {MAX_SIZE_BYTES} bytes "
                       "(8 EiB)")
    return int(size)


def _size_or_percent(text: Any, flag: str, up_to_100: bool) -> Tuple[str, float]:
    value = str(text).strip()
    if not value.endswith("%"):
        return "bytes", float(parse_size(value, flag))
    try:
        pct = float(value[:-1])
    except ValueError:
        pct = -1.0
    if not (0 < pct <= 100 if up_to_100 else 0 < pct < 100):
        raise BadValue(f"{flag} {text!r} is not a percentage between 0 and 100")
    return "percent", pct


def parse_min_free(text: Any, flag: str = "--min-free") -> Tuple[str, float]:
    """``15%`` -> ("percent", 15.0); ``10GB`` -> ("bytes", 10e9)."""
    return _size_or_percent(text, flag, up_to_100=False)


def parse_threshold(text: Any, flag: str = "--fail-above") -> Tuple[str, float]:
    """``20GB`` -> ("bytes", 2e10); ``80%`` -> ("percent", 80.0) of the disk the caches are on."""
    return _size_or_percent(text, flag, up_to_100=True)


def parse_keep(patterns: Any, flag: str = "--keep") -> List[str]:
    """Keep patterns from a repeatable flag or an inventory list; none may be empty."""
    if patterns is None:
        return []
    if isinstance(patterns, str):
        patterns = [patterns]
    out = []
    for p in patterns:
        if not isinstance(p, str) or not p.strip():
            raise BadValue(f"{flag} {p!r} is empty",
                           hint=f"give a package name or glob, e.g. {flag} numpy")
        out.append(p.strip())
    return out


def policy(older_than: Optional[str] = None, max_size: Optional[str] = None,
           keep: Any = None, min_free: Optional[str] = None, ci: bool = False
           ) -> Dict[str, Any]:
    """The request's ``policy``: every value checked and in exact units."""
    out: Dict[str, Any] = {"keep": parse_keep(keep), "ci": bool(ci)}
    if older_than is not None:
        out["older_than_s"] = parse_duration(older_than)
    if max_size is not None:
        out["max_size_bytes"] = parse_size(max_size)
    if min_free is not None:
        out["min_free"] = list(parse_min_free(min_free))
    return out


def flag_given(value: Any) -> bool:
    """A command-line flag is set when it is not its default (absent, off, empty)."""
    return value not in (None, False, [], ())


def merged(flags: Dict[str, Any], given: Any,
           is_set: Callable[[Any], bool] = flag_given) -> Dict[str, Any]:
    """The request's ``policy`` from a written policy (``cachekit_policy``: a mapping of
    POLICY_KEYS), each flag that ``is_set`` overriding its key: the CLI cannot tell an
    absent flag from its default, an Ansible task can (``ci: false``, ``keep: []`` there
    override the policy, only an option not given leaves it)."""
    base: Dict[str, Any] = {}
    if given is not None:
        if not isinstance(given, dict):
            raise BadValue(f"cachekit_policy must be a mapping, found {type(given).__name__}")
        unknown = sorted(set(given) - set(POLICY_KEYS))
        if unknown:
            raise BadValue(f"unknown cachekit_policy key {unknown[0]!r}",
                           hint=f"known keys: {', '.join(POLICY_KEYS)}")
        base = dict(given)
    for key, value in flags.items():
        if is_set(value):
            base[key] = value
    for key in ("older_than", "max_size", "min_free"):
        if key in base and base[key] is not None:
            base[key] = str(base[key])
    return policy(base.get("older_than"), base.get("max_size"), base.get("keep"),
                  base.get("min_free"), bool(base.get("ci")))


def has_rule(rules: Dict[str, Any]) -> bool:
    """Whether a policy removes anything at all: a keep list alone does not."""
    return any(rules.get(k) for k in ("older_than_s", "min_free", "ci")) or \
        rules.get("max_size_bytes") is not None

"""Parse what users type for policies: durations (``30d``), sizes (``20GB``), free space.

Each parser raises ``CachekitError`` naming the flag and the value, so a typo stops the
command before any host is contacted.
"""

import math
import re
from typing import Any, Dict, Optional, Tuple

from cachekit.errors import CachekitError

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DURATION_DAYS = 36500  # a hundred years: older than anything on a disk
MAX_SIZE_BYTES = 2 ** 63 - 1  # the largest size a file system reports
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000 ** 2, "mb": 1000 ** 2, "g": 1000 ** 3, "gb": 1000 ** 3,
    "t": 1000 ** 4, "tb": 1000 ** 4,
    "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4,
}


def parse_duration(text: str, flag: str = "--older-than") -> int:
    """``12h``, ``30d``, ``2w``, ``90m``, ``45s`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(text).lower())
    if not match:
        raise CachekitError(f"{flag} {text!r} is not a duration",
                            hint="use a number and a unit: 12h, 30d, 2w (s, m, h, d, w)")
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds <= 0:
        raise CachekitError(f"{flag} {text!r} must be longer than zero")
    if not math.isfinite(seconds) or seconds > MAX_DURATION_DAYS * 86400:
        raise CachekitError(f"{flag} {text!r} is too long: the most is {MAX_DURATION_DAYS}d "
                            "(100 years)")
    return int(seconds)


def parse_size(text: str, flag: str = "--max-size") -> int:
    """``500MB``, ``20GB``, ``1.5GiB``, ``1000`` -> bytes (kB/MB/GB are decimal, as pip)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", str(text).lower())
    if not match or match.group(2) not in _SIZE_UNITS:
        raise CachekitError(f"{flag} {text!r} is not a size",
                            hint="use a number and a unit: 500MB, 20GB, 1.5GiB")
    size = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if not math.isfinite(size) or size > MAX_SIZE_BYTES:
        raise CachekitError(f"{flag} {text!r} is too large: the most is {MAX_SIZE_BYTES} bytes "
                            "(8 EiB)")
    return int(size)


def _size_or_percent(text: str, flag: str, up_to_100: bool) -> Tuple[str, float]:
    value = str(text).strip()
    if not value.endswith("%"):
        return "bytes", float(parse_size(value, flag))
    try:
        pct = float(value[:-1])
    except ValueError:
        pct = -1.0
    if not (0 < pct <= 100 if up_to_100 else 0 < pct < 100):
        raise CachekitError(f"{flag} {text!r} is not a percentage between 0 and 100")
    return "percent", pct


def parse_min_free(text: str) -> Tuple[str, float]:
    """``15%`` -> ("percent", 15.0); ``10GB`` -> ("bytes", 10e9)."""
    return _size_or_percent(text, "--min-free", up_to_100=False)


def parse_threshold(text: str, flag: str = "--fail-above") -> Tuple[str, float]:
    """``20GB`` -> ("bytes", 2e10); ``80%`` -> ("percent", 80.0) of the disk the caches are on."""
    return _size_or_percent(text, flag, up_to_100=True)


def parse_keep(patterns: Any) -> list:
    """Keep patterns from a repeatable flag or an inventory list; none may be empty."""
    if patterns is None:
        return []
    if isinstance(patterns, str):
        patterns = [patterns]
    out = []
    for p in patterns:
        if not isinstance(p, str) or not p.strip():
            raise CachekitError(f"--keep {p!r} is empty",
                                hint="give a package name or glob, e.g. --keep numpy")
        out.append(p.strip())
    return out


POLICY_KEYS = ("older_than", "max_size", "keep", "min_free", "ci")


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


def merged_policy(flags: Dict[str, Any], inventory_policy: Any, host: str) -> Dict[str, Any]:
    """Flags override the inventory's ``cachekit_policy`` key by key."""
    base: Dict[str, Any] = {}
    if inventory_policy is not None:
        if not isinstance(inventory_policy, dict):
            raise CachekitError(f"host {host}: cachekit_policy must be a mapping, found "
                                f"{type(inventory_policy).__name__}")
        unknown = sorted(set(inventory_policy) - set(POLICY_KEYS))
        if unknown:
            raise CachekitError(f"host {host}: unknown cachekit_policy key {unknown[0]!r}",
                                hint=f"known keys: {', '.join(POLICY_KEYS)}")
        base = {k: v for k, v in inventory_policy.items()}
    for key, value in flags.items():
        if value not in (None, False, [], ()):
            base[key] = value
    for key in ("older_than", "max_size", "min_free"):
        if key in base and base[key] is not None:
            base[key] = str(base[key])
    try:
        chosen: Dict[str, Any] = {k: base.get(k) for k in POLICY_KEYS}
        return policy(**chosen)
    except CachekitError as exc:
        if inventory_policy is not None:
            exc.message = f"host {host}: {exc.message}"
        raise


def host_policies(flags: Dict[str, Any], hosts: Any) -> Dict[str, Dict[str, Any]]:
    """Each host's part of a prune request: the flags over its inventory's
    ``cachekit_policy``. A host left with no rule at all stops the run before any host
    is asked."""
    out = {}
    for host in hosts:
        rules = merged_policy(flags, host.vars.get("cachekit_policy"), host.name)
        if not any(rules.get(k) for k in ("older_than_s", "min_free", "ci")) and \
                rules.get("max_size_bytes") is None:
            raise CachekitError(f"no prune policy for host {host.name}",
                                hint="give --older-than, --max-size, --min-free or --ci, "
                                     "or set cachekit_policy in the inventory")
        out[host.name] = {"policy": rules}
    return out

"""Parse what users type for policies: durations (``30d``), sizes (``20GB``), free space.

The parsing itself is the core's (``core/policy_text``: the Ansible modules read their
arguments with it too); here each refusal becomes a ``CachekitError`` naming the flag and
the value, so a typo stops the command before any host is contacted.
"""

from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from cachekit.core import policy_text
from cachekit.core.policy_text import MAX_DURATION_DAYS, MAX_SIZE_BYTES, POLICY_KEYS
from cachekit.errors import CachekitError

__all__ = ["MAX_DURATION_DAYS", "MAX_SIZE_BYTES", "POLICY_KEYS"]
T = TypeVar("T")


def _ours(parse: Callable[..., T], *args: Any) -> T:
    try:
        return parse(*args)
    except policy_text.BadValue as exc:
        raise CachekitError(exc.message, hint=exc.hint) from None


def parse_duration(text: str, flag: str = "--older-than") -> int:
    """``12h``, ``30d``, ``2w``, ``90m``, ``45s`` -> seconds."""
    return _ours(policy_text.parse_duration, text, flag)


def parse_size(text: str, flag: str = "--max-size") -> int:
    """``500MB``, ``20GB``, ``1.5GiB``, ``1000`` -> bytes (kB/MB/GB are decimal, as pip)."""
    return _ours(policy_text.parse_size, text, flag)


def parse_min_free(text: str) -> Tuple[str, float]:
    """``15%`` -> ("percent", 15.0); ``10GB`` -> ("bytes", 10e9)."""
    return _ours(policy_text.parse_min_free, text)


def parse_threshold(text: str, flag: str = "--fail-above") -> Tuple[str, float]:
    """``20GB`` -> ("bytes", 2e10); ``80%`` -> ("percent", 80.0) of the disk the caches are on."""
    return _ours(policy_text.parse_threshold, text, flag)


def parse_keep(patterns: Any) -> List[str]:
    """Keep patterns from a repeatable flag or an inventory list; none may be empty."""
    return _ours(policy_text.parse_keep, patterns)


def policy(older_than: Optional[str] = None, max_size: Optional[str] = None,
           keep: Any = None, min_free: Optional[str] = None, ci: bool = False
           ) -> Dict[str, Any]:
    """The request's ``policy``: every value checked and in exact units."""
    return _ours(policy_text.policy, older_than, max_size, keep, min_free, ci)


def merged_policy(flags: Dict[str, Any], inventory_policy: Any, host: str) -> Dict[str, Any]:
    """Flags override the inventory's ``cachekit_policy`` key by key."""
    try:
        return policy_text.merged(flags, inventory_policy)
    except policy_text.BadValue as exc:
        message = exc.message
        if inventory_policy is not None:
            message = f"host {host}: {message}"
        raise CachekitError(message, hint=exc.hint) from None


def host_policies(flags: Dict[str, Any], hosts: Any) -> Dict[str, Dict[str, Any]]:
    """Each host's part of a prune request: the flags over its inventory's
    ``cachekit_policy``. A host left with no rule at all stops the run before any host
    is asked."""
    out = {}
    for host in hosts:
        rules = merged_policy(flags, host.vars.get("cachekit_policy"), host.name)
        if not policy_text.has_rule(rules):
            raise CachekitError(f"no prune policy for host {host.name}",
                                hint="give --older-than, --max-size, --min-free or --ci, "
                                     "or set cachekit_policy in the inventory")
        out[host.name] = {"policy": rules}
    return out

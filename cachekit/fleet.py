"""Choose the hosts a ``--hosts`` pattern names and run the core on each.

Every host yields a result, failures included. ``local`` runs in-process, without SSH.
"""

import time
from typing import Any, Dict, List, Optional

from cachekit import inventory
from cachekit.core import agent
from cachekit.errors import CachekitError
from cachekit.report import check_schema


def select_hosts(pattern: str, inventory_path: Optional[str] = None) -> List[inventory.Host]:
    """Hosts selected by an Ansible-style ``pattern`` in the inventory."""
    inv = inventory.load(inventory.default_path(inventory_path))
    return inv.select(pattern)


def environment(host: inventory.Host) -> Dict[str, str]:
    """``cachekit_env``: variables (e.g. PIP_CACHE_DIR) the core sees on this host."""
    env = host.vars.get("cachekit_env") or {}
    if not isinstance(env, dict):
        raise CachekitError(f"cachekit_env of host {host.name} must be a mapping of "
                            "variable names to values")
    return {str(k): str(v) for k, v in env.items()}


def run(hosts: List[inventory.Host], request: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One result per host, each labelled with its host name and timing."""
    remote = [h.name for h in hosts if not h.local]
    if remote:
        raise CachekitError(f"host {remote[0]} is remote; this version runs on the local "
                            "machine only", hint="use --hosts=local")
    results = []
    for host in hosts:
        started = time.monotonic()
        result = agent.run(dict(request, environ=environment(host)))
        check_schema(result, host.name)
        result["host"] = host.name
        result["elapsed_s"] = round(time.monotonic() - started, 3)
        results.append(result)
    return results

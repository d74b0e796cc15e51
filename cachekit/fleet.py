"""Choose the hosts a ``--hosts`` pattern names and run the core on each.

Every host yields a result, failures included. For now only this machine is served
(in-process, no SSH); remote hosts arrive with the inventory/SSH work.
"""

import time
from typing import Any, Dict, List

from cachekit.core import agent
from cachekit.errors import CachekitError
from cachekit.report import check_schema

LOCAL_NAMES = ("local", "localhost")


def select_hosts(pattern: str) -> List[str]:
    """Host names selected by ``pattern``; ``local`` means this machine."""
    names = [p.strip() for p in pattern.replace(":", ",").split(",") if p.strip()]
    if not names:
        raise CachekitError("--hosts is empty", hint="use --hosts=local for this machine")
    unknown = [n for n in names if n not in LOCAL_NAMES]
    if unknown:
        raise CachekitError(
            f"unknown host pattern {unknown[0]!r}",
            hint="this version runs on the local machine only: use --hosts=local",
        )
    return ["local"]


def run(hosts: List[str], request: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One result per host, each labelled with its host name and timing."""
    results = []
    for host in hosts:
        started = time.monotonic()
        result = agent.run(request)
        check_schema(result, host)
        result["host"] = host
        result["elapsed_s"] = round(time.monotonic() - started, 3)
        results.append(result)
    return results

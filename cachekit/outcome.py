"""What running the core on a host yields, whether over SSH or in a child process.

Kept apart from ``remote`` so that a local run never imports Fabric and Paramiko (about
40 ms of start-up that a command on this machine alone does not need).
"""

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

STDERR_TAIL = 10


@dataclass
class Settings:
    connect_timeout: float = 10.0
    timeout: float = 300.0  # per host, for one run of the core
    accept_new_host_keys: bool = False


class HostFailure(Exception):
    """A host could not serve the request; ``status`` is one of the design's statuses.

    ``removed`` lists the files a removal reported as it went, before it broke off.
    """

    def __init__(self, status: str, reason: str, stderr_tail: Optional[List[str]] = None,
                 removed: Optional[List[Dict[str, Any]]] = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.stderr_tail = stderr_tail or []
        self.removed = removed or []


def parse_output(out: bytes, tail: List[str], exit_status: int) -> Dict[str, Any]:
    """The core's result from its stdout: progress lines (``@``), then one JSON object."""
    lines = out.decode("utf-8", "replace").splitlines()
    removed = []
    for line in lines:
        if line.startswith("@"):
            try:
                removed.append(json.loads(line[1:]))
            except ValueError:
                break  # cut off in the middle of a line
    last = lines[-1] if lines and not lines[-1].startswith("@") else ""
    try:
        result = json.loads(last) if last else None
    except ValueError:
        result = None
    if isinstance(result, dict) and exit_status == 0:
        return result
    done = [r for r in removed if r.get("ok")]
    if removed:
        why = (f"broke off during removal: {len(done)} files confirmed removed; the rest "
               "may remain (see --dry-run)")
    elif exit_status != 0:
        why = f"the core failed on the host: {tail[-1] if tail else f'exit {exit_status}'}"
    else:
        why = f"the host sent {'an empty' if not out.strip() else 'a truncated or garbled'} result"
    raise HostFailure("failed", why, tail, done)

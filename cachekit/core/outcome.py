"""What counts as a failure in a host's answer though the host answered: the rule
cachekit's exit code applies (2, "some host failed") and the Ansible modules apply to fail
their task, kept in one place so both say the same thing about the same result."""

from typing import Any, Dict, List


def failed_removal(row: Dict[str, Any]) -> bool:
    """A removal that did not happen, except one kept on purpose (its note says "kept")."""
    return row.get("ok") is False and "kept" not in (row.get("note") or "")


def problems(result: Dict[str, Any]) -> List[str]:
    """One line per thing that went wrong in a host's result: a cache the core could not
    serve (a host that answered), a removal that failed, a user (``--users``) whose part
    failed. Empty when the result is all right; the host's own status is the caller's."""
    out = []
    if result.get("status") == "ok":
        out += [f"{c.get('manager')}: {c['error']}" for c in result.get("caches") or []
                if c.get("error")]
    out += [f"{r.get('path') or r.get('entry') or '?'}: {r.get('note') or 'not removed'}"
            for r in result.get("removed") or [] if failed_removal(r)]
    out += [f"user {u.get('user')}: {u.get('error')}" for u in result.get("users") or []
            if u.get("status") != "ok"]
    return out

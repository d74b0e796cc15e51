"""Ctrl-C during a removal takes effect between two entries, never inside one.

While a request applies a plan, SIGINT is only noted: every removal after it is refused
(``fs.SafeRemover`` says ``INTERRUPTED``), so the managers' loops run out at once and
the result lists exactly what went; walkers stop at their next report (``meter``).
Outside a removal, Ctrl-C raises ``KeyboardInterrupt`` as usual: nothing was removed.
"""

import signal
from typing import Any, Dict, Optional

INTERRUPTED = "not removed: interrupted (Ctrl-C)"

def untouched(row: Dict[str, Any]) -> bool:
    """A planned entry that Ctrl-C kept from being removed (not a failure, not a removal)."""
    return INTERRUPTED in (row.get("note") or "")


_armed = False
_requested = False


def armed() -> bool:
    return _armed


def requested() -> bool:
    return _requested


def _note(signum: int, frame: Any) -> None:
    global _requested
    _requested = True


class Deferral:
    """Defer SIGINT for the life of one applying request (main thread only). A request
    served inside another (a measurement after a prune) leaves the outer one's state."""

    def __init__(self, applying: bool) -> None:
        global _armed, _requested
        self._previous: Optional[Any] = None
        if not applying or _armed:
            return
        try:
            self._previous = signal.signal(signal.SIGINT, _note)
        except ValueError:  # not the main thread: Ctrl-C is not ours to handle
            return
        _armed, _requested = True, False

    def end(self) -> bool:
        """Restore Ctrl-C; whether one arrived while it was deferred."""
        global _armed, _requested
        if self._previous is None:
            return False
        signal.signal(signal.SIGINT, self._previous)
        self._previous = None
        was, _armed, _requested = _requested, False, False
        return was

"""History times as the trend table and the HTML pages read and write them: one place,
outside ``runs`` (which reads the history through the core's bounds), so the renderer can
use them without importing the core."""

import datetime
from typing import Any, Optional


def stamp_seconds(stamp: Any) -> Optional[float]:
    """A history line's ISO ``time`` as seconds since the epoch; None for anything that
    is not one (a missing time, a typo, a date outside the calendar)."""
    try:
        return datetime.datetime.fromisoformat(str(stamp)).timestamp()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def iso_time(seconds: float) -> Optional[str]:
    """``seconds`` since the epoch as an ISO time in UTC; None for one outside the
    calendar ``datetime`` knows (years 1 to 9999) or the platform's ``time_t``."""
    try:
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(
            timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return None

"""The part of cachekit that runs on the host whose caches it examines.

Standard library only and Python 3.8-compatible: for a remote host it is shipped over
SSH and run by that host's own ``python3``. Nothing here prints or exits.
"""

SCHEMA = 1


class Refused(Exception):
    """The request is unsafe or malformed; nothing was touched."""


class RootError(Exception):
    """The root to remove from is not the directory that was scanned."""


from .registry import known as _known  # noqa: E402  (needs Refused above)

KNOWN_MANAGERS = _known()  # the registry's names; each manager loads only when asked

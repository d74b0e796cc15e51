"""The part of cachekit that runs on the host whose caches it examines.

Standard library only and Python 3.8-compatible: for a remote host it is shipped over
SSH and run by that host's own ``python3``. Nothing here prints or exits.
"""

SCHEMA = 1
KNOWN_MANAGERS = ("pip", "conda", "uv", "toolcache")


class Refused(Exception):
    """The request is unsafe or malformed; nothing was touched."""

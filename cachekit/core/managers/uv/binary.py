"""The ``uv`` binary a host's removals go through: where it is, which release it is.

cachekit removes single packages from a uv cache only through the host's ``uv`` (it
takes its own lock and knows its own layout), so finding the right one, and knowing
which bucket set its ``uv cache prune`` keeps, is a job of its own.
"""

import os
import re
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ... import env
from . import cache as uvcache

if TYPE_CHECKING:
    from .record import UvCache

# The bucket set of the uv releases cachekit knows (uv's `CacheBucket::to_str`):
# `uv cache prune` deletes every top-level entry outside its own set.
BUCKETS_BY_RELEASE = {
    (0, 13): ("archive-v0", "builds-v0", "environments-v2", "python-v1", "binaries-v0",
              "osv-v1", "files-v0", "sdists-v11", "wheels-v8", "simple-v28", "flat-index-v7",
              "git-v2", "interpreter-v5"),
}


class Binary(NamedTuple):
    """The ``uv`` a host's removals go through, and where it was found (or why none is)."""

    path: Optional[str]
    source: str
    error: Optional[str] = None


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _explicit(value: str, source: str, environ: Dict[str, str]) -> Binary:
    """A uv the user named: a path (``~`` and relative ones allowed), or a name on PATH."""
    home = env.home(environ)
    if "/" not in value:
        for d in [d for d in (environ.get("PATH") or os.defpath).split(":") if d]:
            if _executable(os.path.join(d, value)):
                return Binary(os.path.join(d, value), source)
        return Binary(None, source, f"{source} {value!r}: no such program on PATH")
    path = home + value[1:] if value == "~" or value.startswith("~/") else value
    path = os.path.normpath(os.path.join(environ.get("PWD") or os.getcwd(), path))
    if not _executable(path):
        why = "not an executable file" if os.path.exists(path) else "no such file"
        return Binary(None, source, f"{source} {value!r}: {why}")
    return Binary(path, source)


def locate_binary(environ: Dict[str, str], request: Optional[Mapping[str, Any]] = None
                  ) -> Binary:
    """The host's ``uv``, as a user would look for it, first found wins.

    Named: ``--uv``, then the inventory's ``cachekit_uv``, then ``UV`` (uv sets it for the
    programs it runs); a named uv that is missing is an error, never passed over. Else on
    PATH, next to the running python (a ``pip install uv`` in its virtual environment),
    then where uv's installers put it (cron has a short PATH).
    """
    request = request or {}
    for key, source in (("uv", "--uv"), ("uv_inventory", "cachekit_uv")):
        if request.get(key):
            return _explicit(str(request[key]), source, environ)
    if environ.get("UV"):
        return _explicit(environ["UV"], "UV", environ)
    home = env.home(environ)
    places = [(os.path.join(d, "uv"), "PATH")
              for d in (environ.get("PATH") or os.defpath).split(":") if d]
    places += [(os.path.join(sys.prefix, "bin", "uv"), "the running python's environment"),
               (os.path.join(os.path.dirname(sys.executable), "uv"),
                "the running python's directory"),
               (os.path.join(home, ".local", "bin", "uv"), "~/.local/bin"),
               (os.path.join(home, ".cargo", "bin", "uv"), "~/.cargo/bin")]
    for candidate, source in places:
        if _executable(candidate):
            return Binary(candidate, source)
    return Binary(None, "", None)


def binary_for(request: Mapping[str, Any], environ: Dict[str, str], record: "UvCache"
               ) -> Optional[str]:
    """Find the host's uv and say in ``record`` which one (and from where) or what is wrong."""
    found = locate_binary(environ, request)
    record["uv_binary"], record["uv_binary_source"] = found.path, found.source
    if found.error and not record.get("error"):
        record["error"] = found.error
    return found.path


NOT_FOUND = ("no uv binary found on this host (looked on PATH, next to the running python, "
             "in ~/.local/bin and ~/.cargo/bin; name one with --uv PATH, cachekit_uv or UV)")


def uv_release(binary: str) -> Optional[Tuple[int, int, int]]:
    import subprocess

    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None


def current_buckets(binary: Optional[str]) -> Optional[Tuple[str, ...]]:
    release = uv_release(binary) if binary else None
    return BUCKETS_BY_RELEASE.get(release[:2]) if release else None


def newer_than_uv(lay: uvcache.Layout, current: Tuple[str, ...]) -> List[str]:
    """Buckets a newer uv wrote: this host's ``uv cache prune`` would delete them."""
    mine = {uvcache.bucket_of(b)[0]: int(b.rsplit("-v", 1)[1]) for b in current}
    out = []
    for top in lay.buckets:
        name, _ = uvcache.bucket_of(top)
        if name in mine and int(top.rsplit("-v", 1)[1]) > mine[name]:
            out.append(top)
    return out

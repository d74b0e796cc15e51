"""Tell which package an ``http-v2`` cache body belongs to, by reading the body.

pip names its HTTP cache entries by a hash of the URL and does not store the URL, so
``pip cache list/remove`` cannot see downloaded wheels and sdists. The body itself says
what it is: a wheel names its ``.dist-info`` directory, an sdist its top directory, a
metadata file its ``Name``/``Version``, an index page its project. Reading a body would
move its access time, which later issues rank entries by, so it is put back.
"""

import contextlib
import io
import json
import os
import re
from typing import Dict, NamedTuple, Optional

from ... import bounded

_SNIFF = 4096
_NAME_VERSION = re.compile(r"^(?P<name>.+?)-(?P<version>\d[^-/]*)(?:-[^/]*)?$")
_DIST_INFO = re.compile(r"^(?P<name>[^/]+?)-(?P<version>[^-/]+)\.dist-info/")
_H1 = re.compile(rb"<(?:h1|title)>\s*Links for ([^<\s]+)\s*</(?:h1|title)>", re.I)
_HREF = re.compile(rb"href=\"[^\"]*?/([^/\"#?]+?)(?:#[^\"]*)?\"", re.I)


class Attribution(NamedTuple):
    name: str  # the project name as the body gives it (not normalised)
    version: str  # "" for index pages
    kind: str  # "wheel", "sdist", "metadata", "index page"


def attribute(path: str, atime_ns: int, mtime_ns: int) -> Optional[Attribution]:
    """Read just enough of a cached body to name its package; restore its access time."""
    try:  # the scan saw a regular file: a FIFO or link swapped in since is not opened
        with os.fdopen(bounded.open_regular(path, follow_symlinks=False), "rb") as fh:
            try:
                return _sniff(fh)
            except Exception:
                # Bodies are whatever a server sent: one that does not parse (a bad zip or
                # tar, broken JSON, odd encodings) is simply unattributed.
                return None
            finally:
                _restore_atime(fh, path, atime_ns, mtime_ns)
    except OSError:
        return None


def _restore_atime(fh: io.BufferedReader, path: str, atime_ns: int, mtime_ns: int) -> None:
    """Put the access time back if reading moved it (relatime usually does not)."""
    with contextlib.suppress(OSError, NotImplementedError):  # not ours, or gone
        if os.fstat(fh.fileno()).st_atime_ns != atime_ns:
            os.utime(path, ns=(atime_ns, mtime_ns), follow_symlinks=False)


def _sniff(fh: io.BufferedReader) -> Optional[Attribution]:
    head = fh.read(_SNIFF)
    if head.startswith(b"PK\x03\x04"):
        fh.seek(0)
        return _from_zip(fh)
    if head.startswith(b"\x1f\x8b") or head.startswith(b"BZh"):
        fh.seek(0)
        return _from_tar(fh)
    if head.startswith(b"Metadata-Version:"):
        return _from_metadata(head)
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        fh.seek(0)
        return _from_json_page(fh)
    if b"<" not in head:
        return None  # not HTML: skip the regular expressions, the costly part here
    lower = head.lower()
    match = _H1.search(head) if b"links for" in lower else None
    if match:
        return Attribution(match.group(1).decode("utf-8", "replace"), "", "index page")
    match = _HREF.search(head) if b"href" in lower and b"<a" in lower else None
    if match:
        return _from_filename(match.group(1).decode("utf-8", "replace"), "index page")
    return None


def _from_zip(fh: io.BufferedReader) -> Optional[Attribution]:
    import zipfile

    with zipfile.ZipFile(fh) as zf:
        names = zf.namelist()
    for name in names:
        match = _DIST_INFO.match(name)
        if match:
            return Attribution(match.group("name"), match.group("version"), "wheel")
    if names:
        top = names[0].split("/", 1)[0]
        return _from_filename(top, "sdist")
    return None


def _from_tar(fh: io.BufferedReader) -> Optional[Attribution]:
    import tarfile

    with tarfile.open(fileobj=fh, mode="r|*") as tf:
        member = tf.next()
    if member is None:
        return None
    return _from_filename(member.name.lstrip("./").split("/", 1)[0], "sdist")


def _from_filename(stem: str, kind: str) -> Optional[Attribution]:
    for suffix in (".tar.gz", ".tar.bz2", ".zip", ".tgz", ".whl", ".tar"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    match = _NAME_VERSION.match(stem)
    if not match:
        return None
    version = "" if kind == "index page" else match.group("version")
    return Attribution(match.group("name"), version, kind)


def _from_metadata(head: bytes) -> Optional[Attribution]:
    fields: Dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    if "name" not in fields:
        return None
    return Attribution(fields["name"], fields.get("version", ""), "metadata")


def _from_json_page(fh: io.BufferedReader) -> Optional[Attribution]:
    data = json.loads(fh.read())  # bytes: json detects the encoding; fh stays open
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        return Attribution(data["name"], "", "index page")
    return None

"""Naming the package of a downloaded body: every kind pip caches, on real files."""

import json
import os
from pathlib import Path

from cachekit.core.managers.pip.attribution import attribute
from tests.fixtures.pip_cache import make_sdist, make_wheel


def sniff(path: Path):
    st = path.stat()
    found = attribute(str(path), st.st_atime_ns, st.st_mtime_ns)
    assert path.stat().st_atime_ns == st.st_atime_ns  # reading left no trace
    return found


def test_each_kind_of_body(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "Foo.Bar", "2.0")
    sdist = make_sdist(tmp_path, "zope.iface", "1.0")
    pages = {
        "pep691.json": json.dumps({"meta": {"api-version": "1.1"}, "name": "requests",
                                   "files": []}),
        "pep503.html": "<html><head><title>Links for six</title></head><body>"
                       "<h1>Links for six</h1></body></html>",
        "plain.html": '<html><body><a href="/files/beta-1.0-py3-none-any.whl#sha256=0">x</a>',
        "metadata": "Metadata-Version: 2.1\nName: docopt\nVersion: 0.6.2\n\nbody\n",
    }
    for name, text in pages.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "noise").write_bytes(os.urandom(5000))
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    got = {p.name: sniff(p) for p in tmp_path.iterdir()}
    assert got[wheel.name][:3] == ("foo_bar", "2.0", "wheel")
    assert got[sdist.name][:3] == ("zope_iface", "1.0", "sdist")
    assert got["pep691.json"][:3] == ("requests", "", "index page")
    assert got["pep503.html"][:3] == ("six", "", "index page")
    assert got["plain.html"][:3] == ("beta", "", "index page")
    assert got["metadata"][:3] == ("docopt", "0.6.2", "metadata")
    assert got["noise"] is None and got["broken.zip"] is None

"""Check that pipcache_fixture builds a cache the real pip recognises as its own."""

from __future__ import annotations

import re
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.pip_cache import (
    LoopbackIndex,
    make_sdist,
    make_wheel,
    pip_env,
    populate_pip_cache,
    run_pip,
)

HEX56 = re.compile(r"^[0-9a-f]{56}$")


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict]:
    """Populate once per module: it runs pip seven times."""
    work = tmp_path_factory.mktemp("pipcache")
    cache = work / "cache"
    made = populate_pip_cache(cache, work)
    return cache, made, pip_env(home=work / "home")


def _info(cache: Path, env: dict[str, str]) -> dict[str, str]:
    proc = run_pip(["--cache-dir", str(cache), "cache", "info"], env)
    assert proc.returncode == 0, proc.stderr
    return dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)


def test_pip_cache_info_counts(populated: tuple[Path, dict[str, Any], dict]) -> None:
    cache, made, env = populated
    info = _info(cache, env)
    http_files = [p for b in ("http", "http-v2") for p in (cache / b).rglob("*") if p.is_file()]
    assert int(info["Number of HTTP files"]) == len(http_files) >= 4
    assert set(made["legacy_http"]) <= set(http_files)
    assert made["http_v2_files"] + len(made["legacy_http"]) + 1 == len(http_files)  # + stray
    assert int(info["Number of locally built wheels"]) == 6
    assert len(made["wheels"]) == 5


def test_pip_cache_list(populated: tuple[Path, dict[str, Any], dict]) -> None:
    cache, made, env = populated
    proc = run_pip(["--cache-dir", str(cache), "cache", "list"], env)
    assert proc.returncode == 0, proc.stderr
    names = re.findall(r"^ - (\S+) \(", proc.stdout, re.M)
    assert names == sorted(names)
    assert [n.split("-")[0] + "-" + n.split("-")[1] for n in names] == [
        "alpha-1.0",
        "alpha-2.0",
        "foo_bar-2.0",
        "gamma-0.5",
        "linked-1.0",
        "zope_iface-1.0",
    ]
    assert " - linked-1.0-py3-none-any.whl (0 bytes)" in proc.stdout
    assert made["symlink"].is_symlink() and made["symlink"].resolve() in made["wheels"]


def test_http_v2_entries_are_pairs(populated: tuple[Path, dict[str, Any], dict]) -> None:
    cache, _, _ = populated
    files = [p for p in (cache / "http-v2").rglob("*") if p.is_file()]
    entries = [p for p in files if HEX56.match(p.name)]
    bodies = {p.name[:-5] for p in files if p.name.endswith(".body")}
    # index pages of beta (fetched twice, one URL, one key) and gamma, plus three files
    assert len(entries) == 5
    assert {p.name for p in entries} == bodies
    for entry in entries:
        assert entry.parent.relative_to(cache / "http-v2").parts == tuple(entry.name[:5])
        assert entry.read_bytes().startswith(b"cc=4,")


def test_strays_and_selfcheck(populated: tuple[Path, dict[str, Any], dict]) -> None:
    cache, made, _ = populated
    assert all(p.is_file() for p in made["strays"])
    assert (cache / "http-v2" / "tmpstray123") in made["strays"]
    assert made["selfcheck"].parent == cache / "selfcheck"
    assert all(p.read_bytes().startswith(b"cc=4,") for p in made["legacy_http"])


def test_wheel_and_sdist_names(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "Foo.Bar", "2.0")
    assert sdist.name == "foo_bar-2.0.tar.gz"
    wheel = make_wheel(tmp_path, "Foo.Bar", "2.0")
    assert wheel.name == "foo_bar-2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        assert "Name: Foo.Bar" in zf.read("foo_bar-2.0.dist-info/METADATA").decode()
        assert "foo_bar-2.0.dist-info/RECORD,," in zf.read("foo_bar-2.0.dist-info/RECORD").decode()


def test_loopback_index_headers(tmp_path: Path) -> None:
    make_wheel(tmp_path, "beta", "1.0")
    with LoopbackIndex(tmp_path) as index:
        assert index.url.startswith("http://127.0.0.1:")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(index.url + "beta/") as page:
            assert page.headers["Cache-Control"] == "max-age=600, public"
            assert page.headers["Content-Type"] == "text/html"
            assert "#sha256=" in page.read().decode()
        head = urllib.request.Request(
            index.url.replace("/simple/", "/files/beta-1.0-py3-none-any.whl"), method="HEAD"
        )
        with opener.open(head) as resp:
            assert resp.headers["Cache-Control"] == "max-age=365000000, immutable, public"
            assert resp.headers["ETag"] and int(resp.headers["Content-Length"]) > 0

"""Build real pip caches offline, so tests can compare cachekit with the real pip.

Only pip itself writes entries that cachekit must understand, so this module makes tiny
distributions, serves them from a loopback index with the cache headers pip needs, and
runs ``sys.executable -m pip`` against a throwaway cache directory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# One wheel writer, shared by make_wheel() and the in-tree PEP 517 backend shipped in each
# sdist. It is source text because the backend runs in pip's isolated build subprocess.
_BACKEND_PY = r'''
"""In-tree PEP 517 backend: builds offline with build isolation, no setuptools."""
import base64, email.parser, hashlib, os, re, tarfile, zipfile

def _dist(name):
    return re.sub(r"[-_.]+", "_", name).lower()

def _files(name, version):
    info = f"{_dist(name)}-{version}.dist-info"
    return {
        f"{_dist(name)}.py": f"__version__ = {version!r}\n".encode(),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ).encode(),
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: pipcache_fixture\n"
            "Root-Is-Purelib: true\nTag: py3-none-any\n"
        ).encode(),
    }

def write_wheel(directory, name, version):
    files = _files(name, version)
    record = f"{_dist(name)}-{version}.dist-info/RECORD"
    lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        lines.append(f"{path},sha256={digest.decode()},{len(data)}")
    files[record] = ("\n".join([*lines, f"{record},,"]) + "\n").encode()
    filename = f"{_dist(name)}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, filename), "w") as zf:
        for path, data in files.items():
            zf.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), data)
    return filename

def _pkg_info():
    with open("PKG-INFO", encoding="utf-8") as f:
        msg = email.parser.Parser().parse(f)
    return msg["Name"], msg["Version"]

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name, version = _pkg_info()
    info = f"{_dist(name)}-{version}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info))
    for path, data in _files(name, version).items():
        if path.startswith(info + "/"):
            with open(os.path.join(metadata_directory, path), "wb") as f:
                f.write(data)
    return info

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return write_wheel(wheel_directory, *_pkg_info())

def build_sdist(sdist_directory, config_settings=None):
    name, version = _pkg_info()
    base = f"{_dist(name)}-{version}"
    with tarfile.open(os.path.join(sdist_directory, base + ".tar.gz"), "w:gz") as tf:
        for entry in sorted(set(os.listdir(".")) - {"__pycache__"}):
            tf.add(entry, arcname=f"{base}/{entry}")
    return base + ".tar.gz"
'''

_PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
"""


def _normalize(name: str, sep: str = "_") -> str:
    """Underscored form is used in file names; the dashed form (PEP 503) in index URLs."""
    return re.sub(r"[-_.]+", sep, name).lower()


def make_wheel(dest: Path, name: str, version: str) -> Path:
    """Write a pure-python wheel directly, for serving pre-built files from the index."""
    dest.mkdir(parents=True, exist_ok=True)
    namespace: dict[str, Any] = {}
    exec(_BACKEND_PY, namespace)
    return dest / namespace["write_wheel"](str(dest), name, version)


def make_sdist(dest: Path, name: str, version: str, dist_name: str | None = None) -> Path:
    """Write a real sdist with an in-tree backend, so ``pip wheel`` works offline isolated.

    ``dist_name`` overrides the normalized archive/top-level-directory name (for tests of
    odd file names); the metadata ``Name`` is always ``name`` as given.
    """
    dest.mkdir(parents=True, exist_ok=True)
    base = f"{dist_name or _normalize(name)}-{version}"
    members = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        "pyproject.toml": _PYPROJECT,
        "backend.py": _BACKEND_PY.lstrip(),
    }
    path = dest / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for member, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{base}/{member}")
            info.size, info.mtime, info.mode = len(data), 1577836800, 0o644
            tf.addfile(info, io.BytesIO(data))
    return path


def _project_of(filename: str) -> str:
    """PEP 503 project of a dist file: wheels split on the first dash, sdists on the last."""
    if filename.endswith(".whl"):
        return _normalize(filename.split("-", 1)[0], "-")
    return _normalize(re.sub(r"\.(tar\.gz|zip)$", "", filename).rsplit("-", 1)[0], "-")


class _IndexHandler(BaseHTTPRequestHandler):
    """Serves /simple/ pages and /files/ with the cache headers pip's cachecontrol needs."""

    protocol_version = "HTTP/1.1"
    server: _IndexServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def _respond(self, send_body: bool) -> None:
        root = self.server.dist_dir
        path = self.path.split("?", 1)[0]
        files = sorted(p for p in root.iterdir() if p.is_file())
        headers: dict[str, str]
        if path.startswith("/files/") and (root / path[7:]) in files:
            body = (root / path[7:]).read_bytes()
            headers = {
                "Content-Type": "application/octet-stream",
                "Cache-Control": "max-age=365000000, immutable, public",
                "ETag": f'"{hashlib.sha256(body).hexdigest()}"',
            }
        elif path.startswith("/simple/"):
            project = path[8:].strip("/")
            if project:
                links = [
                    f'<a href="/files/{p.name}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}"'
                    f">{p.name}</a><br>"
                    for p in files
                    if _project_of(p.name) == project
                ]
            else:
                names = sorted({_project_of(p.name) for p in files})
                links = [f'<a href="/simple/{n}/">{n}</a><br>' for n in names]
            if project and not links:
                return self.send_error(404)
            html = "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n"
            body = html.encode()
            headers = {"Content-Type": "text/html", "Cache-Control": "max-age=600, public"}
        else:
            return self.send_error(404)
        self.send_response(200)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class _IndexServer(ThreadingHTTPServer):
    """Carries the served directory; daemon threads so keep-alive clients never block exit."""

    daemon_threads = True

    def __init__(self, dist_dir: Path) -> None:
        super().__init__(("127.0.0.1", 0), _IndexHandler)
        self.dist_dir = dist_dir


class LoopbackIndex:
    """A PEP 503 index on 127.0.0.1: the only way to get http-v2 entries offline."""

    def __init__(self, dist_dir: Path) -> None:
        self.dist_dir = Path(dist_dir)
        self._server: _IndexServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> LoopbackIndex:
        self._server = _IndexServer(self.dist_dir)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/simple/"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def pip_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for the real pip that cannot see or touch the user's pip settings.

    Loopback hosts are added to ``no_proxy`` so a configured proxy never intercepts (and
    strips the cache headers of) requests to a LoopbackIndex.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PIP_") and k not in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME")
    }
    no_proxy = ",".join(filter(None, [env.get("no_proxy", ""), "127.0.0.1,localhost"]))
    env.update(HOME=str(home), no_proxy=no_proxy, NO_PROXY=no_proxy)
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    env.update(extra)
    return env


def run_pip(
    args: list[str], env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real pip of this interpreter; callers inspect returncode themselves."""
    return subprocess.run(
        [sys.executable, "-m", "pip", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def _pip_ok(args: list[str], env: dict[str, str]) -> None:
    """Run pip and fail loudly, since a silent failure would leave a half-built cache."""
    proc = run_pip(args, env)
    if proc.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")


def _sha224(text: str) -> str:
    return hashlib.sha224(text.encode()).hexdigest()


def populate_pip_cache(cache: Path, work: Path) -> dict[str, Any]:
    """Fill ``cache`` with a real pip cache (plus legacy/stray files), fully offline."""
    env = pip_env(home=work / "home")
    (work / "home").mkdir(parents=True, exist_ok=True)
    out, sdists, served = work / "out", work / "sdists", work / "served"
    common = ["--no-deps", "--cache-dir", str(cache)]

    # wheels/: pip caches what it builds from archives named name-version.
    for name, version in [
        ("alpha", "1.0"),
        ("alpha", "2.0"),
        ("Foo.Bar", "2.0"),
        ("zope.iface", "1.0"),
    ]:
        sdist = make_sdist(sdists, name, version)
        _pip_ok(["wheel", *common, "--no-index", "-w", str(out), str(sdist)], env)

    # http-v2/: downloads (and index pages) through an index that sends cache headers.
    make_wheel(served, "beta", "1.0")
    make_wheel(served, "beta", "1.1")
    make_sdist(served, "gamma", "0.5")
    # pip only caches plain-http responses from a --trusted-host (its caching adapter is
    # mounted per trusted host; other http:// URLs get a non-caching adapter).
    with LoopbackIndex(served) as index:
        remote = [*common, "--index-url", index.url, "--trusted-host", "127.0.0.1"]
        for spec in ("beta==1.0", "beta==1.1"):
            _pip_ok(["download", *remote, "-d", str(work / "dl"), spec], env)
        _pip_ok(["wheel", *remote, "-w", str(out), "gamma"], env)

    wheels = sorted((cache / "wheels").rglob("*.whl"))
    expected = {"alpha-1.0", "alpha-2.0", "foo_bar-2.0", "zope_iface-1.0", "gamma-0.5"}
    got = {"-".join(w.name.split("-")[:2]) for w in wheels}
    if got != expected:
        raise RuntimeError(f"pip cached wheels {sorted(got)}, expected {sorted(expected)}")
    http_v2 = [p for p in (cache / "http-v2").rglob("*") if p.is_file()]
    if not http_v2:
        raise RuntimeError("pip wrote no http-v2 entries (cache headers not honoured?)")

    # http/: the pre-23.3 single-file format, synthetic but in the real layout.
    legacy = []
    for i in range(3):
        key = _sha224(f"https://files.example.invalid/legacy-{i}.whl")
        path = cache / "http" / Path(*key[:5]) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"cc=4," + b"\x82\xa8response\x80\xa4vary\x80" + bytes([i]) * 64)
        legacy.append(path)

    selfcheck = cache / "selfcheck" / _sha224("/some/prefix")
    selfcheck.parent.mkdir(parents=True, exist_ok=True)
    selfcheck.write_text(
        json.dumps(
            {"key": "/some/prefix", "last_check": "2026-01-01T00:00:00Z", "pypi_version": "26.3"}
        )
    )

    alpha1 = next(w for w in wheels if w.name.startswith("alpha-1.0-"))
    strays = [
        cache / "http-v2" / "tmpstray123",
        cache / "README-stray.txt",
        alpha1.parent / "notes.txt",
    ]
    for stray in strays:
        stray.write_text("stray file left for cachekit tests\n")

    link_dir = cache / "wheels" / "zz" / "yy" / "xx" / ("ab" * 25)
    link_dir.mkdir(parents=True)
    symlink = link_dir / "linked-1.0-py3-none-any.whl"
    symlink.symlink_to(os.path.relpath(alpha1, link_dir))

    return {
        "wheels": wheels,
        "symlink": symlink,
        "http_v2_files": len(http_v2),
        "legacy_http": legacy,
        "selfcheck": selfcheck,
        "strays": strays,
    }

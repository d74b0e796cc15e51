"""Real uv caches, filled offline by the real uv from a loopback index.

uv is installed into the test environment from PyPI (the `test` extra); it installs
pre-built wheels and builds an sdist (with the in-tree backend of pipcache_fixture), so
the cache holds every kind of entry cachekit must understand.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipcache_fixture import LoopbackIndex, make_sdist, make_wheel, pip_env

UV = str(Path(sys.executable).parent / "uv")
SERVED = [("wheel", "beta", "1.0"), ("wheel", "beta", "1.1"), ("wheel", "delta", "2.0"),
          ("sdist", "gamma", "0.5"), ("wheel", "Foo.Bar", "3.0")]
INSTALLS = ["beta==1.0", "beta==1.1", "delta", "gamma", "foo-bar"]


def uv_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment for the real uv that sees none of the user's uv settings."""
    env = {k: v for k, v in pip_env(home).items() if not k.startswith("UV_")}
    env.update(UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")
    env["PATH"] = f"{Path(UV).parent}:{env.get('PATH', '')}"
    env.update(extra)
    return env


def run_uv(args: list[str], env: dict[str, str], cwd: Path | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([UV, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=120)


def serve_dir(work: Path) -> Path:
    served = work / "served"
    if not served.exists():
        for kind, name, version in SERVED:
            (make_wheel if kind == "wheel" else make_sdist)(served, name, version)
    return served


def install(cache: Path, work: Path, specs: list[str], index_url: str, home: Path) -> None:
    env = uv_env(home, UV_CACHE_DIR=str(cache))
    for spec in specs:
        target = work / "targets" / spec.replace("=", "_")
        shutil.rmtree(target, ignore_errors=True)
        done = run_uv(["pip", "install", "--python", sys.executable, "--target", str(target),
                       "--index-url", index_url, "--no-deps", spec], env)
        if done.returncode != 0:
            raise RuntimeError(f"uv pip install {spec} failed:\n{done.stderr}")


def populate_uv_cache(cache: Path, work: Path) -> dict[str, Any]:
    """Fill ``cache`` with pre-built wheels, a wheel built from an sdist, index pages."""
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    with LoopbackIndex(serve_dir(work)) as index:
        install(cache, work, INSTALLS, index.url, home)
    return {"packages": {"beta", "delta", "gamma", "foo-bar"}}

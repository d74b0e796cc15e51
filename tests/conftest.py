"""Shared fixtures: a real pip cache built once per session, copied for each test, and a
real conda package cache with environments, built for each test.

Every test runs with HOME pointing into its own temporary directory and without the
machine's PIP_* and XDG_* variables, so nothing reads or writes the real ~/.cache.
"""

import contextlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest
from condacache_fixture import CondaFixture
from condacache_fixture import build as build_conda_fixture
from pipcache_fixture import pip_env, populate_pip_cache, run_pip
from uvcache_fixture import populate_uv_cache


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's HOME: a fresh directory, with the machine's pip/XDG variables gone."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key in list(os.environ):
        if key.startswith(("PIP_", "XDG_", "CACHEKIT_", "CONDA", "MAMBA_", "_CONDA", "UV_")):
            monkeypatch.delenv(key)
    monkeypatch.delenv("COLUMNS", raising=False)  # tables as wide as they need, unless a test says
    return home


@pytest.fixture(scope="session")
def pip_cache_master(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Dict]:
    base = tmp_path_factory.mktemp("pipcache")
    cache = base / "cache"
    made = populate_pip_cache(cache, base / "work")
    return cache, made


@pytest.fixture
def pip_cache(tmp_path: Path, pip_cache_master: Tuple[Path, Dict]) -> Path:
    """A private copy of the real pip cache (symlinks copied as symlinks)."""
    dest = tmp_path / "cache"
    shutil.copytree(pip_cache_master[0], dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def conda_archives(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where cph's archives are kept between tests (making them is the slow part)."""
    return tmp_path_factory.mktemp("conda-archives")


@pytest.fixture
def conda(tmp_path: Path, home: Path, conda_archives: Path) -> CondaFixture:
    """reference/conda.md section 7: a pkgs dir, environments linking into it, and extras."""
    return build_conda_fixture(tmp_path / "conda", home, conda_archives)


@pytest.fixture(scope="session")
def uv_cache_master(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    """A real uv cache (and the work dir with its served index), built once."""
    base = tmp_path_factory.mktemp("uvcache")
    populate_uv_cache(base / "cache", base / "work")
    return base / "cache", base / "work"


@pytest.fixture
def uv_cache(tmp_path: Path, uv_cache_master: Tuple[Path, Path]) -> Path:
    """A private copy of the real uv cache (symlinks kept as symlinks)."""
    dest = tmp_path / "uvcache"
    shutil.copytree(uv_cache_master[0], dest, symlinks=True)
    return dest


@contextlib.contextmanager
def tmpfs(mount: Path, options: str) -> Iterator[Path]:
    """A tmpfs the test mounts (as root): a file system whose size and flags are the test's."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def copy_cache(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


def cachekit(args: List[str], cache: Path, home: Path, **extra: str) -> subprocess.CompletedProcess:
    """Run the installed program as a user would, with no terminal on stdin."""
    env = pip_env(home, PIP_CACHE_DIR=str(cache), **extra)
    return subprocess.run([sys.executable, "-m", "cachekit", *args], env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=120)


def pip(args: List[str], cache: Path, home: Path) -> subprocess.CompletedProcess:
    return run_pip(["--cache-dir", str(cache), *args], pip_env(home))


def tree_of(root: Path) -> Set[Tuple[str, str, int]]:
    """Everything under root as (relative path, type, size): what is left on disk."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            st = full.lstat()
            kind = "l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode) else "f"
            size = 0 if kind == "d" else st.st_size
            out.add((str(full.relative_to(root)), kind, size))
    return out


"""Shared fixtures: a real pip cache built once per session, copied for each test, and a
real conda package cache with environments, built for each test; ``core_run`` and
``run_cachekit``, the one way each test runs the core and the program.

Every test runs with HOME pointing into its own temporary directory and without the
machine's PIP_* and XDG_* variables, so nothing reads or writes the real ~/.cache.
"""

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Tuple

import pytest

from tests.fixtures import program
from tests.fixtures.conda_cache import CondaFixture
from tests.fixtures.conda_cache import build as build_conda_fixture
from tests.fixtures.pip_cache import populate_pip_cache
from tests.fixtures.pixi_cache import PixiFixture, make_channel
from tests.fixtures.pixi_cache import build as build_pixi_fixture
from tests.fixtures.program import run_core
from tests.fixtures.uv_cache import populate_uv_cache


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's HOME: a fresh directory, with the machine's pip/XDG variables gone."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key in list(os.environ):
        if key.startswith(("PIP_", "XDG_", "CACHEKIT_", "CONDA", "MAMBA_", "_CONDA", "UV_",
                           "PIXI_", "RATTLER_", "POETRY_", "PDM_")):
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


@pytest.fixture(scope="session")
def pixi_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local conda channel of tiny packages, indexed by rattler, made once."""
    return make_channel(tmp_path_factory.mktemp("pixi-channel"))


@pytest.fixture
def pixi(tmp_path: Path, home: Path, pixi_channel: Path) -> PixiFixture:
    """A real rattler package cache with environments where pixi puts them (made by
    py-rattler for each test: the environments hard-link into the cache)."""
    return build_pixi_fixture(tmp_path / "pixi", home, pixi_channel)


@pytest.fixture
def core_run() -> Callable[..., Dict[str, Any]]:
    """The core in-process: ``core_run(op, managers, environ, **request)`` returns the
    result of ``agent.run`` and asserts its status is "ok" (``ok=False`` to look at a
    failure instead)."""
    return run_core


@pytest.fixture
def run_cachekit(home: Path) -> Callable[..., subprocess.CompletedProcess]:
    """The program as a user runs it, with this test's HOME and no terminal on stdin:
    ``run_cachekit(args, cache=None, *, env=None, inventory=None, timeout=120, expect=None,
    **environ)`` (``cache`` is the pip cache; see ``tests/fixtures/program.py``)."""
    return functools.partial(program.run_cachekit, home=home)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session (tests/fixtures/browser.py), stopped at the
    end. It never skips: scripts/test.sh installs Debian's chromium."""
    from tests.fixtures.browser import Browser

    chromium = Browser()
    try:
        yield chromium
    finally:
        chromium.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The screenshots the browser tests wrote, where a reviewer looks for them."""
    from tests.fixtures.browser import SHOTS

    if SHOTS:
        terminalreporter.write_sep("-", "screenshots written")
        for path in SHOTS:
            terminalreporter.write_line(str(path))


@pytest.fixture(scope="session")
def poetry_cache_master(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Dict]:
    """A real Poetry cache dir (two projects locked and installed), built once."""
    from tests.fixtures.poetry_cache import populate_poetry_cache

    base = tmp_path_factory.mktemp("poetrycache")
    made = populate_poetry_cache(base / "cache", base / "work")
    return base / "cache", made


@pytest.fixture
def poetry_cache(tmp_path: Path, poetry_cache_master: Tuple[Path, Dict]) -> Path:
    """A private copy of the real Poetry cache dir (symlinks kept as symlinks)."""
    dest = tmp_path / "poetrycache"
    shutil.copytree(poetry_cache_master[0], dest, symlinks=True)
    return dest

"""Where cachekit finds the ``uv`` program: a real uv binary placed in each place a user
puts it, with PATH cleared of every other uv."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import yaml

from tests.fixtures import REPO
from tests.fixtures.disk import tree_of
from tests.fixtures.uv_cache import UV

SYSTEM_PYTHON = "/usr/bin/python3"  # a python with no uv beside it
BARE_PATH = "/usr/bin:/bin"

pytestmark = pytest.mark.skipif(
    not os.path.exists(SYSTEM_PYTHON) or shutil.which("uv", path=BARE_PATH) is not None,
    reason="needs a system python3 and no uv in /usr/bin or /bin")


def agent(python: str, home: Path, request: Dict[str, Any], **environ: str) -> Dict[str, Any]:
    """The core run by ``python`` as a remote host runs it: a script reading a request."""
    env = {"HOME": str(home), "PATH": BARE_PATH, **environ}
    done = subprocess.run([python, "-m", "cachekit.core.agent"], input=json.dumps(request),
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # after the "@" progress lines


def uv_record(python: str, home: Path, request: Optional[Dict[str, Any]] = None,
              **environ: str) -> Dict[str, Any]:
    result = agent(python, home, {"op": "dir", "managers": ["uv"], **(request or {})},
                   **environ)
    return result["caches"][0]


def place(directory: Path, name: str = "uv") -> Path:
    """The test venv's real uv, linked into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).symlink_to(UV)
    return directory / name


def test_no_uv_anywhere_is_said(home: Path) -> None:
    record = uv_record(SYSTEM_PYTHON, home)
    assert record["uv_binary"] is None and record["error"] is None


@pytest.mark.parametrize("where", ["PATH", "~/.local/bin", "~/.cargo/bin"])
def test_uv_found_on_path_and_where_its_installers_put_it(where: str, home: Path,
                                                          tmp_path: Path) -> None:
    if where == "PATH":
        found = place(tmp_path / "tools")
        record = uv_record(SYSTEM_PYTHON, home, PATH=f"{tmp_path / 'tools'}:{BARE_PATH}")
    else:
        found = place(home / where[2:])
        record = uv_record(SYSTEM_PYTHON, home)
    assert (record["uv_binary"], record["uv_binary_source"]) == (str(found), where)


def test_uv_installed_in_the_running_python_s_virtual_environment(home: Path,
                                                                  tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    found = place(venv / "bin")  # where `pip install uv` puts it
    record = uv_record(str(venv / "bin/python"), home)
    assert record["uv_binary"] == str(found)
    assert record["uv_binary_source"] == "the running python's environment"


def test_named_uv_wins_in_order_flag_inventory_variable_env(home: Path, tmp_path: Path) -> None:
    flag, inv, env, on_path = (place(tmp_path / d, "uv-x") for d in ("f", "i", "e", "p"))
    path = f"{on_path.parent}:{BARE_PATH}"
    every = {"uv": str(flag), "uv_inventory": str(inv)}
    assert uv_record(SYSTEM_PYTHON, home, every, UV=str(env), PATH=path)["uv_binary_source"] \
        == "--uv"
    assert uv_record(SYSTEM_PYTHON, home, {"uv_inventory": str(inv)}, UV=str(env))[
        "uv_binary"] == str(inv)
    record = uv_record(SYSTEM_PYTHON, home, UV=str(env))
    assert (record["uv_binary"], record["uv_binary_source"]) == (str(env), "UV")
    by_name = uv_record(SYSTEM_PYTHON, home, {"uv": "uv-x"}, PATH=path)
    assert by_name["uv_binary"] == str(on_path)  # a bare name is looked up on PATH


def test_a_named_uv_that_is_missing_is_an_error_and_nothing_is_removed(
        uv_cache: Path, home: Path, tmp_path: Path) -> None:
    place(home / ".local/bin")  # a uv that would be found: a named one is never passed over
    before = tree_of(uv_cache)
    result = agent(SYSTEM_PYTHON, home, {"op": "purge", "managers": ["uv"], "apply": True,
                                         "uv": str(tmp_path / "nope")},
                   UV_CACHE_DIR=str(uv_cache))
    assert result["caches"][0]["error"] == f"--uv {str(tmp_path / 'nope')!r}: no such file"
    assert tree_of(uv_cache) == before


def cli(args: list, home: Path, **environ: str) -> subprocess.CompletedProcess:
    """cachekit as installed in the test venv (where `pip install uv` put uv), PATH bare."""
    env = {"HOME": str(home), "PATH": BARE_PATH, **environ}
    return subprocess.run([sys.executable, "-m", "cachekit", *args], capture_output=True,
                          text=True, env=env, cwd=home, stdin=subprocess.DEVNULL, timeout=120)


def test_cachekit_in_a_venv_with_uv_removes_through_that_uv(uv_cache: Path,
                                                            home: Path) -> None:
    run = cli(["remove", "beta", "--managers", "uv", "--yes"], home,
              UV_CACHE_DIR=str(uv_cache))
    assert run.returncode == 0, run.stderr
    assert not list(uv_cache.glob("wheels-v*/*/*/beta"))
    shown = cli(["dir", "--managers", "uv"], home, UV_CACHE_DIR=str(uv_cache))
    assert f"local: uv program: {UV} (from the running python's environment)" in shown.stdout


def test_uv_flag_and_inventory_variable_from_the_command_line(uv_cache: Path, home: Path,
                                                              tmp_path: Path) -> None:
    mine = place(tmp_path / "opt", "uv-pinned")
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {"cachekit_uv": str(mine)}}}}))
    env = {"UV_CACHE_DIR": str(uv_cache)}
    doc = json.loads(cli(["info", "--managers", "uv", "--hosts", "localhost", "--inventory",
                          str(inv), "--format", "json"], home, **env).stdout)
    cache = doc["hosts"][0]["caches"][0]
    assert (cache["uv_binary"], cache["uv_binary_source"]) == (str(mine), "cachekit_uv")
    flag = place(tmp_path / "flag")
    doc = json.loads(cli(["dir", "--managers", "uv", "--hosts", "localhost", "--inventory",
                          str(inv), "--uv", str(flag), "--format", "json"], home, **env).stdout)
    assert doc["hosts"][0]["caches"][0]["uv_binary_source"] == "--uv"
    before = tree_of(uv_cache)
    bad = cli(["remove", "beta", "--managers", "uv", "--yes", "--uv", str(tmp_path / "nope")],
              home, **env)
    assert bad.returncode == 2 and "--uv '" in bad.stderr and "no such file" in bad.stderr
    assert tree_of(uv_cache) == before

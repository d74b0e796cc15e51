"""Bad input gets one line on stderr and the documented exit code, never a traceback."""

import sys
from pathlib import Path

import pytest
from conftest import cachekit, tree_of


@pytest.mark.parametrize("args,needle", [
    (["nosuchtask"], "nosuchtask"),
    (["info", "--bogus"], "--bogus"),
    (["info", "--format", "xml"], "xml"),
    (["list", "a", "b"], "'b'"),
    (["list", "--format", "yaml"], "yaml"),
    (["remove"], "pattern"),
    (["info", "--managers", "npm"], "npm"),
    (["info", "--hosts", "nowhere"], "nowhere"),
])
def test_bad_input_is_one_line_exit_1(pip_cache: Path, home: Path, args, needle) -> None:
    before = tree_of(pip_cache)
    out = cachekit(args, pip_cache, home)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert tree_of(pip_cache) == before


@pytest.mark.parametrize("task", ["dir", "info", "list", "remove", "purge", "report"])
def test_every_task_has_one_line_help(pip_cache: Path, home: Path, task: str) -> None:
    out = cachekit([task, "--help"], pip_cache, home)
    assert out.returncode == 0, out.stderr
    assert "Docstring:" in out.stdout and "--format" in out.stdout


def test_invalid_pip_setting_is_a_failed_cache_exit_2(pip_cache: Path, home: Path) -> None:
    out = cachekit(["info"], pip_cache, home, PIP_NO_CACHE_DIR="maybe")
    assert out.returncode == 2
    assert "maybe" in out.stderr and "Traceback" not in out.stderr


def test_disabled_cache_is_reported_not_an_error(pip_cache: Path, home: Path) -> None:
    out = cachekit(["dir"], pip_cache, home, PIP_NO_CACHE_DIR="0")
    assert out.returncode == 0, out.stderr
    assert "disabled" in out.stdout and "PIP_NO_CACHE_DIR" in out.stdout


def test_cache_dir_that_is_a_file(tmp_path: Path, home: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    out = cachekit(["info"], afile, home)
    assert out.returncode == 0
    assert "not a directory" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = cachekit(["purge", "--yes"], afile, home)
    assert out.returncode == 0 and afile.read_text() == "x"


def test_invoke_in_repo_is_the_same_program(pip_cache: Path, home: Path) -> None:
    import subprocess

    from pipcache_fixture import pip_env

    repo = Path(__file__).resolve().parent.parent
    invoke = Path(sys.executable).parent / "invoke"
    env = pip_env(home, PIP_CACHE_DIR=str(pip_cache))
    theirs = subprocess.run([str(invoke), "list", "alpha", "--format", "abspath"], cwd=repo,
                            env=env, capture_output=True, text=True)
    ours = cachekit(["list", "alpha", "--format", "abspath"], pip_cache, home)
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout == ours.stdout != ""

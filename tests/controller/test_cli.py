"""Bad input gets one line on stderr and the documented exit code, never a traceback."""

import re
import sys
from pathlib import Path

import pytest

from tests.fixtures import REPO
from tests.fixtures.disk import tree_of


@pytest.mark.parametrize("args,needle", [
    (["nosuchtask"], "nosuchtask"),
    (["info", "--bogus"], "--bogus"),
    (["info", "--format", "xml"], "xml"),
    (["list", "a", "b"], "'b'"),
    (["list", "--format", "yaml"], "yaml"),
    (["remove"], "PATTERN"),
    (["info", "--managers", "npm"], "npm"),
    (["info", "--hosts", "nowhere"], "nowhere"),
    (["info", "--timeout", "abc"], "--timeout takes a number, not 'abc'"),
    (["info", "--workers=x"], "--workers takes a whole number"),
    (["info", "--format"], "--format needs a value"),
    (["dir", "info"], "one task at a time"),
])
def test_bad_input_is_one_line_exit_1(pip_cache: Path, home: Path, args, needle,
                                      run_cachekit) -> None:
    before = tree_of(pip_cache)
    out = run_cachekit(args, pip_cache)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert tree_of(pip_cache) == before


@pytest.mark.parametrize("args,message", [
    (["reprot"], "no such task 'reprot' (did you mean report?)"),
    (["purg", "--yes"], "no such task 'purg' (did you mean purge?)"),
    (["info", "--fromat", "json"], "no such option --fromat for info (did you mean --format?)"),
    (["prune", "--older", "3d"], "no such option --older for prune (did you mean --older-than?)"),
    (["purge", "--dry"], "no such option --dry for purge (did you mean --dry-run?)"),
    (["purge", "-R"], "no such option -R for purge (did you mean --dry-run?)"),
    (["--dry", "purge"], "no such option --dry (did you mean --dry-run after the task's name?)"),
    (["info", "--zzz"], "no such option --zzz for info (see cachekit info --help)"),
])
def test_typos_name_close_matches(pip_cache: Path, home: Path, args, message: str,
                                  run_cachekit) -> None:
    out = run_cachekit(args, pip_cache)
    assert out.returncode == 1
    assert out.stderr == f"cachekit: error: {message}\n"


@pytest.mark.parametrize("option", ["--dry", "-R", "--pty", "--prompt-for-sudo-password",
                                    "--hide=both", "-e", "-w", "-T", "-c", "-f", "-d",
                                    "--write-pyc", "--list-format=json", "-D"])
def test_invokes_execution_options_are_gone(pip_cache: Path, home: Path, option: str,
                                            run_cachekit) -> None:
    """Neither accepted before a task nor after it, nor shown in the program's help."""
    for args in ([option, "dir"], ["dir", option]):
        out = run_cachekit(args, pip_cache)
        assert out.returncode == 1 and out.stdout == "", (args, out.stdout)
        assert out.stderr.startswith("cachekit: error: no such option"), out.stderr


def test_program_help_shows_only_its_own_options(pip_cache: Path, home: Path, run_cachekit) -> None:
    out = run_cachekit(["--help"], pip_cache).stdout
    options = out.split("Options:")[1].split("Tasks:")[0]
    shown = {m for line in options.splitlines() if line.strip()
             for m in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", line.split("   ")[0])}
    assert shown == {"-h", "--help", "-l", "--list", "-V", "--version",
                     "--print-completion-script"}


def test_program_help_and_usage(pip_cache: Path, home: Path, run_cachekit) -> None:
    out = run_cachekit(["--help"], pip_cache)
    assert out.returncode == 0
    assert "Usage: cachekit [--help] [--version] [--list] TASK" in out.stdout
    assert "other tasks here" not in out.stdout and "--core-opts" not in out.stdout
    assert run_cachekit([], pip_cache).stdout == out.stdout
    assert run_cachekit(["--version"], pip_cache).stdout.startswith("cachekit ")
    listed = run_cachekit(["--list"], pip_cache).stdout
    assert "prune" in listed and "Options:" not in listed
    for args in (["purge", "--help"], ["--help", "purge"], ["purge", "-h"]):
        task = run_cachekit(args, pip_cache)
        assert task.returncode == 0 and task.stdout.startswith("Usage: cachekit purge [OPTIONS]\n")
        assert "other tasks here" not in task.stdout


def test_completion_is_kept(pip_cache: Path, home: Path, run_cachekit) -> None:
    script = run_cachekit(["--print-completion-script", "bash"], pip_cache)
    assert script.returncode == 0 and "cachekit" in script.stdout
    words = run_cachekit(["--complete", "--", "cachekit", "pur"], pip_cache)
    assert "purge" in words.stdout.split()


def test_invalid_pip_setting_is_a_failed_cache_exit_2(pip_cache: Path, home: Path,
                                                      run_cachekit) -> None:
    out = run_cachekit(["info"], pip_cache, PIP_NO_CACHE_DIR="maybe")
    assert out.returncode == 2
    assert "maybe" in out.stderr and "Traceback" not in out.stderr


def test_disabled_cache_is_reported_not_an_error(pip_cache: Path, home: Path, run_cachekit) -> None:
    out = run_cachekit(["dir"], pip_cache, PIP_NO_CACHE_DIR="0")
    assert out.returncode == 0, out.stderr
    assert "disabled" in out.stdout and "PIP_NO_CACHE_DIR" in out.stdout


def test_cache_dir_that_is_a_file(tmp_path: Path, home: Path, run_cachekit) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    out = run_cachekit(["info"], afile)
    assert out.returncode == 0
    assert "not a directory" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = run_cachekit(["purge", "--yes"], afile)
    assert out.returncode == 0 and afile.read_text() == "x"


def test_invoke_in_repo_is_the_same_program(pip_cache: Path, home: Path, run_cachekit) -> None:
    import subprocess

    from tests.fixtures.pip_cache import pip_env

    repo = REPO
    invoke = Path(sys.executable).parent / "invoke"
    env = pip_env(home, PIP_CACHE_DIR=str(pip_cache))
    theirs = subprocess.run([str(invoke), "list", "alpha", "--format", "abspath"], cwd=repo,
                            env=env, capture_output=True, text=True)
    ours = run_cachekit(["list", "alpha", "--format", "abspath"], pip_cache)
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout == ours.stdout != ""


def test_program_starts_without_unittest_mock() -> None:
    """Start-up stays lean (bench/bench_startup.py): importing the program loads neither
    unittest.mock nor asyncio, and Invoke's MockContext, which needs Mock, still works."""
    import subprocess

    code = ("import sys, cachekit.cli\n"
            "print(sorted(m for m in ('unittest', 'unittest.mock', 'asyncio', 'fabric')"
            " if m in sys.modules))\n"
            "from invoke import MockContext, Result\n"
            "print(MockContext(run=Result('ran')).run('x').stdout)\n"
            "import unittest.mock\n"
            "print(unittest.mock.Mock.__module__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "ran", "unittest.mock"]


def test_program_starts_without_yaml_and_invoke_still_reads_its_yaml_config(
        tmp_path: Path) -> None:
    """A run without an inventory loads no YAML parser (Invoke's nor PyYAML: a tenth of
    start-up); Invoke's config loader still reads an invoke.yaml through the stand-in, and
    a later ``import yaml`` gets the real module."""
    import subprocess

    (tmp_path / "invoke.yaml").write_text("run:\n  echo: true\n")
    code = ("import sys, cachekit.cli\n"
            "print(sorted(m for m in ('yaml', 'invoke.vendor.yaml', 'difflib')"
            " if m in sys.modules))\n"
            "from invoke import Config\n"
            "c = Config(runtime_path=sys.argv[1])\n"
            "c.load_runtime()\n"
            "print(c.run.echo)\n"
            "import yaml\n"
            "print(hasattr(yaml, 'safe_load') and yaml.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "invoke.yaml")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "True", "yaml"]

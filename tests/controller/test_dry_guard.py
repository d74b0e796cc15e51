"""Nothing that looks like a dry run deletes: Invoke's ``--dry``/``-R`` and a misspelt
``--dry-rn``, given to every destructive task, through both programs.

The ``cachekit`` program has no ``--dry`` or ``-R`` (an unknown option, exit 1, "did you
mean --dry-run?"). ``invoke TASK`` in the repo runs Invoke's own program, which keeps
them: they set Invoke's ``run.dry``, and every task refuses to run with it (exit 1). Each
test first shows that the same command without the bad flag does change the disk.
"""

import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

from tests.fixtures import REPO
from tests.fixtures.conda_cache import CondaFixture
from tests.fixtures.disk import tree_of
from tests.fixtures.pip_cache import pip_env

BIN = Path(sys.executable).parent
LOOKALIKES = ["--dry", "-R", "--dry-rn"]


def run(program: str, args: List[str], env: Dict[str, str]) -> subprocess.CompletedProcess:
    """The installed ``cachekit`` script, or ``invoke`` run in the repo (its tasks.py)."""
    return subprocess.run([str(BIN / program), *args], cwd=REPO, env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=120)


Case = Tuple[List[str], Dict[str, str], Callable[[], object]]


def remove_case(pip_cache: Path, home: Path, tmp_path: Path, conda: CondaFixture) -> Case:
    env = pip_env(home, PIP_CACHE_DIR=str(pip_cache))
    return ["remove", "alpha", "--yes"], env, lambda: tree_of(pip_cache)


def purge_case(pip_cache: Path, home: Path, tmp_path: Path, conda: CondaFixture) -> Case:
    env = pip_env(home, PIP_CACHE_DIR=str(pip_cache))
    return ["purge", "--yes"], env, lambda: tree_of(pip_cache)


def prune_case(pip_cache: Path, home: Path, tmp_path: Path, conda: CondaFixture) -> Case:
    env = pip_env(home, PIP_CACHE_DIR=str(pip_cache))
    return ["prune", "--max-size", "0", "--yes"], env, lambda: tree_of(pip_cache)


def clean_case(pip_cache: Path, home: Path, tmp_path: Path, conda: CondaFixture) -> Case:
    env = pip_env(home, **conda.environ)
    return ["clean", "--all", "--yes"], env, lambda: tree_of(conda.root)


def relocate_case(pip_cache: Path, home: Path, tmp_path: Path, conda: CondaFixture) -> Case:
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(f"[global]\ncache-dir = {pip_cache}\n")
    target = tmp_path / "moved"
    args = ["relocate", "--managers", "pip", "--to", str(target), "--move", "--yes"]
    return args, pip_env(home), lambda: (conf.read_text(), tree_of(pip_cache), target.exists())


CASES = {"remove": remove_case, "purge": purge_case, "prune": prune_case,
         "clean": clean_case, "relocate": relocate_case}


@pytest.fixture
def conda_if_needed(request: pytest.FixtureRequest) -> CondaFixture:
    if request.node.callspec.params["task"] != "clean":
        return None  # type: ignore[return-value]  # building it is slow; only clean uses it
    return request.getfixturevalue("conda")


@pytest.mark.parametrize("program", ["cachekit", "invoke"])
@pytest.mark.parametrize("task", sorted(CASES))
def test_dry_lookalikes_remove_nothing(task: str, program: str, pip_cache: Path, home: Path,
                                       tmp_path: Path, conda_if_needed: CondaFixture) -> None:
    args, env, state = CASES[task](pip_cache, home, tmp_path, conda_if_needed)
    before = state()
    for flag in LOOKALIKES:
        for argv in ([*args, flag], [flag, *args]):
            out = run(program, argv, env)
            assert out.returncode == 1, (argv, out.stdout, out.stderr)
            assert "Traceback" not in out.stderr
            assert state() == before, f"{program} {' '.join(argv)} changed the disk"
            if flag != "--dry-rn" or program == "cachekit":
                assert "--dry-run" in out.stderr, out.stderr
            if program == "cachekit":
                assert len(out.stderr.splitlines()) == 1, out.stderr
    control = run(program, args, env)  # the same command without the flag does act
    assert control.returncode == 0, control.stderr
    assert state() != before


def test_invoke_dry_from_the_environment_is_refused_too(pip_cache: Path, home: Path) -> None:
    env = pip_env(home, PIP_CACHE_DIR=str(pip_cache), INVOKE_RUN_DRY="1")
    before = tree_of(pip_cache)
    out = run("invoke", ["purge", "--yes"], env)
    assert out.returncode == 1 and tree_of(pip_cache) == before
    assert out.stderr.strip() == ("cachekit: error: Invoke's --dry/-R (run.dry) is not "
                                  "cachekit's dry run; nothing was done (use --dry-run to "
                                  "see the plan)")

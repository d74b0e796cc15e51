"""Destructive tasks on a terminal: the plan is shown, then a question; only yes removes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cachekit.core.fs import walk
from cachekit.core.managers.pip import cache as pipcache
from cachekit.errors import EXIT_DECLINED
from tests.fixtures.disk import tree_of
from tests.fixtures.pip_cache import pip_env


def run_on_terminal(args, cache: Path, home: Path, answer: str) -> subprocess.CompletedProcess:
    """Give the program a real pseudo-terminal as stdin and type ``answer``."""
    primary, secondary = os.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "cachekit", *args], stdin=secondary,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=pip_env(home, PIP_CACHE_DIR=str(cache)))
        os.write(primary, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(primary)
        os.close(secondary)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("answer,removed", [("n", False), ("", False), ("y", True)])
def test_terminal_prompt_decides(pip_cache: Path, home: Path, answer: str,
                                 removed: bool) -> None:
    before = tree_of(pip_cache)
    out = run_on_terminal(["remove", "alpha"], pip_cache, home, answer)
    assert out.returncode == (0 if removed else EXIT_DECLINED), out.stderr
    assert "would remove" in out.stderr and "alpha-1.0-py3-none-any.whl" in out.stderr
    assert "[y/N]" in out.stderr
    assert (tree_of(pip_cache) != before) == removed
    if removed:
        assert not list(pip_cache.glob("wheels/**/alpha-*.whl"))
        assert "freed" in out.stdout


def test_http_entries_go_metadata_first(pip_cache: Path) -> None:
    tree = walk.scan(str(pip_cache))
    plan = pipcache.plan_removal(tree, pipcache.match_wheels(tree, "*"), [], purge=True)
    order = [p.file.path for p in plan.files]
    bodies = [p for p in order if p.startswith("http-v2/") and p.endswith(".body")]
    assert bodies
    for body in bodies:
        meta = body[: -len(".body")]
        assert order.index(meta) < order.index(body)

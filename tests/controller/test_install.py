"""The README's install command, run from a copy of the repo into temporary places:
it leaves the checkout as it was, makes `invoke TASK` work there when no `invoke` is on
PATH (and leaves another one alone), and warns when its bin directory is not on PATH."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Set

import pytest

from tests.fixtures import REPO
from tests.fixtures.pip_cache import pip_env

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def copy_of_repo(dest: Path) -> Path:
    """The files a fresh clone has (tracked and new, not ignored): no .venv, no egg-info."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO, capture_output=True, check=True)
    for rel in filter(None, listed.stdout.decode().split("\0")):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return dest


def files_of(root: Path) -> Set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def install(checkout: Path, env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "scripts/install.sh"], cwd=checkout, env=env, text=True,
                          capture_output=True, timeout=900)


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("python3", path=SYSTEM_PATH)
                    is None, reason="needs git and a system python3")
def test_install_from_a_checkout(tmp_path: Path, home: Path, pip_cache: Path) -> None:
    if shutil.which("invoke", path=SYSTEM_PATH):
        pytest.skip("an invoke is installed system-wide")
    python3 = shutil.which("python3", path=SYSTEM_PATH)
    if subprocess.run([python3, "-c", "import ensurepip, venv"]).returncode:
        pytest.skip("python3 cannot create virtual environments (the installer would apt-get)")
    checkout = copy_of_repo(tmp_path / "checkout")
    before = files_of(checkout)
    bindir, prefix = tmp_path / "bin", tmp_path / "share"
    other = tmp_path / "other-bin"  # someone else's invoke, which cannot run our tasks
    other.mkdir()
    (other / "invoke").write_text("#!/bin/sh\necho 'not this one' >&2\nexit 1\n")
    (other / "invoke").chmod(0o755)
    env = pip_env(home, CACHEKIT_HOME=str(prefix), CACHEKIT_BIN=str(bindir),
                  PIP_CACHE_DIR=str(pip_cache))

    env["PATH"] = f"{other}:{bindir}:{SYSTEM_PATH}"
    first = install(checkout, env)
    assert first.returncode == 0, first.stderr
    assert (bindir / "cachekit").exists() and not (bindir / "invoke").exists()
    assert f"note: {other}/invoke cannot run this checkout's tasks; use " \
           f"{prefix}/venv/bin/invoke instead" in first.stderr
    assert "not on PATH" not in first.stderr

    env["PATH"] = SYSTEM_PATH
    second = install(checkout, env)
    assert second.returncode == 0, second.stderr
    assert f"warning: {bindir} is not on PATH" in second.stderr
    assert os.readlink(bindir / "invoke") == str(prefix / "venv/bin/invoke")

    assert files_of(checkout) == before  # no build/, no *.egg-info, nothing else
    env["PATH"] = f"{bindir}:{SYSTEM_PATH}"
    listed = subprocess.run(["invoke", "--list"], cwd=checkout, env=env, text=True,
                            capture_output=True, timeout=120)
    assert listed.returncode == 0 and "prune" in listed.stdout, listed.stderr
    theirs = subprocess.run(["invoke", "dir"], cwd=checkout, env=env, text=True,
                            capture_output=True, timeout=120)
    ours = subprocess.run(["cachekit", "dir"], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=120)
    assert theirs.returncode == ours.returncode == 0, (theirs.stderr, ours.stderr)
    assert theirs.stdout == ours.stdout and str(pip_cache) in ours.stdout

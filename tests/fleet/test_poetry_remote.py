"""A Poetry cache dir on a host reached over a real SSH connection: the shipped core finds
it through the inventory's environment, measures it as Poetry counts it, and purges it
leaving the environments as they were; the report has its row."""

import json
from pathlib import Path

import pytest

from tests.fixtures.poetry_cache import RELEASES, tree_digest
from tests.fixtures.sshd_lab import SshLab, one_host_lab

pytestmark = pytest.mark.ssh  # every test here talks to a real sshd

ADDRESS = "127.0.0.157"


@pytest.fixture(scope="module")
def poetry_lab(tmp_path_factory: pytest.TempPathFactory):
    with one_host_lab(tmp_path_factory.mktemp("poetrysshlab"), "poetryhost", ADDRESS) as lab:
        yield lab


def test_a_remote_poetry_cache_is_measured_and_purged(poetry_lab: SshLab, poetry_cache: Path,
                                                      home: Path, tmp_path: Path) -> None:
    over_ssh = poetry_lab.cachekit_over_ssh(home, tmp_path / "inv.yml", "poetryhost", "poetry", {
        "POETRY_CACHE_DIR": str(poetry_cache), "PATH": "/usr/bin:/bin",
        "XDG_CACHE_HOME": str(tmp_path / "xdg")})

    def run(*args: str) -> dict:
        done = over_ssh(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    envs = tree_digest(poetry_cache / "virtualenvs")
    cache = run("info")["hosts"][0]["caches"][0]
    assert cache["manager"] == "poetry" and cache["source"] == "POETRY_CACHE_DIR"
    assert cache["releases"] == len(RELEASES) and cache["virtualenvs"] == 2
    report = run("report")["hosts"][0]
    row = next(c for c in report["caches"] if c["manager"] == "poetry")
    assert row["bytes"] == cache["bytes"] and row["reclaimable_bytes"] == cache["bytes"]
    listed = {(e["name"], e["version"]) for e in run("list")["hosts"][0]["entries"]}
    assert listed >= RELEASES
    done = run("purge", "--yes")["hosts"][0]
    assert done["reclaimed_bytes"] == cache["reclaimable_bytes"]
    assert not list((poetry_cache / "artifacts").iterdir())
    assert tree_digest(poetry_cache / "virtualenvs") == envs

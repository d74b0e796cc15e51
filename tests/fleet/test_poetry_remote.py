"""A Poetry cache dir on a host reached over a real SSH connection: the shipped core finds
it through the inventory's environment, measures it as Poetry counts it, and purges it
leaving the environments as they were; the report has its row."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures.pip_cache import pip_env
from tests.fixtures.poetry_cache import RELEASES, tree_digest
from tests.fixtures.sshd_lab import PORT, SshLab, one_host_lab

pytestmark = pytest.mark.ssh  # every test here talks to a real sshd

ADDRESS = "127.0.0.157"


@pytest.fixture(scope="module")
def poetry_lab(tmp_path_factory: pytest.TempPathFactory):
    with one_host_lab(tmp_path_factory.mktemp("poetrysshlab"), "poetryhost", ADDRESS) as lab:
        yield lab


def test_a_remote_poetry_cache_is_measured_and_purged(poetry_lab: SshLab, poetry_cache: Path,
                                                      home: Path, tmp_path: Path) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"poetryhost": {
        "ansible_host": ADDRESS, "ansible_port": PORT, "ansible_user": "root",
        "ansible_ssh_private_key_file": str(poetry_lab.client_key),
        "ansible_python_interpreter": "/usr/bin/python3",
        "cachekit_env": {"POETRY_CACHE_DIR": str(poetry_cache), "PATH": "/usr/bin:/bin",
                         "XDG_CACHE_HOME": str(tmp_path / "xdg")}}}}}))
    poetry_lab.write_known_hosts(home, ["poetryhost"])
    env = pip_env(home)
    env.pop("SSH_AUTH_SOCK", None)

    def run(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "cachekit", *args, "--hosts",
                               "poetryhost", "--inventory", str(inv), "--managers", "poetry",
                               "--format", "json"], env=env, text=True, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=120)
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

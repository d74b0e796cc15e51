"""The uv program named per host in the inventory (``cachekit_uv``), over a real SSH
connection: the remote core finds it there, says so, and removes through it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures.pip_cache import pip_env
from tests.fixtures.sshd_lab import PORT, SshLab, one_host_lab
from tests.fixtures.uv_cache import UV

pytestmark = pytest.mark.ssh  # every test here talks to a real sshd

ADDRESS = "127.0.0.41"


@pytest.fixture(scope="module")
def uv_lab(tmp_path_factory: pytest.TempPathFactory):
    with one_host_lab(tmp_path_factory.mktemp("uvsshlab"), "uvhost", ADDRESS) as lab:
        yield lab


def test_cachekit_uv_names_the_remote_hosts_uv(uv_lab: SshLab, uv_cache: Path, home: Path,
                                               tmp_path: Path) -> None:
    pinned = tmp_path / "opt/uv-pinned"
    pinned.parent.mkdir()
    pinned.symlink_to(UV)
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"uvhost": {
        "ansible_host": ADDRESS, "ansible_port": PORT, "cachekit_uv": str(pinned),
        "ansible_user": "root", "ansible_ssh_private_key_file": str(uv_lab.client_key),
        "ansible_python_interpreter": "/usr/bin/python3",
        "cachekit_env": {"UV_CACHE_DIR": str(uv_cache), "PATH": "/usr/bin:/bin",
                         "XDG_CACHE_HOME": str(tmp_path / "xdg")}}}}}))
    uv_lab.write_known_hosts(home, ["uvhost"])
    env = pip_env(home)
    env.pop("SSH_AUTH_SOCK", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cachekit", *args, "--hosts", "uvhost",
                               "--inventory", str(inv), "--managers", "uv", "--format",
                               "json"], env=env, text=True, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=120)

    shown = run("dir")
    assert shown.returncode == 0, shown.stderr
    cache = json.loads(shown.stdout)["hosts"][0]["caches"][0]
    assert (cache["uv_binary"], cache["uv_binary_source"]) == (str(pinned), "cachekit_uv")
    removed = run("remove", "beta", "--yes")
    assert removed.returncode == 0, removed.stderr
    figures = json.loads(removed.stdout)["hosts"][0]["caches"][0]["removal"]
    assert figures["done"] and figures["packages"] == 1
    assert not list(uv_cache.glob("wheels-v*/*/*/beta"))

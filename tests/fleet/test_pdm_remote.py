"""PDM's cache on a host reached over a real SSH connection: the shipped core (the host's
own python3) finds it from the inventory's environment, measures it as locally, and
purges it, keeping the packages an installation uses."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures.pip_cache import pip_env
from tests.fixtures.program import run_core
from tests.fixtures.sshd_lab import PORT, SshLab, one_host_lab

pytestmark = pytest.mark.ssh  # every test here talks to a real sshd

ADDRESS = "127.0.0.47"
ZETA = "packages/zeta-2.1-py3-none-any.whl.cache"


@pytest.fixture(scope="module")
def pdm_lab(tmp_path_factory: pytest.TempPathFactory):
    with one_host_lab(tmp_path_factory.mktemp("pdmsshlab"), "pdmhost", ADDRESS) as lab:
        yield lab


def test_a_remote_pdm_cache_is_measured_and_purged(pdm_lab: SshLab, pdm_cache: Path,
                                                   home: Path, tmp_path: Path) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"pdmhost": {
        "ansible_host": ADDRESS, "ansible_port": PORT, "ansible_user": "root",
        "ansible_ssh_private_key_file": str(pdm_lab.client_key),
        "ansible_python_interpreter": "/usr/bin/python3",
        "cachekit_env": {"PDM_CACHE_DIR": str(pdm_cache), "PATH": "/usr/bin:/bin",
                         "XDG_CONFIG_HOME": str(tmp_path / "xdg")}}}}}))
    pdm_lab.write_known_hosts(home, ["pdmhost"])
    env = pip_env(home)
    env.pop("SSH_AUTH_SOCK", None)

    def run(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "cachekit", *args, "--hosts", "pdmhost",
                               "--inventory", str(inv), "--managers", "pdm", "--format",
                               "json"], env=env, text=True, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["hosts"][0]

    shown = run("dir")["caches"][0]
    assert (shown["path"], shown["source"]) == (str(pdm_cache), "PDM_CACHE_DIR")
    remote = run("info")["caches"][0]
    local = run_core("info", ["pdm"], {"PDM_CACHE_DIR": str(pdm_cache)})["caches"][0]
    for key in ("bytes", "files", "packages", "in_use", "wheels_files", "hashes_files"):
        assert remote[key] == local[key], key
    purged = run("purge", "--yes")
    assert purged["removed"] and all(r["ok"] for r in purged["removed"])
    assert not (pdm_cache / ZETA).exists()
    assert len(list((pdm_cache / "packages").iterdir())) == 4  # the ones in use stay

"""PDM's cache on a host reached over a real SSH connection: the shipped core (the host's
own python3) finds it from the inventory's environment, measures it as locally, and
purges it, keeping the packages an installation uses."""

import json
from pathlib import Path

import pytest

from tests.fixtures.program import run_core
from tests.fixtures.sshd_lab import SshLab, one_host_lab

pytestmark = pytest.mark.ssh  # every test here talks to a real sshd

ADDRESS = "127.0.0.47"
ZETA = "packages/zeta-2.1-py3-none-any.whl.cache"


@pytest.fixture(scope="module")
def pdm_lab(tmp_path_factory: pytest.TempPathFactory):
    with one_host_lab(tmp_path_factory.mktemp("pdmsshlab"), "pdmhost", ADDRESS) as lab:
        yield lab


def test_a_remote_pdm_cache_is_measured_and_purged(pdm_lab: SshLab, pdm_cache: Path,
                                                   home: Path, tmp_path: Path) -> None:
    over_ssh = pdm_lab.cachekit_over_ssh(home, tmp_path / "inv.yml", "pdmhost", "pdm", {
        "PDM_CACHE_DIR": str(pdm_cache), "PATH": "/usr/bin:/bin",
        "XDG_CONFIG_HOME": str(tmp_path / "xdg")})

    def run(*args: str) -> dict:
        done = over_ssh(*args)
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

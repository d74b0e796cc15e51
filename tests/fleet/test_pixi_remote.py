"""pixi's package cache on a host reached over a real SSH connection: the shipped core finds
it from the host's own settings (``cachekit_env``), measures it, and purges what no
environment uses."""

import json
import os

import pytest

from tests.fixtures.pixi_cache import PixiFixture
from tests.fixtures.sshd_lab import SshLab, one_host_lab

pytestmark = pytest.mark.ssh  # every test here talks to a real sshd

ADDRESS = "127.0.0.143"


@pytest.fixture(scope="module")
def pixi_lab(tmp_path_factory: pytest.TempPathFactory):
    with one_host_lab(tmp_path_factory.mktemp("pixisshlab"), "pixihost", ADDRESS) as lab:
        yield lab


def test_a_remote_hosts_pixi_cache_is_measured_and_purged(pixi_lab: SshLab, pixi: PixiFixture,
                                                          home, tmp_path) -> None:
    run = pixi_lab.cachekit_over_ssh(home, tmp_path / "inv.yml", "pixihost", "pixi", {
        "HOME": str(pixi.home), "PIXI_CACHE_DIR": str(pixi.root), "PATH": "/usr/bin:/bin",
        "XDG_CACHE_HOME": str(tmp_path / "xdg")})

    shown = run("info")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)["hosts"][0]["caches"][0]
    assert (record["path"], record["source"]) == (str(pixi.root), "PIXI_CACHE_DIR")
    assert record["packages"] == 7 and record["unused_packages"] == 3
    purged = run("purge", "--yes")
    assert purged.returncode == 0, purged.stderr
    host = json.loads(purged.stdout)["hosts"][0]
    assert host["status"] == "ok"
    assert sorted(os.listdir(pixi.pkgs)) == sorted(
        [".cache.lock"] + [d + s for d in pixi.used for s in ("", ".lock")])

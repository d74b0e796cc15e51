"""The shape of a real fleet in one run: hosts that only a bastion reaches, logged in to as
a non-root operator who may sudo, serving every user's caches on them.

The namespace lab (tests/fixtures/netns_lab.py) keeps the controller from reaching the
targets except through the bastion; the operator and the cache owners are real Unix users
(prefix ``ckf``), removed at the end. The targets share this machine's file system, so the
users' caches are the same on both hosts: reading them twice is what a fleet of identical
hosts looks like, and one purge is seen from either.
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
import yaml

from tests.fixtures.fleet import by_host
from tests.fixtures.netns_lab import BASTION, TARGETS, NetnsLab, netns_lab
from tests.fixtures.unix_users import chown_tree, users

pytestmark = [pytest.mark.ssh, pytest.mark.root]

PREFIX = "ckf"
OPERATOR, ANA, BOB = "ckfops", "ckfana", "ckfbob"


@pytest.fixture(scope="module")
def homes() -> Iterator[Dict[str, Path]]:
    if os.geteuid() != 0:
        pytest.skip("real users, sudo and network namespaces need root")
    with users({OPERATOR: None, ANA: None, BOB: None},
               [f"{OPERATOR} ALL=(ALL:ALL) NOPASSWD: ALL"], prefix=PREFIX) as made:
        yield made


@pytest.fixture(scope="module")
def net(homes: Dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetnsLab]:
    keys = Path(tempfile.mkdtemp(prefix="ckf-keys-"))  # readable by the operator
    keys.chmod(0o755)
    try:
        with netns_lab(tmp_path_factory.mktemp("netns"), user_keys=keys) as lab:
            lab.lab.allow_login(OPERATOR)
            yield lab
    finally:
        shutil.rmtree(keys, ignore_errors=True)


def give_pip_cache(master: Path, home: Path, user: str) -> Path:
    cache = home / ".cache" / "pip"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.copytree(master, cache, symlinks=True)
    chown_tree(home / ".cache", user)
    return cache


def tree_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def setup(tmp_path: Path, net: NetnsLab, home: Path) -> Path:
    """The operator's ~/.ssh (the lab's key, every server's host key) and an inventory of
    two targets behind the bastion, reached and escalated as an Ansible user writes it."""
    net.user_ssh(home, ["bastion"])
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"gpu": {
        "vars": {"ansible_user": OPERATOR, "ansible_port": 22, "ansible_become": True,
                 "ansible_ssh_common_args": f"-o ProxyJump={OPERATOR}@{BASTION}",
                 # root's own row: its pip cache and the core's copy in the test's directory
                 "cachekit_env": {"PIP_CACHE_DIR": str(tmp_path / "root-pip"),
                                  "XDG_CACHE_HOME": str(tmp_path / "root-xdg")}},
        "hosts": {"gpu01": {"ansible_host": TARGETS[0]},
                  "gpu02": {"ansible_host": TARGETS[1]}}}}}}))
    return inv


def per_user(row: Dict[str, Any]) -> Dict[Tuple[str, str], Dict[str, Any]]:
    return {(c["user"], c["manager"]): c for c in row["caches"]}


def test_bastion_become_and_every_user_in_one_run(
        tmp_path: Path, net: NetnsLab, homes: Dict[str, Path], home: Path,
        pip_cache_master: Tuple[Path, Dict]) -> None:
    caches = {user: give_pip_cache(pip_cache_master[0], homes[user], user) for user in (ANA, BOB)}
    sizes = {user: tree_bytes(cache) for user, cache in caches.items()}
    inv = setup(tmp_path, net, home)
    bastion_logins = net.logins("bastion")

    out = net.run_cachekit(["report", "--hosts", "gpu", "--users", "all", "--managers", "pip",
                    "--format", "json"], home, inv)
    assert out.returncode == 0, out.stderr
    rows = by_host(json.loads(out.stdout))
    for name in ("gpu01", "gpu02"):
        assert rows[name]["status"] == "ok", rows[name]
        served = [u["user"] for u in rows[name]["users"]]
        assert {"root", ANA, BOB} <= set(served), served  # the machine may have more users
        assert OPERATOR in served  # a login user is a user like any other
        found = per_user(rows[name])
        for user in (ANA, BOB):
            assert found[(user, "pip")]["path"] == str(caches[user])
            assert found[(user, "pip")]["bytes"] == sizes[user]
    # both hosts behind the bastion: one login to it (the operator's), shared
    assert net.logins("bastion") == bastion_logins + 1

    # a purge of one user's pip cache, through the same bastion and sudo, as that user
    gone = net.run_cachekit(["purge", "--hosts", "gpu01", "--users", ANA, "--managers", "pip",
                     "--yes", "--format", "json"], home, inv)
    assert gone.returncode == 0, gone.stderr
    removed = by_host(json.loads(gone.stdout))["gpu01"]["removed"]
    assert removed and all(r["user"] == ANA for r in removed)
    assert all(r["path"].startswith(str(caches[ANA]) + "/") for r in removed)
    left = [p for p in caches[ANA].rglob("*") if p.is_file()]
    assert left and not [p for p in left if p.relative_to(caches[ANA]).parts[0] in
                         ("wheels", "http", "http-v2")]  # pip's purge keeps the rest
    assert tree_bytes(caches[BOB]) == sizes[BOB]  # nothing of another user's
    # nothing in the users' homes belongs to root: each user's part ran as that user
    for user in (ANA, BOB, OPERATOR):
        uid = int(subprocess.run(["id", "-u", user], capture_output=True, text=True,
                                 check=True).stdout)
        strays = [p for p in homes[user].rglob("*") if p.lstat().st_uid != uid]
        assert not strays, strays


def test_the_operator_without_become_is_refused_per_host(
        tmp_path: Path, net: NetnsLab, homes: Dict[str, Path], home: Path) -> None:
    inv = setup(tmp_path, net, home)
    out = net.run_cachekit(["report", "--hosts", "gpu01", "--users", "all", "--managers", "pip",
                    "--format", "json"], home, inv)
    doc = yaml.safe_load(inv.read_text())
    doc["all"]["children"]["gpu"]["vars"]["ansible_become"] = False
    inv.write_text(yaml.safe_dump(doc))
    refused = net.run_cachekit(["report", "--hosts", "gpu01", "--users", "all", "--managers", "pip",
                        "--format", "json"], home, inv)
    assert out.returncode == 0, out.stderr
    row = by_host(json.loads(refused.stdout))["gpu01"]
    assert row["status"] == "refused"
    assert row["error"] == (f"--users needs the core to run as root; it runs as {OPERATOR} "
                            "(log in as root, or use become)")

"""Hosts behind a bastion, for real: network namespaces where only the bastion reaches the
targets (tests/fixtures/netns_lab.py), real sshd's, and cachekit run inside the
controller's namespace as a user runs it.

Every case goes through the inventory or ``~/.ssh/config``, as a user writes them; the
bastion's sshd log (LogLevel INFO) says how many times it was logged in to.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set

import pytest
import yaml

from cachekit.errors import EXIT_INTERRUPTED
from tests.fixtures import REPO
from tests.fixtures.fleet import by_host, host_entry
from tests.fixtures.netns_lab import BASTION, DEEP, INNER, TARGETS, NetnsLab, netns_lab
from tests.fixtures.program import cachekit_command, cachekit_env
from tests.fixtures.sshd_lab import copy_tree
from tests.fixtures.terminal import Terminal

pytestmark = [pytest.mark.ssh, pytest.mark.root]

VIA_BASTION = f"-o ProxyJump=root@{BASTION}"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetnsLab]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    with netns_lab(tmp_path_factory.mktemp("netns")) as lab:
        yield lab


@pytest.fixture
def user_ssh(home: Path, net: NetnsLab) -> Path:
    """The test user's ~/.ssh: the lab's client key as their default key, and every
    server's key in known_hosts (each test removes what it must not know)."""
    return net.user_ssh(home, ["bastion", "inner", "deep"])


def inventory(path: Path, hosts: Dict[str, Dict[str, Any]], **group_vars: Any) -> Path:
    path.write_text(yaml.safe_dump({"all": {"vars": {"ansible_user": "root"}, "children": {
        "inner": {"vars": group_vars, "hosts": hosts}}}}))
    return path


def entry(address: str, cache: Path, **extra: Any) -> Dict[str, Any]:
    return host_entry(address, cache, **{"ansible_port": 22, **extra})


def run(net: NetnsLab, args: List[str], home: Path, inv: Path,
        timeout: float = 120) -> "subprocess.CompletedProcess[str]":
    """cachekit inside the controller's namespace, as a user runs it."""
    return net.run_cachekit(args, home, inv, timeout)


def report(net: NetnsLab, home: Path, inv: Path, *extra: str) -> Dict[str, Dict[str, Any]]:
    out = run(net, ["report", "--hosts", "inner", "--format", "json", "--connect-timeout", "5",
                    *extra], home, inv)
    assert out.stdout, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    return by_host(json.loads(out.stdout))


def test_direct_fails_and_proxyjump_from_the_inventory_succeeds(
        tmp_path: Path, net: NetnsLab, home: Path, user_ssh: Path, pip_cache_master) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    inv = inventory(tmp_path / "inv.yml", {
        "direct": entry(TARGETS[0], tmp_path / "none"),
        "jumped": entry(TARGETS[0], cache, ansible_ssh_common_args=VIA_BASTION),
        "extra": entry(TARGETS[1], cache, ansible_ssh_extra_args=f"-J root@{BASTION}",
                       ansible_ssh_pass="never used")})
    rows = report(net, home, inv)
    # what a route cannot honour is a warning on the host's row, never silent
    assert any(w.startswith("ansible_ssh_pass") for w in rows["extra"]["warnings"])
    assert rows["direct"]["status"] == "unreachable"
    assert "network is unreachable" in rows["direct"]["error"]
    for name in ("jumped", "extra"):
        assert rows[name]["status"] == "ok", rows[name]
        assert rows[name]["caches"][0]["path"] == str(cache.resolve())
        assert rows[name]["caches"][0]["wheels"] == 6


def test_proxyjump_from_ssh_config(tmp_path: Path, net: NetnsLab, home: Path, user_ssh: Path,
                                   pip_cache_master) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    key = user_ssh / "lab_key"
    (user_ssh / "id_ed25519").rename(key)  # so that the config must name it
    (user_ssh / "config").write_text(
        f"Host bastion\n    HostName {BASTION}\n    User root\n    IdentityFile {key}\n"
        f"Host 10.201.2.*\n    ProxyJump bastion\n    IdentityFile {key}\n")
    inv = inventory(tmp_path / "inv.yml", {"behind": entry(TARGETS[2], cache)})
    rows = report(net, home, inv)
    assert rows["behind"]["status"] == "ok", rows["behind"]


def test_two_hops(tmp_path: Path, net: NetnsLab, home: Path, user_ssh: Path,
                  pip_cache_master) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    inv = inventory(tmp_path / "inv.yml", {
        "deep": entry(DEEP, cache, ansible_ssh_common_args=f"-J root@{BASTION},root@{INNER}"),
        "one_hop_short": entry(DEEP, cache, ansible_ssh_common_args=VIA_BASTION)})
    before = {role: net.logins(role) for role in ("bastion", "inner", "deep")}
    rows = report(net, home, inv)
    assert rows["deep"]["status"] == "ok", rows["deep"]
    # the bastion cannot reach the deep namespace: the failure says where it stopped
    assert rows["one_hop_short"]["status"] == "unreachable"
    assert "through jump host" in rows["one_hop_short"]["error"]
    assert f"(root@{BASTION}:22): connect failed" in rows["one_hop_short"]["error"]
    after = {role: net.logins(role) for role in before}
    assert {r: after[r] - before[r] for r in after} == {"bastion": 1, "inner": 1, "deep": 1}


def test_a_bastion_with_an_unknown_key_is_named_then_recorded(
        tmp_path: Path, net: NetnsLab, home: Path, user_ssh: Path, pip_cache_master) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    known = net.known_hosts(user_ssh / "known_hosts", ["inner"], targets=True)
    hosts = {f"t{n}": entry(TARGETS[n], cache) for n in range(3)}
    inv = inventory(tmp_path / "inv.yml", hosts, ansible_ssh_common_args=VIA_BASTION)
    rows = report(net, home, inv)
    for name in hosts:
        assert rows[name]["status"] == "hostkey", rows[name]
        assert rows[name]["error"].startswith("jump host "), rows[name]
        assert f"(root@{BASTION}:22): unknown host key" in rows[name]["error"]
    rows = report(net, home, inv, "--accept-new-host-keys")
    assert all(rows[name]["status"] == "ok" for name in hosts), rows
    assert f"{BASTION} {net.server('bastion').public_key}" in known.read_text()
    assert all(row["status"] == "ok" for row in report(net, home, inv).values())


def test_accept_new_in_ssh_config_records_the_bastion_key(
        tmp_path: Path, net: NetnsLab, home: Path, user_ssh: Path) -> None:
    known = net.known_hosts(user_ssh / "known_hosts", ["inner"], targets=True)
    (user_ssh / "config").write_text(f"Host {BASTION}\n    StrictHostKeyChecking accept-new\n")
    inv = inventory(tmp_path / "inv.yml", {"t": entry(TARGETS[6], tmp_path / "none")},
                    ansible_ssh_common_args=VIA_BASTION)
    assert report(net, home, inv)["t"]["status"] == "ok"
    assert f"{BASTION} {net.server('bastion').public_key}" in known.read_text()


def test_a_bastion_that_fails_is_named_in_each_row(tmp_path: Path, net: NetnsLab, home: Path,
                                                   user_ssh: Path) -> None:
    inv = inventory(tmp_path / "inv.yml", {
        "no_route": entry(TARGETS[0], tmp_path / "none",
                          ansible_ssh_common_args=f"-o ProxyJump=root@{INNER}"),
        "refused": entry(TARGETS[1], tmp_path / "none",
                         ansible_ssh_common_args=f"-o ProxyJump=ckjnobody@{BASTION}")})
    rows = report(net, home, inv)
    assert rows["no_route"]["status"] == "unreachable"
    assert rows["no_route"]["error"].startswith("jump host ")
    assert f"(root@{INNER}:22): cannot connect" in rows["no_route"]["error"]
    assert rows["refused"]["status"] == "auth"
    assert rows["refused"]["error"].startswith("jump host ")
    assert f"(ckjnobody@{BASTION}:22): authentication failed" in rows["refused"]["error"]


def test_proxycommand_with_the_openssh_client(tmp_path: Path, net: NetnsLab, home: Path,
                                              user_ssh: Path, pip_cache_master) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    # ssh reads the passwd entry's home, not $HOME: everything it needs is named
    proxy = (f"ssh -F none -i {user_ssh / 'id_ed25519'} -o BatchMode=yes "
             f"-o UserKnownHostsFile={user_ssh / 'known_hosts'} -W %h:%p root@{BASTION}")
    inv = inventory(tmp_path / "inv.yml", {
        "proxied": entry(TARGETS[3], cache,
                         ansible_ssh_common_args=f"-o ProxyCommand='{proxy}'"),
        "refused": entry(TARGETS[4], cache, ansible_ssh_common_args=(
            f"-o ProxyCommand='{proxy.replace('root@', 'ckjnobody@')}'"))})
    rows = report(net, home, inv)
    assert rows["proxied"]["status"] == "ok", rows["proxied"]
    assert rows["refused"]["status"] == "unreachable"
    assert "ProxyCommand exited 255: ckjnobody@" in rows["refused"]["error"]


def test_sixteen_hosts_behind_one_bastion_share_one_session(
        tmp_path: Path, net: NetnsLab, home: Path, user_ssh: Path, pip_cache_master) -> None:
    hosts = {f"b{n:02d}": entry(address, copy_tree(pip_cache_master[0], tmp_path / f"c{n}"))
             for n, address in enumerate(TARGETS)}
    inv = inventory(tmp_path / "inv.yml", hosts, ansible_ssh_common_args=VIA_BASTION)
    before = net.logins("bastion"), net.logins("inner")
    rows = report(net, home, inv, "--workers", "16")
    assert [rows[name]["status"] for name in hosts] == ["ok"] * 16, rows
    assert net.logins("bastion") - before[0] == 1
    assert net.logins("inner") - before[1] == 16


@pytest.fixture(scope="module")
def big_cache_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(REPO / "bench"))
    import make_synthetic_pip_cache as synth

    root = tmp_path_factory.mktemp("bigcache") / "pip"
    synth.generate(str(root), 0.1)  # a purge that takes seconds: time to press Ctrl-C
    return root


def test_ctrl_c_reaches_a_core_behind_a_bastion(tmp_path: Path, net: NetnsLab, home: Path,
                                                user_ssh: Path, big_cache_master: Path) -> None:
    cache = copy_tree(big_cache_master, tmp_path / "cache")
    before = files(cache)
    inv = inventory(tmp_path / "inv.yml", {"far": entry(TARGETS[5], cache)},
                    ansible_ssh_common_args=VIA_BASTION)
    term = Terminal(net.in_controller(cachekit_command(
        ["purge", "--yes", "--format", "json", "--hosts", "far"], inv)), cachekit_env(home))
    seen = term.wait_for(r"removed ([1-9][\d,]*) of ([\d,]+) entries")
    assert seen is not None, term.screen
    term.ctrl_c()
    out = term.finish()
    assert out.returncode == EXIT_INTERRUPTED, out.stderr
    host = json.loads(out.stdout)["hosts"][0]
    gone = before - files(cache)
    assert host["status"] == "interrupted", host  # the core heard Ctrl-C and answered
    assert 0 < len(gone) < int(seen.group(2).replace(",", ""))
    assert sum(r["files"] for r in host["removed"] if r.get("ok")) == len(gone)


def files(root: Path) -> Set[str]:
    return {os.path.join(here, name) for here, _dirs, names in os.walk(root) for name in names}

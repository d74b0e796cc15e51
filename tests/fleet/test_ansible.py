"""The collection cachekit.caches with the real ansible-core, against real sshd servers on
loopback: the same inventory for Ansible and for cachekit, and cachekit's own runs as the
oracle (the same hosts, or an identical copy of the same cache).
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from tests.fixtures.ansible_lab import AnsibleLab, build_collection, files_under, tree_results
from tests.fixtures.fleet import by_host
from tests.fixtures.program import cachekit_command
from tests.fixtures.sshd_lab import SshLab, free_port_address
from tests.fixtures.unix_users import users

pytestmark = [pytest.mark.ssh]

HOSTS = {"ckans1": "127.0.0.181", "ckans2": "127.0.0.182"}
BECOME_ADDRESS = "127.0.0.184"
DAY = 86400
POLICY = {"older_than": "30d", "keep": ["zope*"]}  # the group's cachekit_policy


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_collection(tmp_path_factory.mktemp("ckans-collections"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshLab]:
    lab = SshLab(tmp_path_factory.mktemp("ckanslab"))
    try:
        for name, address in HOSTS.items():
            lab.start(name, address)
        yield lab
    finally:
        lab.stop_all()


@pytest.fixture
def ansible(tmp_path: Path, lab: SshLab, collections: Path, home: Path) -> AnsibleLab:
    return AnsibleLab(tmp_path, lab, collections, home)


def aged_copy(master: Path, dest: Path) -> Path:
    """A copy of the pip cache whose built wheels were last used 90 days ago (the HTTP
    cache stays fresh), times kept by the copy."""
    shutil.copytree(master, dest, symlinks=True)
    old = time.time() - 90 * DAY
    for folder, _dirs, files in os.walk(dest / "wheels"):
        for name in files:
            os.utime(Path(folder) / name, (old, old), follow_symlinks=False)
    return dest


def host_vars(tmp_path: Path, cache: Path) -> Dict[str, Any]:
    """A host whose pip cache is ``cache``; the core's copy goes beside it."""
    return {"cachekit_env": {"PIP_CACHE_DIR": str(cache),
                             "XDG_CACHE_HOME": str(tmp_path / f"{cache.name}.xdg")}}


def cachekit(args: List[str], ansible: AnsibleLab, inventory: Path
             ) -> subprocess.CompletedProcess:
    return subprocess.run(cachekit_command(args, inventory), env=ansible.env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=300)


def comparable(host: Dict[str, Any]) -> Dict[str, Any]:
    """What two runs of the same request on the same host share (not timings, not the
    free space other tests change, not where the core was run from)."""
    caches = [{k: v for k, v in c.items() if k not in ("elapsed_s",)}
              for c in host.get("caches", [])]
    return {"status": host["status"], "caches": caches,
            "disk_total": (host.get("disk") or {}).get("total_bytes")}


def test_adhoc_info_renders_as_cachekits_own_report(tmp_path: Path, ansible: AnsibleLab,
                                                     pip_cache: Path) -> None:
    """ansible -m cachekit.caches.info --tree DIR, then report --from-ansible DIR: the same
    rows as cachekit report over SSH; a host Ansible cannot reach is a failed row."""
    dead = free_port_address(185)
    inv = ansible.inventory({"ckans1": host_vars(tmp_path, pip_cache),
                             "ckans2": host_vars(tmp_path, pip_cache),
                             "ckansdead": {"address": dead}})
    tree = tmp_path / "tree"
    done = ansible.adhoc("lab", "cachekit.caches.info", "environ={{ cachekit_env | default({}) }}",
                         inv, tree)
    assert done.returncode == 4, done.stdout + done.stderr  # Ansible: a host was unreachable
    results = tree_results(tree)
    assert results["ckans1"]["changed"] is False
    assert results["ckansdead"]["unreachable"] is True

    theirs = cachekit(["report", "--from-ansible", str(tree), "--format", "json"], ansible, inv)
    ours = cachekit(["report", "--hosts", "lab", "--format", "json"], ansible, inv)
    assert theirs.returncode == ours.returncode == 2, theirs.stderr + ours.stderr
    a, b = by_host(json.loads(theirs.stdout)), by_host(json.loads(ours.stdout))
    assert sorted(a) == sorted(b) == ["ckans1", "ckans2", "ckansdead"]
    for name in ("ckans1", "ckans2"):
        assert comparable(a[name]) == comparable(b[name])
        assert a[name]["caches"][0]["bytes"] > 0
    assert a["ckansdead"]["status"] == b["ckansdead"]["status"] == "unreachable"
    assert "Ansible could not reach the host" in a["ckansdead"]["error"]
    assert json.loads(theirs.stdout)["totals"] == json.loads(ours.stdout)["totals"]

    table = cachekit(["report", "--from-ansible", str(tree)], ansible, inv)
    assert table.returncode == 2
    assert "ckansdead" in table.stdout and "unreachable" in table.stdout


def removed_paths(rows: List[Dict[str, Any]], root: Path) -> List[str]:
    return sorted(str(Path(r["path"]).relative_to(root)) for r in rows)


def test_prune_playbook_plans_as_dry_run_removes_as_cachekit_and_then_nothing(
        tmp_path: Path, ansible: AnsibleLab, pip_cache: Path) -> None:
    """The group's cachekit_policy in a playbook: check mode is `cachekit prune --dry-run`
    on the same host (nothing removed); the real run removes what cachekit's own run
    removes from an identical copy; a second run changes nothing."""
    mine = aged_copy(pip_cache, tmp_path / "mine")
    twin = aged_copy(pip_cache, tmp_path / "twin")
    inv = ansible.inventory({"ckans1": host_vars(tmp_path, mine),
                             "ckans2": host_vars(tmp_path, twin)},
                            group_vars={"cachekit_policy": POLICY})
    play = [{"hosts": "ckans1", "gather_facts": False, "tasks": [{
        "name": "Prune the package caches by the group's policy",
        "cachekit.caches.prune": {"policy": "{{ cachekit_policy }}",
                                  "environ": "{{ cachekit_env }}", "managers": ["pip"]}}]}]
    before = files_under(mine)

    dry = cachekit(["prune", "--dry-run", "--hosts", "ckans1", "--managers", "pip",
                    "--format", "json"], ansible, inv)
    assert dry.returncode == 0, dry.stderr
    expected = by_host(json.loads(dry.stdout))["ckans1"]["removed"]
    assert expected, "the policy selects nothing: the test would prove nothing"

    checked = ansible.playbook(play, inv, tmp_path / "check", "--check", "--diff")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = tree_results(tmp_path / "check")["ckans1"]
    assert result["plan"] == expected
    assert result["changed"] is True and result["removed"] == []  # would change; did not
    assert files_under(mine) == before
    assert "/wheels/" in checked.stdout  # --diff shows the paths that go

    theirs = cachekit(["prune", "--yes", "--hosts", "ckans2", "--managers", "pip",
                       "--format", "json"], ansible, inv)
    assert theirs.returncode == 0, theirs.stderr
    gone = [r for r in by_host(json.loads(theirs.stdout))["ckans2"]["removed"] if r.get("ok")]
    done = ansible.playbook(play, inv, tmp_path / "real")
    assert done.returncode == 0, done.stdout + done.stderr
    result = tree_results(tmp_path / "real")["ckans1"]
    assert result["changed"] is True
    assert sorted(result["removed"]) == sorted(r["path"] for r in result["cachekit"]["removed"]
                                               if r.get("ok"))
    assert [str(Path(p).relative_to(mine)) for p in sorted(result["removed"])] == \
        removed_paths(gone, twin)
    assert files_under(mine) == files_under(twin) != before
    assert result["reclaimed_bytes"] == by_host(json.loads(theirs.stdout))["ckans2"][
        "reclaimed_bytes"]

    again = ansible.playbook(play, inv, tmp_path / "again")
    assert again.returncode == 0, again.stdout + again.stderr
    result = tree_results(tmp_path / "again")["ckans1"]
    assert result["changed"] is False and result["removed"] == [] and result["plan"] == []
    assert "changed=0" in again.stdout


def test_bad_arguments_and_refusals_fail_before_anything_runs(
        tmp_path: Path, ansible: AnsibleLab, pip_cache: Path) -> None:
    """A bad duration fails in the argument spec with cachekit's words; a refusal of the
    core is the module's failure with its one-line reason; nothing is touched."""
    inv = ansible.inventory({"ckans1": host_vars(tmp_path, pip_cache)})
    before = files_under(pip_cache)
    bad = ansible.adhoc("ckans1", "cachekit.caches.prune",
                        {"older_than": "30x", "environ": {"PIP_CACHE_DIR": str(pip_cache)}},
                        inv, tmp_path / "bad")
    assert bad.returncode == 2, bad.stdout + bad.stderr
    msg = tree_results(tmp_path / "bad")["ckans1"]["msg"]
    assert msg.endswith("older_than '30x' is not a duration (use a number and a unit: 12h, "
                        "30d, 2w (s, m, h, d, w))"), msg

    refused = ansible.adhoc("ckans1", "cachekit.caches.purge",
                            {"environ": {"PIP_CACHE_DIR": str(ansible.home)},
                             "managers": ["pip"]}, inv, tmp_path / "refused")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    result = tree_results(tmp_path / "refused")["ckans1"]
    assert result["msg"].startswith("cachekit purge: "), result["msg"]
    assert "\n" not in result["msg"] and result["cachekit"]["status"] in ("refused", "failed")
    assert files_under(pip_cache) == before


@pytest.fixture(scope="module")
def become_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshLab]:
    """A host where the user ckansops logs in, and may sudo to root without a password."""
    if os.geteuid() != 0:
        pytest.skip("needs root: makes a Unix user and a sudoers rule")
    keys = Path(tempfile.mkdtemp(prefix="ckans-keys-"))  # readable by the user
    keys.chmod(0o755)
    with users({"ckansops": None}, ["ckansops ALL=(ALL:ALL) NOPASSWD: ALL"], prefix="ckans"):
        lab = SshLab(tmp_path_factory.mktemp("ckansbecome"), user_keys=keys)
        try:
            lab.allow_login("ckansops")
            lab.start("ckansbecome", BECOME_ADDRESS)
            yield lab
        finally:
            lab.stop_all()
            shutil.rmtree(keys, ignore_errors=True)


@pytest.mark.root
def test_become_purges_a_root_owned_cache(tmp_path: Path, become_lab: SshLab,
                                          collections: Path, home: Path,
                                          pip_cache: Path) -> None:
    """The login user cannot reach root's cache (under root's 0700 test directory): the
    module changes nothing; with become (real sudo) it purges it."""
    assert pip_cache.stat().st_uid == 0
    ansible = AnsibleLab(tmp_path, become_lab, collections, home)
    inv = ansible.inventory({"ckansbecome": {"ansible_user": "ckansops"}})
    args = {"managers": ["pip"], "environ": {"PIP_CACHE_DIR": str(pip_cache),
                                             "XDG_CACHE_HOME": str(tmp_path / "xdg")}}
    assert list(pip_cache.rglob("*.whl"))

    plain = ansible.adhoc("ckansbecome", "cachekit.caches.purge", args, inv, tmp_path / "plain")
    result = tree_results(tmp_path / "plain")["ckansbecome"]
    assert result.get("changed") is False, plain.stdout + plain.stderr
    assert list(pip_cache.rglob("*.whl"))

    done = ansible.adhoc("ckansbecome", "cachekit.caches.purge", args, inv, tmp_path / "root",
                         "--become")
    assert done.returncode == 0, done.stdout + done.stderr
    result = tree_results(tmp_path / "root")["ckansbecome"]
    assert result["changed"] is True and result["reclaimed_bytes"] > 0
    assert result["cachekit"]["status"] == "ok"
    assert not list(pip_cache.rglob("*.whl"))

"""Fleets against real OpenSSH servers on loopback: healthy hosts, and every way one fails.

These tests never skip: if sshd cannot start, they fail (the test command installs it).
"""

import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Dict

import pytest

from cachekit.core import agent
from tests.fixtures.disk import tree_of
from tests.fixtures.fleet import by_host, fake_python, host_entry, write_inventory
from tests.fixtures.program import start_cachekit
from tests.fixtures.sshd_lab import PORT, SshLab, copy_tree, free_port_address

pytestmark = pytest.mark.ssh  # every test here talks to a real sshd

HEALTHY = {"h1": "127.0.0.11", "h2": "127.0.0.12", "h3": "127.0.0.13", "h4": "127.0.0.14"}


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory):
    lab = SshLab(tmp_path_factory.mktemp("sshlab"))
    try:
        for name, address in HEALTHY.items():
            lab.start(name, address)
        lab.start("stranger", "127.0.0.15")
        lab.start("changed", "127.0.0.16")
        yield lab
    finally:
        lab.stop_all()


def healthy_fleet(tmp_path: Path, lab: SshLab, home: Path, master: Path) -> Dict[str, Any]:
    hosts, caches = {}, {}
    for name, address in HEALTHY.items():
        caches[name] = copy_tree(master, tmp_path / "caches" / name)
        hosts[name] = host_entry(address, caches[name])
    lab.write_known_hosts(home, list(HEALTHY) + ["changed"])
    return {"hosts": hosts, "caches": caches}


def fleet_with_a_hanging_host(tmp_path: Path, lab: SshLab, home: Path, master: Path) -> Path:
    """The healthy hosts plus ``slow``, whose python never answers."""
    fleet = healthy_fleet(tmp_path, lab, home, master)
    sleeper = fake_python(tmp_path / "sleepy-python", "sleep 60\n")
    hosts = dict(fleet["hosts"], slow=host_entry(HEALTHY["h2"], tmp_path / "none",
                                                 ansible_python_interpreter=str(sleeper)))
    return write_inventory(tmp_path / "inv.yml", lab, hosts)


def test_report_rows_for_healthy_and_broken_hosts(tmp_path: Path, lab: SshLab, home: Path,
                                                  pip_cache_master, run_cachekit) -> None:
    fleet = healthy_fleet(tmp_path, lab, home, pip_cache_master[0])
    hosts = dict(fleet["hosts"])
    hosts["dead"] = host_entry(free_port_address(), tmp_path / "none")
    hosts["stranger"] = host_entry("127.0.0.15", tmp_path / "none")
    hosts["nopython"] = host_entry(HEALTHY["h1"], tmp_path / "none",
                                   ansible_python_interpreter="/nonexistent/python3")
    # known_hosts holds an old key for "changed": write it, then give the server a new one
    lab.kill("changed")
    lab.new_host_key("changed")
    lab.start("changed", "127.0.0.16")
    hosts["changed"] = host_entry("127.0.0.16", tmp_path / "none")
    inv = write_inventory(tmp_path / "inv.yml", lab, hosts)

    out = run_cachekit(["report", "--hosts", "lab", "--format", "json", "--connect-timeout", "3"],
                       inventory=inv)
    assert out.returncode == 2, out.stderr
    rows = by_host(json.loads(out.stdout))
    for name in HEALTHY:
        assert rows[name]["status"] == "ok", rows[name]
        cache = rows[name]["caches"][0]
        assert cache["path"] == str(fleet["caches"][name].resolve()) and cache["wheels"] == 6
    assert rows["dead"]["status"] == "unreachable"
    assert rows["stranger"]["status"] == "hostkey" and "unknown" in rows["stranger"]["error"]
    assert rows["changed"]["status"] == "hostkey" and "CHANGED" in rows["changed"]["error"]
    assert rows["nopython"]["status"] == "failed"
    assert "no usable python" in rows["nopython"]["error"]
    assert rows["nopython"]["stderr_tail"]
    table = run_cachekit(["report", "--hosts", "lab", "--connect-timeout", "3"], inventory=inv)
    assert table.returncode == 2
    for name in [*HEALTHY, "dead", "stranger", "changed", "nopython"]:
        assert name in table.stdout


def test_remote_figures_equal_local_ones(tmp_path: Path, lab: SshLab, home: Path,
                                         pip_cache_master, run_cachekit) -> None:
    fleet = healthy_fleet(tmp_path, lab, home, pip_cache_master[0])
    inv = write_inventory(tmp_path / "inv.yml", lab, {"h1": fleet["hosts"]["h1"]})
    out = run_cachekit(["info", "--hosts", "h1", "--format", "json"], inventory=inv)
    assert out.returncode == 0, out.stderr
    theirs = json.loads(out.stdout)["hosts"][0]["caches"][0]
    os.environ["PIP_CACHE_DIR"] = str(fleet["caches"]["h1"])
    try:
        ours = agent.run({"op": "info"})["caches"][0]
    finally:
        del os.environ["PIP_CACHE_DIR"]
    for key in ("bytes", "files", "disk_bytes", "wheels", "http_files", "http_bytes"):
        assert theirs[key] == ours[key], key


def test_a_hanging_host_times_out_and_the_rest_finish(tmp_path: Path, lab: SshLab, home: Path,
                                                      pip_cache_master, run_cachekit) -> None:
    inv = fleet_with_a_hanging_host(tmp_path, lab, home, pip_cache_master[0])
    # The timeout comes from the work: three times what the healthy hosts take on this
    # machine now, however busy it is; the hanging host's 60 s outlast it.
    started = time.monotonic()
    healthy = run_cachekit(["report", "--hosts", "lab:!slow", "--format", "json"], inventory=inv)
    assert healthy.returncode == 0, healthy.stderr
    limit = max(2.0, 3 * (time.monotonic() - started))
    assert limit < 45, f"the healthy hosts alone took {limit / 3:.1f} s"
    started = time.monotonic()
    out = run_cachekit(["report", "--hosts", "lab", "--format", "json", "--timeout",
                        f"{limit:.1f}"], inventory=inv)
    assert time.monotonic() - started < limit + 15  # not held for the sleeper's 60 s
    rows = by_host(json.loads(out.stdout))
    assert out.returncode == 2
    assert rows["slow"]["status"] == "timeout"
    assert all(rows[n]["status"] == "ok" for n in HEALTHY)


def test_a_host_killed_mid_run_fails_alone(tmp_path: Path, lab: SshLab, home: Path,
                                          pip_cache_master) -> None:
    fleet = healthy_fleet(tmp_path, lab, home, pip_cache_master[0])
    lab.start("victim", "127.0.0.17")
    lab.write_known_hosts(home, [*HEALTHY, "victim"])
    slow_start = fake_python(tmp_path / "slow-python", f"sleep 3\nexec {sys.executable} \"$@\"\n")
    hosts = dict(fleet["hosts"], victim=host_entry("127.0.0.17", tmp_path / "none",
                                                   ansible_python_interpreter=str(slow_start)))
    inv = write_inventory(tmp_path / "inv.yml", lab, hosts)
    proc = start_cachekit(["report", "--hosts", "lab", "--format", "json"], home=home,
                          inventory=inv)
    time.sleep(1.5)
    lab.kill("victim")
    out, err = proc.communicate(timeout=60)
    rows = by_host(json.loads(out))
    assert proc.returncode == 2, err
    assert rows["victim"]["status"] in ("failed", "unreachable"), rows["victim"]
    assert all(rows[n]["status"] == "ok" for n in HEALTHY)


def test_purge_across_hosts_touches_only_hosts_that_planned(tmp_path: Path, lab: SshLab, home: Path,
                                                            pip_cache_master, run_cachekit) -> None:
    fleet = healthy_fleet(tmp_path, lab, home, pip_cache_master[0])
    untouched = copy_tree(pip_cache_master[0], tmp_path / "caches" / "stranger")
    before = tree_of(untouched)
    hosts = {"h1": fleet["hosts"]["h1"], "h2": fleet["hosts"]["h2"],
             "dead": host_entry(free_port_address(), tmp_path / "none"),
             "stranger": host_entry("127.0.0.15", untouched)}
    inv = write_inventory(tmp_path / "inv.yml", lab, hosts)
    dry = run_cachekit(["purge", "--hosts", "lab", "--dry-run", "--format", "json",
                        "--connect-timeout", "3"], inventory=inv)
    assert dry.returncode == 2 and (fleet["caches"]["h1"] / "wheels").exists()
    out = run_cachekit(["purge", "--hosts", "lab", "--yes", "--format", "json", "--connect-timeout",
                        "3"], inventory=inv)
    assert out.returncode == 2, out.stderr
    rows = by_host(json.loads(out.stdout))
    for name in ("h1", "h2"):
        assert rows[name]["status"] == "ok" and rows[name]["reclaimed_bytes"] > 0
        assert not (fleet["caches"][name] / "wheels").exists()
        assert (fleet["caches"][name] / "selfcheck").exists()
    assert rows["dead"]["status"] == "unreachable" and rows["stranger"]["status"] == "hostkey"
    assert tree_of(untouched) == before
    assert (fleet["caches"]["h3"] / "wheels").exists()  # not selected, not touched


def test_accept_new_host_keys_records_new_and_refuses_changed(tmp_path: Path, lab: SshLab,
                                                              home: Path, pip_cache_master,
                                                              run_cachekit) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "c")
    known = lab.write_known_hosts(home, ["h1"])
    inv = write_inventory(tmp_path / "inv.yml", lab,
                          {"stranger": host_entry("127.0.0.15", cache)})
    refused = run_cachekit(["info", "--hosts", "stranger"], inventory=inv)
    assert refused.returncode == 2 and "unknown host key" in refused.stderr
    accepted = run_cachekit(["info", "--hosts", "stranger", "--accept-new-host-keys"],
                            inventory=inv)
    assert accepted.returncode == 0, accepted.stderr
    assert f"[127.0.0.15]:{PORT}" in known.read_text()
    again = run_cachekit(["info", "--hosts", "stranger"],
                         inventory=inv)  # now known: no flag needed
    assert again.returncode == 0, again.stderr
    known.write_text(known.read_text().replace(lab.hosts["stranger"].public_key.split()[1],
                                               lab.hosts["h1"].public_key.split()[1]))
    changed = run_cachekit(["info", "--hosts", "stranger", "--accept-new-host-keys"], inventory=inv)
    assert changed.returncode == 2 and "CHANGED" in changed.stderr


def test_awkward_paths_and_interpreters_are_quoted(tmp_path: Path, lab: SshLab, home: Path,
                                                   pip_cache_master, run_cachekit) -> None:
    odd = tmp_path / "we ird 'q\" $HOME; true"
    odd.mkdir()
    cache = copy_tree(pip_cache_master[0], odd / "pip cache $x;y")
    python = odd / "py thon"
    python.symlink_to(sys.executable)
    lab.write_known_hosts(home, ["h1"])
    # The interpreter is a command, as Ansible takes it: a path with spaces is quoted in it.
    inv = write_inventory(tmp_path / "inv.yml", lab, {
        "h1": host_entry(HEALTHY["h1"], cache,
                         ansible_python_interpreter=shlex.quote(str(python)))})
    out = run_cachekit(["info", "--hosts", "h1", "--format", "json"], inventory=inv)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)["hosts"][0]["caches"][0]
    assert got["path"] == str(cache.resolve()) and got["wheels"] == 6


def test_mixed_local_and_remote(tmp_path: Path, lab: SshLab, home: Path,
                                pip_cache_master, run_cachekit) -> None:
    fleet = healthy_fleet(tmp_path, lab, home, pip_cache_master[0])
    local_cache = copy_tree(pip_cache_master[0], tmp_path / "local-cache")
    hosts = {"h1": fleet["hosts"]["h1"],
             "local": {"cachekit_env": {"PIP_CACHE_DIR": str(local_cache)}}}
    inv = write_inventory(tmp_path / "inv.yml", lab, hosts)
    out = run_cachekit(["report", "--hosts", "lab", "--format", "json"], inventory=inv)
    assert out.returncode == 0, out.stderr
    rows = by_host(json.loads(out.stdout))
    assert rows["local"]["caches"][0]["path"] == str(local_cache.resolve())
    assert rows["h1"]["caches"][0]["bytes"] == rows["local"]["caches"][0]["bytes"]


def test_a_key_the_server_does_not_accept_is_an_auth_failure(tmp_path: Path, lab: SshLab,
                                                             home: Path, run_cachekit) -> None:
    from tests.fixtures.sshd_lab import keygen

    keygen(tmp_path / "wrong_key")
    lab.write_known_hosts(home, ["h1"])
    inv = write_inventory(tmp_path / "inv.yml", lab, {
        "h1": host_entry(HEALTHY["h1"], tmp_path / "none",
                         ansible_ssh_private_key_file=str(tmp_path / "wrong_key"))})
    out = run_cachekit(["report", "--hosts", "h1", "--format", "json"], inventory=inv)
    assert out.returncode == 2
    row = json.loads(out.stdout)["hosts"][0]
    assert row["status"] == "auth" and "authentication failed" in row["error"]


def test_ctrl_c_stops_and_names_the_hosts_that_finished(tmp_path: Path, lab: SshLab,
                                                        home: Path, pip_cache_master) -> None:
    import signal

    inv = fleet_with_a_hanging_host(tmp_path, lab, home, pip_cache_master[0])
    proc = start_cachekit(["report", "--hosts", "lab"], home=home, inventory=inv)
    time.sleep(3)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert proc.returncode == 130, err
    assert "interrupted" in err and "not finished: slow" in err and "h1" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("script,needle", [
    ("cat >/dev/null\nexit 0\n", "an empty result"),
    ("cat >/dev/null\nprintf '{\"schema\": 1, \"status\": \"ok\", \"ca'\n", "truncated"),
])
def test_an_empty_or_truncated_result_is_a_failure(tmp_path: Path, lab: SshLab, home: Path,
                                                   script: str, needle: str, run_cachekit) -> None:
    fake = fake_python(tmp_path / "fake-python", script)
    lab.write_known_hosts(home, ["h1"])
    inv = write_inventory(tmp_path / "inv.yml", lab, {
        "h1": host_entry(HEALTHY["h1"], tmp_path / "none", ansible_python_interpreter=str(fake))})
    out = run_cachekit(["report", "--hosts", "h1", "--format", "json"], inventory=inv)
    assert out.returncode == 2
    row = json.loads(out.stdout)["hosts"][0]
    assert row["status"] == "failed" and needle in row["error"]


def test_the_core_is_kept_on_the_host_and_reused(tmp_path: Path, lab: SshLab, home: Path,
                                                 pip_cache_master, run_cachekit) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "c")
    lab.write_known_hosts(home, ["h1"])
    entry = host_entry(HEALTHY["h1"], cache)
    xdg = Path(entry["cachekit_env"]["XDG_CACHE_HOME"])
    inv = write_inventory(tmp_path / "inv.yml", lab, {"h1": entry})
    first = json.loads(run_cachekit(["info", "--hosts", "h1", "--format", "json"],
                                    inventory=inv).stdout)
    copy = first["hosts"][0]["core_copy"]
    assert copy and Path(copy).parent == xdg / "cachekit" and (Path(copy) / "COMPLETE").exists()
    stale = xdg / "cachekit" / "core-0123456789abcdef"
    stale.mkdir()
    again = json.loads(run_cachekit(["info", "--hosts", "h1", "--format", "json"],
                                    inventory=inv).stdout)
    assert again["hosts"][0]["core_copy"] == copy and again["hosts"][0]["caches"][0]["wheels"] == 6
    (xdg / "cachekit" / "not-ours").mkdir()
    # a copy is only written when missing, so the stale one goes with the next new version
    assert stale.exists() and (xdg / "cachekit" / "not-ours").exists()
    # Where nothing can be written the core still runs, from memory.
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    entry["cachekit_env"]["XDG_CACHE_HOME"] = str(blocked)
    inv = write_inventory(tmp_path / "inv.yml", lab, {"h1": entry})
    out = json.loads(run_cachekit(["info", "--hosts", "h1", "--format", "json"],
                                  inventory=inv).stdout)
    assert out["hosts"][0]["core_copy"] is None and out["hosts"][0]["status"] == "ok"


def test_user_known_hosts_file_from_ssh_config(tmp_path: Path, lab: SshLab, home: Path,
                                               pip_cache_master, run_cachekit) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "c")
    inv = write_inventory(tmp_path / "inv.yml", lab, {"h1": host_entry(HEALTHY["h1"], cache)})
    elsewhere = home / "keys" / "known"
    elsewhere.parent.mkdir()
    elsewhere.write_text(lab.hosts["h1"].known_hosts_line() + "\n")
    refused = run_cachekit(["info", "--hosts", "h1"], inventory=inv)
    assert refused.returncode == 2 and "unknown host key" in refused.stderr
    (home / ".ssh").mkdir(exist_ok=True)
    (home / ".ssh" / "config").write_text(
        f"Host {HEALTHY['h1']}\n    UserKnownHostsFile ~/keys/known\n")
    out = run_cachekit(["info", "--hosts", "h1"], inventory=inv)
    assert out.returncode == 0, out.stderr


def test_a_removal_cut_off_midway_reports_what_was_removed(tmp_path: Path, lab: SshLab,
                                                           home: Path,
                                                           pip_cache_master, run_cachekit) -> None:
    """The apply run's output is cut after 800 bytes (a purge reports each swept
    subdirectory), as a dropped connection cuts it."""
    cache = copy_tree(pip_cache_master[0], tmp_path / "c")
    runs = tmp_path / "runs"
    cut = fake_python(tmp_path / "cut-python", (
        f'n=$(cat {runs} 2>/dev/null || echo 0); echo $((n + 1)) > {runs}\n'
        f'[ "$n" = 0 ] && exec {sys.executable} "$@"\n'  # the plan passes untouched
        f'{sys.executable} "$@" | head -c 800\n'))
    lab.write_known_hosts(home, ["h1"])
    inv = write_inventory(tmp_path / "inv.yml", lab, {
        "h1": host_entry(HEALTHY["h1"], cache, ansible_python_interpreter=str(cut))})
    out = run_cachekit(["purge", "--hosts", "h1", "--yes", "--format", "json"], inventory=inv)
    assert out.returncode == 2, out.stderr
    row = json.loads(out.stdout)["hosts"][0]
    assert row["status"] == "failed" and "broke off during removal" in row["error"]
    removed = {Path(r["path"]) for r in row["removed"]}
    assert removed and all(r["ok"] for r in row["removed"])
    assert not any(p.exists() for p in removed)
    # How many files the core removed before a write failed is a race with head exiting,
    # and lines in the pipe when head exits are lost: the row is a lower bound ("the rest
    # may remain"), so only what it reports is checked.


def test_conda_clean_over_ssh_matches_the_local_plan(tmp_path: Path, lab: SshLab, home: Path,
                                                     conda, pip_cache_master, run_cachekit) -> None:
    """The whole conda core (YAML reader, walks, forked workers) travels and runs remotely."""
    from tests.fixtures.conda_cache import snapshot

    fleet = healthy_fleet(tmp_path, lab, home, pip_cache_master[0])
    entry = fleet["hosts"]["h2"]
    entry["cachekit_env"].update(CONDA_PKGS_DIRS=conda.environ["CONDA_PKGS_DIRS"],
                                 CONDA_ROOT_PREFIX=conda.environ["CONDA_ROOT_PREFIX"])
    inv = write_inventory(tmp_path / "inv.yml", lab, {"h2": entry})
    local = agent.run({"op": "clean", "managers": ["conda"], "flags": ["all"],
                       "environ": conda.environ})
    dry = run_cachekit(["clean", "--all", "--dry-run", "--hosts", "h2", "--format", "json"],
                       inventory=inv)
    assert dry.returncode == 0, dry.stderr
    remote = json.loads(dry.stdout)["hosts"][0]
    assert sorted(r["path"] for r in remote["removed"]) == sorted(
        r["path"] for r in local["removed"])
    assert remote["kept"] == local["kept"]
    before = snapshot(conda.env_files)
    done = run_cachekit(["clean", "--all", "--yes", "--hosts", "h2", "--format", "json"],
                        inventory=inv)
    assert done.returncode == 0, done.stderr
    assert all(r["ok"] for r in json.loads(done.stdout)["hosts"][0]["removed"])
    assert not (conda.pkgs / "delta-3.1-h2_1").exists()
    assert snapshot(conda.env_files) == before


def test_locations_and_relocate_across_hosts(tmp_path: Path, lab: SshLab, home: Path,
                                             pip_cache_master, run_cachekit) -> None:
    """One row per host and manager; relocate writes each host's own config file."""
    fleet = healthy_fleet(tmp_path, lab, home, pip_cache_master[0])
    hosts = {}
    for name in ("h3", "h4"):
        entry = fleet["hosts"][name]
        host_home = tmp_path / f"{name}-home"
        host_home.mkdir()
        entry["cachekit_env"] = {"HOME": str(host_home),
                                 "XDG_CACHE_HOME": entry["cachekit_env"]["XDG_CACHE_HOME"]}
        hosts[name] = entry
    inv = write_inventory(tmp_path / "inv.yml", lab, hosts)
    table = run_cachekit(["locations", "--hosts", "lab", "--managers", "pip,uv"], inventory=inv)
    assert table.returncode == 0, table.stderr
    rows = [line.split() for line in table.stdout.splitlines()[2:6]]
    assert [(r[0], r[1]) for r in rows] == [("h3", "pip"), ("h3", "uv"), ("h4", "pip"),
                                            ("h4", "uv")]
    moved = run_cachekit(["relocate", "--hosts", "lab", "--managers", "pip", "--to",
                          str(tmp_path / "new-pip"), "--yes"], inventory=inv)
    assert moved.returncode == 0, moved.stderr
    for name in ("h3", "h4"):
        conf = tmp_path / f"{name}-home/.config/pip/pip.conf"
        assert conf.read_text() == f"[global]\ncache-dir = {tmp_path / 'new-pip'}\n"

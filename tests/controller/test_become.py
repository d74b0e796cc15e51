"""Become settings as Ansible resolves them, and the sudo command line (real sudo, real
users and sshd: tests/fleet/test_become.py)."""

import json
import shlex
from pathlib import Path

import pytest
import yaml

from cachekit import become
from cachekit.inventory import Host
from cachekit.protocol import HostFailure

ON = become.Escalation(become=True)


def settings(options: become.Escalation = ON, **host_vars: object) -> become.Become:
    found = become.for_host(Host("h", dict(host_vars)), options)
    assert found is not None
    return found


def test_defaults_are_ansibles() -> None:
    b = settings()
    assert (b.user, b.method, b.flags, b.exe) == ("root", "sudo", "-H -S -n", "sudo")
    assert become.for_host(Host("h", {}), become.Escalation()) is None  # off by default


@pytest.mark.parametrize("value, enabled", [(True, True), ("yes", True), ("1", True),
                                            (False, False), ("no", False), ("off", False)])
def test_the_inventory_beats_the_command_line(value: object, enabled: bool) -> None:
    """As in Ansible, a host's variables win over --become and --become-user (only
    extra-vars, which cachekit has not, would beat them)."""
    for flag in (True, False):
        found = become.for_host(Host("h", {"ansible_become": value}),
                                become.Escalation(become=flag, user="cli"))
        assert (found is not None) == enabled
    b = settings(become.Escalation(True, "cli"), ansible_become_user="inv")
    assert b.user == "inv" and b.sources["user"] == "ansible_become_user"
    assert settings(become.Escalation(True, "cli")).user == "cli"
    assert settings(ansible_sudo_user="old").user == "old"  # the older spelling


def test_bad_settings_are_the_hosts_become_failure() -> None:
    with pytest.raises(HostFailure) as bad:
        settings(ansible_become_method="su")
    assert bad.value.status == "become" and "unsupported become method 'su'" in bad.value.reason
    with pytest.raises(HostFailure, match="not a boolean"):
        become.for_host(Host("h", {"ansible_become": "maybe"}), ON)
    with pytest.raises(HostFailure, match="does not split"):
        settings(ansible_become_flags="-H 'unclosed")


def test_an_inventory_password_is_named_and_never_used() -> None:
    host = Host("h", {"ansible_become_pass": "hunter2", "ansible_become": True})
    assert "ansible_become_pass in the inventory is not used" in become.warnings(host)[0]
    shake = become.Handshake(become.for_host(host, become.Escalation()), None)
    assert "hunter2" not in shake.command("python3 -c pass")


def test_the_command_line_never_holds_the_password() -> None:
    shake = become.Handshake(settings(ansible_become_user="ci runner"), "s3cret -n")
    words = shlex.split(shake.command("exec python3 -c 'print(1)'"))
    assert "s3cret" not in " ".join(words)
    # with a password, sudo may ask: -n goes, as Ansible drops it; our prompt is set
    assert words[:7] == ["sudo", "-H", "-S", "-p", shake.prompt, "-u", "ci runner"]
    assert words[7:9] == ["/bin/sh", "-c"]
    assert words[9] == f"echo {shake.marker}; exec python3 -c 'print(1)'"
    no_password = shlex.split(become.Handshake(settings(), None).command("true"))
    assert no_password[:4] == ["sudo", "-H", "-S", "-n"]


def test_the_handshake_answers_once_and_hands_over_at_the_marker() -> None:
    shake = become.Handshake(settings(), "pw")
    out = bytearray()
    assert shake.step(out, b"") is None
    assert shake.step(out, shake.prompt.encode()) == b"pw\n"
    assert shake.step(out, shake.prompt.encode()) is None  # the same prompt: answered
    out += shake.marker.encode() + b"\n@need\n"
    assert shake.step(out, shake.prompt.encode()) is None and shake.done
    assert bytes(out) == b"@need\n"  # sudo's part gone, the core's first line left

    again = become.Handshake(settings(), "pw")
    again.step(bytearray(), again.prompt.encode())
    with pytest.raises(HostFailure, match=r"refused the password .*Sorry, try again\."):
        again.step(bytearray(), (again.prompt + "\nSorry, try again.\n" + again.prompt)
                   .encode())
    silent = become.Handshake(settings(), None)
    with pytest.raises(HostFailure, match="none was given"):
        silent.step(bytearray(), silent.prompt.encode())


def test_sudos_own_reason_is_the_rows() -> None:
    shake = become.Handshake(settings(), None)
    failure = shake.failure(b"sudo: a password is required\n", 1)
    assert failure.status == "become"
    assert failure.reason == ("become root with sudo: sudo: a password is required (use "
                              "--ask-become-pass, or a NOPASSWD sudo rule)")
    assert shake.failure(b"", 127).reason == "become root with sudo: exit 127"


ALIAS_CASES = [
    {"ansible_become_user": "new", "ansible_sudo_user": "old"},
    {"ansible_sudo_user": "old"},
    {"ansible_become_user": "new"},
    {"ansible_become_flags": "-H -S", "ansible_sudo_flags": "-S -n -E"},
    {"ansible_sudo_flags": "-S"},
    {"ansible_become_exe": "/usr/bin/sudo", "ansible_sudo_exe": "/opt/sudo"},
    {"ansible_become_user": "a", "ansible_sudo_user": None},
    {},
]


@pytest.mark.parametrize("variables", ALIAS_CASES)
def test_the_aliases_resolve_as_ansibles_sudo_plugin_resolves_them(variables: dict) -> None:
    """ansible-core itself is the oracle: its sudo plugin's options from the same
    variables (the config manager keeps the last alias set)."""
    loader = pytest.importorskip("ansible.plugins.loader")
    plugin = loader.become_loader.get("sudo")
    plugin.set_options(var_options={k: v for k, v in variables.items() if v is not None})
    b = settings(**variables)
    assert (b.user, b.flags, b.exe) == (plugin.get_option("become_user"),
                                        plugin.get_option("become_flags"),
                                        plugin.get_option("become_exe"))


@pytest.mark.parametrize("value", [True, False, "yes", "No", " TRUE ", "t", "F", "on", "off",
                                   "1", "0", 1, 0, 1.0, "", "maybe", 2, "2"])
def test_ansible_become_is_read_as_ansibles_boolean(value: object) -> None:
    convert = pytest.importorskip("ansible.module_utils.parsing.convert_bool")
    try:
        theirs = convert.boolean(value)
    except TypeError:
        with pytest.raises(HostFailure, match="not a boolean"):
            become.for_host(Host("h", {"ansible_become": value}), ON)
        return
    assert (become.for_host(Host("h", {"ansible_become": value}), ON) is not None) is theirs


def test_ansible_sudo_no_longer_turns_become_on_and_the_fully_qualified_name_is_sudo() -> None:
    host = Host("h", {"ansible_sudo": True})
    assert become.for_host(host, become.Escalation()) is None  # as in Ansible 2.19
    assert any("ansible_sudo is not used" in w for w in become.warnings(host))
    for name in ("ansible.builtin.sudo", "ansible.legacy.sudo"):
        assert settings(ansible_become_method=name).method == "sudo"
    with pytest.raises(HostFailure, match="unsupported become method 'ansible.builtin.su'"):
        settings(ansible_become_method="ansible.builtin.su")


def test_cachekit_hosts_shows_whom_each_core_runs_as(tmp_path: Path, run_cachekit) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {
        "plain": {"ansible_host": "192.0.2.1"},
        "ci": {"ansible_host": "192.0.2.2", "ansible_become": True,
               "ansible_sudo_user": "runner", "ansible_become_flags": "-H -S"},
        "odd": {"ansible_host": "192.0.2.3", "ansible_become": "yes",
                "ansible_become_method": "su"}}}}))
    table = run_cachekit(["hosts", "--inventory", str(inv)])
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:6] == ["HOST", "ADDRESS", "PORT", "USER", "BECOME", "KEY"]
    ci = next(line for line in lines if line.startswith("ci "))
    assert "runner (sudo)" in ci
    odd = next(line for line in lines if line.startswith("odd "))
    assert "become: unsupported become method 'su'" in odd
    doc = json.loads(run_cachekit(["hosts", "--inventory", str(inv), "--format", "json"]).stdout)
    rows = {r["host"]: r for r in doc["hosts"]}
    assert rows["plain"]["become"] is None
    assert rows["ci"]["become"] == {
        "user": "runner", "method": "sudo", "flags": "-H -S", "exe": "sudo",
        "sources": {"become": "ansible_become", "user": "ansible_sudo_user",
                    "flags": "ansible_become_flags", "exe": "default"}}
    assert "unsupported become method 'su'" in rows["odd"]["become"]["error"]
    # no host that becomes anyone: no BECOME column (as before)
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"plain": {"ansible_host": "192.0.2.1"}}}}))
    assert "BECOME" not in run_cachekit(["hosts", "--inventory", str(inv)]).stdout

"""``route.resolve`` against the real thing: Ansible builds the ssh command line for each
inventory host (its ssh program replaced by one that writes down its arguments), and the
real OpenSSH client says with ``ssh -G`` what it would use for that command line and
ssh_config. Jump hosts are followed as ssh follows them (``ssh -l -p -J -F host``, checked
against ``ssh -v``'s own proxy commands below).
"""

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from cachekit import inventory, route
from cachekit.inventory import Host

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(shutil.which("ssh") is None or not (BIN / "ansible").exists(),
                                reason="needs the OpenSSH client and Ansible")
DEFAULT_KEYS = ["~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
                "~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa"]

MAIN = """\
# every case below is held to ssh -G
Host web* !web9
    HostName %h.example.com
    Port 2201
    IdentityFile {d}/keys/id_web
    IdentityFile ~/.ssh/id_%h_%r
Host web9
    User nine
Host bastion
    HostName 192.0.2.1
    User ops
    Port 2222
Host jump2
    HostName 192.0.2.2
    ProxyJump bastion
Host behind-*
    ProxyJump jump2
    ProxyCommand never-used %h
Host viacmd
    ProxyCommand nc -X connect -x proxy:3128 %h %p
Host keys
    UserKnownHostsFile {d}/kh1 ~/kh2
    StrictHostKeyChecking accept-new
Host insecure
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    Include {d}/conf.d/*.conf
Host = inc
    HostName=included.example
Match originalhost m1
    HostName matched.example
Match host matched.example user {me}
    Port 2301
Match !host *.example.com user nobody,{me}
    IdentityFile {d}/keys/id_match
Host *
    User fallback
    Port 2200
    ServerAliveInterval 30
    Include {d}/conf.d/*.conf
"""
INCLUDED = {"a.conf": "Host inc\n  Port 2400\nHost *\n  IdentityFile {d}/keys/id_inc\n",
            "b.conf": "UserKnownHostsFile {d}/kh_top\n"}
OTHER = "Host *\n  Port 2600\n  User other\n"


def _hosts(d: Path) -> Dict[str, Dict[str, Any]]:
    """Inventory hosts and their variables: the cases."""
    return {
        "web1": {}, "web9": {}, "WEB2": {}, "plain": {"ansible_host": "10.9.9.9"},
        "port-var": {"ansible_port": 2022, "ansible_ssh_common_args": "-o Port=3000 -p 3001"},
        "port-common": {"ansible_ssh_common_args": "-p 3001 -o Port=3000"},
        "port-spaced": {"ansible_ssh_common_args": "-o 'Port 3002'"},
        "port-joined": {"ansible_ssh_extra_args": "-oPort=3003 -vp3004"},
        "user-order": {"ansible_user": "u1", "ansible_ssh_common_args": "-l u2 -o User=u3",
                       "ansible_ssh_extra_args": "-o User=u4"},
        "user-common": {"ansible_ssh_common_args": "-o User=u3 -l u2"},
        "user-at": {"ansible_host": "carol@web3"},
        "aliases": {"ansible_host": "a-host", "ansible_ssh_host": "web4", "ansible_port": 1,
                    "ansible_ssh_port": 2, "ansible_user": "u", "ansible_ssh_user": "su"},
        "ssh-args": {"ansible_ssh_args": "-C -o Port=4000", "ansible_port": 4001},
        "jump-common": {"ansible_ssh_common_args": "-o ProxyJump=ops2@bastion:2022,jump2"},
        "jump-dash-j": {"ansible_ssh_extra_args": "-J bastion"},
        "jump-quoted": {"ansible_ssh_common_args": "-o 'ProxyJump web1,[2001:db8::1]:99'"},
        "jump-joined": {"ansible_ssh_common_args": "-oProxyJump=ssh://zed@jump2:2100"},
        "jump-then-cmd": {"ansible_ssh_common_args": "-J bastion -o ProxyCommand=nope"},
        "behind-a": {}, "behind-b": {"ansible_ssh_common_args": "-J none"},
        "behind-c": {"ansible_ssh_common_args": "-o ProxyCommand=none"},
        "viacmd": {"ansible_user": "pat"},
        "cmd-args": {"ansible_ssh_common_args":
                     "-o ProxyCommand='ssh -W [%h]:%p -q bastion %% %r %n'"},
        "keys": {"ansible_ssh_private_key_file": f"{d}/keys/id_inv",
                 "ansible_ssh_common_args": f"-i {d}/keys/id_i -o IdentityFile={d}/keys/id_o"},
        "hostname-opt": {"ansible_ssh_common_args": "-o HostName=10.2.2.2"},
        "kh-opt": {"ansible_ssh_common_args": f"-o UserKnownHostsFile={d}/kh_opt"},
        "insecure": {}, "inc": {}, "m1": {}, "m2": {"ansible_host": "matched.example"},
        "other-f": {"ansible_ssh_common_args": f"-F {d}/other_config -o User=first"},
        "checking-off": {"ansible_host_key_checking": False},
        "strict-opt": {"ansible_ssh_common_args": "-o StrictHostKeyChecking=accept-new"},
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """The ssh_config files, keys, inventory, and the ssh command line Ansible builds for
    each host (Ansible runs once for the module)."""
    d = tmp_path_factory.mktemp("world")
    me = pwd.getpwuid(os.getuid()).pw_name
    (d / "keys").mkdir()
    for key in ("id_web", "id_inv", "id_i", "id_o", "id_match", "id_inc"):
        (d / "keys" / key).write_text("not a key\n")
    (d / "conf.d").mkdir()
    for name, text in INCLUDED.items():
        (d / "conf.d" / name).write_text(text.format(d=d))
    main = d / "ssh_config"
    main.write_text(MAIN.format(d=d, me=me))
    (d / "other_config").write_text(OTHER)
    fake = d / "bin" / "ssh"  # Ansible's ssh: writes its arguments down, fails as unreachable
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                    f"open(os.path.join({str(d / 'argv')!r}, str(os.getpid())), 'w')"
                    ".write(json.dumps(sys.argv[1:]))\nsys.exit(255)\n")
    fake.chmod(0o755)
    (d / "argv").mkdir()
    hosts = _hosts(d)
    inv = d / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"vars": {"ansible_ssh_executable": str(fake)},
                                           "hosts": hosts}}))
    (d / "ansible-home").mkdir()
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_FORKS="8",
               HOME=str(d / "ansible-home"))
    subprocess.run([str(BIN / "ansible"), "all", "-i", str(inv), "-m", "ping"], env=env,
                   cwd=d, capture_output=True, timeout=300)
    argv = {}
    for f in (d / "argv").iterdir():
        args = json.loads(f.read_text())[:-1]  # the remote command goes
        argv[args[-1]] = args
    return {"dir": d, "config": main, "inventory": inventory.load(str(inv)), "argv": argv}


def openssh(args: List[str]) -> Dict[str, List[str]]:
    """``ssh -G ARGS``: each setting's values; {"error": [...]} when ssh refuses."""
    out = subprocess.run(["ssh", "-G", *args], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=30)
    if out.returncode != 0:
        return {"error": [out.stderr.strip()]}
    found: Dict[str, List[str]] = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        found.setdefault(key, []).append(value)
    return found


def identity_files(args: List[str]) -> List[str]:
    """The key files ssh tries, tokens expanded (``ssh -G`` shows them unexpanded): ssh
    -v says so once it has started its ProxyCommand, here ``true``, which ends the run."""
    assert "-J" not in args
    out = subprocess.run(["ssh", "-v", "-o", "ProxyCommand=true", "-o", "BatchMode=yes",
                          *args, "true"], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=30)
    found = re.findall(r"^debug1: identity file (.*) type -?\d+$", out.stderr, re.M)
    return [f for f in found if not f.endswith("-cert")]


def _home(text: str) -> str:
    """ssh's ~ is the passwd home; cachekit's (and this test's) is $HOME."""
    real = pwd.getpwuid(os.getuid()).pw_dir
    text = text.replace(real + "/", os.environ["HOME"] + "/")
    return os.path.expanduser(text)


def openssh_route(args: List[str], config: str) -> Dict[str, Any]:
    """What ssh would do for ``ssh ARGS``: the settings ``ssh -G`` prints, and each jump
    host as ssh reaches it (``ssh [-l user] [-p port] [-J earlier hops] [-F config] last``)."""
    g = openssh(["-F", config, *args])
    if "error" in g:
        return {"error": g["error"][0]}
    dash_f = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-F"]
    config = dash_f[-1] if dash_f else config
    keys = [] if g["identityfile"] == DEFAULT_KEYS else [_home(k) for k in g["identityfile"]]
    if any("%" in k for k in keys):
        keys = [_home(k) for k in identity_files(["-F", config, *args])]
    known = [f for f in _home(g["userknownhostsfile"][0]).split() if f != "/dev/null"]  # refused
    if known == [os.path.expanduser("~/.ssh/known_hosts"),
                 os.path.expanduser("~/.ssh/known_hosts2")]:
        known = []
    got: Dict[str, Any] = {"address": g["hostname"][0], "port": int(g["port"][0]),
                           "user": g["user"][0], "keys": keys, "known": known,
                           "accept_new": g["stricthostkeychecking"][0] == "accept-new",
                           "proxy": None, "jumps": []}
    if "proxyjump" in g:
        before, _, last = g["proxyjump"][0].rpartition(",")
        m = re.fullmatch(r"(?:ssh://)?(?:(.*)@)?(\[.*\]|[^:]*)(?::(\d+))?", last)
        assert m, last
        child = (["-l", m.group(1)] if m.group(1) else []) + \
            (["-p", m.group(3)] if m.group(3) else []) + (["-J", before] if before else [])
        hop = openssh_route(child + [m.group(2).strip("[]")], config)
        got["jumps"] = hop["jumps"] + [hop]  # each hop carries the hops before it
    elif "proxycommand" in g:
        got["proxy"] = g["proxycommand"][0]
    return got


def ours(hop: route.Hop) -> Dict[str, Any]:
    """A Hop as ``openssh_route`` puts it (ProxyCommand as ssh -G shows it: unexpanded)."""
    return {"address": hop.address, "port": hop.port,
            "user": hop.user or pwd.getpwuid(os.getuid()).pw_name, "keys": list(hop.key_files),
            "known": list(hop.known_hosts), "accept_new": hop.accept_new,
            "proxy": hop.proxy_command, "jumps": [ours(j) for j in hop.jumps]}


def _expand_proxy(theirs: Dict[str, Any]) -> None:
    """%h %p %r %n %% in ssh -G's ProxyCommand, as ssh expands it when it runs it."""
    if theirs.get("proxy"):
        name = theirs["name"]
        table = {"h": theirs["address"], "p": str(theirs["port"]), "r": theirs["user"],
                 "n": name, "%": "%"}
        theirs["proxy"] = re.sub(r"%(.)", lambda m: table[m.group(1)], theirs["proxy"])


def test_every_case_resolves_as_ssh_does(world: Dict[str, Any]) -> None:
    inv, config = world["inventory"], str(world["config"])
    checked = 0
    for name, host in inv.hosts.items():
        if host.local:
            continue
        destination = str(host.vars.get("ansible_ssh_host") or host.vars.get("ansible_host")
                          or name)
        args = world["argv"][destination]  # what Ansible ran
        theirs = openssh_route(args, config)
        mine = route.resolve(host, config)
        if "error" in theirs:
            assert mine.failure is not None, (name, theirs["error"])
            continue
        assert mine.failure is None, (name, mine.failure)
        theirs["name"] = destination.rpartition("@")[2]
        _expand_proxy(theirs)
        del theirs["name"]
        assert ours(mine.target) == theirs, name
        checked += 1
    assert checked >= 30


def test_ansible_builds_the_command_line_in_the_order_route_reads(
        world: Dict[str, Any]) -> None:
    """ssh_args.command_line is the part of Ansible's command line that matters, in order."""
    from cachekit import ssh_args

    for name, host in world["inventory"].hosts.items():
        if host.local:
            continue
        destination = str(host.vars.get("ansible_ssh_host") or host.vars.get("ansible_host")
                          or name)
        theirs = world["argv"][destination]
        mine = [a for _, args in ssh_args.command_line(host.vars) for a in args]
        it = iter(theirs)
        assert all(a in it for a in mine), (name, mine, theirs)  # a subsequence, in order


def test_sources_say_where_each_value_came_from(world: Dict[str, Any]) -> None:
    inv, config = world["inventory"], str(world["config"])
    d = world["dir"]

    def sources(name: str) -> Dict[str, str]:
        return route.resolve(inv.hosts[name], config).sources

    assert sources("web1") == {
        "address": f"{config} line 3", "port": f"{config} line 4",
        "user": f"{config} line 37",
        "key_files": f"{config} line 5, {config} line 6, {d}/conf.d/a.conf line 4",
        "known_hosts": f"{d}/conf.d/b.conf line 1"}
    assert sources("port-var")["port"] == "ansible_port"
    assert sources("port-common")["port"] == "ansible_ssh_common_args -p"
    assert sources("port-spaced")["port"] == "ansible_ssh_common_args -o Port"
    assert sources("aliases")["port"] == "ansible_ssh_port"
    assert sources("aliases")["address"] == f"{config} line 3"
    assert sources("plain")["address"] == "ansible_host"
    assert sources("m2")["port"] == f"{config} line 33"
    jump = route.resolve(inv.hosts["jump-common"], config)
    assert jump.sources["jumps"] == "ansible_ssh_common_args -o ProxyJump"
    # -J beats jump2's own ProxyJump
    assert [j.name for j in jump.jumps] == ["bastion", "jump2"]
    first = dict(jump.jumps[0].sources)
    assert first["user"] == first["port"] == "ansible_ssh_common_args -o ProxyJump " \
        "(ops2@bastion:2022)"
    assert sources("keys")["key_files"].startswith(
        "ansible_ssh_private_key_file, ansible_ssh_common_args -i, ansible_ssh_common_args -o "
        "IdentityFile")
    assert route.resolve(Host("x", {}), f"{d}/other_config").sources == {
        "address": "inventory name", "port": f"{d}/other_config line 2",
        "user": f"{d}/other_config line 3"}


def like_ssh(config: Path, name: str, variables: Dict[str, Any]) -> route.Route:
    """Resolve a host and hold it to ssh -G for the command line Ansible would build."""
    from cachekit import ssh_args

    host = Host(name, variables)
    mine = route.resolve(host, str(config))
    args = [a for _, piece in ssh_args.command_line(variables) for a in piece]
    destination = str(variables.get("ansible_ssh_host") or variables.get("ansible_host") or name)
    theirs = openssh_route(args + [destination], str(config))
    if "error" in theirs:
        assert mine.failure is not None, (name, theirs["error"])
        return mine
    assert mine.failure is None, (name, mine.failure)
    theirs["name"] = destination.rpartition("@")[2]
    _expand_proxy(theirs)
    del theirs["name"]
    assert ours(mine.target) == theirs, name
    return mine


def test_match_final_and_canonical_take_a_second_pass(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host short\n  HostName long.example.org\n"
                      "Host long.example.org\n  Port 2001\n  User final-pass\n"
                      "Match canonical\n  IdentityFile ~/canon\n"
                      "Match final host *.org\n  UserKnownHostsFile ~/kh-%C ~/kh-%l-%L-%i-%k-%n\n")
    got = like_ssh(config, "short", {})
    assert got.target.port == 2001 and got.target.user == "final-pass"


def test_match_exec_is_not_run_and_says_so(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Match exec \"touch %d/ran\"\n  Port 9\nHost *\n  Port 10\n")
    got = route.resolve(Host("h", {}), str(config))
    assert got.target.port == 10 and not (Path(os.environ["HOME"]) / "ran").exists()
    assert got.warnings == [f"{config} line 1: Match exec is not evaluated by cachekit: the "
                            "block is skipped"]


def test_ssh_refusals_are_failures(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host badport\n  Port 0x10\nHost loop*\n  HostName 127.0.0.1\n"
                      "Host loop1\n  ProxyJump loop2\nHost loop2\n  ProxyJump loop1\n")
    cases = {"jump-twice": {"ansible_ssh_common_args": "-o ProxyJump=a -J b"},
             "cmd-then-jump": {"ansible_ssh_common_args": "-o ProxyCommand=x -J b"},
             "j-twice": {"ansible_ssh_common_args": "-J a -J b"},
             "port-bad": {"ansible_ssh_common_args": "-p 99999"},
             "badport": {}, "dash-o-alone": {"ansible_ssh_extra_args": "-o"},
             "no-value": {"ansible_ssh_extra_args": "-o Port"},
             "bad-jump-port": {"ansible_ssh_common_args": "-J h:70000"}}
    for name, variables in cases.items():
        got = like_ssh(config, name, variables)
        assert got.failure is not None and got.failure[0] == "failed", name
    looped = route.resolve(Host("loop1", {}), str(config))  # ssh would spawn itself forever
    assert looped.failure and "ProxyJump loop" in looped.failure[1]
    behind = route.resolve(Host("h", {"ansible_ssh_common_args": "-J badport"}), str(config))
    assert behind.failure == ("failed", f"jump host badport: {config} line 2: bad port '0x10'")


def test_a_jump_chain_is_the_one_ssh_runs(tmp_path: Path) -> None:
    """ssh -v names every proxy command it starts on the way: the same hops, in order,
    each reached through the one before; only the first is connected to directly."""
    import socket

    ports = []
    for _ in range(4):  # ports where nothing listens: each ssh fails fast, offline
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    config = tmp_path / "config"
    config.write_text(f"Host t1\n  HostName 127.0.0.1\n  Port {ports[0]}\n"
                      f"  ProxyJump ops@j1:{ports[1]},j2\n"
                      f"Host j1 j2 j3\n  HostName 127.0.0.1\n  Port {ports[2]}\n"
                      f"Host j1\n  ProxyJump j3\nHost j3\n  Port {ports[3]}\n  User jim\n")
    out = subprocess.run(["ssh", "-v", "-F", str(config), "-o", "BatchMode=yes", "t1", "true"],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    ran = re.findall(r"Executing proxy command: exec ssh (.*) -W '\[(.*)\]:(\d+)' (\S+)$",
                     out.stderr, re.M)
    connected = re.findall(r"^debug1: Connecting to (\S+) \[.*\] port (\d+)\.$", out.stderr, re.M)
    mine = route.resolve(Host("t1", {}), str(config)).target
    hops = list(mine.jumps) + [mine]
    assert [j.name for j in mine.jumps] == ["j3", "j1", "j2"]
    expected = [(h.address, str(h.port), before.name)
                for h, before in zip(hops[1:], hops[:-1])]
    assert [(addr, port, via) for _, addr, port, via in ran] == list(reversed(expected))
    assert connected == [(hops[0].address, str(hops[0].port))]
    assert (hops[0].user, hops[0].port) == ("jim", ports[2]) and hops[1].user == "ops"
    assert (hops[1].port, hops[2].port, hops[3].port) == (ports[1], ports[2], ports[0])


def test_proxy_command_tokens_as_ssh_expands_them(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host pc\n  HostName 127.0.0.1\n  Port 2345\n  User pat\n"
                      "  ProxyCommand true %h %p %r %n %% 'quoted arg'\n")
    out = subprocess.run(["ssh", "-v", "-F", str(config), "-o", "BatchMode=yes", "pc", "true"],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    ran = re.findall(r"Executing proxy command: exec (.*)$", out.stderr, re.M)
    assert ran == [route.resolve(Host("pc", {}), str(config)).target.proxy_command]
    assert ran == ["true 127.0.0.1 2345 pat pc % 'quoted arg'"]
    none = route.resolve(Host("pc", {"ansible_ssh_common_args": "-o ProxyCommand=none"}),
                         str(config))
    assert none.target.proxy_command is None and none.target.jumps == ()


def test_options_cachekit_does_not_honour_are_warnings_naming_variable_and_option(
        tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("")
    got = route.resolve(Host("h", {
        "ansible_ssh_common_args": "-o ControlMaster=auto -o 'ServerAliveInterval 30' -C -vA",
        "ansible_ssh_extra_args": "-L 8080:localhost:80 stray"}), str(config))
    assert got.failure is None
    assert got.warnings == [
        "ansible_ssh_common_args: -o ControlMaster=auto is not honoured by cachekit: ignored",
        "ansible_ssh_common_args: -o ServerAliveInterval 30 is not honoured by cachekit: "
        "ignored",
        "ansible_ssh_common_args: -C is not honoured by cachekit: ignored",
        "ansible_ssh_common_args: -v is not honoured by cachekit: ignored",
        "ansible_ssh_common_args: -A is not honoured by cachekit: ignored",
        "ansible_ssh_extra_args: -L 8080:localhost:80 is not honoured by cachekit: ignored",
        "ansible_ssh_extra_args: 'stray' is not an option: not honoured by cachekit: ignored"]


def test_turning_host_key_checking_off_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host from-config\n  StrictHostKeyChecking no\n"
                      "  UserKnownHostsFile /dev/null\n")
    args = route.resolve(Host("h", {"ansible_ssh_common_args":
                                    "-o StrictHostKeyChecking=no "
                                    "-o UserKnownHostsFile=/dev/null"}), str(config))
    assert args.target.known_hosts == () and not args.target.accept_new
    assert args.warnings == [
        "ansible_ssh_common_args -o UserKnownHostsFile=/dev/null is refused: host keys are "
        "still checked against ~/.ssh/known_hosts",
        "ansible_ssh_common_args -o StrictHostKeyChecking=no is refused: host keys are still "
        "checked (StrictHostKeyChecking=accept-new or --accept-new-host-keys records new ones)"]
    from_config = route.resolve(Host("from-config", {}), str(config))
    assert [w.split(" is refused")[0] for w in from_config.warnings] == [
        f"{config} line 3: UserKnownHostsFile /dev/null",
        f"{config} line 2: StrictHostKeyChecking no"]
    ansible = route.resolve(Host("h", {"ansible_host_key_checking": False}), str(config))
    assert ansible.warnings[0].startswith("ansible_host_key_checking: StrictHostKeyChecking no "
                                          "is refused")
    new = route.resolve(Host("h", {"ansible_ssh_extra_args":
                                   "-o StrictHostKeyChecking=accept-new"}), str(config))
    assert new.target.accept_new and new.warnings == []
    assert new.sources["accept_new"] == "ansible_ssh_extra_args -o StrictHostKeyChecking"


@pytest.mark.parametrize("kind", ["winrm", "docker", "community.general.lxc", "psrp"])
def test_a_connection_that_is_not_ssh_fails_the_host(tmp_path: Path, kind: str) -> None:
    got = route.resolve(Host("h", {"ansible_connection": kind}), str(tmp_path / "none"))
    assert got.failure == ("failed", f"ansible_connection is {kind!r}: cachekit reaches hosts "
                                     "over SSH (or `local`) only")


def test_ssh_connections_and_local_are_fine(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("")
    for kind in ("ssh", "smart", "paramiko", "ansible.builtin.ssh"):
        got = route.resolve(Host("h", {"ansible_connection": kind}), str(config))
        assert got.failure is None and got.warnings == [], kind
    local = route.resolve(Host("h", {"ansible_connection": "local",
                                     "ansible_ssh_common_args": "-J x"}), str(config))
    assert local.local and local.failure is None and local.warnings == []


def test_login_variables_cachekit_does_not_use_are_warnings(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("")
    got = route.resolve(Host("h", {"ansible_password": "s3cret", "ansible_ssh_pass": "x",
                                   "ansible_private_key_passphrase": "p",
                                   "ansible_ssh_executable": "/opt/tsh-ssh",
                                   "ansible_ssh_timeout": 30}), str(config))
    assert got.failure is None
    assert [w.split(":")[0] for w in got.warnings] == [
        "ansible_password", "ansible_ssh_pass", "ansible_private_key_passphrase",
        "ansible_ssh_timeout", "ansible_ssh_executable"]
    assert not any("s3cret" in w for w in got.warnings)


def test_the_default_files_are_the_users_then_the_systems(tmp_path: Path, home: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """No -F: ~/.ssh/config (relative Includes from ~/.ssh), then /etc/ssh/ssh_config;
    CACHEKIT_SSH_CONFIG or -F: that file alone."""
    ssh = home / ".ssh"
    (ssh / "conf.d").mkdir(parents=True)
    (ssh / "config").write_text("Include conf.d/*\nHost *\n  User me\n")
    (ssh / "conf.d" / "web").write_text("Host web\n  Port 2022\n")
    got = route.resolve(Host("web", {}))
    assert got.target.port == 2022 and got.target.user == "me"
    assert got.sources["port"] == "~/.ssh/conf.d/web line 2"
    assert got.config_files[0] == str(ssh / "config")
    other = tmp_path / "other"
    other.write_text("Host *\n  Port 2100\n")
    monkeypatch.setenv("CACHEKIT_SSH_CONFIG", str(other))
    assert route.resolve(Host("web", {})).target.port == 2100
    dash_f = route.resolve(Host("web", {"ansible_ssh_common_args": f"-F {ssh / 'config'}"}))
    assert dash_f.target.port == 2022 and dash_f.config_files == (str(ssh / "config"),)
    gone = route.resolve(Host("web", {"ansible_ssh_common_args": "-F /nonexistent"}))
    assert gone.failure == ("failed", "-F in ansible_ssh_common_args: /nonexistent does not exist")
    assert route.resolve(Host("web", {"ansible_ssh_common_args": "-F none"})).target.port == 22


def test_a_config_others_may_write_fails_the_host(tmp_path: Path, home: Path) -> None:
    """As ssh: ~/.ssh/config and included files only (a -F file is not checked)."""
    config = home / ".ssh" / "config"
    config.parent.mkdir()
    config.write_text(f"Include {tmp_path}/inc\n")
    (tmp_path / "inc").write_text("Host *\n  Port 2022\n")
    (tmp_path / "inc").chmod(0o666)
    got = route.resolve(Host("h", {}))
    assert got.failure == ("failed", f"{tmp_path}/inc: bad owner or permissions (ssh refuses "
                                     "it)")
    theirs = openssh(["-F", str(config), "h"])
    assert "Bad owner or permissions" in theirs["error"][0]
    assert route.resolve(Host("h", {}), str(tmp_path / "inc")).target.port == 2022
    assert openssh(["-F", str(tmp_path / "inc"), "h"])["port"] == ["2022"]


def test_cachekit_hosts_shows_the_route_and_its_sources(tmp_path: Path, run_cachekit) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host bastion\n  HostName 192.0.2.1\n  User ops\n"
                      "Host jump2\n  HostName 192.0.2.2\n"
                      "Host *\n  Port 2200\n")
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {
        "web1": {"ansible_host": "10.0.0.5", "ansible_user": "deploy",
                 "ansible_ssh_private_key_file": "~/.ssh/deploy_key",
                 "ansible_ssh_common_args": "-o ProxyJump=bastion,jump2 -o ControlMaster=auto"},
        "win1": {"ansible_connection": "winrm"},
        "db1": {}}}}, sort_keys=False))
    table = run_cachekit(["hosts", "--inventory", str(inv)], tmp_path,
                         CACHEKIT_SSH_CONFIG=str(config), expect=0)
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["HOST", "ADDRESS", "PORT", "USER", "KEY", "VIA", "PYTHON",
                                "GROUPS", "NOTE"]
    assert lines[2].split()[:6] == ["web1", "10.0.0.5", "2200", "deploy", "deploy_key",
                                    "bastion"] and "bastion -> jump2" in lines[2]
    assert "22 / ssh_config" not in table.stdout
    assert "failed: ansible_connection is 'winrm'" in lines[3]
    assert lines[4].split()[:4] == ["db1", "db1", "2200", pwd.getpwuid(os.getuid()).pw_name]
    assert table.stderr.splitlines() == [
        "cachekit: warning: web1: ansible_ssh_common_args: -o ControlMaster=auto is not "
        "honoured by cachekit: ignored"]
    doc = json.loads(run_cachekit(["hosts", "--inventory", str(inv), "--format", "json"],
                                  tmp_path, CACHEKIT_SSH_CONFIG=str(config), expect=0).stdout)
    web1 = doc["hosts"][0]
    assert web1["sources"] == {"address": "ansible_host", "port": f"{config} line 7",
                               "user": "ansible_user",
                               "key_files": "ansible_ssh_private_key_file",
                               "jumps": "ansible_ssh_common_args -o ProxyJump"}
    assert [(j["name"], j["address"], j["port"], j["user"]) for j in web1["jumps"]] == [
        ("bastion", "192.0.2.1", 2200, "ops"), ("jump2", "192.0.2.2", 2200,
                                                pwd.getpwuid(os.getuid()).pw_name)]
    assert web1["jumps"][0]["sources"]["user"] == f"{config} line 3"
    assert web1["warnings"] and web1["failure"] is None and web1["ssh_config"] == [str(config)]
    assert doc["hosts"][1]["failure"]["status"] == "failed"


CORP = """\
Host bastion.corp
    User jump
    IdentityFile ~/.ssh/bastion_%r
    ProxyJump none
Host *.corp !legacy.corp
    ProxyJump bastion.corp
    User %u
Host legacy.corp
    ProxyCommand ssh -q -W %h:%p old-gw.corp
    HostKeyAlias legacy
Host a,b
    Port 1111
Host "quoted host" q*
    Port 1212
Host *
    IdentitiesOnly yes
    AddKeysToAgent yes
    ServerAliveInterval 60
    ControlMaster auto
    ControlPath ~/.ssh/cm-%r@%h:%p
    User default-user
    IdentityFile ~/.ssh/id_ed25519
"""


@pytest.mark.parametrize("name,variables", [
    ("web.corp", {}), ("bastion.corp", {}), ("legacy.corp", {}), ("a", {}), ("a,b", {}),
    ("qq", {}), ("gitlab.com", {"ansible_user": "git"}),
    ("db.corp", {"ansible_ssh_common_args": "-J other@bastion.corp:2022"}),
    ("db2.corp", {"ansible_ssh_common_args": "-o ProxyCommand='nc %h %p'"}),
    ("x.corp", {"ansible_ssh_extra_args": "-o ProxyJump=none"}),
])
def test_a_typical_workstation_config(tmp_path: Path, name: str,
                                      variables: Dict[str, Any]) -> None:
    config = tmp_path / "config"
    config.write_text(CORP)
    like_ssh(config, name, variables)


@pytest.mark.parametrize("variables", [
    {"ansible_host": "a;b"}, {"ansible_host": "-oProxyCommand=touch x"},
    {"ansible_host": "a b"}, {"ansible_host": "a$b"}, {"ansible_host": "a*b"},
    {"ansible_host": "a%b"}, {"ansible_host": "u;x@h"}, {"ansible_user": "a;b"},
    {"ansible_user": "-u"}, {"ansible_user": "a b"}, {"ansible_user": "a -b"},
    {"ansible_user": "a$b"}, {"ansible_user": "a\\"},
    {"ansible_ssh_common_args": "-J 'x;y'"}, {"ansible_ssh_common_args": "-J 'u;v@x'"},
    # every way a user name reaches ProxyCommand's %r from the command line
    {"ansible_ssh_common_args": "-l 'a;b'"}, {"ansible_ssh_common_args": "-o 'User=a;b'"},
    {"ansible_ssh_user": "a`b`"}, {"ansible_ssh_host": "a|b"},
])
def test_names_ssh_refuses_on_its_command_line(tmp_path: Path,
                                               variables: Dict[str, Any]) -> None:
    config = tmp_path / "config"
    config.write_text("Host *\n  ProxyCommand nc %h %p\n")
    like_ssh(config, "h", variables)


def test_args_ansible_cannot_split_fail_the_host(tmp_path: Path) -> None:
    got = route.resolve(Host("h", {"ansible_ssh_common_args": "-o 'ProxyJump=a"}),
                        str(tmp_path / "none"))
    assert got.failure == ("failed", "ansible_ssh_common_args: No closing quotation")


def test_hosts_behind_one_bastion_share_one_equal_hop(tmp_path: Path) -> None:
    """Two routes through the same jump host hold equal (and equally hashed) hops, however
    each was asked for: what a shared bastion session is keyed by."""
    config = tmp_path / "config"
    config.write_text("Host bastion\n  HostName 192.0.2.1\n  User ops\n"
                      "Host web*\n  ProxyJump bastion\n")
    via_config = route.resolve(Host("web1", {}), str(config)).jumps
    via_args = route.resolve(Host("db1", {"ansible_ssh_common_args": "-J bastion"}),
                             str(config)).jumps
    assert via_config == via_args and hash(via_config[0]) == hash(via_args[0])
    other_user = route.resolve(Host("db2", {"ansible_ssh_common_args": "-J root@bastion"}),
                               str(config)).jumps
    assert other_user != via_config


@pytest.mark.root
def test_the_local_user_of_a_uid_with_no_passwd_entry() -> None:
    """A uid with no passwd entry (a container's) is $USER, else $LOGNAME, else its number:
    never a KeyError."""
    if os.geteuid() != 0:
        pytest.skip("needs root: runs as a uid with no passwd entry")
    uid = 54321
    with pytest.raises(KeyError):
        pwd.getpwuid(uid)
    source = Path(route.__file__).with_name("ssh_config.py")
    script = ("import importlib.util as u\n"
              f"spec = u.spec_from_file_location('ssh_config', {str(source)!r})\n"
              "m = u.module_from_spec(spec); spec.loader.exec_module(m)\n"
              "print(m.local_user())\n")
    python = shutil.which("python3", path="/usr/bin:/bin")
    for env, expected in (({}, str(uid)), ({"LOGNAME": "lg"}, "lg"),
                          ({"USER": "us", "LOGNAME": "lg"}, "us")):
        done = subprocess.run([python, "-I", "-c", script], env=env, user=uid, group=uid,
                              extra_groups=[], capture_output=True, text=True, cwd="/",
                              timeout=30)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == expected


def test_match_exec_after_a_failed_criterion_is_skipped_silently_as_ssh_skips_it(
        tmp_path: Path) -> None:
    """ssh -G (the oracle) does not run an ``exec`` after a criterion that failed; a line
    whose outcome does not hang on the exec is no warning either (the block is off)."""
    config = tmp_path / "config"
    config.write_text(f"Match host other exec \"touch {tmp_path}/after-a-failure\"\n  Port 9\n"
                      f"Match exec \"touch {tmp_path}/first\" !host h\n  Port 8\n"
                      f"Match !user nobody,root exec \"touch {tmp_path}/user\"\n  Port 7\n"
                      "Host *\n  Port 10\n")
    got = like_ssh(config, "h", {"ansible_user": "root"})
    assert not (tmp_path / "after-a-failure").exists() and not (tmp_path / "user").exists()
    assert (tmp_path / "first").exists()  # ssh ran it (before !host failed): cachekit not
    (tmp_path / "first").unlink()
    assert got.target.port == 10 and got.warnings == []
    route.resolve(Host("h", {"ansible_user": "root"}), str(config))
    assert not (tmp_path / "first").exists()

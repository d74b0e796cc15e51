"""The inventory against the real Ansible: same hosts for every pattern, same variables."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from cachekit import inventory
from cachekit.errors import CachekitError
from tests.fixtures import REPO
from tests.fixtures.deadline import deadline
from tests.fixtures.disk import sparse

BIN = Path(sys.executable).parent

FARM = """\
all:
  vars:
    ansible_user: ops
    cachekit_env:
      PIP_CACHE_DIR: /srv/pip
    level: all
  hosts:
    bastion:
      ansible_host: 10.9.0.1
  children:
    build:
      vars:
        level: build
        ansible_port: 2222
      hosts:
        build[01:04]:
        build[08:10:2]:
          ansible_python_interpreter: /opt/py/bin/python3
      children:
        gpu:
          vars:
            level: gpu
          hosts:
            build02:
            gpu-[a:c]:
    prod:
      hosts:
        build01:
        db1:
          level: host
    staging:
      hosts:
        db2:
"""


def write_farm(root: Path) -> Path:
    inv = root / "inv"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "host_vars" / "db2").mkdir(parents=True)
    (inv / "hosts.yml").write_text(FARM)
    (inv / "group_vars" / "prod.yml").write_text("tier: gold\nlevel: prod-gv\n")
    (inv / "host_vars" / "db2" / "a.yml").write_text("tier: tin\n")
    (inv / "host_vars" / "gpu-b.yaml").write_text("ansible_user: gpuadmin\n")
    return inv


def ansible_env(home: Path) -> Dict[str, str]:
    env = dict(os.environ, HOME=str(home), ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(home / ".ansible-tmp"))
    env.pop("ANSIBLE_CONFIG", None)
    return env


def ansible_hosts(inv: Path, pattern: str, home: Path) -> List[str]:
    out = subprocess.run([str(BIN / "ansible"), "-i", str(inv), pattern, "--list-hosts"],
                         capture_output=True, text=True, env=ansible_env(home))
    assert out.returncode == 0, out.stderr
    return sorted(line.strip() for line in out.stdout.splitlines()[1:] if line.strip())


PATTERNS = [
    "all", "*", "build", "gpu", "prod", "build01", "build:prod", "build,staging",
    "build:&prod", "all:!build", "build:!gpu", "gpu-*", "build0?", "~build0[24]", "~gpu",
    "b*:!build02", "prod:staging:&build", "!gpu", "ungrouped",
    "build[0]", "build[1:3]", "gpu[1-2]", "build[-1]", "build[2:]",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_patterns_select_what_ansible_selects(tmp_path: Path, home: Path, pattern: str) -> None:
    inv = write_farm(tmp_path)
    ours = sorted(h.name for h in inventory.load(str(inv)).select(pattern))
    assert ours == ansible_hosts(inv, pattern, home)


def test_variables_resolve_as_ansible_resolves_them(tmp_path: Path, home: Path) -> None:
    inv = write_farm(tmp_path)
    out = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(inv), "--list"],
                         capture_output=True, text=True, env=ansible_env(home))
    assert out.returncode == 0, out.stderr
    theirs = json.loads(out.stdout)["_meta"]["hostvars"]
    ours = inventory.load(str(inv))
    assert sorted(theirs) == sorted(ours.groups["all"])
    for name, hvars in theirs.items():
        assert ours.hosts[name].vars == hvars, name
    assert theirs["build08"]["ansible_python_interpreter"] == "/opt/py/bin/python3"
    assert theirs["db1"]["level"] == "host" and theirs["build02"]["level"] == "gpu"


def test_connection_settings(tmp_path: Path) -> None:
    inv = inventory.load(str(write_farm(tmp_path)))
    gpu_b, bastion = inv.hosts["gpu-b"], inv.hosts["bastion"]
    assert (gpu_b.address, gpu_b.port, gpu_b.user) == ("gpu-b", 2222, "gpuadmin")
    assert (bastion.address, bastion.port, bastion.python) == ("10.9.0.1", None, "python3")
    assert inv.hosts["build10"].python == "/opt/py/bin/python3"
    assert not bastion.local and inv.hosts["local"].local


def test_local_is_this_machine_and_implicit(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  hosts:\n    localhost:\n    web1:\n      ansible_connection: local\n"
                    "    remote1:\n      ansible_host: 10.0.0.5\n")
    inv = inventory.load(str(path))
    assert [h.name for h in inv.select("local")] == ["local"]
    assert "local" not in {h.name for h in inv.select("all")}  # like Ansible's localhost
    assert inv.hosts["localhost"].local and inv.hosts["web1"].local
    assert not inv.hosts["remote1"].local


@pytest.mark.parametrize("text,needle", [
    ("all:\n  hosts:\n    - web1\n", "line 2"),
    ("all:\n  hosts:\n    web1:\n  childen:\n    x:\n", "line 4"),
    ("all:\n  hosts: [\n", "invalid YAML"),
    ("- web1\n", "mapping of groups"),
    ("all:\n  hosts:\n    web[1:x]:\n", "bad host range"),
])
def test_broken_inventory_errors_name_file_and_line(tmp_path: Path, text: str,
                                                   needle: str) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(text)
    with pytest.raises(CachekitError) as err:
        inventory.load(str(path))
    assert str(path) in str(err.value) and needle in str(err.value)


def test_unknown_pattern_names_close_matches(tmp_path: Path) -> None:
    inv = inventory.load(str(write_farm(tmp_path)))
    with pytest.raises(CachekitError) as err:
        inv.select("buidl")
    assert "buidl" in str(err.value) and "build" in str(err.value)


def test_host_ranges() -> None:
    assert inventory.expand_range("build[01:03]") == ["build01", "build02", "build03"]
    assert inventory.expand_range("n[8:12:2].x") == ["n8.x", "n10.x", "n12.x"]
    assert inventory.expand_range("r[a:c]") == ["ra", "rb", "rc"]
    assert inventory.expand_range("r[1:2]-[a:b]") == ["r1-a", "r1-b", "r2-a", "r2-b"]


def test_cli_hosts_task_and_bad_inventory(tmp_path: Path, home: Path, run_cachekit) -> None:
    inv = write_farm(tmp_path)
    out = run_cachekit(["hosts", "--hosts", "gpu", "--inventory", str(inv)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "gpu-a" in out.stdout and "2222" in out.stdout and "gpuadmin" in out.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text("all:\n  hosts:\n    - web1\n")
    out = run_cachekit(["report", "--inventory", str(bad)], tmp_path)
    assert out.returncode == 1 and "line 2" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_default_inventory_and_environment_override(tmp_path: Path, home: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert inventory.default_path("x.yml") == "x.yml"
    monkeypatch.chdir(tmp_path)
    assert inventory.default_path() is None
    (tmp_path / "inventory").mkdir()
    assert inventory.default_path() == "inventory"
    monkeypatch.setenv("CACHEKIT_INVENTORY", "/elsewhere.yml")
    assert inventory.default_path() == "/elsewhere.yml"


def test_repo_example_inventory_works_for_local(home: Path) -> None:
    repo = REPO
    inv = inventory.load(str(repo / "inventory"))
    assert [h.name for h in inv.select("all")] == ["local"]
    assert inv.hosts["local"].local


def test_cachekit_env_points_a_host_at_its_cache(tmp_path: Path, pip_cache: Path,
                                                 home: Path, run_cachekit) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text(f"all:\n  hosts:\n    local:\n      cachekit_env:\n"
                   f"        PIP_CACHE_DIR: '{pip_cache}'\n")
    out = run_cachekit(["info", "--inventory", str(inv), "--format", "json"], tmp_path / "nowhere")
    assert out.returncode == 0, out.stderr
    cache = json.loads(out.stdout)["hosts"][0]["caches"][0]
    assert cache["path"] == str(pip_cache.resolve()) and cache["wheels"] == 6


# Hostile and careless inventories: refused in bounded time with an error naming the cause --

def refusal(path: Path) -> str:
    """The error loading ``path`` gives, within a deadline (a hang fails the test)."""
    with deadline(60), pytest.raises(CachekitError) as err:
        inventory.load(str(path))
    return str(err.value)


def ansible_refusal(inv: Path, home: Path) -> str:
    env = dict(ansible_env(home), ANSIBLE_INVENTORY_UNPARSED_FAILED="True")
    out = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(inv), "--list"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode != 0, out.stdout
    return out.stderr


CYCLES = {
    "two groups": ("all:\n  children:\n    a:\n      children:\n        b:\n"
                   "          children:\n            a:\n", "contain each other: a > b > a"),
    "itself": ("all:\n  children:\n    a:\n      children:\n        a:\n",
               "line 5: group 'a' lists itself as a child"),
    "all below a group": ("all:\n  children:\n    web:\n      children:\n        all:\n",
                          "contain each other: all > web > all"),
    "across entries": ("a:\n  children:\n    b:\nb:\n  children:\n    c:\nc:\n  children:\n"
                       "    a:\n", "contain each other: a > b > c > a"),
}


@pytest.mark.parametrize("case", list(CYCLES))
def test_cyclic_children_are_refused_by_name_as_ansible_refuses_them(
        tmp_path: Path, home: Path, case: str) -> None:
    text, needle = CYCLES[case]
    inv = tmp_path / "cycle.yml"
    inv.write_text(text)
    said = refusal(inv)
    assert needle in said and str(inv) in said
    theirs = ansible_refusal(inv, home)
    assert "recursive dependency loop" in theirs or "can't add group to itself" in theirs


def nested(depth: int) -> str:
    """Groups g1 > g2 > ... > g<depth>, each inside the one before, with h1 in the last."""
    lines, indent = ["all:", "  children:"], "    "
    for i in range(1, depth + 1):
        lines += [f"{indent}g{i}:", f"{indent}  children:" if i < depth else f"{indent}  hosts:"]
        indent += "    "
    return "\n".join(lines + [f"{indent}h1:", f"{indent}  level: {depth}"]) + "\n"


def test_nesting_up_to_the_limit_works_like_ansible(tmp_path: Path, home: Path) -> None:
    inv = tmp_path / "deep.yml"
    inv.write_text(nested(inventory.MAX_GROUP_DEPTH))
    ours = inventory.load(str(inv))
    assert [h.name for h in ours.select(f"g{inventory.MAX_GROUP_DEPTH}")] == ["h1"]
    assert ansible_hosts(inv, "g1", home) == ["h1"]
    assert ours.hosts["h1"].groups[-1] == f"g{inventory.MAX_GROUP_DEPTH}"


def test_deep_nesting_is_a_clear_error_not_a_recursion_error(tmp_path: Path,
                                                            home: Path, run_cachekit) -> None:
    one_deeper = tmp_path / "deeper.yml"
    one_deeper.write_text(nested(inventory.MAX_GROUP_DEPTH + 1))
    assert "nest 65 deep (all > g1 > g2 > ... > g64 > g65); the limit is 64" in \
        refusal(one_deeper)
    yaml_deep = tmp_path / "yaml3000.yml"
    yaml_deep.write_text(nested(3000))
    assert "nested deeper than 160 levels" in refusal(yaml_deep)
    chain = tmp_path / "chain.yml"  # 3,000 groups, each a child of the one before
    chain.write_text("all:\n  children:\n" + "".join(
        f"    g{i}:\n      children:\n        g{i + 1}:\n" for i in range(3000)))
    assert "nest 3001 deep" in refusal(chain)
    deep_value = tmp_path / "value.yml"  # lists need the most stack: the worst case
    deep_value.write_text("all:\n  vars:\n    x: " + "[" * 150 + "]" * 150 + "\n")
    assert inventory.load(str(deep_value)).hosts["local"].vars["x"]
    out = run_cachekit(["hosts", "--inventory", str(yaml_deep)], tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("hosts,needle", [
    ("h[0:99999999]", "host range '[0:99999999]' in 'h[0:99999999]' makes 100,000,000 hosts"),
    ("h[0:" + "9" * 18 + "]", "the limit is 100,000"),
    ("h[0:" + "9" * 5000 + "]", "numbers in a range have at most 18 digits"),
    ("h[000:999]-[000:999]", "makes 1,000,000 hosts"),
    ("h[1:5:0]", "the step must be at least 1"),
])
def test_host_ranges_are_capped(tmp_path: Path, hosts: str, needle: str) -> None:
    inv = tmp_path / "ranges.yml"
    inv.write_text(f"all:\n  hosts:\n    ? {hosts}\n")  # an explicit key may be long
    said = refusal(inv)
    assert needle in said and f"{inv}, line 3" in said


def test_total_hosts_are_capped(tmp_path: Path, home: Path, run_cachekit) -> None:
    huge = tmp_path / "huge.yml"  # 600,000 hosts, one a line
    huge.write_text("all:\n  hosts:\n" + "".join(f"    h{i}:\n" for i in range(600_000)))
    assert "more than 100,000 hosts in the inventory" in refusal(huge)
    ranged = tmp_path / "ranged.yml"  # 600,000 hosts from six ranges: the second passes
    ranged.write_text("all:\n  hosts:\n" + "".join(
        f"    r{k}-[00000:99999]:\n" for k in range(6)))
    assert "line 4: more than 100,000 hosts" in refusal(ranged)
    out = run_cachekit(["hosts", "--inventory", str(huge)], tmp_path)
    assert out.returncode == 1 and "100,000" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_many_groups_sharing_many_hosts_are_capped(tmp_path: Path) -> None:
    inv = tmp_path / "shared.yml"  # 1,000 groups, each holding the same 10,000 hosts
    inv.write_text("all:\n  children:\n    big:\n      hosts:\n        h[0000:9999]:\n" +
                   "".join(f"    g{i}:\n      children:\n        big:\n" for i in range(1000)))
    assert "hold more than 5,000,000 hosts in all" in refusal(inv)


def test_host_listings_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory, "MAX_HOST_ENTRIES", 10)
    inv = tmp_path / "repeats.yml"  # six hosts, listed in two groups: 12 listings
    inv.write_text("all:\n  children:\n    a:\n      hosts:\n        h[1:6]:\n"
                   "    b:\n      hosts:\n        h[1:6]:\n")
    assert "lists hosts more than 10 times" in refusal(inv)


def test_a_catastrophic_regex_pattern_stops_in_bounded_time(tmp_path: Path,
                                                           home: Path, run_cachekit) -> None:
    inv = tmp_path / "long.yml"
    inv.write_text(f"all:\n  hosts:\n    ? {'a' * 5000}b\n    web1:\n")
    loaded = inventory.load(str(inv))
    with deadline(60), pytest.raises(CachekitError) as err:
        loaded.select("~(a+)+$")
    assert "'~(a+)+$' did not finish matching 4 host and group names in 5 s" in str(err.value)
    assert [h.name for h in loaded.select("~web|x")] == ["web1"]  # a sane one still works
    with pytest.raises(CachekitError, match="bad regular expression"):
        loaded.select("~(")
    with pytest.raises(CachekitError, match="a subscript has at most 18 digits"):
        loaded.select("all[" + "9" * 5000 + "]")
    assert [h.name for h in loaded.select("all[-1]")] == ["web1"]
    out = run_cachekit(["hosts", "--hosts", "~(a+)+$", "--inventory", str(inv)], tmp_path)
    assert out.returncode == 1 and "backtracks" in out.stderr


def test_inventory_files_that_are_fifos_devices_or_huge(tmp_path: Path, home: Path,
                                                        run_cachekit) -> None:
    fifo = tmp_path / "hosts.yml"
    os.mkfifo(fifo)
    assert f"cannot read inventory file {fifo}: not a regular file (a named pipe)" in \
        refusal(fifo)
    out = run_cachekit(["hosts", "--inventory", str(fifo)], tmp_path)
    assert out.returncode == 1 and "named pipe" in out.stderr
    inv = write_farm(tmp_path / "farm")
    os.mkfifo(inv / "extra.yml")  # a FIFO among the inventory's files
    assert "extra.yml: not a regular file" in refusal(inv)
    (inv / "extra.yml").unlink()
    os.mkfifo(inv / "group_vars" / "build.yml")  # not a file: skipped, as before
    (inv / "host_vars" / "db1.yml").symlink_to("/dev/zero")
    with deadline(60):
        assert inventory.load(str(inv)).hosts["db1"].vars["tier"] == "gold"
    os.mkfifo(inv / "host_vars" / "db2" / "b.yml")  # every file of a vars directory is read
    assert "host_vars/db2/b.yml: not a regular file (a named pipe)" in refusal(inv)
    (inv / "host_vars" / "db2" / "b.yml").unlink()
    sparse(inv / "big.yml", 1 << 30)
    assert "big.yml: too large (1 GiB, more than the 64 MiB cap)" in refusal(inv)


def test_yaml_alias_bombs_and_loops_are_refused(tmp_path: Path) -> None:
    laughs = "".join(f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n"
                     for i in range(1, 9))
    bomb = tmp_path / "bomb.yml"  # a few hundred bytes that expand to 10**8 values
    bomb.write_text("all:\n  vars:\n    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + laughs)
    assert "YAML aliases expand this to more than 10,000,000 values" in refusal(bomb)
    loop = tmp_path / "loop.yml"
    loop.write_text("all:\n  vars:\n    x: &x [1, *x]\n")
    assert "line 3: a YAML alias refers to a value that contains it" in refusal(loop)
    fine = tmp_path / "merge.yml"  # anchors and merge keys, as inventories use them
    fine.write_text("all:\n  vars:\n    base: &base {ansible_user: ops, tier: 1}\n"
                    "  hosts:\n    web1:\n      <<: *base\n      tier: 2\n")
    assert inventory.load(str(fine)).hosts["web1"].vars == {"ansible_user": "ops", "tier": 2,
                                                            "base": {"ansible_user": "ops",
                                                                     "tier": 1}}
    theirs = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(fine), "--list"],
                            capture_output=True, text=True, env=ansible_env(tmp_path),
                            timeout=120)
    assert json.loads(theirs.stdout)["_meta"]["hostvars"]["web1"] == \
        inventory.load(str(fine)).hosts["web1"].vars


def test_bad_ports_and_unhashable_keys_are_errors_not_tracebacks(tmp_path: Path,
                                                                home: Path, run_cachekit) -> None:
    inv = tmp_path / "ports.yml"
    inv.write_text("all:\n  hosts:\n    a:\n      ansible_port: abc\n    b:\n"
                   "      ansible_port: 99999999\n    c:\n      ansible_port: '2222'\n")
    loaded = inventory.load(str(inv))
    assert loaded.select("c")[0].port == 2222  # only the hosts a run uses are checked
    for name, shown in (("a", "'abc'"), ("b", "99999999")):
        with pytest.raises(CachekitError, match=f"host {name}: ansible_port {shown} is not"):
            loaded.select(name)
    out = run_cachekit(["hosts", "--inventory", str(inv)], tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    keys = tmp_path / "keys.yml"
    keys.write_text("all:\n  hosts:\n    ? [a, b]\n")
    assert "line 3: invalid YAML: a key must be a plain value" in refusal(keys)


def test_a_zero_step_is_refused_as_ansible_refuses_it(tmp_path: Path, home: Path) -> None:
    inv = tmp_path / "step.yml"
    inv.write_text("all:\n  hosts:\n    h[1:5:0]:\n")
    assert "the step must be at least 1" in refusal(inv)
    assert "must not be zero" in ansible_refusal(inv, home)

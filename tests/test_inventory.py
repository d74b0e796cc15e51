"""The inventory against the real Ansible: same hosts for every pattern, same variables."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from conftest import cachekit

from cachekit import inventory
from cachekit.errors import CachekitError

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


def test_cli_hosts_task_and_bad_inventory(tmp_path: Path, home: Path) -> None:
    inv = write_farm(tmp_path)
    out = cachekit(["hosts", "--hosts", "gpu", "--inventory", str(inv)], tmp_path, home)
    assert out.returncode == 0, out.stderr
    assert "gpu-a" in out.stdout and "2222" in out.stdout and "gpuadmin" in out.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text("all:\n  hosts:\n    - web1\n")
    out = cachekit(["report", "--inventory", str(bad)], tmp_path, home)
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
    repo = Path(__file__).resolve().parent.parent
    inv = inventory.load(str(repo / "inventory"))
    assert [h.name for h in inv.select("all")] == ["local"]
    assert inv.hosts["local"].local


def test_cachekit_env_points_a_host_at_its_cache(tmp_path: Path, pip_cache: Path,
                                                 home: Path) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text(f"all:\n  hosts:\n    local:\n      cachekit_env:\n"
                   f"        PIP_CACHE_DIR: '{pip_cache}'\n")
    out = cachekit(["info", "--inventory", str(inv), "--format", "json"], tmp_path / "nowhere",
                   home)
    assert out.returncode == 0, out.stderr
    cache = json.loads(out.stdout)["hosts"][0]["caches"][0]
    assert cache["path"] == str(pip_cache.resolve()) and cache["wheels"] == 6

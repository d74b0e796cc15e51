"""The modules' results against the real ansible-core on this machine (connection local):
a task fails exactly when cachekit's own run would exit 2, and says why in one line."""

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml

from cachekit import from_ansible
from tests.fixtures import REPO
from tests.fixtures.ansible_lab import BIN, PYTHON, build_collection, local_env, local_module
from tests.fixtures.sshd_lab import PORT, free_port_address


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_collection(tmp_path_factory.mktemp("ckout-built"))


@pytest.fixture
def pinned(pip_cache: Path) -> Iterator[Path]:
    """One file of the pip cache that cannot be removed (immutable), freed at the end."""
    victim = sorted((pip_cache / "wheels").rglob("*.whl"))[0]
    subprocess.run(["chattr", "+i", str(victim)], check=True)
    try:
        yield victim
    finally:
        subprocess.run(["chattr", "-i", str(victim)], check=True)


def test_a_cache_the_core_cannot_serve_fails_the_task(tmp_path: Path, collections: Path,
                                                      home: Path) -> None:
    """`cachekit prune` exits 2 for a cache pip itself would refuse: so does the task."""
    args = {"older_than": "1d", "managers": ["pip"],
            "environ": {"HOME": str(home), "PIP_NO_CACHE_DIR": "maybe"}}
    for module in ("cachekit.caches.prune", "cachekit.caches.info"):
        done, result = local_module(tmp_path, collections, home, module,
                                    args if module.endswith("prune") else
                                    {k: v for k, v in args.items() if k != "older_than"})
        assert done.returncode == 2, done.stdout + done.stderr
        assert result["changed"] is False
        assert result["msg"].startswith(f"cachekit {'prune' if 'prune' in module else 'report'}: "
                                        "pip: pip rejects no-cache-dir"), result["msg"]
        assert "\n" not in result["msg"]


@pytest.mark.root
def test_a_removal_that_fails_fails_the_task_and_keeps_what_went(
        tmp_path: Path, collections: Path, home: Path, pip_cache: Path, pinned: Path) -> None:
    """`cachekit remove` exits 2 when a file would not go: so does the task, and its result
    still lists what went (changed)."""
    package = pinned.name.split("-")[0]
    done, result = local_module(tmp_path, collections, home, "cachekit.caches.remove",
                                {"managers": ["pip"], "pattern": package,
                                 "environ": {"HOME": str(home), "PIP_CACHE_DIR": str(pip_cache)}})
    assert done.returncode == 2, done.stdout + done.stderr
    assert result["changed"] is True
    assert result["msg"].startswith(f"cachekit remove: {pinned}: "), result["msg"]
    rows: List[Dict[str, Any]] = result["cachekit"]["removed"]
    assert result["removed"] == [r["path"] for r in rows if r.get("ok")] != []
    assert pinned.exists() and str(pinned) not in result["removed"]
    assert not any(Path(p).exists() for p in result["removed"])


def planned(tmp_path: Path, collections: Path, home: Path, cache: Path,
            **task: Any) -> List[Dict[str, Any]]:
    """prune's plan (check mode) for ``cache`` with the task's options ``task``."""
    done, result = local_module(tmp_path, collections, home, "cachekit.caches.prune",
                                {"managers": ["pip"], **task,
                                 "environ": {"HOME": str(home), "PIP_CACHE_DIR": str(cache)}},
                                "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    return result["plan"]


def gammas(plan: List[Dict[str, Any]]) -> List[str]:
    return [r["path"] for r in plan if "gamma" in Path(r["path"]).name]


def test_an_option_given_on_the_task_overrides_the_policy_even_false_or_empty(
        tmp_path: Path, collections: Path, home: Path, pip_cache: Path) -> None:
    """`keep: []` and `ci: false` on the task override the group's cachekit_policy; an
    option not given leaves the policy's key, and a given one sets it."""
    kept = {"max_size": "0", "keep": ["gamma*"]}
    assert not gammas(planned(tmp_path, collections, home, pip_cache, policy=kept))
    assert gammas(planned(tmp_path, collections, home, pip_cache, policy=kept, keep=[]))
    assert not gammas(planned(tmp_path, collections, home, pip_cache,
                              policy={"max_size": "0"}, keep=["gamma*"]))

    far = {"older_than": "36500d"}  # selects nothing by age: what goes is ci's
    assert planned(tmp_path, collections, home, pip_cache, policy=dict(far, ci=True))
    assert not planned(tmp_path, collections, home, pip_cache, policy=dict(far, ci=True),
                       ci=False)
    assert planned(tmp_path, collections, home, pip_cache, policy=far, ci=True)


def many_wheels(root: Path, count: int) -> Path:
    """A pip cache of ``count`` built wheels last used 90 days ago."""
    old = time.time() - 90 * 86400
    for i in range(count):
        folder = root / "wheels" / f"{i % 7:02x}" / f"{i % 11:02x}" / f"{i:056x}"
        folder.mkdir(parents=True)
        wheel = folder / f"pkg{i:04d}-1.0-py3-none-any.whl"
        wheel.write_bytes(b"x" * 10)
        os.utime(wheel, (old, old))
    return root


def test_a_large_removal_returns_its_first_rows_and_counts(tmp_path: Path, collections: Path,
                                                           home: Path) -> None:
    """1,200 files removed: the result lists 1,000 of them once each (removed, the core's
    rows), with the whole counts, and not the plan handed to apply; --diff the same."""
    cache = many_wheels(tmp_path / "cache", 1200)
    args = {"managers": ["pip"], "pattern": "pkg*",
            "environ": {"HOME": str(home), "PIP_CACHE_DIR": str(cache)}}
    done, result = local_module(tmp_path, collections, home, "cachekit.caches.remove", args,
                                "--check")
    assert done.returncode == 0, done.stderr
    assert len(result["plan"]) == 1000 and result["plan_count"] == 1200
    assert "plans" not in result["cachekit"]
    done, result = local_module(tmp_path, collections, home, "cachekit.caches.remove", args,
                                "--diff")
    assert done.returncode == 0, done.stderr
    assert result["changed"] is True and result["removed_count"] == 1200
    assert len(result["removed"]) == 1000 and len(result["cachekit"]["removed"]) == 1000
    assert result["cachekit"]["removed_count"] == 1200
    assert not list((cache / "wheels").rglob("*.whl"))
    more = re.search(r"^-\.\.\. and (\d+) more$", done.stdout, re.M)  # files, then dirs
    assert more and int(more[1]) == 200 + result["dirs_removed_count"], done.stdout[-2000:]
    written = (tmp_path / "tree" / "localhost").read_bytes()  # the same 1,000 in every list
    assert len(set(re.findall(rb"pkg\d{4}-1\.0", written))) == 1000


def test_diff_shows_a_large_prunes_rows_as_counts_not_the_root(
        tmp_path: Path, collections: Path, home: Path) -> None:
    """A plan of over 1,000 entries is one row per cache whose path is the root: --diff
    says "<root>: N entries", never the root as a path that goes."""
    cache = many_wheels(tmp_path / "cache", 1200)
    done, result = local_module(tmp_path, collections, home, "cachekit.caches.prune",
                                {"managers": ["pip"], "older_than": "30d",
                                 "environ": {"HOME": str(home), "PIP_CACHE_DIR": str(cache)}},
                                "--check", "--diff")
    assert done.returncode == 0, done.stderr
    assert [r.get("entries") for r in result["plan"]] == [1200]
    assert f"+{cache}: 1200 entries" in done.stdout or f"-{cache}: 1200 entries" in done.stdout, \
        done.stdout
    assert not [line for line in done.stdout.splitlines() if line.rstrip() in
                (f"-{cache}", f"+{cache}")]


def test_the_guides_registered_results_play_writes_every_host_even_unreachable(
        tmp_path: Path, collections: Path, home: Path, pip_cache: Path) -> None:
    """The playbook of docs/guide/ansible.md, run from another directory: it makes
    reports/ beside itself and writes a file for each host, the unreachable one included,
    which --from-ansible reads as a failed row."""
    guide = (REPO / "docs" / "guide" / "ansible.md").read_text()
    after = guide[guide.index("Registered results work too."):]
    play = after[after.index("```yaml\n") + 8:after.index("```\n", after.index("```yaml\n"))]
    plays = tmp_path / "plays"
    plays.mkdir()
    (plays / "measure.yml").write_text(play)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {
        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": PYTHON,
                      "cachekit_env": {"PIP_CACHE_DIR": str(pip_cache), "HOME": str(home)}},
        "ckoutdead": {"ansible_host": free_port_address(190), "ansible_port": PORT,
                      "ansible_ssh_common_args": "-o ConnectTimeout=3 -o StrictHostKeyChecking=no "
                                                 "-o UserKnownHostsFile=/dev/null"}}}}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory),
                           str(plays / "measure.yml")], cwd=elsewhere, text=True,
                          capture_output=True, env=local_env(tmp_path, collections, home),
                          stdin=subprocess.DEVNULL, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr  # ignore_unreachable: the play goes on
    assert sorted(p.name for p in (plays / "reports").iterdir()) == ["ckoutdead.json",
                                                                      "localhost.json"]
    assert not list(elsewhere.iterdir())
    rows = {r["host"]: r for r in from_ansible.read(str(plays / "reports"))}
    assert rows["localhost"]["status"] == "ok" and rows["localhost"]["caches"][0]["bytes"] > 0
    assert rows["ckoutdead"]["status"] == "unreachable"


def test_clean_refuses_managers_other_than_conda_and_says_its_targets_rules(
        tmp_path: Path, collections: Path, home: Path) -> None:
    """managers: [pip] on clean was silently replaced by conda: refused now; the target
    rules are the core's (clean_targets), spelled as the module's options."""
    cases = (({"managers": ["pip", "conda"], "tarballs": True},
              "clean is conda's command: managers takes only conda (or nothing), not pip"),
             ({}, "clean needs at least one target (tarballs, packages, index_cache, "
                  "tempfiles, logfiles, all, trash, lock or force_pkgs_dirs)"),
             ({"force_pkgs_dirs": True, "lock": True},
              "force_pkgs_dirs removes whole caches; give it alone"),
             ({"break_environments": True, "all": True},
              "break_environments only goes with force_pkgs_dirs"))
    for args, msg in cases:
        done, result = local_module(tmp_path, collections, home, "cachekit.caches.clean",
                                    dict(args, environ={"HOME": str(home)}), "--check")
        assert done.returncode == 2, done.stdout + done.stderr
        assert result["msg"] == msg
    done, result = local_module(tmp_path, collections, home, "cachekit.caches.clean",
                                {"managers": ["conda"], "tarballs": True,
                                 "environ": {"HOME": str(home)}}, "--check")
    assert done.returncode == 0, done.stdout + done.stderr

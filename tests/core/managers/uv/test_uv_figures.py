"""uv figures that add up: a real uv cache whose files a real virtual environment (made by
`uv venv`, filled by `uv pip install --link-mode hardlink`) shares by hard links, and the
lock-only directory a failed offline resolve leaves."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from cachekit.core import agent
from tests.fixtures.pip_cache import LoopbackIndex, make_sdist, make_wheel
from tests.fixtures.uv_cache import UV, run_uv, uv_env

UV_DIR = str(Path(UV).parent)


class Linked:
    def __init__(self, cache: Path, venv: Path, home: Path) -> None:
        self.cache, self.venv, self.home = cache, venv, home


@pytest.fixture
def linked(tmp_path: Path, home: Path) -> Linked:
    """A uv cache, a venv in ~/proj/.venv hard-linking beta and delta out of it, and
    ``lockpkg 1.0`` left as a lock-only directory by an offline resolve that failed."""
    served = tmp_path / "served"
    for name, version in (("beta", "1.1"), ("delta", "2.0"), ("keeper", "1.0")):
        make_wheel(served, name, version)
    for version in ("0.1", "1.0"):
        make_sdist(served, "lockpkg", version)
    cache, venv = tmp_path / "uvcache", home / "proj/.venv"
    env = uv_env(home, UV_CACHE_DIR=str(cache))
    made = run_uv(["venv", "--python", sys.executable, str(venv)], env)
    assert made.returncode == 0, made.stderr
    with LoopbackIndex(served) as index:
        done = run_uv(["pip", "install", "--python", str(venv / "bin/python"), "--link-mode",
                       "hardlink", "--index-url", index.url, "beta==1.1", "delta",
                       "lockpkg==0.1"], env)
        assert done.returncode == 0, done.stderr
        done = run_uv(["pip", "install", "--python", sys.executable, "--target",
                       str(tmp_path / "target"), "--index-url", index.url, "keeper"], env)
        assert done.returncode == 0, done.stderr
        failed = run_uv(["pip", "install", "--offline", "--python", sys.executable, "--target",
                         str(tmp_path / "t2"), "--index-url", index.url, "--no-deps",
                         "lockpkg>0.1"], env)
        assert failed.returncode != 0 and "Network connectivity is disabled" in failed.stderr
    assert list(cache.glob("sdists-v*/index/*/lockpkg/1.0/.lock"))
    assert [p.name for p in cache.glob("sdists-v*/index/*/lockpkg/1.0/*")] == [".lock"]
    return Linked(cache, venv, home)


def core(op: str, fx: Linked, **extra: Any) -> Dict[str, Any]:
    environ = {"UV_CACHE_DIR": str(fx.cache), "HOME": str(fx.home),
               "PATH": f"{UV_DIR}:/usr/bin:/bin", "PWD": str(fx.home)}
    result = agent.run({"op": op, "managers": ["uv"], "environ": environ, **extra})
    assert result["status"] == "ok", result["error"]
    return result


def apparent(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def linked_in_venv(fx: Linked, name: str) -> int:
    """Bytes of ``name``'s installed files in the venv that share an inode with the cache."""
    cache_inodes = {(p.lstat().st_dev, p.lstat().st_ino) for p in fx.cache.rglob("*")
                    if p.is_file() and not p.is_symlink()}
    site = next(fx.venv.glob("lib/python*/site-packages"))
    return sum(p.lstat().st_size for p in site.rglob("*")
               if p.is_file() and p.relative_to(site).parts[0].startswith(name)
               and (p.lstat().st_dev, p.lstat().st_ino) in cache_inodes)


def test_a_lock_only_directory_is_not_a_cached_version(linked: Linked) -> None:
    [entry] = core("list", linked, pattern="lockpkg")["entries"]
    assert entry["version"] == "0.1"


def test_remove_plan_and_apply_count_packages_paths_and_bytes_links_keep(
        linked: Linked) -> None:
    delta_linked = linked_in_venv(linked, "delta")
    assert delta_linked > 0  # the venv really shares delta's files with the cache
    info = core("info", linked)["caches"][0]
    assert info["linked_bytes"] >= delta_linked + linked_in_venv(linked, "beta")

    plan = core("remove", linked, pattern="delta")
    figures = plan["caches"][0]["removal"]
    rows = plan["removed"]
    assert (figures["packages"], figures["paths"]) == (1, len(rows))
    assert figures["bytes"] == sum(r["bytes"] for r in rows)
    assert figures["linked_bytes"] == delta_linked
    assert figures["freed_bytes"] + figures["linked_bytes"] == figures["bytes"]
    assert figures["linked_from"] == [[str(linked.venv), delta_linked]]
    assert figures["linked_elsewhere_bytes"] == 0
    assert plan["caches"][0]["reclaimable_bytes"] == figures["freed_bytes"]

    before = apparent(linked.cache)
    done = core("remove", linked, pattern="delta", apply=True)
    went = done["caches"][0]["removal"]
    assert went["done"] and (went["packages"], went["paths"]) == (1, len(rows))
    assert went["bytes"] == before - apparent(linked.cache) == figures["bytes"]
    assert done["reclaimed_bytes"] == went["freed_bytes"] == figures["freed_bytes"]
    assert went["linked_from"] == figures["linked_from"]
    site = next(linked.venv.glob("lib/python*/site-packages"))
    assert (site / "delta.py").exists()  # the environment keeps its copy


def cli(args: List[str], fx: Linked) -> subprocess.CompletedProcess:
    env = uv_env(fx.home, UV_CACHE_DIR=str(fx.cache))
    env["PWD"] = str(fx.home)
    return subprocess.run([sys.executable, "-m", "cachekit", *args, "--managers", "uv"],
                          env=env, cwd=fx.home, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def test_prune_plan_and_apply_say_the_same_units(linked: Linked) -> None:
    rules = ["prune", "--max-size", "0", "--keep", "keeper", "--keep", "lockpkg",
             "--history", "off"]
    plan = cli(rules + ["--dry-run"], linked)
    assert plan.returncode == 0, plan.stderr
    uv_line = next(line for line in plan.stdout.splitlines()
                   if line.startswith("local: uv ") and " packages (" in line)
    assert ": 2 packages (" in uv_line and "to remove; would free" in uv_line
    assert f"would stay on disk, hard-linked from {linked.venv} (" in uv_line
    doc = json.loads(cli(rules + ["--dry-run", "--format", "json"], linked).stdout)
    planned = doc["hosts"][0]["caches"][0]["removal"]
    assert sorted(e["entry"] for e in doc["hosts"][0]["removed"]) == ["beta", "delta"]
    assert planned["freed_bytes"] + planned["linked_bytes"] == planned["bytes"]
    applied = cli(rules + ["--yes"], linked)
    assert applied.returncode == 0, applied.stderr
    summary = next(line for line in applied.stdout.splitlines()
                   if line.startswith("local: 2 uv packages ("))
    assert f"({planned['paths']} paths) removed" in summary
    assert f"; freed {_human(planned['freed_bytes'])}" in summary
    assert any(line.startswith("local: uv ") and ": 2 packages (" in line and "stays on disk"
               in line for line in applied.stdout.splitlines())


def _human(n: int) -> str:
    from cachekit.render import human_bytes

    return human_bytes(n)



def test_a_uv_prune_records_the_size_measured_after_it(linked: Linked, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    done = cli(["prune", "--max-size", "0", "--keep", "keeper", "--yes", "--history",
                str(path)], linked)
    assert done.returncode == 0, done.stderr
    [line] = [json.loads(x) for x in path.read_text().splitlines()]
    after = apparent(linked.cache)
    assert line["after_managers"] == {"uv": after} and line["after_bytes"] == after
    # what the previous version wrote, before minus freed, is wrong where links are kept
    assert line["bytes"] - line["reclaimed_bytes"] > after
    shown = subprocess.run([sys.executable, "-m", "cachekit", "trend", "--history", str(path),
                            "--format", "json"], capture_output=True, text=True, timeout=120)
    [row] = json.loads(shown.stdout)["hosts"]
    assert (row["manager"], row["bytes"], row["after_bytes"]) == ("uv", line["bytes"], after)


def test_info_says_how_much_of_the_cache_environments_share(linked: Linked) -> None:
    shown = cli(["info"], linked)
    assert shown.returncode == 0, shown.stderr
    line = shown.stdout.splitlines()[-1]
    assert line.startswith(f"local: uv {linked.cache}: ") and "of SIZE is hard-linked" in line

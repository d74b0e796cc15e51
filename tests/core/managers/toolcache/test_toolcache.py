"""The runner tool cache, on a fixture laid out as actions/tool-cache lays it out."""

import json
import os
from pathlib import Path
from typing import List

import pytest

from cachekit.core import agent
from tests.fixtures.tool_cache import make_tool_cache


@pytest.fixture
def tool_cache(tmp_path: Path) -> Path:
    root = tmp_path / "_work" / "_tool"
    make_tool_cache(root)
    return root


EXPECTED = {
    "Python/3.10.11/x64": "older patch of Python 3.10 (3.10.13 is kept)",
    "Python/3.11.5/x64": "older patch of Python 3.11 (3.11.7 is kept)",
    "node/18.19.0/x64": "older patch of node 18.19 (18.19.1 is kept)",
    "go/1.21.5/x64": "incomplete download (no .complete marker)",
}


def test_info_reports_each_tool_and_version(tool_cache: Path, home: Path, run_cachekit,
                                            core_run) -> None:
    info = core_run("info", ["toolcache"], {"RUNNER_TOOL_CACHE": str(tool_cache)})["caches"][0]
    assert info["source"] == "RUNNER_TOOL_CACHE" and info["incomplete"] == 1
    assert sorted(info["tools"]["Python"]) == ["3.10.11", "3.10.13", "3.11.5", "3.11.7",
                                               "3.12.1", "3.13.0-rc.1"]
    sizes = make_tool_cache(home / "again")  # the same layout: the same sizes
    assert info["tools"]["Python"]["3.11.7"] == sizes["Python/3.11.7/x64"] + sizes[
        "Python/3.11.7/arm64"]
    text = run_cachekit(["info", "--managers", "toolcache"], home / "nopip",
                        RUNNER_TOOL_CACHE=str(tool_cache))
    assert text.returncode == 0, text.stderr
    [python] = [line.split() for line in text.stdout.splitlines() if " Python " in line]
    assert python[2] == "6"  # 7 installs, 6 versions: two arches of 3.11.7 count once
    assert python[5] == "3.13.0-rc.1"  # newest first: a pre-release above 3.12.1


def test_prune_keeps_the_newest_patch_of_each_minor_and_removes_incomplete(
        tool_cache: Path, core_run) -> None:
    plan = core_run("prune", ["toolcache"], {"RUNNER_TOOL_CACHE": str(tool_cache)},
                    policy={"keep": []})
    assert {r["entry"]: r["reason"] for r in plan["removed"]} == EXPECTED
    done = core_run("prune", ["toolcache"], {"RUNNER_TOOL_CACHE": str(tool_cache)},
                    policy={"keep": []}, apply=True)
    assert all(r["ok"] for r in done["removed"])
    left = sorted(str(p.relative_to(tool_cache)) for p in tool_cache.glob("*/*/*"))
    assert "Python/3.11.5" not in " ".join(left) and not (tool_cache / "go/1.21.5").exists()
    assert (tool_cache / "Python/3.11.7/arm64.complete").exists()
    assert (tool_cache / "go/1.21.4/x64.complete").exists()
    assert not (tool_cache / "Python/3.11.5").exists()  # the emptied version directory too


def test_keep_names_a_tool_or_a_version(tool_cache: Path, core_run) -> None:
    plan = core_run("prune", ["toolcache"], {"RUNNER_TOOL_CACHE": str(tool_cache)},
                    policy={"keep": ["Python/3.11.5", "node"]})
    assert set(r["entry"] for r in plan["removed"]) == {"Python/3.10.11/x64", "go/1.21.5/x64"}
    assert {k["reason"] for k in plan["kept"]} == {"--keep Python/3.11.5", "--keep node"}


def test_agent_toolsdirectory_wins_and_the_cli_applies(tool_cache: Path, home: Path,
                                                       tmp_path: Path, run_cachekit) -> None:
    other = tmp_path / "other"
    other.mkdir()
    result = agent.run({"op": "dir", "managers": ["toolcache"], "environ": {
        "RUNNER_TOOL_CACHE": str(other), "AGENT_TOOLSDIRECTORY": str(tool_cache)}})
    assert result["caches"][0]["path"] == str(tool_cache)
    done = run_cachekit(["prune", "--managers", "toolcache", "--ci", "--yes", "--format", "json",
                         "--history", "off"], home / "nopip", AGENT_TOOLSDIRECTORY=str(tool_cache))
    assert done.returncode == 0, done.stderr
    removed: List[str] = [r["path"] for r in json.loads(done.stdout)["hosts"][0]["removed"]]
    assert sorted(os.path.relpath(p, tool_cache) for p in removed) == sorted(EXPECTED)


def test_only_what_reads_as_a_tool_install_is_ever_pruned(tmp_path: Path, home: Path) -> None:
    import time as _time

    from cachekit.core.managers.toolcache import cache as toolcache

    root = tmp_path / "_tool"
    make_tool_cache(root)
    (root / "go/1.21.0/x64").mkdir(parents=True)
    (root / "go/1.21.0/x64.complete").write_text("")
    for version in ("v2.2.0", "latest", "nightly", "3.13.0-rc.9", "3.13.0-rc.10"):
        (root / "Python" / version / "x64").mkdir(parents=True)
        (root / "Python" / version / "x64.complete").write_text("")
    (root / "notes/readme/stuff").mkdir(parents=True)  # not an install: no arch, no version
    fresh = root / "node/22.1.0/x64"
    fresh.mkdir(parents=True)  # a download in progress (no marker yet, just started)
    selected = {i.entry: rule for i, rule in toolcache.selection(toolcache.scan(str(root))[0])}
    assert "go/1.21.5/x64" in selected  # incomplete, old
    assert selected["go/1.21.0/x64"] == "older patch of go 1.21 (1.21.4 is kept)"
    assert not any(e.startswith(("Python/v2.2.0", "Python/latest",
                                 "Python/nightly", "notes/", "node/22.1.0")) for e in selected)
    assert "Python/3.13.0-rc.9/x64" in selected and "Python/3.13.0-rc.10/x64" not in selected
    old = _time.time() - 7200
    os.utime(fresh, (old, old))
    later = {i.entry for i, _ in toolcache.selection(toolcache.scan(str(root))[0])}
    assert "node/22.1.0/x64" in later  # an hour on, it is a download that never finished


def test_a_home_or_a_stranger_directory_is_never_pruned_as_a_tool_cache(home: Path,
                                                                       tmp_path: Path) -> None:
    (home / "projects/app/src").mkdir(parents=True)
    stranger = tmp_path / "stranger"
    (stranger / "a/b/c").mkdir(parents=True)
    for root in (home, stranger):
        result = agent.run({"op": "prune", "managers": ["toolcache"], "apply": True,
                            "policy": {"keep": []},
                            "environ": {"AGENT_TOOLSDIRECTORY": str(root), "HOME": str(home)}})
        assert result["status"] == "refused", result
    assert (home / "projects/app/src").is_dir() and (stranger / "a/b/c").is_dir()


def test_min_free_gates_the_tool_cache_too(tool_cache: Path, core_run) -> None:
    calm = core_run("prune", ["toolcache"], {"RUNNER_TOOL_CACHE": str(tool_cache)},
                    policy={"keep": [], "min_free": ["percent", 1.0]})
    assert calm["removed"] == []

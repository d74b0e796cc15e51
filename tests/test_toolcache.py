"""The runner tool cache, on a fixture laid out as actions/tool-cache lays it out."""

import json
import os
from pathlib import Path
from typing import Dict, List

import pytest
from conftest import cachekit

from cachekit.core import agent

# tool -> [(version, arch, complete)]
TOOLS = {
    "Python": [("3.10.11", "x64", True), ("3.10.13", "x64", True), ("3.11.5", "x64", True),
               ("3.11.7", "x64", True), ("3.11.7", "arm64", True), ("3.12.1", "x64", True),
               ("3.13.0-rc.1", "x64", True)],
    "node": [("18.19.0", "x64", True), ("18.19.1", "x64", True), ("20.10.0", "x64", True)],
    "go": [("1.21.5", "x64", False), ("1.21.4", "x64", True)],
    "CodeQL": [("2.15.0", "x64", True)],
}


def make_tool_cache(root: Path) -> Dict[str, int]:
    """Each install: a few files (a binary, a lib, a symlink) and its .complete marker."""
    sizes = {}
    for tool, installs in TOOLS.items():
        for version, arch, complete in installs:
            base = root / tool / version / arch
            (base / "bin").mkdir(parents=True)
            (base / "lib").mkdir()
            payload = f"{tool} {version} {arch}".encode() * 50
            (base / "bin" / tool.lower()).write_bytes(payload)
            (base / "lib" / "libtool.so").write_bytes(payload[:500])
            os.symlink(tool.lower(), base / "bin" / "default")
            if complete:
                (root / tool / version / f"{arch}.complete").write_text("")
            sizes[f"{tool}/{version}/{arch}"] = len(payload) + 500 + len(tool.lower())
    return sizes


@pytest.fixture
def tool_cache(tmp_path: Path) -> Path:
    root = tmp_path / "_work" / "_tool"
    make_tool_cache(root)
    return root


def run(op: str, root: Path, **extra) -> dict:
    result = agent.run({"op": op, "managers": ["toolcache"],
                        "environ": {"RUNNER_TOOL_CACHE": str(root)}, **extra})
    assert result["status"] == "ok", result["error"]
    return result


EXPECTED = {
    "Python/3.10.11/x64": "older patch of Python 3.10 (3.10.13 is kept)",
    "Python/3.11.5/x64": "older patch of Python 3.11 (3.11.7 is kept)",
    "node/18.19.0/x64": "older patch of node 18.19 (18.19.1 is kept)",
    "go/1.21.5/x64": "incomplete download (no .complete marker)",
}


def test_info_reports_each_tool_and_version(tool_cache: Path, home: Path) -> None:
    info = run("info", tool_cache)["caches"][0]
    assert info["source"] == "RUNNER_TOOL_CACHE" and info["incomplete"] == 1
    assert sorted(info["tools"]["Python"]) == ["3.10.11", "3.10.13", "3.11.5", "3.11.7",
                                               "3.12.1", "3.13.0-rc.1"]
    sizes = make_tool_cache(home / "again")  # the same layout: the same sizes
    assert info["tools"]["Python"]["3.11.7"] == sizes["Python/3.11.7/x64"] + sizes[
        "Python/3.11.7/arm64"]
    text = cachekit(["info", "--managers", "toolcache"], home / "nopip", home,
                    RUNNER_TOOL_CACHE=str(tool_cache))
    assert text.returncode == 0, text.stderr
    assert "3.13.0-rc.1" in text.stdout and "Python    7" not in text.stdout


def test_prune_keeps_the_newest_patch_of_each_minor_and_removes_incomplete(
        tool_cache: Path) -> None:
    plan = run("prune", tool_cache, policy={"keep": []})
    assert {r["entry"]: r["reason"] for r in plan["removed"]} == EXPECTED
    done = run("prune", tool_cache, policy={"keep": []}, apply=True)
    assert all(r["ok"] for r in done["removed"])
    left = sorted(str(p.relative_to(tool_cache)) for p in tool_cache.glob("*/*/*"))
    assert "Python/3.11.5" not in " ".join(left) and not (tool_cache / "go/1.21.5").exists()
    assert (tool_cache / "Python/3.11.7/arm64.complete").exists()
    assert (tool_cache / "go/1.21.4/x64.complete").exists()
    assert not (tool_cache / "Python/3.11.5").exists()  # the emptied version directory too


def test_keep_names_a_tool_or_a_version(tool_cache: Path) -> None:
    plan = run("prune", tool_cache, policy={"keep": ["Python/3.11.5", "node"]})
    assert set(r["entry"] for r in plan["removed"]) == {"Python/3.10.11/x64", "go/1.21.5/x64"}
    assert {k["reason"] for k in plan["kept"]} == {"--keep Python/3.11.5", "--keep node"}


def test_agent_toolsdirectory_wins_and_the_cli_applies(tool_cache: Path, home: Path,
                                                       tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    result = agent.run({"op": "dir", "managers": ["toolcache"], "environ": {
        "RUNNER_TOOL_CACHE": str(other), "AGENT_TOOLSDIRECTORY": str(tool_cache)}})
    assert result["caches"][0]["path"] == str(tool_cache)
    done = cachekit(["prune", "--managers", "toolcache", "--ci", "--yes", "--format", "json",
                     "--history", "off"], home / "nopip", home,
                    AGENT_TOOLSDIRECTORY=str(tool_cache))
    assert done.returncode == 0, done.stderr
    removed: List[str] = [r["path"] for r in json.loads(done.stdout)["hosts"][0]["removed"]]
    assert sorted(os.path.relpath(p, tool_cache) for p in removed) == sorted(EXPECTED)

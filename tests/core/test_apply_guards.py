"""What the compact purge and prune applies must never do: cross into another file system
mounted inside the cache, follow a bucket swapped for a symlink, leave half an HTTP entry
on Ctrl-C, or start removing before every path of a plan was checked."""

import os
import time
from pathlib import Path

import pytest

from cachekit.core import agent, stopping
from tests.fixtures.disk import tmpfs
from tests.fixtures.tool_cache import make_tool_cache


def old(path: Path) -> None:
    past = time.time() - 400 * 86400
    os.utime(path, (past, past))


def pip_request(cache: Path, **extra):
    return dict({"managers": ["pip"], "environ": {"PIP_CACHE_DIR": str(cache)}}, **extra)


@pytest.mark.root
def test_prune_never_crosses_a_mount_inside_the_cache(pip_cache: Path) -> None:
    with tmpfs(pip_cache / "http-v2" / "a" / "b" / "mnt", "size=1m") as mnt:
        precious = mnt / "precious" / "data.db"
        precious.parent.mkdir()
        precious.write_text("keep me")
        old(precious)
        plan = agent.run(pip_request(pip_cache, op="prune", policy={"older_than_s": 86400}))
        cache = plan["caches"][0]
        assert "another file system; not crossed" in cache["error"], cache
        assert not plan.get("plans") and not plan["removed"]
        assert precious.read_text() == "keep me"


@pytest.mark.root
def test_purge_apply_never_crosses_a_mount_planned_past(pip_cache: Path) -> None:
    """A mount made between the plan and its apply is not entered either."""
    plan = agent.run(pip_request(pip_cache, op="purge"))
    assert plan["status"] == "ok", plan["error"]
    with tmpfs(pip_cache / "http-v2" / "late", "size=1m") as mnt:
        (mnt / "data").write_text("keep me")
        done = agent.run(pip_request(pip_cache, op="apply", plans=plan["plans"]))
        assert (mnt / "data").read_text() == "keep me"
        assert done["status"] == "ok", done["error"]


def test_a_prune_apply_does_not_follow_a_bucket_swapped_for_a_symlink(
        pip_cache: Path, tmp_path: Path) -> None:
    for body in pip_cache.glob("http-v2/**/*"):
        if body.is_file():
            old(body)
    plan = agent.run(pip_request(pip_cache, op="prune", policy={"older_than_s": 86400}))
    assert plan["status"] == "ok" and plan["plans"], plan["error"]
    secret = tmp_path / "private"
    (secret / "x").mkdir(parents=True)
    (secret / "x" / "id_rsa").write_text("secret")
    old(secret / "x" / "id_rsa")
    http = pip_cache / "http"
    http.rename(tmp_path / "http-moved")
    http.symlink_to(secret)
    done = agent.run(pip_request(pip_cache, op="apply", plans=plan["plans"]))
    assert (secret / "x" / "id_rsa").read_text() == "secret"
    assert "id_rsa" not in repr(done)  # not even read: nothing of it is reported


def test_ctrl_c_between_an_http_entrys_files_lets_the_entry_finish(pip_cache: Path,
                                                                   monkeypatch) -> None:
    """Ctrl-C arriving right after an entry's metadata went: its body goes too, and the
    next entry stays whole."""
    plan = agent.run(pip_request(pip_cache, op="purge"))
    entries = sorted(p for p in pip_cache.glob("http-v2/**/*") if p.is_file()
                     and not p.name.endswith(".body") and p.with_name(p.name + ".body").exists())
    assert len(entries) >= 2
    real_unlink = os.unlink
    metadata = {m.name for m in entries}

    def unlink_then_ctrl_c(path, *args, **kwargs):  # the real unlink, then a Ctrl-C
        real_unlink(path, *args, **kwargs)
        if os.path.basename(str(path)) in metadata:
            stopping._requested = True

    monkeypatch.setattr(os, "unlink", unlink_then_ctrl_c)
    monkeypatch.setattr(stopping, "_armed", True)
    monkeypatch.setattr(stopping, "_requested", False)
    agent.run(pip_request(pip_cache, op="apply", plans=plan["plans"]))
    monkeypatch.undo()
    for meta in entries:  # never one file of an entry without the other
        assert meta.exists() == meta.with_name(meta.name + ".body").exists(), meta
    assert any(not m.exists() for m in entries) and any(m.exists() for m in entries)


def test_a_forged_path_is_refused_before_anything_is_removed(pip_cache: Path) -> None:
    plan = agent.run(pip_request(pip_cache, op="remove", pattern="alpha"))
    wire = plan["plans"][0]
    assert wire["files"], wire
    first = pip_cache / wire["files"][0][0]
    victim = pip_cache.parent / "victim"
    victim.write_text("mine")
    wire["files"].append(["wheels/../../victim", 4, 0, 0])
    done = agent.run(pip_request(pip_cache, op="apply", plans=[wire]))
    assert done["status"] == "refused" and "not a path inside the cache" in done["error"]
    assert first.exists() and victim.read_text() == "mine"


@pytest.mark.parametrize("bend", ["root_id", "item"])
def test_every_plan_of_an_apply_is_checked_before_any_plan_removes(
        pip_cache: Path, tmp_path: Path, bend: str) -> None:
    """A bent tool-cache plan behind a good pip plan: refused before the pip plan runs."""
    tools = tmp_path / "_tool"
    make_tool_cache(tools)
    environ = {"PIP_CACHE_DIR": str(pip_cache), "RUNNER_TOOL_CACHE": str(tools)}
    purge = agent.run({"op": "purge", "managers": ["pip"], "environ": environ})
    prune = agent.run({"op": "prune", "managers": ["toolcache"], "environ": environ,
                       "policy": {}})
    assert purge["plans"] and prune["plans"], (purge["error"], prune["error"])
    tool_plan = prune["plans"][0]
    if bend == "root_id":
        tool_plan["root_id"] = [tool_plan["root_id"][0], tool_plan["root_id"][1] + 1]
    else:
        tool_plan["items"][0] = tool_plan["items"][0][:2]
    before = sorted(p for p in pip_cache.rglob("*"))
    done = agent.run({"op": "apply", "environ": environ,
                      "plans": purge["plans"] + [tool_plan]})
    assert done["status"] == "refused" and "plan again" in done["error"], done["error"]
    assert sorted(p for p in pip_cache.rglob("*")) == before


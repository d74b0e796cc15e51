"""The Uv manager through the registry alone: every op it declares works on a real uv
cache (the real uv on PATH), each protocol method an op needs is uv's own, and a plan it
did not make is refused before anything is run."""

from pathlib import Path
from typing import Any, Dict, List

import pytest

from cachekit.core import Refused, agent, registry
from cachekit.core.managers.base import ALL_OPS, Manager
from cachekit.core.wire import Run, new_result
from tests.fixtures.uv_cache import UV

UV_DIR = str(Path(UV).parent)
# the protocol methods each op calls (core/ops)
METHODS = {"dir": ["caches"], "info": ["caches", "measure"], "report": ["caches", "measure"],
           "list": ["caches", "entries"], "remove": ["caches", "plan", "recognise", "apply"],
           "purge": ["caches", "plan", "recognise", "apply"],
           "prune": ["caches", "prune_scopes", "apply"], "locations": ["location"],
           "relocate": ["settings"]}


def environ(cache: Path, home: Path) -> Dict[str, str]:
    return {"UV_CACHE_DIR": str(cache), "HOME": str(home), "PATH": f"{UV_DIR}:/usr/bin:/bin"}


def run(op: str, cache: Path, home: Path, **extra: Any) -> Dict[str, Any]:
    extra.setdefault("environ", environ(cache, home))
    result = agent.run({"op": op, "managers": ["uv"], **extra})
    assert result["status"] == "ok", result["error"]
    return result


def test_the_registry_gives_uv_s_own_manager() -> None:
    cls = registry.load("uv")
    assert issubclass(cls, Manager) and cls.name == "uv" and cls.__name__ == "Uv"
    assert cls.ops <= ALL_OPS and "clean" not in cls.ops
    assert cls.env_prefixes == ("UV_",)
    assert [c[0] for c in cls.info_columns] == ["UV CACHE", "SIZE", "FILES", "ON DISK",
                                                "PACKAGES", "LARGEST BUCKETS", "NOT UV'S"]
    assert sorted(cls.notes) == ["dir", "info"]
    for op in cls.ops:
        for method in METHODS[op]:
            assert getattr(cls, method) is not getattr(Manager, method), (op, method)


def test_every_declared_op_works_on_a_real_uv_cache(uv_cache: Path, home: Path,
                                                     tmp_path: Path) -> None:
    ops = registry.load("uv").ops
    seen: List[str] = []
    if "dir" in ops:
        cache = run("dir", uv_cache, home)["caches"][0]
        assert cache["path"] == str(uv_cache) and cache["exists"]
        assert cache["uv_binary"] == UV
        assert cache["uv_binary_source"] == "PATH" and "notes" not in cache
        seen.append("dir")
    for op in ("info", "report"):
        if op in ops:
            cache = run(op, uv_cache, home)["caches"][0]
            assert cache["bytes"] > 0 and cache["packages"] == 4 and cache["root_id"]
            assert 0 < cache["reclaimable_bytes"] <= cache["bytes"]
            assert all(key in cache for _h, key, _how in registry.load("uv").info_columns)
            assert all(key in cache for key, _set, _empty in registry.load("uv").notes["info"])
            seen.append(op)
    if "list" in ops:
        names = {e["name"] for e in run("list", uv_cache, home)["entries"]}
        assert names == {"beta", "delta", "gamma", "foo-bar"}
        seen.append("list")
    if "locations" in ops:
        found = run("locations", uv_cache, home)["locations"]
        assert [(r["manager"], r["path"], r["source"]) for r in found] == [
            ("uv", str(uv_cache), "UV_CACHE_DIR")]
        seen.append("locations")
    if "relocate" in ops:
        target = tmp_path / "elsewhere"  # UV_CACHE_DIR would win over uv.toml: unset
        unset = {k: v for k, v in environ(uv_cache, home).items() if k != "UV_CACHE_DIR"}
        plan = run("relocate", uv_cache, home, to=str(target), environ=unset)["relocation"]
        assert plan["manager"] == "uv" and plan["to"] == str(target)
        assert f'+cache-dir = "{target}"' in plan["diff"]
        seen.append("relocate")
    if "remove" in ops:  # a plan, then the same plan sent back and applied
        dry = run("remove", uv_cache, home, pattern="beta")
        assert dry["plans"] and all(r["ok"] is None for r in dry["removed"])
        done = run("apply", uv_cache, home, plans=dry["plans"])
        assert done["removed"] and all(r["ok"] for r in done["removed"])
        assert done["caches"][0]["removal"]["done"] is True
        assert "beta" not in {e["name"] for e in run("list", uv_cache, home)["entries"]}
        seen.append("remove")
    if "prune" in ops:
        dry = run("prune", uv_cache, home, policy={"keep": [], "max_size_bytes": 0})
        assert {r["entry"] for r in dry["removed"]} == {"delta", "gamma", "foo-bar"}
        assert dry["caches"][0]["last_use"]
        seen.append("prune")
    if "purge" in ops:
        done = run("purge", uv_cache, home, apply=True)
        assert done["removed"] and all(r["ok"] for r in done["removed"])
        assert sorted(p.name for p in uv_cache.iterdir()) == [".lock"]
        seen.append("purge")
    assert sorted(seen) == sorted(ops)


@pytest.mark.parametrize("bent,why", [
    ({"names": ["--no-cache"]}, "a package name that is not one"),
    ({"action": "rm"}, "an unknown action"),
    ({"binary": "uv"}, "a uv that is not an absolute path"),
    ({"paths": [["../elsewhere", 1, "x", 1]]}, "a path outside the cache"),
    ({"root_id": [0, 0]}, "not this host's"),
    ({"binary": "/bin/true"}, "not the uv this host uses"),  # never a program of the plan's
])
def test_a_plan_it_did_not_make_is_refused_before_anything_runs(
        uv_cache: Path, home: Path, bent: Dict[str, Any], why: str) -> None:
    dry = run("remove", uv_cache, home, pattern="beta")
    plan = dict(dry["plans"][0], **bent)
    request: Any = {"op": "apply", "managers": ["uv"], "plans": [plan]}
    uv = registry.load("uv")(Run(request, environ(uv_cache, home), new_result("apply", request)))
    with pytest.raises(Refused, match=why):
        uv.recognise(plan, uv.caches())
    refused = agent.run(dict(request, environ=environ(uv_cache, home)))
    assert refused["status"] == "refused" and why in refused["error"]
    assert "beta" in {e["name"] for e in run("list", uv_cache, home)["entries"]}


def test_prune_ci_with_packages_plans_uv_s_prune_then_the_packages(uv_cache: Path,
                                                                   home: Path) -> None:
    """--ci and a budget together: `uv cache prune --ci`, then `uv cache clean` for the
    packages still over the budget (their rules once, the --ci entry's its own)."""
    done = run("prune", uv_cache, home, apply=True,
               policy={"keep": [], "ci": True, "max_size_bytes": 0})
    assert [p["action"] for p in done["plans"]] == ["prune-ci", "clean"]
    assert done["removed"] and all(r["ok"] for r in done["removed"])
    assert run("list", uv_cache, home)["entries"] == []

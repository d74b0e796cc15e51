"""The Poetry manager through the registry alone: every op it declares works on a real
Poetry cache dir (made by the real Poetry), each protocol method an op needs is Poetry's
own, a plan it did not make is refused before anything is removed, and ``virtualenvs/``
is never touched."""

from pathlib import Path
from typing import Any, Dict, List

import pytest

from cachekit.core import Refused, agent, registry
from cachekit.core.managers.base import ALL_OPS, Manager
from cachekit.core.wire import Run, new_result
from tests.fixtures.poetry_cache import RELEASES, tree_digest

METHODS = {"dir": ["caches"], "info": ["caches", "measure"], "report": ["caches", "measure"],
           "list": ["caches", "entries"], "remove": ["caches", "plan", "recognise", "apply"],
           "purge": ["caches", "plan", "recognise", "apply"],
           "prune": ["caches", "prune_scopes", "apply"], "locations": ["location"],
           "relocate": ["settings"]}


def environ(cache: Path, home: Path) -> Dict[str, str]:
    return {"POETRY_CACHE_DIR": str(cache), "HOME": str(home), "PATH": "/usr/bin:/bin"}


def run(op: str, cache: Path, home: Path, **extra: Any) -> Dict[str, Any]:
    extra.setdefault("environ", environ(cache, home))
    result = agent.run({"op": op, "managers": ["poetry"], **extra})
    assert result["status"] == "ok", result["error"]
    return result


def releases(cache: Path, home: Path) -> set:
    return {(e["name"], e["version"]) for e in run("list", cache, home)["entries"]
            if e["version"] != "(index pages)"}


def test_the_registry_gives_poetry_s_own_manager() -> None:
    cls = registry.load("poetry")
    assert issubclass(cls, Manager) and cls.name == "poetry" and cls.__name__ == "Poetry"
    assert cls.ops <= ALL_OPS and "clean" not in cls.ops
    assert cls.env_prefixes == ("POETRY_",)
    assert list(registry.known()).index("poetry") > list(registry.known()).index("toolcache")
    for op in cls.ops:
        for method in METHODS[op]:
            assert getattr(cls, method) is not getattr(Manager, method), (op, method)


def test_every_declared_op_works_on_a_real_poetry_cache(poetry_cache: Path, home: Path,
                                                         tmp_path: Path) -> None:
    ops = registry.load("poetry").ops
    envs = tree_digest(poetry_cache / "virtualenvs")
    seen: List[str] = []
    cache = run("dir", poetry_cache, home)["caches"][0]
    assert cache["path"] == str(poetry_cache) and cache["exists"]
    assert cache["source"] == "POETRY_CACHE_DIR"
    seen.append("dir")
    for op in ("info", "report"):
        cache = run(op, poetry_cache, home)["caches"][0]
        assert cache["bytes"] > 0 and cache["releases"] == len(RELEASES)
        assert set(cache["repositories"]) == {"_default_cache", "local"}
        assert cache["virtualenvs"] == 2
        assert 0 < cache["reclaimable_bytes"] <= cache["bytes"]
        assert all(key.split()[0] in cache
                   for _h, key, _how in registry.load("poetry").info_columns)
        seen.append(op)
    assert releases(poetry_cache, home) == RELEASES
    seen.append("list")
    found = run("locations", poetry_cache, home)["locations"]
    assert [(r["manager"], r["path"], r["source"]) for r in found] == [
        ("poetry", str(poetry_cache), "POETRY_CACHE_DIR")]
    seen.append("locations")
    target = tmp_path / "elsewhere"
    unset = {k: v for k, v in environ(poetry_cache, home).items() if k != "POETRY_CACHE_DIR"}
    plan = run("relocate", poetry_cache, home, to=str(target), environ=unset)["relocation"]
    assert plan["manager"] == "poetry" and f'+cache-dir = "{target}"' in plan["diff"]
    seen.append("relocate")
    dry = run("remove", poetry_cache, home, pattern="beta")
    assert dry["plans"] and all(r["ok"] is None for r in dry["removed"])
    done = run("apply", poetry_cache, home, plans=dry["plans"])
    assert done["removed"] and all(r["ok"] for r in done["removed"])
    assert releases(poetry_cache, home) == RELEASES - {("beta", "1.0"), ("beta", "1.1")}
    seen.append("remove")
    dry = run("prune", poetry_cache, home, policy={"keep": [], "max_size_bytes": 0})
    assert {r["package"] for r in dry["removed"]} == {"delta", "gamma", "foo-bar"}
    assert dry["caches"][0]["last_use"]
    seen.append("prune")
    done = run("purge", poetry_cache, home, apply=True)
    assert done["removed"] and all(r["ok"] for r in done["removed"])
    assert sorted(p.name for p in poetry_cache.iterdir()) == ["artifacts", "cache",
                                                               "virtualenvs"]
    assert list((poetry_cache / "artifacts").iterdir()) == []
    assert list((poetry_cache / "cache/repositories").iterdir()) == []
    seen.append("purge")
    assert tree_digest(poetry_cache / "virtualenvs") == envs
    assert sorted(seen) == sorted(ops)


@pytest.mark.parametrize("bent,why", [
    ({"items": [["virtualenvs/x", "tree", 1, 1, 0, 0, "r", "", "g"]]}, "never touched"),
    ({"items": [["src/x", "file", 1, 1, 0, 0, "r", "", "g"]]}, "never touched"),
    ({"items": [["cache/repositories/../../x", "file", 1, 1, 0, 0, "r", "", "g"]]},
     "never touched"),
    ({"items": [["artifacts", "tree", 1, 1, 0, 0, "r", "", "g"]]}, "never touched"),
    ({"items": [["artifacts/ci/build.tar", "file", 1, 1, 0, 0, "r", "", "g"]]},
     "never touched"),
    ({"items": [["artifacts/ab/cd/ef", "tree", 1, 1, 0, 0, "r", "", "g"]]}, "never touched"),
    ({"items": [["artifacts/x"]]}, "another shape"),
    ({"root_id": [0, 0]}, "not this host's"),
])
def test_a_plan_it_did_not_make_is_refused_before_anything_is_removed(
        poetry_cache: Path, home: Path, bent: Dict[str, Any], why: str) -> None:
    dry = run("remove", poetry_cache, home, pattern="beta")
    plan = dict(dry["plans"][0], **bent)
    request: Any = {"op": "apply", "managers": ["poetry"], "plans": [plan]}
    poetry = registry.load("poetry")(Run(request, environ(poetry_cache, home),
                                         new_result("apply", request)))
    with pytest.raises(Refused, match=why):
        poetry.recognise(plan, poetry.caches())
    refused = agent.run(dict(request, environ=environ(poetry_cache, home)))
    assert refused["status"] == "refused" and why in refused["error"]
    assert ("beta", "1.1") in releases(poetry_cache, home)

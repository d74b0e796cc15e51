"""The Conda manager serves every op it declares, called as the generic ops call it:
through the registry, on the real conda fixture."""

import os
from typing import Any, Dict, List

from cachekit.core import registry
from cachekit.core.managers.base import ALL_OPS, Manager, Settings
from cachekit.core.policy import Scope
from cachekit.core.wire import Run, new_result
from tests.fixtures.conda_cache import CondaFixture

# which methods an op needs beyond ``caches``
METHODS = {"dir": [], "info": ["measure"], "report": ["measure"], "list": ["entries"],
           "remove": ["plan", "recognise", "apply"], "purge": ["plan", "recognise", "apply"],
           "clean": ["plan", "recognise", "apply"], "prune": ["prune_scopes"],
           "locations": ["location"], "relocate": ["settings"]}


def manager(conda: CondaFixture, heard: List[Dict[str, Any]], **asked: Any) -> Manager:
    request: Any = dict(asked, environ=conda.environ)
    run = Run(request, conda.environ, new_result(asked["op"], request), heard.append)
    return registry.load("conda")(run)


def test_every_declared_op_has_its_methods() -> None:
    cls = registry.load("conda")
    assert cls.ops <= ALL_OPS and cls.ops == ALL_OPS
    for op in cls.ops:
        for method in ["caches"] + METHODS[op]:
            assert getattr(cls, method) is not getattr(Manager, method), (op, method)
    assert cls.layout_problem is not Manager.layout_problem
    assert [h for h, _k, _f in cls.info_columns][0] == "CONDA CACHE"


def test_read_ops(conda: CondaFixture) -> None:
    heard: List[Dict[str, Any]] = []
    m = manager(conda, heard, op="dir")
    assert m.present()
    caches = m.caches()
    assert str(conda.pkgs) in [c["path"] for c in caches]
    assert m.run.result["environments"]
    for op in ("info", "report"):
        m = manager(conda, heard, op=op)
        caches = m.caches()
        m.measure(caches)
        pkgs = next(c for c in caches if c["path"] == str(conda.pkgs))
        assert pkgs["bytes"] > 0 and pkgs["reclaimable_bytes"] > 0
        assert {"tarballs", "packages", "unused_packages", "unused_bytes"} <= set(pkgs)
    m = manager(conda, heard, op="list", pattern="delta")
    rows = m.entries(m.caches())
    assert {r["name"] for r in rows} == {"delta"} and rows
    assert heard == []


def test_plan_recognise_apply(conda: CondaFixture) -> None:
    heard: List[Dict[str, Any]] = []
    m = manager(conda, heard, op="clean", flags=["tarballs"])
    plans = m.plan(m.caches())
    assert plans and all(p["manager"] == "conda" for p in plans)
    planned = {r["path"] for r in m.run.result["removed"]}
    assert all(r["ok"] is None for r in m.run.result["removed"]) and planned
    assert all(os.path.exists(p) for p in planned)  # a plan removes nothing
    later = manager(conda, heard, op="apply", plans=plans)
    caches = later.caches()
    for wire in plans:
        later.recognise(wire, caches)
    for wire in plans:
        later.apply(wire)
    done = later.run.result["removed"]
    assert {r["path"] for r in done} == planned and all(r["ok"] for r in done)
    assert heard == done  # every row through run.report, progress included
    assert not any(os.path.exists(p) for p in planned)
    assert later.run.result["reclaimed_bytes"] > 0
    for op, extra in (("remove", {"pattern": "delta"}), ("purge", {})):
        m = manager(conda, heard, op=op, **extra)
        assert m.plan(m.caches())


def test_prune_locations_relocate(conda: CondaFixture) -> None:
    heard: List[Dict[str, Any]] = []
    m = manager(conda, heard, op="prune", policy={"older_than_s": 0})
    scopes = m.prune_scopes(m.caches())
    assert scopes and all(isinstance(s, Scope) and s.manager == "conda" for s in scopes)
    assert any(c.entry == "delta-3.1-h2_1" for s in scopes for c in s.candidates)
    m = manager(conda, heard, op="locations")
    record = m.location()
    assert record["manager"] == "conda" and record["path"] == str(conda.pkgs)
    settings = manager(conda, heard, op="relocate").settings()
    assert isinstance(settings, Settings)
    current, every = settings.current()
    assert current == str(conda.pkgs) and current in every
    assert settings.config_file().endswith(".condarc")
    edited = settings.edit("", "/new/pkgs", every)
    settings.parse(settings.config_file(), edited)
    assert settings.would_be(settings.config_file(), edited) is not None


def test_layout_by_plan_kind(conda: CondaFixture) -> None:
    cls = registry.load("conda")
    assert cls.layout_problem(str(conda.pkgs)) == ""
    assert cls.layout_problem(str(conda.root)) != ""  # a prefix is no package cache
    assert cls.layout_problem(str(conda.root / "lib"), "tempfiles") == ""
    assert cls.label_for("trash") == "conda prefix"

"""The PDM manager through the core: prune's policies, safety refusals, plans it did not
make, locations/relocate, the program's tables, and a host without PDM loading none of it."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from cachekit.core import agent, registry
from tests.fixtures.pdm_cache import PDM, pdm_env
from tests.fixtures.program import run_core

DAY = 86400 * 10 ** 9
ZETA_WHEEL_GLOB = "wheels/*/*/*/*/zeta-2.1-py3-none-any.whl"
ZETA = "packages/zeta-2.1-py3-none-any.whl.cache"
EPSILON = "packages/epsilon-1.0-py3-none-any.whl.cache"


def core(op: str, cache: Path, **request: Any) -> Dict[str, Any]:
    return run_core(op, ["pdm"], {"PDM_CACHE_DIR": str(cache)}, **request)


def age(path: Path, days: int) -> None:
    """Make every file under ``path`` last used ``days`` ago."""
    when = time.time_ns() - days * DAY
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for f in files:
        os.utime(f, ns=(when, when), follow_symlinks=False)


def planned(result: Dict[str, Any], root: Path) -> set:
    return {os.path.relpath(r["path"], root) for r in result["removed"]}


def test_prune_policies(pdm_cache: Path) -> None:
    for p in pdm_cache.rglob("*"):  # everything used today, then some of it long ago
        if p.is_file() and not p.is_symlink():
            os.utime(p)
    zeta_wheel = next(pdm_cache.glob(ZETA_WHEEL_GLOB))
    age(zeta_wheel, 60)
    age(pdm_cache / ZETA, 40)
    age(pdm_cache / "http", 90)
    rel_wheel = os.path.relpath(zeta_wheel, pdm_cache)
    older = core("prune", pdm_cache, policy={"keep": [], "older_than_s": 30 * 86400})
    assert planned(older, pdm_cache) == {rel_wheel, ZETA, "http"}
    assert older["caches"][0]["last_use"]
    kept = core("prune", pdm_cache, policy={"keep": ["zeta"], "older_than_s": 30 * 86400})
    assert planned(kept, pdm_cache) == {"http"}
    ci = core("prune", pdm_cache, policy={"keep": [], "ci": True})
    meta = {os.path.relpath(p, pdm_cache) for p in (pdm_cache / "metadata").iterdir()}
    assert planned(ci, pdm_cache) == {"http", "hashes", ZETA, EPSILON} | meta
    in_use = {os.path.relpath(k["path"], pdm_cache) for k in ci["kept"]}
    assert len(in_use) == 4 and all(k.startswith("packages/") for k in in_use)
    rec = core("info", pdm_cache)["caches"][0]
    budget = core("prune", pdm_cache, policy={"keep": [], "max_size_bytes": rec["bytes"] - 1})
    assert planned(budget, pdm_cache) == {"http"}  # the least recently used goes first
    spare = core("prune", pdm_cache, policy={"keep": [], "min_free": ["percent", 0.0]})
    assert spare["removed"] == [] and spare["policy_notes"]
    full = core("prune", pdm_cache, policy={"keep": [], "min_free": ["percent", 100.0]})
    assert planned(full, pdm_cache) >= {"http", "hashes", rel_wheel, ZETA}
    done = core("prune", pdm_cache, apply=True,
                policy={"keep": [], "older_than_s": 30 * 86400})
    assert all(r["ok"] for r in done["removed"])
    assert not zeta_wheel.exists() and not (pdm_cache / ZETA).exists()
    assert (pdm_cache / "http").is_dir() and not list((pdm_cache / "http").iterdir())
    assert done["caches"][0]["after_bytes"] < rec["bytes"]


@pytest.mark.parametrize("where", ["root", "home", "stranger", "project"])
def test_a_cache_that_is_not_pdm_s_is_refused(where: str, home: Path, tmp_path: Path) -> None:
    stranger = tmp_path / "photos"
    stranger.mkdir()
    (stranger / "cat.jpg").write_text("meow")
    project = tmp_path / "webapp"  # a bucket's name alone is no proof
    (project / "http").mkdir(parents=True)
    (project / "http/server.py").write_text("print('hi')")
    (project / "pyproject.toml").write_text("")
    path = {"root": "/", "home": str(home), "stranger": str(stranger),
            "project": str(project)}[where]
    for op in ("purge", "prune"):
        refused = run_core(op, ["pdm"], {"PDM_CACHE_DIR": path}, ok=False,
                           policy={"keep": [], "ci": True})
        assert refused["status"] == "refused", refused
        assert "PDM_CACHE_DIR" in refused["error"] and "\n" not in refused["error"]
    assert (stranger / "cat.jpg").exists() and (project / "http/server.py").exists()


@pytest.mark.parametrize("bent,why", [
    ({"root_id": [0, 0]}, "not this host's"),
    ({"files": [["../elsewhere/x", 1, 1, 1, "r", ""]]}, "not a file of a PDM bucket"),
    ({"files": [["plugins/x/y", 1, 1, 1, "r", ""]]}, "not a file of a PDM bucket"),
    ({"sweeps": [{"bucket": "plugins"}]}, "not a PDM bucket"),
    ({"packages": [["packages/../../x.whl.cache", 1, 1, "r", "x", 1, 1, 1]]},
     "not a PDM package directory"),
    ({"planned_at_ns": None}, "no time it was planned"),
])
def test_a_plan_it_did_not_make_is_refused_before_anything_runs(
        pdm_cache: Path, bent: Dict[str, Any], why: str) -> None:
    dry = core("purge", pdm_cache)
    plan = dict(dry["plans"][0], **bent)
    refused = agent.run({"op": "apply", "managers": ["pdm"], "plans": [plan],
                         "environ": {"PDM_CACHE_DIR": str(pdm_cache)}})
    assert refused["status"] == "refused" and why in refused["error"], refused["error"]
    assert (pdm_cache / ZETA).is_dir() and list((pdm_cache / "hashes").iterdir())


def test_a_plan_sent_back_is_applied_as_planned(pdm_cache: Path) -> None:
    dry = core("purge", pdm_cache)
    late = pdm_cache / "wheels/new-1.0-py3-none-any.whl"
    time.sleep(0.02)
    late.write_text("built after the plan")
    done = run_core("apply", ["pdm"], {"PDM_CACHE_DIR": str(pdm_cache)}, plans=dry["plans"])
    assert late.exists()  # it changed after the plan began: kept
    wheels_row = next(r for r in done["removed"] if r["path"].endswith("/wheels"))
    assert "1 kept" in wheels_row["note"] and wheels_row["ok"] is False
    assert not (pdm_cache / ZETA).exists()


def test_locations_and_relocate_keep_the_config_s_comments(pdm_cache: Path, home: Path,
                                                            tmp_path: Path) -> None:
    config = home / ".config/pdm/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('# my settings\ncheck_update = false  # quiet\n\n[install]\ncache = true\n')
    located = run_core("locations", ["pdm"])["locations"][0]
    assert located["source"] == "default (~/.cache/pdm)"
    assert [s["setting"] for s in located["sources"]] == ["default"]
    target = tmp_path / "new-pdm-cache"
    moved = run_core("relocate", ["pdm"], {"PDM_CACHE_DIR_UNUSED": "1"}, to=str(target),
                     apply=True)["relocation"]
    assert moved["now"] == str(target)
    text = config.read_text()
    assert text.startswith(f'cache_dir = "{target}"\n# my settings\ncheck_update = false  # quiet')
    assert text.endswith("[install]\ncache = true\n")
    said = subprocess.run([PDM, "config", "cache_dir"], env=pdm_env(home), cwd=tmp_path,
                          text=True, capture_output=True, timeout=60)
    assert said.stdout.strip().splitlines()[-1] == str(target)
    again = run_core("relocate", ["pdm"], to=str(tmp_path / "third"), apply=True)
    assert config.read_text().count("cache_dir") == 1 and again["relocation"]["now"]
    blocked = run_core("relocate", ["pdm"], {"PDM_CACHE_DIR": str(pdm_cache)}, ok=False,
                       to=str(tmp_path / "fourth"))
    assert blocked["status"] == "refused" and "higher precedence" in blocked["error"]
    located = run_core("locations", ["pdm"], {"PDM_CACHE_DIR": str(pdm_cache)})["locations"][0]
    assert [(s["setting"], s["won"]) for s in located["sources"]] == [
        ("PDM_CACHE_DIR", True), ("cache_dir", False), ("default", False)]
    assert any("PDM_CACHE_DIR" in t for t in located["traps"])


def test_relocate_never_moves_a_cache_installations_link_into(pdm_cache: Path,
                                                              tmp_path: Path) -> None:
    (pdm_cache.parent / "config").mkdir()
    environ = {"PDM_CONFIG_FILE": str(pdm_cache.parent / "config/config.toml")}
    (pdm_cache.parent / "config/config.toml").write_text(f'cache_dir = "{pdm_cache}"\n')
    refused = run_core("relocate", ["pdm"], environ, ok=False, to=str(tmp_path / "moved"),
                       move=True, apply=True)
    assert refused["status"] == "refused" and "would break them" in refused["error"]
    assert (pdm_cache / ZETA).is_dir() and not (tmp_path / "moved").exists()
    assert (pdm_cache.parent / "config/config.toml").read_text() == f'cache_dir = "{pdm_cache}"\n'


def test_the_program_shows_pdm_s_tables(pdm_cache: Path,
                                        run_cachekit: Callable[..., Any]) -> None:
    info = run_cachekit(["info", "--managers", "pdm"], expect=0, PDM_CACHE_DIR=str(pdm_cache))
    for header in ("PDM CACHE", "BUILT WHEELS", "PACKAGES", "IN USE", "HTTP", "ON DISK"):
        assert header in info.stdout
    report = run_cachekit(["report", "--managers", "pdm", "--format", "json"], expect=0,
                          PDM_CACHE_DIR=str(pdm_cache))
    cache = json.loads(report.stdout)["hosts"][0]["caches"][0]
    assert cache["manager"] == "pdm" and 0 < cache["reclaimable_bytes"] < cache["bytes"]
    shown = run_cachekit(["report", "--managers", "pdm"], expect=0,
                         PDM_CACHE_DIR=str(pdm_cache))
    assert "pdm" in shown.stdout
    purge = run_cachekit(["purge", "--managers", "pdm", "--yes"], expect=0,
                         PDM_CACHE_DIR=str(pdm_cache))
    assert "zeta" in purge.stdout + purge.stderr and not (pdm_cache / ZETA).exists()


def test_a_host_without_pdm_loads_none_of_it(home: Path) -> None:
    script = ("import json, sys; from cachekit.core import agent; r = agent.run({'op': 'info'});"
              "print(json.dumps([r['status'], sorted(m for m in sys.modules "
              "if m.startswith('cachekit.core.managers.pdm'))]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDM_")}
    done = subprocess.run([sys.executable, "-c", script], env=env, text=True,
                          capture_output=True, timeout=60, cwd=str(home))
    status, loaded = json.loads(done.stdout)
    assert status == "ok" and loaded == ["cachekit.core.managers.pdm",
                                         "cachekit.core.managers.pdm.location"]
    assert not registry.load("pdm")(agent.Run({"op": "info"}, dict(env), {})).present()


def test_a_package_pdm_holds_the_lock_of_stays(pdm_cache: Path) -> None:
    """PDM unpacks a package holding ``filelock`` on its ``.lock``: while it does, the
    package is kept, with the reason; once the lock is free it goes."""
    import fcntl

    dry = core("purge", pdm_cache)
    with open(pdm_cache / ZETA / ".lock", "r+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = run_core("apply", ["pdm"], {"PDM_CACHE_DIR": str(pdm_cache)},
                        plans=dry["plans"])
    row = next(r for r in done["removed"] if r["path"].endswith(ZETA))
    assert row["ok"] is False and "its .lock is held" in row["note"]
    assert (pdm_cache / ZETA).is_dir() and not (pdm_cache / EPSILON).exists()
    core("purge", pdm_cache, apply=True)
    assert not (pdm_cache / ZETA).exists()

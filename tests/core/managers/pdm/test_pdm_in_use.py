"""A package an installation still uses is never removed: real ``pdm install``s in cache
mode (symlinks, recorded in ``.referrers``; hard links, which PDM does not record), then
purge, prune and remove applied, then the environment imports its packages."""

import subprocess
from pathlib import Path
from typing import Any, Dict

from tests.fixtures.pdm_cache import install, pdm_env, run_pdm, write_project
from tests.fixtures.program import run_core

EPSILON = "packages/epsilon-1.0-py3-none-any.whl.cache"
ZETA = "packages/zeta-2.1-py3-none-any.whl.cache"


def core(op: str, cache: Path, **request: Any) -> Dict[str, Any]:
    return run_core(op, ["pdm"], {"PDM_CACHE_DIR": str(cache)}, **request)


def imports(project: Path, *names: str) -> None:
    done = subprocess.run([str(project / ".venv/bin/python"), "-c",
                           "; ".join(f"import {n}" for n in names)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_purge_prune_and_remove_keep_what_an_environment_links_to(
        pdm_cache: Path, pdm_master: Dict[str, Any], home: Path, tmp_path: Path) -> None:
    project = write_project(tmp_path / "c", ["epsilon"], pdm_master["index"])
    install(project, pdm_cache, home)  # epsilon: now used by c's environment
    assert (project / ".venv/lib").exists() and (pdm_cache / EPSILON / ".referrers").is_file()
    done = core("purge", pdm_cache, apply=True)
    assert all(r["ok"] for r in done["removed"])
    assert {Path(r["path"]).name for r in done["removed"]} >= {Path(ZETA).name}
    assert (pdm_cache / EPSILON).is_dir() and not (pdm_cache / ZETA).exists()
    imports(project, "epsilon")
    imports(pdm_master["a"], "beta", "delta", "gamma", "foo_bar")
    pruned = core("prune", pdm_cache, apply=True,
                  policy={"keep": [], "max_size_bytes": 0, "ci": True})
    assert str(pdm_cache / EPSILON) in {k["path"] for k in pruned["kept"]}
    removed = core("remove", pdm_cache, pattern="epsilon", apply=True)
    assert removed["removed"] == [] and (pdm_cache / EPSILON).is_dir()
    imports(project, "epsilon")
    # once the environment is gone, nothing uses the package: it goes, as pdm's clear agrees
    subprocess.run(["rm", "-rf", str(project / ".venv")], check=True)
    core("remove", pdm_cache, pattern="epsilon", apply=True)
    assert not (pdm_cache / EPSILON).exists()


def test_a_hard_linked_install_is_in_use_though_pdm_does_not_record_it(
        pdm_cache: Path, pdm_master: Dict[str, Any], home: Path, tmp_path: Path) -> None:
    project = write_project(tmp_path / "d", ["zeta"], pdm_master["index"])
    (project / "pdm.toml").write_text('[install]\ncache = true\ncache_method = "hardlink"\n')
    install(project, pdm_cache, home)
    assert (pdm_cache / ZETA / "zeta.py").stat().st_nlink == 2
    listed = core("list", pdm_cache, pattern="zeta")["entries"]
    assert [e["kind"] for e in listed if e["kind"] != "built wheel"] == [
        "unpacked wheel (in use)"]
    done = core("purge", pdm_cache, apply=True)
    assert (pdm_cache / ZETA / "zeta.py").is_file()
    assert any("hard-linked" in k["reason"] for k in done["kept"])
    # pdm itself removes it (no referrer recorded); the environment keeps its own links
    run_pdm(["cache", "clear", "packages"], pdm_env(home, PDM_CACHE_DIR=str(pdm_cache)),
            cwd=home)
    assert not (pdm_cache / ZETA).exists()
    imports(project, "zeta")

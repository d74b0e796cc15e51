"""pixi's package cache through every op, on a real rattler cache with real environments;
rattler's own ``PackageCache.index()`` says what its cache holds after cachekit removed
from it, and a rattler install from the cache afterwards still works."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

from cachekit.core.managers import conda_format
from tests.fixtures import REPO
from tests.fixtures.pixi_cache import PixiFixture, cache_index, dist, install

NAMES = ["alpha", "beta", "gamma", "delta", "epsilon", "eta", "zeta"]


def _os_walk_bytes(path: Path) -> int:
    """conda's size of a directory: the lstat sizes of the files ``os.walk`` lists."""
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _dirs, files in os.walk(path)
               for f in files)


def _removed(result: Dict[str, Any]) -> List[str]:
    return sorted(os.path.basename(r["path"]) for r in result["removed"] if r.get("ok"))


def test_info_counts_every_package_and_what_only_unused_ones_free(pixi: PixiFixture,
                                                                   core_run: Any) -> None:
    record = core_run("info", ["pixi"], pixi.environ)["caches"][0]
    assert (record["path"], record["source"]) == (str(pixi.root), "PIXI_CACHE_DIR")
    assert record["packages_dir"] == str(pixi.pkgs)
    assert record["packages"] == 7 and record["environments"] == 3
    assert record["packages_bytes"] == sum(_os_walk_bytes(pixi.pkgs / dist(n)) for n in NAMES)
    # a symlink to a directory counts nothing, as os.walk lists it among the directories
    eta = pixi.pkgs / dist("eta")
    assert _os_walk_bytes(eta) < sum(os.lstat(p).st_size for p in eta.rglob("*")
                                     if not p.is_dir() or p.is_symlink())
    assert record["unused_packages"] == 3
    locks = sum((pixi.pkgs / (d + ".lock")).stat().st_size for d in pixi.unused)
    assert record["unused_bytes"] == sum(_os_walk_bytes(pixi.pkgs / d)
                                         - sum(os.lstat(p).st_size for p in
                                               (pixi.pkgs / d).rglob("*") if p.is_symlink()
                                               and not p.is_dir())
                                         for d in pixi.unused) + locks
    assert record["reclaimable_bytes"] == record["unused_bytes"]
    every = [p for p in pixi.root.rglob("*") if not p.is_dir() or p.is_symlink()]
    assert record["files"] == len([p for p in every if not (p.is_symlink() and p.is_dir())])
    assert record["buckets"]["pkgs"]["bytes"] == record["bytes"]


def test_a_root_without_packages_and_a_missing_root(pixi: PixiFixture, core_run: Any,
                                                   run_cachekit: Any, tmp_path: Path) -> None:
    root = tmp_path / "bare"
    (root / "repodata").mkdir(parents=True)
    (root / "repodata" / "x.json").write_text("{}")
    environ = dict(pixi.environ, PIXI_CACHE_DIR=str(root))
    record = core_run("info", ["pixi"], environ)["caches"][0]
    assert (record["packages"], record["bytes"], record["environments"]) == (0, 2, 0)
    assert core_run("purge", ["pixi"], environ, apply=True)["removed"] == []
    assert (root / "repodata" / "x.json").exists()
    shown = run_cachekit(["info", "--managers", "pixi"], env={**os.environ, **environ},
                         expect=0)
    assert shown.stdout.splitlines()[2].split()[1:5] == [str(root), "2", "B", "1"]
    missing = dict(environ, PIXI_CACHE_DIR=str(tmp_path / "missing"))
    assert run_cachekit(["info", "--managers", "pixi"], env={**os.environ, **missing},
                        expect=0).stdout == ""
    assert core_run("dir", ["pixi"], missing)["caches"][0]["exists"] is False


def test_list_names_each_package_and_whether_it_is_in_use(pixi: PixiFixture,
                                                          core_run: Any) -> None:
    rows = core_run("list", ["pixi"], pixi.environ, pattern="*")["entries"]
    kinds = {r["name"]: r["kind"] for r in rows}
    assert kinds == {"alpha": "extracted, in use", "beta": "extracted, in use",
                     "delta": "extracted, in use", "gamma": "extracted, in use",
                     "epsilon": "extracted", "eta": "extracted", "zeta": "extracted"}
    alpha = next(r for r in rows if r["name"] == "alpha")
    assert (alpha["version"], alpha["build"]) == ("1.0", "h0_0")
    assert "proj/.pixi/envs/default" in alpha["used_by"][0]
    gamma = next(r for r in rows if r["name"] == "gamma")
    assert "copied/.pixi/envs/default" in gamma["used_by"][0]  # a copy: its record keeps it
    only = core_run("list", ["pixi"], pixi.environ, pattern="e*")["entries"]
    assert sorted(r["name"] for r in only) == ["epsilon", "eta"]


def test_purge_takes_the_unused_packages_and_rattler_agrees(pixi: PixiFixture,
                                                           core_run: Any) -> None:
    (pixi.pkgs / "stray-0.1-0.lock").write_bytes(b"\0" * 40)  # a package already gone
    (pixi.pkgs / "notes.txt").write_text("mine")
    plan = core_run("purge", ["pixi"], pixi.environ)
    assert all(r["ok"] is None for r in plan["removed"]) and (pixi.pkgs / dist("zeta")).is_dir()
    kept = {os.path.basename(k["path"]) for k in plan["kept"]}
    assert kept == set(pixi.used) | {"notes.txt"}
    done = core_run("purge", ["pixi"], pixi.environ, apply=True)
    assert _removed(done) == sorted(pixi.unused + [d + ".lock" for d in pixi.unused]
                                    + ["stray-0.1-0.lock"])
    left = sorted(os.listdir(pixi.pkgs))
    assert left == sorted([".cache.lock", "notes.txt"] + pixi.used
                          + [d + ".lock" for d in pixi.used])
    assert done["reclaimed_bytes"] == plan["caches"][0]["reclaimable_bytes"]
    assert cache_index(pixi.pkgs, pixi.channel, NAMES) == {
        "alpha": True, "beta": True, "gamma": True, "delta": True, "epsilon": False,
        "eta": False, "zeta": False}
    # the environments still work from their files, and rattler refills the cache
    assert (pixi.envs["project"] / "share/alpha/alpha.txt").read_text().startswith("alpha")
    install(pixi.channel, pixi.pkgs, [(pixi.root.parent / "again", ["zeta"])])
    assert cache_index(pixi.pkgs, pixi.channel, ["zeta"]) == {"zeta": True}


def test_remove_a_pattern_keeps_what_environments_use(pixi: PixiFixture, core_run: Any
                                                      ) -> None:
    done = core_run("remove", ["pixi"], pixi.environ, pattern="zeta", apply=True)
    assert _removed(done) == [dist("zeta"), dist("zeta") + ".lock"]
    kept = core_run("remove", ["pixi"], pixi.environ, pattern="alpha", apply=True)
    assert kept["removed"] == [] and (pixi.pkgs / dist("alpha")).is_dir()
    glob = core_run("remove", ["pixi"], pixi.environ, pattern="*a", apply=True)  # beta, eta...
    assert _removed(glob) == [dist("eta"), dist("eta") + ".lock"]
    assert cache_index(pixi.pkgs, pixi.channel, ["zeta", "eta", "epsilon"]) == {
        "zeta": False, "eta": False, "epsilon": True}


def test_a_copied_environment_is_kept_by_its_record_alone(pixi: PixiFixture,
                                                          core_run: Any) -> None:
    gamma = pixi.pkgs / dist("gamma")
    assert all(p.stat().st_nlink == 1 for p in gamma.rglob("*") if p.is_file())
    assert core_run("remove", ["pixi"], pixi.environ, pattern="gamma", apply=True)[
        "removed"] == []
    # the same copy where cachekit cannot find it: nothing links to gamma, so it may go
    shutil.move(str(pixi.home / "copied"), str(pixi.root.parent / "moved-away"))
    done = core_run("remove", ["pixi"], pixi.environ, pattern="gamma", apply=True)
    assert _removed(done) == [dist("gamma"), dist("gamma") + ".lock"]
    moved = pixi.root.parent / "moved-away/.pixi/envs/default/share/gamma/gamma.txt"
    assert moved.read_text().startswith("gamma")  # a copy: it still works


def test_a_hard_linked_environment_nobody_can_find_still_keeps_its_packages(
        pixi: PixiFixture, core_run: Any) -> None:
    install(pixi.channel, pixi.pkgs, [(pixi.root.parent / "hidden-hardlinks", ["zeta"])])
    done = core_run("purge", ["pixi"], pixi.environ, apply=True)
    assert dist("zeta") not in _removed(done) and (pixi.pkgs / dist("zeta")).is_dir()
    why = next(k["reason"] for k in done["kept"] if k["path"].endswith(dist("zeta")))
    assert "more than one hard link" in why


def test_a_package_an_environment_started_to_use_since_the_plan_stays(
        pixi: PixiFixture, core_run: Any) -> None:
    plan = core_run("purge", ["pixi"], pixi.environ)
    # copies now use zeta from a project cachekit finds (its record names the package)
    later = pixi.home / "late" / ".pixi" / "envs" / "default"
    install(pixi.channel, pixi.pkgs, [(pixi.root.parent / "late-src", ["zeta"])])
    shutil.copytree(pixi.root.parent / "late-src", later, symlinks=True)
    shutil.rmtree(pixi.root.parent / "late-src")
    done = core_run("apply", ["pixi"], pixi.environ, plans=plan["plans"])
    rows = {os.path.basename(r["path"]): r for r in done["removed"]}
    assert rows[dist("zeta")]["ok"] is False and "now used by" in rows[dist("zeta")]["note"]
    assert rows[dist("zeta") + ".lock"]["note"] == "kept: its package stays"
    assert rows[dist("eta")]["ok"] is True
    assert (pixi.pkgs / dist("zeta") / "info").is_dir() and (pixi.pkgs / (dist("zeta")
                                                                          + ".lock")).exists()


def test_nothing_is_removed_while_pixi_holds_the_cache_lock(pixi: PixiFixture,
                                                            core_run: Any) -> None:
    fd = os.open(pixi.pkgs / ".cache.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # what rattler's installer holds while it links
        done = core_run("purge", ["pixi"], pixi.environ, apply=True)
    finally:
        os.close(fd)
    assert done["removed"] and all(r["ok"] is False and ".cache.lock" in r["note"]
                                   for r in done["removed"])
    assert all((pixi.pkgs / d).is_dir() for d in pixi.unused)


def test_a_plan_for_anything_but_this_package_cache_is_refused(pixi: PixiFixture,
                                                               core_run: Any) -> None:
    plan = core_run("purge", ["pixi"], pixi.environ)["plans"][0]
    for bad, problem in (({"items": [["../x", "package", 1, 1, 1, 1, "r", "x"]]}, "not an entry"),
                         ({"items": [[".cache.lock", "lock", 1, 1, 1, 1, "r", "x"]]},
                          "not an entry"),
                         ({"items": [["notes", "orphan_lock", 1, 1, 1, 1, "r", ""]]},
                          "as a lock file"),
                         ({"root_id": [1, 2]}, "replaced since the plan"),
                         ({"root": str(pixi.root)}, "not the pixi package cache here")):
        refused = core_run("apply", ["pixi"], pixi.environ, plans=[dict(plan, **bad)], ok=False)
        assert refused["status"] == "refused" and problem in refused["error"], refused["error"]
    assert all((pixi.pkgs / d).is_dir() for d in pixi.unused)


def test_unsafe_roots_are_refused_before_anything_is_read(pixi: PixiFixture, core_run: Any,
                                                          home: Path, tmp_path: Path) -> None:
    for root, problem in ((str(home), "is a home directory"), ("/", "the file system root")):
        refused = core_run("purge", ["pixi"], dict(pixi.environ, PIXI_CACHE_DIR=root),
                           apply=True, ok=False)
        assert refused["status"] == "refused" and problem in refused["error"]
        assert "set by PIXI_CACHE_DIR" in refused["error"]
    stranger = tmp_path / "not-rattler"
    (stranger / "pkgs").mkdir(parents=True)
    (stranger / "pkgs" / "thesis.tex").write_text("mine")
    (stranger / "pkgs" / "data").mkdir()
    refused = core_run("purge", ["pixi"], dict(pixi.environ, PIXI_CACHE_DIR=str(stranger)),
                       apply=True, ok=False)
    assert refused["status"] == "refused" and "rattler package cache" in refused["error"]
    assert (stranger / "pkgs" / "thesis.tex").exists()
    home_pkgs = dict(pixi.environ, PIXI_CACHE_CONDA_PACKAGES_DIR=str(home))
    refused = core_run("prune", ["pixi"], home_pkgs, policy={"ci": True}, ok=False)
    assert "PIXI_CACHE_CONDA_PACKAGES_DIR" in refused["error"]


def test_an_unreadable_environment_record_stops_removals(pixi: PixiFixture, core_run: Any
                                                         ) -> None:
    meta = pixi.envs["global"] / "conda-meta"
    os.chmod(meta, 0)
    try:
        refused = core_run("purge", ["pixi"], pixi.environ, apply=True, ok=False)
    finally:
        os.chmod(meta, 0o755)
    if os.geteuid() == 0:  # root reads it anyway: then the purge went on
        assert refused["status"] == "ok"
        return
    assert refused["status"] == "refused" and "conda-meta" in refused["error"]


def test_a_workspaces_file_that_does_not_parse_stops_removals(pixi: PixiFixture,
                                                              core_run: Any) -> None:
    (pixi.home / ".pixi" / "workspaces.toml").write_text("[named-workspaces\n")
    refused = core_run("purge", ["pixi"], pixi.environ, apply=True, ok=False)
    assert refused["status"] == "refused" and "workspaces.toml" in refused["error"]
    assert all((pixi.pkgs / d).is_dir() for d in pixi.unused)


def test_environments_of_registered_listed_and_detached_projects_are_found(
        pixi: PixiFixture, core_run: Any, tmp_path: Path) -> None:
    def used() -> List[str]:
        rows = core_run("list", ["pixi"], environ)["entries"]
        return sorted(r["name"] for r in rows if r["used_by"])

    environ = dict(pixi.environ)
    base = [n for n in ("alpha", "beta", "delta", "gamma")]
    for name, place in (("epsilon", tmp_path / "reg/ws"), ("eta", tmp_path / "listed/a/b/p"),
                        ("zeta", pixi.root / "envs" / "proj-1234")):
        src = tmp_path / f"src-{name}"
        install(pixi.channel, pixi.pkgs, [(src, [name])])
        target = place / ("envs/default" if "envs" in place.parts else ".pixi/envs/default")
        shutil.copytree(src, target, symlinks=True)  # copies: only the record can keep it
        shutil.rmtree(src)
    assert used() == sorted(base)
    (pixi.home / ".pixi" / "workspaces.toml").write_text(
        f'[named-workspaces]\nws = "{tmp_path}/reg/ws/pixi.toml"\n')
    assert used() == sorted(base + ["epsilon"])
    environ["CACHEKIT_PIXI_PROJECTS"] = str(tmp_path / "listed")
    assert used() == sorted(base + ["epsilon", "eta"])
    (pixi.home / ".config/pixi").mkdir(parents=True)
    (pixi.home / ".config/pixi/config.toml").write_text("detached-environments = true\n")
    assert used() == sorted(base + ["epsilon", "eta", "zeta"])


def test_prune_by_age_budget_keep_and_ci(pixi: PixiFixture, core_run: Any) -> None:
    day = 86400 * 10 ** 9
    now = int(pixi.pkgs.stat().st_mtime_ns)
    for i, d in enumerate(pixi.unused):  # epsilon oldest, zeta newest
        when = now - (60 - 10 * i) * day
        for p in [pixi.pkgs / (d + ".lock")] + list((pixi.pkgs / d).rglob("*")):
            os.utime(p, ns=(when, when), follow_symlinks=False)
    older = core_run("prune", ["pixi"], pixi.environ, now_ns=now,
                     policy={"keep": [], "older_than_s": 45 * 86400})
    assert [r["entry"] for r in older["removed"]] == [dist("epsilon"), dist("eta")]
    record = older["caches"][0]
    assert record["last_use"]
    budget = record["buckets"]["pkgs"]["bytes"] - 1  # --max-size budgets pkgs: one must go
    lru = core_run("prune", ["pixi"], pixi.environ, now_ns=now,
                   policy={"keep": [], "max_size_bytes": budget})
    assert [r["entry"] for r in lru["removed"]] == [dist("epsilon")]
    kept = core_run("prune", ["pixi"], pixi.environ, now_ns=now,
                    policy={"keep": ["epsilon"], "max_size_bytes": 0})
    assert [r["entry"] for r in kept["removed"]] == [dist("eta"), dist("zeta")]
    ci = core_run("prune", ["pixi"], pixi.environ, now_ns=now, apply=True,
                  policy={"keep": ["ZETA"], "ci": True})
    assert _removed(ci) == sorted([dist("epsilon"), dist("epsilon") + ".lock", dist("eta"),
                                   dist("eta") + ".lock"])
    assert ci["caches"][0]["after_bytes"] < ci["caches"][0]["bytes"]
    assert sorted(os.listdir(pixi.pkgs)) == sorted(
        [".cache.lock"] + [d + s for d in pixi.used + [dist("zeta")] for s in ("", ".lock")])
    assert cache_index(pixi.pkgs, pixi.channel, ["epsilon", "eta", "zeta"]) == {
        "epsilon": False, "eta": False, "zeta": True}


def test_prune_min_free_evicts_the_least_recently_used(pixi: PixiFixture, core_run: Any
                                                       ) -> None:
    free = core_run("prune", ["pixi"], pixi.environ, policy={"min_free": ["percent", 100]})
    assert sorted(r["entry"] for r in free["removed"]) == sorted(pixi.unused)
    calm = core_run("prune", ["pixi"], pixi.environ,
                    policy={"min_free": ["bytes", 1], "ci": True})
    assert calm["removed"] == []


def test_relocate_edits_the_user_config_as_text_and_pixi_would_follow(
        pixi: PixiFixture, core_run: Any, tmp_path: Path) -> None:
    config = pixi.home / ".config/pixi/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('# my pixi\ndefault-channels = ["conda-forge"]  # keep\n\n'
                      '[cache]\n# where\nnetfs-redirect = "never"\n\n[shell]\nchange-ps1 = false\n')
    environ = {k: v for k, v in pixi.environ.items() if k != "PIXI_CACHE_DIR"}
    refused = core_run("relocate", ["pixi"], pixi.environ, to=str(tmp_path / "new"), apply=True,
                       ok=False)
    assert refused["status"] == "refused" and "higher precedence" in refused["error"]
    done = core_run("relocate", ["pixi"], environ, to=str(tmp_path / "new"), apply=True)
    assert config.read_text() == (
        '# my pixi\ndefault-channels = ["conda-forge"]  # keep\n\n[cache]\n'
        f'root = "{tmp_path}/new"\n# where\nnetfs-redirect = "never"\n\n[shell]\n'
        'change-ps1 = false\n')
    assert done["relocation"]["now"] == str(tmp_path / "new")
    again = core_run("relocate", ["pixi"], environ, to=str(tmp_path / "third"), apply=True)
    assert f'root = "{tmp_path}/third"\n' in config.read_text()
    assert config.read_text().count("root =") == 1 and again["relocation"]["diff"]
    (pixi.home / ".pixi" / "config.toml").write_text('[cache]\nroot = "/elsewhere"\n')
    later = core_run("relocate", ["pixi"], environ, to=str(tmp_path / "4"), ok=False)
    assert later["status"] == "refused" and "/elsewhere" in later["error"]


def test_relocate_moves_the_root_and_the_environments_keep_working(
        pixi: PixiFixture, core_run: Any, tmp_path: Path) -> None:
    config = pixi.home / ".pixi" / "config.toml"
    config.write_text(f'cache.root = "{pixi.root}"  # dotted\n')
    environ = {k: v for k, v in pixi.environ.items() if k != "PIXI_CACHE_DIR"}
    assert core_run("dir", ["pixi"], environ)["caches"][0]["source"] == \
        f"cache.root in {config}"
    done = core_run("relocate", ["pixi"], environ, to=str(tmp_path / "moved"), move=True,
                    apply=True)
    assert done["status"] == "ok"
    assert config.read_text() == f'cache.root = "{tmp_path}/moved"\n'
    assert (tmp_path / "moved/pkgs" / dist("alpha") / "info").is_dir()
    assert not pixi.root.exists()
    after = core_run("list", ["pixi"], environ, pattern="*")["entries"]
    assert {r["name"] for r in after if r["used_by"]} >= {"alpha", "delta"}


def test_report_has_a_pixi_column(pixi: PixiFixture, run_cachekit: Any) -> None:
    done = run_cachekit(["report", "--managers", "pixi", "--format", "json"],
                        env={**os.environ, **pixi.environ}, expect=0)
    host = json.loads(done.stdout)["hosts"][0]
    record = host["caches"][0]
    assert record["manager"] == "pixi" and record["reclaimable_bytes"] == record["unused_bytes"]
    table = run_cachekit(["report", "--managers", "pixi"], env={**os.environ, **pixi.environ},
                         expect=0)
    assert "pixi" in table.stdout.splitlines()[0]


def test_a_host_without_pixi_loads_none_of_its_modules(tmp_path: Path) -> None:
    """``present()`` is a few stat calls: nothing else of the manager is imported."""
    probe = ("import json, sys\nsys.path.insert(0, sys.argv[1])\n"
             "from cachekit.core import agent\n"
             "r = agent.run({'op': 'info', 'environ': {'HOME': sys.argv[2]}})\n"
             "print(json.dumps([r['status'], sorted(m for m in sys.modules "
             "if m.startswith('cachekit.core.managers.pixi'))]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIXI_", "RATTLER_"))}
    done = subprocess.run([sys.executable, "-I", "-S", "-c", probe, str(REPO), str(tmp_path)],
                          capture_output=True, text=True, env=env, check=True)
    status, loaded = json.loads(done.stdout)
    assert status == "ok"
    assert loaded == ["cachekit.core.managers.pixi", "cachekit.core.managers.pixi.places"]


def test_conda_format_is_shared_not_copied() -> None:
    """pixi's rule is conda's: one module holds it."""
    text = (REPO / "cachekit/core/managers/pixi/record.py").read_text()
    assert "conda_format.verdict" in text and "conda_format.read_usage" in text
    assert conda_format.split_dist("a-b-1.0-h0_0") == ("a-b", "1.0", "h0_0")

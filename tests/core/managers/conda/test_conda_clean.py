"""`clean` on the reference/conda.md section 7 fixture: every row of its table, plan and apply.

conda itself cannot be installed here (it is not on PyPI), so the oracle is the
reference's table of what conda 26.1-26.7 selects, checked row by row, with cachekit's one
documented difference: `--packages` keeps what environments record (beta, gamma, meta,
pfx), where conda removes them and breaks the environment `soft`.
"""

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Set

import pytest

from cachekit.core import agent
from tests.fixtures import program
from tests.fixtures.conda_cache import CondaFixture, snapshot


def selected(result: Dict[str, Any], conda: CondaFixture) -> Set[str]:
    """Removed (or planned) paths, relative to the conda root."""
    return {os.path.relpath(r["path"], conda.root) for r in result["removed"]}


def kept(result: Dict[str, Any], conda: CondaFixture) -> Dict[str, str]:
    return {os.path.relpath(k["path"], conda.root): k["reason"] for k in result.get("kept", [])}


TARBALLS = {"pkgs/alpha-1.0-h0_0.conda", "pkgs/beta-2.0-h1_0.tar.bz2", "pkgs/delta-3.1-h2_1.conda",
            "pkgs/meta-1.0-0.conda", "pkgs/epsilon-1.0-0.conda.partial"}
TEMPFILES = {"lib/libfoo.so.c~", "envs/hard/bin/alpha.c~", "pkgs/stale.trash"}
LOGS = {"pkgs/.logs/20240101-000000-000000.log"}
# conda removes beta, gamma, meta and pfx too; cachekit keeps what environments record
PACKAGES = {"pkgs/delta-3.1-h2_1"}
EXPECTED = {
    "tarballs": TARBALLS,
    "index_cache": {"pkgs/cache"},
    "packages": PACKAGES,
    "tempfiles": TEMPFILES,
    "logfiles": LOGS,
    "all": TARBALLS | {"pkgs/cache"} | PACKAGES | TEMPFILES | LOGS,
}
ALWAYS_KEPT = ["pkgs/urls.txt", "pkgs/urls", "pkgs/notes.txt", "pkgs/notapkg/readme",
               "pkgs/.trash/leftover.dll", "lib/old.conda_trash", "pkgs/zeta-9.9-0.conda",
               "pkgs/legacy-0.1-0.tar.bz2.part", "pkgs/alpha-1.0-h0_0", "pkgs/selfhl-1.0-0"]


@pytest.mark.parametrize("flag", sorted(EXPECTED))
def test_each_flag_selects_what_the_reference_table_says(conda: CondaFixture, flag: str,
                                                         core_run) -> None:
    plan = core_run("clean", ["conda"], conda.environ, flags=[flag])
    assert selected(plan, conda) == EXPECTED[flag]
    assert plan["dry_run"] and all(r["ok"] is None for r in plan["removed"])
    assert (conda.pkgs / "cache").is_dir() and (conda.pkgs / "delta-3.1-h2_1").is_dir()

    done = core_run("clean", ["conda"], conda.environ, flags=[flag], apply=True)
    assert selected(done, conda) == EXPECTED[flag]
    assert all(r["ok"] for r in done["removed"]), done["removed"]
    for rel in EXPECTED[flag]:
        assert not os.path.lexists(conda.root / rel), rel
    for rel in ALWAYS_KEPT:
        assert os.path.lexists(conda.root / rel), rel
    if flag in ("logfiles", "all"):
        assert (conda.pkgs / ".logs").is_dir()  # the directory itself stays, as in conda
    # the second configured cache has no urls.txt: conda treats it as read-only
    assert sorted(p.name for p in conda.home_pkgs.iterdir()) == [
        "delta-3.1-h2_1", "delta-3.1-h2_1.conda"]


# What conda (and micromamba) remove on the same fixture, from the reference's table.
CONDA_REMOVES = {
    "packages": {"pkgs/beta-2.0-h1_0", "pkgs/gamma-0.5-py_0", "pkgs/delta-3.1-h2_1",
                 "pkgs/meta-1.0-0", "pkgs/pfx-1.0-0"},
    "packages after conda#16615": {"pkgs/gamma-0.5-py_0", "pkgs/delta-3.1-h2_1",
                                   "pkgs/meta-1.0-0", "pkgs/pfx-1.0-0"},
    "micromamba packages": {"pkgs/delta-3.1-h2_1", "pkgs/selfhl-1.0-0"},
    "micromamba tarballs": {"pkgs/alpha-1.0-h0_0.conda", "pkgs/beta-2.0-h1_0.tar.bz2",
                            "pkgs/delta-3.1-h2_1.conda", "pkgs/meta-1.0-0.conda",
                            "pkgs/zeta-9.9-0.conda"},
}


@pytest.mark.parametrize("row", sorted(CONDA_REMOVES))
def test_cachekit_never_removes_more_than_conda_or_micromamba(conda: CondaFixture, row: str,
                                                              core_run
                                                             ) -> None:
    """Every other row of the reference table: cachekit's selection is a subset, and what it
    keeps beyond theirs is what an environment uses or what has another hard link."""
    flag = "packages" if "packages" in row else "tarballs"
    ours = selected(core_run("clean", ["conda"], conda.environ, flags=[flag]), conda)
    theirs = CONDA_REMOVES[row]
    archives = {"pkgs/epsilon-1.0-0.conda.partial"}  # conda 26.1+ also cleans partials
    assert ours - archives <= theirs
    spared = kept(core_run("clean", ["conda"], conda.environ, flags=[flag]), conda)
    for rel in theirs - ours:
        assert spared[rel].startswith(("used by", "archive hard-linked", "2 file(s) with")), rel


def test_packages_keeps_every_recorded_package_and_says_why(conda: CondaFixture, core_run) -> None:
    why = kept(core_run("clean", ["conda"], conda.environ, flags=["packages"]), conda)
    envs = conda.root / "envs"
    assert why["pkgs/beta-2.0-h1_0"] == f"used by {envs}/soft (symlink)"
    assert why["pkgs/gamma-0.5-py_0"] == f"used by {envs}/copy (copy)"
    assert why["pkgs/meta-1.0-0"] == f"used by {envs}/hard (hard link)"
    assert why["pkgs/pfx-1.0-0"] == f"used by {envs}/hard (hard link)"
    assert why["pkgs/alpha-1.0-h0_0"] == f"used by {envs}/hard (hard link)"
    assert why["pkgs/selfhl-1.0-0"].startswith("2 file(s) with more than one hard link")
    assert "notapkg" not in " ".join(why)


def test_after_clean_all_every_environment_file_reads_the_same(conda: CondaFixture,
                                                               core_run) -> None:
    before = snapshot(conda.env_files)
    assert all(data is not None for _, data in before)
    core_run("clean", ["conda"], conda.environ, flags=["all"], apply=True)
    assert snapshot(conda.env_files) == before
    # the softlinked environment still resolves into the cache
    link = conda.envs["soft"] / "lib/beta.txt"
    assert link.is_symlink() and link.read_bytes() == b"beta data\n"


def test_sizes_are_lstat_sizes_and_freed_bytes_are_honest(conda: CondaFixture, core_run) -> None:
    plan = core_run("clean", ["conda"], conda.environ, flags=["tarballs", "packages"])
    rows = {os.path.relpath(r["path"], conda.root): r["bytes"] for r in plan["removed"]}
    for rel in TARBALLS:
        assert rows[rel] == (conda.root / rel).lstat().st_size
    delta = conda.pkgs / "delta-3.1-h2_1"
    assert rows["pkgs/delta-3.1-h2_1"] == sum(
        p.lstat().st_size for p in delta.rglob("*") if not p.is_dir())
    # archives and delta are single-linked: freed equals their sizes
    done = core_run("clean", ["conda"], conda.environ, flags=["tarballs", "packages"], apply=True)
    assert done["reclaimed_bytes"] == sum(rows.values())


def test_force_pkgs_dirs_is_refused_while_environments_use_the_cache(conda: CondaFixture,
                                                                     core_run) -> None:
    result = agent.run({"op": "clean", "managers": ["conda"], "flags": ["force"],
                        "environ": conda.environ, "apply": True})
    assert result["status"] == "refused"
    assert "envs/soft uses beta-2.0-h1_0" in result["error"]
    assert "--break-environments" in result["error"]
    assert (conda.pkgs / "urls.txt").exists()

    plan = core_run("clean", ["conda"], conda.environ, flags=["force"], break_environments=True)
    files = [p for p in conda.pkgs.rglob("*") if p.is_file() and not p.is_symlink()]
    single = sum(p.stat().st_size for p in files if p.stat().st_nlink == 1)
    single += (conda.pkgs / "selfhl-1.0-0/bin/tool").stat().st_size  # both links go
    assert plan["plans"][0]["freed_bytes"] == single  # files linked elsewhere free nothing
    assert plan["plans"][0]["remove_root"] is True
    assert single < sum(p.lstat().st_size for p in files)
    everything = {f"pkgs/{name}" for name in os.listdir(conda.pkgs)}
    assert selected(plan, conda) == everything
    done = core_run("clean", ["conda"], conda.environ, flags=["force"], apply=True,
                    break_environments=True)
    assert selected(done, conda) == everything
    assert done["reclaimed_bytes"] == single
    assert not conda.pkgs.exists()
    assert conda.home_pkgs.is_dir()  # not writable in conda's sense: untouched
    assert (conda.root / "lib/old.conda_trash").exists()


def writable_cache(path: Path) -> Path:
    """A package cache conda would write to (it has urls.txt) holding one archive."""
    path.mkdir()
    (path / "urls.txt").write_text("")
    (path / "x-1-0.conda").write_bytes(b"zip")
    return path


def test_force_on_an_unused_cache_needs_no_second_flag(conda: CondaFixture, tmp_path: Path
                                                       ) -> None:
    spare = writable_cache(tmp_path / "spare-pkgs")
    environ = dict(conda.environ, CONDA_PKGS_DIRS=str(spare))
    done = agent.run({"op": "clean", "managers": ["conda"], "flags": ["force"],
                      "environ": environ, "apply": True})
    assert done["status"] == "ok", done["error"]
    assert not spare.exists() and conda.pkgs.is_dir()


def test_a_package_linked_after_the_plan_is_kept_at_apply(conda: CondaFixture, core_run) -> None:
    plan = core_run("clean", ["conda"], conda.environ, flags=["packages"])
    assert selected(plan, conda) == PACKAGES
    # an environment starts to use delta between plan and apply
    target = conda.root / "envs/late/share/delta.txt"
    target.parent.mkdir(parents=True)
    os.link(conda.pkgs / "delta-3.1-h2_1/share/delta.txt", target)
    done = agent.run({"op": "apply", "managers": ["conda"], "environ": conda.environ,
                      "plans": plan["plans"]})
    assert done["status"] == "ok"
    [row] = done["removed"]
    assert row["ok"] is False and "hard link" in row["note"]
    assert (conda.pkgs / "delta-3.1-h2_1/share/delta.txt").exists()


def test_apply_refuses_a_plan_for_a_root_it_does_not_recognise(conda: CondaFixture,
                                                               tmp_path: Path, core_run) -> None:
    plan = core_run("clean", ["conda"], conda.environ, flags=["tarballs"])
    forged = json.loads(json.dumps(plan["plans"]))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "alpha-1.0-h0_0.conda").write_bytes(b"precious")
    forged[0]["root"] = str(victim)
    done = agent.run({"op": "apply", "managers": ["conda"], "environ": conda.environ,
                      "plans": forged})
    assert done["status"] == "refused"
    assert (victim / "alpha-1.0-h0_0.conda").exists()


def test_tempfiles_paths_must_be_inside_conda(conda: CondaFixture, tmp_path: Path,
                                              core_run) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.c~").write_bytes(b"not conda's")
    result = agent.run({"op": "clean", "managers": ["conda"], "flags": ["tempfiles"],
                        "tempfile_paths": [str(elsewhere)], "environ": conda.environ,
                        "apply": True})
    assert result["status"] == "refused" and "not inside a conda root" in result["error"]
    assert (elsewhere / "keep.c~").exists()
    only_env = core_run("clean", ["conda"], conda.environ, flags=["tempfiles"],
                        tempfile_paths=[str(conda.envs["hard"])], apply=True)
    assert selected(only_env, conda) == {"envs/hard/bin/alpha.c~"}
    assert (conda.root / "lib/libfoo.so.c~").exists()


@pytest.mark.parametrize("flags", [("tempfiles",), ("all",)])
def test_temp_files_inside_an_unused_package_are_found(conda: CondaFixture, flags,
                                                       core_run) -> None:
    hold = conda.pkgs / "delta-3.1-h2_1/share/delta.txt.c~"
    hold.write_bytes(b"hold")
    plan = core_run("clean", ["conda"], conda.environ, flags=list(flags))
    assert "pkgs/delta-3.1-h2_1/share/delta.txt.c~" in selected(plan, conda)
    core_run("clean", ["conda"], conda.environ, flags=list(flags), apply=True)
    assert not hold.exists()


def test_trash_removes_trash_files_and_the_trash_directory(conda: CondaFixture, core_run) -> None:
    (conda.pkgs / "old-1-0.mamba_trash").write_bytes(b"x")
    (conda.envs["hard"] / "lib/libz.so.mamba_trash").write_bytes(b"x")
    done = core_run("clean", ["conda"], conda.environ, flags=["trash"], apply=True)
    assert selected(done, conda) == {"pkgs/old-1-0.mamba_trash", "pkgs/.trash",
                                     "lib/old.conda_trash", "envs/hard/lib/libz.so.mamba_trash"}
    assert not (conda.pkgs / ".trash").exists()
    assert (conda.root / "lib/libfoo.so.c~").exists()  # a temp file, not trash


def cli(conda: CondaFixture, home: Path, *args: str) -> Any:
    return program.run_cachekit(list(args), home / "no-pip-cache", home=home, **conda.environ)


def test_cli_dry_run_lists_the_plan_and_what_is_kept(conda: CondaFixture, home: Path) -> None:
    run = cli(conda, home, "clean", "--all", "--dry-run")
    assert run.returncode == 0, run.stderr
    assert f"would remove {conda.pkgs}/delta-3.1-h2_1 (" in run.stdout
    assert f"keep {conda.pkgs}/beta-2.0-h1_0 (used by {conda.envs['soft']} (symlink))" \
        in run.stdout
    assert "local: 11 conda entries to remove; would free" in run.stdout
    assert (conda.pkgs / "delta-3.1-h2_1").is_dir()


def test_cli_json_and_yes(conda: CondaFixture, home: Path) -> None:
    run = cli(conda, home, "clean", "--tarballs", "--packages", "--yes", "--format", "json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    host = doc["hosts"][0]
    assert {os.path.basename(r["path"]) for r in host["removed"]} == {
        os.path.basename(p) for p in TARBALLS | PACKAGES}
    assert doc["totals"]["reclaimed_bytes"] == host["reclaimed_bytes"] > 0


def test_cli_refuses_without_a_terminal_or_a_target(conda: CondaFixture, home: Path) -> None:
    run = cli(conda, home, "clean", "--all")
    assert run.returncode == 1 and "stdin is not a terminal" in run.stderr
    run = cli(conda, home, "clean")
    assert run.returncode == 1 and "clean needs at least one target" in run.stderr
    run = cli(conda, home, "clean", "--all", "--force-pkgs-dirs", "--yes")
    assert run.returncode == 1 and "give it alone" in run.stderr
    assert (conda.pkgs / "delta-3.1-h2_1.conda").exists()


def test_cli_tempfiles_takes_comma_separated_paths(conda: CondaFixture, home: Path) -> None:
    run = cli(conda, home, "clean", f"--tempfiles={conda.root / 'lib'}", "--yes")
    assert run.returncode == 0, run.stderr
    assert not (conda.root / "lib/libfoo.so.c~").exists()
    assert (conda.root / "envs/hard/bin/alpha.c~").exists()


def files_under(root: Path) -> List[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_force_refuses_a_symlinked_cache_and_keeps_its_target(conda: CondaFixture,
                                                              tmp_path: Path) -> None:
    target = writable_cache(tmp_path / "real-pkgs")
    link = tmp_path / "pkgs-link"
    link.symlink_to(target)
    result = agent.run({"op": "clean", "managers": ["conda"], "flags": ["force"],
                        "environ": dict(conda.environ, CONDA_PKGS_DIRS=str(link)),
                        "apply": True})
    assert result["status"] == "refused" and "is a symlink" in result["error"]
    assert (target / "x-1-0.conda").exists() and link.is_symlink()


def test_force_apply_removes_only_what_was_planned(conda: CondaFixture, tmp_path: Path) -> None:
    spare = writable_cache(tmp_path / "spare-pkgs")
    environ = dict(conda.environ, CONDA_PKGS_DIRS=str(spare))
    plan = agent.run({"op": "clean", "managers": ["conda"], "flags": ["force"],
                      "environ": environ})
    (spare / "arrived-2-0.conda").write_bytes(b"new download")  # after the plan was shown
    done = agent.run({"op": "apply", "managers": ["conda"], "environ": environ,
                      "plans": plan["plans"]})
    assert done["status"] == "ok", done["error"]
    assert (spare / "arrived-2-0.conda").exists() and not (spare / "x-1-0.conda").exists()
    assert any("kept" in w and str(spare) in w for w in done["warnings"])


def test_force_apply_keeps_a_cache_an_environment_started_to_use(conda: CondaFixture,
                                                                 tmp_path: Path) -> None:
    spare = tmp_path / "spare-pkgs"
    (spare / "late-1-0/info").mkdir(parents=True)
    (spare / "late-1-0/info/index.json").write_text("{}")
    (spare / "urls.txt").write_text("")
    environ = dict(conda.environ, CONDA_PKGS_DIRS=str(spare))
    plan = agent.run({"op": "clean", "managers": ["conda"], "flags": ["force"],
                      "environ": environ})
    assert plan["status"] == "ok", plan["error"]
    meta = conda.envs["copy"] / "conda-meta/late-1-0.json"
    meta.write_text(json.dumps({"link": {"source": str(spare / "late-1-0"), "type": 2}}))
    done = agent.run({"op": "apply", "managers": ["conda"], "environ": environ,
                      "plans": plan["plans"]})
    assert all(r["ok"] is False and "environments now use" in r["note"]
               for r in done["removed"])
    assert (spare / "late-1-0/info/index.json").exists()


@pytest.mark.parametrize("forge", ["dotdot", "kind", "shape", "unnormalised"])
def test_apply_refuses_forged_plans(conda: CondaFixture, tmp_path: Path, forge: str,
                                    core_run) -> None:
    plan = json.loads(json.dumps(core_run("clean", ["conda"], conda.environ,
                                          flags=["tempfiles", "tarballs"])["plans"]))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "important.c~").write_bytes(b"precious")
    wire = plan[0]
    if forge == "dotdot":
        wire["items"][0][0] = "../../victim/important.c~"
    elif forge == "kind":
        wire["items"][0][1] = "pkgs_dir"
        wire["items"][0][0] = ""
    elif forge == "shape":
        wire["items"] = [["x"]]
    else:
        wire["root"] = str(conda.root / ".." / ".." / "victim")
    done = agent.run({"op": "apply", "managers": ["conda"], "environ": conda.environ,
                      "plans": plan})
    assert done["status"] == "refused"
    assert (victim / "important.c~").exists()
    assert (conda.pkgs / "alpha-1.0-h0_0.conda").exists()


def test_odd_records_and_aliases_do_not_break_planning(conda: CondaFixture, core_run) -> None:
    meta = conda.envs["copy"] / "conda-meta"
    (meta / "delta-3.1-h2_1.json").write_text(
        '{"link": {"source": "/x\\u0000y", "type": 1}}')  # a NUL in a path
    (meta / "deep-1-0.json").write_text("[" * 100000 + "]" * 100000)
    plan = core_run("clean", ["conda"], conda.environ, flags=["packages"])
    assert selected(plan, conda) == set()  # delta is now recorded (by name): kept
    alias = dict(conda.environ, CONDA_PKGS_DIRS=f"{conda.pkgs},{conda.root}/../root/pkgs")
    twice = agent.run({"op": "clean", "managers": ["conda"], "flags": ["tarballs"],
                       "environ": alias})
    paths = [r["path"] for r in twice["removed"]]
    assert len(paths) == len(set(paths)) == len(TARBALLS)


def test_an_unreadable_record_refuses_package_cleaning(conda: CondaFixture) -> None:
    (conda.envs["copy"] / "conda-meta/broken-1-0.json").mkdir()
    result = agent.run({"op": "clean", "managers": ["conda"], "flags": ["packages"],
                        "environ": conda.environ, "apply": True})
    assert result["status"] == "refused" and "broken-1-0.json" in result["error"]
    assert (conda.pkgs / "delta-3.1-h2_1").is_dir()


def test_nested_partial_downloads_are_not_conda_s(conda: CondaFixture, core_run) -> None:
    nested = conda.pkgs / "https/conda.anaconda.org/conda-forge/linux-64"
    nested.mkdir(parents=True)
    (nested / "x-1-0.conda.partial").write_bytes(b"half")
    assert not [p for p in selected(core_run("clean", ["conda"], conda.environ, flags=["tarballs"]),
                                    conda) if "https/" in p]


@pytest.mark.root
def test_a_mount_point_inside_a_package_is_not_crossed(conda: CondaFixture, core_run) -> None:
    from tests.fixtures.disk import tmpfs

    with tmpfs(conda.pkgs / "delta-3.1-h2_1/share/mnt", "size=1m") as inner:
        (inner / "other-fs.txt").write_text("not the cache's")
        done = core_run("clean", ["conda"], conda.environ, flags=["packages"], apply=True)
        [row] = done["removed"]
        assert row["ok"] is False and "not crossed" in row["note"]
        assert (inner / "other-fs.txt").read_text() == "not the cache's"


def hold_lock(path: Path, kind: str):
    """A separate process holding a lock on ``path`` until it is killed."""
    import subprocess
    import sys

    code = (f"import fcntl, os, sys, time\nfd = os.open({str(path)!r}, os.O_RDWR)\n"
            f"fcntl.{kind}(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_clean_lock_removes_stale_locks_and_keeps_held_ones(conda: CondaFixture, core_run) -> None:
    stale = conda.pkgs / "pkgs.lock"
    by_flock = conda.pkgs / "cache" / "497deca9.json.lock"
    by_posix = conda.pkgs / "delta-3.1-h2_1.conda.lock"
    late = conda.pkgs / "cache" / "late.lock"
    for path in (stale, by_flock, by_posix, late):
        path.write_text("")
    holders = [hold_lock(by_flock, "flock"), hold_lock(by_posix, "lockf")]
    try:
        plan = core_run("clean", ["conda"], conda.environ, flags=["lock"])
        assert selected(plan, conda) == {"pkgs/pkgs.lock", "pkgs/cache/late.lock"}
        assert {k: v for k, v in kept(plan, conda).items() if k.startswith("pkgs/")} == {
            "pkgs/cache/497deca9.json.lock": "lock held by a running process",
            "pkgs/delta-3.1-h2_1.conda.lock": "lock held by a running process"}
        holders.append(hold_lock(late, "flock"))  # taken between plan and apply
        done = agent.run({"op": "apply", "managers": ["conda"], "environ": conda.environ,
                          "plans": plan["plans"]})
        rows = {os.path.basename(r["path"]): r for r in done["removed"]}
        assert rows["pkgs.lock"]["ok"] and not stale.exists()
        assert rows["late.lock"]["ok"] is False and "holds this lock" in rows["late.lock"]["note"]
        assert by_flock.exists() and by_posix.exists() and late.exists()
    finally:
        for proc in holders:
            proc.kill()
            proc.wait()


def test_tempfiles_without_paths_walk_conda_s_root_prefix(conda: CondaFixture, home: Path,
                                                          core_run) -> None:
    only_config = {k: v for k, v in conda.environ.items() if k != "CONDA_ROOT_PREFIX"}
    only_config["CONDA_ROOT"] = str(conda.root)  # a config directory, not the root
    plan = core_run("clean", ["conda"], only_config, flags=["tempfiles"])
    assert selected(plan, conda) == set()
    assert any("no conda root prefix found" in w for w in plan["warnings"])

    (home / ".condarc").write_text(f"root_prefix: {conda.root}\n")
    plan = core_run("clean", ["conda"], only_config, flags=["tempfiles"])
    assert selected(plan, conda) == TEMPFILES
    by_var = core_run("clean", ["conda"], conda.environ, flags=["tempfiles"])
    assert selected(by_var, conda) == TEMPFILES


def test_tempfiles_are_files_as_os_walk_lists_them(conda: CondaFixture, core_run) -> None:
    """conda's find_tempfiles takes the names ``os.walk`` lists as files: a symlink to a file
    (or a dangling one) named ``*.c~`` is a temp file; a symlink to a directory, or a
    directory, named ``*.trash`` is listed among the directories and stays."""
    lib = conda.root / "lib"
    (lib / "target-dir").mkdir()
    (lib / "target.txt").write_text("x")
    os.symlink(lib / "target-dir", lib / "dir-link.trash")
    (lib / "real-dir.trash").mkdir()
    os.symlink(lib / "target.txt", lib / "file-link.c~")
    os.symlink(lib / "nowhere", lib / "dangling.c~")
    conda_walk = {os.path.relpath(os.path.join(top, f), conda.root)
                  for top, _dirs, files in os.walk(conda.root)
                  for f in files if f.endswith((".c~", ".trash"))}
    plan = core_run("clean", ["conda"], conda.environ, flags=["tempfiles"])
    assert selected(plan, conda) == conda_walk == TEMPFILES | {"lib/file-link.c~",
                                                              "lib/dangling.c~"}

"""conda caches in dir, info, report, list, remove and purge; micromamba's layout; bad input."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from tests.fixtures import REPO
from tests.fixtures.conda_cache import CHANNEL, CondaFixture, Dist, extract, install, make_archive


def cache_of(result: Dict[str, Any], path: Path) -> Dict[str, Any]:
    [cache] = [c for c in result["caches"] if c["path"] == str(path)]
    return cache


def lstat_sizes(paths: Iterator[Path]) -> List[int]:
    return [p.lstat().st_size for p in paths if not p.is_dir() or p.is_symlink()]


def test_info_figures_match_the_files_on_disk(conda: CondaFixture, core_run) -> None:
    info = cache_of(core_run("info", ["conda"], conda.environ), conda.pkgs)
    pkgs = conda.pkgs
    every = [p for p in pkgs.rglob("*") if not p.is_dir() or p.is_symlink()]
    assert info["files"] == len(every)
    assert info["bytes"] == sum(lstat_sizes(iter(every)))
    tarballs = [p for p in pkgs.iterdir() if p.name.endswith((".conda", ".tar.bz2"))]
    assert (info["tarballs"], info["tarballs_bytes"]) == (5, sum(lstat_sizes(iter(tarballs))))
    packages = [p for p in pkgs.iterdir() if (p / "info").is_dir()]
    assert info["packages"] == 7
    assert info["packages_bytes"] == sum(sum(lstat_sizes(p.rglob("*"))) for p in packages)
    delta = pkgs / "delta-3.1-h2_1"
    assert (info["unused_packages"], info["unused_bytes"]) == (1, sum(lstat_sizes(delta.rglob(
        "*"))))
    assert info["index_cache_bytes"] == sum(lstat_sizes((pkgs / "cache").rglob("*")))
    assert (info["logfiles"], info["partials"], info["tempfiles"], info["trash"]) == (1, 2, 1, 1)
    assert info["writable"] and info["source"] == "CONDA_PKGS_DIRS"
    home = cache_of(core_run("info", ["conda"], conda.environ), conda.home_pkgs)
    assert home["writable"] is False and home["reclaimable_bytes"] == 0


def test_report_reclaimable_is_what_purge_would_free(conda: CondaFixture, core_run) -> None:
    report = cache_of(core_run("report", ["conda"], conda.environ), conda.pkgs)
    purge = core_run("purge", ["conda"], conda.environ)
    assert report["reclaimable_bytes"] == sum(
        c.get("reclaimable_bytes") or 0 for c in purge["caches"]) > 0
    done = core_run("purge", ["conda"], conda.environ, apply=True)
    assert done["reclaimed_bytes"] == report["reclaimable_bytes"]
    assert not (conda.pkgs / "cache").exists() and (conda.pkgs / "beta-2.0-h1_0").is_dir()


def test_dir_lists_caches_and_environments_with_their_sources(conda: CondaFixture, home: Path,
                                                              run_cachekit
                                                              ) -> None:
    out = run_cachekit(["dir", "--managers", "conda"], home / "nopip", **conda.environ)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(str(conda.pkgs) in line and "CONDA_PKGS_DIRS" in line and line.endswith("yes")
               for line in lines)
    assert any(str(conda.home_pkgs) in line and line.endswith("yes, read-only") for line in lines)
    assert any(str(conda.envs["soft"]) in line and "environments.txt" in line for line in lines)


def test_list_and_remove_by_pattern_never_take_a_used_package(conda: CondaFixture,
                                                              core_run) -> None:
    listed = core_run("list", ["conda"], conda.environ, pattern="beta")["entries"]
    assert {(e["name"], e["version"], e["build"], e["kind"]) for e in listed} == {
        ("beta", "2.0", "h1_0", "tarball"), ("beta", "2.0", "h1_0", "extracted")}
    assert [e["used_by"] for e in listed if e["kind"] == "extracted"] == [
        [f"used by {conda.envs['soft']} (symlink)"]]
    assert {e["name"] for e in core_run("list", ["conda"], conda.environ,
                                        pattern="*-3.1-*")["entries"]} == {"delta"}

    done = core_run("remove", ["conda"], conda.environ, pattern="beta", apply=True)
    assert [os.path.basename(r["path"]) for r in done["removed"]] == ["beta-2.0-h1_0.tar.bz2"]
    assert [os.path.basename(k["path"]) for k in done["kept"]] == ["beta-2.0-h1_0"]
    assert (conda.pkgs / "beta-2.0-h1_0").is_dir()
    done = core_run("remove", ["conda"], conda.environ, pattern="DELTA", apply=True)
    assert {os.path.basename(r["path"]) for r in done["removed"]} == {
        "delta-3.1-h2_1.conda", "delta-3.1-h2_1"}
    assert not (conda.pkgs / "delta-3.1-h2_1").exists()
    assert (conda.home_pkgs / "delta-3.1-h2_1").exists()  # read-only cache: untouched


def test_a_record_whose_cache_path_is_gone_keeps_packages_of_that_name(
        conda: CondaFixture, tmp_path: Path, core_run) -> None:
    meta = conda.envs["copy"] / "conda-meta/delta-3.1-h2_1.json"
    meta.write_text(json.dumps({"link": {"source": str(tmp_path / "moved/delta-3.1-h2_1"),
                                         "type": 2}, "files": []}))
    plan = core_run("clean", ["conda"], conda.environ, flags=["packages"])
    assert plan["removed"] == []
    [why] = [k["reason"] for k in plan["kept"] if k["path"].endswith("delta-3.1-h2_1")]
    assert why.startswith(f"recorded by {conda.envs['copy']} (by name")


def test_micromamba_nested_layout_trash_and_locks(conda: CondaFixture, conda_archives: Path,
                                                  core_run
                                                  ) -> None:
    nested = conda.pkgs / "https/conda.anaconda.org/conda-forge/linux-64"
    nested.mkdir(parents=True)
    archives = conda_archives / "archives"
    for dist in ("gamma-0.5-py_0", "delta-3.1-h2_1"):
        archive = archives / f"{dist}.conda"
        shutil.copy2(archive, nested)
        extract(archive, nested, dist, "https://conda.anaconda.org/conda-forge/linux-64/x")
    mm_env = conda.root / "envs/mm"
    env_files = install(nested, "gamma-0.5-py_0", mm_env, 2)
    (nested / "delta-3.1-h2_1.conda.lock").write_text("")
    (conda.pkgs / "pkgs.lock").write_text("")
    info = cache_of(core_run("info", ["conda"], conda.environ), conda.pkgs)
    assert (info["tarballs"], info["packages"], info["locks"]) == (7, 9, 2)
    done = core_run("clean", ["conda"], conda.environ, flags=["tarballs", "packages"], apply=True)
    removed = {os.path.relpath(r["path"], conda.pkgs) for r in done["removed"]}
    rel = "https/conda.anaconda.org/conda-forge/linux-64"
    assert {f"{rel}/gamma-0.5-py_0.conda", f"{rel}/delta-3.1-h2_1.conda",
            f"{rel}/delta-3.1-h2_1"} <= removed
    assert f"{rel}/gamma-0.5-py_0" not in removed  # used by the symlinked env mm
    for path, data in env_files.items():
        assert (mm_env / path).read_bytes() == data
    assert (nested / "delta-3.1-h2_1.conda.lock").exists()  # locks are issue 7's `clean --lock`


def test_cli_info_and_report_show_conda_beside_pip(conda: CondaFixture, home: Path,
                                                   pip_cache: Path, run_cachekit, core_run) -> None:
    info = run_cachekit(["info"], pip_cache, **conda.environ)
    assert info.returncode == 0, info.stderr
    assert "BUILT WHEELS" in info.stdout and "CONDA CACHE" in info.stdout
    [row] = [line for line in info.stdout.splitlines() if str(conda.pkgs) in line]
    assert " 5 (" in row and "7 (" in row and row.endswith("writable")
    report = run_cachekit(["report", "--format", "csv"], pip_cache, **conda.environ)
    assert report.returncode == 0, report.stderr
    header, local = report.stdout.splitlines()[:2]
    assert header.startswith("host,status,pip,conda,total,reclaimable")  # no uv cache here
    fields = dict(zip(header.split(","), local.split(",")))
    pkgs_bytes = cache_of(core_run("info", ["conda"], conda.environ), conda.pkgs)["bytes"]
    home_bytes = cache_of(core_run("info", ["conda"], conda.environ), conda.home_pkgs)["bytes"]
    assert int(fields["conda"]) == pkgs_bytes + home_bytes


def test_a_broken_condarc_is_one_line_and_the_rest_is_still_reported(
        conda: CondaFixture, home: Path, pip_cache: Path, run_cachekit) -> None:
    condarc = home / ".condarc"
    condarc.write_text("pkgs_dirs:\n  - /a\n - /b\n")
    info = run_cachekit(["info"], pip_cache, **conda.environ)
    assert info.returncode == 2
    errors = [line for line in info.stderr.splitlines() if "error" in line]
    assert errors == [f"cachekit: error: local: conda: {condarc}: not valid YAML: line 3: "
                      "bad indentation"]
    assert str(pip_cache) in info.stdout
    clean = run_cachekit(["clean", "--all", "--yes"], pip_cache, **conda.environ)
    assert clean.returncode == 1 and str(condarc) in clean.stderr
    assert (conda.pkgs / "delta-3.1-h2_1.conda").exists()


def test_conda_pkgs_dirs_naming_a_file(conda: CondaFixture, home: Path, pip_cache: Path,
                                       run_cachekit) -> None:
    afile = home / "not-a-dir"
    afile.write_text("x")
    environ = dict(conda.environ, CONDA_PKGS_DIRS=f"{afile},{conda.pkgs}")
    info = run_cachekit(["info", "--managers", "conda"], pip_cache, **environ)
    assert info.returncode == 2
    assert f"CONDA_PKGS_DIRS: {afile} is not a directory" in info.stderr
    assert str(conda.pkgs) in info.stdout


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory another user can reach (pytest's own tmp is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="cachekit-nobody-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


NOBODY = 65534


def python_for_nobody() -> str:
    """A python3 that user nobody may run (this venv's may live under root's home)."""
    for candidate in (sys.executable, getattr(sys, "_base_executable", ""), "/usr/bin/python3",
                      "/usr/local/bin/python3"):
        try:
            if candidate and subprocess.run([candidate, "-c", "pass"], user=NOBODY, cwd="/",
                                            capture_output=True).returncode == 0:
                return candidate
        except OSError:
            continue
    pytest.skip("no python3 on this machine that another user may run")


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the core as another user")
def test_unreadable_caches_as_another_user(shared_tmp: Path) -> None:
    """Run the core as nobody: one cache it cannot list, one it cannot read fully."""
    nobody = NOBODY
    python = python_for_nobody()
    closed = shared_tmp / "closed"
    partial = shared_tmp / "partial"
    fine = shared_tmp / "fine"
    for cache in (closed, partial, fine):
        (cache / "old-1.0-0/info").mkdir(parents=True)
        (cache / "old-1.0-0/info/index.json").write_text("{}")
        (cache / "old-1.0-0.conda").write_bytes(b"zip")
        (cache / "urls.txt").write_text("")
    (partial / "old-1.0-0/lib").mkdir()
    (partial / "old-1.0-0/lib/secret").write_text("x")
    for path in [p for c in (partial, fine) for p in [c, *c.rglob("*")]]:
        os.chown(path, nobody, nobody, follow_symlinks=False)
    closed.chmod(0o700)
    (partial / "old-1.0-0/lib").chmod(0o000)
    os.chown(partial / "old-1.0-0/lib", 0, 0)
    home = shared_tmp / "home"
    home.mkdir()
    os.chown(home, nobody, nobody)
    environ = {"HOME": str(home), "CONDA_PKGS_DIRS": f"{closed},{partial},{fine}",
               "PYTHONPATH": str(REPO), "PATH": os.environ["PATH"]}
    request = {"op": "clean", "managers": ["conda"], "flags": ["tarballs", "packages"],
               "apply": True}
    done = subprocess.run([python, "-m", "cachekit.core.agent"], input=json.dumps(request),
                          capture_output=True, text=True, user=nobody, env=environ, cwd="/",
                          timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    caches = {c["path"]: c for c in result["caches"]}
    assert caches[str(closed)]["error"] == f"{closed}: cannot list it: Permission denied"
    assert caches[str(partial)]["error"] == (f"{partial} could not be read fully; nothing is "
                                             "removed from it")
    assert (partial / "old-1.0-0.conda").exists()
    assert not (fine / "old-1.0-0.conda").exists() and not (fine / "old-1.0-0").exists()
    assert {os.path.dirname(r["path"]) for r in result["removed"]} == {str(fine)}


def conda_package_size(package: Path) -> int:
    """``conda clean --packages``'s figure, its rule written out: the ``lstat`` size of every
    name in the file lists of ``os.walk`` (a symlink to a directory is listed among the
    directories and counts nothing; a symlink to a file, or a dangling one, counts its length)."""
    return sum(os.lstat(os.path.join(top, name)).st_size
               for top, _dirs, names in os.walk(package) for name in names)


def test_a_symlink_to_a_directory_counts_nothing_as_in_conda(conda: CondaFixture, core_run,
                                                              conda_archives: Path) -> None:
    dist = Dist("linky-1.0-0", {"lib/linky/data.txt": b"linky data\n"},
                symlinks={"lib/linky-current": "linky", "lib/data-current.txt": "linky/data.txt",
                          "lib/gone.txt": "no-such-file"})
    archive = make_archive(dist, conda_archives / "linky", ".conda")
    package = extract(archive, conda.pkgs, dist.dist, f"{CHANNEL}/{archive.name}")
    assert (package / "lib/linky-current").is_symlink() and (package / "lib/linky-current").is_dir()
    expected = conda_package_size(package)
    every = sum(p.lstat().st_size for p in package.rglob("*") if not p.is_dir() or p.is_symlink())
    assert every - expected == len(os.readlink(package / "lib/linky-current")) == 5

    info = cache_of(core_run("info", ["conda"], conda.environ), conda.pkgs)
    others = [p for p in conda.pkgs.iterdir() if (p / "info").is_dir() and p != package]
    assert info["packages_bytes"] == expected + sum(conda_package_size(p) for p in others)
    plan = core_run("clean", ["conda"], conda.environ, flags=["packages"])
    [row] = [r for r in plan["removed"] if r["path"] == str(package)]
    assert row["bytes"] == expected
    removal = core_run("remove", ["conda"], conda.environ, pattern="linky")
    assert [r["bytes"] for r in removal["removed"] if r["path"] == str(package)] == [expected]
    listed = core_run("list", ["conda"], conda.environ, pattern="linky")["entries"]
    assert [e["bytes"] for e in listed if e["kind"] == "extracted"] == [None]  # not measured

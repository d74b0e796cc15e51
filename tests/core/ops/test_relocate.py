"""`locations` and `relocate`, checked against the real pip and uv and the conda fixture."""

import contextlib
import json
import os
import sys
from pathlib import Path

import pytest

from cachekit.core.managers.conda import location as conda_location
from tests.fixtures.conda_cache import CondaFixture, snapshot
from tests.fixtures.disk import tmpfs
from tests.fixtures.pip_cache import pip_env, run_pip
from tests.fixtures.uv_cache import run_uv, uv_env

# The venv's bin first: relocate runs this python's pip and uv.
PATH_WITH_VENV = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"

PIP_CONF = "# my settings\n[global]\n; seconds\ntimeout = 60\n\n[install]\nno-compile = true\n"


def test_relocate_pip_writes_global_cache_dir_and_pip_agrees(home: Path, tmp_path: Path, core_run,
                                                             run_cachekit) -> None:
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(PIP_CONF)
    target = tmp_path / "new-pip"
    dry = run_cachekit(["relocate", "--managers", "pip", "--to", str(target), "--dry-run"],
                       PATH=PATH_WITH_VENV)
    assert dry.returncode == 0, dry.stderr
    assert f"+cache-dir = {target}" in dry.stdout and conf.read_text() == PIP_CONF
    done = run_cachekit(["relocate", "--managers", "pip", "--to", str(target), "--yes"],
                        PATH=PATH_WITH_VENV)
    assert done.returncode == 0, done.stderr
    assert conf.read_text() == PIP_CONF.replace("[global]\n", f"[global]\ncache-dir = {target}\n")
    real = run_pip(["cache", "dir"], pip_env(home))
    assert real.stdout.strip() == str(target), real.stderr
    assert core_run("dir", managers=["pip"], environ={"HOME": str(home)},
                    ok=False)["caches"][0]["path"] == str(target)
    again = run_cachekit(["relocate", "--managers", "pip", "--to", str(tmp_path / "third"),
                          "--yes"], PATH=PATH_WITH_VENV)
    assert again.returncode == 0
    assert conf.read_text().count("cache-dir") == 1  # replaced, not added twice


def test_relocate_uv_keeps_comments_and_tables_and_uv_agrees(home: Path, tmp_path: Path,
                                                             run_cachekit) -> None:
    toml = home / ".config/uv/uv.toml"
    toml.parent.mkdir(parents=True)
    toml.write_text('# uv settings\nnative-tls = true\n\n[pip]\nno-deps = false\n')
    target = tmp_path / "new uv cache"
    done = run_cachekit(["relocate", "--managers", "uv", "--to", str(target), "--yes"],
                        PATH=PATH_WITH_VENV)
    assert done.returncode == 0, done.stderr
    assert toml.read_text() == (f'cache-dir = "{target}"\n# uv settings\nnative-tls = true\n\n'
                                '[pip]\nno-deps = false\n')
    env = {k: v for k, v in uv_env(home).items() if k != "UV_NO_CONFIG"}
    assert run_uv(["cache", "dir"], env).stdout.strip() == str(target)


@pytest.mark.root
def test_move_across_file_systems_keeps_hard_links_and_uv_still_works(
        home: Path, tmp_path: Path, uv_cache: Path, run_cachekit) -> None:
    default = home / ".cache/uv"  # where uv looks with no setting at all
    default.parent.mkdir(parents=True)
    uv_cache.rename(default)
    (default / "extra").mkdir()
    (default / "extra/a").write_text("shared")
    os.link(default / "extra/a", default / "extra/b")
    before = sorted(str(p.relative_to(default)) for p in default.rglob("*"))
    with tmpfs(tmp_path / "other-fs", "size=64m") as mount:
        target = mount / "uv"
        done = run_cachekit(["relocate", "--managers", "uv", "--to", str(target), "--move", "--yes",
                             "--format", "json"], PATH=PATH_WITH_VENV)
        assert done.returncode == 0, done.stderr
        plan = json.loads(done.stdout)["hosts"][0]["relocation"]["move"]
        assert plan["how"] == "copy, verify, remove" and plan["hard_links_kept"] == 1
        assert not default.exists()
        assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == before
        assert os.stat(target / "extra/a").st_ino == os.stat(target / "extra/b").st_ino
        env = {k: v for k, v in uv_env(home).items() if k != "UV_NO_CONFIG"}
        assert run_uv(["cache", "dir"], env).stdout.strip() == str(target)
        size = run_uv(["cache", "size", "--preview-features", "cache-size"], env)
        assert size.returncode == 0 and int(size.stdout) > 0


def test_relocate_conda_prepends_and_keeps_the_caches_in_use(conda: CondaFixture, home: Path,
                                                             tmp_path: Path, core_run) -> None:
    condarc = home / ".condarc"
    condarc.write_text("# channels first\nchannels:\n  - conda-forge\n")
    environ = {"CONDA_ROOT_PREFIX": conda.environ["CONDA_ROOT_PREFIX"]}
    target = tmp_path / "new-pkgs"
    done = core_run("relocate", managers=["conda"], to=str(target), apply=True,
                    environ={**environ, "HOME": str(home)}, ok=False)
    assert done["status"] == "ok", done["error"]
    text = condarc.read_text()
    assert text.startswith("# channels first\nchannels:\n  - conda-forge\n")
    assert f"pkgs_dirs:\n  - {target}\n  - {conda.pkgs}\n  - {home}/.conda/pkgs\n" in text
    loc = conda_location.locate(dict(environ, HOME=str(home)))
    assert [c.path for c in loc.caches if c.configured][:2] == [str(target), str(conda.pkgs)]
    again = core_run("relocate", managers=["conda"], to=str(tmp_path / "third"), apply=True,
                     environ={**environ, "HOME": str(home)}, ok=False)
    assert again["status"] == "ok"
    assert f"pkgs_dirs:\n  - {tmp_path}/third\n  - {target}\n" in condarc.read_text()


def test_moving_a_conda_cache_used_through_symlinks_is_refused(conda: CondaFixture, home: Path,
                                                              tmp_path: Path, core_run) -> None:
    environ = {"CONDA_ROOT_PREFIX": conda.environ["CONDA_ROOT_PREFIX"]}
    refused = core_run("relocate", managers=["conda"], to=str(tmp_path / "p"), move=True,
                       apply=True, environ={**environ, "HOME": str(home)}, ok=False)
    assert refused["status"] == "refused"
    assert str(conda.envs["soft"]) in refused["error"] and "symlinks" in refused["error"]
    assert conda.pkgs.is_dir() and not (home / ".condarc").exists()
    # without the symlinked environment, the cache moves and every environment still reads
    import shutil

    shutil.rmtree(conda.envs["soft"])
    del conda.envs["soft"]
    files = {p: d for p, d in conda.env_files.items() if "envs/soft" not in str(p)}
    before = snapshot(files)
    moved = core_run("relocate", managers=["conda"], to=str(tmp_path / "p"), move=True, apply=True,
                     environ={**environ, "HOME": str(home)}, ok=False)
    assert moved["status"] == "ok", moved["error"]
    assert moved["relocation"]["move"]["how"] == "rename"
    assert snapshot(files) == before
    loc = conda_location.locate(dict(environ, HOME=str(home)))
    assert loc.caches[0].path == str(tmp_path / "p") and loc.caches[0].writable


@pytest.mark.parametrize("case", ["file", "under-file", "inside",
                                  pytest.param("read-only", marks=pytest.mark.root), "broken"])
def test_bad_targets_and_configs_change_nothing(case: str, home: Path, tmp_path: Path,
                                                pip_cache: Path, run_cachekit) -> None:
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\ntimeout = 60\n" if case != "broken" else "[global\nx\n")
    before = conf.read_bytes()
    afile = tmp_path / "afile"
    afile.write_text("x")
    target = {"file": afile, "under-file": afile / "sub", "inside": pip_cache / "sub",
              "read-only": tmp_path / "ro" / "cache", "broken": tmp_path / "ok"}[case]
    with contextlib.ExitStack() as stack:
        if case == "read-only":
            stack.enter_context(tmpfs(tmp_path / "ro", "size=1m,ro"))
        run = run_cachekit(["relocate", "--managers", "pip", "--to", str(target), "--yes"],
                           PATH=PATH_WITH_VENV,
                           PIP_CACHE_DIR=str(pip_cache) if case == "inside" else "")
        assert run.returncode == 1, run.stdout + run.stderr
        errors = [line for line in run.stderr.splitlines() if line.startswith("cachekit:")]
        assert len(errors) == 1, run.stderr
        expected = {"file": "is not a directory", "under-file": "cannot be created",
                    "inside": "inside the current cache", "read-only": "read-only file system",
                    "broken": f"cannot load its config file {conf}"}[case]
        assert expected in errors[0]
        assert conf.read_bytes() == before
        assert sorted(p.name for p in conf.parent.iterdir()) == ["pip.conf"]  # no temp file


def test_locations_show_sources_and_traps(home: Path, tmp_path: Path, run_cachekit) -> None:
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[install]\ncache-dir = /data/pip\n")
    (home / ".bashrc").write_text(f"export PIP_CACHE_DIR={tmp_path}/pip\n")
    run = run_cachekit(["locations", "--managers", "pip", "--format", "json"], PATH=PATH_WITH_VENV,
                       PIP_CACHE_DIR=str(tmp_path / "pip"))
    assert run.returncode == 0, run.stderr
    [loc] = json.loads(run.stdout)["hosts"][0]["locations"]
    assert loc["path"] == str(tmp_path / "pip")
    assert [(s["where"], s["won"]) for s in loc["sources"]] == [
        ("environment variable PIP_CACHE_DIR", True),
        (f"{conf} [install] cache-dir", False),
        ("default (~/.cache/pip)", False)]
    traps = " | ".join(loc["traps"])
    assert "[install] cache-dir = /data/pip is ignored by `pip cache`" in traps
    assert f"PIP_CACHE_DIR is set in {home}/.bashrc" in traps
    assert f"they use {home}/.cache/pip" in traps
    assert loc["file_system"]["free_bytes"] > 0
    (home / ".pam_environment").write_text(f"PIP_CACHE_DIR={tmp_path}/pip\n")
    run = run_cachekit(["locations", "--managers", "pip", "--format", "json"], PATH=PATH_WITH_VENV,
                       PIP_CACHE_DIR=str(tmp_path / "pip"))
    [loc] = json.loads(run.stdout)["hosts"][0]["locations"]
    assert not [t for t in loc["traps"] if "PIP_CACHE_DIR" in t]  # every session sees it


def test_locations_flag_dropped_conda_defaults(conda: CondaFixture, home: Path, core_run) -> None:
    (home / ".condarc").write_text(f"pkgs_dirs:\n  - {home}/elsewhere\n")
    result = core_run("locations", managers=["conda"],
                      environ={"CONDA_ROOT_PREFIX": conda.environ["CONDA_ROOT_PREFIX"],
                               "HOME": str(home)}, ok=False)
    [loc] = result["locations"]
    assert loc["path"] == f"{home}/elsewhere"
    assert any(f"no longer lists the default cache {conda.pkgs}" in t for t in loc["traps"])


@pytest.mark.root
def test_locations_flag_a_nearly_full_file_system(home: Path, tmp_path: Path, core_run) -> None:
    with tmpfs(tmp_path / "small", "size=1m") as small:
        (small / "cache").mkdir()
        st = os.statvfs(small)
        (small / "filler").write_bytes(b"x" * (st.f_bavail * st.f_frsize - 20_000))
        result = core_run("locations", managers=["pip"],
                          environ={"PIP_CACHE_DIR": str(small / "cache"),
                                   "HOME": str(home)}, ok=False)
        traps = result["locations"][0]["traps"]
        assert any(f"the file system at {small} is" in t and "% full" in t for t in traps), traps


def test_edits_on_tricky_files() -> None:
    from cachekit.core.managers.conda.settings import edit_conda
    from cachekit.core.managers.pip.settings import edit_pip
    from cachekit.core.managers.uv.settings import edit_uv

    assert edit_pip("[global]", "/n") == "[global]\ncache-dir = /n\n"
    assert edit_pip("[global]\nindex-url = a\n  cache-dir = b\n", "/n") == (
        "[global]\ncache-dir = /n\nindex-url = a\n  cache-dir = b\n")  # a continuation line
    assert edit_pip("[ global ]\nx = 1\n", "/n").endswith("\n[global]\ncache-dir = /n\n")
    toml = 'a = [\n  [1, 2],\n]\ncache-dir = "/o"\n[pip]\n'
    assert edit_uv(toml, "/n") == toml.replace('"/o"', '"/n"')
    assert edit_conda("pkgs_dirs: ['/a,b', /c]  # mine\n", "/n", []) == (
        'pkgs_dirs: [/n, "/a,b", /c]  # mine\n')
    assert edit_conda("pkgs_dirs: #!final\n  - /a\n  - /n\nenvs_dirs:\n  - /n\n", "/n", []) == (
        "pkgs_dirs: #!final\n  - /n\n  - /a\nenvs_dirs:\n  - /n\n")
    assert edit_conda("channels: [x]", "/n", ["/p"]) == (
        "channels: [x]\npkgs_dirs:\n  - /n\n  - /p\n")


def test_a_symlinked_config_stays_a_link(home: Path, tmp_path: Path, core_run) -> None:
    dotfiles = tmp_path / "dotfiles/pip.conf"
    dotfiles.parent.mkdir()
    dotfiles.write_text("[global]\ntimeout = 60\n")
    link = home / ".config/pip/pip.conf"
    link.parent.mkdir(parents=True)
    link.symlink_to(dotfiles)
    done = core_run("relocate", managers=["pip"], to=str(tmp_path / "new"), apply=True,
                    environ={"HOME": str(home)}, ok=False)
    assert done["status"] == "ok", done["error"]
    assert link.is_symlink() and f"cache-dir = {tmp_path / 'new'}" in dotfiles.read_text()


def test_relocate_refuses_when_a_higher_setting_would_still_win(home: Path, tmp_path: Path,
                                                                pip_cache: Path, core_run) -> None:
    conf = home / ".config/pip/pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\ntimeout = 60\n[install]\ncache-dir = /old\n")
    before = sorted(str(p) for p in pip_cache.rglob("*"))
    refused = core_run("relocate", managers=["pip"], to=str(tmp_path / "new"), move=True,
                       apply=True, environ={"PIP_CACHE_DIR": str(pip_cache),
                                            "HOME": str(home)}, ok=False)
    assert refused["status"] == "refused" and "would still be" in refused["error"]
    assert conf.read_text() == "[global]\ntimeout = 60\n[install]\ncache-dir = /old\n"
    assert sorted(str(p) for p in pip_cache.rglob("*")) == before
    done = core_run("relocate", managers=["pip"], to=str(tmp_path / "new"), apply=True,
                    environ={"HOME": str(home)}, ok=False)
    assert any("[install] cache-dir = /old still applies to `pip install`" in w
               for w in done["warnings"])


def test_a_cross_device_move_removes_only_what_it_checked(tmp_path: Path) -> None:
    from cachekit.core.fs import move as relocate

    source, target = tmp_path / "src", tmp_path / "dst"
    (source / "a").mkdir(parents=True)
    (source / "a/one").write_text("1")
    relocate._copy_tree(str(source), str(target))
    checked = relocate._verify(str(source), str(target))
    (source / "a/late").write_text("arrived after the check")
    left = relocate._remove_checked(str(source), checked)
    assert left == ["a/"] and (source / "a/late").exists() and not (source / "a/one").exists()

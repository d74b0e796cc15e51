"""Where pixi's cache is, as pixi 0.77 decides it (``crates/pixi_config/src/lib.rs``), with
rattler itself as the oracle where it decides: its default cache directory (an install
without a cache dir) and the config files it searches for the tool "pixi"."""

import os
from pathlib import Path
from typing import Any, Dict

import pytest

from cachekit.core.managers.pixi import location
from cachekit.core.managers.pixi.location import PixiConfigError, locate
from tests.fixtures.pixi_cache import install


def _env(home: Path, **extra: str) -> Dict[str, str]:
    return {"HOME": str(home), "PWD": str(home), **extra}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_default_root_is_where_rattler_puts_its_cache(home: Path, pixi_channel: Path,
                                                         tmp_path: Path) -> None:
    """rattler.install without a cache dir extracts into its default, ~/.cache/rattler/cache:
    that is the root cachekit names, with pkgs inside it."""
    install(pixi_channel, None, [(tmp_path / "env", ["beta"])])
    loc = locate(_env(home))
    assert loc.path == str(home / ".cache/rattler/cache")
    assert loc.source == "default: ~/.cache/rattler/cache"
    assert loc.pkgs == str(home / ".cache/rattler/cache/pkgs")
    assert (Path(loc.pkgs) / "beta-2.0-h0_0" / "info").is_dir()


def test_rattler_cache_dir_and_xdg_cache_home_as_rattler_takes_them(
        home: Path, pixi_channel: Path, tmp_path: Path) -> None:
    rattler_dir = tmp_path / "rattler-here"
    install(pixi_channel, None, [(tmp_path / "env1", ["beta"])],
            RATTLER_CACHE_DIR=str(rattler_dir))
    loc = locate(_env(home, RATTLER_CACHE_DIR=str(rattler_dir)))
    assert (loc.path, loc.source) == (str(rattler_dir), "RATTLER_CACHE_DIR")
    assert (Path(loc.pkgs) / "beta-2.0-h0_0").is_dir()
    xdg = tmp_path / "xdg"
    install(pixi_channel, None, [(tmp_path / "env2", ["gamma"])], XDG_CACHE_HOME=str(xdg))
    loc = locate(_env(home, XDG_CACHE_HOME=str(xdg)))
    assert (loc.path, loc.source) == (str(xdg / "rattler/cache"),
                                      "default: XDG_CACHE_HOME/rattler/cache")
    assert (Path(loc.pkgs) / "gamma-0.5-h0_0").is_dir()


def test_the_config_files_are_the_ones_rattler_lists_for_pixi(home: Path) -> None:
    """rattler's ``Config.config_search_paths("pixi")`` lists pixi's own files (and
    rattler's shared ones, which pixi 0.77 does not read for its cache): same order."""
    import subprocess
    import sys

    script = ("import json, rattler\n"
              "print(json.dumps([[str(p), s] for p, s in "
              "rattler.Config.config_search_paths('pixi')]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, HOME=str(home)), check=True)
    import json

    pixi_own = [p for p, shared in json.loads(done.stdout) if not shared]
    assert location.config_files(_env(home)) == pixi_own
    assert pixi_own[-1] == str(home / ".pixi/config.toml")


@pytest.mark.parametrize("environ, files, want, source", [
    ({"PIXI_CACHE_DIR": "/srv/pixi"}, {}, "/srv/pixi", "PIXI_CACHE_DIR"),
    ({"PIXI_CACHE_DIR": "/srv/pixi", "RATTLER_CACHE_DIR": "/srv/r"}, {}, "/srv/pixi",
     "PIXI_CACHE_DIR"),
    ({"RATTLER_CACHE_DIR": "/srv/r"}, {".config/pixi/config.toml": '[cache]\nroot = "/a"\n'},
     "/srv/r", "RATTLER_CACHE_DIR"),
    ({}, {".config/pixi/config.toml": '# mine\n[cache]\nroot = "/a"  # here\n'}, "/a",
     "cache.root in HOME/.config/pixi/config.toml"),
    ({}, {".config/pixi/config.toml": '[cache]\nroot = "/a"\n',
          ".pixi/config.toml": 'cache.root = "/b"\n'}, "/b",
     "cache.root in HOME/.pixi/config.toml"),
    ({"PIXI_HOME": "HOME/ph"}, {".pixi/config.toml": '[cache]\nroot = "/b"\n',
                                "ph/config.toml": '[cache]\nroot = "~/c"\n'}, "HOME/c",
     "cache.root in HOME/ph/config.toml"),
    ({"XDG_CONFIG_HOME": "HOME/xc"}, {"xc/pixi/config.toml": 'cache = { root = "/x" }\n',
                                      ".config/pixi/config.toml": '[cache]\nroot = "/a"\n'},
     "/x", "cache.root in HOME/xc/pixi/config.toml"),
    ({"PIXI_CONFIG_FILE": "HOME/only.toml"}, {".config/pixi/config.toml":
                                              '[cache]\nroot = "/a"\n',
                                              "only.toml": '[cache]\nroot = "/o"\n'},
     "/a", "cache.root in HOME/.config/pixi/config.toml"),
])
def test_the_cache_root_and_its_source(home: Path, environ: Dict[str, str],
                                       files: Dict[str, str], want: str, source: str) -> None:
    for rel, text in files.items():
        _write(home / rel, text)
    env = _env(home, **{k: v.replace("HOME", str(home)) for k, v in environ.items()})
    loc = locate(env)
    assert loc.path == want.replace("HOME", str(home))
    assert loc.source == source.replace("HOME", str(home))


def test_an_existing_xdg_dot_pixi_directory_wins_over_rattlers_default(home: Path) -> None:
    """pixi's code joins ``.pixi`` (``consts::PIXI_DIR``) to the cache dir, and only uses
    it when it exists (its docs say ``pixi``)."""
    assert locate(_env(home)).path == str(home / ".cache/rattler/cache")
    (home / ".cache/pixi").mkdir(parents=True)
    assert locate(_env(home)).path == str(home / ".cache/rattler/cache")
    (home / ".cache/.pixi").mkdir()
    loc = locate(_env(home))
    assert (loc.path, loc.source) == (str(home / ".cache/.pixi"),
                                      "default: ~/.cache/.pixi (it exists)")


def test_the_package_cache_and_what_chose_it(home: Path, tmp_path: Path) -> None:
    env = _env(home, PIXI_CACHE_DIR=str(tmp_path / "root"))
    loc = locate(env)
    assert loc.pkgs == str(tmp_path / "root/pkgs")
    assert loc.pkgs_source == "pkgs in the cache root (PIXI_CACHE_DIR)"
    _write(home / ".config/pixi/config.toml", f'[cache]\nconda-packages = "{tmp_path}/cp"\n')
    assert locate(env).pkgs == str(tmp_path / "cp")
    assert locate(env).path == str(tmp_path / "root")  # the root stays
    loc = locate(dict(env, PIXI_CACHE_CONDA_PACKAGES_DIR=str(tmp_path / "ev")))
    assert (loc.pkgs, loc.pkgs_source) == (str(tmp_path / "ev"), "PIXI_CACHE_CONDA_PACKAGES_DIR")
    # pixi's commands read only PIXI_CONFIG_FILE (or nothing): the package cache follows,
    # the root `pixi info` prints does not
    _write(home / "only.toml", f'[cache]\nconda-packages = "{tmp_path}/only"\n')
    loc = locate(dict(env, PIXI_CONFIG_FILE=str(home / "only.toml")))
    assert loc.pkgs == str(tmp_path / "only") and loc.pkgs_source.endswith(
        "(config files chosen by PIXI_CONFIG_FILE)")
    loc = locate(dict(env, PIXI_NO_CONFIG="true"))
    assert loc.pkgs == str(tmp_path / "root/pkgs")


def test_netfs_redirect_always_moves_an_unpinned_package_cache(home: Path, tmp_path: Path
                                                               ) -> None:
    """``[cache] netfs-redirect = "always"`` on a network file system: node-local scratch."""
    _write(home / ".config/pixi/config.toml", '[cache]\nnetfs-redirect = "always"\n')
    env = _env(home, PIXI_FORCE_NETFS_REDIRECT="1", SLURM_TMPDIR=str(tmp_path), USER="ada")
    loc = locate(env)
    assert loc.pkgs == str(tmp_path / "pixi-cache-ada/pkgs")
    assert locate(dict(env, PIXI_CACHE_NETFS_REDIRECT="never")).pkgs == \
        str(home / ".cache/rattler/cache/pkgs")
    pinned = dict(env, PIXI_CACHE_DIR=str(tmp_path / "pinned"))
    assert locate(pinned).pkgs == str(tmp_path / "pinned/pkgs")  # a pinned root stays


@pytest.mark.parametrize("text, problem", [
    ("[cache\nroot = 1\n", "line 1"),
    ('[cache]\nroot = "relative/dir"\n', "`cache.root` must be an absolute path"),
    ("[cache]\nroot = 5\n", "cache.root must be a path"),
    ("cache = 3\n", "cache must be a table"),
    ('[cache]\nnetfs-redirect = "sometimes"\n', "netfs-redirect must be auto, always or never"),
    ("detached-environments = 3\n", "detached-environments must be true, false or a path"),
])
def test_a_config_file_that_does_not_parse_is_one_line_naming_it(
        home: Path, core_run: Any, text: str, problem: str) -> None:
    path = _write(home / ".config/pixi/config.toml", text)
    with pytest.raises(PixiConfigError) as caught:
        locate(_env(home))
    assert str(caught.value).startswith(f"{path}:") and problem in str(caught.value)
    assert "\n" not in str(caught.value)
    result = core_run("dir", ["pixi"], _env(home))
    record = result["caches"][0]
    assert record["path"] is None and record["error"] == str(caught.value)
    refused = core_run("purge", ["pixi"], _env(home), ok=False)
    assert refused["removed"] == [] and refused["caches"][0]["error"] == str(caught.value)


@pytest.mark.parametrize("environ, problem", [
    ({"PIXI_CACHE_DIR": ""}, "PIXI_CACHE_DIR is set but empty"),
    ({"PIXI_NO_CONFIG": "maybe"}, "PIXI_NO_CONFIG: invalid value"),
    ({"PIXI_NO_CONFIG": "1", "PIXI_CONFIG_FILE": "/x.toml"}, "both set"),
])
def test_settings_pixi_refuses_are_refused(home: Path, environ: Dict[str, str],
                                           problem: str) -> None:
    with pytest.raises(PixiConfigError, match=problem):
        locate(_env(home, **environ))


def test_a_relative_pixi_cache_dir_is_taken_from_the_working_directory(home: Path) -> None:
    assert locate(_env(home, PIXI_CACHE_DIR="rel/c")).path == str(home / "rel/c")


def test_locations_lists_every_source_and_marks_the_winner(home: Path, core_run: Any,
                                                           tmp_path: Path) -> None:
    _write(home / ".config/pixi/config.toml", '[cache]\nroot = "/from/config"\n')
    result = core_run("locations", ["pixi"], _env(home, PIXI_CACHE_DIR=str(tmp_path)))
    rec = result["locations"][0]
    assert rec["path"] == str(tmp_path) and rec["source"] == "PIXI_CACHE_DIR"
    won = [s for s in rec["sources"] if s["won"]]
    assert [s["setting"] for s in won] == ["PIXI_CACHE_DIR"]
    settings = {s["setting"]: s["value"] for s in rec["sources"]}
    assert settings["cache.root"] == "/from/config"
    assert rec["packages_dir"] == str(tmp_path / "pkgs")
    assert any("PIXI_CACHE_DIR is set in this session only" in t for t in rec["traps"])


@pytest.mark.parametrize("before, after", [
    ("", '[cache]\nroot = "/new"\n'),
    ('# only a comment', '# only a comment\n\n[cache]\nroot = "/new"\n'),
    ('default-channels = [\n  "conda-forge",  # [cache] in a comment\n]\n',
     'default-channels = [\n  "conda-forge",  # [cache] in a comment\n]\n\n[cache]\n'
     'root = "/new"\n'),
    ('[cache]\nroot = "/old"  # was\n[mirrors]\nroot = "not this"\n',
     '[cache]\nroot = "/new"\n[mirrors]\nroot = "not this"\n'),
    ('[ cache ]\n# c\n', '[ cache ]\nroot = "/new"\n# c\n'),
    ('[shell]\nx = """\n[cache]\nroot = 1\n"""\n',
     '[shell]\nx = """\n[cache]\nroot = 1\n"""\n\n[cache]\nroot = "/new"\n'),
])
def test_relocate_edits_the_config_as_text(before: str, after: str) -> None:
    from cachekit.core.managers.pixi.settings import edit_config

    edited = edit_config(before, "/new", "config.toml")
    assert edited == after
    from cachekit.core import minitoml

    assert minitoml.loads(edited)["cache"]["root"] == "/new"


def test_relocate_refuses_an_inline_cache_table(home: Path, core_run: Any) -> None:
    path = _write(home / ".config/pixi/config.toml", 'cache = { netfs-redirect = "never" }\n')
    refused = core_run("relocate", ["pixi"], _env(home), to=str(home / "c"), ok=False)
    assert refused["status"] == "refused" and "inline table" in refused["error"]
    assert path.read_text() == 'cache = { netfs-redirect = "never" }\n'


def test_pixi_expands_a_bare_tilde_only(home: Path) -> None:
    """pixi (``CacheConfig::expand_paths``) joins HOME to what follows ``~``: ``~user`` is
    not a user's home there, so the value is no absolute path and the file is refused."""
    import getpass

    _write(home / ".config/pixi/config.toml", f'[cache]\nroot = "~{getpass.getuser()}/c"\n')
    with pytest.raises(location.PixiConfigError, match="must be an absolute path"):
        locate(_env(home))
    _write(home / ".config/pixi/config.toml", '[cache]\nroot = "~"\n')
    assert locate(_env(home)).path == str(home)

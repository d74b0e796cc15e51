"""cachekit.core.managers.pip.location.locate() against the real ``pip cache dir`` (pip 26.x).

Each scenario prepares files under its own tmp_path and returns the environment to use.
The real pip runs in a subprocess with that environment and is the oracle:

* exit 0: ``locate(env).path`` equals the printed path;
* exit 1 with "cache is disabled": ``locate(env).path`` is None;
* any other failure (exit 2: bad option value or unloadable config file): ``locate``
  raises PipConfigError.

``locate`` is called in-process with the very same env dict and ``prefix=sys.prefix``, so
the site config file (``sys.prefix/pip.conf``) and the machine's global config files
(/etc/pip.conf, /etc/xdg/pip/pip.conf; they set no cache-dir) are the same for both.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

from cachekit.core.managers.pip.location import PipConfigError, PipLocation, config_files, locate
from tests.fixtures.pip_cache import pip_env, run_pip

DISABLED = "ERROR: pip cache commands can not function since cache is disabled."
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NEEDS_ROOT = {"not_owned_parent"}  # marked root: it chowns a directory to another uid


@dataclass
class Case:
    """What a scenario returns: env changes (None deletes a variable), a cwd, extra checks."""

    env: Dict[str, Optional[str]] = field(default_factory=dict)
    cwd: Optional[Path] = None
    check: Optional[Callable[[PipLocation, Path], None]] = None


SCENARIOS: Dict[str, Callable[[Path], Case]] = {}

# A deliberate difference (README, `dir`): pip refuses to start when an unrelated general
# option (isolated, verbose, timeout, ...) has an invalid value; cachekit does not copy
# pip's whole option parser and still reports the cache pip uses once that is fixed.
UNRELATED_OPTION_INVALID = {
    "env_other_option_invalid", "env_other_option_bad_type", "config_other_option_invalid",
}
XFAIL: Dict[str, str] = {}


def scenario(fn: Callable[[Path], Case]) -> Callable[[Path], Case]:
    """Register a scenario under its function name (the test id)."""
    SCENARIOS[fn.__name__] = fn
    return fn


def conf(path: Path, text: str) -> Path:
    """Write a pip config file, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def user_conf(tmp: Path) -> Path:
    return tmp / "home" / ".config" / "pip" / "pip.conf"


def legacy_conf(tmp: Path) -> Path:
    return tmp / "home" / ".pip" / "pip.conf"


def global_cache_dir(value: str) -> str:
    return f"[global]\ncache-dir = {value}\n"


# ---- defaults and XDG_CACHE_HOME -------------------------------------------------------


@scenario
def default(tmp: Path) -> Case:
    """HOME only: ~/.cache/pip."""

    def check(loc: PipLocation, tmp: Path) -> None:
        assert loc.source.startswith("default"), loc.source

    return Case(check=check)


@scenario
def xdg_cache_absolute(tmp: Path) -> Case:
    return Case({"XDG_CACHE_HOME": str(tmp / "xdg")})


@scenario
def xdg_cache_blank(tmp: Path) -> Case:
    """platformdirs ignores a whitespace-only value."""
    return Case({"XDG_CACHE_HOME": "   "})


@scenario
def xdg_cache_relative(tmp: Path) -> Case:
    """Ignored since pip 26.3 (older pips resolved it against the cwd, so set one)."""
    (tmp / "work").mkdir()
    return Case({"XDG_CACHE_HOME": "relxdg"}, cwd=tmp / "work")


@scenario
def xdg_cache_surrounding_spaces(tmp: Path) -> Case:
    """platformdirs strips the value before using it."""
    return Case({"XDG_CACHE_HOME": f"  {tmp / 'xdg'}  "})


@scenario
def home_unset(tmp: Path) -> Case:
    """No HOME at all: everything comes from the password database."""
    return Case({"HOME": None})


# ---- PIP_CACHE_DIR ---------------------------------------------------------------------


@scenario
def env_cache_dir(tmp: Path) -> Case:
    """PIP_CACHE_DIR beats XDG_CACHE_HOME and names itself as the source."""

    def check(loc: PipLocation, tmp: Path) -> None:
        assert "PIP_CACHE_DIR" in loc.source, loc.source

    return Case(
        {"PIP_CACHE_DIR": str(tmp / "envdir"), "XDG_CACHE_HOME": str(tmp / "xdg")}, check=check
    )


@scenario
def env_cache_dir_empty(tmp: Path) -> Case:
    """An empty env value is dropped, so the default applies."""
    return Case({"PIP_CACHE_DIR": ""})


@scenario
def env_cache_dir_tilde(tmp: Path) -> Case:
    return Case({"PIP_CACHE_DIR": "~/tilde"})


@scenario
def env_cache_dir_tilde_empty_home(tmp: Path) -> Case:
    """HOME='': pip's os.path.expanduser('~/tilde') gives '/tilde' (empty HOME is kept).

    Regression test: cachekit once used the passwd home here (fixed in 955ec8a).
    """
    return Case({"PIP_CACHE_DIR": "~/tilde", "HOME": ""})


@scenario
def home_empty(tmp: Path) -> Case:
    """HOME='': platformdirs falls back to the passwd home for ~/.cache and ~/.config."""
    return Case({"HOME": ""})


@scenario
def env_cache_dir_tilde_home_trailing_slash(tmp: Path) -> Case:
    """HOME ending in '/' must not leave a '//' in the result."""
    return Case({"PIP_CACHE_DIR": "~/tilde", "HOME": f"{tmp / 'home'}/"})


@scenario
def env_cache_dir_relative(tmp: Path) -> Case:
    """A relative value is resolved against the cwd (realpath)."""
    (tmp / "work").mkdir()
    return Case({"PIP_CACHE_DIR": "rel/c1"}, cwd=tmp / "work")


@scenario
def env_cache_dir_lowercase_name(tmp: Path) -> Case:
    """Only upper-case PIP_ variables count: pip_cache_dir is not a pip setting."""
    return Case({"pip_cache_dir": str(tmp / "lower")})


# ---- PIP_NO_CACHE_DIR: any valid boolean disables, an invalid one is an option error ----


def _no_cache_dir(value: str) -> Callable[[Path], Case]:
    def make(tmp: Path) -> Case:
        def check(loc: PipLocation, tmp: Path) -> None:
            if value.strip().lower() in ("1", "true", "yes", "0", "false", "off", "no"):
                assert "disabled" in loc.source, loc.source

        return Case({"PIP_NO_CACHE_DIR": value}, check=check)

    return make


for _id, _value in [
    ("1", "1"),
    ("true", "true"),
    ("yes", "yes"),
    ("0", "0"),
    ("false", "false"),
    ("off", "off"),
    ("mixed_case_No", "No"),
    ("empty", ""),
    ("maybe", "maybe"),
    ("leading_space", " 1"),
]:
    SCENARIOS[f"env_no_cache_dir_{_id}"] = _no_cache_dir(_value)


@scenario
def env_no_cache_dir_beats_env_cache_dir(tmp: Path) -> Case:
    """--no-cache-dir is a callback option, evaluated after every plain value."""
    return Case({"PIP_NO_CACHE_DIR": "1", "PIP_CACHE_DIR": str(tmp / "envdir")})


@scenario
def env_other_option_invalid(tmp: Path) -> Case:
    """An invalid value for another general option stops pip before any cache lookup."""
    return Case({"PIP_ISOLATED": "maybe"})


@scenario
def env_other_option_bad_type(tmp: Path) -> Case:
    """A non-float timeout: pip logs a configuration error and exits 3."""
    return Case({"PIP_TIMEOUT": "abc", "PIP_CACHE_DIR": str(tmp / "envdir")})


@scenario
def config_other_option_invalid(tmp: Path) -> Case:
    """Same as above from a config file: verbose must be a count or a boolean."""
    conf(user_conf(tmp), f"[global]\nverbose = lots\ncache-dir = {tmp / 'c'}\n")
    return Case()


# ---- config files ----------------------------------------------------------------------


@scenario
def user_config(tmp: Path) -> Case:
    """~/.config/pip/pip.conf [global] cache-dir, named as the source."""
    path = conf(user_conf(tmp), global_cache_dir(str(tmp / "userconf")))

    def check(loc: PipLocation, tmp: Path) -> None:
        assert str(path) in loc.source, loc.source
        assert str(path) in loc.config_files

    return Case(check=check)


@scenario
def legacy_config_only(tmp: Path) -> Case:
    """~/.pip/pip.conf is still read."""
    conf(legacy_conf(tmp), global_cache_dir(str(tmp / "legacy")))
    return Case()


@scenario
def legacy_vs_new_config(tmp: Path) -> Case:
    """The new user file is loaded after the legacy one and wins."""
    conf(legacy_conf(tmp), global_cache_dir(str(tmp / "legacy")))
    conf(user_conf(tmp), global_cache_dir(str(tmp / "new")))
    return Case()


@scenario
def xdg_config_home(tmp: Path) -> Case:
    """XDG_CONFIG_HOME moves the user file; ~/.config/pip/pip.conf is then not read."""
    conf(user_conf(tmp), global_cache_dir(str(tmp / "dotconfig")))
    conf(tmp / "cfg" / "pip" / "pip.conf", global_cache_dir(str(tmp / "xdgconf")))
    return Case({"XDG_CONFIG_HOME": str(tmp / "cfg")})


@scenario
def xdg_config_home_relative(tmp: Path) -> Case:
    """A relative XDG_CONFIG_HOME is ignored: back to ~/.config."""
    (tmp / "work").mkdir()
    conf(user_conf(tmp), global_cache_dir(str(tmp / "dotconfig")))
    conf(tmp / "work" / "cfg" / "pip" / "pip.conf", global_cache_dir(str(tmp / "relconf")))
    return Case({"XDG_CONFIG_HOME": "cfg"}, cwd=tmp / "work")


@scenario
def xdg_config_dirs_global(tmp: Path) -> Case:
    """XDG_CONFIG_DIRS replaces /etc/xdg. A global [cache] beats the user's [global]:
    pip orders by section first ([global], [cache], env) and by file only within one."""
    conf(tmp / "sys1" / "pip" / "pip.conf", "[global]\ncache-dir = /nowhere/global\n")
    conf(tmp / "sys2" / "pip" / "pip.conf", "[cache]\ncache-dir = /nowhere/global-cache\n")
    conf(user_conf(tmp), global_cache_dir(str(tmp / "user")))
    dirs = os.pathsep.join([str(tmp / "sys1"), "relative", str(tmp / "sys2")])
    return Case({"XDG_CONFIG_DIRS": dirs})


@scenario
def xdg_config_dirs_duplicate(tmp: Path) -> Case:
    """A file listed twice is merged once, at its first place: the second dir still wins."""
    conf(tmp / "a" / "pip" / "pip.conf", global_cache_dir(str(tmp / "from-a")))
    conf(tmp / "b" / "pip" / "pip.conf", global_cache_dir(str(tmp / "from-b")))
    dirs = os.pathsep.join(str(tmp / d) for d in ("a", "b", "a"))
    return Case({"XDG_CONFIG_DIRS": dirs})


@scenario
def global_and_install_sections(tmp: Path) -> Case:
    """Only [global] (and [cache]) count for pip cache, not [install]."""
    conf(
        user_conf(tmp),
        f"[global]\ncache-dir = {tmp / 'confglobal'}\n[install]\ncache-dir = {tmp / 'inst'}\n",
    )
    return Case()


@scenario
def install_section_only(tmp: Path) -> Case:
    """cache-dir only under [install]: ignored (default), and cachekit warns about it."""
    conf(user_conf(tmp), f"[install]\ncache-dir = {tmp / 'inst'}\n")

    def check(loc: PipLocation, tmp: Path) -> None:
        assert loc.source.startswith("default"), loc.source
        assert any("[install]" in w for w in loc.warnings), loc.warnings

    return Case(check=check)


@scenario
def cache_section_beats_global(tmp: Path) -> Case:
    """The section named after the command ([cache]) is applied after [global]."""
    path = conf(
        user_conf(tmp),
        f"[cache]\ncache-dir = {tmp / 'confcache'}\n[global]\ncache-dir = {tmp / 'confglobal'}\n",
    )

    def check(loc: PipLocation, tmp: Path) -> None:
        assert str(path) in loc.source and "[cache]" in loc.source, loc.source

    return Case(check=check)


@scenario
def empty_cache_section_keeps_global(tmp: Path) -> Case:
    """An empty [cache] value is dropped; it does not cancel [global]."""
    conf(user_conf(tmp), f"[global]\ncache-dir = {tmp / 'confglobal'}\n[cache]\ncache-dir =\n")
    return Case()


@scenario
def env_beats_config(tmp: Path) -> Case:
    conf(user_conf(tmp), global_cache_dir(str(tmp / "confglobal")))
    return Case({"PIP_CACHE_DIR": str(tmp / "envdir")})


@scenario
def config_no_cache_dir_false(tmp: Path) -> Case:
    """Even 'false' disables the cache (pip's backward-compatible quirk)."""
    conf(user_conf(tmp), "[global]\nno-cache-dir = false\n")

    def check(loc: PipLocation, tmp: Path) -> None:
        assert "disabled" in loc.source, loc.source

    return Case(check=check)


@scenario
def config_no_cache_dir_beats_env_cache_dir(tmp: Path) -> Case:
    """The disabling callback is evaluated last, whatever the source of cache-dir."""
    conf(user_conf(tmp), "[global]\nno-cache-dir = yes\n")
    return Case({"PIP_CACHE_DIR": str(tmp / "envdir")})


@scenario
def config_no_cache_dir_invalid(tmp: Path) -> Case:
    conf(user_conf(tmp), "[global]\nno-cache-dir = maybe\n")
    return Case()


@scenario
def config_no_cache_dir_invalid_in_install(tmp: Path) -> Case:
    """[install] is never looked at by pip cache, so its bad value is harmless."""
    conf(user_conf(tmp), "[install]\nno-cache-dir = maybe\n")
    return Case()


@scenario
def config_cache_dir_underscore(tmp: Path) -> Case:
    """Key names are normalised: cache_dir == cache-dir."""
    conf(user_conf(tmp), f"[global]\ncache_dir = {tmp / 'underscore'}\n")
    return Case()


@scenario
def config_cache_dir_dashes_and_case(tmp: Path) -> Case:
    """A leading '--' and upper case are normalised away too."""
    conf(user_conf(tmp), f"[global]\n--Cache-Dir = {tmp / 'dashes'}\n")
    return Case()


@scenario
def config_section_name_is_case_sensitive(tmp: Path) -> Case:
    """[GLOBAL] is not [global]."""
    conf(user_conf(tmp), f"[GLOBAL]\ncache-dir = {tmp / 'upper'}\n")
    return Case()


@scenario
def config_default_section(tmp: Path) -> Case:
    """configparser copies [DEFAULT] into every section, [global] included."""
    conf(user_conf(tmp), f"[DEFAULT]\ncache-dir = {tmp / 'dflt'}\n[global]\n")
    return Case()


@scenario
def config_tilde_value(tmp: Path) -> Case:
    conf(user_conf(tmp), "[global]\ncache-dir = ~/conftilde\n")
    return Case()


@scenario
def empty_value_in_later_file_cancels(tmp: Path) -> Case:
    """Legacy file sets cache-dir, the new file sets it empty: back to the default."""
    conf(legacy_conf(tmp), global_cache_dir(str(tmp / "legacy")))
    conf(user_conf(tmp), "[global]\ncache-dir =\n")
    return Case()


@scenario
def pip_config_file(tmp: Path) -> Case:
    """PIP_CONFIG_FILE: user files are skipped and it is read after the global files."""
    conf(tmp / "sys" / "pip" / "pip.conf", "[global]\ncache-dir = /nowhere/global\n")
    # Would win over the env file's [global] if user files were read.
    conf(user_conf(tmp), f"[cache]\ncache-dir = {tmp / 'user'}\n")
    path = conf(tmp / "custom.conf", global_cache_dir(str(tmp / "envfile")))

    def check(loc: PipLocation, tmp: Path) -> None:
        assert str(path) in loc.source, loc.source
        assert str(user_conf(tmp)) not in loc.config_files, loc.config_files

    return Case({"PIP_CONFIG_FILE": str(path), "XDG_CONFIG_DIRS": str(tmp / "sys")}, check=check)


@scenario
def pip_config_file_missing(tmp: Path) -> Case:
    """A PIP_CONFIG_FILE that does not exist leaves the user files in play."""
    conf(user_conf(tmp), global_cache_dir(str(tmp / "user")))
    return Case({"PIP_CONFIG_FILE": str(tmp / "missing.conf")})


@scenario
def pip_config_file_empty(tmp: Path) -> Case:
    """PIP_CONFIG_FILE='' is like a missing file."""
    conf(user_conf(tmp), global_cache_dir(str(tmp / "user")))
    return Case({"PIP_CONFIG_FILE": ""})


@scenario
def pip_config_file_also_a_global_file(tmp: Path) -> Case:
    """pip quirk: PIP_CONFIG_FILE naming an earlier global file keeps that earlier place."""
    first = conf(tmp / "a" / "pip" / "pip.conf", global_cache_dir(str(tmp / "from-a")))
    conf(tmp / "b" / "pip" / "pip.conf", global_cache_dir(str(tmp / "from-b")))
    dirs = os.pathsep.join(str(tmp / d) for d in ("a", "b"))
    return Case({"XDG_CONFIG_DIRS": dirs, "PIP_CONFIG_FILE": str(first)})


@scenario
def pip_config_file_relative(tmp: Path) -> Case:
    """A relative PIP_CONFIG_FILE is looked up in the cwd."""
    conf(user_conf(tmp), f"[cache]\ncache-dir = {tmp / 'user'}\n")
    conf(tmp / "work" / "custom.conf", global_cache_dir(str(tmp / "envfile")))
    return Case({"PIP_CONFIG_FILE": "custom.conf"}, cwd=tmp / "work")


@scenario
def pip_config_file_is_a_directory(tmp: Path) -> Case:
    """It exists, so user files are skipped; configparser silently skips the unreadable."""
    conf(user_conf(tmp), global_cache_dir(str(tmp / "user")))
    (tmp / "confdir").mkdir()
    return Case({"PIP_CONFIG_FILE": str(tmp / "confdir")})


@scenario
def pip_config_file_devnull(tmp: Path) -> Case:
    """os.devnull skips every config file, the user one included."""
    conf(user_conf(tmp), global_cache_dir(str(tmp / "user")))

    def check(loc: PipLocation, tmp: Path) -> None:
        assert loc.config_files == [], loc.config_files

    return Case({"PIP_CONFIG_FILE": os.devnull}, check=check)


@scenario
def config_syntax_error(tmp: Path) -> Case:
    """A line outside any section: pip cannot load the file and exits 2."""
    conf(user_conf(tmp), "cache-dir = /x\n[global]\n")
    return Case()


@scenario
def config_duplicate_key(tmp: Path) -> Case:
    """configparser is strict: a repeated key in one section is a load error."""
    conf(user_conf(tmp), "[global]\ncache-dir = /a\ncache-dir = /b\n")
    return Case()


@scenario
def config_not_utf8(tmp: Path) -> Case:
    """Undecodable bytes (the locale here is UTF-8): pip exits 2."""
    path = user_conf(tmp)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"[global]\ncache-dir = /tmp/caf\xe9\n")
    return Case()


# ---- normalisation and the owner check -------------------------------------------------


@scenario
def symlinked_cache_dir(tmp: Path) -> Case:
    """pip prints the realpath."""
    (tmp / "real").mkdir()
    (tmp / "link").symlink_to(tmp / "real")
    return Case({"PIP_CACHE_DIR": str(tmp / "link")})


@scenario
def dangling_symlink_cache_dir(tmp: Path) -> Case:
    (tmp / "link").symlink_to(tmp / "gone" / "cache")
    return Case({"PIP_CACHE_DIR": str(tmp / "link")})


@scenario
def symlink_loop_cache_dir(tmp: Path) -> Case:
    """realpath cannot resolve a loop, so the owner check meets a symlink."""
    (tmp / "loop").symlink_to(tmp / "loop")
    return Case({"PIP_CACHE_DIR": str(tmp / "loop" / "c")})


@scenario
def cache_dir_below_a_file(tmp: Path) -> Case:
    """pip cache dir neither creates nor checks the directory."""
    (tmp / "afile").write_text("x")
    return Case({"PIP_CACHE_DIR": str(tmp / "afile" / "c")})


@scenario
def not_owned_parent(tmp: Path) -> Case:
    """As root, the nearest existing ancestor must be owned by uid 0, else pip disables."""
    if not IS_ROOT:
        pytest.skip("needs root to chown a directory to another uid")
    (tmp / "notmine").mkdir()
    os.chown(tmp / "notmine", 65534, 65534)

    def check(loc: PipLocation, tmp: Path) -> None:
        assert "disabled" in loc.source, loc.source

    return Case({"PIP_CACHE_DIR": str(tmp / "notmine" / "c")}, check=check)


# What pip 26.3 printed for each scenario (T = tmp_path): guards against a vacuous
# oracle, e.g. a scenario whose file pip never reads. Machine-dependent ones are left out.
PIP_SAYS: Dict[str, str] = {
    "default": "T/home/.cache/pip",
    "xdg_cache_absolute": "T/xdg/pip",
    "xdg_cache_blank": "T/home/.cache/pip",
    "xdg_cache_relative": "T/home/.cache/pip",
    "xdg_cache_surrounding_spaces": "T/xdg/pip",
    "env_cache_dir": "T/envdir",
    "env_cache_dir_empty": "T/home/.cache/pip",
    "env_cache_dir_tilde": "T/home/tilde",
    "env_cache_dir_tilde_empty_home": "/tilde",
    "env_cache_dir_tilde_home_trailing_slash": "T/home/tilde",
    "env_cache_dir_relative": "T/work/rel/c1",
    "env_cache_dir_lowercase_name": "T/home/.cache/pip",
    "env_no_cache_dir_1": "disabled",
    "env_no_cache_dir_true": "disabled",
    "env_no_cache_dir_yes": "disabled",
    "env_no_cache_dir_0": "disabled",
    "env_no_cache_dir_false": "disabled",
    "env_no_cache_dir_off": "disabled",
    "env_no_cache_dir_mixed_case_No": "disabled",
    "env_no_cache_dir_empty": "T/home/.cache/pip",
    "env_no_cache_dir_maybe": "exit 2",
    "env_no_cache_dir_leading_space": "exit 2",
    "env_no_cache_dir_beats_env_cache_dir": "disabled",
    "env_other_option_invalid": "exit 2",
    "env_other_option_bad_type": "exit 3",
    "config_other_option_invalid": "exit 2",
    "user_config": "T/userconf",
    "legacy_config_only": "T/legacy",
    "legacy_vs_new_config": "T/new",
    "xdg_config_home": "T/xdgconf",
    "xdg_config_home_relative": "T/dotconfig",
    "xdg_config_dirs_global": "/nowhere/global-cache",
    "xdg_config_dirs_duplicate": "T/from-b",
    "global_and_install_sections": "T/confglobal",
    "install_section_only": "T/home/.cache/pip",
    "cache_section_beats_global": "T/confcache",
    "empty_cache_section_keeps_global": "T/confglobal",
    "env_beats_config": "T/envdir",
    "config_no_cache_dir_false": "disabled",
    "config_no_cache_dir_beats_env_cache_dir": "disabled",
    "config_no_cache_dir_invalid": "exit 2",
    "config_no_cache_dir_invalid_in_install": "T/home/.cache/pip",
    "config_cache_dir_underscore": "T/underscore",
    "config_cache_dir_dashes_and_case": "T/dashes",
    "config_section_name_is_case_sensitive": "T/home/.cache/pip",
    "config_default_section": "T/dflt",
    "config_tilde_value": "T/home/conftilde",
    "empty_value_in_later_file_cancels": "T/home/.cache/pip",
    "pip_config_file": "T/envfile",
    "pip_config_file_missing": "T/user",
    "pip_config_file_empty": "T/user",
    "pip_config_file_also_a_global_file": "T/from-b",
    "pip_config_file_relative": "T/envfile",
    "pip_config_file_is_a_directory": "T/home/.cache/pip",
    "pip_config_file_devnull": "T/home/.cache/pip",
    "config_syntax_error": "exit 2",
    "config_duplicate_key": "exit 2",
    "config_not_utf8": "exit 2",
    "symlinked_cache_dir": "T/real",
    "dangling_symlink_cache_dir": "T/gone/cache",
    "symlink_loop_cache_dir": "disabled",
    "cache_dir_below_a_file": "T/afile/c",
    "not_owned_parent": "disabled",
}


# ---- the oracle ------------------------------------------------------------------------


def _params() -> list:
    return [
        pytest.param(
            name,
            id=name,
            marks=([pytest.mark.xfail(strict=True, reason=XFAIL[name])] if name in XFAIL else [])
            + ([pytest.mark.root] if name in NEEDS_ROOT else []),
        )
        for name in SCENARIOS
    ]


@pytest.mark.parametrize("name", _params())
def test_locate_matches_real_pip(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """locate(env) agrees with `pip cache dir` run with the same env (and cwd)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)  # conftest.py may already have made it
    case = SCENARIOS[name](tmp_path)
    env = pip_env(home)
    for key, value in case.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value

    proc = run_pip(["cache", "dir"], env, cwd=case.cwd)
    if case.cwd is not None:
        monkeypatch.chdir(case.cwd)  # relative paths must resolve against the same cwd
    try:
        got: PipLocation | PipConfigError = locate(env, prefix=sys.prefix)
    except PipConfigError as exc:
        got = exc
    pip_said = f"pip exit {proc.returncode}\nstdout: {proc.stdout!r}\nstderr: {proc.stderr!r}"
    if name in PIP_SAYS:
        if proc.returncode == 0:
            outcome = proc.stdout.rstrip("\n").replace(str(tmp_path), "T")
        elif proc.returncode == 1 and DISABLED in proc.stderr:
            outcome = "disabled"
        else:
            outcome = f"exit {proc.returncode}"
        assert outcome == PIP_SAYS[name], f"the scenario no longer tests its case\n{pip_said}"

    if name in UNRELATED_OPTION_INVALID:
        assert proc.returncode in (2, 3), pip_said
        assert isinstance(got, PipLocation) and got.path, f"{got!r}\n{pip_said}"
    elif proc.returncode == 0:
        assert isinstance(got, PipLocation), f"{got!r}\n{pip_said}"
        assert got.path == proc.stdout.rstrip("\n"), pip_said
    elif proc.returncode == 1 and DISABLED in proc.stderr:
        assert isinstance(got, PipLocation), f"{got!r}\n{pip_said}"
        assert got.path is None, f"{got!r}\n{pip_said}"
    else:
        assert isinstance(got, PipConfigError), f"{got!r}\n{pip_said}"
    if case.check is not None and isinstance(got, PipLocation):
        case.check(got, tmp_path)


# ---- which config files are considered --------------------------------------------------

FILE_LIST_ENVS: Dict[str, Callable[[Path], Dict[str, Optional[str]]]] = {
    "default": lambda tmp: {},
    "home_unset": lambda tmp: {"HOME": None},
    "home_empty": lambda tmp: {"HOME": ""},  # legacy file is /.pip/pip.conf for pip
    "xdg_config_home": lambda tmp: {"XDG_CONFIG_HOME": f" {tmp / 'cfg'} "},
    "xdg_config_home_relative": lambda tmp: {"XDG_CONFIG_HOME": "cfg"},
    "xdg_config_dirs": lambda tmp: {
        "XDG_CONFIG_DIRS": os.pathsep.join([str(tmp / "s1"), " ", "rel", f" {tmp / 's2'}"])
    },
    "xdg_config_dirs_blank": lambda tmp: {"XDG_CONFIG_DIRS": "  "},
    "pip_config_file": lambda tmp: {"PIP_CONFIG_FILE": str(tmp / "custom.conf")},
    "pip_config_file_missing": lambda tmp: {"PIP_CONFIG_FILE": str(tmp / "missing.conf")},
}
FILE_LIST_XFAIL: Dict[str, str] = {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            n,
            id=n,
            marks=[pytest.mark.xfail(strict=True, reason=FILE_LIST_XFAIL[n])]
            if n in FILE_LIST_XFAIL
            else [],
        )
        for n in FILE_LIST_ENVS
    ],
)
def test_config_files_match_pip_config_debug(name: str, tmp_path: Path) -> None:
    """config_files() lists, per kind, the files `pip config debug` says pip considers.

    This sees files that do not exist, so it checks paths no `pip cache dir` run can
    reveal (e.g. the legacy user file, which the cache-dir oracle can only probe by
    writing it).
    """
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (tmp_path / "custom.conf").write_text("[global]\n")
    env = pip_env(home)
    for key, value in FILE_LIST_ENVS[name](tmp_path).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    proc = run_pip(["config", "debug"], env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr

    pip_files: Dict[str, list] = {}
    kind = ""
    for line in proc.stdout.splitlines():
        if not line.startswith(" ") and line.endswith(":"):
            kind = line[:-1]
        elif line.startswith("  ") and not line.startswith("   ") and ", exists: " in line:
            pip_files.setdefault(kind, []).append(line[2:].rsplit(", exists: ", 1)[0])

    ours: Dict[str, list] = {}
    for kind, path in config_files(env, prefix=sys.prefix):
        ours.setdefault(kind, []).append(path)
    assert ours == pip_files, proc.stdout

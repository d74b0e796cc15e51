"""Find PDM's cache directory as ``pdm config cache_dir`` does (PDM 2.29), and say why.

Order: ``PDM_CACHE_DIR`` (set at all, even empty), then ``cache_dir`` in the user's
``config.toml`` (``PDM_CONFIG_FILE`` when set and not empty, else platformdirs' user config
dir: ``$XDG_CONFIG_HOME/pdm`` when that is absolute, else ``~/.config/pdm``), then in the
site ``config.toml`` (the first absolute entry of ``$XDG_CONFIG_DIRS``, else ``/etc/xdg``,
plus ``/pdm``), then platformdirs' user cache dir (``$XDG_CACHE_HOME/pdm`` when absolute,
else ``~/.cache/pdm``; macOS: ``~/Library/Caches/pdm``). Like PDM, ``~`` and ``~user``
are expanded and a relative path is relative to the working directory.

A project's own ``pdm.toml`` cannot set ``cache_dir`` (PDM calls it global-only);
cachekit reports the cache PDM uses everywhere.
"""

import os
import sys
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ... import env

VARIABLE = "PDM_CACHE_DIR"


class PdmLocation(NamedTuple):
    path: str
    source: str
    shown: str  # the value as ``pdm config cache_dir`` prints it
    config_files: List[str]  # the config files that exist, the one read first first


class PdmConfigError(Exception):
    """PDM itself would refuse to start: a config.toml it cannot read as TOML."""


def _xdg(environ: Mapping[str, str], name: str) -> Optional[str]:
    """platformdirs (4.x) takes an XDG variable only when it is an absolute path."""
    value = environ.get(name, "")
    return value if value.startswith("/") else None


def user_config_file(environ: Mapping[str, str], platform: str = sys.platform) -> str:
    """The config file ``pdm config --global`` writes: ``PDM_CONFIG_FILE`` or the default."""
    if environ.get("PDM_CONFIG_FILE"):
        return _absolute(environ["PDM_CONFIG_FILE"], environ)  # PDM expands no ~ here
    return default_user_config_file(environ, platform)


def default_user_config_file(environ: Mapping[str, str], platform: str = sys.platform
                             ) -> str:
    base = _xdg(environ, "XDG_CONFIG_HOME")
    if base is None:
        home = env.home(environ)
        base = os.path.join(home, "Library", "Application Support") if platform == "darwin" \
            else os.path.join(home, ".config")
    return os.path.join(base, "pdm", "config.toml")


def site_config_file(environ: Mapping[str, str], platform: str = sys.platform) -> str:
    dirs = [d for d in environ.get("XDG_CONFIG_DIRS", "").split(":") if d.startswith("/")]
    if dirs:
        return os.path.join(dirs[0], "pdm", "config.toml")
    if platform == "darwin":
        return "/Library/Application Support/pdm/config.toml"
    return "/etc/xdg/pdm/config.toml"


def default_cache_dir(environ: Mapping[str, str], platform: str = sys.platform
                      ) -> Tuple[str, str]:
    """platformdirs' ``user_cache_dir("pdm")`` and how it was derived."""
    xdg = _xdg(environ, "XDG_CACHE_HOME")
    if xdg is not None:
        return os.path.join(xdg, "pdm"), "default ($XDG_CACHE_HOME/pdm)"
    home = env.home(environ)
    if platform == "darwin":
        return os.path.join(home, "Library", "Caches", "pdm"), "default (~/Library/Caches/pdm)"
    return os.path.join(home, ".cache", "pdm"), "default (~/.cache/pdm)"


def read_config(path: str) -> Dict[str, Any]:
    """A PDM config.toml as a dict ({} when there is none); one that PDM could not load
    is a ``PdmConfigError`` naming the file and line."""
    from ... import bounded, minitoml

    try:
        text = bounded.read_text(path, bounded.CONFIG_CAP)
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise PdmConfigError(f"{path}: PDM cannot read its config file: {why}") from None
    try:
        return minitoml.loads(text, path)
    except minitoml.TomlError as exc:
        raise PdmConfigError(f"{exc} (PDM cannot load this config file)") from None


def cache_dir_setting(path: str) -> Optional[str]:
    """The ``cache_dir`` a config file sets (as PDM reads it: the value made a string)."""
    value = read_config(path).get("cache_dir")
    if value is None or isinstance(value, dict):
        return None
    return value if isinstance(value, str) else str(value)


def _absolute(path: str, environ: Mapping[str, str]) -> str:
    return os.path.normpath(os.path.join(environ.get("PWD") or os.getcwd(), path))


def config_files(environ: Mapping[str, str], platform: str = sys.platform) -> List[str]:
    """The files that may set ``cache_dir``, the one PDM prefers first."""
    return [user_config_file(environ, platform), site_config_file(environ, platform)]


def locate(environ: Mapping[str, str], platform: str = sys.platform) -> PdmLocation:
    """The cache ``pdm config cache_dir`` names, with what set it."""
    files = [f for f in config_files(environ, platform) if os.path.isfile(f)]
    if VARIABLE in environ:
        given = environ[VARIABLE]
        return PdmLocation(_absolute(env.expanduser(given, environ), environ), VARIABLE,
                           given, files)
    for path in files:
        setting = cache_dir_setting(path)
        if setting is not None:
            return PdmLocation(_absolute(env.expanduser(setting, environ), environ),
                               f"cache_dir in {path}", setting, files)
    default, how = default_cache_dir(environ, platform)
    return PdmLocation(default, how, default, files)


def record(environ: Mapping[str, str]) -> Dict[str, Any]:
    """``locations``: every place that could set PDM's cache, the winner marked, and the
    trap of a cache set only in shells' environment."""
    from ...traps import location_record, source, var_trap

    rec, loc = location_record("pdm", environ, locate, PdmConfigError, (VARIABLE,),
                               lambda var, won: won == var)
    if loc is None:
        return rec
    for path in loc.config_files:
        try:
            value = cache_dir_setting(path)
        except PdmConfigError:
            continue
        if value is not None:
            where = f"cache_dir in {path}"
            rec["sources"].append(source("cache_dir", value, where, loc.source == where))
    default, how = default_cache_dir(environ)
    rec["sources"].append(source("default", default, how, loc.source == how))
    if loc.source == VARIABLE:
        var_trap(rec, VARIABLE, environ, locate, PdmConfigError)
    return rec

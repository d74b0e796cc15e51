"""Find Poetry's cache directory as ``poetry config cache-dir`` does (Poetry 2.5), and say why.

Order: ``POETRY_CACHE_DIR`` (set, even empty: Poetry then uses the working directory),
then ``cache-dir`` at the top of the user's ``config.toml`` (``place.config_file``), then
the platform default (``place.default_cache``). Poetry reads ``config.toml`` on every
start, so a file it cannot parse is an error even when the variable is set. ``~`` and
``~user`` are expanded and a relative path is taken from the working directory, as Poetry's
``Path(cache-dir).expanduser()`` does. A project's ``poetry.toml`` applies only inside
that project; cachekit reports the cache Poetry uses everywhere else.
"""

import os
from typing import Any, Dict, Mapping, NamedTuple, Optional

from ... import env
from ...bounded import CONFIG_CAP, read_text
from . import place


class PoetryLocation(NamedTuple):
    path: str
    source: str
    shown: str  # as ``poetry config cache-dir`` prints it
    config_file: Optional[str]  # the config.toml read, when it exists


class PoetryConfigError(Exception):
    """Poetry itself would refuse to start (a config.toml it cannot parse)."""


def read_config(path: str) -> Optional[Dict[str, Any]]:
    """The parsed ``config.toml`` at ``path``; None when there is none."""
    if not os.path.lexists(path):
        return None
    try:
        text = read_text(path, CONFIG_CAP, "utf-8-sig")
    except OSError as exc:
        raise PoetryConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PoetryConfigError(f"{path}: not UTF-8 text") from None
    return parse(text, path)


def parse(text: str, path: str) -> Dict[str, Any]:
    from ... import minitoml

    try:
        return minitoml.loads(text, path)
    except minitoml.TomlError as exc:
        raise PoetryConfigError(str(exc)) from None


def cache_dir_setting(config: Optional[Dict[str, Any]], path: str) -> Optional[str]:
    """``cache-dir`` of a parsed config.toml (a string, or an error naming the file)."""
    if not config or "cache-dir" not in config:
        return None
    value = config["cache-dir"]
    if not isinstance(value, str):
        raise PoetryConfigError(f"{path}: cache-dir must be a string, found {value!r}")
    return value


def absolute(given: str, environ: Mapping[str, str]) -> str:
    """As ``Path(cache-dir).expanduser()`` (``~`` and ``~user``), from the working dir."""
    given = env.expanduser(given, environ)
    return os.path.normpath(os.path.join(environ.get("PWD") or os.getcwd(), given))


def locate(environ: Mapping[str, str]) -> PoetryLocation:
    file = place.config_file(environ)
    config = read_config(file)
    found = file if config is not None else None
    if environ.get("POETRY_CACHE_DIR") is not None:
        given = environ["POETRY_CACHE_DIR"]
        source = "POETRY_CACHE_DIR" if given else \
            "POETRY_CACHE_DIR (empty: Poetry uses the working directory)"
        return PoetryLocation(absolute(given, environ), source, given, found)
    setting = cache_dir_setting(config, file)
    if setting is not None:
        return PoetryLocation(absolute(setting, environ), f"cache-dir in {file}", setting,
                              found)
    default, source = place.default_cache(environ)
    return PoetryLocation(default, source, default, found)


def record(environ: Mapping[str, str]) -> Dict[str, Any]:
    """``locations``: every place that could set Poetry's cache, the winner marked, and
    the trap of a cache set only in shells' environment."""
    from ...traps import location_record, source, var_trap

    rec, loc = location_record("poetry", environ, locate, PoetryConfigError,
                               ("POETRY_CACHE_DIR",), lambda var, won: won.startswith(var))
    if loc is None:
        return rec
    sources = rec["sources"]
    file = place.config_file(environ)
    try:
        value = cache_dir_setting(read_config(file), file)
    except PoetryConfigError:
        value = None
    if value is not None:
        where = f"cache-dir in {file}"
        sources.append(source("cache-dir", value, where, loc.source == where))
    default, how = place.default_cache(environ)
    sources.append(source("default", default, how, loc.source == how))
    if loc.source == "POETRY_CACHE_DIR":
        var_trap(rec, "POETRY_CACHE_DIR", environ, locate, PoetryConfigError)
    return rec

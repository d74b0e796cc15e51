"""Find uv's cache directory as ``uv cache dir`` does (uv 0.13), and say why.

Order: ``UV_NO_CACHE`` (a boolean; true means a throwaway directory per run, so there is
no cache to manage), ``UV_CACHE_DIR``, ``cache-dir`` in ``uv.toml`` (``UV_CONFIG_FILE``
alone when set; otherwise the user's ``$XDG_CONFIG_HOME/uv/uv.toml`` or
``~/.config/uv/uv.toml``, then the system's ``$XDG_CONFIG_DIRS/uv/uv.toml`` or
``/etc/xdg/uv/uv.toml``, then ``/etc/uv/uv.toml``; ``UV_NO_CONFIG`` skips them all), then
``$XDG_CACHE_HOME/uv`` or ``~/.cache/uv``. Like uv, a path is taken as written: ``~`` is
not expanded, and a relative path is relative to the working directory.

A project's own ``uv.toml`` or ``[tool.uv]`` applies only to uv runs inside that
project; cachekit reports the cache uv uses everywhere else.
"""

import json
import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ... import env
from ...bounded import CONFIG_CAP, read_text
from ...miniyaml import bracket_depth
from ...tomledit import strip_comment

_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")


class UvLocation(NamedTuple):
    path: Optional[str]  # None: UV_NO_CACHE, nothing persists
    source: str
    shown: str  # the path as ``uv cache dir`` prints it
    config_files: List[str]


class UvConfigError(Exception):
    """uv itself would refuse to start (a bad UV_NO_CACHE, a uv.toml it cannot parse)."""


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name)
    if value is None:
        return False
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE or low == "":
        return False
    raise UvConfigError(f"{name}: invalid value {value!r} (uv expects true or false)")


def config_files(environ: Mapping[str, str]) -> List[str]:
    """The uv.toml files that could set ``cache-dir``, the one that wins first.

    As uv-settings does: ``UV_CONFIG_FILE`` alone (even with ``UV_NO_CONFIG``); else
    nothing with ``UV_NO_CONFIG``; else the user's file, then the first system file
    found among ``$XDG_CONFIG_DIRS`` (``/etc/xdg``), else ``/etc/uv/uv.toml``.
    """
    if environ.get("UV_CONFIG_FILE"):
        return [environ["UV_CONFIG_FILE"]]
    if _flag(environ, "UV_NO_CONFIG"):
        return []
    home = env.home(environ)
    xdg = environ.get("XDG_CONFIG_HOME", "")
    user = os.path.join(xdg if xdg.startswith("/") else os.path.join(home, ".config"),
                        "uv", "uv.toml")
    dirs = [d for d in environ.get("XDG_CONFIG_DIRS", "").split(":") if d.startswith("/")]
    system = [os.path.join(d, "uv", "uv.toml") for d in dirs or ["/etc/xdg"]]
    found = next((f for f in system if os.path.isfile(f)), "/etc/uv/uv.toml")
    return [user, found]


def cache_dir_setting(path: str) -> Optional[str]:
    """The top-level ``cache-dir`` of a uv.toml, read without a TOML library.

    Only what ``cache-dir`` needs is parsed: top-level ``key = value`` lines before the
    first table; a multi-line array of another key is skipped by its brackets.
    """
    return cache_dir_setting_text(read_text(path, CONFIG_CAP, "utf-8-sig"), path)


def cache_dir_setting_text(text: str, path: str) -> Optional[str]:
    depth = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = strip_comment(raw).strip()
        if not line:
            continue
        if depth == 0 and line.startswith("["):
            return None  # the first table: top-level keys are over
        if depth == 0:
            key, sep, value = line.partition("=")
            if not sep:
                raise UvConfigError(f"{path}: line {number}: expected 'key = value'")
            if key.strip().strip("\"'") == "cache-dir":
                return _string(value.strip(), path, number)
            depth += bracket_depth(value)
        else:
            depth += bracket_depth(line)
    return None


def _string(value: str, path: str, number: int) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]  # a literal string: no escapes
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return str(json.loads(value))
        except ValueError:
            pass
    raise UvConfigError(f"{path}: line {number}: cache-dir must be a string, found {value}")


def _absolute(path: str, environ: Mapping[str, str]) -> str:
    return os.path.normpath(os.path.join(environ.get("PWD") or os.getcwd(), path))


def locate(environ: Mapping[str, str]) -> UvLocation:
    if _flag(environ, "UV_NO_CACHE"):
        return UvLocation(None, "UV_NO_CACHE (uv uses a throwaway directory per run)", "", [])
    files = [f for f in config_files(environ) if os.path.isfile(f)]
    if environ.get("UV_CACHE_DIR"):
        given = environ["UV_CACHE_DIR"]
        return UvLocation(_absolute(given, environ), "UV_CACHE_DIR", given, files)
    for path in files:
        try:
            setting = cache_dir_setting(path)
        except OSError as exc:
            raise UvConfigError(f"{path}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UvConfigError(f"{path}: not UTF-8 text") from None
        if setting:
            return UvLocation(_absolute(setting, environ), f"cache-dir in {path}", setting,
                              files)
    default, source = _default(environ)
    return UvLocation(default, source, default, files)


def _default(environ: Mapping[str, str]) -> Tuple[str, str]:
    xdg = environ.get("XDG_CACHE_HOME", "")
    if xdg.startswith("/"):
        return os.path.join(xdg, "uv"), "XDG_CACHE_HOME"
    home = env.home(environ)
    return os.path.join(home, ".cache", "uv"), "default: ~/.cache/uv"


def record(environ: Mapping[str, str]) -> Dict[str, Any]:
    """``locations``: every place that could set uv's cache, the winner marked, and the
    trap of a cache set only in shells' environment."""
    from ...traps import location_record
    from ...traps import source as _source
    from ...traps import var_trap as _var_trap

    rec, loc = location_record("uv", environ, locate, UvConfigError,
                               ("UV_NO_CACHE", "UV_CACHE_DIR"),
                               lambda var, won: won.startswith(var))
    if loc is None:
        return rec
    sources = rec["sources"]
    for path in loc.config_files:
        try:
            value = cache_dir_setting(path)
        except (OSError, UvConfigError, UnicodeDecodeError):
            continue
        if value:
            where = f"cache-dir in {path}"
            sources.append(_source("cache-dir", value, where, loc.source == where))
    default, how = _default(environ)
    sources.append(_source("default", default, how, loc.source == how))
    if loc.source == "UV_CACHE_DIR":
        _var_trap(rec, "UV_CACHE_DIR", environ, locate, UvConfigError)
    return rec

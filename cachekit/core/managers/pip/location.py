"""Find pip's cache directory exactly as ``pip cache dir`` does, and say why.

Mirrors pip 26.x: config files are read in pip's order (global, user, site, then
``PIP_CONFIG_FILE``), merged so that a later file overrides an earlier one key by key
(an empty value removes the key); within the merged set ``[global]`` applies first, then
``[cache]`` (the section named after the command), then ``PIP_*`` environment variables.
Any valid ``no-cache-dir`` value, even ``false``, disables the cache. ``cache-dir`` under
``[install]`` is ignored, as pip ignores it for ``pip cache``.

The "site" config file belongs to the interpreter running this code, the one that
``python3 -m pip`` would use on the same host.
"""

import configparser
import os
import sys
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple

from ... import bounded, env

_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")
_COMMAND_SECTION = "cache"


class PipLocation(NamedTuple):
    path: Optional[str]  # None when the cache is disabled
    source: str  # human description of where the path (or the disabling) came from
    config_files: List[str]  # config files pip would read, existing ones only
    warnings: List[str]


class PipConfigError(Exception):
    """pip itself would refuse to start (an invalid value or an unreadable config file)."""


def _strtobool(value: str) -> bool:
    low = value.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"invalid truth value {value!r}")


def _xdg_dir(environ: Mapping[str, str], name: str) -> Optional[str]:
    """platformdirs: a blank or relative XDG value is ignored."""
    value = environ.get(name, "").strip()
    return value if value.startswith("/") else None


def _home(environ: Mapping[str, str]) -> str:
    """The home platformdirs uses for defaults: an empty HOME counts as unset."""
    return environ.get("HOME") or env.passwd_home()


def default_cache_dir(environ: Mapping[str, str], platform: str = sys.platform) -> Tuple[str, str]:
    """pip's built-in default (``USER_CACHE_DIR``) and a note on how it was derived."""
    if platform == "win32":
        base = environ.get("LOCALAPPDATA") or os.path.join(_home(environ), "AppData", "Local")
        return os.path.join(base, "pip", "Cache"), "default (%LOCALAPPDATA%)"
    xdg = _xdg_dir(environ, "XDG_CACHE_HOME")
    if xdg:
        return os.path.join(xdg, "pip"), "default ($XDG_CACHE_HOME/pip)"
    if platform == "darwin":
        return os.path.join(_home(environ), "Library", "Caches", "pip"), "default (macOS)"
    return os.path.join(_home(environ), ".cache", "pip"), "default (~/.cache/pip)"


def config_files(
    environ: Mapping[str, str], prefix: str = sys.prefix, platform: str = sys.platform
) -> List[Tuple[str, str]]:
    """(kind, path) of every config file pip considers, in the order pip loads them."""
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    files: List[Tuple[str, str]] = []
    if platform != "win32" and platform != "darwin":
        xdg_dirs = [
            d.strip() for d in environ.get("XDG_CONFIG_DIRS", "").split(os.pathsep)
            if d.strip().startswith("/")
        ] or ["/etc/xdg"]
        files += [("global", os.path.join(d, "pip", "pip.conf")) for d in xdg_dirs]
        files.append(("global", "/etc/pip.conf"))
    elif platform == "darwin":
        files.append(("global", "/Library/Application Support/pip/pip.conf"))
    if not (env_file and os.path.exists(env_file)):
        legacy_dir = env.expanduser("~", environ)
        legacy = os.path.join(legacy_dir, "pip" if platform == "win32" else ".pip", "pip.conf")
        files.append(("user", legacy))
        xdg_config = (_xdg_dir(environ, "XDG_CONFIG_HOME")
                      or os.path.join(_home(environ), ".config"))
        files.append(("user", os.path.join(xdg_config, "pip", "pip.conf")))
    files.append(("site", os.path.join(prefix, "pip.conf")))
    if env_file is not None:
        files.append(("env", env_file))
    return files


def _normalize_key(name: str) -> str:
    name = name.lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


def _read_config(path: str) -> Dict[str, Dict[str, str]]:
    parser = configparser.RawConfigParser()
    # pip's own key normalisation, set as pip sets it; typeshed types the hook as a method
    parser.optionxform = _normalize_key  # type: ignore[assignment]
    try:
        text = bounded.read_text(path, bounded.CONFIG_CAP)
    except (bounded.NotRegularFile, bounded.TooLarge) as exc:  # pip would hang or bloat
        raise PipConfigError(f"pip cannot load its config file {path}: {exc.strerror}"
                             ) from None
    except OSError:
        return {}  # pip skips a config file it cannot open
    except UnicodeDecodeError as exc:
        raise PipConfigError(f"pip cannot load its config file {path}: {exc}") from exc
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        raise PipConfigError(f"pip cannot load its config file {path}: {exc}") from exc
    return {section: dict(parser.items(section)) for section in parser.sections()}


def cache_dir_settings(environ: Mapping[str, str]) -> List[Tuple[str, str, str]]:
    """(file, section, value) of every ``cache-dir`` in pip's config files: the file pip
    reads last first, and in each ``[cache]``, then ``[global]``, then the others (which
    ``pip cache`` ignores). A file pip cannot load is left to ``locate`` to report."""
    out = []
    files = [p for _kind, p in config_files(environ) if os.path.exists(p)]
    for path in reversed(files):
        try:
            sections = _read_config(path)
        except PipConfigError:
            continue
        order = ["cache", "global"] + sorted(set(sections) - {"cache", "global"})
        out += [(path, s, sections[s]["cache-dir"]) for s in order
                if "cache-dir" in sections.get(s, {})]
    return out


def locate(
    environ: Optional[Mapping[str, str]] = None,
    prefix: str = sys.prefix,
    platform: str = sys.platform,
) -> PipLocation:
    """Resolve the cache directory ``pip cache dir`` would print, with its source."""
    environ = os.environ if environ is None else environ
    # Merge files in load order: per (section, key), the last file that sets it wins.
    merged: Dict[Tuple[str, str], Tuple[str, str]] = {}
    seen_files: List[str] = []
    loaded: Dict[str, Dict[str, Dict[str, str]]] = {}
    for _kind, path in config_files(environ, prefix, platform):
        if not os.path.exists(path):
            continue
        loaded[path] = _read_config(path)  # a file listed twice counts once, at its last place
    for path, sections in loaded.items():
        seen_files.append(path)
        for section, items in sections.items():
            for key, value in items.items():
                merged[(section, key)] = (value, f"{path} [{section}] {key}")
    env_items = {
        _normalize_key(k[4:]): (v, f"environment variable {k}")
        for k, v in environ.items()
        if k.startswith("PIP_") and k[4:].lower() not in ("version", "help")
    }
    ordered: List[Tuple[str, str, str]] = []
    for section in ("global", _COMMAND_SECTION):
        ordered += [(k, v, src) for (s, k), (v, src) in merged.items() if s == section and v]
    ordered += [(k, v, src) for k, (v, src) in env_items.items() if v]

    cache_dir: Optional[Tuple[str, str]] = None
    disabled_by: Optional[str] = None
    for key, value, src in ordered:
        if key == "no-cache-dir":
            try:
                _strtobool(value)
            except ValueError as exc:
                raise PipConfigError(f"pip rejects no-cache-dir from {src}: {exc}") from exc
            disabled_by = src
        elif key == "cache-dir":
            cache_dir = (value, src)
    warnings: List[str] = []
    ignored = [src for (s, k), (v, src) in merged.items()
               if k == "cache-dir" and s not in ("global", _COMMAND_SECTION)]
    warnings += [f"{src} is ignored by pip cache (only [global] and [cache] count)"
                 for src in ignored]
    if disabled_by:
        return PipLocation(None, f"disabled by {disabled_by}", seen_files, warnings)
    if cache_dir is not None:
        raw, source = env.expanduser(cache_dir[0], environ), cache_dir[1]
    else:
        raw, source = default_cache_dir(environ, platform)
    path = os.path.normcase(os.path.realpath(env.expanduser(raw, environ)))
    if not _owned(path):
        warnings.append(
            f"{path} or its nearest existing parent is not writable (or, for root, not owned) "
            "by this user, so pip disables its cache"
        )
        return PipLocation(None, f"disabled: {path} is not owned by this user (set by "
                                 f"{source})", seen_files, warnings)
    return PipLocation(path, source, seen_files, warnings)


def _owned(path: str) -> bool:
    """pip's ``check_path_owner``: the nearest existing ancestor must be ours."""
    if sys.platform == "win32" or not hasattr(os, "geteuid"):
        return True
    previous = None
    while path != previous:
        if os.path.lexists(path):
            if os.geteuid() == 0:
                try:
                    return os.lstat(path).st_uid == 0 and not os.path.islink(path)
                except OSError:
                    return False
            return os.access(path, os.W_OK)
        previous, path = path, os.path.dirname(path)
    return False

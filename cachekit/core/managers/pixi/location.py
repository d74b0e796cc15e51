"""Find pixi's cache root and its conda package cache as pixi 0.77 decides them, and say why.

From pixi's ``crates/pixi_config/src/lib.rs`` (``resolve_cache_root``,
``resolve_cache_kind_dir``, ``config_path_system``, ``config_path_global``,
``Config::load_global_with``) and rattler's ``crates/rattler_cache/src/lib.rs``
(``default_cache_dir``). The cache root, what ``pixi info`` prints as "Cache dir", is the
first of: ``PIXI_CACHE_DIR``; ``RATTLER_CACHE_DIR``; ``root`` in the ``[cache]`` table of
the config files; ``$XDG_CACHE_HOME/.pixi`` (or ``~/.cache/.pixi``) when that directory
exists; rattler's default ``$XDG_CACHE_HOME/rattler/cache`` (``~/.cache/rattler/cache``).
The package cache is ``PIXI_CACHE_CONDA_PACKAGES_DIR``, else ``conda-packages`` in
``[cache]``, else ``ROOT/pkgs``.

The config files, merged in this order with the later one winning a key:
``/etc/pixi/config.toml``, ``$XDG_CONFIG_HOME/pixi/config.toml`` (``~/.config/...``; on
macOS ``~/Library/Application Support/pixi/config.toml``, after ``$XDG_CONFIG_HOME``'s),
``$PIXI_HOME/config.toml`` (``~/.pixi/config.toml``). ``PIXI_CONFIG_FILE`` (one file
instead) and ``PIXI_NO_CONFIG`` (none) change what pixi's commands read for the package
cache; the root ``pixi info`` prints always comes from the files found by the search.
A project's own ``.pixi/config.toml`` applies only inside that project; cachekit reports
the caches pixi uses everywhere else.
"""

import os
import sys
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ... import env

_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0", "")
# What pixi's ``[cache]`` table and environment variables can set, by cache kind.
KIND_VARS = {"conda-packages": "PIXI_CACHE_CONDA_PACKAGES_DIR",
             "exec-environments": "PIXI_CACHE_EXEC_ENVIRONMENTS_DIR",
             "build-tool-environments": "PIXI_CACHE_BUILD_TOOL_ENVIRONMENTS_DIR",
             "detached-environments": "PIXI_CACHE_DETACHED_ENVIRONMENTS_DIR"}
KIND_DIRS = {"conda-packages": "pkgs", "exec-environments": "cached-envs-v0",
             "build-tool-environments": "cached-build-tool-envs-v0",
             "detached-environments": "envs"}
_NETFS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "autofs", "fuse", "fuseblk")
# A setting: (value, where it was read); a layer of config files merged.
Setting = Tuple[Any, str]


class PixiConfigError(Exception):
    """pixi's settings cannot be read the way pixi reads them (a config.toml that does not
    parse, a [cache] path that is not absolute): nothing is decided until it is fixed."""


class PixiLocation(NamedTuple):
    path: Optional[str]  # the cache root, as ``pixi info`` prints it
    source: str
    pkgs: str  # the conda package cache pixi's commands use
    pkgs_source: str
    config_files: List[str]  # the config files found, in pixi's merge order
    home: str  # PIXI_HOME, else ~/.pixi: global environments, workspaces.toml
    settings: Dict[str, Setting]  # the merged settings pixi's commands use


def pixi_home(environ: Mapping[str, str]) -> str:
    return environ.get("PIXI_HOME") or os.path.join(env.home(environ), ".pixi")


def _base(environ: Mapping[str, str], var: str, linux: str, mac: str) -> str:
    """``dirs::cache_dir``/``config_dir``: the XDG variable when absolute, else the usual."""
    home = env.home(environ)
    if sys.platform == "darwin":
        return os.path.join(home, mac)
    value = environ.get(var, "")
    return value if value.startswith("/") else os.path.join(home, linux)


def config_files(environ: Mapping[str, str]) -> List[str]:
    """Every config file pixi's search reads, in merge order (the last one wins)."""
    files = ["/etc/pixi/config.toml"]
    if sys.platform == "darwin" and environ.get("XDG_CONFIG_HOME"):
        files.append(os.path.join(environ["XDG_CONFIG_HOME"], "pixi", "config.toml"))
    files.append(os.path.join(_base(environ, "XDG_CONFIG_HOME", ".config",
                                    "Library/Application Support"), "pixi", "config.toml"))
    files.append(os.path.join(pixi_home(environ), "config.toml"))
    return list(dict.fromkeys(files))


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name)
    if value is None:
        return False
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise PixiConfigError(f"{name}: invalid value {value!r} (pixi expects true or false)")


def command_files(environ: Mapping[str, str]) -> Tuple[List[str], str]:
    """The files pixi's commands read (``--config-file``/``--no-config`` as variables), and
    what chose them."""
    if _flag(environ, "PIXI_NO_CONFIG"):
        if environ.get("PIXI_CONFIG_FILE"):
            raise PixiConfigError("PIXI_NO_CONFIG and PIXI_CONFIG_FILE are both set: pixi "
                                  "refuses to start with both")
        return [], "PIXI_NO_CONFIG"
    if environ.get("PIXI_CONFIG_FILE"):
        return [environ["PIXI_CONFIG_FILE"]], "PIXI_CONFIG_FILE"
    return config_files(environ), ""


def _read(path: str, texts: Mapping[str, str]) -> Optional[Dict[str, Any]]:
    """One config file as TOML (None when there is none); errors name the file."""
    from ... import bounded, minitoml

    try:
        text = texts[path] if path in texts else bounded.read_text(path, bounded.CONFIG_CAP,
                                                                   "utf-8-sig")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise PixiConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PixiConfigError(f"{path}: not UTF-8 text") from None
    try:
        return minitoml.loads(text, path)
    except minitoml.TomlError as exc:
        raise PixiConfigError(f"{exc} (pixi ignores a config.toml it cannot parse)") from None


def _path_value(value: Any, key: str, path: str, environ: Mapping[str, str]) -> str:
    """A ``[cache]`` path as pixi takes it: ``~`` expanded, and it must be absolute."""
    if not isinstance(value, str):
        raise PixiConfigError(f"{path}: {key} must be a path (a string), found {value!r}")
    value = env.expanduser(value, environ, users=False, home_dir=env.home(environ))
    if not value.startswith("/"):
        raise PixiConfigError(f"{path}: `{key}` must be an absolute path, got: {value}")
    return os.path.normpath(value)


def layer(files: List[str], environ: Mapping[str, str],
          texts: Mapping[str, str]) -> Dict[str, Setting]:
    """The settings cachekit needs from ``files``, merged as pixi merges them: each
    ``[cache]`` key (``cache.root``...), ``cache.netfs-redirect`` and
    ``detached-environments``, each with the file it came from."""
    out: Dict[str, Setting] = {}
    for path in files:
        doc = _read(path, texts)
        if doc is None:
            continue
        cache = doc.get("cache", {})
        if not isinstance(cache, dict):
            raise PixiConfigError(f"{path}: cache must be a table")
        for key in ("root",) + tuple(KIND_VARS):
            if key in cache:
                out["cache." + key] = (_path_value(cache[key], "cache." + key, path, environ),
                                       path)
        if "netfs-redirect" in cache:
            mode = cache["netfs-redirect"]
            if mode not in ("auto", "always", "never"):
                raise PixiConfigError(f"{path}: cache.netfs-redirect must be auto, always or "
                                      f"never, found {mode!r}")
            out["cache.netfs-redirect"] = (mode, path)
        detached = doc.get("detached-environments", doc.get("detached_environments"))
        if detached is not None:
            if isinstance(detached, str):
                detached = _path_value(detached, "detached-environments", path, environ)
            elif not isinstance(detached, bool):
                raise PixiConfigError(f"{path}: detached-environments must be true, false or "
                                      "a path")
            out["detached-environments"] = (detached, path)
    return out


def _given(environ: Mapping[str, str], var: str) -> str:
    """A root variable as pixi takes it: set but empty would be the working directory."""
    value = environ[var]
    if not value:
        raise PixiConfigError(f"{var} is set but empty: pixi would use the working directory "
                              "as its cache; unset it or give a directory")
    return os.path.normpath(os.path.join(environ.get("PWD") or os.getcwd(), value))


def cache_root(environ: Mapping[str, str], settings: Mapping[str, Setting]
               ) -> Tuple[str, str, bool]:
    """(root, what chose it, pinned by the user) as ``resolve_cache_root`` decides."""
    for var in ("PIXI_CACHE_DIR", "RATTLER_CACHE_DIR"):
        if var in environ:
            return _given(environ, var), var, True
    if "cache.root" in settings:
        value, path = settings["cache.root"]
        return value, f"cache.root in {path}", True
    base = _base(environ, "XDG_CACHE_HOME", ".cache", "Library/Caches")
    found = os.path.join(base, ".pixi")
    how = "XDG_CACHE_HOME" if base == environ.get("XDG_CACHE_HOME") else "~/.cache"
    if os.path.isdir(found):
        return found, f"default: {how}/.pixi (it exists)", False
    return os.path.join(base, "rattler", "cache"), f"default: {how}/rattler/cache", False


def kind_dir(kind: str, environ: Mapping[str, str], settings: Mapping[str, Setting]
             ) -> Tuple[str, str]:
    """One cache kind's directory and what chose it (``resolve_cache_kind_dir``)."""
    var = KIND_VARS[kind]
    if environ.get(var):
        return _given(environ, var), var
    if "cache." + kind in settings:
        value, path = settings["cache." + kind]
        return value, f"cache.{kind} in {path}"
    root, source, pinned = cache_root(environ, settings)
    mode = environ.get("PIXI_CACHE_NETFS_REDIRECT", "").strip().lower()
    if mode not in ("auto", "always", "never"):  # pixi ignores another value, with a warning
        mode = settings.get("cache.netfs-redirect", ("auto", ""))[0]
    # only "always" moves the package cache: pixi keeps it shared on a network file system
    redirects = mode == "always" or (mode == "auto" and kind != "conda-packages")
    if redirects and not pinned and _network_fs(root, environ):
        user = environ.get("USER") or environ.get("USERNAME") or "pixi"
        moved = os.path.join(_scratch(environ), f"pixi-cache-{user}", KIND_DIRS[kind])
        return moved, f"netfs-redirect {mode}: {root} is on a network file system"
    return os.path.join(root, KIND_DIRS[kind]), f"{KIND_DIRS[kind]} in the cache root ({source})"


def _network_fs(path: str, environ: Mapping[str, str]) -> bool:
    """``is_network_filesystem``: NFS, SMB/CIFS, FUSE or autofs under ``path``."""
    from ...fs import mounts

    if "PIXI_DISABLE_NETFS_REDIRECT" in environ:
        return False
    if "PIXI_FORCE_NETFS_REDIRECT" in environ:
        return True
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    mount = mounts.mount_of(path)
    return bool(mount and (mount.kind in _NETFS or mount.kind.startswith("fuse.")))


def _scratch(environ: Mapping[str, str]) -> str:
    """``node_local_scratch_dir``: the first scheduler temp dir not on a network file system."""
    for var in ("SLURM_TMPDIR", "PBS_JOBFS", "SCRATCH", "TMPDIR"):
        if environ.get(var) and not _network_fs(environ[var], {}):
            return environ[var]
    return environ.get("TMPDIR") or "/tmp"


def locate(environ: Mapping[str, str], texts: Optional[Mapping[str, str]] = None
           ) -> PixiLocation:
    """The cache root (as ``pixi info``) and the package cache (as pixi's commands use it).

    ``texts`` stands in for the content of some config files (``relocate`` tries an edit).
    """
    texts = texts or {}
    search = config_files(environ)
    searched = layer(search, environ, texts)
    root, source, _pinned = cache_root(environ, searched)
    files, chooser = command_files(environ)
    settings = layer(files, environ, texts) if chooser else searched
    pkgs, pkgs_source = kind_dir("conda-packages", environ, settings)
    if chooser:
        pkgs_source += f" (config files chosen by {chooser})"
    found = [f for f in search if f in texts or os.path.isfile(f)]
    return PixiLocation(root, source, pkgs, pkgs_source, found, pixi_home(environ), settings)


def record(environ: Mapping[str, str]) -> Dict[str, Any]:
    """``locations``: every setting that could place pixi's cache root, the winner marked,
    the package cache beside it, and the trap of a root set only in shells."""
    from ...traps import location_record, var_trap
    from ...traps import source as _source

    rec, loc = location_record("pixi", environ, locate, PixiConfigError,
                               ("PIXI_CACHE_DIR", "RATTLER_CACHE_DIR"),
                               lambda var, won: won == var)
    if loc is None:
        return rec
    searched = layer(config_files(environ), environ, {})
    for key, (value, path) in searched.items():
        if key in ("cache.root", "cache.conda-packages"):
            where = f"{key} in {path}"
            rec["sources"].append(_source(key, value, where, loc.source == where
                                          or loc.pkgs_source == where))
    if environ.get("PIXI_CACHE_CONDA_PACKAGES_DIR"):
        rec["sources"].append(_source("PIXI_CACHE_CONDA_PACKAGES_DIR",
                                      environ["PIXI_CACHE_CONDA_PACKAGES_DIR"],
                                      "environment variable PIXI_CACHE_CONDA_PACKAGES_DIR",
                                      loc.pkgs_source.startswith("PIXI_CACHE_CONDA")))
    base = _base(environ, "XDG_CACHE_HOME", ".cache", "Library/Caches")
    for default in (os.path.join(base, ".pixi"), os.path.join(base, "rattler", "cache")):
        rec["sources"].append(_source("default", default, "pixi's default",
                                      loc.path == default and loc.source.startswith("default")))
    rec["packages_dir"], rec["packages_source"] = loc.pkgs, loc.pkgs_source
    for var in ("PIXI_CACHE_DIR", "RATTLER_CACHE_DIR"):
        if loc.source == var:
            var_trap(rec, var, environ, locate, PixiConfigError)
    return rec

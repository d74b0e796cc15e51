"""Find conda's package caches and environments as conda (and micromamba) would, and say why.

Mirrors conda 26.x (``Context.pkgs_dirs``, ``SEARCH_PATH``, ``SequenceLoadedParameter``):
config files are read in conda's order, ``CONDA_PKGS_DIRS`` (comma-separated) comes
after them, and ``pkgs_dirs`` lists merge with later sources first, honouring
``#!final``, ``#!top`` and ``#!bottom``. Without a ``pkgs_dirs`` setting the caches are
``ROOT/pkgs`` then ``~/.conda/pkgs``.

conda's root prefix is its ``root_prefix`` setting (a condarc key, or
``CONDA_ROOT_PREFIX``), else the prefix conda is installed in; ``CONDA_ROOT`` only names
a config directory (it defaults to that install prefix). Where conda knows one
installation, a host may have several: cachekit finds every root it can (``root_prefix``,
``CONDA_EXE``, ``MAMBA_ROOT_PREFIX``, ``CONDA_PREFIX``, the usual install places). The
first one is "the" root conda would use; the ``pkgs`` of the others are reported too,
marked as found.

Environments are gathered more widely than conda gathers them, because a package an
undiscovered environment uses could otherwise be cleaned: ``envs_dirs``,
``CONDA_ENVS_DIRS``, every readable ``~/.conda/environments.txt``, each root, each root's
``envs/``, and ``CONDA_PREFIX``.
"""

import os
import re
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ... import bounded, env, miniyaml
from .places import SYSTEM_CONFIG_DIRS, USUAL_ROOTS

MAGIC_FILE = "urls.txt"


class CondaCache(NamedTuple):
    path: str  # as conda expands it: ~ and $VARS, abspath, not realpath
    source: str
    writable: bool  # conda's rule: urls.txt exists and can be appended to
    exists: bool
    configured: bool  # in conda's own pkgs_dirs (False: found beside it)


class CondaEnv(NamedTuple):
    path: str
    source: str


class CondaLocation(NamedTuple):
    roots: List[Tuple[str, str]]  # (prefix, how it was found)
    caches: List[CondaCache]
    envs: List[CondaEnv]
    config_files: List[str]  # the files read, in conda's order
    errors: List[str]  # one line each, naming the file or variable at fault


def _expand(path: str, environ: Mapping[str, str]) -> str:
    """conda's ``expand``: ``~`` and ``$VAR``/``${VAR}`` from this environment, then abspath."""
    home = env.home(environ)
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]

    def var(match: "re.Match[str]") -> str:
        name = match.group(1) or match.group(2)
        return environ.get(name, match.group(0))

    path = re.sub(r"\$(?:(\w+)|\{([^}]*)\})", var, path)
    return os.path.normpath(os.path.join(environ.get("PWD") or os.getcwd(), path))


def _is_prefix(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "conda-meta")) or os.path.isdir(
        os.path.join(path, "pkgs"))


def find_roots(environ: Mapping[str, str], usual: Tuple[str, ...] = USUAL_ROOTS
               ) -> List[Tuple[str, str]]:
    """Every conda/mamba installation on this host found by its signs, in the order conda
    prefers them. ``CONDA_ROOT`` is not one of them (``locate`` puts the
    ``root_prefix`` setting in front)."""
    found: List[Tuple[str, str]] = []

    def add(path: Optional[str], source: str) -> None:
        if not path:
            return
        path = _expand(path, environ)
        if _is_prefix(path) and path not in [p for p, _ in found]:
            found.append((path, source))

    exe = environ.get("CONDA_EXE")
    if exe:  # ROOT/bin/conda or ROOT/condabin/conda; a standalone micromamba has no root
        add(os.path.dirname(os.path.dirname(_expand(exe, environ))), "CONDA_EXE")
    add(environ.get("MAMBA_ROOT_PREFIX"), "MAMBA_ROOT_PREFIX")
    prefix = environ.get("CONDA_PREFIX")
    if prefix:
        prefix = _expand(prefix, environ)
        parent = os.path.dirname(prefix)
        if os.path.basename(parent) == "envs":
            add(os.path.dirname(parent), "CONDA_PREFIX (an environment of it)")
        else:
            add(prefix, "CONDA_PREFIX")
    for place in usual:
        add(place, "usual install location")
    return found


def _config_files(environ: Mapping[str, str], root: Optional[str],
                  system_dirs: Tuple[str, ...], overrides: Optional[Dict[str, str]] = None
                  ) -> List[str]:
    """conda's SEARCH_PATH on POSIX, existing files only, in reading order."""
    home = env.home(environ)
    dirs = list(system_dirs)
    conda_root = environ.get("CONDA_ROOT") or root
    if conda_root:
        dirs.append(_expand(conda_root, environ))
    if environ.get("XDG_CONFIG_HOME"):
        dirs.append(os.path.join(environ["XDG_CONFIG_HOME"], "conda"))
    dirs += [os.path.join(home, ".config", "conda"), os.path.join(home, ".conda")]
    files: List[str] = []
    for d in dirs:
        files += _dir_files(d)
    files.append(os.path.join(home, ".condarc"))
    if environ.get("CONDA_PREFIX"):
        files += _dir_files(_expand(environ["CONDA_PREFIX"], environ))
    if environ.get("CONDARC"):
        condarc = _expand(environ["CONDARC"], environ)
        files += _dir_files(condarc) if os.path.isdir(condarc) else [condarc]
    seen: List[str] = []
    for f in files:
        if (os.path.isfile(f) or f in (overrides or {})) and f not in seen:
            seen.append(f)
    return seen


def root_prefix_setting(environ: Mapping[str, str], docs: "Docs", errors: List[str]
                        ) -> Optional[Tuple[str, str]]:
    """conda's ``root_prefix`` (alias ``root_dir``) and where it was set: the last config
    file that sets it, then ``CONDA_ROOT_PREFIX``; a ``#!final`` key stops later sources."""
    chosen: Optional[Tuple[str, str]] = None
    for path, doc in docs:
        for key in ("root_prefix", "root_dir"):
            value = doc.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                errors.append(f"{path}: {key} must be a path, found "
                              f"{type(value).__name__} {value!r}")
                continue
            chosen = (value.strip(), f"{key} in {path}")
            if key in getattr(doc, "final", set()):
                return chosen
    if environ.get("CONDA_ROOT_PREFIX"):
        chosen = (environ["CONDA_ROOT_PREFIX"], "CONDA_ROOT_PREFIX")
    return chosen


def _dir_files(d: str) -> List[str]:
    out = [os.path.join(d, ".condarc"), os.path.join(d, "condarc")]
    try:
        names = sorted(os.listdir(os.path.join(d, "condarc.d")))
    except OSError:
        names = []
    out += [os.path.join(d, "condarc.d", n) for n in names if n.endswith((".yml", ".yaml"))]
    return out


Source = Tuple[str, List[str], bool]  # (where, items, final)
Docs = List[Tuple[str, Dict[str, Any]]]


def load_configs(files: List[str], errors: List[str],
                 overrides: Optional[Dict[str, str]] = None) -> Docs:
    """Each readable config file's settings; one line in ``errors`` per file that is not.

    ``overrides`` gives a file's text as it would be (``relocate`` checks an edit first).
    """
    docs: Docs = []
    for path in files:
        try:
            if overrides and path in overrides:
                doc = miniyaml.loads(overrides[path])
            else:
                # a BOM is not part of a key
                doc = miniyaml.loads(bounded.read_text(path, bounded.CONFIG_CAP, "utf-8-sig"))
        except OSError as exc:
            errors.append(f"{path}: cannot read: {exc.strerror}")
            continue
        except (miniyaml.YamlError, UnicodeDecodeError) as exc:
            errors.append(f"{path}: not valid YAML: {exc}")
            continue
        except RecursionError:
            errors.append(f"{path}: not valid YAML: nested too deeply")
            continue
        if not isinstance(doc, dict):
            errors.append(f"{path}: not a mapping of settings (found {type(doc).__name__})")
            continue
        docs.append((path, doc))
    return docs


def _sources(docs: Docs, key: str, errors: List[str]) -> List[Source]:
    """Each file's ``key`` list; a value of the wrong type adds one line to ``errors``."""
    sources: List[Source] = []
    for path, doc in docs:
        value = doc.get(key)
        final = key in getattr(doc, "final", set())
        if value is None:
            if final:  # `key: #!final` with no items still stops later sources
                sources.append((f"{key} in {path}", [], True))
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors.append(f"{path}: {key} must be a list of paths, found "
                          f"{type(value).__name__} {value!r}")
            continue
        sources.append((f"{key} in {path}", value, final))
    return sources


def merge(sources: List[Source]) -> List[Tuple[str, str]]:
    """conda's ``SequenceLoadedParameter.merge``: items with the source that gave them."""
    relevant: List[Source] = []
    for source in sources:
        relevant.append(source)
        if source[2]:
            break  # `#!final`: no later source contributes

    def flagged(flag: str, order: List[Source]) -> List[Tuple[str, str]]:
        return [(v, s[0]) for s in order for v in s[1] if getattr(v, "flag", None) == flag]

    top = flagged("top", relevant)
    bottom = flagged("bottom", list(reversed(relevant)))
    every = [(v, s[0]) for s in reversed(relevant) for v in s[1]]
    top_deduped = _unique(top + every)
    ordered = _unique(list(reversed(bottom)) + list(reversed(top_deduped)))
    return list(reversed(ordered))


def _unique(items: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
    seen, out = set(), []
    for value, source in items:
        if value not in seen:
            seen.add(value)
            out.append((value, source))
    return out


def is_writable(pkgs: str) -> bool:
    """conda's test: the magic file exists and may be appended to (no file is opened)."""
    magic = os.path.join(pkgs, MAGIC_FILE)
    return os.path.isfile(magic) and os.access(magic, os.W_OK)


FRESH_CACHE = ("urls.txt", "urls", "cache", ".logs", ".trash")  # what conda makes first


def layout_problem(root: str) -> str:
    """A conda package cache's signature: ``urls.txt`` beside a package (an extracted
    package directory, an archive, micromamba's channel tree), or a fresh cache conda
    made or emptied (``urls.txt``, ``urls``, the index cache, logs, lock and trash files,
    nothing else)."""
    from ..conda_format import PACKAGE_EXTENSIONS
    from .cache import URL_SCHEMES

    try:
        names = os.listdir(root)
    except OSError as exc:
        return f"cannot be listed ({exc.strerror})"
    magic = os.path.join(root, MAGIC_FILE)
    if not os.path.isfile(magic) or os.path.islink(magic):
        return f"has no {MAGIC_FILE}, the file conda marks its package caches with"
    archives = PACKAGE_EXTENSIONS + tuple(e + ".partial" for e in PACKAGE_EXTENSIONS)
    for name in names:
        full = os.path.join(root, name)
        if os.path.islink(full):
            continue
        if name.lower().endswith(archives) and os.path.isfile(full):
            return ""
        if os.path.isdir(os.path.join(full, "info")) or (
                name in URL_SCHEMES and os.path.isdir(full)):
            return ""
    if all(n in FRESH_CACHE or n.endswith((".lock", ".conda_trash", ".mamba_trash"))
           for n in names):
        return ""
    return (f"does not look like a conda package cache ({MAGIC_FILE}, but no package "
            "directory or archive beside it)")


def prefix_problem(root: str) -> str:
    """Where conda's temp and trash files are searched: inside a conda installation, an
    environment or a package cache (``conda-meta``, ``pkgs`` or ``urls.txt``)."""
    here = root
    while True:
        if _is_prefix(here) or os.path.isfile(os.path.join(here, MAGIC_FILE)):
            return ""
        parent = os.path.dirname(here)
        if parent == here:
            return ("is not inside a conda installation, environment or package cache "
                    "(no conda-meta, pkgs or urls.txt)")
        here = parent


def _cache(path: str, source: str, configured: bool) -> CondaCache:
    return CondaCache(path, source, is_writable(path), os.path.isdir(path), configured)


def _pkgs_dirs(environ: Mapping[str, str], roots: List[Tuple[str, str]], docs: Docs,
               errors: List[str]) -> List[CondaCache]:
    home = env.home(environ)
    sources = _sources(docs, "pkgs_dirs", errors)
    env_value = environ.get("CONDA_PKGS_DIRS")
    if env_value is not None:
        items = [i.strip() for i in env_value.split(",") if i.strip()]
        if items:
            sources.append(("CONDA_PKGS_DIRS", items, False))
    caches: List[CondaCache] = []
    if sources:
        for item, source in merge(sources):
            path = _expand(item, environ)
            if path not in [c.path for c in caches]:
                caches.append(_cache(path, source, True))
    else:
        if roots:
            caches.append(_cache(os.path.join(roots[0][0], "pkgs"),
                                 f"default: root prefix {roots[0][0]} ({roots[0][1]})", True))
        caches.append(_cache(os.path.join(home, ".conda", "pkgs"), "default: ~/.conda/pkgs",
                             True))
    # Beyond conda: other installations' caches and micromamba's default hold packages too.
    extra = [(os.path.join(r, "pkgs"), f"found: pkgs of {r} ({how})") for r, how in roots]
    extra.append((os.path.join(home, ".mamba", "pkgs"), "found: mamba's default ~/.mamba/pkgs"))
    for path, source in extra:
        if path not in [c.path for c in caches] and os.path.isdir(path):
            caches.append(_cache(path, source, False))
    for cache in caches:
        if os.path.lexists(cache.path) and not cache.exists:
            origin = "CONDA_PKGS_DIRS" if cache.source == "CONDA_PKGS_DIRS" else cache.source
            errors.append(f"{origin}: {cache.path} is not a directory")
    return caches


def _environments_txt(environ: Mapping[str, str]) -> List[str]:
    """The registered-environments files: this user's, and every user's we can read."""
    home = env.home(environ)
    files = [os.path.join(home, ".conda", "environments.txt")]
    try:
        import pwd

        files += [os.path.join(p.pw_dir, ".conda", "environments.txt") for p in pwd.getpwall()]
    except ImportError:
        pass
    return list(dict.fromkeys(f for f in files if os.path.isfile(f)))


def _envs(environ: Mapping[str, str], roots: List[Tuple[str, str]], docs: Docs,
          errors: List[str]) -> List[CondaEnv]:
    home = env.home(environ)
    found: Dict[str, str] = {}

    def add(path: str, source: str) -> None:
        path = _expand(path, environ)
        if path not in found and os.path.isdir(os.path.join(path, "conda-meta")):
            found[path] = source

    for root, _how in roots:
        add(root, "root prefix")
    if environ.get("CONDA_PREFIX"):
        add(environ["CONDA_PREFIX"], "CONDA_PREFIX")
    for txt in _environments_txt(environ):
        try:
            text = bounded.read_text(txt, bounded.LIST_CAP, errors="replace")
        except OSError as exc:  # its environments could use any package: say so
            errors.append(f"{txt}: cannot read: {exc.strerror}")
            continue
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            if line.strip():
                add(line.strip(), txt)
    envs_dirs = [(d, s) for d, s in merge(_sources(docs, "envs_dirs", errors))]
    for item in (environ.get("CONDA_ENVS_DIRS") or "").split(os.pathsep):
        if item.strip():
            envs_dirs.append((item.strip(), "CONDA_ENVS_DIRS"))
    envs_dirs += [(os.path.join(r, "envs"), f"envs of root {r}") for r, _ in roots]
    envs_dirs.append((os.path.join(home, ".conda", "envs"), "default: ~/.conda/envs"))
    for envs_dir, source in envs_dirs:
        envs_dir = _expand(envs_dir, environ)
        try:
            names = sorted(os.listdir(envs_dir))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:  # environments there could use any package: say so
            errors.append(f"{envs_dir}: cannot list environments: {exc.strerror}")
            continue
        for name in names:
            add(os.path.join(envs_dir, name), f"{source} ({envs_dir})")
    return [CondaEnv(p, s) for p, s in found.items()]


def locate(environ: Mapping[str, str], system_dirs: Tuple[str, ...] = SYSTEM_CONFIG_DIRS,
           usual: Tuple[str, ...] = USUAL_ROOTS,
           overrides: Optional[Dict[str, str]] = None) -> CondaLocation:
    """Every package cache and environment of this host, each with where it came from."""
    errors: List[str] = []
    installed = find_roots(environ, usual)  # CONDA_ROOT's default: where conda is installed
    files = _config_files(environ, installed[0][0] if installed else None, system_dirs,
                          overrides)
    docs = load_configs(files, errors, overrides)
    roots = installed
    setting = root_prefix_setting(environ, docs, errors)
    if setting and _is_prefix(_expand(setting[0], environ)):  # conda's root comes first
        chosen = _expand(setting[0], environ)
        roots = [(chosen, setting[1])] + [(p, s) for p, s in installed if p != chosen]
    caches = _pkgs_dirs(environ, roots, docs, errors)
    envs = _envs(environ, roots, docs, errors)
    return CondaLocation(roots, caches, envs, files, errors)

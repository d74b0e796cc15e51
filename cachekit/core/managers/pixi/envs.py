"""The environments that may use pixi's package cache, found without a list from pixi.

pixi keeps no list of its environments (conda keeps ``environments.txt``), so cachekit
looks where pixi puts them (``crates/pixi_global/src/common.rs``,
``crates/pixi_core/src/workspace/mod.rs``, ``crates/pixi_consts/src/consts.rs``):

- pixi's global environments: ``$PIXI_HOME/envs/*`` (``~/.pixi/envs/*``);
- the cache's own: ``pixi exec`` environments (``cached-envs-v0/*``) and build tool
  environments (``cached-build-tool-envs-v0/*``, ``cached-build-envs-v0/*``), each kind
  where its ``[cache]`` setting or variable puts it;
- detached project environments (``detached-environments``: true puts them under the
  cache root's ``envs``, a path under that path): ``DIR/<project>-<hash>/envs/*`` and
  ``solve-group-envs/*``;
- project environments, ``P/.pixi/envs/*`` and ``P/.pixi/solve-group-envs/*``, for each
  project root P cachekit knows: the workspaces registered with ``pixi workspace register``
  (``$PIXI_HOME/workspaces.toml``), the working directory and its parents, and the
  projects found up to ``DEPTH`` directories below each directory of
  ``CACHEKIT_PIXI_PROJECTS`` (``:``-separated) and below the home. Hidden directories
  (but ``.pixi``) and symlinks are not entered, and at most ``DIR_BUDGET`` directories
  are listed in all.

An environment is a directory holding ``conda-meta``.
"""

import os
from typing import List, Mapping, NamedTuple, Set

from ... import env

DEPTH = 3
DIR_BUDGET = 20000
_SKIP = ("node_modules", "__pycache__", "site-packages")


class Found(NamedTuple):
    envs: List[str]
    problems: List[str]  # what may hide an environment: removals wait until it is fixed
    notes: List[str]  # said, nothing held back


def _children(path: str) -> List[str]:
    try:
        with os.scandir(path) as it:
            return sorted(e.path for e in it if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def _prefixes(parent: str) -> List[str]:
    """The environments directly under ``parent`` (directories holding ``conda-meta``)."""
    return [p for p in _children(parent) if os.path.isdir(os.path.join(p, "conda-meta"))]


def registered(home: str, problems: List[str]) -> List[str]:
    """The workspaces ``pixi workspace register`` recorded: their directories."""
    from ... import bounded, minitoml

    path = os.path.join(home, "workspaces.toml")
    try:
        doc = minitoml.loads(bounded.read_text(path, bounded.CONFIG_CAP, "utf-8-sig"), path)
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, minitoml.TomlError) as exc:
        problems.append(f"{path}: cannot be read ({exc}): the workspaces it names may use "
                        "the cache")
        return []
    named = doc.get("named-workspaces", {})
    out = []
    for manifest in named.values() if isinstance(named, dict) else []:
        if isinstance(manifest, str):
            out.append(os.path.dirname(manifest) if manifest.endswith(".toml") else manifest)
    return out


def projects_below(top: str, depth: int, budget: List[int]) -> List[str]:
    """Project roots (directories holding ``.pixi``) up to ``depth`` levels below ``top``."""
    found: List[str] = []
    level = [top]
    for d in range(depth + 1):
        below: List[str] = []
        for here in level:
            if budget[0] <= 0:
                return found
            budget[0] -= 1
            for child in _children(here):
                name = os.path.basename(child)
                if name == ".pixi":
                    found.append(here)
                elif d < depth and not name.startswith(".") and name not in _SKIP:
                    below.append(child)
        level = below
    return found


def find(root: str, home: str, settings_dirs: Mapping[str, str],
         detached: str, environ: Mapping[str, str]) -> Found:
    """Every environment found. ``settings_dirs`` maps a cache kind (``exec-environments``,
    ``build-tool-environments``) to its directory; ``detached`` is the detached
    environments' directory ("" when projects keep theirs in ``.pixi``)."""
    problems: List[str] = []
    notes: List[str] = []
    envs: List[str] = _prefixes(os.path.join(home, "envs"))
    for kind in ("exec-environments", "build-tool-environments"):
        envs += _prefixes(settings_dirs[kind])
    envs += _prefixes(os.path.join(root, "cached-build-envs-v0"))
    if detached:
        for project in _children(detached):
            envs += _prefixes(os.path.join(project, "envs"))
            envs += _prefixes(os.path.join(project, "solve-group-envs"))
    roots: List[str] = registered(home, problems)
    here = os.path.abspath(environ.get("PWD") or os.getcwd())
    while True:
        roots.append(here)
        if os.path.dirname(here) == here:
            break
        here = os.path.dirname(here)
    budget = [DIR_BUDGET]
    tops = [t for t in environ.get("CACHEKIT_PIXI_PROJECTS", "").split(os.pathsep) if t]
    for top in tops + [env.home(environ)]:
        roots += projects_below(os.path.abspath(top), DEPTH, budget)
    if budget[0] <= 0:
        notes.append(f"pixi: stopped looking for projects after {DIR_BUDGET} directories; "
                     "list their parent directories in CACHEKIT_PIXI_PROJECTS (packages "
                     "environments hard-link stay in any case)")
    seen: Set[str] = set()
    for project in roots:
        if project in seen:
            continue
        seen.add(project)
        for sub in ("envs", "solve-group-envs"):
            envs += _prefixes(os.path.join(project, ".pixi", sub))
    return Found(sorted(set(envs)), problems, notes)

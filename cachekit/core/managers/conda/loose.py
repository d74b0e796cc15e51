"""Temp and trash files outside the package caches (``clean --tempfiles``, ``--trash``),
and the one refusal every root a conda clean may touch passes before it is read.

Temp files are searched for only inside a conda installation, environment or package
cache cachekit found, never in a home or a system directory.
"""

import os
from typing import Dict, Iterable, List, Set, Tuple

from ... import Refused, safety
from ...fs import subtree
from ...wire import Request, Result
from . import location
from .cache import _NESTED_DEPTH, TEMPFILE_SUFFIXES, TRASH_SUFFIXES
from .clean import CachePlan, Item
from .plans import CondaPlan, offer, plan_to_wire

_SPLIT_BELOW = 8  # see search_jobs

LOOSE = {
    "tempfiles": (TEMPFILE_SUFFIXES, "temp file of an interrupted transaction"),
    "trash": (TRASH_SUFFIXES, "trash file left by a removal"),
}


def search_jobs(top: str, skip: Set[str], suffixes: Tuple[str, ...]
                ) -> Tuple[List[str], List[Tuple[str, str]], List[str]]:
    """The upper levels of a search, listed here: (matches, errors, subtrees left to
    ``find_below``, one job each). Jobs of similar size: a directory with few
    subdirectories (an environment's lib/, python3.x/) is opened here, one with many hands
    each to a job."""
    found: List[str] = []
    errors: List[Tuple[str, str]] = []
    jobs: List[str] = []
    frontier = [(top, 0)]
    while frontier:
        here, depth = frontier.pop()
        subdirs = _find_level(here, skip, suffixes, found, errors)
        if len(subdirs) < _SPLIT_BELOW and depth < _NESTED_DEPTH:
            frontier += [(d, depth + 1) for d in subdirs]
        else:
            jobs += subdirs
    return found, errors, jobs


def _find_level(here: str, skip: Set[str], suffixes: Tuple[str, ...], found: List[str],
                errors: List[Tuple[str, str]]) -> List[str]:
    """Note the matching files of one directory; return its subdirectories."""
    subdirs: List[str] = []
    try:
        it = os.scandir(here)
    except FileNotFoundError:
        return subdirs
    except OSError as exc:
        errors.append((here, exc.strerror or str(exc)))
        return subdirs
    with it:
        for entry in it:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.path not in skip:
                        subdirs.append(entry.path)
                    continue
            except OSError:
                continue
            if entry.name.endswith(suffixes) and not (entry.is_symlink()
                                                     and subtree.links_to_dir(entry)):
                found.append(entry.path)
    return subdirs


def find_below(args: Tuple[str, Set[str], Tuple[str, ...]]
               ) -> Tuple[List[str], List[Tuple[str, str]]]:
    """Everything below one directory a search job was given: (matches, errors)."""
    top, skip, suffixes = args
    found: List[str] = []
    errors: List[Tuple[str, str]] = []
    stack = [top]
    while stack:
        stack += _find_level(stack.pop(), skip, suffixes, found, errors)
    return found, errors


def loose_files(request: Request, loc: location.CondaLocation, result: Result, what: str,
                walked: Dict[str, List[str]],
                searched: Dict[Tuple[str, str], Tuple[List[str], List[Tuple[str, str]]]]
                ) -> List[CondaPlan]:
    """Temp files (``--tempfiles [PATH...]``: ``*.c~``, ``*.trash``) or trash files
    (``--trash``: ``*.mamba_trash``, ``*.conda_trash``) under each PATH (default: the root).

    ``searched`` holds each top's search (``walks.run`` of ``searches``); ``walked`` the
    temp files noted in the directories sized for the plan, which the search left out."""
    suffixes, reason = LOOSE[what]
    tops = loose_tops(request, loc, what)
    if not tops:
        result["warnings"].append(f"conda: --{what}: no conda root prefix found"
                                  + ("; give PATHs" if what == "tempfiles" else ""))
        return []
    plans: List[CondaPlan] = []
    planned = {r["path"] for r in result["removed"]}
    for path, source in tops:
        top = real_dir(path)
        check_prefix(top, loc)
        found, errors = searched[(what, top)]
        found = found + [path for d in walked_under(top, walked) for path in walked[d]]
        for rel, err in errors[:1]:
            result["warnings"].append(f"conda: {rel}: {err} (not searched for {what})")
        items = []
        for full in found:
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if full in planned:
                continue
            items.append(Item(os.path.relpath(full, top), what, st.st_size,
                              st.st_size if st.st_nlink <= 1 else 0, st.st_ino, st.st_mtime_ns,
                              reason, False, ""))
        wire = plan_to_wire(what, path, top, CachePlan(items, []))
        wire["source"] = source
        plans.append(offer(wire, result, None))
    return plans


def walked_under(top: str, walked: Iterable[str]) -> List[str]:
    """The walked directories below ``top`` (packages walked for ``--packages``)."""
    return sorted(d for d in walked if d.startswith(top.rstrip("/") + "/"))


def loose_tops(request: Request, loc: location.CondaLocation, what: str
               ) -> List[Tuple[str, str]]:
    """The directories searched for temp or trash files, each with what chose it."""
    given = request.get("tempfile_paths") if what == "tempfiles" else None
    if given:
        return [(p, "--tempfiles") for p in given]
    return [(r, s) for r, s in loc.roots[:1]]


def refuse_unsafe_roots(request: Request, loc: location.CondaLocation,
                        flags: Tuple[str, ...], environ: Dict[str, str]) -> None:
    """safety's one refusal for every cache and prefix this request may clean, before any
    is read: no configured cache may be a home or a system directory, one that would be
    cleaned must be conda's, and temp and trash files are never searched for in a home."""
    verb = request.get("op") or ""
    for cache in loc.caches:
        if not (cache.configured and cache.exists):
            continue
        if cache.writable:
            safety.refuse("conda", cache.path, environ, verb, cache.source)
        else:  # never cleaned (no urls.txt), but a setting pointing there is still wrong
            safety.refuse_place(cache.path, environ, verb, "conda package cache",
                                cache.source)
    for what in [w for w in LOOSE if w in flags]:
        for path, setting in loose_tops(request, loc, what):
            top = real_dir(path)
            given = setting.startswith("--")
            label = (f"directory given to --{what}" if given else
                     f"conda root searched for {what.replace('files', ' files')}")
            setting = "" if given else setting
            safety.refuse_place(path, environ, verb, label, setting)
            check_prefix(top, loc)
            holders = [(k, s) for k, s in known_places(loc)
                       if top == k or top.startswith(k.rstrip("/") + "/")]
            if all(safety.place_problem(k, environ) for k, _s in holders):
                k, s = holders[0]
                safety.refuse_place(k, environ, verb, f"conda prefix holding {path}", s)
            safety.refuse("conda", top, environ, verb, setting, label, kind="tempfiles")


def known_places(loc: location.CondaLocation) -> List[Tuple[str, str]]:
    """``_known_tops`` with what pointed at each."""
    return [(os.path.realpath(p), s) for p, s in
            list(loc.roots) + [(e.path, e.source) for e in loc.envs]
            + [(c.path, c.source) for c in loc.caches]]


def real_dir(path: str) -> str:
    top = os.path.realpath(path)
    if not os.path.isdir(top):
        raise Refused(f"--tempfiles {path}: no such directory")
    return top


def known_tops(loc: location.CondaLocation) -> List[str]:
    return [os.path.realpath(p) for p in
            [r for r, _ in loc.roots] + [e.path for e in loc.envs] + [c.path for c in loc.caches]]


def check_prefix(top: str, loc: location.CondaLocation) -> None:
    """Temp files are only removed inside a conda installation, environment or cache."""
    if not any(top == k or top.startswith(k.rstrip("/") + "/") for k in known_tops(loc)):
        raise Refused(f"--tempfiles {top}: not inside a conda root, environment or package "
                      "cache that cachekit found")

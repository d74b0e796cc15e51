"""``locations`` for conda: every place that could set the package caches, which won, and
the traps (a ``pkgs_dirs`` that dropped a default cache still holding packages, a
``CONDA_PKGS_DIRS`` that unattended jobs never see).
"""

import os
from typing import Any, Dict, List, Mapping

from ... import env
from ...traps import env_trap, source
from . import location


def home_of(environ: Mapping[str, str]) -> str:
    return env.home(environ)


def conda_record(environ: Mapping[str, str]) -> Dict[str, Any]:
    loc = location.locate(environ)
    configured = [c for c in loc.caches if c.configured]
    first = next((c for c in configured if c.writable), configured[0] if configured else None)
    rec: Dict[str, Any] = {"manager": "conda", "path": first.path if first else None,
                           "source": first.source if first else "",
                           "error": "; ".join(loc.errors) or None, "traps": [],
                           "caches": [c.path for c in configured], "sources": []}
    sources = rec["sources"]
    if environ.get("CONDA_PKGS_DIRS"):
        sources.append(source("CONDA_PKGS_DIRS", environ["CONDA_PKGS_DIRS"],
                              "environment variable CONDA_PKGS_DIRS", True))
    errors: List[str] = []
    docs = location.load_configs(loc.config_files, errors)
    for path, doc in reversed(docs):
        if isinstance(doc.get("pkgs_dirs"), list):
            sources.append(source("pkgs_dirs", ", ".join(map(str, doc["pkgs_dirs"])),
                                  f"pkgs_dirs in {path}", not environ.get("CONDA_PKGS_DIRS")))
    home = home_of(environ)
    defaults = [os.path.join(r, "pkgs") for r, _ in loc.roots[:1]] + [
        os.path.join(home, ".conda", "pkgs")]
    set_somewhere = len(sources) > 0
    why = "ROOT/pkgs, then ~/.conda/pkgs" + "".join(
        f" (ROOT found by {how})" for _r, how in loc.roots[:1])
    sources.append(source("default", ", ".join(defaults), why, not set_somewhere))
    if set_somewhere:
        for d in defaults:
            if d not in rec["caches"] and os.path.isfile(os.path.join(d, "urls.txt")):
                rec["traps"].append(f"pkgs_dirs no longer lists the default cache {d}: conda "
                                    "neither uses nor cleans the packages still in it")
        if environ.get("CONDA_PKGS_DIRS"):
            unset = {k: v for k, v in environ.items() if k != "CONDA_PKGS_DIRS"}
            fallback = location.locate(unset).caches
            trap = env_trap("CONDA_PKGS_DIRS", environ,
                            fallback[0].path if fallback else None)
            if trap:
                rec["traps"].append(trap)
    return rec

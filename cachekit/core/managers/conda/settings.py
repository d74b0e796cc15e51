"""Where conda's cache is set, and how ``relocate`` points conda at another one.

conda reads ``pkgs_dirs`` from every config file in its search path; ``relocate`` writes
the user's ``~/.condarc``: the new cache first and the caches in use before after it, so
packages already there stay usable (``conda config --prepend pkgs_dirs``). A cache that
environments use through symlinks is never moved: they would break.
"""

import json
import os
import re
from typing import List, Mapping, Optional, Tuple

from ... import Refused, env, miniyaml
from ..base import Settings
from . import location


class CondaSettings(Settings):
    """conda's ``pkgs_dirs``, as ``relocate`` reads and writes it."""

    def config_file(self) -> str:
        return os.path.join(env.home(self.environ), ".condarc")

    def current(self) -> Tuple[Optional[str], List[str]]:
        """The first writable configured cache, and every configured cache in order."""
        loc = location.locate(self.environ)
        if loc.errors:
            raise Refused(loc.errors[0])
        caches = [c.path for c in loc.caches if c.configured]
        first = next((c.path for c in loc.caches if c.configured and c.writable),
                     caches[0] if caches else None)
        return first, caches

    def source(self, current: str) -> str:
        return next((c.source for c in location.locate(self.environ).caches
                     if c.path == current), "")

    def edit(self, text: str, target: str, previous: List[str]) -> str:
        return edit_conda(text, target, previous)

    def parse(self, path: str, text: str) -> None:
        miniyaml.loads(text)

    def would_be(self, path: str, text: str) -> Optional[str]:
        loc = location.locate(self.environ, overrides={path: text})
        configured = [c.path for c in loc.caches if c.configured]
        return configured[0] if configured else None

    def refuse_move(self, current: str) -> None:
        users = symlinked_users(current, self.environ)
        if users:
            raise Refused(f"environments use {current} through symlinks and would break "
                          f"if it moved: {', '.join(users)}")


def edit_conda(text: str, target: str, previous: List[str]) -> str:
    """Put ``target`` first in ``pkgs_dirs``; with no list yet, the caches in use follow."""
    if text and not text.endswith("\n"):
        text += "\n"
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        match = re.match(r"(pkgs_dirs\s*:)(\s*#!final)?\s*(\[.*\])?\s*(#.*)?$",
                         line.rstrip("\n"))
        if not match:
            continue
        if match.group(3):  # a flow list: pkgs_dirs: [a, b]
            listed: List[str] = miniyaml.loads("x: " + match.group(3))["x"] or []
            flow = [target] + [x for x in listed if x != target]
            comment = f"  {match.group(4)}" if match.group(4) else ""
            lines[i] = (f"{match.group(1)}{match.group(2) or ''} "
                        f"[{', '.join(_yaml_str(x) for x in flow)}]{comment}\n")
            return "".join(lines)
        block = i + 1  # the list's own lines: items, blank lines, comments
        while block < len(lines) and (re.match(r"\s*(-\s|-$|#|$)", lines[block]) or (
                lines[block][:1] in " \t" and lines[block].strip())):
            block += 1
        items = lines[i + 1:block]
        first = next((x for x in items if re.match(r"\s*-", x)), "  - x")
        dash = re.match(r"(\s*)-", first)
        indent = dash.group(1) if dash else "  "
        items = [x for x in items if not (re.match(r"\s*-\s", x) and
                 x.split("-", 1)[1].split("#")[0].strip().strip("'\"") == target)]
        lines[i + 1:block] = [f"{indent}- {_yaml_str(target)}\n"] + items
        return "".join(lines)
    return text + "pkgs_dirs:\n" + "".join(f"  - {_yaml_str(p)}\n" for p in
                                          [target] + [p for p in previous if p != target])


def _yaml_str(path: str) -> str:
    return path if re.match(r"^[\w./~-]+$", path) else json.dumps(path)


def symlinked_users(cache: str, environ: Mapping[str, str]) -> List[str]:
    """Environments that use packages of a conda cache through symlinks (a move breaks them)."""
    from ..conda_format import read_usage
    from .cache import list_cache

    loc = location.locate(environ)
    usage = read_usage(e.path for e in loc.envs)
    listing = list_cache(os.path.realpath(cache))
    envs = set()
    for entry in listing.of("package"):
        for reason in usage.reasons(listing.root, entry.rel):
            if reason.endswith("(symlink)") or "link type not recorded" in reason:
                envs.add(reason.split(" (", 1)[0].replace("used by ", ""))
    return sorted(envs)

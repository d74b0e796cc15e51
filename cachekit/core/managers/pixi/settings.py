"""``relocate`` for pixi: ``root`` in the ``[cache]`` table of the user's ``config.toml``.

The file is the one ``pixi config set --global`` writes (``crates/pixi_cli/src/config.rs``):
the first of pixi's user files that exists (``$XDG_CONFIG_HOME/pixi/config.toml``, then
``$PIXI_HOME/config.toml``), else ``$PIXI_HOME/config.toml``. It is edited as text
(comments and everything else stay), read back as pixi reads it, and tried before
anything is written, so a setting of higher precedence (``PIXI_CACHE_DIR``, a later file)
is found first. The cache moves only while no pixi process holds ``pkgs/.cache.lock``.
"""

import json
import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from ... import Refused, tomledit
from ...fs import lock
from ..base import Settings
from . import location

# What pixi keeps under the cache root that holds environments (absolute paths inside)
ROOT_ENVIRONMENTS = ("envs", "cached-envs-v0", "cached-build-tool-envs-v0",
                     "cached-build-envs-v0")
_ROOT = tomledit.key_pattern("root")
_DOTTED = re.compile(r"[\"']?cache[\"']?\s*\.\s*[\"']?root[\"']?\s*=")
_INLINE = tomledit.key_pattern("cache")


def edit_config(text: str, target: str, path: str) -> str:
    """Set ``[cache] root`` (or a ``cache.root`` already written as a dotted key)."""
    lines = text.splitlines(keepends=True)
    entry = f"root = {json.dumps(target)}\n"
    header_at = None
    for found in tomledit.key_lines(text):
        i, bare, table = found.at, found.bare, found.table
        if table == "" and _DOTTED.match(bare):
            lines[i] = f"cache.{entry}"
            return "".join(lines)
        if table == "" and _INLINE.match(bare):
            raise Refused(f"{path}: cache is an inline table there; set its root by hand")
        if table == "cache" and found.header:
            header_at = i
        elif table == "cache" and _ROOT.match(bare):
            lines[i] = entry
            return "".join(lines)
    if header_at is not None:
        lines.insert(header_at + 1, entry)
        return "".join(lines)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(lines) + ("\n" if lines else "") + "[cache]\n" + entry


def user_config_file(environ: Dict[str, str]) -> str:
    users = location.config_files(environ)[1:]
    return next((f for f in users if os.path.isfile(f)), users[-1])


class PixiSettings(Settings):
    """Where pixi's cache root is configured, and how ``relocate`` changes it."""

    def config_file(self) -> str:
        return user_config_file(self.environ)

    def _locate(self, texts: Optional[Dict[str, str]] = None) -> location.PixiLocation:
        try:
            return location.locate(self.environ, texts)
        except location.PixiConfigError as exc:
            raise Refused(str(exc)) from None

    def current(self) -> Tuple[Optional[str], List[str]]:
        return self._locate().path, []

    def source(self, current: str) -> str:
        return self._locate().source

    def edit(self, text: str, target: str, previous: List[str]) -> str:
        return edit_config(text, target, self.config_file())

    def parse(self, path: str, text: str) -> None:
        location.layer([path], self.environ, {path: text})

    def would_be(self, path: str, text: str) -> Optional[str]:
        return self._locate({path: text}).path

    def warnings(self) -> List[str]:
        loc = self._locate()
        if loc.path and not (loc.pkgs + "/").startswith(loc.path.rstrip("/") + "/"):
            return [f"pixi's package cache stays at {loc.pkgs} ({loc.pkgs_source}): it does "
                    "not follow the cache root"]
        return []

    def refuse_move(self, current: str) -> None:
        """Environments kept in the cache root (detached projects' ``envs/``, the cached
        environments of ``pixi exec`` and of build tools) keep absolute paths, and
        environments that use its packages through symlinks would break: refused."""
        from .. import conda_format
        from .cache import list_cache
        from .record import environments

        for sub in ROOT_ENVIRONMENTS:
            try:
                held = os.listdir(os.path.join(current, sub))
            except OSError:
                continue
            if held:
                raise Refused(f"{os.path.join(current, sub)} holds {len(held)} environments "
                              "that would break if moved (they keep absolute paths); "
                              "relocate without --move, or remove them first")
        loc = self._locate()
        if not os.path.isdir(loc.pkgs):
            return
        usage = conda_format.read_usage(environments(loc, self.environ).envs)
        listing = list_cache(os.path.realpath(loc.pkgs))
        broken = sorted({reason.split(" (", 1)[0].replace("used by ", "")
                         for e in listing.of("package")
                         for reason in usage.reasons(listing.root, e.rel, rattler=True)
                         if reason.endswith("(symlink)") or "not recorded" in reason})
        if broken:
            raise Refused(f"{', '.join(broken)} use packages of {loc.pkgs} through symlinks: "
                          "moving the cache would break them; move without --move, or "
                          "reinstall them after")

    def move(self, source: str, target: str, move: Callable[[str, str], Dict[str, Any]]
             ) -> Dict[str, Any]:
        """Move the cache root holding rattler's cache lock: never while pixi installs."""
        pkgs = os.path.join(source, "pkgs")
        if not os.path.isdir(pkgs):
            return move(source, target)
        with lock.held_or_refused(os.path.join(pkgs, ".cache.lock"),
                                  f"the pixi cache {source} is in use by a pixi process; "
                                  "try later"):
            return move(source, target)

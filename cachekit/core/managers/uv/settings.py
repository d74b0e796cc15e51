"""``relocate`` for uv: ``cache-dir`` at the top of the user's ``uv.toml``.

The file is edited as text (comments and everything else stay), checked to parse as uv
would read it, and tried in a scratch config home before anything is written, so a
setting of higher precedence (``UV_CACHE_DIR``) is found first. uv holds a lock on its
cache: the cache moves only while no uv process uses it.
"""

import os
from typing import Any, Callable, Dict, List, Mapping

from ... import env, tomledit
from ...fs import lock
from ..base import ScratchTriedSettings
from . import location as uv_location


def config_file(environ: Mapping[str, str]) -> str:
    """The user's ``uv.toml`` (``$XDG_CONFIG_HOME/uv/uv.toml`` or ``~/.config/uv/uv.toml``)."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    home = env.home(environ)
    return os.path.join(xdg if xdg.startswith("/") else os.path.join(home, ".config"),
                        "uv", "uv.toml")


def edit_uv(text: str, target: str) -> str:
    """Set the top-level ``cache-dir`` (before any table)."""
    return tomledit.set_top_level(text, "cache-dir", target)


class UvSettings(ScratchTriedSettings):
    """Where uv's cache is configured, and how ``relocate`` changes it."""

    def config_file(self) -> str:
        return config_file(self.environ)

    relpath = "uv/uv.toml"
    config_errors = (uv_location.UvConfigError,)

    def locate(self, environ: Dict[str, str]) -> Any:
        return uv_location.locate(environ)

    def edit(self, text: str, target: str, previous: List[str]) -> str:
        return edit_uv(text, target)

    def parse(self, path: str, text: str) -> None:
        """A TOML file (our own reader's checks on a Python older than 3.11)."""
        try:
            import tomllib  # novermin: 3.11+, guarded
        except ImportError:  # older hosts: our own reader's checks only
            uv_location.cache_dir_setting_text(text, path)
        else:
            tomllib.loads(text)

    def move(self, source: str, target: str, move: Callable[[str, str], Dict[str, Any]]
             ) -> Dict[str, Any]:
        """Move the cache holding uv's exclusive lock: never while a uv process uses it."""
        with lock.held_or_refused(os.path.join(source, ".lock"),
                                  f"the uv cache {source} is in use by a uv process; try later"):
            return move(source, target)

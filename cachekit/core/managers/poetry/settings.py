"""``relocate`` for Poetry: ``cache-dir`` at the top of the user's ``config.toml``
(what ``poetry config cache-dir PATH`` writes), edited as text so comments and every
other setting stay; the edited text must parse and point Poetry where it was asked
before anything is written. ``virtualenvs/`` moves with the cache dir: Poetry finds its
environments under the new one (``virtualenvs.path`` defaults to ``{cache-dir}/virtualenvs``).
"""

import os
from typing import Dict, List, Optional, Tuple

from ... import Refused, tomledit
from ..base import Settings
from . import location, place


def edit_config(text: str, target: str) -> str:
    """Set the top-level ``cache-dir`` (before any table): the line is replaced where
    it is, or added at the top."""
    return tomledit.set_top_level(text, "cache-dir", target)


class PoetrySettings(Settings):
    """Where Poetry's cache dir is configured, and how ``relocate`` changes it."""

    def config_file(self) -> str:
        return place.config_file(self.environ)

    def current(self) -> Tuple[Optional[str], List[str]]:
        try:
            return location.locate(self.environ).path, []
        except location.PoetryConfigError as exc:
            raise Refused(str(exc)) from None

    def source(self, current: str) -> str:
        return location.locate(self.environ).source

    def edit(self, text: str, target: str, previous: List[str]) -> str:
        return edit_config(text, target)

    def parse(self, path: str, text: str) -> None:
        location.parse(text, path)

    def would_be(self, path: str, text: str) -> Optional[str]:
        try:
            setting = location.cache_dir_setting(location.parse(text, path), path)
        except location.PoetryConfigError as exc:
            raise Refused(f"{path}: would not load after the edit ({exc}); nothing "
                          "changed") from None
        if self.environ.get("POETRY_CACHE_DIR") is not None:
            return location.locate(self.environ).path
        env: Dict[str, str] = dict(self.environ)
        if setting is None:
            return place.default_cache(env)[0]
        return location.absolute(setting, env)

    def refuse_move(self, current: str) -> None:
        """Environments keep absolute paths (scripts, ``pyvenv.cfg``) and editable
        installs point into ``src/``: a cache dir holding either is never moved."""
        for sub, what in (("virtualenvs", "environments"), ("src", "git checkouts")):
            try:
                held = sorted(os.listdir(os.path.join(current, sub)))
            except OSError:
                continue
            if held:
                raise Refused(f"{os.path.join(current, sub)} holds {len(held)} {what} that "
                              "would break if moved (they keep absolute paths); relocate "
                              "without --move, or remove them first (`poetry env remove`)")

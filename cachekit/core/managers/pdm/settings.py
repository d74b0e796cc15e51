"""``relocate`` for PDM: ``cache_dir`` at the top of the user's ``config.toml``.

The file is the one ``pdm config --global`` writes (``PDM_CONFIG_FILE``, else
``~/.config/pdm/config.toml``). It is edited as text (comments and everything else stay),
read back as TOML, and tried as PDM would read it before anything is written, so
``PDM_CACHE_DIR`` (which wins over the file) is found first.
"""

import os
import tempfile
from typing import Dict, List, Optional, Tuple

from ... import Refused, minitoml, tomledit
from ..base import Settings
from . import location


def edit_config(text: str, target: str) -> str:
    """Set the top-level ``cache_dir`` (before any table), everything else as it was."""
    return tomledit.set_top_level(text, "cache_dir", target)


class PdmSettings(Settings):
    """Where PDM's cache is configured, and how ``relocate`` changes it."""

    def config_file(self) -> str:
        return location.user_config_file(self.environ)

    def _locate(self, environ: Dict[str, str]) -> location.PdmLocation:
        try:
            return location.locate(environ)
        except location.PdmConfigError as exc:
            raise Refused(str(exc)) from None

    def current(self) -> Tuple[Optional[str], List[str]]:
        return self._locate(self.environ).path, []

    def source(self, current: str) -> str:
        return self._locate(self.environ).source

    def edit(self, text: str, target: str, previous: List[str]) -> str:
        return edit_config(text, target)

    def parse(self, path: str, text: str) -> None:
        minitoml.loads(text, path)

    def refuse_move(self, current: str) -> None:
        """Installations made with ``install.cache = true`` are symlinks into
        ``packages/``: moving the cache would break every one of them."""
        from .cache import package_names, package_users

        used = [(name, users) for name in package_names(current)
                for users in [package_users(current, f"packages/{name}")] if users]
        if used:
            name, users = used[0]
            raise Refused(f"{len(used)} package(s) of the PDM cache {current} are linked into "
                          f"installations (e.g. {name}, by {users[0]}): moving it would break "
                          "them; relocate without --move (PDM unpacks anew into the new "
                          "cache), then remove the old one once nothing uses it")

    def would_be(self, path: str, text: str) -> Optional[str]:
        """The cache PDM would use with ``text`` as its user config (tried in a scratch
        file named by ``PDM_CONFIG_FILE``, which is where PDM looks first)."""
        with tempfile.TemporaryDirectory(prefix="cachekit-relocate-") as scratch:
            tried = os.path.join(scratch, "config.toml")
            with open(tried, "w", encoding="utf-8") as fh:
                fh.write(text)
            try:
                return location.locate(dict(self.environ, PDM_CONFIG_FILE=tried)).path
            except location.PdmConfigError as exc:
                raise Refused(f"{path}: would not load after the edit ({exc}); nothing "
                              "changed") from None

"""Where pixi leaves signs of itself: all ``present()`` needs, a few ``stat`` calls.

Alone in its module: every host of a fleet asks whether pixi is there, and the answer
needs none of the rest.
"""

import os
from typing import Mapping

from ... import env


def signs(environ: Mapping[str, str]) -> bool:
    """A ``PIXI_*``/``RATTLER_*`` variable, pixi's home (``~/.pixi``), one of its config
    files, or one of its default cache roots."""
    if any(k.startswith(("PIXI_", "RATTLER_")) for k in environ):
        return True
    home = env.home(environ)
    config = environ.get("XDG_CONFIG_HOME", "")
    cache = environ.get("XDG_CACHE_HOME", "")
    config = config if config.startswith("/") else os.path.join(home, ".config")
    cache = cache if cache.startswith("/") else os.path.join(home, ".cache")
    places = (os.path.join(home, ".pixi"), "/etc/pixi/config.toml",
              os.path.join(config, "pixi", "config.toml"), os.path.join(cache, ".pixi"),
              os.path.join(cache, "rattler", "cache"),
              os.path.join(home, "Library", "Caches", "rattler", "cache"))
    return any(os.path.exists(p) for p in places)

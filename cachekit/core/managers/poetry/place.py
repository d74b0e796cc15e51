"""Where Poetry's config directory and default cache are, from the environment alone.

Alone in its module: every host asks it (is Poetry here?), and the answer needs no TOML.
As Poetry 2.5 decides them (``poetry/locations.py``, platformdirs): the config directory
is ``POETRY_CONFIG_DIR`` when set and not empty, else ``$XDG_CONFIG_HOME/pypoetry`` (an
absolute value only), else ``~/.config/pypoetry`` (macOS: ``~/Library/Application
Support/pypoetry``); the default cache is ``$XDG_CACHE_HOME/pypoetry`` (absolute only),
else ``~/.cache/pypoetry`` (macOS: ``~/Library/Caches/pypoetry``).
"""

import os
import sys
from typing import Mapping, Tuple

from ... import env

APP = "pypoetry"


def _xdg(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    return value if value.startswith("/") else ""  # platformdirs ignores a relative one


def config_dir(environ: Mapping[str, str], platform: str = sys.platform) -> str:
    if environ.get("POETRY_CONFIG_DIR"):
        return environ["POETRY_CONFIG_DIR"]
    xdg = _xdg(environ, "XDG_CONFIG_HOME")
    if xdg:
        return os.path.join(xdg, APP)
    if platform == "darwin":
        return os.path.join(env.home(environ), "Library", "Application Support", APP)
    return os.path.join(env.home(environ), ".config", APP)


def config_file(environ: Mapping[str, str]) -> str:
    """Poetry's user ``config.toml`` (``poetry config`` writes it)."""
    return os.path.join(config_dir(environ), "config.toml")


def default_cache(environ: Mapping[str, str], platform: str = sys.platform
                  ) -> Tuple[str, str]:
    """Poetry's built-in cache dir and how it was derived."""
    xdg = _xdg(environ, "XDG_CACHE_HOME")
    if xdg:
        return os.path.join(xdg, APP), "XDG_CACHE_HOME"
    if platform == "darwin":
        return (os.path.join(env.home(environ), "Library", "Caches", APP),
                "default: ~/Library/Caches/pypoetry")
    return os.path.join(env.home(environ), ".cache", APP), "default: ~/.cache/pypoetry"


def signs(environ: Mapping[str, str]) -> bool:
    """Poetry is in use here: its variables are set, its config file or cache dir exists
    (a few stat calls, nothing read)."""
    if environ.get("POETRY_CACHE_DIR") is not None or environ.get("POETRY_CONFIG_DIR"):
        return True
    return (os.path.isfile(config_file(environ))
            or os.path.isdir(default_cache(environ)[0]))

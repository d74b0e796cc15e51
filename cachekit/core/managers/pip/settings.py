"""pip's cache settings: every place that can set the cache (``locations``), and pointing
pip at another cache by editing the user's ``pip.conf`` (``relocate``)."""

import os
import re
from typing import Any, Dict, List, Mapping

from ... import env
from ..base import ScratchTriedSettings
from . import location as pip_location


def location_record(environ: Mapping[str, str]) -> Dict[str, Any]:
    """The cache in effect, every source that could set it (the winner marked), traps."""
    from ...traps import location_record as record
    from ...traps import source, var_trap

    rec, loc = record("pip", environ, pip_location.locate, pip_location.PipConfigError,
                      ("PIP_NO_CACHE_DIR", "PIP_CACHE_DIR"),
                      lambda var, won: won in (f"environment variable {var}",
                                               f"disabled by environment variable {var}"))
    if loc is None:
        return rec
    sources = rec["sources"]
    for path, section, value in pip_location.cache_dir_settings(environ):
        where = f"{path} [{section}] cache-dir"
        ignored = section not in ("cache", "global")
        note = "ignored by pip cache (only [global] and [cache] count)" if ignored else ""
        sources.append(source("cache-dir", value, where, loc.source == where, note))
        if ignored:
            rec["traps"].append(f"{where} = {value} is ignored by `pip cache`; pip keeps "
                                f"its cache in {loc.path}")
    default, how = pip_location.default_cache_dir(environ)
    sources.append(source("default", default, how, loc.source == how))
    if loc.source.startswith("environment variable PIP_CACHE_DIR"):
        var_trap(rec, "PIP_CACHE_DIR", environ, pip_location.locate,
                 pip_location.PipConfigError)
    return rec


def _xdg_config(environ: Mapping[str, str]) -> str:
    xdg = environ.get("XDG_CONFIG_HOME", "")
    home = env.home(environ)
    return xdg if xdg.startswith("/") else os.path.join(home, ".config")


def edit_pip(text: str, target: str) -> str:
    """Set ``cache-dir`` in ``[global]``; everything else stays, comments included."""
    if text and not text.endswith("\n"):
        text += "\n"
    lines = text.splitlines(keepends=True)
    section, start, end = None, None, len(lines)
    for i, line in enumerate(lines):
        header = re.match(r"\[(.+)\]\s*$", line.strip())  # configparser's: name as written
        if header:
            if section == "global":
                end = i
                break
            section = header.group(1)
            if section == "global":
                start = i
    entry = f"cache-dir = {target}\n"
    if start is None:
        prefix = "" if not text or text.endswith("\n") else "\n"
        return text + prefix + ("\n" if text.strip() else "") + "[global]\n" + entry
    for i in range(start + 1, end):  # an indented line continues a value: not a key
        if re.match(r"(--)?cache[-_]dir\s*[=:]", lines[i], re.I):
            lines[i] = entry
            return "".join(lines)
    lines.insert(start + 1, entry)
    return "".join(lines)


class PipSettings(ScratchTriedSettings):
    def config_file(self) -> str:
        return os.path.join(_xdg_config(self.environ), "pip", "pip.conf")

    relpath = "pip/pip.conf"
    config_errors = (pip_location.PipConfigError,)

    def locate(self, environ: Dict[str, str]) -> Any:
        return pip_location.locate(environ)

    def edit(self, text: str, target: str, previous: List[str]) -> str:
        return edit_pip(text, target)

    def parse(self, path: str, text: str) -> None:
        import configparser

        configparser.RawConfigParser().read_string(text)

    def warnings(self) -> List[str]:
        """``cache-dir`` in sections ``pip cache`` ignores but other pip commands read."""
        return [f"pip: {path} [{section}] cache-dir = {value} still applies to "
                f"`pip {section}`; remove it to use the new cache there"
                for path, section, value in pip_location.cache_dir_settings(self.environ)
                if section not in ("global", "cache")]

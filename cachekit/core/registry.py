"""Which managers cachekit knows, imported only when a host has them.

As pip's ``commands_dict``: a name maps to the module defining its ``MANAGER`` class, and
nothing is imported until it is asked for, because every host of a fleet imports the core
on every run. Adding a manager is one line here and its package.
"""

import importlib
from typing import TYPE_CHECKING, Dict, List, Tuple, Type

from cachekit.core import Refused

if TYPE_CHECKING:
    from cachekit.core.managers.base import Manager

MANAGERS: Dict[str, str] = {
    "pip": "cachekit.core.managers.pip",
    "conda": "cachekit.core.managers.conda",
    "uv": "cachekit.core.managers.uv",
    "toolcache": "cachekit.core.managers.toolcache",
    "pixi": "cachekit.core.managers.pixi",
}


def known() -> Tuple[str, ...]:
    """Every manager's name, in the order hosts report them."""
    return tuple(MANAGERS)


def load(name: str) -> "Type[Manager]":
    """The manager class for ``name``; Refused for a name cachekit does not know."""
    if name not in MANAGERS:
        raise Refused(f"unknown manager {name!r} (known: {', '.join(MANAGERS)})")
    cls: Type[Manager] = importlib.import_module(MANAGERS[name]).MANAGER
    return cls


def load_all(names: List[str]) -> "List[Type[Manager]]":
    return [load(n) for n in names]

"""Which managers cachekit knows, imported only when a host has them.

As pip's ``commands_dict``: a name maps to the module defining its ``MANAGER`` class, and
nothing is imported until it is asked for, because every host of a fleet imports the core
on every run. Adding a manager is one line here and its package. The names are relative
to the core package, so the core runs unchanged under another name (the Ansible
collection embeds it in its module_utils).
"""

import importlib
from typing import TYPE_CHECKING, Dict, List, Tuple, Type

from . import Refused

if TYPE_CHECKING:
    from .managers.base import Manager

MANAGERS: Dict[str, str] = {
    "pip": ".managers.pip",
    "conda": ".managers.conda",
    "uv": ".managers.uv",
    "toolcache": ".managers.toolcache",
    "pixi": ".managers.pixi",
    "poetry": ".managers.poetry",
}


def known() -> Tuple[str, ...]:
    """Every manager's name, in the order hosts report them."""
    return tuple(MANAGERS)


def load(name: str) -> "Type[Manager]":
    """The manager class for ``name``; Refused for a name cachekit does not know."""
    if name not in MANAGERS:
        raise Refused(f"unknown manager {name!r} (known: {', '.join(MANAGERS)})")
    cls: Type[Manager] = importlib.import_module(MANAGERS[name], __package__).MANAGER
    return cls


def load_all(names: List[str]) -> "List[Type[Manager]]":
    return [load(n) for n in names]

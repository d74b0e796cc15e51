"""What the controller shows of each manager, as the managers declare it.

The renderer never imports the core and never names a manager: the tasks hand it this
data, read here from the core's registry (the same code the hosts run, so the two always
agree). Reading a manager's class data imports its package, once, in the controller.
"""

from typing import Dict, List, Sequence, Tuple

from cachekit.core import registry

Column = Tuple[str, str, str]
Note = Tuple[str, str, str]


def serving(op: str) -> List[str]:
    """The managers that serve ``op`` (only conda has ``clean``)."""
    return [name for name in registry.known() if op in registry.load(name).ops]


def info_columns() -> Dict[str, Sequence[Column]]:
    """Each manager's ``info`` columns, in the registry's order."""
    return {name: registry.load(name).info_columns for name in registry.known()}


def info_missing_row() -> List[str]:
    """The managers whose ``info`` shows a row for a cache that does not exist yet."""
    return [name for name in registry.known() if registry.load(name).info_missing_row]


def notes(op: str) -> Dict[str, Sequence[Note]]:
    """The lines each manager's caches add under ``op``'s table."""
    return {name: registry.load(name).notes.get(op, ()) for name in registry.known()}


def order() -> Tuple[str, ...]:
    """Every manager's name in the registry's order: the order pages show them in."""
    return registry.known()

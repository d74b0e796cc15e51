"""Package names as every Python package manager compares them.

One tiny module, so that each manager's hot path can import it without loading anything
else (the core is imported on every host of a fleet on every run).
"""

import re

_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """PEP 503: ``Foo.Bar``, ``foo_bar`` and ``foo-bar`` are one project."""
    return _SEPARATORS.sub("-", name).lower()

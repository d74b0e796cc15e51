"""Import Invoke without loading ``unittest.mock``: a fifth of the program's start-up.

``invoke.context`` imports ``Mock`` at module level only for ``MockContext``, a testing
aid cachekit never uses, and ``unittest.mock`` pulls in asyncio and unittest. While Invoke
is imported here, ``unittest.mock`` is a stand-in whose ``Mock`` imports the real module
when first called; the stand-in is gone as soon as Invoke is in, so a later
``import unittest.mock`` gets the real module. Imported first by ``cachekit.cli`` only:
``invoke TASK`` and the tests import Invoke as usual.
"""

import sys
import types
from typing import Any


def _mock(*args: Any, **kwargs: Any) -> Any:
    from unittest import mock

    return mock.Mock(*args, **kwargs)


def import_invoke() -> None:
    if "invoke" in sys.modules or "unittest.mock" in sys.modules:
        return
    stand_in = types.ModuleType("unittest.mock", "cachekit's stand-in while Invoke is imported")
    stand_in.Mock = _mock  # type: ignore[attr-defined]  # a module built here, at run time
    sys.modules["unittest.mock"] = stand_in
    try:
        import invoke  # noqa: F401
    finally:
        if sys.modules.get("unittest.mock") is stand_in:
            del sys.modules["unittest.mock"]


import_invoke()

"""Import Invoke without loading ``unittest.mock`` or its YAML parser: a third of start-up.

``invoke.context`` imports ``Mock`` at module level only for ``MockContext``, a testing
aid cachekit never uses, and ``unittest.mock`` pulls in asyncio and unittest. ``invoke.util``
imports its vendored PyYAML (14 ms) to read ``invoke.yaml`` config files, which a cachekit
run never has. While Invoke is imported here, both are stand-ins that import the real
module when first called (``Mock(...)``, ``yaml.safe_load(...)``); the stand-ins are gone
from ``sys.modules`` as soon as Invoke is in, so a later import gets the real module.
Imported first by ``cachekit.cli`` only: ``invoke TASK`` and the tests import Invoke as
usual.
"""

import sys
import types
from typing import Any


def _mock(*args: Any, **kwargs: Any) -> Any:
    from unittest import mock

    return mock.Mock(*args, **kwargs)


def _safe_load(*args: Any, **kwargs: Any) -> Any:
    import importlib

    return importlib.import_module("invoke.vendor.yaml").safe_load(*args, **kwargs)


def _stand_in(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name, "cachekit's stand-in while Invoke is imported")
    module.__dict__.update(attributes)
    return module


def import_invoke() -> None:
    stand_ins = {"unittest.mock": _stand_in("unittest.mock", Mock=_mock),
                 "invoke.vendor.yaml": _stand_in("invoke.vendor.yaml", safe_load=_safe_load)}
    if "invoke" in sys.modules or any(name in sys.modules for name in stand_ins):
        return
    sys.modules.update(stand_ins)
    try:
        import invoke  # noqa: F401
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


import_invoke()

"""The user's home as the managers see it: ``HOME`` from the request's environment, else
the process's own (``~``). pip keeps a fallback of its own (the passwd entry, as
platformdirs does; ``managers/pip/location``), and keeps it on purpose."""

import os
from typing import Mapping


def home(environ: Mapping[str, str]) -> str:
    return environ.get("HOME") or os.path.expanduser("~")

"""``dir``, ``info``, ``list``, ``report``: where each manager's caches are, and what is in
them. Nothing is removed."""

from typing import List

from .. import ownership
from ..managers.base import Manager
from ..wire import Run


def serve(run: Run, managers: List[Manager]) -> None:
    for manager in managers:
        caches = ownership.caches_of(run, manager)
        run.result["caches"] += caches
        if run.op == "dir":
            continue
        if run.op == "list":
            run.result["entries"] += manager.entries(caches)
        else:
            manager.measure(caches)

"""``locations``: for each manager, the cache in effect, every source that could set it
(highest precedence first, the winner marked), its file system, and the traps (see
``core/traps`` for the traps every manager shares)."""

import os
from typing import List

from ..managers.base import Manager
from ..wire import Run


def serve(run: Run, managers: List[Manager]) -> None:
    from ..traps import file_system, full_trap

    out = []
    for manager in managers:
        rec = manager.location()
        fs = file_system(rec.get("path"))
        if fs:
            fs.pop("dev", None)
            rec["file_system"] = fs
            trap = full_trap(dict(fs, dev=os.stat(fs["mount"]).st_dev))
            if trap:
                rec["traps"].append(trap)
        out.append(rec)
    run.result["locations"] = out

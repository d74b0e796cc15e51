"""How far long work in the core has got: files and bytes walked so far.

A terminal's progress line (or a controller across SSH) hears of it at most every
``INTERVAL_S``. Walkers report once per finished subtree (see ``fs.fan_out``), never per
file; forked walkers write their figures into a shared page that the reporting process
adds up. With no listener, nothing is counted.
"""

import mmap
import struct
import time
from typing import Any, Callable, Dict, Optional, Tuple

from . import stopping

INTERVAL_S = 0.25
_SLOT = struct.Struct("qq")  # files, bytes of one forked walker

Sink = Callable[[Dict[str, Any]], None]


class Meter:
    """The files and bytes this request's walkers have seen, across forked processes."""

    def __init__(self) -> None:
        self.sink: Optional[Sink] = None
        self.files = 0
        self.bytes = 0
        self._shared: Optional[mmap.mmap] = None
        self._children = 0
        self._slot = 0  # in a forked walker: its slot (1..); 0 in the reporting process
        self._due = 0.0
        self._depth = 0  # requests served inside another keep the outer one's figures

    @property
    def on(self) -> bool:
        """Whether walkers should report (a listener, a forked walker, or a pending stop)."""
        return self.sink is not None or self._slot > 0 or stopping.armed()

    def start(self, sink: Optional[Sink]) -> None:
        self._depth += 1
        if self._depth == 1:
            self.sink, self.files, self.bytes = sink, 0, 0
            self._due = time.monotonic() + INTERVAL_S  # a short run sends nothing

    def stop(self) -> None:
        self._depth = max(0, self._depth - 1)
        if not self._depth:
            self.sink = None

    def add(self, files: int, nbytes: int) -> None:
        self.files += files
        self.bytes += nbytes
        if self._slot:
            if self._shared is not None:
                _SLOT.pack_into(self._shared, self._slot * _SLOT.size, self.files, self.bytes)
            return
        self.tick()

    def tick(self) -> None:
        """Send the figures if a listener waits and ``INTERVAL_S`` has passed; act on a
        Ctrl-C noted while walking (nothing has been removed by a walk)."""
        if self._slot:
            return
        if stopping.requested():
            raise KeyboardInterrupt
        if self.sink is None:
            return
        now = time.monotonic()
        if now < self._due:
            return
        self._due = now + INTERVAL_S
        files, nbytes = self.totals()
        self.sink({"scanned": {"files": files, "bytes": nbytes}})

    def totals(self) -> Tuple[int, int]:
        files, nbytes = self.files, self.bytes
        if self._shared is not None and not self._slot:
            for i in range(1, self._children + 1):
                more_files, more_bytes = _SLOT.unpack_from(self._shared, i * _SLOT.size)
                files += more_files
                nbytes += more_bytes
        return files, nbytes

    # Forked walkers ------------------------------------------------------------------

    def share(self, children: int) -> None:
        """Before forking ``children`` walkers: a page where each keeps its figures."""
        if self.on and not self._slot:
            self._shared = mmap.mmap(-1, (children + 1) * _SLOT.size)
            self._children = children

    def become_child(self, index: int) -> None:
        """In forked walker ``index`` (1..): count from zero into its own slot."""
        if self._shared is not None:
            self._slot, self.files, self.bytes, self.sink = index, 0, 0, None

    def unshare(self) -> None:
        """After the forked walkers: their figures become this process's own."""
        if self._shared is not None and not self._slot:
            self.files, self.bytes = self.totals()
            self._shared.close()
            self._shared, self._children = None, 0


METER = Meter()


def figures(found: Any) -> Tuple[int, int]:
    """Files and bytes in what one walker job returned (a ``walk.Tree``, ``walk.Totals``, or
    any result with integer ``files`` and ``bytes``); (0, 0) when it says neither."""
    files = getattr(found, "files", None)
    nbytes = getattr(found, "bytes", None)
    if isinstance(files, list):  # walk.Tree: records, size second
        return len(files), sum(f[1] for f in files)
    counts = getattr(found, "counts", None)
    if isinstance(counts, dict):  # walk.Totals
        return sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    if isinstance(files, int) and isinstance(nbytes, int):
        return files, nbytes
    return 0, 0

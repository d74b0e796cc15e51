"""The progress line on a terminal's stderr: files scanned, entries removed, hosts done.

One line, redrawn in place at most every ``REDRAW_S`` and erased when the work is done,
so that what follows (the plan, the question, the table) starts on a clean line. There
is none when stderr is not a terminal, or with ``--quiet``: logs and pipes get only the
result. Hosts report from worker threads, hence the lock.
"""

import shutil
import sys
import threading
import time
from typing import IO, Any, Callable, Dict, Optional, Tuple

from cachekit.core.stopping import untouched
from cachekit.protocol import PROGRESS
from cachekit.render import human_bytes
from cachekit.render.document import entries_in

REDRAW_S = 0.2


def wanted(quiet: bool = False, stream: Optional[IO[str]] = None) -> bool:
    stream = stream or sys.stderr
    return not quiet and stream.isatty()


class Board:
    """What every host of one run has reported so far, shown as one line."""

    def __init__(self, hosts: int, stream: Optional[IO[str]] = None) -> None:
        self.stream = stream or sys.stderr
        self.hosts = hosts
        self._lock = threading.Lock()
        self._drawn = False
        self._last = 0.0
        self.begin(hosts)

    def begin(self, hosts: int, planned: Optional[int] = None) -> None:
        """A new run of the core on ``hosts`` hosts; ``planned``: entries it will remove."""
        with self._lock:
            self.hosts, self.planned = hosts, planned
            self.done = self.failed = 0
            self.scanned: Dict[str, Tuple[int, int]] = {}
            self.removed: Dict[str, int] = {}
            self._last = time.monotonic()  # nothing for a run shorter than REDRAW_S

    def event(self, host: str, item: Dict[str, Any]) -> None:
        """One thing a host's core said as it went: a walk's figures, or a removed entry."""
        with self._lock:
            scanned = item.get("scanned")
            if isinstance(scanned, dict):
                self.scanned[host] = (int(scanned.get("files") or 0),
                                      int(scanned.get("bytes") or 0))
            elif "path" in item and not untouched(item):
                # a compact row (a swept subdirectory, a run of pruned entries) counts its own
                self.removed[host] = self.removed.get(host, 0) + entries_in([item])
            self._draw()

    def host_done(self, result: Dict[str, Any]) -> None:
        with self._lock:
            self.done += 1
            self.failed += result.get("status") != "ok"
            self._draw(force=self.hosts > 1)

    def line(self) -> str:
        parts = []
        removing = self.planned is not None and (self.removed or not self.scanned)
        if removing:
            parts.append(f"removed {sum(self.removed.values()):,} of {self.planned:,} entries")
        elif self.scanned:
            files = sum(f for f, _ in self.scanned.values())
            nbytes = sum(b for _, b in self.scanned.values())
            parts.append(f"scanned {files:,} files, {human_bytes(nbytes)}")
        if self.hosts > 1:
            parts.append(f"{self.done}/{self.hosts} hosts done, {self.failed} failed")
        return "cachekit: " + "; ".join(parts) if parts else ""

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < REDRAW_S:
            return
        text = self.line()
        if not text:
            return
        self._last = now
        width = shutil.get_terminal_size((80, 24)).columns - 1  # a wrapped line can't be erased
        self.stream.write("\r" + text[:width] + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def erase(self) -> None:
        """Clear the line, so that the next output starts clean."""
        with self._lock:
            if self._drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._drawn = False


class Stream:
    """Reads a core's stdout as it arrives (over SSH or from a child process) and passes
    each complete ``@`` line to ``on_item``; the result itself is parsed at the end.
    ``stop``, once the run has started, sends that core Ctrl-C and says whether it could
    (a core that applies a plan says its ``pid`` first)."""

    def __init__(self, on_item: Any) -> None:
        self.on_item = on_item
        self.stop: Optional[Callable[[], bool]] = None
        self.pid: Optional[int] = None
        self._pending = b""

    def feed(self, chunk: bytes) -> None:
        import json

        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            if line.startswith(PROGRESS + b"{"):
                try:
                    item = json.loads(line[1:])
                except ValueError:
                    continue
                if isinstance(item, dict) and isinstance(item.get("pid"), int):
                    self.pid = item["pid"]
                elif isinstance(item, dict):
                    self.on_item(item)

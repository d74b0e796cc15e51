"""Run cachekit on a real pseudo-terminal, as a user at a shell would, and press keys.

The program's stdin and stderr are the terminal (so it asks questions and draws its
progress line there), stdout is a pipe (its result, to check). The terminal is the
program's controlling terminal: Ctrl-C typed into it reaches the whole foreground process
group through the kernel's line discipline, exactly as at a shell.
"""

import fcntl
import os
import re
import struct
import subprocess
import termios
import threading
import time
from typing import Dict, List


def _take_terminal() -> None:  # in the child: a new session whose terminal is stdin
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, args: List[str], env: Dict[str, str], stderr_tty: bool = True,
                 columns: int = 100) -> None:
        self.primary, secondary = os.openpty()
        fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        self._screen = bytearray()
        self._out = bytearray()
        self._err_pipe = bytearray()
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            args, env=env, stdin=secondary, stdout=subprocess.PIPE,
            stderr=secondary if stderr_tty else subprocess.PIPE,
            preexec_fn=_take_terminal)  # noqa: PLW1509 - the tests start no threads before
        os.close(secondary)
        self._readers = [threading.Thread(target=self._read_screen, daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stdout, self._out),
                                          daemon=True)]
        if not stderr_tty:
            self._readers.append(threading.Thread(
                target=self._pump, args=(self.proc.stderr, self._err_pipe), daemon=True))
        for t in self._readers:
            t.start()

    def _read_screen(self) -> None:
        while True:
            try:
                chunk = os.read(self.primary, 65536)
            except OSError:  # EIO: every writer has gone
                return
            if not chunk:
                return
            with self._lock:
                self._screen += chunk

    def _pump(self, stream, sink: bytearray) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            with self._lock:
                sink += chunk

    @property
    def screen(self) -> str:
        """Everything written to the terminal so far (stderr, and the echo of our keys)."""
        with self._lock:
            return self._screen.decode("utf-8", "replace")

    def wait_for(self, pattern: str, timeout: float = 120) -> "re.Match[str]":
        """The first match of ``pattern`` on the screen, while the program still runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.screen)
            if found and self.proc.poll() is None:
                return found
            if self.proc.poll() is not None:
                raise AssertionError(f"the program ended before {pattern!r} was seen (or "
                                     f"right after); screen: {self.screen!r}")
            time.sleep(0.01)
        raise AssertionError(f"{pattern!r} not seen within {timeout} s; screen: {self.screen!r}")

    def type(self, keys: str) -> None:
        os.write(self.primary, keys.encode())

    def ctrl_c(self) -> None:
        self.type("\x03")

    def finish(self, timeout: float = 120) -> subprocess.CompletedProcess:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        for t in self._readers[1:]:
            t.join(10)
        time.sleep(0.1)
        os.close(self.primary)
        self._readers[0].join(10)
        err = self.screen if not self._err_pipe else self._err_pipe.decode()
        return subprocess.CompletedProcess(self.proc.args, code, self._out.decode(), err)

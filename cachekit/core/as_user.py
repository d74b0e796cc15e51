"""A part of a request served as another user, in a forked child (``--users``).

The child drops root's privileges for the user's (``setgroups``, ``setgid``, ``setuid``)
before it reads anything of theirs, and takes an environment built from the passwd entry
alone (``environ_for``): the kernel itself then keeps the work inside what the user may
do, so root never follows a symlink a user planted, never removes another user's file and
never creates a file (uv's lock) in a user's home. Results come back over a pipe, and
progress rows as they happen; ``run_all`` runs several children side by side.
"""

import contextlib
import json
import os
import select
import signal
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from . import stopping
from .wire import Progress, Row

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSED_ON = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")  # how text is read, never where caches are
# The standard modules the core imports only when needed: a user cannot read root's
# Python (or root's copy of the core) once the child has become them, so everything is
# imported before the first child forks.
LAZY_STDLIB = ("array", "configparser", "difflib", "fcntl", "fnmatch", "hashlib", "heapq",
               "locale", "mmap", "pickle", "pwd", "shutil", "subprocess", "tarfile",
               "tempfile", "tomllib", "zipfile", "encodings.utf_8_sig", "encodings.latin_1",
               "encodings.ascii")


class Account(NamedTuple):
    name: str
    uid: int
    gid: int
    home: str
    shell: str


def environ_for(account: Account, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment a user's caches are found with: their passwd entry, a sane PATH and
    the locale; never root's (nor the user's login scripts', which root cannot see)."""
    environ = {"HOME": account.home, "USER": account.name, "LOGNAME": account.name,
               "SHELL": account.shell or "/bin/sh",
               "PATH": ROOT_PATH if account.uid == 0 else SAFE_PATH}
    environ.update({k: os.environ[k] for k in PASSED_ON if k in os.environ})
    environ.update(extra or {})
    return environ


def preload() -> None:
    """Import the whole core and the standard modules it imports lazily (``LAZY_STDLIB``),
    while root can still read them."""
    import importlib

    # this package, under whatever name it was embedded (cachekit.core, a collection's copy)
    core = importlib.import_module(__name__.rpartition(".")[0])
    for name in LAZY_STDLIB:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for top in core.__path__:  # a copy on disk; one in memory loads as anyone
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
            package = core.__name__ + folder[len(top):].replace("/", ".")
            for f in sorted(files):
                if f.endswith(".py") and f != "__main__.py":
                    name = package if f == "__init__.py" else f"{package}.{f[:-3]}"
                    with contextlib.suppress(ImportError):
                        importlib.import_module(name)


class Child:
    """One user's forked child as the parent sees it: its pipe, what it sent so far."""

    def __init__(self, account: Account, pid: int, fd: int) -> None:
        self.account, self.pid, self.fd = account, pid, fd
        self.buffered = b""
        self.payload: Optional[Dict[str, Any]] = None

    def outcome(self) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
        """Its result, and (when asked) what its conda environments use."""
        if self.payload is None:
            return ({"status": "failed", "error": f"the run as {self.account.name} ended "
                     "without a result"}, None)
        return self.payload.get("result") or {}, self.payload.get("usage")


# account, request, extra environment, share its conda usage, the others' usage, how many
# children run side by side
Job = Tuple[Account, Dict[str, Any], Dict[str, str], bool, List[Dict[str, Any]], int]


def start(account: Account, request: Dict[str, Any], extra: Dict[str, str], share: bool,
          others: List[Dict[str, Any]], side_by_side: int) -> Child:
    """Fork the child that serves ``request`` as ``account``."""
    reply, send = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become the user, serve, send, leave at once
        code = 1
        try:
            os.close(reply)
            from .fs import forked

            forked.share_cpus(side_by_side)
            code = _child(account, request, extra, send, share, others)
        finally:
            os._exit(code)
    os.close(send)
    return Child(account, pid, reply)


def run_all(jobs: List[Job], progress: Progress, workers: int
            ) -> List[Tuple[Account, Dict[str, Any], Optional[Dict[str, Any]]]]:
    """Each job in its own child, ``workers`` at a time; progress rows are passed on as
    they come (tagged with the user). Ctrl-C noted here is passed on to the children,
    which stop between two entries; no new one starts."""
    pending = list(jobs)
    running: Dict[int, Child] = {}
    done = []
    told = False
    try:
        while pending or running:
            if stopping.requested():
                pending = []
                if not told:
                    told = True
                    for child in running.values():
                        _signal(child.pid)
            while pending and len(running) < max(1, workers):
                child = start(*pending.pop(0))
                running[child.fd] = child
            if not running:
                break
            try:
                ready, _w, _x = select.select(list(running), [], [], 0.25)
            except InterruptedError:
                continue
            for fd in ready:
                child = running[fd]
                chunk = os.read(fd, 1 << 20)
                if chunk:
                    _take(child, chunk, progress)
                    continue
                del running[fd]
                os.close(fd)
                _reap(child.pid)
                done.append((child.account, *child.outcome()))
    finally:  # only after an exception here: the children still running are stopped
        for child in running.values():
            with contextlib.suppress(OSError):
                os.kill(child.pid, signal.SIGKILL)
            _reap(child.pid)
            os.close(child.fd)
    return done


def _take(child: Child, chunk: bytes, progress: Progress) -> None:
    child.buffered += chunk
    while b"\n" in child.buffered:
        line, child.buffered = child.buffered.split(b"\n", 1)
        child.payload = _line(child.account, line, progress) or child.payload


def drop_to(account: Account) -> None:
    """Become ``account``: its groups, then its group, then its uid (the order matters:
    after ``setuid`` the others are no longer allowed)."""
    if account.uid == 0:
        return
    os.setgroups(os.getgrouplist(account.name, account.gid))
    os.setgid(account.gid)
    os.setuid(account.uid)
    if os.geteuid() != account.uid or os.getuid() != account.uid:
        raise OSError(f"could not become {account.name}")


def _child(account: Account, request: Dict[str, Any], extra: Dict[str, str], fd: int,
           share: bool, others: List[Dict[str, Any]]) -> int:
    from . import agent

    def send(kind: str, row: Row) -> None:
        data = (kind + json.dumps(row) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    try:
        drop_to(account)
        os.chdir("/")  # root's working directory may be closed to the user
        os.environ.clear()  # subprocesses (uv) see the user's environment, not root's
        os.environ.update(environ_for(account, extra))
        if others:
            from .managers import conda_format as usage

            usage.OTHERS[:] = [usage.from_wire(u) for u in others]
        result = agent.run(dict(request, users=None, environ={},
                                as_user={"name": account.name, "uid": account.uid}),
                           lambda row: send("P", row))
        payload: Dict[str, Any] = {"result": result}
        if share:
            payload["usage"] = _own_usage()
    except BaseException as exc:  # never back into the caller's code as someone else
        payload = {"result": {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}}
    send("R", payload)
    return 0


def _own_usage() -> Optional[Dict[str, Any]]:
    """What this user's conda environments record (read as this user)."""
    try:
        from .managers import conda_format as usage
        from .managers.conda import location

        loc = location.locate(os.environ)
        return usage.to_wire(usage.read_usage(e.path for e in loc.envs))
    except Exception:  # no conda, or settings that do not read: nothing to share
        return None


def _line(account: Account, line: bytes, progress: Progress) -> Optional[Dict[str, Any]]:
    kind, body = line[:1], line[1:]
    row = json.loads(body.decode())
    if kind == b"R":
        return row if isinstance(row, dict) else None
    if progress is not None and isinstance(row, dict) and "pid" not in row:
        if "path" in row:
            row["user"] = account.name
        progress(row)
    return None


def _signal(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGINT)


def _reap(pid: int) -> None:
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except InterruptedError:
            continue
        except ChildProcessError:
            return

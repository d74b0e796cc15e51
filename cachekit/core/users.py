"""``--users``: every user's caches on a host where the core runs as root.

Users come from the passwd database: root, and every account with a login shell (listed
in ``/etc/shells``, and not ``nologin``, ``false``, ``sync``, ``shutdown`` or ``halt``)
whose home is an existing directory. A user named on the command line is served whatever
their shell, but must exist and have a home.

Each user's part of the request runs in a forked child that has dropped root's
privileges for that user's (``setgroups``, ``setgid``, ``setuid``), with an environment
built from the passwd entry alone (``environ_for``): the kernel itself then keeps the
work inside what the user may do, so root never follows a symlink a user planted, never
removes another user's file and never creates a file (uv's lock) in a user's home. Root's
own part runs in a child too, keeping uid 0. The children's results come back over a
pipe, and progress rows as they happen, and are merged into one host result whose
records carry ``user`` (``merge``).

Conda: a root-owned shared package cache keeps what any user's environment uses. The
users run first; each child reads its own environments (as that user) and sends back
what they record (``share_usage``), which root's run adds to its own (``usage.OTHERS``).
"""

import contextlib
import json
import os
import select
import signal
import time
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, cast

from cachekit.core import Refused, stopping
from cachekit.core.wire import Progress, Request, Result, Row, new_result

NOT_LOGIN = ("nologin", "false", "sync", "shutdown", "halt")
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSED_ON = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")  # how text is read, never where caches are
# Where every user's records, rows and plans are merged into the host's result.
TAGGED = ("caches", "entries", "removed", "plans", "kept", "environments", "locations")
PREFIXED = ("warnings", "policy_notes")
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


def login_shells() -> Optional[List[str]]:
    """``/etc/shells``, or None where the host has none."""
    try:
        with open("/etc/shells", encoding="utf-8", errors="replace") as fh:
            return [line.strip() for line in fh if line.strip().startswith("/")]
    except OSError:
        return None


def is_login(entry: Any, shells: Optional[List[str]]) -> bool:
    """The passwd rule: a login shell and an existing home."""
    shell = entry.pw_shell or "/bin/sh"  # an empty shell field means /bin/sh to login
    if os.path.basename(shell) in NOT_LOGIN or (shells is not None and shell not in shells):
        return False
    return entry.pw_dir not in ("", "/") and os.path.isdir(entry.pw_dir)


def select_accounts(spec: Any) -> List[Account]:
    """The accounts ``spec`` ("all" or a list of names) selects, root first; Refused for a
    name the passwd database does not know."""
    import pwd

    if spec == "all":
        shells = login_shells()
        chosen = [e for e in pwd.getpwall() if e.pw_uid == 0 and e.pw_name == "root"]
        seen = {e.pw_name for e in chosen}
        for e in sorted(pwd.getpwall(), key=lambda e: (e.pw_uid, e.pw_name)):
            if e.pw_name not in seen and e.pw_uid != 0 and is_login(e, shells):
                chosen.append(e)
                seen.add(e.pw_name)
    elif isinstance(spec, list) and spec and all(isinstance(n, str) and n for n in spec):
        chosen = []
        for name in spec:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                raise Refused(f"--users: no user {name!r} in this host's passwd database"
                              ) from None
            if entry not in chosen:
                chosen.append(entry)
    else:
        raise Refused(f"users must be \"all\" or a list of names, not {spec!r}")
    return [Account(e.pw_name, e.pw_uid, e.pw_gid, e.pw_dir, e.pw_shell) for e in chosen]


def environ_for(account: Account, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment a user's caches are found with: their passwd entry, a sane PATH and
    the locale; never root's (nor the user's login scripts', which root cannot see)."""
    environ = {"HOME": account.home, "USER": account.name, "LOGNAME": account.name,
               "SHELL": account.shell or "/bin/sh",
               "PATH": ROOT_PATH if account.uid == 0 else SAFE_PATH}
    environ.update({k: os.environ[k] for k in PASSED_ON if k in os.environ})
    environ.update(extra or {})
    return environ


def serve(request: Dict[str, Any], progress: Progress = None) -> Dict[str, Any]:
    """The agent's ``run`` for a request with ``users``: every selected user's part, each
    in a child as that user, merged into one result."""
    started = time.monotonic()
    op = request.get("op")
    asked: Request = request  # type: ignore[assignment]  # the agent checks it key by key
    result = new_result(op, asked)
    result["users"] = []
    applying = op == "apply" or bool(request.get("apply"))
    deferral = stopping.Deferral(applying)
    if applying and progress is not None:
        progress({"pid": os.getpid()})
    try:
        _serve(request, result, progress)
    except Refused as exc:
        result["status"], result["error"] = "refused", str(exc)
    except (OSError, ValueError) as exc:
        result["status"], result["error"] = "failed", f"{type(exc).__name__}: {exc}"
    except KeyboardInterrupt:
        result["status"], result["error"] = "interrupted", "interrupted (Ctrl-C)"
    finally:
        if deferral.end():
            result["status"], result["error"] = "interrupted", "interrupted (Ctrl-C)"
    result["elapsed_s"] = round(time.monotonic() - started, 3)
    return dict(result)


def preload() -> None:
    """Import the whole core and the standard modules it imports lazily (``LAZY_STDLIB``),
    while root can still read them."""
    import importlib

    import cachekit.core

    for name in LAZY_STDLIB:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for top in cachekit.core.__path__:  # a copy on disk; one in memory loads as anyone
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
            package = "cachekit.core" + folder[len(top):].replace("/", ".")
            for f in sorted(files):
                if f.endswith(".py") and f != "__main__.py":
                    name = package if f == "__init__.py" else f"{package}.{f[:-3]}"
                    with contextlib.suppress(ImportError):
                        importlib.import_module(name)


def _serve(request: Dict[str, Any], result: Result, progress: Progress) -> None:
    op = request.get("op")
    if op == "relocate":
        raise Refused("relocate changes one user's settings: run it as that user, "
                      "without --users")
    if os.geteuid() != 0:
        import pwd

        raise Refused(f"--users needs the core to run as root; it runs as "
                      f"{pwd.getpwuid(os.geteuid()).pw_name} (log in as root, or use become)")
    accounts = select_accounts(request.get("users"))
    preload()
    plans: Dict[str, List[Any]] = {}
    if op == "apply":
        names = {a.name for a in accounts}
        for wire in request.get("plans") or []:
            user = wire.get("user") if isinstance(wire, dict) else None
            if user not in names:
                raise Refused(f"a plan names user {user!r}, which --users does not select; "
                              "plan again")
            plans.setdefault(str(user), []).append({k: v for k, v in wire.items()
                                                    if k != "user"})
        # a user with nothing to apply still runs when root applies conda plans: what
        # that user's environments use now is read again, as at planning
        root_conda = any(a.uid == 0 and any(p.get("manager") == "conda"
                                            for p in plans.get(a.name, []))
                         for a in accounts)
        accounts = [a for a in accounts if a.name in plans or root_conda]
    # root last: its conda run keeps what the users' environments use
    shared: List[Dict[str, Any]] = []
    wants_usage = any(a.uid == 0 for a in accounts) and _conda_asked(request)
    base = {k: v for k, v in request.items() if k not in ("users", "environ", "plans")}

    from cachekit.core.fs.forked import usable_cpus

    side_by_side = min(usable_cpus(), len(accounts))

    def job(account: Account) -> Job:
        mine = dict(base, **({"plans": plans.get(account.name, [])} if op == "apply" else {}))
        if account.uid != 0:  # cachekit_env is the login's (root's) environment only
            return account, mine, {}, wants_usage, [], side_by_side
        return account, mine, dict(request.get("environ") or {}), False, shared, 1

    # the users side by side, each walking with its share of the CPUs; root last
    for account, got, usage in run_all([job(a) for a in accounts if a.uid != 0], progress,
                                       side_by_side):
        if usage:
            shared.append(usage)
        merge(result, account, got)
    for account, got, _usage in run_all([job(a) for a in accounts if a.uid == 0], progress,
                                        1):
        merge(result, account, got)
    # shown in the passwd order (root first), whatever order they ran in
    rank = {a.name: i for i, a in enumerate(accounts)}
    every = cast(Dict[str, Any], result)  # keyed by the names in TAGGED
    for key in ("users", *TAGGED):
        if key in every:
            every[key].sort(key=lambda r: rank.get(r.get("user"), 0))


def _conda_asked(request: Dict[str, Any]) -> bool:
    chosen = request.get("managers")
    plans = request.get("plans") or []
    return (chosen is None and request.get("op") != "apply") or "conda" in (chosen or []) \
        or any(isinstance(p, dict) and p.get("manager") == "conda" for p in plans)


def merge(result: Result, account: Account, got: Dict[str, Any]) -> None:
    """One user's result into the host's: every record tagged with the user."""
    name = account.name
    every = cast(Dict[str, Any], result)  # keyed by the names in TAGGED and PREFIXED
    for key in TAGGED:
        for item in got.get(key) or []:
            if isinstance(item, dict):
                item["user"] = name
                every.setdefault(key, []).append(item)
    for key in PREFIXED:
        for line in got.get(key) or []:
            every.setdefault(key, []).append(f"user {name}: {line}")
    result["dirs_removed"] += got.get("dirs_removed") or []
    result["reclaimed_bytes"] += got.get("reclaimed_bytes") or 0
    if result.get("disk") is None:
        result["disk"] = got.get("disk")
    if "relocation" in got:
        result["relocation"] = got["relocation"]
    status = got.get("status") or "failed"
    result["users"].append({"user": name, "uid": account.uid, "home": account.home,
                            "status": status, "error": got.get("error"),
                            "elapsed_s": got.get("elapsed_s", 0.0)})
    if status == "interrupted":
        result["status"], result["error"] = "interrupted", "interrupted (Ctrl-C)"


# The child --------------------------------------------------------------------------

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
            from cachekit.core.fs import forked

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
    from cachekit.core import agent

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
            from cachekit.core.managers.conda import usage

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
        from cachekit.core.managers.conda import location, usage

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


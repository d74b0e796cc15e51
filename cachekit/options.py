"""The options every fleet task shares, declared once, and the decorator that adds them.

Ten tasks run against a fleet, and each takes ``--hosts``, ``--inventory``, ``--managers``,
``--format``, ``--workers``, ``--timeout``, ``--connect-timeout``,
``--accept-new-host-keys`` and ``--wide``; the destructive ones also ``--dry-run`` and
``--yes``, and those that may run uv ``--uv``. Each option is one ``Option`` below: its
name, type, default and help, written once.

Invoke builds a task's flags from ``inspect.signature`` of its body, which honours
``__signature__``. ``fleet_task`` appends the shared parameters to the body's own, merges
their help into the task's, and at call time gathers their values into one ``Target`` that
it hands to the body (pip's ``general_group``, pyinfra's global arguments). A task body so
declares only its own flags; ``tests/controller/test_options.py`` holds it to that.
"""

import functools
import inspect
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from invoke import task
from invoke.exceptions import Exit

from cachekit import become, fleet, progress, protocol, text
from cachekit._invoke_compat import refuse_invoke_dry
from cachekit.core import KNOWN_MANAGERS
from cachekit.errors import EXIT_INTERRUPTED, CachekitError
from cachekit.inventory import parse_users


@dataclass(frozen=True)
class Option:
    """One shared flag: the parameter Invoke reads, and its help."""

    name: str
    annotation: Any
    default: Any
    help: str

    def parameter(self) -> inspect.Parameter:
        return inspect.Parameter(self.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                 default=self.default, annotation=self.annotation)


FLEET: Tuple[Option, ...] = (
    Option("hosts", str, "local", "host pattern, Ansible style (default: local, this machine)"),
    Option("inventory", Optional[str], None,
           "inventory file or directory (default: inventory/ or $CACHEKIT_INVENTORY)"),
    Option("managers", Optional[str], None,
           f"comma list of {', '.join(KNOWN_MANAGERS)} (default: every one a host has: pip; "
           "conda, uv, pixi and poetry where found; toolcache where RUNNER_TOOL_CACHE or "
           "AGENT_TOOLSDIRECTORY is set)"),
    Option("format", str, "table", "table or json"),
    Option("workers", int, fleet.DEFAULT_WORKERS, "hosts run in parallel"),
    Option("timeout", float, protocol.TIMEOUT_S,
           "seconds one host may take for one run of the core"),
    Option("connect_timeout", float, protocol.CONNECT_TIMEOUT_S,
           "seconds to wait for a host's SSH server"),
    Option("accept_new_host_keys", bool, False,
           "record the key of a host never seen before (OpenSSH's accept-new); a changed key "
           "is still refused"),
    Option("wide", bool, False,
           "show paths whole and tables as wide as they need (default: fit the terminal)"),
    Option("users", Optional[str], None,
           "every user's caches, where the core runs as root: 'all' (root and each account "
           "with a login shell and a home) or NAME[,NAME]; 'none' ignores cachekit_users "
           "(default: the host's cachekit_users, else only the login user's caches)"),
    Option("become", bool, False,
           "run the core as another user through sudo (a host's ansible_become wins)"),
    Option("become_user", Optional[str], None,
           "the user --become runs the core as (default root; a host's ansible_become_user "
           "wins)"),
    Option("ask_become_pass", bool, False,
           "ask once, on the terminal, for the sudo password before any host runs (never "
           "read from the inventory)"),
)
DESTRUCTIVE: Tuple[Option, ...] = (
    Option("dry_run", bool, False, "print exactly what would be removed, remove nothing"),
    Option("yes", bool, False,
           "do not ask for confirmation (needed when stdin is not a terminal)"),
)
UV: Tuple[Option, ...] = (
    Option("uv", Optional[str], None,
           "the uv program to use (PATH, or a name on PATH); default: UV, then PATH, the "
           "running python's environment, ~/.local/bin, ~/.cargo/bin"),
)
SHARED: Tuple[Option, ...] = FLEET + DESTRUCTIVE + UV
HELP: Dict[str, str] = {o.name: o.help for o in SHARED}


def parse_managers(managers: Optional[str]) -> Optional[List[str]]:
    """The chosen managers; None lets each host take every manager it has."""
    if managers is None:
        return None
    chosen = [m.strip() for m in managers.split(",") if m.strip()]
    if not chosen:
        raise CachekitError(f"--managers {managers!r} names no manager",
                            hint=f"choose from {', '.join(KNOWN_MANAGERS)}, or leave it out")
    for m in chosen:
        if m not in KNOWN_MANAGERS:
            raise CachekitError(f"unknown manager {m!r} in --managers",
                                hint=f"choose from {', '.join(KNOWN_MANAGERS)}")
    return chosen


def check_format(fmt: str, allowed: List[str]) -> str:
    if fmt not in allowed:
        raise CachekitError(f"unknown --format {fmt!r}", hint=f"choose from {', '.join(allowed)}")
    return fmt


@dataclass
class Target:
    """The shared options' values: which hosts and managers, how to reach them, how to
    show the result, and (for a destructive task) whether to ask. Filled by ``fleet_task``
    from the flags; a group a task does not take keeps the value that means "off"."""

    hosts: str
    inventory: Optional[str]
    managers: Optional[str]
    format: str
    workers: int
    timeout: float
    connect_timeout: float
    accept_new_host_keys: bool
    wide: bool  # how tables and the plan are shown: paths whole, or fitted to the terminal
    users: Optional[str] = None  # --users: "all", "none" or NAME[,NAME]
    become: bool = False
    become_user: Optional[str] = None
    ask_become_pass: bool = False
    dry_run: bool = False
    yes: bool = False
    uv: Optional[str] = None
    quiet: bool = False  # no progress line (prune --quiet)

    def open(self) -> fleet.Fleet:
        for name in ("timeout", "connect_timeout"):
            if not 0 < getattr(self, name) <= 7 * 86400:  # also refuses nan and inf
                raise CachekitError(f"--{name.replace('_', '-')} must be positive, at most "
                                    f"604800 (a week) (got {getattr(self, name)})")
        settings = protocol.Settings(self.connect_timeout, self.timeout,
                                     self.accept_new_host_keys)
        selected = fleet.select_hosts(self.hosts, self.inventory)
        for host in selected:
            for warning in become.warnings(host):
                print(text.printable(f"cachekit: warning: {warning}"), file=sys.stderr)
        # asked once, before any host runs (and before a plan's question)
        password = become.ask_password() if self.ask_become_pass else None
        escalation = become.Escalation(self.become, self.become_user, password)
        board = progress.Board(len(selected)) if progress.wanted(self.quiet) else None
        return fleet.Fleet(selected, settings, self.workers, board, escalation)

    def request(self, request: Dict[str, Any]) -> Dict[str, Any]:
        users = {} if self.users is None else {"users": parse_users(self.users, "--users")}
        return dict(request, managers=parse_managers(self.managers),
                    **({"uv": self.uv} if self.uv else {}), **users)

    def width(self, stream: Any = None) -> Optional[int]:
        """The columns a table may take on ``stream`` (stdout); None with --wide."""
        return width(self.wide, stream)


def width(wide: bool, stream: Any = None) -> Optional[int]:
    """The columns a table may take on ``stream`` (stdout); None with --wide."""
    return None if wide else text.terminal_width(stream or sys.stdout)


def guard(fn: Callable[..., None]) -> Callable[..., None]:
    """One line on stderr for a CachekitError (exit 1) and for Ctrl-C (exit 130)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            refuse_invoke_dry(args[0] if args else None)
            fn(*args, **kwargs)
        except CachekitError as exc:
            message = text.printable(f"cachekit: error: {CachekitError(exc.message, exc.hint)}")
            raise Exit(message, code=exc.code) from None
        except fleet.Interrupted as exc:
            done = ", ".join(r["host"] for r in exc.finished) or "none"
            raise Exit(f"cachekit: interrupted; hosts finished: {done}; not finished: "
                       f"{', '.join(exc.unfinished)}", code=EXIT_INTERRUPTED) from None
        except KeyboardInterrupt:
            raise Exit("\ncachekit: interrupted", code=EXIT_INTERRUPTED) from None

    return wrapper


def groups(destructive: bool, uv: bool) -> Tuple[Option, ...]:
    """The shared options a fleet task takes."""
    return FLEET + (DESTRUCTIVE if destructive else ()) + (UV if uv else ())


def fleet_task(*, destructive: bool = False, uv: bool = False,
               help: Optional[Dict[str, str]] = None, **task_options: Any) -> Callable[..., Any]:
    """Make ``body(c, target, <its own flags>)`` an Invoke task that also takes the shared
    options (the destructive group and ``--uv`` when asked), their help merged under the
    task's own ``help`` (which may reword one, as ``clean`` does ``--managers``)."""
    shared = groups(destructive, uv)

    def decorate(body: Callable[..., None]) -> Any:
        params = list(inspect.signature(body).parameters.values())
        context, own = params[0], params[2:]
        clash = sorted({p.name for p in own} & {o.name for o in SHARED})
        if clash:
            raise TypeError(f"{body.__name__} redeclares shared options {clash}: "
                            "fleet_task adds them")

        @functools.wraps(body)
        def run(c: Any, *args: Any, **kwargs: Any) -> None:
            target = Target(**{o.name: kwargs.pop(o.name) for o in shared})
            body(c, target, *args, **kwargs)

        # What Invoke reads for the flags (inspect.signature honours __signature__); mypy
        # knows no such attribute on a function, hence the ignore.
        run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [context, *own, *(o.parameter() for o in shared)])
        merged = {**{o.name: o.help for o in shared}, **(help or {})}
        return task(help=merged, auto_shortflags=False, **task_options)(guard(run))

    return decorate


def plain_task(**task_options: Any) -> Callable[..., Any]:
    """A task run against no fleet (``trend``, ``hosts``): its own flags, the same guard."""
    def decorate(body: Callable[..., None]) -> Any:
        return task(auto_shortflags=False, **task_options)(guard(body))

    return decorate


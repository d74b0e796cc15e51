"""The cachekit tasks: parse flags, call the library, print, map errors to exit codes.

The same collection serves ``invoke TASK`` in the repo and the ``cachekit`` program.
Data goes to stdout, narration and warnings to stderr.
"""

import functools
import sys
from typing import Any, Callable, Dict, List, Optional

from invoke import Collection, Context, task
from invoke.exceptions import Exit

from cachekit import fleet, report
from cachekit._invoke_compat import optional_positional
from cachekit.core.agent import KNOWN_MANAGERS
from cachekit.errors import EXIT_BAD_INPUT, CachekitError

COMMON_HELP = {
    "hosts": "host pattern (default: local, this machine)",
    "inventory": "inventory file or directory (default: inventory/ or $CACHEKIT_INVENTORY)",
    "managers": "comma list of pip (default: every manager found)",
    "format": "table or json",
}
DESTRUCTIVE_HELP = {
    "dry_run": "print exactly what would be removed, remove nothing",
    "yes": "do not ask for confirmation (needed when stdin is not a terminal)",
}
PATTERN_HELP = {
    "pattern": "package pattern as pip takes it (glob; NAME or NAME-VERSION); "
               "also matches the normalised project name",
    "downloads": "also select downloaded wheels, sdists and index pages in http-v2 "
                 "(pip itself never does)",
}

def _fail(message: str, hint: Optional[str] = None, code: int = EXIT_BAD_INPUT) -> Exit:
    return Exit(f"cachekit: error: {CachekitError(message, hint)}", code=code)


def _parse_managers(managers: Optional[str]) -> List[str]:
    if not managers:
        return list(KNOWN_MANAGERS)
    chosen = [m.strip() for m in managers.split(",") if m.strip()]
    for m in chosen:
        if m not in KNOWN_MANAGERS:
            raise CachekitError(f"unknown manager {m!r} in --managers",
                                hint=f"choose from {', '.join(KNOWN_MANAGERS)}")
    return chosen


def _check_format(fmt: str, allowed: List[str]) -> str:
    if fmt not in allowed:
        raise CachekitError(f"unknown --format {fmt!r}", hint=f"choose from {', '.join(allowed)}")
    return fmt


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _run(hosts: str, managers: Optional[str], request: Dict[str, Any],
         inventory: Optional[str] = None) -> List[Dict[str, Any]]:
    request = dict(request, managers=_parse_managers(managers))
    return fleet.run(fleet.select_hosts(hosts, inventory), request)


def _finish(command: str, fmt: str, results: List[Dict[str, Any]], render: Callable[[], str],
            dry_run: bool = False) -> None:
    """Print the data (JSON or table), warnings on stderr, and exit with the right code."""
    if fmt == "json":
        print(report.to_json(report.document(command, dry_run, results)))
    else:
        text = render()
        if text:
            print(text)
    for line in report.warnings(results):
        _say(f"cachekit: warning: {line}")
    for line in report.errors(results):
        _say(f"cachekit: error: {line}")
    code = report.exit_code(results)
    if code:
        raise Exit(code=code)


def _guard(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn a CachekitError anywhere below a task into one line on stderr and exit 1."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except CachekitError as exc:
            raise _fail(exc.message, exc.hint, exc.code) from None

    return wrapper


@task(name="dir", help=COMMON_HELP, auto_shortflags=False)
@_guard
def dir_(c: Context, hosts: str = "local", inventory: Optional[str] = None,
        managers: Optional[str] = None, format: str = "table") -> None:
    """Show where each cache is and how that was decided (like `pip cache dir`)."""
    fmt = _check_format(format, ["table", "json"])
    results = _run(hosts, managers, {"op": "dir"}, inventory)
    _finish("dir", fmt, results, lambda: report.render_dir(results))


@task(help=COMMON_HELP, auto_shortflags=False)
@_guard
def info(c: Context, hosts: str = "local", inventory: Optional[str] = None,
         managers: Optional[str] = None, format: str = "table") -> None:
    """Show each cache's location, sizes and counts (like `pip cache info`)."""
    fmt = _check_format(format, ["table", "json"])
    results = _run(hosts, managers, {"op": "info"}, inventory)
    _finish("info", fmt, results, lambda: report.render_info(results))


@optional_positional("pattern", "*")
@task(name="list", positional=["pattern"], auto_shortflags=False,
      help={**COMMON_HELP, **PATTERN_HELP, "format": "table, abspath or json"})
@_guard
def list_(c: Context, pattern: Optional[str] = None, hosts: str = "local",
          inventory: Optional[str] = None, managers: Optional[str] = None,
          format: str = "table", downloads: bool = False) -> None:
    """List cached packages matching PATTERN (like `pip cache list`)."""
    fmt = _check_format("table" if format == "human" else format, ["table", "abspath", "json"])
    results = _run(hosts, managers,
                   {"op": "list", "pattern": pattern or "*", "downloads": downloads}, inventory)
    _finish("list", fmt, results, lambda: report.render_list(results, fmt))


@task(positional=["pattern"], auto_shortflags=False,
      help={**COMMON_HELP, **PATTERN_HELP, **DESTRUCTIVE_HELP})
@_guard
def remove(c: Context, pattern: str, hosts: str = "local", inventory: Optional[str] = None,
           managers: Optional[str] = None, format: str = "table", downloads: bool = False,
           dry_run: bool = False, yes: bool = False) -> None:
    """Remove cached packages matching PATTERN (like `pip cache remove`)."""
    request = {"op": "remove", "pattern": pattern, "downloads": downloads}
    _destroy("remove", request, hosts, inventory, managers, format, dry_run, yes)


@task(help={**COMMON_HELP, **DESTRUCTIVE_HELP}, auto_shortflags=False)
@_guard
def purge(c: Context, hosts: str = "local", inventory: Optional[str] = None,
          managers: Optional[str] = None, format: str = "table", dry_run: bool = False,
          yes: bool = False) -> None:
    """Remove every entry of the chosen caches (like `pip cache purge`)."""
    _destroy("purge", {"op": "purge"}, hosts, inventory, managers, format, dry_run, yes)


def _destroy(command: str, request: Dict[str, Any], hosts: str, inventory: Optional[str],
             managers: Optional[str], format: str, dry_run: bool, yes: bool) -> None:
    """Plan; then, with --yes or a confirmed prompt, apply exactly that plan."""
    fmt = _check_format(format, ["table", "json"])
    interactive = not dry_run and not yes
    if interactive and not sys.stdin.isatty():
        raise CachekitError(f"refusing to {command} without confirmation: stdin is not a terminal",
                            hint="pass --yes to proceed, or --dry-run to see the plan")
    results = _run(hosts, managers, dict(request, apply=yes and not dry_run), inventory)
    if interactive:
        results = _confirm_and_apply(results, hosts, managers, inventory)
        if results is None:
            return
    _finish(command, fmt, results, lambda: report.render_removal(results, dry_run), dry_run)


def _confirm_and_apply(planned: List[Dict[str, Any]], hosts: str, managers: Optional[str],
                       inventory: Optional[str]) -> Optional[List[Dict[str, Any]]]:
    _say(report.render_removal(planned, dry_run=True))
    count = sum(len(h.get("removed", [])) for h in planned)
    if report.exit_code(planned) or not count:
        return planned
    # The question goes to stderr with the plan: stdout carries only the result.
    print(f"Remove these {count} files? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        _say("cachekit: nothing removed")
        return None
    plans = [p for h in planned for p in h.get("plans", [])]
    return _run(hosts, managers, {"op": "apply", "plans": plans}, inventory)


@task(name="report", help=COMMON_HELP, auto_shortflags=False)
@_guard
def report_(c: Context, hosts: str = "local", inventory: Optional[str] = None,
            managers: Optional[str] = None, format: str = "table") -> None:
    """One row per host: cache sizes, reclaimable bytes, disk free, status."""
    fmt = _check_format(format, ["table", "json"])
    results = _run(hosts, managers, {"op": "report"}, inventory)
    _finish("report", fmt, results, lambda: report.render_report(results))


@task(name="hosts", help={k: COMMON_HELP[k] for k in ("hosts", "inventory", "format")},
      auto_shortflags=False)
@_guard
def hosts_(c: Context, hosts: str = "all", inventory: Optional[str] = None,
           format: str = "table") -> None:
    """List the hosts a --hosts pattern selects, with their connection settings."""
    fmt = _check_format(format, ["table", "json"])
    selected = fleet.select_hosts(hosts, inventory)
    if fmt == "json":
        print(report.to_json({"hosts": [report.host_settings(h) for h in selected]}))
    else:
        print(report.render_hosts([report.host_settings(h) for h in selected]))


def collection() -> Collection:
    ns = Collection()
    for t in (dir_, info, list_, remove, purge, report_, hosts_):
        ns.add_task(t)
    ns.configure({"run": {"echo": False}})
    return ns


ns = collection()

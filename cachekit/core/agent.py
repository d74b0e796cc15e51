"""The entry point run on a host: one request in, one versioned JSON-able result out.

A request is a dict: ``op`` (dir, info, list, remove, purge, report, apply), ``managers``,
and the op's options (``pattern``, ``downloads``, ``apply``, ``plans``); with ``users``
each selected user's part is served as that user (``core/users``). Destructive ops
plan first; with ``apply`` true they execute that same plan in the same process. The
``apply`` op executes plans computed earlier (shown to the user and confirmed), after
checking that each still names this host's recognised cache root.

Run as a module (``python3 -m cachekit.core.agent < request.json``) it prints the result as
JSON.
"""

import json
import os
import sys
import time
from typing import Any, Dict, List, Optional

from . import Refused, RootError, env, registry, stopping
from .fs import mounts
from .wire import DESTRUCTIVE, PROGRESS_MARK, Progress, Request, Run, new_result

OPS = ("dir", "info", "list", "remove", "purge", "report", "apply", "clean", "prune",
       "locations", "relocate")
__all__ = ["PROGRESS_MARK", "Refused", "run"]


def run(request: Dict[str, Any], progress: Progress = None) -> Dict[str, Any]:
    """Serve one request; never raises for a problem on this host, reports it instead.

    ``progress`` hears of every file a removal deletes (or keeps) as it happens, so a
    controller whose connection breaks off still knows what was removed; with
    ``request["progress"]`` it also hears how far walks have got (``meter``). Ctrl-C
    ends the run with status ``interrupted`` and what was removed until then.
    """
    if request.get("users"):  # every user's caches, each served as that user
        from . import users

        return users.serve(request, progress)
    started = time.monotonic()
    op = request.get("op")
    asked: Request = request  # type: ignore[assignment]  # checked below, key by key
    result = new_result(op, asked)
    from .meter import METER

    METER.start(progress if request.get("progress") else None)
    applying = op == "apply" or (op == "prune" and bool(request.get("apply")))
    deferral = stopping.Deferral(applying)
    if applying and progress is not None:  # whom a remote controller sends Ctrl-C to
        progress({"pid": os.getpid()})
    try:
        if op not in OPS:
            raise Refused(f"unknown operation {op!r}")
        environ = dict(os.environ)
        environ.update(request.get("environ") or {})
        here = Run(asked, environ, result, progress)
        _serve(here, request)
        result["disk"] = _disk([c.get("path") for c in result["caches"]]
                               + [c.get("path") for c in result.get("locations", [])], environ)
        if op in ("apply", "prune") and result["status"] == "ok" and not stopping.requested():
            from .ops import remeasure  # a prune's caches, measured after it

            remeasure.after_apply(request, result)
    except Refused as exc:
        result["status"], result["error"] = "refused", str(exc)
    except (OSError, ValueError, RecursionError, RootError) as exc:
        # Whatever this host threw at us is a failed host, reported, never a traceback.
        result["status"], result["error"] = "failed", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a malformed request or plan, or a bug: still one result
        result["status"], result["error"] = "failed", f"internal error: {type(exc).__name__}: " \
            f"{exc}"
    except KeyboardInterrupt:
        result["status"], result["error"] = "interrupted", "interrupted (Ctrl-C)"
    finally:
        METER.stop()
        if deferral.end():
            result["status"], result["error"] = "interrupted", "interrupted (Ctrl-C)"
    result["elapsed_s"] = round(time.monotonic() - started, 3)
    return dict(result)


def _serve(here: Run, request: Dict[str, Any]) -> None:
    """Pick the managers, then hand the op to its generic verb (``core/ops``)."""
    op = here.op
    # relocate moves the one cache the user named; every other op defaults to all found
    chosen = request.get("managers") or ([] if op == "relocate" else None)
    names = list(chosen if chosen is not None else default_managers(here, op))
    if op == "apply":  # whatever was planned is applied, if its root may be cleaned
        names += [m for m in (p.get("manager") for p in request.get("plans") or [])
                  if m in registry.known() and m not in names]
    unknown = [m for m in names if m not in registry.known()]
    if unknown:
        raise Refused(f"unknown manager {unknown[0]!r} (known: {', '.join(registry.known())})")
    # Modules only some ops need load only for them: every host imports the core on
    # every run, and a fleet of them shares a controller's CPUs.
    if op == "relocate":
        from .ops import relocate

        relocate.serve(here, [cls(here) for cls in registry.load_all(names)])
        return
    ordered = [n for n in registry.known() if n in names]  # hosts report in one order
    managers = [cls(here) for cls in registry.load_all(ordered)
                if op == "apply" or op in cls.ops]
    if op == "locations":
        from .ops import locations

        locations.serve(here, managers)
    elif op == "prune":
        from .ops import prune, remove

        prune.serve(here, managers)
        remove.check_then_apply(here, managers, op)
    elif op == "apply":
        from .ops import remove

        remove.apply_plans(here, managers)
    elif op in DESTRUCTIVE:
        from .ops import remove

        remove.serve(here, managers)
    else:
        from .ops import measure

        measure.serve(here, managers)


def default_managers(here: Run, op: Optional[str] = None) -> List[str]:
    """The managers this host has (``dir`` and ``locations`` show them all, found or not).

    Looking costs a few stat calls, where loading a manager's code costs milliseconds on
    every host of a fleet.
    """
    every = op in ("dir", "locations")  # where each cache would be, found or not
    return [cls.name for cls in registry.load_all(list(registry.known()))
            if (every and cls.shown_when_absent) or cls(here).present()]


def _disk(paths: List[Optional[str]], environ: Dict[str, str]) -> Optional[Dict[str, int]]:
    """Size and free space of the file system holding the first cache (or the home)."""
    for path in [p for p in paths if p] + [env.home(environ)]:
        while path and not os.path.exists(path):
            parent = os.path.dirname(path)
            path = "" if parent == path else parent
        if path:
            return mounts.disk_usage(path)
    return None


def print_progress(row: Dict[str, Any]) -> None:
    """One line per file as a removal goes, flushed: it outlives a broken connection.

    Entries left because of Ctrl-C go only in the result: they were never removed."""
    if stopping.untouched(row):
        return
    sys.stdout.write(PROGRESS_MARK + json.dumps(row) + "\n")
    sys.stdout.flush()


def main() -> int:
    request = json.loads(sys.stdin.read() or "{}")
    json.dump(run(request, print_progress), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

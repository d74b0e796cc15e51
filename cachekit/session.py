"""One command's run over the fleet: ask the hosts, print, exit; and for a change, plan,
confirm, apply.

Every destructive task (remove, purge, clean, prune, relocate) goes the same way: each
host plans, the plan is shown on stderr and one question asked (``confirm``, unless
--yes), and then each host applies exactly the plan it made, re-checked on the host.
Data goes to stdout, the plan, the question and warnings to stderr. Ctrl-C during the
apply says what went (``removed_before``) and exits 130.
"""

import sys
from typing import Any, Callable, Dict, List, Optional

from invoke.exceptions import Exit

from cachekit import fleet, text
from cachekit.core.stopping import untouched
from cachekit.errors import EXIT_DECLINED, EXIT_INTERRUPTED, CachekitError
from cachekit.options import Target, check_format
from cachekit.render import document, human_bytes, tables

Results = List[Dict[str, Any]]
PerHost = Callable[[fleet.Fleet], Dict[str, Dict[str, Any]]]


def say(line: str) -> None:
    print(text.lines(line), file=sys.stderr)


def query(target: Target, request: Dict[str, Any]) -> Results:
    """Run a request that changes nothing on every selected host."""
    with target.open() as hosts:
        return hosts.run(target.request(request))


def finish(command: str, fmt: str, results: Results, render: Callable[[], str],
           dry_run: bool = False) -> None:
    """Print the data (JSON or table), warnings on stderr, and exit with the right code."""
    if fmt == "json":
        print(document.to_json(document.document(command, dry_run, results)))
    else:
        shown = render()
        if shown:
            print(shown)
    for line in document.warnings(results):
        say(f"cachekit: warning: {line}")
    for line in document.errors(results):
        say(f"cachekit: error: {line}")
    code = document.exit_code(results)
    if code:
        raise Exit(code=code)


def confirmable(command: str, target: Target) -> None:
    """A change needs --yes, --dry-run, or a terminal to ask on."""
    if not target.dry_run and not target.yes and not sys.stdin.isatty():
        raise CachekitError(f"refusing to {command} without confirmation: stdin is not a terminal",
                            hint="pass --yes to proceed, or --dry-run to see the plan")


def ask(question: str, nothing: str) -> None:
    """Ask on the terminal: only yes goes on; no (or nothing) stops with EXIT_DECLINED,
    Ctrl-C with EXIT_INTERRUPTED. The question goes to stderr: stdout is the result's."""
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        raise Exit(f"\ncachekit: interrupted; {nothing}", code=EXIT_INTERRUPTED) from None
    if answer.strip().lower() not in ("y", "yes"):
        raise Exit(f"cachekit: {nothing}", code=EXIT_DECLINED)


def confirm(target: Target, plan: List[str], question: str, nothing: str) -> None:
    """The one confirmation of every change: the plan on stderr, then the question; with
    --yes neither."""
    if target.yes:
        return
    for part in plan:
        say(part)
    ask(question, nothing)


def destroy(command: str, request: Dict[str, Any], target: Target,
            per_host: Optional[PerHost] = None, emit: bool = True) -> Results:
    """Plan on every host; then, with --yes or one confirmation, apply exactly those plans.

    ``per_host`` adds each host's own part of the request (prune: its policy). With
    ``emit`` false the results are returned, not printed (for unattended runs), and
    Ctrl-C during the apply raises ``Stopped`` with what was removed until then.
    """
    fmt = check_format(target.format, ["table", "json"])
    dry_run = target.dry_run
    confirmable(command, target)
    stopped = False
    with target.open() as hosts:
        extra = per_host(hosts) if per_host else None
        planned = hosts.run(target.request(request), extra)
        results = planned
        if not dry_run:
            try:
                results = _confirm_and_apply(hosts, target, planned)
            except fleet.Interrupted as exc:
                results, stopped = removed_before(exc, planned), True
            sizes = {h["host"]: h.get("caches", []) for h in planned}
            for h in results:  # the sizes each host had before the removal
                h["caches_before"] = sizes.get(h["host"], [])
    if stopped:
        if not emit:
            raise Stopped(results)
        finish_stopped(command, fmt, results, target.width())
    if not emit:
        return results
    render = tables.render_prune if command == "prune" else tables.render_removal
    finish(command, fmt, results, lambda: render(results, dry_run, target.width()), dry_run)
    return results


def _confirm_and_apply(hosts: fleet.Fleet, target: Target, planned: Results) -> Results:
    """Apply each host's own plan, on the hosts whose planning succeeded."""
    count = document.planned_entries(planned)
    shown: List[str] = []
    if not target.yes:
        shown.append(tables.render_removal(planned, True, target.width(sys.stderr)))
        if not count:  # nothing to ask about
            say(shown[0])
            return planned
        if len(planned) > 1:  # the totals right above the question, however long the plan
            shown.append(tables.plan_total(planned))
    confirm(target, shown, f"Remove these {count} entries?", "nothing removed")
    per_host = {h["host"]: {"plans": h["plans"]} for h in planned
                if h["status"] == "ok" and h.get("plans")}
    applied = {r["host"]: r for r in hosts.run(target.request({"op": "apply"}), per_host,
                                               planned=count)}
    return [applied.get(h["host"], nothing_to_apply(h)) for h in planned]


def relocate(target: Target, request: Dict[str, Any]) -> Results:
    """relocate's plan, confirmation and apply: the same request again, with ``apply``, on
    the hosts that planned."""
    confirmable("relocate", target)
    with target.open() as selected:
        planned = selected.run(target.request(request))
        ok = [h for h in planned if h["status"] == "ok"]
        if target.dry_run or not ok:
            return planned
        shown = [] if target.yes else [tables.render_relocation(planned, True,
                                                                target.width(sys.stderr))]
        confirm(target, shown, "Apply this relocation?", "nothing changed")
        per_host = {h["host"]: {"apply": True} for h in ok}
        done = {r["host"]: r for r in selected.run(target.request(request), per_host)}
        return [done.get(h["host"], h) for h in planned]


class Stopped(Exception):
    """Ctrl-C stopped an apply; ``results`` say what each host removed until then."""

    def __init__(self, results: Results) -> None:
        super().__init__("interrupted")
        self.results = results


def removed_before(exc: fleet.Interrupted, planned: Results) -> Results:
    """Each host's result after Ctrl-C: finished, stopped part-way, or never started."""
    done = {r["host"]: r for r in exc.finished + exc.partial}
    out = []
    for h in planned:
        r = done.get(h["host"])
        if r is None:
            out.append(nothing_to_apply(h))
            continue
        if r["status"] == "interrupted":
            rows = [x for x in r.get("removed", []) if not untouched(x)]
            gone = [x for x in rows if x.get("ok")]
            freed = r.get("reclaimed_bytes") or sum(x.get("bytes") or 0 for x in gone)
            r = dict(r, removed=rows, reclaimed_bytes=freed, error=(
                f"interrupted (Ctrl-C) after {document.entries_in(gone):,} of "
                f"{document.planned_entries([h]):,} planned entries were removed "
                f"({human_bytes(freed)}); the rest remain"))
        out.append(r)
    return out


def finish_stopped(command: str, fmt: str, results: Results, width: Optional[int] = None,
                   show: bool = True) -> None:
    """After Ctrl-C in an apply: what went (table or JSON), then exit 130."""
    if show and fmt == "json":
        print(document.to_json(document.document(command, False, results)))
    elif show:
        print(tables.render_removal(results, False, width))
    for line in document.warnings(results):
        say(f"cachekit: warning: {line}")
    gone = document.entries_in([r for h in results for r in h.get("removed", []) if r.get("ok")])
    raise Exit(f"cachekit: interrupted; {gone:,} entries were removed before it, the rest "
               "remain (--dry-run shows them)", code=EXIT_INTERRUPTED)


def nothing_to_apply(planned: Dict[str, Any]) -> Dict[str, Any]:
    """A host that failed to plan (or had nothing to remove) keeps its planning result."""
    if planned["status"] != "ok":
        return planned
    return dict(planned, removed=[], dirs_removed=[], reclaimed_bytes=0)

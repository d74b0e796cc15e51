"""The cachekit tasks: each is its own flags, a call into the session, a render, an exit code.

The options every fleet task shares come from ``options.fleet_task``; plan, confirm and
apply from ``session``; tables and the JSON document from ``render``. The same collection
serves ``invoke TASK`` in the repo and the ``cachekit`` program. Data goes to stdout,
narration and warnings to stderr.
"""

import sys
from typing import Any, Dict, List, Optional

from invoke import Collection, Context
from invoke.exceptions import Exit

from cachekit import catalog, fleet, policy_input, runs, session, text
from cachekit._invoke_compat import optional_positional
from cachekit.core import clean_targets
from cachekit.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OVER_THRESHOLD,
    CachekitError,
)
from cachekit.options import (
    HELP,
    Target,
    check_format,
    fleet_task,
    parse_managers,
    plain_task,
    width,
)
from cachekit.render import document, report, tables
from cachekit.render.info import render_info

PATTERN_HELP = {
    "pattern": "package pattern as pip takes it (glob; NAME or NAME-VERSION); "
               "also matches the normalised project name",
    "downloads": "also select downloaded wheels, sdists and index pages in http-v2 "
                 "(pip itself never does)",
}


@fleet_task(name="dir", uv=True)
def dir_(c: Context, target: Target) -> None:
    """Show where each cache is and how that was decided (like `pip cache dir`)."""
    fmt = check_format(target.format, ["table", "json"])
    results = session.query(target, {"op": "dir"})
    session.finish("dir", fmt, results, lambda: tables.render_dir(
        results, target.width(), catalog.notes("dir")))


@fleet_task(uv=True)
def info(c: Context, target: Target) -> None:
    """Show each cache's location, sizes and counts (like `pip cache info`)."""
    fmt = check_format(target.format, ["table", "json"])
    results = session.query(target, {"op": "info"})
    session.finish("info", fmt, results, lambda: render_info(
        results, target.width(), catalog.info_columns(), catalog.info_missing_row(),
        catalog.notes("info")))


@optional_positional("pattern", "*")
@fleet_task(name="list", uv=True, positional=["pattern"],
            help={**PATTERN_HELP, "format": "table, abspath or json"})
def list_(c: Context, target: Target, pattern: Optional[str] = None,
          downloads: bool = False) -> None:
    """List cached packages matching PATTERN (like `pip cache list`)."""
    format = target.format
    fmt = check_format("table" if format == "human" else format, ["table", "abspath", "json"])
    request = {"op": "list", "pattern": pattern or "*", "downloads": downloads}
    results = session.query(target, request)
    exact = fmt == "abspath" and not sys.stdout.isatty()  # names as they are, for scripts
    if exact:
        # sys.stdout is a TextIOWrapper here; typeshed types it as TextIO, without reconfigure
        sys.stdout.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    session.finish("list", fmt, results,
                   lambda: tables.render_list(results, fmt, target.width(), escape=not exact))


@fleet_task(destructive=True, uv=True, positional=["pattern"], help=PATTERN_HELP)
def remove(c: Context, target: Target, pattern: str, downloads: bool = False) -> None:
    """Remove cached packages matching PATTERN (like `pip cache remove`)."""
    request = {"op": "remove", "pattern": pattern, "downloads": downloads}
    session.destroy("remove", request, target)


@fleet_task(destructive=True, uv=True)
def purge(c: Context, target: Target) -> None:
    """Remove every entry of the chosen caches (like `pip cache purge`)."""
    session.destroy("purge", {"op": "purge"}, target)


CLEAN_HELP = {
    "tarballs": "remove package archives (*.conda, *.tar.bz2) and partial downloads "
                "(*.partial); a hard-linked archive stays",
    "packages": "remove extracted packages that no environment records and that share no "
                "file by hard link (conda would also remove symlinked, copied and meta ones)",
    "index_cache": "remove the index (repodata) cache, PKGS/cache",
    "tempfiles": "remove *.c~ and *.trash files under the conda root; --tempfiles=PATH[,PATH] "
                 "searches those instead (inside a conda root, environment or cache)",
    "logfiles": "remove the log files in PKGS/.logs",
    "all": "all of --tarballs --index-cache --packages --tempfiles --logfiles (as conda -a)",
    "trash": "remove *.mamba_trash and *.conda_trash files and PKGS/.trash (not in --all)",
    "lock": "remove stale lock files of conda and mamba (*.lock in the caches); one a "
            "running process holds stays (not in --all)",
    "force_pkgs_dirs": "remove each writable package cache whole; refused while an "
                       "environment records packages in it",
    "break_environments": "with --force-pkgs-dirs: remove caches that environments use anyway",
}


@fleet_task(destructive=True, optional=["tempfiles"],
            help={**CLEAN_HELP, "managers": "conda, the default and only choice: clean is "
                                            "conda's command, other managers are ignored"})
def clean(c: Context, target: Target, tarballs: bool = False, packages: bool = False,
          index_cache: bool = False, tempfiles: Any = None, logfiles: bool = False,
          all: bool = False, trash: bool = False, lock: bool = False,
          force_pkgs_dirs: bool = False, break_environments: bool = False) -> None:
    """Clean conda/mamba package caches like `conda clean`, never breaking an environment."""
    chosen = {"tarballs": tarballs, "packages": packages, "index_cache": index_cache,
              "tempfiles": tempfiles not in (None, False), "logfiles": logfiles, "all": all,
              "trash": trash, "lock": lock}
    try:
        flags = clean_targets.flags(chosen, force_pkgs_dirs, break_environments,
                                    lambda name: "--" + name.replace("_", "-"))
    except clean_targets.BadValue as exc:
        raise CachekitError(exc.message, hint=exc.hint) from None
    paths = []
    if isinstance(tempfiles, str):
        paths = [p.strip() for p in tempfiles.split(",") if p.strip()]
        if not paths:
            raise CachekitError("--tempfiles= names no path")
    target.managers = ",".join(catalog.serving("clean"))  # conda's command
    request = {"op": "clean", "flags": flags, "tempfile_paths": paths,
               "break_environments": break_environments}
    session.destroy("clean", request, target)


PRUNE_HELP = {
    "older_than": "remove entries last used longer ago than this: 12h, 30d, 2w "
                  "(default: no age limit)",
    "max_size": "keep the host's chosen caches under this size (500MB, 20GB, 1.5GiB), "
                "removing least recently used entries first; measured as info's SIZE; "
                "with --users, each user's caches (default: no size budget)",
    "keep": "never remove this package (name or glob; repeatable; default: none)",
    "min_free": "act only while the cache's file system has less free space than this "
                "(15% or 10GB); alone, remove least recently used until it has "
                "(default: no free-space trigger)",
    "ci": "remove what is cheap to download again (pip downloads, conda archives whose "
          "package stays extracted, and for uv what `uv cache prune --ci` removes); keep "
          "what is expensive to rebuild",
}


UNATTENDED_HELP = {
    "quiet": "print nothing when every host succeeded (cron mails only failures)",
    "log_file": "also append the run's full output, time-stamped, to this file "
                "(default: no log)",
    "history": "append one JSON line per host to this file (default: "
               "$XDG_STATE_HOME/cachekit/history.jsonl); 'off' writes none",
    "lock_file": "the lock that keeps two runs from overlapping (default: "
                 "$XDG_STATE_HOME/cachekit/prune.lock)",
}


@fleet_task(destructive=True, uv=True, iterable=["keep"], help={**PRUNE_HELP, **UNATTENDED_HELP})
def prune(c: Context, target: Target, older_than: Optional[str] = None,
          max_size: Optional[str] = None, keep: Optional[List[str]] = None,
          min_free: Optional[str] = None, ci: bool = False, quiet: bool = False,
          log_file: Optional[str] = None, history: Optional[str] = None,
          lock_file: Optional[str] = None) -> None:
    """Remove cache entries by policy: age, size budget, keep list, free space, CI mode."""
    flags = {"older_than": older_than, "max_size": max_size, "keep": keep or None,
             "min_free": min_free, "ci": ci}
    policy_input.merged_policy(flags, None, "local")  # a malformed flag stops before any host
    target.quiet, dry_run, stopped = quiet, target.dry_run, False
    with runs.run_lock(lock_file or runs.default_lock()):
        try:
            results = session.destroy(
                "prune", {"op": "prune"}, target, emit=False,
                per_host=lambda selected: policy_input.host_policies(flags, selected.hosts))
        except session.Stopped as exc:  # Ctrl-C: what went is recorded and shown all the same
            results, stopped = exc.results, True
    code = EXIT_INTERRUPTED if stopped else document.exit_code(results)
    # the record of what was done: a failure to write it is said after the report
    unwritten = runs.record("prune", results, dry_run, history, log_file,
                            lambda: _prune_log(results, dry_run))
    if quiet and code == 0 and not unwritten:
        return
    if quiet and code:  # a failure under cron: a short summary, mailed
        for h in results:
            session.say(tables.summary_line(h, dry_run))
    fmt = check_format(target.format, ["table", "json"])
    try:
        if stopped:
            session.finish_stopped("prune", fmt, results, target.width(), show=not quiet)
        session.finish("prune", fmt, results, lambda: "" if quiet else
                       tables.render_prune(results, dry_run, target.width()), dry_run)
    finally:
        if unwritten:
            session.say(f"cachekit: error: {unwritten}")
    if unwritten:
        raise Exit(code=EXIT_BAD_INPUT)


def _prune_log(results: List[Dict[str, Any]], dry_run: bool) -> str:
    """What --log-file keeps of a prune: the plan or what went, warnings, errors."""
    lines = [tables.render_prune(results, dry_run)]
    lines += [f"warning: {w}" for w in document.warnings(results)]
    lines += [f"error: {e}" for e in document.errors(results)]
    return "\n".join(lines)


HTML_HELP = ("also write a self-contained HTML page (charts, a sortable table, the JSON "
             "inside) to this file; the terminal table is then left out (default: none)")


@fleet_task(name="report", uv=True,
            help={"format": "table, json, markdown, csv, or any tabulate format",
                  "attribute": "also read downloaded bodies to split the HTTP cache into "
                               "bytes traced to a package and the rest (slower)",
                  "fail_above": "exit 3 and name the hosts whose caches are over SIZE (20GB) "
                                "or over PCT of their disk (80%): for monitoring (default: "
                                "no limit)",
                  "from_ansible": "render what Ansible collected instead of asking hosts: the "
                                  "--tree DIR of `ansible -m cachekit.caches.info`, or a JSON "
                                  "file of registered results (default: ask the hosts)",
                  "html": HTML_HELP})
def report_(c: Context, target: Target, attribute: bool = False,
            fail_above: Optional[str] = None, html: Optional[str] = None,
            from_ansible: Optional[str] = None) -> None:
    """One row per host: cache sizes, reclaimable bytes, disk free, status."""
    fmt = check_format(target.format, report.report_formats())
    threshold = policy_input.parse_threshold(fail_above) if fail_above is not None else None
    if from_ansible is not None:
        from cachekit import from_ansible as ansible_results

        ignored = [flag for flag, given in (("--hosts", target.hosts != "local"),
                                            ("--managers", target.managers is not None),
                                            ("--users", target.users is not None),
                                            ("--attribute", attribute)) if given]
        if ignored:
            raise CachekitError(f"--from-ansible renders what Ansible collected: "
                                f"{', '.join(ignored)} cannot apply to it",
                                hint="give the hosts (the play's pattern), managers and "
                                     "attribute to the cachekit.caches.info task")
        results = ansible_results.read(from_ansible)
    else:
        results = session.query(target, {"op": "report", "attribute": attribute})
    over = document.over_threshold(results, threshold) if threshold else []
    if html:
        from cachekit.render import html as pages

        pages.write(html, pages.report_page(document.document("report", False, results),
                                            catalog.order(), threshold, fail_above,
                                            runs.now_iso()))
    try:
        session.finish("report", fmt, results,
                       lambda: "" if html and fmt == "table" else
                       report.render_report(results, fmt, target.width()))
    finally:
        if over:
            session.say(f"cachekit: over --fail-above {fail_above}: {', '.join(over)}")
    if over:
        raise Exit(code=EXIT_OVER_THRESHOLD)


@fleet_task(name="locations")
def locations_(c: Context, target: Target) -> None:
    """Where each cache is, every setting that could move it, its free space, and traps."""
    fmt = check_format(target.format, ["table", "json"])
    results = session.query(target, {"op": "locations"})
    session.finish("locations", fmt, results,
                   lambda: tables.render_locations(results, target.width()))


@fleet_task(destructive=True, help={
    "managers": "the one manager whose cache moves: pip, conda, uv, pixi, poetry or pdm (required)",
    "to": "the new cache directory, created if missing (required)",
    "dry_run": "print what relocate would change (the setting in each file, and with "
               "--move the content that moves), change nothing",
    "move": "also move the current cache's content there (rename, or copy, verify, remove)",
    "format": "table or json"})
def relocate(c: Context, target: Target, to: str = "", move: bool = False) -> None:
    """Move where a package manager keeps its cache: the setting, and with --move the content."""
    fmt = check_format(target.format, ["table", "json"])
    chosen = parse_managers(target.managers) or []
    if len(chosen) != 1:
        raise CachekitError("relocate moves one manager's cache at a time",
                            hint="give one manager, e.g. --managers pip")
    if not to:
        raise CachekitError("relocate needs --to PATH")
    results = session.relocate(target, {"op": "relocate", "to": to, "move": move})
    session.finish("relocate", fmt, results,
                   lambda: tables.render_relocation(results, target.dry_run, target.width()),
                   target.dry_run)


@plain_task(help={
    "history": "the history file (default: $XDG_STATE_HOME/cachekit/history.jsonl)",
    "threshold": "mark and list the hosts whose caches are over this size, e.g. 20GB "
                 "(default: none)",
    "last": "how many runs the HISTORY sparkline shows",
    "format": "table, markdown or json",
    "html": HTML_HELP})
def trend(c: Context, history: Optional[str] = None, threshold: Optional[str] = None,
          last: int = 20, format: str = "table", html: Optional[str] = None) -> None:
    """Each host's cache size over time, from the runs' history: sparkline, growth per week."""
    fmt = check_format(format, ["table", "markdown", "json"])
    limit = policy_input.parse_size(threshold, "--threshold") if threshold is not None else None
    lines = runs.read(history or runs.default_history())
    rows = runs.trend(lines, last)
    doc = {"hosts": rows, "threshold_bytes": limit,
           "host_totals": runs.host_totals(lines, rows, limit)}
    if html:
        from cachekit.render import html as pages

        pages.write(html, pages.trend_page(doc, runs.host_series(lines), catalog.order(),
                                           runs.now_iso()))
    if fmt == "json":
        print(document.to_json(doc))
    elif not html or fmt != "table":
        print(tables.render_trend(rows, limit, fmt))


@plain_task(name="hosts", help={"inventory": HELP["inventory"], "format": "table or json",
                               "hosts": "host pattern, Ansible style (default: all)",
                               "wide": HELP["wide"]})
def hosts_(c: Context, hosts: str = "all", inventory: Optional[str] = None,
           format: str = "table", wide: bool = False) -> None:
    """List the hosts a --hosts pattern selects, with where and how each is reached."""
    fmt = check_format(format, ["table", "json"])
    selected = fleet.select_hosts(hosts, inventory)
    from cachekit import route  # ssh_config is read only by the tasks that need it

    rows = [document.host_settings(h, route.resolve(h), _inventory_become(h)) for h in selected]
    if fmt == "json":
        print(document.to_json({"hosts": rows}))
    else:
        print(tables.render_hosts(rows, width(wide)))
    for row in rows:
        for line in row["warnings"]:
            session.say(text.printable(f"cachekit: warning: {row['host']}: {line}"))


def _inventory_become(host: Any) -> Any:
    """Whom the inventory says ``host``'s core runs as (``ansible_become*``; --become is a
    run's flag): a ``become.Become``, None, or the ``HostFailure`` its settings make."""
    from cachekit import become, protocol

    try:
        return become.for_host(host, become.Escalation())
    except protocol.HostFailure as exc:
        return exc


def collection() -> Collection:
    ns = Collection()
    for t in (dir_, info, list_, remove, purge, clean, prune, locations_, relocate, report_,
              trend, hosts_):
        ns.add_task(t)
    ns.configure({"run": {"echo": False}})
    return ns


ns = collection()

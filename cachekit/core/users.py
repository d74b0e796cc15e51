"""``--users``: every user's caches on a host where the core runs as root.

Users come from the passwd database: root, and every account with a login shell (listed
in ``/etc/shells``, and not ``nologin``, ``false``, ``sync``, ``shutdown`` or ``halt``)
whose home is an existing directory. A user named on the command line is served whatever
their shell, but must exist.

Each user's part of the request runs in a forked child that has become that user
(``core/as_user``); root's own part runs in a child too, keeping uid 0, with the host's
``cachekit_env``. The children's results are merged into one host result whose records
carry ``user`` (``merge``); each user's status is in ``users``.

Conda: a root-owned shared package cache keeps what any user's environment uses. The
users run first; each child reads its own environments (as that user) and sends back
what they record, which root's run adds to its own (``usage.OTHERS``).
"""

import os
import time
from typing import Any, Dict, List, Optional, cast

from . import Refused, stopping
from .as_user import Account, Job, preload, run_all
from .wire import Progress, Request, Result, new_result

NOT_LOGIN = ("nologin", "false", "sync", "shutdown", "halt")
# Where every user's records, rows and plans are merged into the host's result.
TAGGED = ("caches", "entries", "removed", "plans", "kept", "environments", "locations")
PREFIXED = ("warnings", "policy_notes")


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


def _serve(request: Dict[str, Any], result: Result, progress: Progress) -> None:
    op = request.get("op")
    if op == "relocate":
        raise Refused("relocate changes one user's settings: run it as that user, "
                      "without --users")
    if os.geteuid() != 0:
        from .ownership import name_of

        raise Refused(f"--users needs the core to run as root; it runs as "
                      f"{name_of(os.geteuid())} (log in as root, or use become)")
    accounts = select_accounts(request.get("users"))
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
    if any(a.uid != 0 for a in accounts):  # a child that drops root cannot import later
        preload()
    # root last: its conda run keeps what the users' environments use
    shared: List[Dict[str, Any]] = []
    wants_usage = any(a.uid == 0 for a in accounts) and _conda_asked(request)
    base = {k: v for k, v in request.items() if k not in ("users", "environ", "plans")}

    from .fs.forked import usable_cpus

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
    status = got.get("status") or "failed"
    result["users"].append({"user": name, "uid": account.uid, "home": account.home,
                            "status": status, "error": got.get("error"),
                            "elapsed_s": got.get("elapsed_s", 0.0)})
    if status == "interrupted":
        result["status"], result["error"] = "interrupted", "interrupted (Ctrl-C)"

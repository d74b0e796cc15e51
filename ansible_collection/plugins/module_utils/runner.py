# Copyright: cachekit contributors
# MIT License (see the cachekit repository)
"""What every cachekit module shares: argument types that check sizes, durations and
patterns with cachekit's own messages, the request sent to the core, and the result.

The core is cachekit's own, copied unchanged into ``core_payload`` by the collection's
build; it runs here exactly as it runs on a host cachekit reaches over SSH.
"""

from __future__ import annotations

import importlib

from ansible_collections.cachekit.caches.plugins.module_utils import core_payload

# The core comes from core_payload (one string; see its docstring), imported by name, so
# that AnsiballZ neither parses nor ships a second copy.
core = core_payload.load()
agent = importlib.import_module(core.__name__ + ".agent")
policy_text = importlib.import_module(core.__name__ + ".policy_text")
outcome = importlib.import_module(core.__name__ + ".outcome")
clean_targets = importlib.import_module(core.__name__ + ".clean_targets")
KNOWN_MANAGERS = core.KNOWN_MANAGERS
ROW_LIMIT = 1000  # rows a result lists (plan, removed, the core's); the counts are whole
MAX_REASONS = 5  # a failed task's message names this many problems, then counts the rest


def _checked(parse, flag, what):
    """An argument type: cachekit's parser, its message as the argument's error."""
    def check(value):
        try:
            parse(value, flag)
        except policy_text.BadValue as exc:
            raise ValueError(str(exc)) from None
        return str(value).strip()
    check.__name__ = what  # Ansible's message: "... unable to convert to <what>: <ours>"
    return check


older_than = _checked(policy_text.parse_duration, "older_than", "a duration")
max_size = _checked(policy_text.parse_size, "max_size", "a size")
min_free = _checked(policy_text.parse_min_free, "min_free", "a size or a percentage")


def keep(value):
    """A keep pattern: a package name or glob, never empty."""
    try:
        return policy_text.parse_keep([value], "keep")[0]
    except policy_text.BadValue as exc:
        raise ValueError(str(exc)) from None


def pattern(value):
    """remove's package pattern, as pip takes it; never empty."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("remove needs a pattern (use purge to remove everything)")
    return value.strip()


POLICY_OPTIONS = dict(
    older_than=dict(type=older_than),
    max_size=dict(type=max_size),
    keep=dict(type="list", elements=keep),
    min_free=dict(type=min_free),
    ci=dict(type="bool"),
)


def common_spec(**own):
    """The options every module takes, and the module's own."""
    spec = dict(
        managers=dict(type="list", elements="str", choices=list(KNOWN_MANAGERS)),
        environ=dict(type="dict", default={}),
        uv=dict(type="str"),
    )
    spec.update(own)
    return spec


def request(module, op, **extra):
    """The core's request: the op, its options, and the common ones."""
    params = module.params
    out = dict(op=op, managers=params.get("managers"),
               environ={str(k): str(v) for k, v in (params.get("environ") or {}).items()})
    if params.get("uv"):
        out["uv"] = params["uv"]
    out.update(extra)
    return out


def run(module, req):
    """The core's result for ``req``; a refusal or a failure fails the module with its
    one-line reason (and the result, for the record)."""
    result = agent.run(req)
    if result.get("status") != "ok":
        # an apply stopped part-way (interrupted, a file that would not go) removed what
        # its rows say: changed tells the truth about that too
        gone, count = _first(_path(r) for r in result.get("removed", []) if r.get("ok"))
        module.fail_json(msg=f"cachekit {req['op']}: {result.get('status')}: "
                             f"{result.get('error')}", cachekit=_slim(result), removed=gone,
                         removed_count=count, changed=bool(gone))
    return result


def _path(row):
    return row.get("path") or row.get("entry") or ""


def _line(row):
    """A row as --diff shows it: its path, or for a row standing for many entries (a
    large prune's, whose path is the cache root, which stays) the root and the count."""
    if "entries" in row:
        return f"{_path(row)}: {row['entries']} entries"
    return _path(row)


def _first(items):
    """At most ROW_LIMIT of ``items``, and how many there are in all."""
    items = list(items)
    return items[:ROW_LIMIT], len(items)


def _slim(result):
    """The core's result as the module returns it: its removal rows cut to ROW_LIMIT (the
    count in ``removed_count``), without the plans it hands back to apply (the whole plan,
    file by file: what made a large prune megabytes a host)."""
    out = {k: v for k, v in result.items() if k != "plans"}
    out["removed"], out["removed_count"] = _first(result.get("removed") or [])
    return out


def destroy(module, req):
    """Plan; in check mode stop there (the dry run); else apply exactly that plan, as
    cachekit's own run does after its confirmation. ``changed`` when something went.
    Lists stop at ROW_LIMIT rows, with their full counts beside them."""
    planned = run(module, req)
    plan = [dict(r) for r in planned.get("removed", [])]
    out = dict(planned_bytes=sum(c.get("reclaimable_bytes") or 0
                                 for c in planned.get("caches", [])))
    out["plan"], out["plan_count"] = _first(plan)
    going = [_line(r) for r in plan] + list(planned.get("dirs_removed", []))
    if module.check_mode or not planned.get("plans"):
        # check mode: changed says whether a real run would remove something
        changed = bool(going) and module.check_mode
        out.update(changed=changed, cachekit=_slim(planned), removed=[], removed_count=0,
                   reclaimed_bytes=0)
        done = planned
    else:
        applied = run(module, dict(req, op="apply", plans=planned["plans"]))
        applied["caches_before"] = planned.get("caches", [])
        gone = [r for r in applied.get("removed", []) if r.get("ok")]
        dirs = list(applied.get("dirs_removed", []))
        going = [_line(r) for r in gone] + dirs
        out["removed"], out["removed_count"] = _first(_path(r) for r in gone)
        out["dirs_removed"], out["dirs_removed_count"] = _first(dirs)
        out.update(changed=bool(going), cachekit=_slim(applied),
                   reclaimed_bytes=applied.get("reclaimed_bytes", 0))
        done = applied
    if module._diff and going:
        shown, count = _first(going)
        more = [f"... and {count - len(shown)} more\n"] if count > len(shown) else []
        out["diff"] = dict(before="".join(p + "\n" for p in shown) + "".join(more), after="",
                           before_header=f"cachekit {req['op']}: the paths that go",
                           after_header="after")
    warn(module, done)
    finish(module, req["op"], done, out)


def finish(module, op, result, out):
    """Exit with ``out``; or fail with the one-line reasons when the result holds what
    makes cachekit's own run exit 2 (a cache not served, a removal that failed), keeping
    ``out``: what was removed stays in the result, and ``changed`` says so."""
    problems = outcome.problems(result)
    if problems:
        shown = problems[:MAX_REASONS]
        more = len(problems) - len(shown)
        module.fail_json(msg=f"cachekit {op}: " + "; ".join(shown)
                         + (f"; and {more} more" if more else ""), **out)
    module.exit_json(**out)


def warn(module, result):
    """The result's warnings as Ansible's, one line each, as cachekit prints them."""
    for c in result.get("caches", []):
        for line in c.get("warnings") or []:
            module.warn(f"{c.get('manager')}: {line}")
    for line in result.get("warnings") or []:
        module.warn(str(line))

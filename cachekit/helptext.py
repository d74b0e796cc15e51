"""How a task's option reads in ``--help``: a placeholder for its value and its default.

Invoke names every value ``STRING`` or ``INT`` (a float none at all) and shows no
defaults, so ``--timeout`` looked like a switch and ``list``'s positional PATTERN looked
like ``--pattern=STRING``. The default shown is the task's own default, appended when the
help text does not state it in words, so the help cannot drift from the code.
"""

from typing import Any, Optional, Tuple

# Option name -> what its value is. An option missing here falls back to its kind.
PLACEHOLDERS = {
    "hosts": "PATTERN",
    "users": "all|NAME,...",
    "inventory": "PATH",
    "managers": "LIST",
    "format": "FORMAT",
    "workers": "N",
    "timeout": "SECONDS",
    "connect_timeout": "SECONDS",
    "pattern": "PATTERN",
    "older_than": "AGE",
    "max_size": "SIZE",
    "keep": "PATTERN",
    "min_free": "SIZE|PCT",
    "log_file": "PATH",
    "history": "PATH",
    "lock_file": "PATH",
    "to": "PATH",
    "threshold": "SIZE",
    "last": "N",
    "fail_above": "SIZE|PCT",
    "from_ansible": "PATH",
    "tempfiles": "PATH,...",
    "uv": "PATH",
    "become_user": "USER",
    "html": "FILE",
}
KIND_PLACEHOLDERS = {str: "STRING", int: "N", float: "NUMBER", list: "STRING"}


def placeholder(arg: Any) -> str:
    return PLACEHOLDERS.get(arg.name) or KIND_PLACEHOLDERS.get(arg.kind, "VALUE")


def default_text(arg: Any) -> Optional[str]:
    """The default as a user would type it; None when there is none to show."""
    value = getattr(arg, "fallback", None) if arg.positional else arg.default
    if arg.kind is bool or arg.optional or value in (None, "", []):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def spec(arg: Any) -> str:
    """``--hosts=PATTERN``, ``[PATTERN]`` (an optional positional), ``--tempfiles[=PATH,...]``."""
    if arg.positional:
        name = placeholder(arg)
        return f"[{name}]" if getattr(arg, "fallback", None) is not None else name
    flags = sorted((("-" if len(n) == 1 else "--") + n.replace("_", "-") for n in arg.names),
                   key=len)
    if not arg.takes_value:
        return ", ".join(flags)
    value = placeholder(arg)
    shown = [f"{f} {value}" if len(f) == 2 else f"{f}={value}" for f in flags]
    if arg.optional:
        shown = [f"{f}[={value}]" for f in flags]
    return ", ".join(shown)


def describe(arg: Any) -> Tuple[str, str]:
    """(flag spec, help) for one option of a cachekit task."""
    text = arg.help or ""
    if arg.kind is list and "repeat" not in text:
        text += " (repeatable)"
    default = default_text(arg)
    if default is not None and "default" not in text:
        text += f" (default: {default})"
    return spec(arg), text.strip()

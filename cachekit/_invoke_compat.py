"""Optional positional arguments for Invoke tasks (``cachekit list [PATTERN]``).

Invoke 2.x has none: a positional with a default is never filled, one without is
required, and while one is unfilled any token, ``--help`` included, is taken as its
value. Two small wrappers on Invoke's parser fix that for arguments marked with
``optional_positional``: a token that starts with ``-`` is always treated as a flag,
an unfilled optional positional takes its fallback instead of being an error, and
``TASK --help`` shows help even when a required positional is missing.

The rest fills other gaps of Invoke's parser for a user-facing program: a value that is
not a number (``--timeout abc``) or a missing value is a one-line error naming the flag
instead of a traceback or an ``<Argument ...>`` repr; a task's options read in ``--help``
with placeholders and defaults (``cachekit.helptext``); and Invoke's own ``--dry``/``-R``
cannot pass for a dry run in ``invoke TASK`` (``refuse_invoke_dry``).
"""

from typing import Any, Callable, Tuple

from invoke.exceptions import ParseError
from invoke.parser import ParseMachine, ParserContext

from cachekit import helptext
from cachekit.errors import CachekitError

_handle = ParseMachine.handle
_complete_context = ParseMachine.complete_context
_complete_flag = ParseMachine.complete_flag
_see_value = ParseMachine.see_value
_help_for = ParserContext.help_for
_KIND_WORDS = {int: "a whole number", float: "a number"}


def _handle_flags_first(self: ParseMachine, token: str) -> None:
    ctx = self.context
    if ctx is None or not token.startswith("-") or self.waiting_for_flag_value:
        _handle(self, token)
        return
    positional, ctx.positional_args = ctx.positional_args, []
    try:
        _handle(self, token)
    finally:
        ctx.positional_args = positional


def _complete_with_fallbacks(self: ParseMachine) -> None:
    if self.context:
        help_flag = self.initial.args.get("help") if self.initial else None
        asking_help = bool(help_flag is not None and help_flag.value)
        for arg in self.context.positional_args:
            fallback = getattr(arg, "fallback", None)  # set by tasks.py on optional positionals
            if arg.value is None and fallback is not None:
                arg.value = fallback
            elif arg.value is None and asking_help:
                arg.value = ""  # `remove --help`: show help, the task does not run
    _complete_context(self)


def flag_name(arg: Any) -> str:
    """The flag as a user types it: ``--connect-timeout``."""
    long = [n for n in arg.names if len(n) > 1] or list(arg.names)
    return ("--" if len(long[0]) > 1 else "-") + long[0].replace("_", "-")


def _complete_flag_naming_it(self: ParseMachine) -> None:
    flag = self.flag
    if flag and flag.takes_value and flag.raw_value is None and not flag.optional:
        self.error(f"{flag_name(flag)} needs a value: {helptext.placeholder(flag)}")
    _complete_flag(self)


def _see_value_checked(self: ParseMachine, value: Any) -> None:
    try:
        _see_value(self, value)
    except ValueError:
        flag = self.flag
        kind = _KIND_WORDS.get(getattr(flag, "kind", str), "another value")
        raise ParseError(f"{flag_name(flag)} takes {kind}, not {value!r}", self.context) from None


def _help_for_task_options(self: ParserContext, flag: str) -> Tuple[str, str]:
    if not self.name:  # the program's own options: Invoke's wording
        return _help_for(self, flag)
    return helptext.describe(self.flags[flag])


# Patching Invoke's parser methods in place is the point of this module; mypy forbids
# assigning to a method, hence the ignores below.
ParseMachine.handle = _handle_flags_first  # type: ignore[method-assign]
ParseMachine.complete_context = _complete_with_fallbacks  # type: ignore[method-assign]
ParseMachine.complete_flag = _complete_flag_naming_it  # type: ignore[method-assign]
ParseMachine.see_value = _see_value_checked  # type: ignore[method-assign]
ParserContext.help_for = _help_for_task_options  # type: ignore[method-assign]


def refuse_invoke_dry(c: Any) -> None:
    """Refuse to run when Invoke's ``run.dry`` is set (``invoke TASK --dry`` or ``-R``).

    That option means "echo shell commands instead of running them"; cachekit runs none,
    so a task would go on and delete while the user believed it a dry run.
    """
    config = getattr(c, "config", None)
    run_config = getattr(config, "run", None)
    if run_config is None or not hasattr(run_config, "dry"):
        return
    dry = bool(run_config.dry)
    if dry:
        raise CachekitError("Invoke's --dry/-R (run.dry) is not cachekit's dry run; "
                            "nothing was done", hint="use --dry-run to see the plan")


def optional_positional(name: str, fallback: str) -> Callable[[Any], Any]:
    """Mark positional ``name`` of a task as optional, defaulting to ``fallback``."""

    def decorate(task: Any) -> Any:
        original = task.get_arguments

        def get_arguments(*args: Any, **kwargs: Any) -> Any:
            arguments = original(*args, **kwargs)
            for arg in arguments:
                if arg.name == name:
                    arg.fallback = fallback
            return arguments

        task.get_arguments = get_arguments
        return task

    return decorate

"""Optional positional arguments for Invoke tasks (``cachekit list [PATTERN]``).

Invoke 2.x has none: a positional with a default is never filled, one without is
required, and while one is unfilled any token, ``--help`` included, is taken as its
value. Two small wrappers on Invoke's parser fix that for arguments marked with
``optional_positional``: a token that starts with ``-`` is always treated as a flag,
an unfilled optional positional takes its fallback instead of being an error, and
``TASK --help`` shows help even when a required positional is missing.
"""

from typing import Any, Callable

from invoke.parser import ParseMachine

_handle = ParseMachine.handle
_complete_context = ParseMachine.complete_context


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
            if arg.value is None and getattr(arg, "fallback", None) is not None:
                arg.value = arg.fallback
            elif arg.value is None and asking_help:
                arg.value = ""  # `remove --help`: show help, the task does not run
    _complete_context(self)


ParseMachine.handle = _handle_flags_first  # type: ignore[method-assign]
ParseMachine.complete_context = _complete_with_fallbacks  # type: ignore[method-assign]


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

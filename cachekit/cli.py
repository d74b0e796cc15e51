"""The ``cachekit`` console program: an Invoke Program over the package's task collection.

It takes only its own options (``--help``, ``--version``, ``--list`` and the completion
script). Invoke's execution options (``--dry``, ``-R``, ``--pty``, ``--hide``, ``-e``,
``-w``, ``-T``, ``-f``, ...) are for programs that run shell commands; here ``--dry``
would read as a dry run and delete. One task per run, like ``pip cache`` or ``uv cache``.
A mistyped task or option is a one-line error that names the close matches.
"""

from cachekit import _lean_start  # noqa: F401  (first: it imports Invoke, leanly)

# isort: split
import inspect
import os
import re
import shutil
import sys
import textwrap
from typing import List, Optional, Sequence, Tuple

from invoke import Argument, Program
from invoke.completion.complete import complete, print_completion_script
from invoke.exceptions import Exit, ParseError
from invoke.parser import ParserContext

from cachekit import __version__
from cachekit.helptext import spec as _spec
from cachekit.tasks import ns

PROGRAM = "cachekit"
SUMMARY = "Find, measure and prune pip, conda and uv caches, here or across a fleet over SSH."
# How the program's own options read in --help (Invoke would say STRING).
PROGRAM_OPTIONS = {"help": "-h [TASK], --help[=TASK]", "version": "-V, --version",
                   "list": "-l, --list",
                   "print-completion-script": "--print-completion-script=SHELL"}
# Invoke's flags that users type for a dry run; a task with --dry-run suggests it.
DRY_RUN_LOOKALIKES = ("--dry", "-R")
_UNKNOWN = re.compile(r"^No idea what (.+) is!$")
_MISSING = re.compile(r"^'(.+)' did not receive required positional arguments: (.+)$")


def _error(message: str, hint: Optional[str] = None) -> Exit:
    text = f"{PROGRAM}: error: {message}" + (f" ({hint})" if hint else "")
    return Exit(text, code=1)


def _did_you_mean(word: str, candidates: Sequence[str]) -> Optional[str]:
    """Close matches by name, dashes aside: what the word begins, or what it misspells."""
    import difflib  # only on an error: start-up stays lean

    bare = word.lstrip("-")
    names = {c.lstrip("-"): c for c in sorted(set(candidates))}
    close = [c for n, c in names.items() if len(bare) >= 2 and n.startswith(bare)]
    close += [names[n] for n in difflib.get_close_matches(bare, list(names), n=3, cutoff=0.7)]
    close = list(dict.fromkeys(close))[:3]
    return "did you mean " + " or ".join(close) + "?" if close else None


class CachekitProgram(Program):
    """Invoke's Program with cachekit's options, one task per run, and helpful errors."""

    def core_args(self) -> List[Argument]:
        return [
            Argument(names=("help", "h"), optional=True,
                     help="show this help, or TASK's help, and exit"),
            Argument(names=("version", "V"), kind=bool, default=False,
                     help="show the version and exit"),
            Argument(names=("list", "l"), kind=bool, default=False,
                     help="list the tasks and exit"),
            Argument(names=("print-completion-script",), kind=str, default="",
                     help="print the tab-completion script for SHELL (bash, zsh or fish) "
                          "and exit"),
            # What that script calls for candidates; not for people, so not in --help.
            Argument(names=("complete",), kind=bool, default=False),
        ]

    def task_args(self) -> List[Argument]:
        return []

    def parse_core(self, argv: Optional[List[str]]) -> None:
        self.normalize_argv(argv)
        self.parse_core_args()
        if self.args.version.value:
            self.print_version()
            raise Exit
        shell = self.args["print-completion-script"].value
        if shell:
            print_completion_script(shell=shell, names=self.binary_names)
            raise Exit

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise self._explain(exc) from None
        if len(self.tasks) > 1:
            names = ", ".join(str(t.name) for t in self.tasks)
            raise _error(f"one task at a time, got {names}", "run them one after another")

    def parse_cleanup(self) -> None:
        asked = self.args.help.value
        if asked is True:
            self.print_help()
            raise Exit
        if asked:
            if asked not in self.parser.contexts:
                raise self._unknown_task(asked)
            self.print_task_help(asked)
            raise Exit
        if self.args.list.value:
            self.list_tasks()
            raise Exit
        if self.args.complete.value:
            complete(names=self.binary_names, core=self.core,
                     initial_context=self.initial_context, collection=self.collection,
                     parser=self._make_parser())
        if not self.tasks:
            self.print_help()
            raise Exit

    def update_config(self, merge: bool = True) -> None:
        """No run/sudo/timeout overrides: cachekit runs no shell commands."""
        if merge:
            self.config.merge()

    # Errors -------------------------------------------------------------------------

    def _task_names(self) -> List[str]:
        return list(self.collection.task_names)

    def _unknown_task(self, word: str) -> Exit:
        hint = _did_you_mean(word, self._task_names()) or f"see {PROGRAM} --list"
        return _error(f"no such task {word!r}", hint)

    def _explain(self, exc: ParseError) -> Exit:
        """Invoke's parse error as one line that names the input and suggests the fix."""
        import ast  # only on an error: start-up stays lean

        message = str(exc)
        task = exc.context.name if exc.context is not None else None
        unknown = _UNKNOWN.match(message)
        missing = _MISSING.match(message)
        if unknown:
            word = ast.literal_eval(unknown.group(1))
            if not word.startswith("-"):
                if task:
                    return _error(f"{task} takes no more arguments: {word!r}",
                                  f"see {PROGRAM} {task} --help")
                return self._unknown_task(word)
            return self._unknown_option(word, exc.context)
        if missing:
            names = " ".join(ast.literal_eval(n).upper()
                             for n in missing.group(2).split(", "))
            return _error(f"{missing.group(1)} needs {names}",
                          f"see {PROGRAM} {missing.group(1)} --help")
        where = f"{task}: " if task else ""
        return _error(where + message.rstrip("!"), f"see {PROGRAM} {task or ''} --help"
                      .replace("  ", " "))

    def _unknown_option(self, word: str, context: Optional[ParserContext]) -> Exit:
        flag = word.split("=", 1)[0]
        hint: Optional[str]
        if context is not None and context.name:
            task = context.name
            flags = [f for f in context.flags if not context.flags[f].positional]
            flags += ["--help", "-h"]
            if flag in DRY_RUN_LOOKALIKES and "--dry-run" in flags:
                hint = "did you mean --dry-run?"
            else:
                hint = _did_you_mean(flag, flags) or f"see {PROGRAM} {task} --help"
            return _error(f"no such option {flag} for {task}", hint)
        hint = _did_you_mean(flag, list(self.initial_context.flags))
        if flag in DRY_RUN_LOOKALIKES:
            hint = "did you mean --dry-run after the task's name?"
        if hint is None:  # an option of a task given before the task's name?
            task_flags = {f for c in self.parser.contexts.values() for f in c.flags}
            close = _did_you_mean(flag, sorted(task_flags))
            hint = f"{close[:-1]} after the task's name?" if close else None
        return _error(f"no such option {flag}", hint or f"see {PROGRAM} --help")

    # Help ---------------------------------------------------------------------------

    @staticmethod
    def _width() -> int:
        """The terminal's width (80 when unknown, at most 100: long lines read badly)."""
        return min(shutil.get_terminal_size((80, 24)).columns, 100)

    def _columns(self, rows: Sequence[Tuple[str, Optional[str]]]) -> None:
        """Two columns, the text wrapped to the terminal's width."""
        width = self._width()
        name_width = min(max(len(n) for n, _ in rows), 32)
        text_width = max(width - name_width - 5, 30)
        for name, text in rows:
            lines = textwrap.wrap(text or "", text_width) or [""]
            if len(name) > name_width:
                print(f"  {name}")
            else:
                print(f"  {name.ljust(name_width)}   {lines.pop(0)}".rstrip())
            for line in lines:
                print(" " * (name_width + 5) + line)
        print()

    def print_help(self) -> None:
        print(f"Usage: {PROGRAM} [--help] [--version] [--list] TASK [OPTIONS] [ARGUMENTS]")
        print()
        print(SUMMARY)
        print()
        print("Options:")
        print()
        self._columns([(PROGRAM_OPTIONS[str(a.name)], a.help) for a in self.core_args()
                       if a.help])
        self.list_tasks()
        print(f"Run '{PROGRAM} TASK --help' for a task's options.")

    def list_tasks(self) -> None:
        print("Tasks:")
        print()
        self._columns(self._make_pairs(self.collection))

    def print_task_help(self, name: str) -> None:
        context = self.parser.contexts[name]
        positional = list(context.positional_args)
        options = [t for t in context.help_tuples()
                   if not any(t[0] == _spec(a) for a in positional)]
        usage = " ".join([PROGRAM, name, "[OPTIONS]", *(_spec(a) for a in positional)])
        print(f"Usage: {usage}")
        print()
        docstring = inspect.getdoc(self.collection[name]) or ""
        for paragraph in docstring.split("\n\n"):
            for line in textwrap.wrap(" ".join(paragraph.split()), self._width() - 2):
                print(f"  {line}")
            print()
        if positional:
            print("Arguments:")
            print()
            self._columns([context.help_for(f"--{a.name}") for a in positional])
        print("Options:")
        print()
        self._columns([*options, ("-h, --help", "show this help and exit")])


program = CachekitProgram(namespace=ns, version=__version__, name=PROGRAM, binary=PROGRAM,
                          binary_names=[PROGRAM])


def main(argv: Optional[List[str]] = None) -> None:
    try:
        program.run(argv)
    except BrokenPipeError:
        # `cachekit list | head`: the reader left; exit quietly like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


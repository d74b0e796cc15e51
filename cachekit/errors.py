"""One error type for everything the user can fix: a one-line cause, an exit code, a hint."""

from typing import Optional

EXIT_OK = 0
EXIT_BAD_INPUT = 1  # bad input or refused: nothing was done
EXIT_HOST_FAILED = 2  # one or more hosts failed; the others completed
EXIT_OVER_THRESHOLD = 3  # report --fail-above: some host's caches are over the threshold
EXIT_DECLINED = 4  # the question before a change was answered no: nothing was done
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class CachekitError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""

    def __init__(self, message: str, hint: Optional[str] = None,
                 code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

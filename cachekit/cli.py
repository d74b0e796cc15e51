"""The ``cachekit`` console program: an Invoke Program over the package's task collection."""

import os
import sys

from invoke import Program

from cachekit import __version__
from cachekit.tasks import ns

program = Program(namespace=ns, version=__version__, name="cachekit", binary="cachekit")


def main() -> None:
    try:
        program.run()
    except BrokenPipeError:
        # `cachekit list | head`: the reader left; exit quietly like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)

"""``python -m cachekit`` is the ``cachekit`` program."""

from cachekit.cli import main

main()

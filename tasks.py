"""``invoke TASK`` in the repo runs the same tasks as the installed ``cachekit TASK``."""

from cachekit.tasks import ns  # noqa: F401  (Invoke looks for ``ns``)

"""The generic verbs, over any manager: ``measure`` (dir, info, list, report), ``remove``
(remove, purge, clean, and ``apply``), ``prune``. They call the ``Manager`` protocol and
never branch on a manager's name."""

"""conda's package caches (mamba and micromamba included). TEMPORARY adapter over
``core/conda_serve`` until the package is filled in (issue 13)."""

import os
from typing import Any, Dict

from cachekit.core.managers.legacy import Legacy
from cachekit.core.wire import PlanWire


class Conda(Legacy):
    name = "conda"
    label = "conda package cache"
    ops = frozenset({"dir", "info", "list", "report", "remove", "purge", "clean", "prune",
                     "locations", "relocate"})
    env_prefixes = ("CONDA", "MAMBA_")
    info_columns = (
        ("CONDA CACHE", "path", "path"), ("SIZE", "bytes", "bytes"), ("FILES", "files", "int"),
        ("TARBALLS", "tarballs tarballs_bytes", "count_bytes"),
        ("PACKAGES", "packages packages_bytes", "count_bytes"),
        ("UNUSED", "unused_packages unused_bytes", "count_bytes"),
        ("INDEX CACHE", "index_cache_bytes", "bytes"),
        ("LOGS", "logfiles logfiles_bytes", "count_bytes"),
        ("TEMP", "tempfiles tempfiles_bytes", "count_bytes"),
        ("PARTIAL", "partials partials_bytes", "count_bytes"),
        ("STATE", "writable", "state"),
    )
    serving = "cachekit.core.conda_serve"
    scopes = "_conda_scopes"

    def present(self) -> bool:
        environ = self.run.environ
        if any(k.startswith(self.env_prefixes) for k in environ):
            return True
        from cachekit.core.conda_location import SYSTEM_CONFIG_DIRS, USUAL_ROOTS

        home = environ.get("HOME") or os.path.expanduser("~")
        places = [os.path.join(home, n) for n in (".conda", ".condarc", ".mamba")]
        places += [p.replace("~", home, 1) for p in USUAL_ROOTS] + list(SYSTEM_CONFIG_DIRS)
        return any(os.path.exists(p) for p in places)

    def _execute(self, wire: PlanWire) -> None:
        from cachekit.core import conda_serve

        plan: Dict[str, Any] = dict(wire)
        conda_serve.execute_fresh(plan, self.run.result, self.run.environ,  # type: ignore[arg-type]
                                  self.run.progress)

    @classmethod
    def layout_problem(cls, root: str, kind: str = "") -> str:
        from cachekit.core import conda_location

        if kind in ("tempfiles", "trash"):  # they live in prefixes, not package caches
            return conda_location.prefix_problem(root)
        return conda_location.layout_problem(root)

    @classmethod
    def label_for(cls, kind: str = "") -> str:
        return "conda prefix" if kind in ("tempfiles", "trash") else cls.label


MANAGER = Conda

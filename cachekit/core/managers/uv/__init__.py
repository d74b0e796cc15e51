"""uv's cache. TEMPORARY adapter over ``core/uv_serve`` until the package is filled in
(issue 13)."""

import os
from typing import Any, Dict

from cachekit.core.managers.legacy import Legacy
from cachekit.core.wire import PlanWire


class Uv(Legacy):
    name = "uv"
    label = "uv cache"
    ops = frozenset({"dir", "info", "list", "report", "remove", "purge", "prune",
                     "locations", "relocate"})
    env_prefixes = ("UV_",)
    info_columns = (
        ("UV CACHE", "path", "path"), ("SIZE", "bytes", "bytes"), ("FILES", "files", "int"),
        ("ON DISK", "disk_bytes", "bytes"), ("PACKAGES", "packages", "int"),
        ("LARGEST BUCKETS", "buckets", "top_bytes"), ("NOT UV'S", "unknown", "list"),
    )
    notes = {
        "dir": (("uv_binary", "{host}: uv program: {uv_binary} (from {uv_binary_source})",
                 "{host}: uv program: none found"),),
        "info": (("linked_bytes", "{host}: uv {path}: {value} of SIZE is hard-linked from "
                  "outside the cache (environments): removing it frees that only when they "
                  "go", ""),),
    }
    serving = "cachekit.core.uv_serve"
    scopes = "_uv_scope"

    def present(self) -> bool:
        from cachekit.core import uv_location

        try:
            path = uv_location.locate(self.run.environ).path
        except uv_location.UvConfigError:
            return True  # let the uv half report the problem
        return bool(path and os.path.isdir(path))

    def _execute(self, wire: PlanWire) -> None:
        from cachekit.core import uv_serve

        plan: Dict[str, Any] = dict(wire)
        uv_serve.execute(plan, self.run.result, self.run.environ,  # type: ignore[arg-type]  # the old module takes dicts
                         self.run.progress)

    @classmethod
    def layout_problem(cls, root: str, kind: str = "") -> str:
        from cachekit.core import uv_serve

        return uv_serve.layout_problem(root)


MANAGER = Uv

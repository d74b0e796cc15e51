"""The GitHub runner tool cache (``_work/_tool``): see ``cache`` for its layout and
cachekit's rule (keep the newest patch of each minor version; remove older patches and
downloads that never completed). It is pruned only: ``remove`` and ``purge`` pass it by."""

import os
from typing import TYPE_CHECKING, Any, List, cast

from ... import Refused, safety
from ...wire import CacheRecord, EntryRow, PlanWire, not_fully_read, unreadable
from ..base import Manager

if TYPE_CHECKING:  # the cache module loads only where a tool cache is (see present)
    from .cache import Install, ToolcacheRecord


class Toolcache(Manager):
    name = "toolcache"
    label = "runner tool cache"
    ops = frozenset({"dir", "info", "list", "report", "prune"})
    env_prefixes = ("RUNNER_TOOL_CACHE", "AGENT_TOOLSDIRECTORY")
    shown_when_absent = False  # only where a runner says where it is
    info_columns = (("TOOL", "tools", "rows"), ("VERSIONS", "", "row_count"),
                    ("SIZE", "", "row_bytes"), ("EACH VERSION", "", "row_sizes"))

    def present(self) -> bool:
        from .place import locate

        return locate(self.run.environ)[0] is not None

    def caches(self) -> List[CacheRecord]:
        from . import cache

        record: CacheRecord = cache.cache_record(self.run.environ)
        return [record]

    def _read(self, record: CacheRecord) -> "List[Install]":
        from . import cache

        installs, errors = cache.scan(str(record["path"]))
        _mine(record).update(cache.summarize(installs))
        if errors:
            record["warnings"].append(unreadable(len(errors), errors[0][0], errors[0][1],
                                                 skipped=False))
        return installs

    def measure(self, caches: List[CacheRecord]) -> None:
        from . import cache

        for record in [c for c in caches if c.get("exists")]:
            installs = self._read(record)
            record["reclaimable_bytes"] = sum(i.freed for i, _ in cache.selection(installs))

    def entries(self, caches: List[CacheRecord]) -> List[EntryRow]:
        from . import cache

        out: List[EntryRow] = []
        for record in [c for c in caches if c.get("exists")]:
            installs = self._read(record)
            record["reclaimable_bytes"] = sum(i.freed for i, _ in cache.selection(installs))
            for i in installs:
                out.append({"manager": "toolcache", "name": i.tool, "version": i.version,
                            "kind": i.arch + ("" if i.complete else " (incomplete)"),
                            "bytes": i.bytes,
                            "path": os.path.join(str(record["path"]), i.entry)})
        return out

    def recognise(self, wire: PlanWire, caches: List[CacheRecord]) -> None:
        from . import apply

        record = self._root(caches)
        safety.refuse("toolcache", str(record["path"]), self.run.environ, "apply a plan to",
                      record["source"])
        apply.recognise(wire, str(record["path"]))

    def apply(self, wire: PlanWire) -> None:
        from . import apply

        record = self._root(self.caches())
        safety.refuse("toolcache", str(record["path"]), self.run.environ, "apply a plan to",
                      record["source"])
        apply.execute(self.run, wire, str(record["path"]))

    def _root(self, caches: List[CacheRecord]) -> CacheRecord:
        found = [c for c in caches if c.get("exists") and c.get("path")]
        if not found:
            raise Refused("the plan names a tool cache that is not this host's; plan again")
        return found[0]

    def prune_scopes(self, caches: List[CacheRecord]) -> List[Any]:
        from ... import policy  # only a prune ranks entries
        from . import cache

        scopes = []
        for record in [c for c in caches if c.get("exists")]:
            root = str(record["path"])
            safety.refuse("toolcache", root, self.run.environ, "prune", record["source"])
            installs, errors = cache.scan(root)
            _mine(record).update(cache.summarize(installs))
            if errors:
                record["error"] = not_fully_read(root, "pruned")
                continue
            record["last_use"] = "modification time (tools are not read through the cache)"
            candidates = [policy.Candidate("toolcache", root, i.entry, i.tool, i.bytes, i.freed,
                                           i.last_use_ns, False, (i, rule))
                          for i, rule in cache.selection(installs)]

            def plan(chosen: List[policy.Selected], root: str = root) -> Any:
                return cache.plan_wire(root, [(s.candidate.ref[0], s.rule) for s in chosen])

            scopes.append(policy.Scope("toolcache", root, record, record["bytes"], candidates,
                                       plan, fixed=True))
        return scopes

    @classmethod
    def layout_problem(cls, root: str, kind: str = "") -> str:
        from . import cache

        return cache.layout_problem(root)


def _mine(record: CacheRecord) -> "ToolcacheRecord":
    """A record this manager made is a ``ToolcacheRecord`` (ops pass the base type)."""
    return cast("ToolcacheRecord", record)


MANAGER = Toolcache

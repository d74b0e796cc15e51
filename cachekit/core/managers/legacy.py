"""TEMPORARY: conda and uv served through their old ``serve`` functions behind the
Manager protocol, until each has a package of its own (issue 13). Delete with the last use.
"""

import importlib
from typing import Any, ClassVar, Dict, List, Optional, Tuple

from cachekit.core.managers.base import Manager, Settings
from cachekit.core.wire import DESTRUCTIVE, CacheRecord, EntryRow, PlanWire, Result, new_result


class Legacy(Manager):
    serving: ClassVar[str] = ""  # the module with serve(request, environ, result, progress)
    scopes: ClassVar[str] = ""  # the function of core.prune giving its prune scopes

    def _module(self) -> Any:
        return importlib.import_module(self.serving)

    def caches(self) -> List[CacheRecord]:
        op = self.run.op
        if op == "prune":
            return []  # the old scope functions record their caches themselves
        request: Any = dict(self.run.request, apply=False) if op in DESTRUCTIVE \
            else self.run.request
        scratch: Result = new_result(op, request)
        self._module().serve(request, self.run.environ, scratch, self.run.progress)
        self.scratch = scratch
        result = self.run.result
        result["warnings"] += scratch["warnings"]
        if "environments" in scratch:
            result["environments"] = scratch["environments"]
        if "kept" in scratch:
            result.setdefault("kept", []).extend(scratch["kept"])
        if op == "apply":  # the old serve recognised and applied the plans itself
            result["removed"] += scratch["removed"]
            result["dirs_removed"] += scratch["dirs_removed"]
            result["reclaimed_bytes"] += scratch["reclaimed_bytes"]
        return list(scratch["caches"])

    def measure(self, caches: List[CacheRecord]) -> None:
        pass  # measured by the old serve

    def entries(self, caches: List[CacheRecord]) -> List[EntryRow]:
        return list(self.scratch["entries"])

    def plan(self, caches: List[CacheRecord]) -> List[PlanWire]:
        self.run.result["removed"] += self.scratch["removed"]
        self.run.result["dirs_removed"] += self.scratch["dirs_removed"]
        return list(self.scratch.get("plans", []))

    def recognise(self, wire: PlanWire, caches: List[CacheRecord]) -> None:
        pass  # done by the old serve, in caches()

    def apply(self, wire: PlanWire) -> None:
        if self.run.op == "apply":
            return  # done by the old serve, in caches()
        self._execute(wire)

    def _execute(self, wire: PlanWire) -> None:
        raise NotImplementedError

    def location(self) -> Dict[str, Any]:
        from cachekit.core import locations

        record: Dict[str, Any] = getattr(locations, f"{self.name}_record")(self.run.environ)
        return record

    def settings(self) -> Settings:
        return LegacySettings(self.name, self.run.environ)

    def prune_scopes(self, caches: List[CacheRecord]) -> List[Any]:
        from cachekit.core import prune

        found: List[Any] = getattr(prune, self.scopes)(self.run.request, self.run.environ,
                                                        self.run.result)
        return found


class LegacySettings(Settings):
    """conda's and uv's relocate settings, still in ``core/relocate``."""

    def __init__(self, name: str, environ: Dict[str, str]) -> None:
        super().__init__(environ)
        self.name = name

    def config_file(self) -> str:
        from cachekit.core import relocate

        return relocate.config_file(self.name, self.environ)

    def current(self) -> Tuple[Optional[str], List[str]]:
        from cachekit.core import relocate

        return relocate.current_cache(self.name, self.environ)

    def source(self, current: str) -> str:
        from cachekit.core import relocate

        return relocate.current_source(self.name, self.environ, current)

    def edit(self, text: str, target: str, previous: List[str]) -> str:
        from cachekit.core import relocate

        if self.name == "conda":
            return relocate.edit_conda(text, target, previous)
        return relocate.edit_uv(text, target)

    def check_parses(self, path: str, text: str) -> None:
        from cachekit.core import relocate

        relocate._check_parses(self.name, path, text)

    def would_be(self, path: str, text: str) -> Optional[str]:
        from cachekit.core import relocate

        return relocate._would_be(self.name, self.environ, path, text)

    def refuse_move(self, current: str) -> None:
        from cachekit.core import Refused, relocate

        if self.name == "conda":
            users = relocate.symlinked_users(current, self.environ)
            if users:
                raise Refused(f"environments use {current} through symlinks and would break "
                              f"if it moved: {', '.join(users)}")

    def move(self, source: str, target: str, move: Any) -> Dict[str, Any]:
        from cachekit.core import relocate

        return relocate._locked_move(self.name, source, target)

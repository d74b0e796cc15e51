"""conda, mamba and micromamba: their package caches, environments and settings.

One manager for the three: they share the package cache layout (``urls.txt`` beside
extracted packages and archives; micromamba nests them by channel) and the
environments' ``conda-meta`` records. The modules beside this one each do one job;
this class is what the generic ops call, and imports them only when called.
"""

from typing import TYPE_CHECKING, Any, ClassVar, FrozenSet, List, Optional, Tuple, cast

from ... import env
from ...wire import CacheRecord, EntryRow, PlanWire, Row
from ..base import ALL_OPS, Column, Manager

if TYPE_CHECKING:
    from ..conda_format import Usage
    from .cache import CondaRecord
    from .location import CondaLocation
    from .plans import CondaPlan
    from .settings import CondaSettings


class Conda(Manager):
    name: ClassVar[str] = "conda"
    label: ClassVar[str] = "conda package cache"
    ops: ClassVar[FrozenSet[str]] = ALL_OPS
    env_prefixes: ClassVar[Tuple[str, ...]] = ("CONDA", "MAMBA_")
    info_columns: ClassVar[Tuple[Column, ...]] = (
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

    _loc: "Optional[CondaLocation]" = None
    _usage: "Optional[Usage]" = None  # read afresh for applying, once per request

    def present(self) -> bool:
        """A CONDA*/MAMBA_* variable, or a usual install place, config or cache."""
        import os

        from .places import SYSTEM_CONFIG_DIRS, USUAL_ROOTS

        environ = self.run.environ
        if any(k.startswith(self.env_prefixes) for k in environ):
            return True
        home = env.home(environ)
        places = [os.path.join(home, n) for n in (".conda", ".condarc", ".mamba")]
        places += [p.replace("~", home, 1) for p in USUAL_ROOTS] + list(SYSTEM_CONFIG_DIRS)
        return any(os.path.exists(p) for p in places)

    def _location(self) -> "CondaLocation":
        if self._loc is None:
            from . import location

            self._loc = location.locate(self.run.environ)
        return self._loc

    def caches(self) -> List[CacheRecord]:
        from . import serve

        return list(serve.records(self._location(), self.run.result))

    def measure(self, caches: List[CacheRecord]) -> None:
        from . import serve

        loc = self._location()
        serve.measure(loc, _mine(caches), serve.read_usage_of(loc, self.run.result))

    def entries(self, caches: List[CacheRecord]) -> List[EntryRow]:
        from . import serve

        loc = self._location()
        return serve.entries(loc, _mine(caches), serve.read_usage_of(loc, self.run.result),
                             self.run.request.get("pattern"))

    def plan(self, caches: List[CacheRecord]) -> List[PlanWire]:
        from . import serve

        return list(serve.plan(self.run, self._location(), _mine(caches)))

    def recognise(self, wire: PlanWire, caches: List[CacheRecord]) -> None:
        from . import apply

        loc = self._location()
        apply.recognise(_plan(wire), loc)
        apply.refuse_root(_plan(wire), loc, self.run.environ)

    def apply(self, wire: PlanWire) -> None:
        from ..conda_format import read_usage
        from . import apply

        if self._usage is None:  # read now: an environment made since the plan counts
            from . import location

            # located afresh too: an environment registered while a long plan was made
            # (prune --yes plans and applies in one request) protects its packages
            envs = location.locate(self.run.environ).envs
            self._usage = read_usage(e.path for e in envs)
        apply.execute(_plan(wire), self.run, self._usage)

    def prune_scopes(self, caches: List[CacheRecord]) -> List[Any]:
        from . import prune

        return list(prune.scopes(self.run, self._location(), _mine(caches)))

    def location(self) -> Row:
        from .sources import conda_record

        return conda_record(self.run.environ)

    def settings(self) -> "CondaSettings":
        from .settings import CondaSettings

        return CondaSettings(self.run.environ)

    @classmethod
    def layout_problem(cls, root: str, kind: str = "") -> str:
        """A package cache's signature; temp and trash files live in any prefix."""
        from . import location

        if kind in ("tempfiles", "trash"):
            return location.prefix_problem(root)
        return location.layout_problem(root)

    @classmethod
    def label_for(cls, kind: str = "") -> str:
        return "conda prefix" if kind in ("tempfiles", "trash") else cls.label


def _mine(caches: List[CacheRecord]) -> "List[CondaRecord]":
    """The records ``caches`` made (the generic ops hand them back as they got them)."""
    return cast("List[CondaRecord]", caches)


def _plan(wire: PlanWire) -> "CondaPlan":
    """A conda plan: ``apply.recognise`` checks its body before anything else reads it."""
    return cast("CondaPlan", wire)


MANAGER = Conda

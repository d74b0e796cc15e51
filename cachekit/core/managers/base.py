"""The protocol every manager implements, and its defaults.

A manager is one package, ``cachekit/core/managers/<name>/``, whose ``__init__`` defines a
subclass of ``Manager`` named ``MANAGER`` and is listed once in ``core/registry.py``. The
generic verbs (``core/ops/``) drive it through the methods below and never branch on a
manager's name. A manager instance serves one request: it may keep what it read in one
method (conda's environment usage) for the next.

Which ops a manager serves is data (``ops``): the agent skips a manager for an op it
does not list (pip has no ``clean``), and the optional capabilities' defaults refuse
with a clear message when called anyway.
"""

from typing import Any, ClassVar, Dict, FrozenSet, List, Optional, Tuple, Type

from .. import Refused
from ..wire import CacheRecord, EntryRow, PlanWire, Row, Run

# Every op a manager can serve. dir, info, list and report only read; remove, purge and
# clean plan removals that ``apply`` carries out; prune gives candidates to the policy;
# locations and relocate use the manager's settings.
READ_OPS = frozenset({"dir", "info", "list", "report"})
ALL_OPS = READ_OPS | {"remove", "purge", "clean", "prune", "locations", "relocate"}

# An ``info`` column: (HEADER, record key, how). ``how`` is one of the formats the
# controller's renderer knows (``render/info.FORMATS``): "path", "text", "int", "bytes",
# "count_bytes" (key "COUNT_KEY BYTES_KEY"), "top_bytes" (a mapping name -> {"bytes"}: the
# three largest), "list", "state" (writable or read-only); or a table of one row per item
# of a mapping: first column "rows", then "row_count", "row_bytes", "row_sizes".
Column = Tuple[str, str, str]
# A line under a table: (record key, line when the key is set, line when it is empty);
# formatted with ``host``, the record's fields, and ``value`` (the key's bytes, human).
Note = Tuple[str, str, str]


class Manager:
    """One package manager's caches on this host. Subclasses set the class data and
    override what they support; ``run`` is the request being served."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # what its cache is called in messages: "pip cache"
    ops: ClassVar[FrozenSet[str]] = READ_OPS
    # where present() looks first: environment variables with these prefixes mean the
    # manager is in use (the tests' environment scrubbing reads them too)
    env_prefixes: ClassVar[Tuple[str, ...]] = ()
    info_columns: ClassVar[Tuple[Column, ...]] = ()
    info_missing_row: ClassVar[bool] = False  # a row even for a cache that does not exist
    notes: ClassVar[Dict[str, Tuple[Note, ...]]] = {}  # by op: "dir", "info"
    # ``dir``/``locations`` show a manager's cache even where it is not present
    shown_when_absent: ClassVar[bool] = True

    def __init__(self, run: Run) -> None:
        self.run = run

    # Who is present, which caches ---------------------------------------------------

    def present(self) -> bool:
        """Whether this host uses the manager: a few stat calls, never a walk (loading a
        manager's code costs milliseconds on every host of a fleet)."""
        return True

    def caches(self) -> List[CacheRecord]:
        """This host's caches of the manager, found or not, each with where it was
        decided (``source``); ``error`` on a record when the settings could not be read."""
        raise NotImplementedError

    # Reading --------------------------------------------------------------------------

    def measure(self, caches: List[CacheRecord]) -> None:
        """``info`` and ``report``: add the figures (and ``reclaimable_bytes``) to each
        existing cache's record."""
        raise NotImplementedError

    def entries(self, caches: List[CacheRecord]) -> List[EntryRow]:
        """``list``: the cached packages matching ``request["pattern"]``."""
        raise NotImplementedError

    # Removing -------------------------------------------------------------------------

    def plan(self, caches: List[CacheRecord]) -> List[PlanWire]:
        """``remove``, ``purge``, ``clean``: what would go, as plans (data, never a
        removal). Rows for the user go to ``run.result["removed"]`` with ``ok`` None.
        Each root passes ``safety.refuse`` before it is walked."""
        raise Refused(f"{self.name} cannot {self.run.op}")

    def recognise(self, wire: PlanWire, caches: List[CacheRecord]) -> None:
        """A plan made earlier (``apply``): refuse it unless it still names one of this
        host's recognised caches of this manager, and only entries such a cache holds."""
        raise Refused(f"{self.name} cannot apply a plan")

    def apply(self, wire: PlanWire) -> None:
        """Carry out one plan, reporting every row through ``run.report`` and adding what
        was freed to ``reclaimed_bytes``. Only this method deletes."""
        raise Refused(f"{self.name} cannot apply a plan")

    def prune_scopes(self, caches: List[CacheRecord]) -> List[Any]:
        """``prune``: each existing cache's ``policy.Scope`` (its candidates and how to
        plan the chosen ones)."""
        raise Refused(f"{self.name} has no prune")

    # Settings (optional) --------------------------------------------------------------

    def location(self) -> Row:
        """``locations``: every place that could set the cache, which one won, traps."""
        raise Refused(f"{self.name} has no locations")

    def settings(self) -> "Settings":
        """``relocate``: how to point the manager at another cache."""
        raise Refused(f"the {self.label_for()} has no setting cachekit can move; relocate "
                      "moves pip, conda, uv, pixi, Poetry and PDM caches")

    # Safety ---------------------------------------------------------------------------

    @classmethod
    def layout_problem(cls, root: str, kind: str = "") -> str:
        """What ``root`` lacks to be this manager's cache ("" when it carries the
        layout); ``kind`` is a plan's kind (conda's tempfiles live in prefixes). A
        manager that does not override it can remove nothing."""
        return "carries no layout signature cachekit knows"

    @classmethod
    def label_for(cls, kind: str = "") -> str:
        """What a root of a plan of ``kind`` is called in a refusal."""
        return cls.label or f"{cls.name} cache"


class Settings:
    """Where a manager's cache is configured, and how to change it (``relocate``)."""

    def __init__(self, environ: Dict[str, str]) -> None:
        self.environ = environ

    def config_file(self) -> str:
        """The user-level file ``relocate`` writes."""
        raise NotImplementedError

    def current(self) -> Tuple[Optional[str], List[str]]:
        """The cache in use now, and every cache the manager reads (conda has several)."""
        raise NotImplementedError

    def source(self, current: str) -> str:
        """What set ``current`` (for refusals)."""
        raise NotImplementedError

    def edit(self, text: str, target: str, previous: List[str]) -> str:
        """The config file's text with the cache set to ``target``."""
        raise NotImplementedError

    def parse(self, path: str, text: str) -> None:
        """Read ``text`` as the manager reads its config file; raise whatever that reader
        raises (``ops/relocate`` turns it into the one refusal)."""
        raise NotImplementedError

    def would_be(self, path: str, text: str) -> Optional[str]:
        """The cache the manager would use if ``path`` said ``text``."""
        raise NotImplementedError

    def warnings(self) -> List[str]:
        """Anything else that would still override the new setting."""
        return []

    def refuse_move(self, current: str) -> None:
        """Refuse to move ``current`` when something outside it depends on its place."""

    def move(self, source: str, target: str, move: Any) -> Dict[str, Any]:
        """Move the cache (``move`` is relocate's generic mover); uv's holds uv's lock."""
        return move(source, target)


class ScratchTriedSettings(Settings):
    """A manager with one cache found by one ``locate`` and a user config under
    ``XDG_CONFIG_HOME`` (pip, uv): the cache in use and its source come from ``locate``,
    and ``would_be`` writes the edited text as ``relpath`` in a scratch config home and
    asks ``locate`` there. ``config_errors`` (what ``locate`` raises) become refusals."""

    relpath = ""  # the user config file under XDG_CONFIG_HOME, e.g. "pip/pip.conf"
    config_errors: Tuple[Type[Exception], ...] = ()

    def locate(self, environ: Dict[str, str]) -> Any:
        """The manager's own lookup: an object with ``path`` and ``source``."""
        raise NotImplementedError

    def current(self) -> Tuple[Optional[str], List[str]]:
        try:
            return self.locate(self.environ).path, []
        except self.config_errors as exc:
            raise Refused(str(exc)) from None

    def source(self, current: str) -> str:
        return str(self.locate(self.environ).source)

    def would_be(self, path: str, text: str) -> Optional[str]:
        import os
        import tempfile

        with tempfile.TemporaryDirectory(prefix="cachekit-relocate-") as scratch:
            os.makedirs(os.path.dirname(os.path.join(scratch, self.relpath)))
            with open(os.path.join(scratch, self.relpath), "w", encoding="utf-8") as fh:
                fh.write(text)
            try:
                found: Optional[str] = self.locate(dict(self.environ,
                                                        XDG_CONFIG_HOME=scratch)).path
                return found
            except self.config_errors as exc:
                raise Refused(f"{path}: would not load after the edit ({exc}); nothing "
                              "changed") from None

"""The shared options are declared once (cachekit/options.py): no task body redeclares
one, and every task ends up with exactly the shared flags it should, with their one
default and help (pyinfra's test_global_arguments, for Invoke tasks)."""

import inspect
import json
import subprocess
import sys
from typing import Any, Dict, Set

import pytest
from invoke import Context

from cachekit import options
from cachekit.options import DESTRUCTIVE, FLEET, SHARED, UV, fleet_task
from cachekit.tasks import ns

DEST, UVS = {o.name for o in DESTRUCTIVE}, {o.name for o in UV}
FLEETS = {o.name for o in FLEET}
# Each task, and the shared options it takes. A new task must be listed here.
EXPECTED: Dict[str, Set[str]] = {
    "dir": FLEETS | UVS,
    "info": FLEETS | UVS,
    "list": FLEETS | UVS,
    "report": FLEETS | UVS,
    "locations": FLEETS,
    "remove": FLEETS | DEST | UVS,
    "purge": FLEETS | DEST | UVS,
    "prune": FLEETS | DEST | UVS,
    "clean": FLEETS | DEST,
    "relocate": FLEETS | DEST,
    "trend": {"format"},  # not fleet tasks: their few flags are their own
    "hosts": {"hosts", "inventory", "format", "wide"},
}
# Help a task words its own way, on purpose.
REWORDED = {("list", "format"), ("report", "format"), ("clean", "managers"),
            ("relocate", "managers"), ("relocate", "format"), ("relocate", "dry_run"),
            ("trend", "format"), ("hosts", "hosts"), ("hosts", "format")}
NOT_FLEET = {"trend", "hosts"}
BY_NAME = {o.name: o for o in SHARED}


# Invoke hands each option its help by popping it from the task's help dict, so only the
# first ``to_contexts()`` of a process sees it: the flags are read in a fresh one.
FLAGS = """
import json
from cachekit.tasks import ns
print(json.dumps({c.name: {a.attr_name or a.name: {"default": a.default, "help": a.help}
                           for a in c.args.values()} for c in ns.to_contexts()}))
"""


@pytest.fixture(scope="module")
def flags() -> Dict[str, Dict[str, Dict[str, Any]]]:
    out = subprocess.run([sys.executable, "-c", FLAGS], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def body_of(name: str):
    """The task's own function, under fleet_task's and the guard's wrappers."""
    return inspect.unwrap(ns.tasks[name].body)


def test_every_task_is_listed() -> None:
    assert set(ns.task_names) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - NOT_FLEET))
def test_no_task_body_redeclares_a_shared_option(name: str) -> None:
    params = list(inspect.signature(body_of(name)).parameters)
    assert params[1] == "target", f"{name}: a fleet task's body takes the Target second"
    redeclared = set(params[2:]) & set(BY_NAME)
    assert not redeclared, f"{name} redeclares {sorted(redeclared)}: options.py declares them"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_task_gets_the_shared_options_it_should(flags: Dict[str, Any], name: str) -> None:
    args = flags[name]
    shared = set(args) & set(BY_NAME)
    assert shared == EXPECTED[name] & set(BY_NAME), name
    if name in NOT_FLEET:
        return
    for key in shared:
        arg, option = args[key], BY_NAME[key]
        assert arg["default"] == option.default, f"{name} --{key}: not the declared default"
        assert arg["help"], f"{name} --{key} has no help"
        if (name, key) not in REWORDED:
            assert arg["help"] == option.help, f"{name} --{key}: not the declared help"


def test_the_defaults_are_declared_once() -> None:
    """timeout, connect timeout and workers: the Option's default is the one constant the
    connection settings and the fan-out use."""
    from cachekit import fleet, protocol

    assert BY_NAME["timeout"].default == protocol.Settings().timeout == protocol.TIMEOUT_S
    assert BY_NAME["connect_timeout"].default == protocol.Settings().connect_timeout
    assert BY_NAME["workers"].default == fleet.DEFAULT_WORKERS
    assert {o.name for o in SHARED} <= set(options.Target.__dataclass_fields__)


def test_fleet_task_refuses_a_body_that_redeclares_one() -> None:
    def body(c: Context, target: options.Target, timeout: float = 5.0) -> None:
        """A task that wants its own --timeout."""

    with pytest.raises(TypeError, match=r"redeclares shared options \['timeout'\]"):
        fleet_task()(body)


def test_the_body_gets_one_target_and_its_own_flags() -> None:
    seen = {}

    def body(c: Context, target: options.Target, pattern: str = "*") -> None:
        """Record what the body is given."""
        seen.update(target=target, pattern=pattern)

    made = fleet_task(destructive=True)(body)
    values = {o.name: o.default for o in FLEET + DESTRUCTIVE}
    made(Context(), pattern="x*", **dict(values, hosts="web*", yes=True))
    target = seen["target"]
    assert seen["pattern"] == "x*" and target.hosts == "web*" and target.yes is True
    assert target.uv is None and target.timeout == BY_NAME["timeout"].default

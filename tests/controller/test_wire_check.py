"""The wire's shape (cachekit/wire_check.py) against what the core really sends.

Every op of the real core on real pip, conda, uv and tool caches, round-tripped through
JSON as a host sends it, must pass the check that remote results pass: a field the core
changes without the shape following fails here, not on a user's fleet. And the check's
bounds on what a host's output may hold.
"""

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from cachekit import protocol, wire_check
from cachekit.core import agent
from tests.fixtures.tool_cache import make_tool_cache


def as_sent(request: Dict[str, Any]) -> bytes:
    """The core's stdout for ``request``, progress lines included, as a host prints it."""
    lines = []
    result = agent.run(request, lambda row: lines.append("@" + json.dumps(row)))
    return "".join(f"{line}\n" for line in lines + [json.dumps(result)]).encode()


def check(request: Dict[str, Any]) -> Dict[str, Any]:
    result = protocol.parse_output(as_sent(request), [], 0, request["op"])
    assert result["status"] == "ok", result["error"]
    return result


OPS = [{"op": "dir"}, {"op": "info"}, {"op": "report"}, {"op": "report", "attribute": True},
       {"op": "list", "pattern": "*", "downloads": True}, {"op": "locations"},
       {"op": "purge"}, {"op": "remove", "pattern": "*"},
       {"op": "prune", "policy": {"older_than_s": 0}},
       {"op": "prune", "policy": {"max_size_bytes": 1}}]


@pytest.mark.parametrize("request_", OPS, ids=lambda r: "-".join(map(str, r.values())))
def test_every_op_of_the_real_core_has_the_wire_shape(
        tmp_path: Path, pip_cache: Path, uv_cache: Path, conda, request_: Dict[str, Any]
) -> None:
    tools = tmp_path / "tools"
    make_tool_cache(tools)
    environ = dict(conda.environ, PIP_CACHE_DIR=str(pip_cache), UV_CACHE_DIR=str(uv_cache),
                   RUNNER_TOOL_CACHE=str(tools))
    request = dict(request_, environ=environ,
                   managers=None if request_["op"] == "locations" else
                   ["pip", "conda", "uv", "toolcache"])
    result = check(request)
    if request["op"] in ("purge", "remove", "prune"):
        assert result["plans"] and result["removed"]
        applied = check({"op": "apply", "plans": result["plans"], "environ": environ})
        assert applied["removed"] and all(r["ok"] for r in applied["removed"])


@pytest.mark.parametrize("flags", [["all"], ["tarballs", "index_cache", "logfiles"],
                                   ["trash", "lock"], ["force"]])
def test_conda_clean_results_have_the_wire_shape(conda, flags) -> None:
    request = {"op": "clean", "managers": ["conda"], "flags": flags, "tempfile_paths": [],
               "break_environments": True, "environ": conda.environ}
    check(request)
    check(dict(request, apply=True))


def test_a_relocation_has_the_wire_shape(tmp_path: Path, pip_cache: Path, home: Path) -> None:
    (tmp_path / "xdg").mkdir()
    pip_cache.rename(tmp_path / "xdg" / "pip")  # pip's default place, which a pip.conf moves
    request = {"op": "relocate", "managers": ["pip"], "to": str(tmp_path / "new"),
               "move": True, "environ": {"XDG_CACHE_HOME": str(tmp_path / "xdg"),
                                         "HOME": str(home)}}
    assert check(request)["relocation"]["move"]
    assert check(dict(request, apply=True))["relocation"]["now"] == str(tmp_path / "new")


def test_another_op_than_asked_is_refused(pip_cache: Path) -> None:
    sent = as_sent({"op": "dir", "environ": {"PIP_CACHE_DIR": str(pip_cache)}})
    with pytest.raises(protocol.HostFailure) as failed:
        protocol.parse_output(sent, [], 0, "info")
    assert "op: expected one of info, got str" in failed.value.reason


def test_bounds_on_what_a_result_may_hold() -> None:
    for text, why in [(b"[" * 3000 + b"]" * 3000, "nested too deeply"),
                      (b"[" * 40 + b"]" * 40, "nested more than 32 levels"),
                      (b"[" + b"0," * 9_000_000 + b"0]", "more than 8,000,000 values"),
                      (b"[" + b"{}," * 1_100_000 + b"{}]", "1,000,000 objects"),
                      (b'{"a": NaN}', "NaN is not a JSON number"),
                      (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
                      (b'{"a": 1e400}', "1e400 is out of range")]:
        with pytest.raises(ValueError, match=why):
            protocol.loads(text)


def test_a_wrong_field_is_named_without_its_value() -> None:
    with pytest.raises(wire_check.WireError) as wrong:
        wire_check.check_result({"schema": 1, "op": "info", "status": "ok", "error": None,
                                 "warnings": [],
                                 "removed": [], "caches": [{"manager": "pip", "path": None,
                                                            "tools": {"\x1b]0;x": {"3.12": -1}}}]})
    assert str(wrong.value) == ("caches[0].tools['\\x1b]0;x']['3.12']: expected a count (an "
                                "integer from 0 to 2**63), got int")

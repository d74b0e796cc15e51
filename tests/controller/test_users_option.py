"""``--users`` and ``cachekit_users`` on the controller: parsing, which one wins, the wire
check of the fields they add, and the report's rows per user (no root needed here; the
real users are in tests/core/test_users.py)."""

from typing import Any, Dict

import pytest

from cachekit import fleet, wire_check
from cachekit.core.wire import skeleton
from cachekit.errors import CachekitError
from cachekit.inventory import Host
from cachekit.options import parse_users
from cachekit.render.report import render_report


def test_users_parse_as_all_none_or_names() -> None:
    assert parse_users("all", "--users") == "all"
    assert parse_users("none", "--users") is None
    assert parse_users("alice, bob,alice", "--users") == ["alice", "bob"]
    assert parse_users(["alice", "bob"], "cachekit_users") == ["alice", "bob"]
    for bad in ("", ",", "-rf", "a b", "x;y"):
        with pytest.raises(CachekitError, match="not a user name"):
            parse_users(bad, "--users")
    with pytest.raises(CachekitError, match="cachekit_users of host h"):
        parse_users(3, "cachekit_users of host h")


def test_the_flag_wins_over_the_inventory() -> None:
    host = Host("h", {"cachekit_users": "alice,bob"})
    assert fleet.core_settings(host) == {"users": ["alice", "bob"]}
    assert fleet.core_settings(host, {"users": "all"}) == {}  # --users all
    assert fleet.core_settings(host, {"users": None}) == {}  # --users none
    assert fleet.core_settings(Host("h", {"cachekit_users": "all"})) == {"users": "all"}
    with pytest.raises(CachekitError):
        fleet.Fleet([Host("h", {"cachekit_users": "bad name"})])


def _per_user_result() -> Dict[str, Any]:
    result: Dict[str, Any] = dict(skeleton(), op="report", host="h1", elapsed_s=0.5,
                                  disk={"total_bytes": 10_000, "free_bytes": 4_000})
    result["caches"] = [
        {"manager": "pip", "path": "/root/.cache/pip", "exists": True, "bytes": 100,
         "user": "root"},
        {"manager": "pip", "path": "/home/a/.cache/pip", "exists": True, "bytes": 300,
         "user": "a"},
        {"manager": "uv", "path": None, "exists": True, "user": "b",
         "error": "refusing /etc for user b: it belongs to root, not to b"}]
    result["users"] = [{"user": "root", "uid": 0, "home": "/root", "status": "ok",
                        "error": None, "elapsed_s": 0.1},
                       {"user": "a", "uid": 1000, "home": "/home/a", "status": "ok",
                        "error": None, "elapsed_s": 0.2},
                       {"user": "b", "uid": 1001, "home": "/home/b", "status": "failed",
                        "error": "OSError: boom", "elapsed_s": 0.0}]
    return result


def test_the_wire_check_knows_users_and_user() -> None:
    result = _per_user_result()
    assert wire_check.check_result(result, "report") is result
    bad = _per_user_result()
    bad["users"][0]["status"] = "fine"
    with pytest.raises(wire_check.WireError, match=r"users\[0\]\.status"):
        wire_check.check_result(bad, "report")
    bad = _per_user_result()
    bad["caches"][0]["user"] = 0
    with pytest.raises(wire_check.WireError, match=r"caches\[0\]\.user"):
        wire_check.check_result(bad, "report")


def test_report_has_a_row_per_user_and_a_host_subtotal() -> None:
    other = dict(skeleton(), op="report", host="h2", elapsed_s=0.1,
                 disk={"total_bytes": 10_000, "free_bytes": 1_000},
                 caches=[{"manager": "pip", "path": "/p", "exists": True, "bytes": 50}])
    rows = render_report([_per_user_result(), other], "csv").splitlines()
    assert rows[0].split(",")[:3] == ["host", "user", "status"]
    assert rows[1].startswith("h1,root,ok,100,,100,")
    assert rows[2].startswith("h1,a,ok,300,,300,")
    assert rows[3].startswith("h1,b,failed,,0,0,") and rows[3].endswith("OSError: boom")
    assert rows[4].startswith("h1,(3 users),1 failed,400,0,400,")
    assert rows[5].startswith("h2,-,ok,50,,50,")
    assert rows[6].startswith("TOTAL (2 hosts),,0 failed,450,0,450,0,5000,")

"""cachekit against the real pip, on the same real cache: counts, sizes, names, and what is
left on disk after remove and purge."""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from tests.fixtures.disk import copy_cache, tree_of
from tests.fixtures.pip_cache import pip


def pip_format_size(n: float) -> str:
    """pip's utils.misc.format_size, to compare exact bytes with what pip prints."""
    if n > 1000 * 1000:
        return f"{n / 1000.0 / 1000:.1f} MB"
    if n > 10 * 1000:
        return f"{int(n / 1000)} kB"
    if n > 1000:
        return f"{n / 1000.0:.1f} kB"
    return f"{int(n)} bytes"


def pip_info(cache: Path, home: Path) -> Dict[str, str]:
    out = pip(["cache", "info"], cache, home)
    assert out.returncode == 0, out.stderr
    return dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)


def test_info_matches_pip(pip_cache: Path, home: Path, run_cachekit) -> None:
    theirs = pip_info(pip_cache, home)
    doc = json.loads(run_cachekit(["info", "--format", "json"], pip_cache, expect=0).stdout)
    c = doc["hosts"][0]["caches"][0]
    assert c["path"] == str(pip_cache.resolve())
    assert str(c["http_files"]) == theirs["Number of HTTP files"]
    assert pip_format_size(c["http_bytes"]) == theirs["Package index page cache size"]
    assert str(c["wheels"]) == theirs["Number of locally built wheels"]
    assert pip_format_size(c["wheels_bytes"]) == theirs["Locally built wheels size"]
    assert c["http_files"] >= 14 and c["wheels"] == 6


def test_info_json_contract(pip_cache: Path, home: Path, run_cachekit) -> None:
    doc = json.loads(run_cachekit(["info", "--format", "json"], pip_cache, expect=0).stdout)
    assert doc["schema"] == 1 and doc["command"] == "info" and doc["dry_run"] is False
    host = doc["hosts"][0]
    for key in ("host", "status", "error", "elapsed_s", "disk", "caches", "removed",
                "reclaimed_bytes"):
        assert key in host
    cache = host["caches"][0]
    for key in ("manager", "path", "source", "exists", "bytes", "files", "disk_bytes",
                "wheels", "wheels_bytes", "http_files", "http_bytes"):
        assert isinstance(cache[key], (int, str, bool)), key
    assert cache["source"] == "environment variable PIP_CACHE_DIR"
    assert doc["totals"]["bytes"] == cache["bytes"]


def test_disk_bytes_is_du(pip_cache: Path, home: Path, run_cachekit) -> None:
    du = subprocess.run(["du", "-sB1", str(pip_cache)], capture_output=True, text=True)
    doc = json.loads(run_cachekit(["info", "--format", "json"], pip_cache, expect=0).stdout)
    assert doc["hosts"][0]["caches"][0]["disk_bytes"] == int(du.stdout.split()[0])


PIP_PATTERNS = ["*", "alpha", "alpha-1", "alpha-2.0", "foo_bar", "zope*", "linked",
                "gamma-0.5", "nothere", "[a]lpha"]


@pytest.mark.parametrize("pattern", PIP_PATTERNS)
def test_list_matches_pip(pip_cache: Path, home: Path, pattern: str, run_cachekit) -> None:
    theirs = pip(["cache", "list", "--format=abspath", pattern], pip_cache, home)
    ours = run_cachekit(["list", pattern, "--format", "abspath"], pip_cache)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.split() == theirs.stdout.split()


def test_list_table_names_each_wheel(pip_cache: Path, home: Path, run_cachekit) -> None:
    out = run_cachekit(["list"], pip_cache)
    for name in ("alpha-1.0-py3-none-any.whl", "foo_bar-2.0-py3-none-any.whl",
                 "linked-1.0-py3-none-any.whl"):
        assert name in out.stdout


def point_symlinked_wheel_outside(cache: Path, outside: Path) -> None:
    """Aim the symlinked wheel at a file outside the cache.

    pip 26.3 stats each wheel (following symlinks) just before unlinking it, so when the
    link's target inside the cache goes first, ``pip cache purge`` dies with
    FileNotFoundError, depending on directory order. An outside target keeps pip usable
    as the oracle, and lets us check that removing the link leaves its target alone.
    """
    link = next(cache.glob("wheels/**/linked-1.0-py3-none-any.whl"))
    link.unlink()
    link.symlink_to(outside)


@pytest.mark.parametrize("pattern", ["alpha", "foo_bar", "zope*", "nothere", "alpha-2", "*"])
def test_remove_leaves_what_pip_leaves(tmp_path: Path, pip_cache: Path, home: Path,
                                       pattern: str, run_cachekit) -> None:
    outside = tmp_path / "outside-1.0-py3-none-any.whl"
    outside.write_bytes(b"not in the cache")
    point_symlinked_wheel_outside(pip_cache, outside)
    theirs = copy_cache(pip_cache, tmp_path / "theirs")
    (pip_cache / "selfcheck.json").write_text("{}")  # legacy file pip 26 deletes
    (theirs / "selfcheck.json").write_text("{}")
    done = pip(["cache", "remove", pattern], theirs, home)
    assert done.returncode == 0, done.stderr
    ours = run_cachekit(["remove", pattern, "--yes"], pip_cache)
    assert ours.returncode == 0, ours.stderr
    assert tree_of(pip_cache) == tree_of(theirs)
    assert outside.read_bytes() == b"not in the cache"


def test_purge_leaves_what_pip_leaves(tmp_path: Path, pip_cache: Path, home: Path,
                                      run_cachekit) -> None:
    outside = tmp_path / "outside-1.0-py3-none-any.whl"
    outside.write_bytes(b"not in the cache")
    point_symlinked_wheel_outside(pip_cache, outside)
    theirs = copy_cache(pip_cache, tmp_path / "theirs")
    assert pip(["cache", "purge"], theirs, home).returncode == 0
    ours = run_cachekit(["purge", "--yes"], pip_cache)
    assert ours.returncode == 0, ours.stderr
    assert tree_of(pip_cache) == tree_of(theirs)
    assert {p for p, _, _ in tree_of(pip_cache)} >= {"selfcheck", "README-stray.txt"}
    assert outside.exists()


def test_purge_survives_a_symlinked_wheel_whose_target_goes_first(pip_cache: Path,
                                                                 home: Path, run_cachekit) -> None:
    """The fixture's link points at a wheel the same purge deletes; pip may crash here."""
    out = run_cachekit(["purge", "--yes"], pip_cache)
    assert out.returncode == 0, out.stderr
    assert not (pip_cache / "wheels").exists()


def test_dry_run_lists_exactly_what_yes_removes(tmp_path: Path, pip_cache: Path,
                                                home: Path, run_cachekit) -> None:
    before = tree_of(pip_cache)
    other = copy_cache(pip_cache, tmp_path / "other")
    plan = json.loads(run_cachekit(["purge", "--dry-run", "--format", "json"], pip_cache,
                                   expect=0).stdout)
    assert tree_of(pip_cache) == before, "a dry run changed the cache"
    assert plan["dry_run"] is True
    done = json.loads(run_cachekit(["purge", "--yes", "--format", "json"], other, expect=0).stdout)
    planned = {r["path"].replace(str(pip_cache.resolve()), "") for r in plan["hosts"][0]["removed"]}
    removed = {r["path"].replace(str(other.resolve()), "") for r in done["hosts"][0]["removed"]
               if r["ok"]}
    assert planned == removed and planned
    gone = {"/" + p for p, _, _ in before} - {"/" + p for p, _, _ in tree_of(other)}
    assert planned <= gone
    assert plan["totals"]["reclaimable_bytes"] == done["totals"]["reclaimed_bytes"] > 0


def test_destructive_without_terminal_needs_yes(pip_cache: Path, home: Path, run_cachekit) -> None:
    before = tree_of(pip_cache)
    for args in (["purge"], ["remove", "alpha"]):
        out = run_cachekit(args, pip_cache)
        assert out.returncode == 1
        assert "--yes" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert tree_of(pip_cache) == before


# Beyond pip ---------------------------------------------------------------------------

@pytest.mark.parametrize("pattern", ["Foo_Bar", "foo-bar", "foo.bar", "FOO.BAR", "foo-bar-2.0"])
def test_normalised_names_find_the_wheel(pip_cache: Path, home: Path, pattern: str,
                                         run_cachekit) -> None:
    theirs = pip(["cache", "list", "--format=abspath", pattern], pip_cache, home)
    assert theirs.stdout.strip() == ""  # pip does not normalise: the documented difference
    ours = run_cachekit(["list", pattern, "--format", "abspath"], pip_cache)
    assert ours.stdout.strip().endswith("foo_bar-2.0-py3-none-any.whl")


def test_downloads_are_attributed_listed_and_removed(pip_cache: Path, home: Path,
                                                     run_cachekit) -> None:
    listed = json.loads(run_cachekit(["list", "beta", "--downloads", "--format", "json"], pip_cache,
                                     expect=0).stdout)
    entries = listed["hosts"][0]["entries"]
    kinds = sorted((e["kind"], e["version"]) for e in entries)
    assert kinds == [("index page", ""), ("wheel", "1.0"), ("wheel", "1.1")]
    before = int(pip_info(pip_cache, home)["Number of HTTP files"])
    plain = run_cachekit(["remove", "beta", "--yes"], pip_cache)
    assert plain.returncode == 0
    assert int(pip_info(pip_cache, home)["Number of HTTP files"]) == before  # as pip does
    out = run_cachekit(["remove", "beta", "--downloads", "--yes"], pip_cache)
    assert out.returncode == 0, out.stderr
    assert int(pip_info(pip_cache, home)["Number of HTTP files"]) == before - 6
    again = json.loads(run_cachekit(["list", "beta", "--downloads", "--format", "json"], pip_cache,
                                    expect=0).stdout)
    assert again["hosts"][0]["entries"] == []
    gamma = json.loads(run_cachekit(["list", "gamma", "--downloads", "--format", "json"], pip_cache,
                                    expect=0).stdout)
    assert {e["kind"] for e in gamma["hosts"][0]["entries"]} == {"wheel", "sdist", "index page"}


def test_report_splits_attributed_bytes(pip_cache: Path, home: Path, run_cachekit) -> None:
    doc = json.loads(run_cachekit(["report", "--attribute", "--format", "json"], pip_cache,
                                  expect=0).stdout)
    c = doc["hosts"][0]["caches"][0]
    assert c["attributed_bytes"] > 0 and c["unattributed_bytes"] > 0
    assert c["attributed_bytes"] + c["unattributed_bytes"] == c["http_bytes"]
    assert 0 < c["reclaimable_bytes"] <= c["bytes"]
    table = run_cachekit(["report", "--attribute"], pip_cache)
    assert re.search(r"^local\s+ok\s", table.stdout, re.M) and "UNATTRIBUTED" in table.stdout


def test_report_reclaimable_is_what_purge_frees(tmp_path: Path, pip_cache: Path,
                                                home: Path, run_cachekit) -> None:
    """The quick figure (one totals walk) agrees with the exact purge plan."""
    (pip_cache / "selfcheck.json").write_text("{}")
    outside = tmp_path / "linked-out"
    os.link(next(pip_cache.glob("http-v2/**/*.body")), outside)  # not freed by a purge
    quick = json.loads(run_cachekit(["report", "--format", "json"], pip_cache,
                                    expect=0).stdout)["hosts"][0]["caches"][0]
    exact = json.loads(run_cachekit(["report", "--attribute", "--format", "json"], pip_cache,
                                    expect=0).stdout)["hosts"][0]["caches"][0]
    plan = json.loads(run_cachekit(["purge", "--dry-run", "--format", "json"], pip_cache,
                                   expect=0).stdout)["totals"]
    assert quick["reclaimable_bytes"] == exact["reclaimable_bytes"] == plan["reclaimable_bytes"]
    assert "attributed_bytes" not in quick


def test_attribution_keeps_access_times(pip_cache: Path, home: Path, run_cachekit) -> None:
    bodies = sorted(pip_cache.glob("http-v2/**/*.body"))
    before = {p: p.stat().st_atime_ns for p in bodies}
    json.loads(run_cachekit(["list", "beta", "--downloads", "--format", "json"], pip_cache,
                            expect=0).stdout)
    assert {p: p.stat().st_atime_ns for p in bodies} == before

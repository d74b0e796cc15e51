"""`trend` over synthetic histories spanning weeks: dry runs left out, sizes compared per
manager, growth per week only over a history long enough, old records still read."""

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional

from cachekit import runs
from tests.fixtures import program

GB = 10 ** 9
DAY = 86400


def stamp(day: float) -> str:
    import datetime

    start = datetime.datetime(2026, 10, 1, 3, 17, tzinfo=datetime.timezone.utc)
    return (start + datetime.timedelta(days=day)).isoformat(timespec="seconds")


def run(host: str, day: float, sizes: Dict[str, int], after: Optional[Dict[str, int]] = None,
        dry_run: bool = False, status: str = "ok") -> Dict[str, Any]:
    """A record as this version writes it."""
    return {"time": stamp(day), "host": host, "command": "prune", "status": status,
            "dry_run": dry_run, "bytes": sum(sizes.values()),
            "after_bytes": None if after is None else sum(after.values()),
            "reclaimed_bytes": 0, "free_bytes": 10 * GB, "managers": sizes,
            "after_managers": after, "format": 2, "error": None}


def old_run(host: str, day: float, sizes: Dict[str, int], reclaimed: int,
            dry_run: bool) -> Dict[str, Any]:
    """A record exactly as the previous version wrote it (after derived, not measured)."""
    before = sum(sizes.values())
    return {"time": stamp(day), "host": host, "command": "prune", "status": "ok",
            "dry_run": dry_run, "bytes": before,
            "after_bytes": max(before - (0 if dry_run else reclaimed), 0),
            "reclaimed_bytes": 0 if dry_run else reclaimed, "free_bytes": None,
            "managers": sizes, "error": None}


def write(path: Path, lines: List[Dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))
    return path


def rows_of(path: Path, pip_cache: Path, home: Path) -> Dict[tuple, Dict[str, Any]]:
    done = program.run_cachekit(["trend", "--history", str(path), "--format", "json"], pip_cache,
                                home=home)
    assert done.returncode == 0, done.stderr
    return {(r["host"], r["manager"]): r for r in json.loads(done.stdout)["hosts"]}


def test_dry_runs_and_other_managers_do_not_bend_a_manager_s_growth(
        tmp_path: Path, pip_cache: Path, home: Path) -> None:
    lines = []
    for week in range(4):  # nightly pip+uv: pip +1 GB a week, uv +0.5 GB a week
        sizes = {"pip": (10 + week) * GB, "uv": 4 * GB + week * GB // 2}
        lines.append(run("build01", 7 * week, sizes, {"pip": 2 * GB, "uv": 1 * GB}))
        # a dry run the same night over a far bigger conda cache: left out
        lines.append(run("build01", 7 * week + 0.01, {"conda": 500 * GB, **sizes}, dry_run=True))
        # a pip-only run: counts for pip, says nothing about uv
        lines.append(run("build01", 7 * week + 3, {"pip": (10 + week) * GB + 3 * GB // 7}))
    lines.append(run("build01", 30, {"pip": 999 * GB}, status="failed"))
    rows = rows_of(write(tmp_path / "h.jsonl", lines), pip_cache, home)
    assert set(rows) == {("build01", "pip"), ("build01", "uv")}  # no conda: dry runs only
    assert rows[("build01", "pip")]["runs"] == 8 and rows[("build01", "uv")]["runs"] == 4
    assert round(rows[("build01", "pip")]["growth_per_week"] / GB, 6) == 1.0
    assert round(rows[("build01", "uv")]["growth_per_week"] / GB, 6) == 0.5
    assert rows[("build01", "uv")]["after_bytes"] == 1 * GB
    assert rows[("build01", "pip")]["after_bytes"] is None  # the last pip run: none recorded


def test_growth_needs_three_runs_over_three_days_and_says_so(tmp_path: Path, pip_cache: Path,
                                                             home: Path, run_cachekit) -> None:
    lines = [run("fast", i * 12 / DAY, {"pip": (1 + i) * GB}, {"pip": GB}) for i in range(10)]
    lines += [run("two-days", d, {"pip": int(GB * (1 + d))}, {"pip": GB}) for d in (0, 1, 2)]
    lines += [run("three-days", d, {"pip": int(GB * (1 + d))}, {"pip": GB}) for d in (0, 1.5, 3)]
    path = write(tmp_path / "h.jsonl", lines)
    rows = rows_of(path, pip_cache, home)
    assert rows[("fast", "pip")]["growth_per_week"] is None
    assert rows[("fast", "pip")]["growth_note"] == (
        "10 runs over 2 min; growth per week needs at least 3 runs over 3 days")
    assert rows[("two-days", "pip")]["growth_per_week"] is None
    assert round(rows[("three-days", "pip")]["growth_per_week"] / GB, 6) == 7.0
    table = run_cachekit(["trend", "--history", str(path)], pip_cache).stdout
    fast = next(line for line in table.splitlines() if line.startswith("fast "))
    assert " - " in fast and "GB " in fast and "+" not in fast
    assert "No PER WEEK yet:" in table
    assert "  fast pip: 10 runs over 2 min; growth per week needs" in table
    assert "  two-days pip: 3 runs over 2 days;" in table
    assert "three-days pip:" not in table


def test_records_of_the_previous_version_are_read(tmp_path: Path, pip_cache: Path,
                                                  home: Path, run_cachekit) -> None:
    lines = [old_run("gpu01", d, {"pip": (20 + d) * GB, "uv": 5 * GB}, 3 * GB, False)
             for d in (0, 7, 14)]
    lines.append(old_run("gpu01", 14.01, {"pip": 900 * GB}, 0, True))
    path = write(tmp_path / "h.jsonl", lines)
    path.write_text(path.read_text() + "not json\n")
    rows = rows_of(path, pip_cache, home)
    assert round(rows[("gpu01", "pip")]["growth_per_week"] / GB, 6) == 7.0
    assert rows[("gpu01", "uv")]["growth_per_week"] == 0.0
    # its after size was derived for the whole host (hard links made it wrong): not shown
    assert rows[("gpu01", "pip")]["after_bytes"] is None
    for limit, over in (("38GB", True), ("40GB", False)):  # the host: 34 GB pip + 5 GB uv
        done = run_cachekit(["trend", "--history", str(path), "--threshold", limit], pip_cache)
        assert done.returncode == 0, done.stderr
        assert ("OVER" in done.stdout) is over
        assert (done.stdout.splitlines()[-1] == f"Above {limit[:2]}.0 GB: gpu01") is over


def test_dry_runs_are_recorded_as_such_and_trend_says_there_is_nothing(
        pip_cache: Path, home: Path, tmp_path: Path, run_cachekit) -> None:
    path = tmp_path / "h.jsonl"
    dry = run_cachekit(["prune", "--managers", "pip", "--max-size", "1kB", "--dry-run",
                        "--history", str(path)], pip_cache)
    assert dry.returncode == 0, dry.stderr
    [line] = [json.loads(x) for x in path.read_text().splitlines()]
    assert line["dry_run"] is True and line["after_bytes"] is None
    assert line["after_managers"] is None and line["managers"]["pip"] == line["bytes"]
    shown = run_cachekit(["trend", "--history", str(path)], pip_cache)
    assert shown.stdout.strip() == ("No prune runs in the history yet (dry runs and failed "
                                    "runs do not count).")


def test_a_real_prune_records_sizes_measured_after_it(pip_cache: Path, home: Path,
                                                      tmp_path: Path, run_cachekit) -> None:
    path = tmp_path / "h.jsonl"
    done = run_cachekit(["prune", "--managers", "pip", "--max-size", "4kB", "--yes",
                         "--history", str(path)], pip_cache)
    assert done.returncode == 0, done.stderr
    [line] = [json.loads(x) for x in path.read_text().splitlines()]
    info = json.loads(run_cachekit(["info", "--managers", "pip", "--format", "json"],
                                   pip_cache).stdout)["hosts"][0]["caches"][0]
    assert line["after_managers"] == {"pip": info["bytes"]} and line["format"] == 2
    assert line["after_bytes"] == info["bytes"] <= 4000 < line["bytes"]


def test_history_units() -> None:
    assert runs.span_text(120) == "2 min" and runs.span_text(3 * DAY) == "3 days"
    assert runs.span_text(36 * 3600) == "36 h" and runs.span_text(5) == "5 s"


def test_a_crossing_out_of_sight_is_none_not_a_crash(tmp_path: Path, pip_cache: Path,
                                                     run_cachekit) -> None:
    """100 bytes a week towards 20 GB is 380,000 years away, past the calendar's year
    9999: no crossing in sight (null in the JSON, "-" on the page), whatever the format."""
    lines = [run("slow", d, {"pip": 1_000_000 + 100 * i}) for i, d in enumerate((0, 7, 14))]
    path = write(tmp_path / "h.jsonl", lines)
    page = tmp_path / "t.html"
    for fmt in ("table", "markdown", "json"):
        done = run_cachekit(["trend", "--history", str(path), "--threshold", "20GB",
                             "--format", fmt, "--html", str(page)], pip_cache)
        assert done.returncode == 0, done.stderr
    [slow] = json.loads(done.stdout)["host_totals"]
    assert round(slow["growth_per_week"]) == 100 and slow["crosses_threshold"] is None
    assert re.search(r'data-host="slow".*?<span class="num">-</span><span class="num small">',
                     page.read_text())
    plain = run_cachekit(["trend", "--history", str(path), "--threshold", "20GB"], pip_cache)
    assert plain.returncode == 0 and plain.stdout.startswith("HOST"), plain.stderr
    # within a hundred years it is still projected
    near = run_cachekit(["trend", "--history", str(path), "--threshold", "1.4MB",
                         "--format", "json"], pip_cache)
    [slow] = json.loads(near.stdout)["host_totals"]
    assert slow["crosses_threshold"].startswith("2103-")  # 3,800 weeks after day 14


def test_times_at_the_end_of_the_calendar_do_not_crash_the_page(tmp_path: Path,
                                                                pip_cache: Path,
                                                                run_cachekit) -> None:
    """A history whose clock ran to 9999 (a bad RTC): the projection past it and the
    page's dates (UTC of 9999-12-31 at -05:00 is in year 10000) are left out, not fatal."""
    lines = [dict(run("late", 0, {"pip": (1 + i) * GB}), time=f"9999-12-{d}T23:00:00-05:00")
             for i, d in enumerate((17, 24, 31))]
    path = write(tmp_path / "h.jsonl", lines)
    page = tmp_path / "t.html"
    done = run_cachekit(["trend", "--history", str(path), "--threshold", "10GB",
                         "--format", "json", "--html", str(page)], pip_cache)
    assert done.returncode == 0, done.stderr
    [late] = json.loads(done.stdout)["host_totals"]
    assert late["growth_per_week"] > 0 and late["crosses_threshold"] is None
    assert 'data-host="late"' in page.read_text()


def test_one_reading_of_history_times() -> None:
    """runs.stamp_seconds and runs.iso_time are the one place times are read and written
    (trend, its host totals and the trend page): anything that is not a time is None."""
    assert runs.stamp_seconds("2026-10-01T03:17:00+00:00") == 1790824620.0
    for bad in (None, "", "yesterday", "0001-01-01T00:00:00", 17):
        assert runs.stamp_seconds(bad) is None
    assert runs.iso_time(1790824620.0) == "2026-10-01T03:17:00+00:00"
    for far in (1e20, -1e20, 253402318799.0):  # the last: 9999-12-31 23:59:59 at -05:00
        assert runs.iso_time(far) is None
    lines = [run("a", d, {"pip": (1 + d) * GB}) for d in (0, 7, 14)]
    lines.insert(1, dict(run("a", 3, {"pip": 500 * GB}), time="0001-01-01T00:00:00"))
    [row] = runs.trend(lines)
    assert row["runs"] == 3 and round(row["growth_per_week"] / GB, 6) == 7.0
    assert list(runs.host_series(lines)["a"]) == [
        (runs.stamp_seconds(stamp(d)), (1 + d) * GB, None) for d in (0, 7, 14)]

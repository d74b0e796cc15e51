"""The aggregated report: sorted rows, a totals row, and the formats people feed elsewhere."""

import csv
import io

import pytest

from cachekit.render import report


def host(name, status="ok", pip=0, reclaimable=0, free=1000, error=None):
    caches = [{"manager": "pip", "bytes": pip, "reclaimable_bytes": reclaimable}] \
        if status == "ok" else []
    return {"host": name, "status": status, "error": error, "elapsed_s": 0.5,
            "disk": {"total_bytes": 10**9, "free_bytes": free} if status == "ok" else None,
            "caches": caches}


HOSTS = [host("build10", pip=5_000_000, reclaimable=4_000_000), host("build2", pip=1500),
         host("dead", "unreachable", error="no answer from 127.0.0.99:22 within 3 s")]


def test_csv_has_exact_bytes_sorted_rows_and_totals() -> None:
    rows = list(csv.reader(io.StringIO(report.render_report(HOSTS, "csv"))))
    assert rows[0][:4] == ["host", "status", "pip", "total"]
    assert [r[0] for r in rows[1:]] == ["build2", "build10", "dead", "TOTAL (3 hosts)"]
    assert rows[2][2] == "5000000" and rows[-1][3] == "5001500" and rows[-1][1] == "1 failed"
    assert rows[3][-1].startswith("no answer")


@pytest.mark.parametrize("fmt,marker", [("markdown", "|---"), ("table", "-----"),
                                        ("grid", "+===")])
def test_table_formats(fmt: str, marker: str) -> None:
    text = report.render_report(HOSTS, fmt)
    assert marker in text and "5.0 MB" in text and "TOTAL (3 hosts)" in text


def test_report_formats_include_tabulate_ones() -> None:
    formats = report.report_formats()
    assert formats[:4] == ["table", "json", "markdown", "csv"] and "grid" in formats

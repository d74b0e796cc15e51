"""The pages in a real browser (headless Chromium over the DevTools pipe): a 200-host
report and trend, hostile host names and errors, dark mode and print. The 3-host page of
a real fleet is tests/fleet/test_html_fleet.py. Screenshots go to build/screenshots (or
$CACHEKIT_SCREENSHOTS); the run's summary lists them."""

import json
from pathlib import Path
from typing import Any, Dict

from cachekit import catalog, runs
from cachekit.render import document, human_bytes
from cachekit.render import html as pages
from tests.controller.test_html import hostile_document
from tests.fixtures.browser import page_data, page_facts, shoot, sort_by
from tests.fixtures.synthetic_fleet import history, report_hosts

GB = 10 ** 9


def no_trouble(page: Any, path: Path) -> None:
    """Nothing but the file was requested; nothing was logged as an error."""
    assert page.requests == [path.resolve().as_uri()], page.requests
    assert page.errors == [], page.errors


def test_200_host_report_in_the_browser(browser: Any, tmp_path: Path) -> None:
    hosts = report_hosts(200, seed=7)
    doc = document.document("report", False, hosts)
    path = tmp_path / "report-200.html"
    pages.write(str(path), pages.report_page(doc, catalog.order(), ("bytes", 50 * GB), "50GB"))
    page = browser.new_page()
    page.open(path)
    facts = page_facts(page)
    ok = [h for h in hosts if h["status"] == "ok"]
    failed = [h for h in hosts if h["status"] != "ok"]
    assert len(facts["hosts"]) == len(ok) and facts["table_rows"] == len(hosts)
    present = {c["manager"] for h in ok for c in h["caches"]}
    assert [m["manager"] for m in facts["legend"]] == [m for m in catalog.order() if m in present]
    assert len({m["colour"] for m in facts["legend"]}) == len(facts["legend"])  # told apart
    by_slot = {m["slot"]: m["manager"] for m in facts["legend"]}
    sizes = {h["host"]: h for h in ok}
    for row in facts["hosts"]:  # one segment per manager with bytes, in the legend's order
        caches = sizes[row["host"]]["caches"]
        assert [by_slot[s] for s in row["slots"]] == [
            m for m in catalog.order() if any(c["manager"] == m and c["bytes"] for c in caches)]
    totals = [sum(c["bytes"] for c in sizes[r["host"]]["caches"]) for r in facts["hosts"]]
    assert totals == sorted(totals, reverse=True)  # sorted by size
    assert facts["glance"]["fig-total"] == human_bytes(sum(c["bytes"] for h in ok
                                                           for c in h["caches"]))
    assert facts["glance"]["fig-reclaimable"] == human_bytes(doc["totals"]["reclaimable_bytes"])
    assert facts["glance"]["fig-failed"] == str(len(failed))
    assert facts["glance"]["fig-over"] == str(sum(t > 50 * GB for t in totals))
    assert sorted(r[0] for r in facts["failed"]) == sorted(h["host"] for h in failed)
    assert {r[2] for r in facts["failed"]} == {h["error"] for h in failed}
    assert page_data(page) == json.loads(json.dumps(doc))  # gzip+base64 at this size
    order = sort_by(page, "total")
    assert order[0] == min(ok, key=lambda h: sum(c["bytes"] for c in h["caches"]))["host"] \
        or order[0] in {h["host"] for h in failed}  # failed hosts have no total: first
    order = sort_by(page, "total")  # a second click: largest first
    assert order[0] == facts["hosts"][0]["host"]
    no_trouble(page, path)
    shoot(page, "report-200")


def test_200_host_trend_in_the_browser(browser: Any, tmp_path: Path) -> None:
    lines = history(200, 90, seed=7)
    rows = runs.trend(lines)
    doc: Dict[str, Any] = {"hosts": rows, "threshold_bytes": 60 * GB,
                           "host_totals": runs.host_totals(lines, rows, 60 * GB)}
    path = tmp_path / "trend-200.html"
    pages.write(str(path), pages.trend_page(doc, runs.host_series(lines), catalog.order()))
    page = browser.new_page()
    page.open(path)
    facts = page_facts(page)
    assert len(facts["hosts"]) == 200 and facts["table_rows"] == len(rows)
    assert page.evaluate("document.querySelectorAll('.rows .host svg.hist path.size').length") \
        == 200
    prunes = page.evaluate("document.querySelectorAll('svg.hist path.prune').length")
    assert prunes == len({line["host"] for line in lines
                          if (line.get("after_bytes") or 0) < line["bytes"] and
                          line["status"] == "ok" and line["after_bytes"] is not None})
    over = sum(bool(t["over_threshold"]) for t in doc["host_totals"])
    assert facts["glance"]["fig-over"] == str(over)
    assert facts["glance"]["fig-crossing"] == str(
        sum(t["crosses_threshold"] is not None for t in doc["host_totals"]))
    failed = [t for t in doc["host_totals"] if t["last_status"] != "ok"]
    assert sorted(r[0] for r in facts["failed"]) == sorted(t["host"] for t in failed)
    assert page_data(page) == json.loads(json.dumps(doc))
    no_trouble(page, path)
    shoot(page, "trend-200")


def test_hostile_host_names_and_errors_run_nothing(browser: Any, tmp_path: Path) -> None:
    doc = hostile_document()
    path = tmp_path / "hostile.html"
    pages.write(str(path), pages.report_page(doc, catalog.order()))
    page = browser.new_page()
    page.open(path)
    assert page.evaluate("typeof window.pwned") == "undefined"
    facts = page_facts(page)
    assert facts["scripts"] == 2  # the data and the page's own: none from a host
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    names = [h["host"] for h in doc["hosts"]]
    assert names[0] in [r["host"] for r in facts["hosts"]]  # shown as text, exactly
    assert facts["failed"][0][0] == "<b>dead</b>" and facts["failed"][0][2] == doc["hosts"][-1][
        "error"]
    assert page_data(page) == json.loads(json.dumps(doc))
    no_trouble(page, path)


def test_dark_scheme_and_print(browser: Any, tmp_path: Path) -> None:
    doc = document.document("report", False, report_hosts(5, seed=9, failures=0))
    path = tmp_path / "print.html"
    pages.write(str(path), pages.report_page(doc, catalog.order()))
    page = browser.new_page()
    page.open(path)
    light = page_facts(page)
    page.colour_scheme("dark")
    dark = page_facts(page)
    assert light["background"] == "rgb(255, 255, 255)" and dark["background"] != \
        light["background"]
    assert [m["colour"] for m in light["legend"]] != [m["colour"] for m in dark["legend"]]
    page.colour_scheme("light")
    page.send("Emulation.setEmulatedMedia", {"media": "print"})
    assert page.evaluate("getComputedStyle(document.getElementById('save-json')).display") \
        == "none"
    assert page.evaluate("getComputedStyle(document.querySelector('#data-table th')).position") \
        == "static"
    page.send("Emulation.setEmulatedMedia", {"media": ""})
    pdf = page.send("Page.printToPDF", {"printBackground": True})
    assert len(pdf["data"]) > 1000
    no_trouble(page, path)

"""`report --html` and `trend --html` without a browser: the page's data is what
`--format json` prints, everything from hosts is escaped, nothing outside the file is
referred to, any manager the data holds is shown, and 500 hosts stay under a megabyte.
(tests/controller/test_html_browser.py opens the pages in Chromium.)"""

import base64
import gzip
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from cachekit import catalog, runs
from cachekit.render import document, human_bytes
from cachekit.render import html as pages
from tests.controller.test_install import copy_of_repo
from tests.controller.test_trend import run, write
from tests.fixtures import REPO
from tests.fixtures.synthetic_fleet import history, report_hosts

GB = 10 ** 9
HOSTILE_HOST = 'web01"><script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
HOSTILE_ERROR = ("no answer from <script>window.pwned=3</script> & </script><!-- "
                 "<svg onload=window.pwned=4>")


def embedded(page: str) -> Any:
    """The page's data: plain JSON, or gzip+base64 for a large document."""
    kind, body = re.search(r'<script type="([^"]+)" id="cachekit-data">(.*?)</script>',
                           page, re.S).groups()
    if kind == "application/gzip+base64":
        return json.loads(gzip.decompress(base64.b64decode(body)))
    assert kind == "application/json"
    return json.loads(body)


def attributes(page: str) -> List[str]:
    """The names of every attribute of every element (text that looks like one is not)."""
    from html.parser import HTMLParser

    found: List[str] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: List[Any]) -> None:
            found.extend(name for name, _value in attrs)

    Collect().feed(page)
    return found


def self_contained(page: str) -> None:
    """No reference to anything outside the page: no src/href, no url() but the page's
    own pattern, no @import; a CSP that allows no request and only the page's script."""
    assert not [a for a in attributes(page) if a in ("src", "href", "srcset", "action",
                                                     "xlink:href", "poster", "data")]
    assert set(re.findall(r"url\(([^)]*)\)", page)) <= {"#hatch"}
    assert "@import" not in page and "http://" not in page.replace(
        "http://www.w3.org", "") and "https://" not in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp
    for kind in ("script", "style"):  # only the page's own, each by its hash
        [own] = re.findall(rf"<{kind}>(.*?)</{kind}>", page, re.S)
        digest = base64.b64encode(hashlib.sha256(own.encode()).digest()).decode()
        assert f"{kind}-src 'sha256-{digest}'" in csp
    assert "unsafe" not in csp


def test_report_html_holds_the_json_report_prints(pip_cache: Path, home: Path, tmp_path: Path,
                                                 run_cachekit) -> None:
    page_path = tmp_path / "site" / "index.html"  # a directory that is not there yet
    done = run_cachekit(["report", "--format", "json", "--html", str(page_path)], pip_cache)
    assert done.returncode == 0, done.stderr
    page = page_path.read_text()
    assert embedded(page) == json.loads(done.stdout)
    self_contained(page)
    assert 'data-host="local"' in page and 'data-manager="pip"' in page
    # with --html the terminal table is left out; another format still prints
    quiet = run_cachekit(["report", "--html", str(page_path)], pip_cache)
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stderr
    shown = run_cachekit(["report", "--format", "markdown", "--html", str(page_path)], pip_cache)
    assert shown.stdout.startswith("| HOST")


def test_report_html_is_written_when_over_fail_above(pip_cache: Path, tmp_path: Path,
                                                     run_cachekit) -> None:
    page_path = tmp_path / "r.html"
    done = run_cachekit(["report", "--fail-above", "1kB", "--html", str(page_path)], pip_cache)
    assert done.returncode == 3 and "over --fail-above 1kB: local" in done.stderr
    page = page_path.read_text()
    assert re.search(r'id="fig-over">.*?<b>1</b>.*?1kB', page, re.S)
    assert '<div class="host over" data-host="local"' in page


def test_an_unwritable_html_path_is_one_line(pip_cache: Path, tmp_path: Path,
                                             run_cachekit) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = run_cachekit(["report", "--html", str(blocker / "r.html")], pip_cache)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[0].startswith("cachekit: error: cannot write --html")


def test_trend_html_holds_the_json_trend_prints(tmp_path: Path, pip_cache: Path,
                                               run_cachekit) -> None:
    lines = [run("build01", d, {"pip": (10 + d) * GB, "uv": 2 * GB},
                 {"pip": 5 * GB, "uv": 2 * GB}) for d in range(0, 28, 7)]
    lines += [run("gpu01", d, {"conda": (40 + 2 * d) * GB}) for d in range(0, 28, 7)]
    lines.append(run("gpu02", 27, {}, status="unreachable") | {"error": "no answer <b>"})
    history_file = write(tmp_path / "h.jsonl", lines)
    page_path = tmp_path / "t.html"
    done = run_cachekit(["trend", "--history", str(history_file), "--threshold", "100GB",
                         "--format", "json", "--html", str(page_path)], pip_cache)
    assert done.returncode == 0, done.stderr
    page = page_path.read_text()
    doc = json.loads(done.stdout)
    assert embedded(page) == doc
    self_contained(page)
    totals = {t["host"]: t for t in doc["host_totals"]}
    # gpu01: 82 GB on day 21, 14 GB a week more: over 100 GB nine days later;
    # build01: 33 GB, 7 GB a week more: 67 days later
    assert totals["gpu01"]["growth_per_week"] == pytest.approx(14 * GB)
    assert totals["gpu01"]["crosses_threshold"].startswith("2026-10-31")
    assert totals["build01"]["crosses_threshold"].startswith("2026-12-28")
    assert totals["gpu02"]["last_status"] == "unreachable" and totals["gpu02"]["runs"] == 0
    assert re.search(r'data-host="gpu01".*?2026-10-31', page)
    assert "no answer &lt;b&gt;" in page and "no answer <b>" not in page
    quiet = run_cachekit(["trend", "--history", str(history_file), "--html", str(page_path)],
                         pip_cache)
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_host_growth_and_projection() -> None:
    lines = [run("a", d, {"pip": (10 + d) * GB}) for d in range(0, 21, 3)]
    rows = runs.trend(lines)
    [a] = runs.host_totals(lines, rows, 30 * GB)
    assert a["growth_per_week"] == pytest.approx(7 * GB)
    assert a["bytes"] == 28 * GB and a["over_threshold"] is False
    assert a["crosses_threshold"].startswith("2026-10-21")  # day 18 + 2 GB at 1 GB a day
    [b] = runs.host_totals(lines, rows, 20 * GB)
    assert b["over_threshold"] is True and b["crosses_threshold"] is None
    [c] = runs.host_totals(lines, rows, None)
    assert c["over_threshold"] is None and c["crosses_threshold"] is None


def hostile_document() -> Dict[str, Any]:
    hosts = report_hosts(3, seed=1, failures=0)
    hosts[0]["host"] = HOSTILE_HOST
    hosts[0]["caches"][0]["warnings"] = ["<script>window.pwned=5</script>"]
    hosts.append({"host": "<b>dead</b>", "status": "unreachable", "error": HOSTILE_ERROR,
                  "elapsed_s": 3.0, "disk": None, "caches": [], "removed": [],
                  "reclaimed_bytes": 0})
    return document.document("report", False, hosts)


def test_everything_from_hosts_is_escaped() -> None:
    doc = hostile_document()
    page = pages.report_page(doc, catalog.order())
    assert "window.pwned" in page  # the text is there ...
    assert "<script>window" not in page and "<img" not in page and "<svg onload" not in page
    assert "<b>dead" not in page and "&lt;b&gt;dead&lt;/b&gt;" in page  # ... as text
    assert page.count("<script") == 2  # the data and the page's own script
    assert embedded(page) == json.loads(json.dumps(doc))
    self_contained(page)


def test_any_manager_in_the_data_is_shown_in_the_registry_s_order() -> None:
    hosts = report_hosts(4, seed=2, failures=0)
    hosts[0]["caches"].append({"manager": "zeta-new", "path": "/z", "exists": True,
                               "bytes": 5 * GB, "reclaimable_bytes": GB})
    hosts[1]["caches"].insert(0, {"manager": "toolcache", "path": "/t", "exists": True,
                                  "bytes": GB, "reclaimable_bytes": 0})
    page = pages.report_page(document.document("report", False, hosts), catalog.order())
    shown = re.findall(r'<li data-manager="([^"]+)">', page)
    present = {c["manager"] for h in hosts for c in h["caches"]}
    assert shown == [m for m in catalog.order() if m in present] + ["zeta-new"]
    assert re.search(r"<th class=\"n\">zeta-new</th>", page)
    # nothing in the renderer names a manager: they all come from the data and the registry
    for path in (REPO / "cachekit/render/html").rglob("*"):
        if path.is_file() and path.suffix in (".py", ".j2", ".css", ".js"):
            for name in catalog.order():
                assert not re.search(rf"\b{name}\b", path.read_text()), (path, name)


def test_per_user_bars_within_a_host() -> None:
    hosts = report_hosts(1, seed=3, failures=0)
    caches = hosts[0]["caches"]
    for c, user in zip(caches, ["ana", "bob", "ana", "bob"]):
        c["user"] = user
    hosts[0]["users"] = [{"user": "ana", "status": "ok", "error": None, "elapsed_s": 1},
                         {"user": "bob", "status": "failed", "error": "sudo: <denied>",
                          "elapsed_s": 1}]
    page = pages.report_page(document.document("report", False, hosts), catalog.order())
    assert len(re.findall(r'<div class="user" data-host="[^"]+" data-user="(ana|bob)"', page)) == 2
    assert "sudo: &lt;denied&gt;" in page


def fleet_of(count: int) -> Dict[str, Any]:
    return document.document("report", False, report_hosts(count))


def trend_doc(lines: List[Dict[str, Any]], threshold: int) -> Dict[str, Any]:
    rows = runs.trend(lines)
    return {"hosts": rows, "threshold_bytes": threshold,
            "host_totals": runs.host_totals(lines, rows, threshold)}


def test_500_hosts_with_90_days_stay_under_a_megabyte() -> None:
    doc = fleet_of(500)
    report = pages.report_page(doc, catalog.order(), ("bytes", 50 * GB), "50GB")
    assert len(report.encode()) < 1_000_000, len(report.encode())
    assert embedded(report) == json.loads(json.dumps(doc))
    assert report.count('<div class="host') == sum(h["status"] == "ok" for h in doc["hosts"])
    lines = history(500, 90)
    tdoc = trend_doc(lines, 50 * GB)
    trend = pages.trend_page(tdoc, runs.host_series(lines), catalog.order())
    assert len(trend.encode()) < 1_000_000, len(trend.encode())
    assert embedded(trend) == json.loads(json.dumps(tdoc))
    self_contained(report)
    self_contained(trend)
    total = sum(c.get("bytes") or 0 for h in doc["hosts"] for c in h.get("caches", []))
    assert f"<b>{human_bytes(total)}</b>" in report


def test_an_installed_wheel_carries_the_templates(tmp_path: Path) -> None:
    checkout = copy_of_repo(tmp_path / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "-w", str(tmp_path / "dist"), "."],
                           cwd=checkout, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("cachekit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("report.html.j2", "trend.html.j2", "base.html.j2", "page.css", "page.js"):
        assert f"cachekit/render/html/templates/{name}" in names
    meta = next(n for n in names if n.endswith("METADATA"))
    assert "Requires-Dist: jinja2>=3.1" in zipfile.ZipFile(wheel).read(meta).decode()


def test_undecodable_bytes_are_escaped_on_the_page_and_kept_in_its_data(
        tmp_path: Path, pip_cache: Path, run_cachekit) -> None:
    """A host's name and error with a byte that is not UTF-8 (kept by the core as a
    surrogate), a right-to-left override, an ESC and a tab: the page shows them as the
    terminal does (``\\xff``, ``\\u202e``, ``\\x1b``, ``\\t``), its data is still what
    ``--format json`` prints, and the page is written (it was a UnicodeEncodeError that
    left ``.cachekit-*.html`` behind)."""
    results = tmp_path / "ansible.json"
    results.write_text(json.dumps({
        "web\udcff01": {"unreachable": True,
                        "msg": "ssh: no route to db\udcfe\u202egpj.exe\x1b[31m\tnow"}}))
    site = tmp_path / "site"
    page_path = site / "r.html"
    done = run_cachekit(["report", "--from-ansible", str(results), "--format", "json",
                         "--html", str(page_path)], pip_cache)
    assert done.returncode == 2, done.stderr  # every host failed, as over SSH
    assert done.stdout.isascii() and "\\udcff" in done.stdout
    assert sorted(p.name for p in site.iterdir()) == ["r.html"]
    page = page_path.read_text()
    assert embedded(page) == json.loads(done.stdout)
    assert embedded(page)["hosts"][0]["host"] == "web\udcff01"
    shown = page.split('id="cachekit-data"')[0]  # the page's text, not its data
    assert 'data-host="web\\xff01"' in shown and "<td>web\\xff01</td>" in shown
    assert "db\\xfe\\u202egpj.exe\\x1b[31m\\tnow" in shown
    assert not re.search("[\udc80-\udcff\u202e\x1b\t]", shown)
    self_contained(page)


def test_a_page_that_cannot_be_written_leaves_no_temporary_file(tmp_path: Path) -> None:
    """Whatever stops the write (here text no encoding can write), the temporary file
    beside the target goes, and the target is not made."""
    site = tmp_path / "site"
    with pytest.raises(UnicodeEncodeError):
        pages.write(str(site / "r.html"), "<p>\udcff</p>")
    assert list(site.iterdir()) == []


def test_both_pages_draw_the_managers_section_from_one_place() -> None:
    """report and trend pages: the same managers, totals, shares and bar for the same
    sizes, from fleet_view.manager_shares."""
    from cachekit.render.html.fleet_view import manager_shares, report_view
    from cachekit.render.html.history_view import trend_view

    shares = manager_shares({"b": 3 * GB, "a": GB}, {"a": 0, "b": 1})
    assert [(m["name"], m["human"], m["share"]) for m in shares["managers"]] == [
        ("b", human_bytes(3 * GB), 75.0), ("a", human_bytes(GB), 25.0)]
    assert str(shares["share_bar"]).count("<rect") == 2
    assert manager_shares({"a": 0}, {"a": 0})["managers"][0]["share"] == 0.0
    hosts = [{"host": "h", "status": "ok", "caches": [
        {"manager": "pip", "bytes": 3 * GB, "reclaimable_bytes": 0},
        {"manager": "uv", "bytes": GB, "reclaimable_bytes": 0}]}]
    report = report_view(document.document("report", False, hosts), catalog.order())
    lines = [run("h", d, {"pip": 3 * GB, "uv": GB}) for d in (0, 7, 14)]
    trend = trend_view(trend_doc(lines, 10 * GB), runs.host_series(lines), catalog.order())
    for key in ("managers", "share_bar"):
        assert report[key] == trend[key]


def test_every_figure_a_view_computes_is_drawn() -> None:
    """Nothing computed for the page and left unshown: every field of the report's and
    the trend's views (top level, glance, host rows, user rows, failed hosts) is named in
    that page's template, but for the few the view itself works from (listed here)."""
    from cachekit.render.html.fleet_view import report_view
    from cachekit.render.html.history_view import trend_view

    folder = REPO / "cachekit/render/html/templates"
    internal = {("r", "sizes"), ("r", "reclaimables"), ("r", "disk_total"), ("u", "sizes"),
                ("u", "reclaimables"), ("u", "total"), ("h", "growth"), ("h", "crosses_s")}
    hosts = report_hosts(3, seed=3, failures=0)
    hosts.append({"host": "dead", "status": "unreachable", "error": "no answer",
                  "elapsed_s": 3.0, "disk": None, "caches": [], "removed": [],
                  "reclaimed_bytes": 0})
    for c, user in zip(hosts[0]["caches"], ["ana", "bob", "ana", "bob"]):
        c["user"] = user
    hosts[0]["users"] = [{"user": "ana", "status": "ok", "error": None, "elapsed_s": 1}]
    report = report_view(document.document("report", False, hosts), catalog.order(),
                         ("bytes", GB), "1GB")
    lines = history(3, 30)
    lines.append(dict(lines[-1], time="2026-12-05T03:17:00+00:00", status="unreachable",
                      error="no answer"))
    trend = trend_view(trend_doc(lines, 50 * GB), runs.host_series(lines), catalog.order())
    for view, name, row in ((report, "report", "r"), (trend, "trend", "h")):
        template = (folder / "base.html.j2").read_text() + (
            folder / f"{name}.html.j2").read_text()
        assert view["hosts"] and view["failed"]
        scopes = [("v", view), ("v.glance", view["glance"]), (row, view["hosts"][0]),
                  ("r", view["failed"][0]), ("m", view["managers"][0])]
        if view is report:  # trend's table rows are its --format json rows, as they are
            scopes += [("r", view["table"][0]), ("u", view["hosts"][0]["users"][0])]
        for prefix, fields in scopes:
            unshown = [k for k in fields if (prefix, k) not in internal
                       and not re.search(rf"\b{re.escape(prefix)}\.{k}\b", template)]
            assert not unshown, (name, prefix, unshown)


@pytest.mark.root
def test_users_bars_in_a_real_report(pip_cache: Path, tmp_path: Path, run_cachekit) -> None:
    """``report --users root --html``: the host's bar, and under it one bar per user the
    core read (the view's ``users`` of each host row feed them)."""
    page_path = tmp_path / "u.html"
    done = run_cachekit(["report", "--users", "root", "--format", "json", "--html",
                         str(page_path)], pip_cache)
    assert done.returncode == 0, done.stderr
    page = page_path.read_text()
    assert [u["user"] for u in json.loads(done.stdout)["hosts"][0]["users"]] == ["root"]
    assert embedded(page) == json.loads(done.stdout)
    assert re.search(r'<div class="host[^"]*" data-host="local".*?</div>\n'
                     r'<div class="user" data-host="local" data-user="root">', page, re.S)

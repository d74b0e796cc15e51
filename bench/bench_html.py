"""Time writing the HTML pages for 500 hosts with 90 days of history.

Why: the nightly run writes ``trend --html`` (and a monitoring job ``report --html``)
for the whole fleet; the page must not be what makes it slow. The target: writing the
HTML takes at most 0.5 s beyond producing the report itself, for each page.

A 500-host fleet cannot be run here, so its data is synthesized in the shape the code
writes (tests/fixtures/synthetic_fleet.py): the hosts' ``report`` results, and 90 nightly
prune lines per host in the history. Each page is timed as a pair of commands run as a
user runs them, in benchkit's interleaved rounds; the difference of the medians is the
HTML's cost (Jinja2's import included):

- ``trend``: ``cachekit trend --history H --threshold 50GB --format json`` against the
  same with ``--html FILE``;
- ``report``: the controller's end of ``report`` on the 500 host results (this script's
  ``--render``: the ``--format json`` document printed) against the same with the page
  written as ``report --html`` writes it.

Exit status: 0 both targets met, 1 one missed, 2 the benchmark could not run.

Usage: ``python bench/bench_html.py [--hosts 500] [--days 90] [--runs 7] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchkit import BenchError, clean_env, time_rounds, timing_options

REPO = str(Path(__file__).resolve().parents[1])
TARGET_S = 0.5


def render(results: str, html: str | None) -> None:
    """``report``'s controller end on saved host results: the JSON, and the page."""
    sys.path.insert(0, REPO)
    from cachekit import catalog, runs
    from cachekit.render import document

    with open(results, encoding="utf-8") as fh:
        hosts = json.load(fh)
    doc = document.document("report", False, hosts)
    print(document.to_json(doc))
    if html:
        from cachekit import policy_input
        from cachekit.render import html as pages

        pages.write(html, pages.report_page(doc, catalog.order(),
                                            policy_input.parse_threshold("50GB"), "50GB",
                                            runs.now_iso()))


def synthesize(base: Path, hosts: int, days: int) -> tuple[Path, Path]:
    sys.path.insert(0, REPO)
    from tests.fixtures.synthetic_fleet import history, report_hosts

    results, lines = base / "results.json", base / "history.jsonl"
    results.write_text(json.dumps(report_hosts(hosts)))
    lines.write_text("".join(json.dumps(line, sort_keys=True) + "\n"
                             for line in history(hosts, days)))
    return results, lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--render", nargs="+", metavar=("RESULTS", "HTML"), help=argparse.SUPPRESS)
    timing_options(ap, runs=7)
    args = ap.parse_args()
    if args.render:
        render(args.render[0], args.render[1] if len(args.render) > 1 else None)
        return 0
    py = sys.executable
    env = clean_env(("CACHEKIT_", "XDG_"), PYTHONPATH=REPO)
    with tempfile.TemporaryDirectory(prefix="bench-html-") as tmp:
        base = Path(tmp)
        results, lines = synthesize(base, args.hosts, args.days)
        trend = [py, "-m", "cachekit", "trend", "--history", str(lines), "--threshold", "50GB",
                 "--format", "json"]
        report = [py, __file__, "--render", str(results)]
        cmds = {"trend": (trend, env), "trend --html": (trend + ["--html", str(base / "t.html")],
                                                        env),
                "report": (report, env), "report --html": (report + [str(base / "r.html")], env)}
        times = time_rounds(cmds, args.runs)
        sizes = {"trend": os.path.getsize(base / "t.html"),
                 "report": os.path.getsize(base / "r.html")}
    med = {name: statistics.median(t) for name, t in times.items()}
    out = {"hosts": args.hosts, "days": args.days, "runs": args.runs, "target_s": TARGET_S,
           "pages": {}}
    ok = True
    for page in ("report", "trend"):
        extra = med[f"{page} --html"] - med[page]
        ok = ok and extra <= TARGET_S
        out["pages"][page] = {"without_html_s": round(med[page], 3),
                              "with_html_s": round(med[f"{page} --html"], 3),
                              "html_s": round(extra, 3), "bytes": sizes[page],
                              "met": extra <= TARGET_S}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.hosts} hosts, {args.days} days of history, median of {args.runs} runs")
        for page, r in out["pages"].items():
            print(f"  {page:6}  {r['without_html_s']:.3f} s without the page, "
                  f"{r['with_html_s']:.3f} s with it: the HTML takes {r['html_s']:.3f} s "
                  f"(target <= {TARGET_S} s: {'met' if r['met'] else 'MISSED'}); "
                  f"{r['bytes'] / 1e6:.2f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench_html: {exc}", file=sys.stderr)
        sys.exit(2)

"""The prune-caches action's HTML report: this runner's caches after the prune, as
``cachekit report --html`` writes the page (one self-contained file, for
actions/upload-artifact).

Runs after the prune step, only when the ``html`` input names a file. The page needs
Jinja2: action.yml puts it on PYTHONPATH (installed into the job's temporary directory)
when the runner's python3 lacks it; everything else is the standard library.
"""

import os
import socket
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, REPO)

from cachekit import catalog, runs  # noqa: E402
from cachekit.core import agent  # noqa: E402
from cachekit.errors import CachekitError  # noqa: E402
from cachekit.render import document  # noqa: E402
from cachekit.render import html as pages  # noqa: E402


def main() -> int:
    env = os.environ
    path = env["CACHEKIT_HTML"]
    managers = [m.strip() for m in env.get("CACHEKIT_MANAGERS", "").split(",") if m.strip()]
    started = time.monotonic()
    result = agent.run({"op": "report", "managers": managers or None})
    result["host"] = env.get("RUNNER_NAME") or socket.gethostname()
    result["elapsed_s"] = round(time.monotonic() - started, 3)
    doc = document.document("report", False, [result])
    pages.write(path, pages.report_page(doc, catalog.order(), generated=runs.now_iso()))
    if env.get("GITHUB_STEP_SUMMARY"):
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as out:
            out.write(f"\nHTML report of the caches: `{path}`\n")
    print(f"cachekit: HTML report written to {path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CachekitError as exc:
        print(f"::error title=prune-caches::{exc}", file=sys.stderr)
        sys.exit(1)

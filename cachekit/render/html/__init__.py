"""cachekit's self-contained HTML pages: ``report --html`` and ``trend --html``.

One file per page, with its stylesheet, its script, its charts (SVG) and its data (the
same JSON ``--format json`` prints) inside: it opens from a file share on a site with no
network, and requests nothing. Jinja2 lays the page out with autoescaping on, so host
names, paths and errors from hosts are text, never markup. The page's Content Security
Policy allows no request at all and only its own script and stylesheet (by hash): even
markup that got past the escaping could neither run, restyle the page, nor fetch anything.
"""

import base64
import contextlib
import functools
import gzip
import hashlib
import json
import os
import tempfile
from typing import Any, Dict, Optional, Sequence, Tuple

from cachekit.errors import CachekitError

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")
_env: Any = None


def environment() -> Any:
    """The Jinja2 environment, made once: autoescaping on for every template."""
    global _env
    if _env is None:
        import jinja2

        from cachekit.text import printable

        def shown(value: Any) -> Any:
            """Every text the page shows, as the terminal shows it: an undecodable byte
            from a host as ``\\xff`` (UTF-8 cannot even encode it), control,
            bidirectional and invisible characters escaped, so a name reads as it is.
            The page's own markup (script, style, data, charts) is left as it is."""
            if value.__class__ is str:  # not Markup; called for every {{ }} of the page
                return printable(value)
            return value

        _env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                  trim_blocks=True, lstrip_blocks=True,
                                  undefined=jinja2.StrictUndefined, finalize=shown)
        from cachekit.render import human_bytes
        from cachekit.render.html.history_view import signed

        _env.filters.update(pct=lambda x: f"{x:.1f}%", human=human_bytes, signed=signed)
    return _env


PLAIN_MAX = 200_000  # characters of JSON embedded as they are; a larger document is gzipped


@functools.cache
def _asset(name: str) -> str:
    """The page's stylesheet or script, as written (not a template: CSS and JavaScript
    braces would read as Jinja's)."""
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as fh:
        return fh.read()


def embedded_json(doc: Dict[str, Any]) -> Tuple[str, str]:
    """``doc`` for the page's ``<script id="cachekit-data">``, and its ``type``.

    Up to ``PLAIN_MAX`` characters it is the JSON itself (``application/json``), with
    ``<``, ``>`` and ``&`` written as escapes so no text in it can close the element;
    ``json.loads`` gives ``doc`` back. It is ASCII, as ``--format json`` prints it: an
    undecodable byte a host sent (a lone surrogate) stays ``\\udcff``, which UTF-8 could
    not carry. A larger one (a fleet of hundreds of hosts) is
    gzipped and base64-encoded (``application/gzip+base64``, a tenth of the size), so
    the page stays under a megabyte; the page's ``cachekitData()`` reads either."""
    text = json.dumps(doc, separators=(",", ":"))
    if len(text) <= PLAIN_MAX:
        safe = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return safe, "application/json"
    packed = gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)
    return base64.b64encode(packed).decode("ascii"), "application/gzip+base64"


def written_at(stamp: str) -> str:
    """'2026-12-05T08:25:28+00:00' -> '2026-12-05 08:25 UTC' (the page's subtitle)."""
    return stamp[:16].replace("T", " ") + (" UTC" if stamp.endswith("+00:00") else "")


def _page(template: str, title: str, view: Dict[str, Any], doc: Dict[str, Any],
          generated: str) -> str:
    from markupsafe import Markup

    env = environment()
    data, data_type = embedded_json(doc)
    script, style = _asset("page.js"), _asset("page.css")
    return env.get_template(template).render(
        title=title, v=view, generated=written_at(generated) if generated else "",
        script=Markup(script),
        style=Markup(style), data=Markup(data), data_type=data_type,
        script_hash=_sha256(script), style_hash=_sha256(style))


def _sha256(text: str) -> str:
    """A Content Security Policy source for an inline element holding exactly ``text``."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def report_page(doc: Dict[str, Any], known: Sequence[str], threshold: Any = None,
                threshold_text: Optional[str] = None, generated: str = "") -> str:
    """The report page of a ``--format json`` document (``report``'s, or any task's)."""
    from cachekit.render.html.fleet_view import report_view

    view = report_view(doc, known, threshold, threshold_text)
    return _page("report.html.j2", "cachekit report", view, doc, generated)


def trend_page(doc: Dict[str, Any], series: Dict[str, Any], known: Sequence[str],
               generated: str = "") -> str:
    """The trend page of ``trend``'s JSON document and each host's runs
    (``runs.host_series``: host -> (time, size, size after) of each real run)."""
    from cachekit.render.html.history_view import trend_view

    view = trend_view(doc, series, known)
    return _page("trend.html.j2", "cachekit trend", view, doc, generated)


def write(path: str, page: str) -> None:
    """Write ``page`` to ``path`` whole or not at all (a web server never serves half a
    page): a temporary file beside it, then a rename. Missing directories are made.
    Whatever stops it, the temporary file goes."""
    target = os.path.abspath(path)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cachekit-", suffix=".html",
                                   dir=os.path.dirname(target))
    except OSError as exc:
        raise CachekitError(f"cannot write --html {path}: {exc.strerror}",
                            hint="give a file in a directory you can write") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)  # a page to publish: readable by the web server
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise CachekitError(f"cannot write --html {path}: {exc.strerror}") from None
        raise

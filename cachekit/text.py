"""Text that is safe and fits on a terminal: escaping of names and messages, shortening.

Names come from file systems and hosts, so they may hold any byte: a newline would split
a table's row, an ESC would drive the operator's terminal, and an undecodable byte (kept by
the core as a surrogate escape) cannot even be encoded for output. ``printable`` is the
one place that turns such text into something a terminal shows as it is; JSON never goes
through it (``json.dumps`` escapes the real string).
"""

import os
import sys
import unicodedata
from typing import Any, Dict, List, Optional, TextIO

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
UNKNOWN_WIDTH = 80  # a terminal that does not say how wide it is
PIPE_WIDTH = None  # not a terminal, no $COLUMNS: lines as long as they need (grep, less)


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(s: Any) -> str:
    """``s`` with every character a terminal would not show as itself escaped.

    Control characters become ``\\n``, ``\\t``, ``\\x1b``; undecodable bytes ``\\xff``;
    invisible and bidirectional formatting characters ``\\u202e``. A backslash stays as
    it is, so escaping twice changes nothing: every output path may call this safely.
    """
    if not isinstance(s, str):  # a host may send a number where a name belongs
        s = str(s)
    if s.isprintable():  # the common case, at C speed
        return s
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in s)


def lines(text: str) -> str:
    """Multi-line text with each of its lines made printable; the line breaks stay."""
    return "\n".join(printable(line) for line in text.split("\n"))


def width(s: str) -> int:
    """Columns ``s`` takes on a terminal: wide East Asian characters take two, combining
    marks none. ``s`` is already printable."""
    if s.isascii():
        return len(s)
    total = len(s)
    for ch in s:  # below U+0300 (Latin and more) one column; the rest are looked up
        if ch < "\u0300":
            continue
        if unicodedata.combining(ch):
            total -= 1
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            total += 1
    return total


def _ellipsis() -> str:
    """"…" where the output can carry it, "..." on an ASCII-only stream."""
    try:
        "\u2026".encode(sys.stdout.encoding or "ascii")
        return "\u2026"
    except (UnicodeEncodeError, LookupError):
        return "..."


def _head(s: str, cols: int) -> str:
    """The longest start of ``s`` that fits in ``cols`` columns."""
    if s.isascii():
        return s[:cols]
    out, used = [], 0
    for ch in s:
        w = width(ch)
        if used + w > cols:
            break
        out.append(ch)
        used += w
    return "".join(out)


def _tail(s: str, cols: int) -> str:
    return _head(s[::-1], cols)[::-1]


def shorten_middle(s: str, cols: int) -> str:
    """``/home/u/.cache/pip/wheels/ab/cd/x.whl`` -> ``/home/u/.cache/…/x.whl``: both ends
    of a path say the most (where, and what), so the middle goes. The last component
    stays whole when it leaves room for a start; otherwise the end gets the larger share."""
    if width(s) <= cols:
        return s
    mark = _ellipsis()
    room = max(cols - len(mark), 0)
    base = s[s.rfind("/"):] if "/" in s else ""
    if base and width(base) + 4 <= room:  # the file's own name whole, if it leaves a start
        return _head(s, room - width(base)) + mark + base
    head = room // 2
    return _head(s, head) + mark + _tail(s, room - head)


def shorten_end(s: str, cols: int) -> str:
    """Free text (a note, a list of buckets) keeps its start."""
    if width(s) <= cols:
        return s
    mark = _ellipsis()
    return _head(s, max(cols - len(mark), 0)) + mark


def terminal_width(stream: Optional[TextIO] = None) -> Optional[int]:
    """How wide output to ``stream`` (default stdout) may be; None means no limit.

    An exported ``$COLUMNS`` wins (so ``COLUMNS=80 cachekit info | less`` fits 80); then
    the terminal's own size, 80 if it does not give one; a pipe or file gets no limit,
    so ``grep`` sees whole paths, as ``pip cache list`` prints them.
    """
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    stream = stream or sys.stdout
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return PIPE_WIDTH
    if not os.isatty(fd):
        return PIPE_WIDTH
    try:
        columns = os.get_terminal_size(fd).columns
    except OSError:
        columns = 0
    return columns or UNKNOWN_WIDTH


MIN_PATH = 16  # "/home/u/…/cd.whl": less says too little
MIN_TEXT = 12
GAP = "  "


def _pad(s: str, cols: int) -> str:
    return s + " " * (cols - width(s))


def _shorten(s: str, cols: int, how: Optional[str]) -> str:
    if how == "middle":
        return shorten_middle(s, cols)
    if how == "end":
        return shorten_end(s, cols)
    return s


def fit_table(rows: List[List[Any]], headers: List[str], cols: Optional[int] = None,
              shrink: Optional[Dict[int, str]] = None,
              optional: Optional[List[int]] = None) -> str:
    """A plain table (tabulate's "simple" look) no wider than ``cols``.

    Every cell is made printable first, so a row is one line whatever a name holds. When
    the table is too wide: first the padding beside short values in the header goes, then
    the ``shrink`` columns (index -> "middle" for paths, "end" for free text) are
    shortened, widest first, down to a minimum; if that is not enough the ``optional``
    columns are left out, in their order; if even that is too wide, each row is shown as
    a block of ``HEADER  value`` lines. ``cols`` None: never shortened.
    """
    shrink = shrink or {}
    heads = [printable(h) for h in headers]
    cells = [[printable(str(c)) for c in row] for row in rows]
    sizes = [[width(c) for c in row] for row in cells]  # once: a plan may have 100,000 rows
    content = [max([0] + [r[i] for r in sizes]) for i in range(len(heads))]
    widths = [max(width(h) + 2, c) for h, c in zip(heads, content)]

    def total(ws: List[int]) -> int:
        return sum(ws) + len(GAP) * (len(ws) - 1)

    if cols is not None and total(widths) > cols:
        widths = [max(width(h), c) for h, c in zip(heads, content)]
    if cols is not None and total(widths) > cols:
        floor = [max(width(h), MIN_PATH if shrink.get(i) == "middle" else MIN_TEXT)
                 if i in shrink else widths[i] for i, h in enumerate(heads)]
        keep = list(range(len(heads)))
        for i in optional or []:
            if total([min(widths[k], floor[k]) for k in keep]) <= cols:
                break
            keep.remove(i)
        if total([min(widths[k], floor[k]) for k in keep]) > cols:
            return _records(heads, cells, cols, shrink)
        if len(keep) < len(heads):
            heads = [heads[k] for k in keep]
            widths = [widths[k] for k in keep]
            floor = [floor[k] for k in keep]
            cells = [[r[k] for k in keep] for r in cells]
            sizes = [[r[k] for k in keep] for r in sizes]
            shrink = {keep.index(k): how for k, how in shrink.items() if k in keep}
        over = total(widths) - cols
        while over > 0:  # take a column from the widest shortenable one
            i = max((i for i in shrink if widths[i] > floor[i]), key=lambda i: widths[i])
            widths[i] -= 1
            over -= 1
        for row, size in zip(cells, sizes):
            for i, how in shrink.items():
                if size[i] > widths[i]:
                    row[i] = _shorten(row[i], widths[i], how)
                    size[i] = width(row[i])

    def line(row: List[str], size: List[int]) -> str:
        return GAP.join(c + " " * (w - n) for c, n, w in zip(row, size, widths)).rstrip()

    rule = ["-" * w for w in widths]
    return "\n".join([line(heads, [width(h) for h in heads]), line(rule, widths)]
                     + [line(r, n) for r, n in zip(cells, sizes)])


def _records(heads: List[str], cells: List[List[str]], cols: int,
             shrink: Dict[int, str]) -> str:
    """One block of ``HEADER  value`` lines per row: for tables that cannot fit."""
    label = max(width(h) for h in heads)
    room = max(cols - label - len(GAP), MIN_PATH)
    blocks = []
    for row in cells:
        blocks.append("\n".join(
            (_pad(h, label) + GAP + _shorten(c, room, shrink.get(i, "end"))).rstrip()
            for i, (h, c) in enumerate(zip(heads, row))))
    return "\n\n".join(blocks)


def fit_line(before: str, path: str, after: str, cols: Optional[int]) -> str:
    """``before + path + after`` on one line of at most ``cols``, the path shortened in
    the middle (never below a readable minimum); every part made printable."""
    before, path, after = printable(before), printable(path), printable(after)
    if cols is None:
        return before + path + after
    room = cols - width(before) - width(after)
    if room >= MIN_PATH:
        return before + shorten_middle(path, room) + after
    # the path keeps a readable minimum; the words after it give way
    return shorten_end(before + shorten_middle(path, MIN_PATH) + after, cols)


def wrap(line: str, cols: Optional[int], indent: str = "    ") -> str:
    """Prose that goes with a table (a trap, a policy note), printable and folded to
    ``cols``; continuation lines are indented. ``cols`` None: one line."""
    line = printable(line)
    if cols is None or width(line) <= cols:
        return line
    import textwrap

    return "\n".join(textwrap.wrap(line, max(cols, MIN_PATH), subsequent_indent=indent,
                                   break_on_hyphens=False))

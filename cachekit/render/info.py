"""``info``: one table per manager, since their caches hold different things.

The columns are data each manager declares (``Manager.info_columns``, handed in by the
task as ``columns``): this module knows formats, never a manager's name. A column is
``(HEADER, key, how)``; ``how`` is one of ``FORMATS``. A cache that does not exist gets
no row, unless its manager asks for one (``missing_row``: pip shows where its cache would
be). A cache that exists but has no ``bytes`` (it could not be measured) shows ``-`` and
its error last.
"""

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from cachekit import text
from cachekit.render import END, MIDDLE, Width, format_table, human_bytes

Column = Tuple[str, str, str]
Note = Tuple[str, str, str]


def per_user_rows(hosts: List[Dict[str, Any]], key: str) -> bool:
    """Whether the rows under ``key`` carry a user (``--users``): a USER column."""
    return any("user" in r for h in hosts for r in h.get(key) or [])


def _count_bytes(c: Mapping[str, Any], key: str) -> str:
    count, size = key.split()
    return f"{c.get(count, 0)} ({human_bytes(c.get(size, 0))})"


def _top_bytes(c: Mapping[str, Any], key: str) -> str:
    parts = sorted(c[key].items(), key=lambda kv: -kv[1]["bytes"])[:3]
    return ", ".join(f"{name} {human_bytes(v['bytes'])}" for name, v in parts)


# how -> (cell from the record, the cell of a missing cache's row, how it shrinks)
FORMATS: Dict[str, Tuple[Callable[[Mapping[str, Any], str], str], str, Optional[str]]] = {
    "path": (lambda c, k: c.get(k) or "(disabled)", "", MIDDLE),
    "text": (lambda c, k: str(c[k]), "", None),
    "int": (lambda c, k: str(c[k]), "0", None),
    "bytes": (lambda c, k: human_bytes(c[k]), "0 B", None),
    "count_bytes": (_count_bytes, "-", None),  # key: "COUNT_KEY BYTES_KEY"
    "top_bytes": (_top_bytes, "-", END),  # key: a mapping of name -> {"bytes": n}
    "list": (lambda c, k: ", ".join(c[k]) or "-", "-", END),
    "state": (lambda c, k: "writable" if c.get(k) else "read-only", "-", END),
}
# A table whose first column is "rows" has one row per item of that mapping (the tool
# cache: tool -> {version: bytes}); its other columns read the item.
ROW_FORMATS: Dict[str, Tuple[Callable[[Mapping[str, int]], str], Optional[str]]] = {
    "row_count": (lambda item: str(len(item)), None),
    "row_bytes": (lambda item: human_bytes(sum(item.values())), None),
    "row_sizes": (lambda item: ", ".join(f"{v} ({human_bytes(n)})" for v, n in item.items()),
                  END),
}


def render_info(hosts: List[Dict[str, Any]], width: Width = None,
                columns: Optional[Mapping[str, Sequence[Column]]] = None,
                missing_row: Sequence[str] = (),
                notes: Optional[Mapping[str, Sequence[Note]]] = None) -> str:
    """Every manager's table (in ``columns``' order), then the notes its caches call for."""
    tables = [t for t in (_table(m, list(cols), hosts, width, m in missing_row)
                          for m, cols in (columns or {}).items()) if t]
    lines = note_lines(hosts, notes or {}, width)
    return "\n\n".join(tables + (["\n".join(lines)] if lines else []))


def note_lines(hosts: List[Dict[str, Any]], notes: Mapping[str, Sequence[Note]],
               width: Width = None) -> List[str]:
    """Per manager, ``(key, when set, when empty)``: a cache record holding ``key`` (and no
    error) gets the line, formatted with ``host``, the record's fields and ``value`` (the
    key's value in human bytes where it is a number)."""
    out = []
    for h in hosts:
        for c in h.get("caches", []):
            for key, when_set, when_empty in notes.get(c.get("manager", ""), ()):
                if key not in c or c.get("error"):
                    continue
                line = when_set if c[key] else when_empty
                value = human_bytes(c[key]) if isinstance(c[key], int) else c[key]
                if line:
                    out.append(text.wrap(line.format(**dict(c, host=h["host"], value=value)),
                                         width))
    return out


def _table(manager: str, cols: List[Column], hosts: List[Dict[str, Any]], width: Width,
           missing_row: bool) -> str:
    if not cols:
        return ""
    per_user = per_user_rows(hosts, "caches")
    heads = ["HOST"] + (["USER"] if per_user else []) + [c[0] for c in cols]
    by_rows = cols[0][2] == "rows"
    rows: List[List[str]] = []
    for h in hosts:
        for c in h.get("caches", []):
            if c.get("manager") != manager:
                continue
            who = [h["host"]] + ([str(c.get("user") or "-")] if per_user else [])
            if by_rows:
                rows += _item_rows(who, c, cols)
            elif not c.get("exists"):
                if missing_row:
                    rows.append(who + _cells(c, cols, lambda how: FORMATS[how][1]))
            elif "bytes" not in c:  # could not be measured: where it is, then why
                cells = _cells(c, cols, lambda how: "-")
                cells[-1] = c.get("error") or "-"
                rows.append(who + cells)
            else:
                rows.append(who + _cells(c, cols))
    if not rows:
        return ""
    first = 2 if per_user else 1
    shrink = {i + first: way for i, (_h, _k, how) in enumerate(cols) for way in [_shrink(how)]
              if way}
    return format_table(rows, heads, width=width, shrink=shrink)


def _shrink(how: str) -> Optional[str]:
    """How a column of this format is shortened when the table is too wide (None: never;
    a "rows" column holds a short name)."""
    found = FORMATS.get(how) or ROW_FORMATS.get(how)
    return found[-1] if found else None


def _cells(c: Mapping[str, Any], cols: List[Column],
           filler: Optional[Callable[[str], str]] = None) -> List[str]:
    """Each column's cell. With ``filler`` only the columns that name the cache (its
    path, its manager) are read; the others take ``filler(how)``."""
    return [FORMATS[how][0](c, key) if filler is None or how == "path" or key == "manager"
            else filler(how) for _head, key, how in cols]


def _item_rows(who: List[str], c: Mapping[str, Any], cols: List[Column]) -> List[List[str]]:
    if not c.get("exists") or cols[0][1] not in c:
        return []
    return [who + [name] + [ROW_FORMATS[how][0](item) for _head, _key, how in cols[1:]]
            for name, item in sorted(c[cols[0][1]].items())]

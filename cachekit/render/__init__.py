"""The renderer's shared pieces: human units, the table that fits a terminal.

Only ``cachekit.render`` imports tabulate, and it never imports the core: it reads results
as they came over the wire. Human units are decimal (kB, MB, GB), as pip prints them; JSON
always carries exact integer bytes.
"""

import re
from typing import Any, Dict, List, Optional

from cachekit import text


def human_bytes(n: Optional[float]) -> str:
    """1234567 -> '1.2 MB'. Decimal units, one decimal place above a kilobyte."""
    if n is None:
        return "-"
    if n < 1000:
        return f"{int(n)} B"
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        n /= 1000.0
        if n < 1000 or unit == "PB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


Width = Optional[int]  # the columns output may take; None: no limit (--wide, a pipe)


MIDDLE, END = "middle", "end"  # how a column too wide is shortened: paths, free text


def format_table(rows: List[List[Any]], headers: List[str], tablefmt: str = "simple",
                 width: Width = None, shrink: Optional[Dict[int, str]] = None) -> str:
    """The "simple" table fits ``width`` (text.fit_table, one pass even for a 100,000-row
    plan); other tabulate formats are for files and keep their own layout. Every cell is
    made printable, so a name with a newline stays on its row."""
    if tablefmt == "simple":
        return text.fit_table(rows, headers, width, shrink)
    from tabulate import tabulate

    cells = [[text.printable(str(c)) for c in row] for row in rows]
    return tabulate(cells, headers=headers, tablefmt=tablefmt, disable_numparse=True)


def many_hosts(hosts: List[Dict[str, Any]]) -> bool:
    return len(hosts) > 1


def natural(name: str) -> List[Any]:
    """build2 before build10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"

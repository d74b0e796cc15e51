"""Set one key of a TOML config file edited as text: comments, order and every other
setting stay. ``relocate`` writes ``cache-dir`` (uv, Poetry), ``cache_dir`` (PDM) and
pixi's ``[cache] root`` this way; the caller parses the result before anything is written.

The text is read line by line, the way the files are written: a line inside a multi-line
string or an open array (brackets counted outside strings, ``miniyaml.bracket_depth``)
is no key and no table header.
"""

import json
import re
from typing import List, NamedTuple, Pattern

from .miniyaml import bracket_depth, outside_quotes

_HEADER = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*$")


def strip_comment(line: str) -> str:
    """The line without its comment: a ``#`` outside strings (in a basic string ``\\"``
    does not end it; a literal string has no escapes)."""
    for i, ch in outside_quotes(line):
        if ch == "#":
            return line[:i]
    return line


class KeyLine(NamedTuple):
    """A line that starts a key or a table header."""

    at: int  # its index in ``text.splitlines()``
    bare: str  # without its comment and surrounding blanks
    table: str  # the table it is in ("" at the top level; a header: the table it opens)
    header: bool


def key_lines(text: str) -> List[KeyLine]:
    """Every line that starts a key or a header; lines inside multi-line strings, arrays
    and inline tables left out."""
    out = []
    table, depth, multiline = "", 0, ""
    for i, line in enumerate(text.splitlines()):
        if multiline:  # inside a multi-line string: nothing here is a key or a table
            if multiline in line:
                multiline = ""
            continue
        bare = strip_comment(line).strip()
        if depth == 0 and bare:
            header = bare.startswith("[")
            if header:
                named = _HEADER.match(bare)
                table = named.group(1).replace(" ", "").replace('"', "") if named and \
                    not bare.startswith("[[") else "[[" + bare
            out.append(KeyLine(i, bare, table, header))
        for quotes in ('"""', "'''"):
            if bare.count(quotes) % 2:
                multiline = quotes
        depth += bracket_depth(bare)
    return out


def key_pattern(name: str) -> Pattern[str]:
    """``name = ...`` with the key bare or quoted."""
    key = re.escape(name)
    return re.compile(rf"""^(?:{key}|"{key}"|'{key}')\s*=""")


def set_top_level(text: str, name: str, value: str) -> str:
    """Set the top-level key ``name`` (before any table) to the string ``value``: its line
    is replaced where it is, or the key is added at the top."""
    entry = f"{name} = {json.dumps(value)}\n"
    lines = text.splitlines(keepends=True)
    key = key_pattern(name)
    for found in key_lines(text):
        if found.header:
            break  # the first table: the top level is over
        if key.match(found.bare):
            lines[found.at] = entry
            return "".join(lines)
    return entry + text

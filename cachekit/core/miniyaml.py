"""Read the YAML that ``.condarc`` files are written in, with the standard library only.

The core cannot import PyYAML on a remote host, and a ``.condarc`` uses a small part of
YAML: block mappings and sequences, flow lists (``[a, b]``), plain and quoted scalars,
comments. conda's own flags ride in comments (``key: #!final``, ``- item  #!top``): this
reader keeps them, where a general YAML library would drop them.

Anything beyond that part (anchors, tags, block scalars, tabs for indentation) is
reported as an error naming the line, never guessed at.
"""

import json
import re
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple


class YamlError(ValueError):
    """Not YAML, or YAML this reader does not handle; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class Flagged(str):
    """A string sequence item with conda's ``#!top`` or ``#!bottom`` flag."""

    flag: Optional[str] = None


class Mapping(dict):
    """A mapping whose keys may carry conda's ``#!final`` flag."""

    final: Set[str]

    def __init__(self) -> None:
        super().__init__()
        self.final = set()


Line = Tuple[int, int, str, Optional[str]]  # line number, indent, text, conda flag
_FLAG = re.compile(r"#!(final|top|bottom)\b")
_UNSUPPORTED = {"&": "anchors", "*": "aliases", "!": "tags", "|": "block scalars",
                ">": "folded scalars", "%": "directives", "@": "reserved '@'", "`": "reserved '`'"}


def loads(text: str) -> Any:
    """Parse ``text``; an empty document is an empty mapping."""
    lines = _lines(text)
    if not lines:
        return Mapping()
    value, pos = _block(lines, 0, lines[0][1])
    if pos < len(lines):
        raise YamlError(lines[pos][0], "unexpected content after the document (bad indentation?)")
    return value


def _strip_comment(text: str, lineno: int) -> Tuple[str, Optional[str]]:
    """Cut a trailing comment (outside quotes); return the text and any conda flag in it."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"':
                continue
        elif ch in "\"'" and (i == 0 or text[i - 1] in " \t[{,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            flag = _FLAG.match(text, i)
            return text[:i].rstrip(), flag.group(1) if flag else None
    return text.rstrip(), None


def _lines(text: str) -> List[Line]:
    out: List[Line] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip() in ("---", "...") and not raw.startswith(" "):
            if out and raw.strip() == "---":
                raise YamlError(number, "more than one document")
            continue
        body = raw.lstrip(" ")
        if body.startswith("\t"):
            raise YamlError(number, "tab used for indentation")
        content, flag = _strip_comment(body, number)
        if content:
            out.append((number, len(raw) - len(body), content, flag))
    return out


def _block(lines: List[Line], pos: int, indent: int) -> Tuple[Any, int]:
    """A mapping or sequence starting at ``lines[pos]``, whose lines sit at ``indent``."""
    number, _, text, _ = lines[pos]
    if text == "-" or text.startswith("- "):
        return _sequence(lines, pos, indent)
    if _split_key(text, number) is not None:
        return _mapping(lines, pos, indent)
    value = _scalar_or_flow(lines, pos)
    return value


def _sequence(lines: List[Line], pos: int, indent: int) -> Tuple[List[Any], int]:
    items: List[Any] = []
    while pos < len(lines):
        number, ind, text, flag = lines[pos]
        if ind < indent:
            break
        if ind > indent:
            raise YamlError(number, "bad indentation in a list")
        if not (text == "-" or text.startswith("- ")):
            if _split_key(text, number) is not None:
                break  # `key:` followed by a list at the key's own indentation
            raise YamlError(number, "expected a list item ('- ...')")
        rest = text[1:].lstrip(" ")
        if not rest:  # the item's value is on the following, deeper lines
            if pos + 1 < len(lines) and lines[pos + 1][1] > indent:
                value, pos = _block(lines, pos + 1, lines[pos + 1][1])
            else:
                value, pos = None, pos + 1
        elif rest.startswith("- ") or _split_key(rest, number) is not None:
            # `- key: value` / `- - x`: the rest is a nested block at the rest's column
            inner = indent + (len(text) - len(rest))
            lines[pos] = (number, inner, rest, flag)
            value, pos = _block(lines, pos, inner)
        else:
            value, pos = _scalar_or_flow(lines, pos, rest)
            if isinstance(value, str) and flag in ("top", "bottom"):
                value = Flagged(value)
                value.flag = flag
        items.append(value)
    return items, pos


def _mapping(lines: List[Line], pos: int, indent: int) -> Tuple[Mapping, int]:
    out = Mapping()
    while pos < len(lines):
        number, ind, text, flag = lines[pos]
        if ind < indent:
            break
        if ind > indent:
            raise YamlError(number, "bad indentation")
        split = _split_key(text, number)
        if split is None:
            raise YamlError(number, f"expected 'key: value', found {text!r}")
        key, rest = split
        if key in out:
            raise YamlError(number, f"duplicate key {key!r}")
        if flag == "final":
            out.final.add(key)
        if rest:
            out[key], pos = _scalar_or_flow(lines, pos, rest)
            continue
        pos += 1
        if pos < len(lines) and (lines[pos][1] > indent or (
                lines[pos][1] == indent and lines[pos][2].startswith("-"))):
            out[key], pos = _block(lines, pos, lines[pos][1])
        else:
            out[key] = None
    return out, pos


def _split_key(text: str, number: int) -> Optional[Tuple[str, str]]:
    """``key: rest`` -> (key, rest); None when the text is not a mapping entry."""
    if text[0] in "\"'":
        end = _quoted_end(text, number)
        if text[end:end + 1] != ":" or (len(text) > end + 1 and text[end + 1] != " "):
            return None
        return str(_scalar(text[:end], number)), text[end + 1:].strip()
    if text[0] in "[{":
        return None
    match = re.match(r"([^:#]*?[^\s:])\s*:(?:\s+(.*))?$", text)
    if not match:
        return None
    return match.group(1), (match.group(2) or "").strip()


def _quoted_end(text: str, number: int) -> int:
    """Index just past the closing quote of the quoted scalar that starts ``text``."""
    quote, i = text[0], 1
    while i < len(text):
        if text[i] == "\\" and quote == '"':
            i += 2
            continue
        if text[i] == quote:
            if quote == "'" and text[i + 1:i + 2] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    raise YamlError(number, "unterminated quoted string")


def _scalar_or_flow(lines: List[Line], pos: int, text: Optional[str] = None) -> Tuple[Any, int]:
    number = lines[pos][0]
    text = lines[pos][2] if text is None else text
    if text[0] in "[{":
        # a flow collection may span lines: gather until the brackets balance
        while bracket_depth(text) > 0 and pos + 1 < len(lines):
            pos += 1
            text += " " + lines[pos][2]
        value, end = _flow(text, 0, number)
        if text[end:].strip():
            raise YamlError(number, f"unexpected {text[end:].strip()!r} after a flow collection")
        return value, pos + 1
    return _scalar(text, number), pos + 1


def outside_quotes(text: str) -> Iterator[Tuple[int, str]]:
    """Each character of ``text`` outside quotes, with its index (in a double-quoted
    string ``\\"`` is an escape, as in YAML and TOML; a single-quoted one has none)."""
    quote, escaped = None, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif quote:
            if ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        else:
            yield i, ch


def bracket_depth(text: str) -> int:
    """How many ``[`` and ``{`` outside quotes stay open at the end of ``text``."""
    depth = 0
    for _i, ch in outside_quotes(text):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


def _flow(text: str, i: int, number: int) -> Tuple[Any, int]:
    """Parse ``[...]`` or ``{...}`` starting at ``text[i]``; return value and end index."""
    closing = "]" if text[i] == "[" else "}"
    items: List[Any] = []
    pairs: Dict[str, Any] = {}
    i += 1
    while True:
        while i < len(text) and text[i] == " ":
            i += 1
        if i >= len(text):
            raise YamlError(number, f"unclosed flow collection (missing {closing!r})")
        if text[i] == closing:
            return (items if closing == "]" else pairs), i + 1
        if text[i] in "[{":
            value, i = _flow(text, i, number)
        elif text[i] in "\"'":
            end = i + _quoted_end(text[i:], number)
            value, i = _scalar(text[i:end], number), end
        else:
            end = i
            while end < len(text) and text[end] not in ",]}" and not (
                    closing == "}" and text[end] == ":" and text[end + 1:end + 2] in (" ", "")):
                end += 1
            value, i = _scalar(text[i:end].strip(), number), end
        while i < len(text) and text[i] == " ":
            i += 1
        if closing == "}":
            if text[i:i + 1] != ":":
                raise YamlError(number, "expected ':' in a flow mapping")
            key = str(value)
            i += 1
            while i < len(text) and text[i] == " ":
                i += 1
            end = i
            while end < len(text) and text[end] not in ",}":
                end += 1
            pairs[key] = _scalar(text[i:end].strip(), number) if text[i:end].strip() else None
            i = end
        else:
            items.append(value)
        if text[i:i + 1] == ",":
            i += 1
        elif text[i:i + 1] != closing:
            raise YamlError(number, f"expected ',' or {closing!r} in a flow collection")


_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def _scalar(text: str, number: int) -> Any:
    """A scalar as YAML 1.2's core schema reads it (what ruamel gives conda)."""
    if not text:
        return None
    if text[0] == '"':
        if _quoted_end(text, number) != len(text):
            raise YamlError(number, "text after a closing quote")
        try:
            return json.loads(text)
        except ValueError:
            raise YamlError(number, f"bad escape in {text}") from None
    if text[0] == "'":
        if _quoted_end(text, number) != len(text):
            raise YamlError(number, "text after a closing quote")
        return text[1:-1].replace("''", "'")
    if text[0] in _UNSUPPORTED:
        raise YamlError(number, f"{_UNSUPPORTED[text[0]]} are not supported in a .condarc")
    if text[0] in "]}":
        raise YamlError(number, f"unexpected {text[0]!r}")
    if text.startswith("- "):
        raise YamlError(number, "a list item where a value was expected")
    low = text.lower()
    if low in ("null", "~"):
        return None
    if low in ("true", "false"):
        return low == "true"
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return float(text)
    if ": " in text or text.endswith(":"):
        raise YamlError(number, "a mapping where a value was expected (missing indentation?)")
    return text

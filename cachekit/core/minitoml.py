"""Read the TOML that package managers' ``config.toml`` files are written in, with the
standard library only.

``tomllib`` arrives with Python 3.11 and the core runs on the remote host's own
``python3`` (3.8 and up), so pixi's, Poetry's and PDM's settings are read here. The reader
covers TOML 1.0 apart from dates and times, which it keeps as their text (no setting
cachekit reads is a date): tables and arrays of tables, dotted and quoted keys, the four
kinds of string, integers, floats, booleans, arrays and inline tables. Anything it cannot
read is an error naming the file and line, never a guess, as the managers themselves
refuse such a file.
"""

import re
from typing import Any, Dict, List, Tuple

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_NUMBER = re.compile(r"[+-]?(0x[0-9A-Fa-f_]+|0o[0-7_]+|0b[01_]+|inf|nan"
                     r"|[0-9_]+(\.[0-9_]+)?([eE][+-]?[0-9_]+)?)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?)?"
                   r"([Zz]|[+-]\d{2}:\d{2})?|\d{2}:\d{2}:\d{2}(\.\d+)?")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\",
            "e": "\x1b"}


class TomlError(ValueError):
    """Not TOML, or TOML this reader does not handle: ``"<path>: line N: problem"``."""


def load(path: str) -> Dict[str, Any]:
    """The file at ``path``; OSError and UnicodeDecodeError pass to the caller."""
    with open(path, encoding="utf-8") as fh:
        return loads(fh.read(), path)


def loads(text: str, path: str = "<string>") -> Dict[str, Any]:
    return _Parser(text, path).document()


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.text = text.replace("\r\n", "\n")
        self.path = path
        self.pos = 0
        self.root: Dict[str, Any] = {}
        self.defined: set = set()  # ids of tables made by a [header] or a key's value
        # ids of tables dotted keys made in this section: defined once the next [header]
        # starts (neither a header nor a later section's dotted key may reopen them)
        self.dotted: set = set()
        self.inline: set = set()  # ids of inline tables and static arrays: closed

    # Errors and positions ---------------------------------------------------------------

    def fail(self, problem: str) -> TomlError:
        line = self.text.count("\n", 0, self.pos) + 1
        return TomlError(f"{self.path}: line {line}: {problem}")

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def skip_blank(self, newlines: bool = False) -> None:
        """Spaces, tabs, comments, and (inside arrays) newlines."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t" or (newlines and ch == "\n"):
                self.pos += 1
            elif ch == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def end_of_line(self) -> None:
        self.skip_blank()
        if self.pos < len(self.text) and self.text[self.pos] != "\n":
            raise self.fail(f"expected the end of the line, found {self.peek(10)!r}")

    # The document -----------------------------------------------------------------------

    def document(self) -> Dict[str, Any]:
        table = self.root
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return self.root
            if self.peek() == "[":
                self.defined |= self.dotted
                self.dotted = set()
            if self.peek(2) == "[[":
                self.pos += 2
                table = self.array_table(self.key(), "]]")
            elif self.peek() == "[":
                self.pos += 1
                table = self.header_table(self.key(), "]")
            else:
                self.key_value(table)
            self.end_of_line()

    def close(self, closer: str) -> None:
        self.skip_blank()
        if self.peek(len(closer)) != closer:
            raise self.fail(f"expected {closer!r} to close the table header")
        self.pos += len(closer)

    def header_table(self, keys: List[str], closer: str) -> Dict[str, Any]:
        self.close(closer)
        parent = self.walk(self.root, keys[:-1])
        found = parent.get(keys[-1])
        if found is None:
            found = parent[keys[-1]] = {}
        elif not isinstance(found, dict) or id(found) in self.defined \
                or id(found) in self.inline:
            raise self.fail(f"table {'.'.join(keys)} defined twice")
        self.defined.add(id(found))
        return found

    def array_table(self, keys: List[str], closer: str) -> Dict[str, Any]:
        self.close(closer)
        parent = self.walk(self.root, keys[:-1])
        found = parent.setdefault(keys[-1], [])
        if not isinstance(found, list) or id(found) in self.inline:
            raise self.fail(f"{'.'.join(keys)} is not an array of tables")
        table: Dict[str, Any] = {}
        found.append(table)
        return table

    def walk(self, table: Dict[str, Any], keys: List[str], dotted: bool = False
             ) -> Dict[str, Any]:
        """The table ``keys`` names under ``table``, made implicitly where missing; the
        last table of an array of tables stands for the array. ``dotted``: the keys of a
        key/value line, which may not reach into a table already defined."""
        for key in keys:
            value = table.setdefault(key, {})
            if isinstance(value, list) and value and id(value) not in self.inline \
                    and not dotted:
                value = value[-1]
            if not isinstance(value, dict) or id(value) in self.inline:
                raise self.fail(f"{key} is already a value, not a table")
            if dotted:
                if id(value) in self.defined:
                    raise self.fail(f"table {key} is already defined: a dotted key cannot "
                                    "add to it")
                self.dotted.add(id(value))
            table = value
        return table

    def key_value(self, table: Dict[str, Any]) -> None:
        keys = self.key()
        self.skip_blank()
        if self.peek() != "=":
            raise self.fail(f"expected '=' after {'.'.join(keys)}")
        self.pos += 1
        self.skip_blank()
        value = self.value()
        target = self.walk(table, keys[:-1], dotted=True)
        if keys[-1] in target:
            raise self.fail(f"{'.'.join(keys)} is set twice")
        target[keys[-1]] = value
        if isinstance(value, dict):
            self.defined.add(id(value))

    def key(self) -> List[str]:
        keys = []
        while True:
            self.skip_blank()
            ch = self.peek()
            if ch == '"':
                keys.append(self.basic_string())
            elif ch == "'":
                keys.append(self.literal_string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    raise self.fail(f"expected a key, found {self.peek(10)!r}")
                keys.append(match.group())
                self.pos = match.end()
            self.skip_blank()
            if self.peek() != ".":
                return keys
            self.pos += 1

    # Values -----------------------------------------------------------------------------

    def value(self) -> Any:
        ch = self.peek()
        if self.peek(3) == '"""':
            return self.multiline('"""')
        if self.peek(3) == "'''":
            return self.multiline("'''")
        if ch == '"':
            return self.basic_string()
        if ch == "'":
            return self.literal_string()
        if ch == "[":
            return self.array()
        if ch == "{":
            return self.inline_table()
        for word, meaning in (("true", True), ("false", False)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return meaning
        date = _DATE.match(self.text, self.pos)
        if date:
            self.pos = date.end()
            return date.group()
        return self.number()

    def number(self) -> Any:
        match = _NUMBER.match(self.text, self.pos)
        if not match:
            raise self.fail(f"expected a value, found {self.peek(10)!r}")
        raw = match.group()
        self.pos = match.end()
        digits = raw.replace("_", "")
        try:
            if digits.lstrip("+-") in ("inf", "nan"):
                return float(digits)
            if digits.lstrip("+-")[:2] in ("0x", "0o", "0b"):
                return int(digits, 0)
            if any(c in digits for c in ".eE"):
                return float(digits)
            return int(digits)
        except ValueError:
            raise self.fail(f"bad number {raw!r}") from None

    def basic_string(self) -> str:
        self.pos += 1
        out: List[str] = []
        while True:
            if self.pos >= len(self.text) or self.text[self.pos] == "\n":
                raise self.fail("unterminated string")
            ch = self.text[self.pos]
            if ch == '"':
                self.pos += 1
                return "".join(out)
            if ch == "\\":
                out.append(self.escape())
            else:
                out.append(ch)
                self.pos += 1

    def escape(self) -> str:
        code = self.text[self.pos + 1:self.pos + 2]
        if code in _ESCAPES:
            self.pos += 2
            return _ESCAPES[code]
        width = {"u": 4, "U": 8}.get(code)
        digits = self.text[self.pos + 2:self.pos + 2 + (width or 0)]
        if width and re.fullmatch(r"[0-9A-Fa-f]+", digits) and len(digits) == width:
            self.pos += 2 + width
            return chr(int(digits, 16))
        raise self.fail(f"bad escape \\{code}")

    def literal_string(self) -> str:
        end = self.text.find("'", self.pos + 1)
        newline = self.text.find("\n", self.pos + 1)
        if end < 0 or 0 <= newline < end:
            raise self.fail("unterminated string")
        value = self.text[self.pos + 1:end]
        self.pos = end + 1
        return value

    def multiline(self, quote: str) -> str:
        self.pos += 3
        if self.peek() == "\n":
            self.pos += 1  # a newline right after the opening quotes is not content
        out: List[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.fail("unterminated multi-line string")
            if self.text.startswith(quote, self.pos):
                extra = 0  # up to two quotes may end the content
                while extra < 2 and self.text.startswith(quote[0], self.pos + 3 + extra):
                    extra += 1
                out.append(quote[0] * extra)
                self.pos += 3 + extra
                return "".join(out)
            ch = self.text[self.pos]
            if quote == '"""' and ch == "\\":
                after = re.match(r"\\[ \t]*\n[ \t\n]*", self.text[self.pos:])
                if after:  # a line-ending backslash trims the whitespace that follows
                    self.pos += after.end()
                else:
                    out.append(self.escape())
                continue
            out.append(ch)
            self.pos += 1

    def array(self) -> List[Any]:
        self.pos += 1
        items: List[Any] = []
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "]":
                self.pos += 1
                self.inline.add(id(items))
                return items
            items.append(self.value())
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "]":
                raise self.fail(f"expected ',' or ']' in an array, found {self.peek(10)!r}")

    def inline_table(self) -> Dict[str, Any]:
        self.pos += 1
        table: Dict[str, Any] = {}
        self.skip_blank()
        if self.peek() == "}":
            self.pos += 1
        else:
            while True:
                self.key_value(table)
                self.skip_blank()
                if self.peek() == "}":
                    self.pos += 1
                    break
                if self.peek() != ",":
                    raise self.fail(f"expected ',' or '}}' in an inline table, found "
                                    f"{self.peek(10)!r}")
                self.pos += 1
        self._close_inline(table)
        return table

    def _close_inline(self, table: Dict[str, Any]) -> None:
        """An inline table and every table under it are complete as written."""
        stack: List[Tuple[str, Any]] = [("", table)]
        while stack:
            _, value = stack.pop()
            if isinstance(value, dict):
                self.inline.add(id(value))
                stack.extend(value.items())

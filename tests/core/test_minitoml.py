"""The core's TOML reader against Python's own ``tomllib`` (the oracle): the same values
for every document tomllib reads, and an error naming the file and line wherever tomllib
refuses."""

import datetime
from typing import Any

import pytest
import tomllib

from cachekit.core import minitoml

DOCUMENTS = [
    "",
    "# only a comment\n",
    'cache-dir = "/srv/cache"\n',
    "cache_dir = '/srv/C:\\\\literal'  # trailing comment\n",
    'a = "tab\\there \\u00e9 \\U0001F600 \\"q\\" \\\\"\n',
    "n = 42\nneg = -17\nplus = +3\nbig = 1_000_000\nhex = 0xDEAD_beef\noct = 0o755\n"
    "bin = 0b1101\n",
    "f = 3.14\ne = 6.02e23\ng = -1E-3\nh = 1_000.5\ninf1 = inf\nninf = -inf\n",
    "t = true\nf = false\n",
    "[cache]\ndefault = \"~/.cache/rattler\"\n\n[cache.pkgs]\nkeep = 3\n",
    "[a.b.c]\nx = 1\n[a]\ny = 2\n",
    'site."google.com" = true\nsite.plain = 1\n"quoted key" = "v"\n\'lit key\' = 2\n',
    "arr = [1, 2, 3]\nnested = [[1, 2], ['a', \"b\"]]\nempty = []\n",
    "multi = [\n  \"a\",  # first\n  \"b\",\n\n  # a comment line\n  \"c\",\n]\n",
    "point = { x = 1, y = 2, sub = { z = \"deep\" } }\nempty = {}\n",
    "[[repos]]\nname = \"a\"\n[[repos]]\nname = \"b\"\n[repos.extra]\nk = 1\n",
    "[[fruit]]\nname = \"apple\"\n[[fruit.variety]]\nname = \"red\"\n[[fruit]]\nname = \"b\"\n",
    's = """\nline one\nline two"""\n',
    's = """trim \\\n    continued"""\n',
    "s = '''\nraw \\n kept'''\n",
    's = """two quotes at the end"""""\n',
    "d = 1979-05-27\nt = 07:32:00\n",
    "key = \"value\"\r\nother = 1\r\n",
    "[installer]\nmax-workers = 10\nno-binary = [\"a\", \"b\"]\n[virtualenvs]\ncreate = true\n"
    "in-project = false\npath = \"{cache-dir}/virtualenvs\"\n",
    "[install]\ncache = true\ncache_method = \"symlink_individual\"\n[python]\n"
    "use_venv = true\n",
    "[x]\na.b = 1\na.c = 2\n[x.a.d]\ne = 3\n",  # a header below a dotted key's table
    "[[x]]\na.b = 1\n[[x]]\na.b = 2\n",
    "[a.b.c]\n[a]\nb.d = 1\n",  # b made implicitly by a header: dotted keys may add to it
]

INVALID = [
    "a = \n",
    "a = 1\na = 2\n",
    "[t]\n[t]\n",
    "a = \"unterminated\n",
    "a = 'x\n",
    "a = [1, 2\n",
    "a = { x = 1\n",
    "= 1\n",
    "a = 1 b = 2\n",
    "a = \"bad \\q escape\"\n",
    "a = 1\n[a]\n",
    "a = [1]\n[[a]]\n",
    "[tbl\n",
    "a = 1.2.3\n",
    "a.b = 1\n[a]\n",  # a table a dotted key made is not opened again by a header
    "[x]\na.b = 1\n[x.a]\n",
    "a.b.c = 1\n[a.b]\n",
    "[a.b]\nx = 1\n[a]\nb.y = 2\n",  # nor a header's table by a later dotted key
    "[[x]]\na.b = 1\n[x.a]\n",
]


def _plain(value: Any) -> Any:
    """tomllib's dates and times as the text this reader keeps."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


@pytest.mark.parametrize("text", DOCUMENTS)
def test_reads_what_tomllib_reads(text: str) -> None:
    assert minitoml.loads(text, "config.toml") == _plain(tomllib.loads(text))


@pytest.mark.parametrize("text", INVALID)
def test_refuses_what_tomllib_refuses_naming_file_and_line(text: str) -> None:
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    with pytest.raises(minitoml.TomlError) as caught:
        minitoml.loads(text, "/home/u/.config/pdm/config.toml")
    message = str(caught.value)
    assert message.startswith("/home/u/.config/pdm/config.toml: line ")
    assert "\n" not in message


def test_error_names_the_line_of_the_problem() -> None:
    text = "a = 1\n\n# comment\nb = [1,\n  2,\n  oops]\n"
    with pytest.raises(minitoml.TomlError, match=r"config.toml: line 6: "):
        minitoml.loads(text, "config.toml")

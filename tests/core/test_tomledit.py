"""One TOML key editor for every manager's ``relocate`` (uv, Poetry, PDM ``cache-dir`` /
``cache_dir`` at the top, pixi's ``[cache] root``): brackets and ``#`` inside strings,
escaped quotes and literal strings never confuse it. tomllib is the oracle: the edited
text sets the key and keeps every other value."""

from typing import Callable, Dict

import pytest
import tomllib

from cachekit.core import tomledit
from cachekit.core.managers.pdm.settings import edit_config as edit_pdm
from cachekit.core.managers.pixi.settings import edit_config as edit_pixi
from cachekit.core.managers.poetry.settings import edit_config as edit_poetry
from cachekit.core.managers.uv.settings import edit_uv

TOP: Dict[str, Callable[[str, str], str]] = {
    "cache-dir": edit_uv, "cache_dir": edit_pdm, "cache-dir ": edit_poetry}

TRICKY = [
    'x = "a[b"\n{key} = "/old"\n',  # a bracket in a string opens nothing
    'x = "a\\"[b"\n{key} = "/old"\n',  # an escaped quote does not end the string
    "x = 'a\\'  # [\n{key} = \"/old\"\n",  # a literal string has no escapes
    'x = "a#[b"  # c ]\n{key} = "/old"\n[t]\n{key} = "/table"\n',
    'x = ["a]", \'b[\']\n{key} = "/old"\n',
    'x = { y = "}" }\n{key} = "/old"\n',
    'x = """\n[t]\n{key} = "/in/a/string"\n"""\n{key} = "/old"\n',
    'x = [\n  "[",\n]\n[t]\n{key} = "/table"\n',
]


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("key", sorted(TOP))
def test_the_top_level_key_is_set_once_and_nothing_else_changes(key: str, text: str) -> None:
    text = text.replace("{key}", key.strip())
    edited = TOP[key](text, "/new")
    before, after = tomllib.loads(text), tomllib.loads(edited)
    assert after[key.strip()] == "/new"
    assert {k: v for k, v in after.items() if k != key.strip()} == {
        k: v for k, v in before.items() if k != key.strip()}


@pytest.mark.parametrize("text", [t.replace("{key}", "root").replace("[t]", "[cache]")
                                  for t in TRICKY])
def test_pixi_s_cache_root_is_set_once(text: str) -> None:
    edited = edit_pixi(text, "/new", "config.toml")
    before, after = tomllib.loads(text), tomllib.loads(edited)
    assert after["cache"]["root"] == "/new"
    after["cache"].pop("root")
    before.setdefault("cache", {}).pop("root", None)
    assert after == before


def test_one_comment_stripper() -> None:
    assert tomledit.strip_comment('a = "x\\"#y" # z') == 'a = "x\\"#y" '
    assert tomledit.strip_comment("a = 'x\\' # z") == "a = 'x\\' "

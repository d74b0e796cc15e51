"""The helpers the managers share live once in the core: the PEP 503 name normaliser
(``policy.normalize``, stdlib-only, cheap to import on a remote host)."""

import re
from pathlib import Path

from cachekit.core import policy
from cachekit.core.managers.pdm import cache as pdmcache
from cachekit.core.managers.poetry import cache as poetrycache

MANAGERS = Path(policy.__file__).parent / "managers"


def test_pdm_and_poetry_normalise_names_with_the_policy_s_normaliser() -> None:
    assert pdmcache.normalize is policy.normalize
    assert poetrycache.normalize is policy.normalize
    assert policy.normalize("Foo.Bar__baz") == "foo-bar-baz"
    for manager in ("pdm", "poetry"):
        for source in (MANAGERS / manager).glob("*.py"):
            assert not re.search(r"re\.sub\(r\"\[-_\.\]\+\"", source.read_text()), source

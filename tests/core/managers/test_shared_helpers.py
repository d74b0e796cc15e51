"""The helpers the managers share live once in the core: the PEP 503 name normaliser
(``core/names.py``: stdlib-only, a module of its own so it is cheap to import on a remote
host)."""

import re
from pathlib import Path

from cachekit.core import names, policy
from cachekit.core.managers.pdm import cache as pdmcache
from cachekit.core.managers.pip import cache as pipcache
from cachekit.core.managers.poetry import cache as poetrycache
from cachekit.core.managers.uv import cache as uvcache

MANAGERS = Path(policy.__file__).parent / "managers"


def test_every_manager_and_the_policy_normalise_names_with_one_normaliser() -> None:
    for user in (pdmcache.normalize, poetrycache.normalize, uvcache.normalize,
                 pipcache.canonical, policy.normalize):
        assert user is names.normalize
    assert names.normalize("Foo.Bar__baz") == "foo-bar-baz"
    for source in [*MANAGERS.rglob("*.py"), Path(policy.__file__)]:
        assert not re.search(r"re\.sub\(r\"\[-_\.\]\+\"", source.read_text()), source

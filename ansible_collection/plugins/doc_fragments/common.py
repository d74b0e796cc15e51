# Copyright: cachekit contributors
# MIT License (see the cachekit repository)
"""The options every cachekit module takes. The choices of ``managers`` and the default's
names are the registry's, filled in by scripts/build_collection.py."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  managers:
    description:
      - The package managers whose caches to take, as cachekit's C(--managers).
      - By default every one the host has - pip; @FOUND_MANAGERS@ where found; toolcache (the
        CI runner tool cache) where C(RUNNER_TOOL_CACHE) or C(AGENT_TOOLSDIRECTORY) is set.
    type: list
    elements: str
    choices: [@KNOWN_MANAGERS@]
  environ:
    description:
      - Variables the core sees on this host, such as C(PIP_CACHE_DIR) or
        C(CONDA_PKGS_DIRS); the inventory's C(cachekit_env).
    type: dict
    default: {}
  uv:
    description:
      - The uv program to use (a path, or a name on C(PATH)), as cachekit's C(--uv).
      - By default C(UV), then C(PATH), the running Python's environment,
        C(~/.local/bin), C(~/.cargo/bin).
    type: str
notes:
  - The module runs cachekit's own core, copied unchanged into the collection, and needs
    only Python 3.8 or newer on the host, nothing installed.
"""

    DESTRUCTIVE = r"""
options: {}
attributes:
  check_mode:
    support: full
    description:
      - Check mode is cachekit's C(--dry-run) - the plan, nothing removed. C(changed) then
        says whether a real run would remove something.
  diff_mode:
    support: full
    description:
      - The diff lists the paths that go (planned in check mode, removed otherwise).
notes:
  - The module plans, then applies exactly that plan, re-checked on the host, as
    cachekit's own run does after its confirmation. It removes nothing outside a cache
    root it recognised.
  - C(changed) is true only when something was removed (in check mode, when something
    would be).
"""

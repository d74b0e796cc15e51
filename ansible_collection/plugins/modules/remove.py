#!/usr/bin/python
# Copyright: cachekit contributors
# MIT License (see the cachekit repository)
"""cachekit.caches.remove: cachekit remove PATTERN on the host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: remove
short_description: Remove the cached packages matching a pattern
description:
  - Runs C(cachekit remove PATTERN) on the host with cachekit's core, as
    C(pip cache remove) and C(uv cache clean PKG) do.
version_added: 0.1.0
author:
  - cachekit contributors
extends_documentation_fragment:
  - cachekit.caches.common
  - cachekit.caches.common.destructive
options:
  pattern:
    description:
      - The package pattern as pip takes it (glob; NAME or NAME-VERSION); it also matches
        the normalised project name. Never empty (use M(cachekit.caches.purge) to remove
        everything).
    type: str
    required: true
  downloads:
    description:
      - Also select downloaded wheels, sdists and index pages in pip's http-v2 cache (pip
        itself never does).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Every cached build of torch, in pip's and uv's caches
  cachekit.caches.remove:
    pattern: torch
    managers: [pip, uv]
"""

RETURN = r"""
plan:
  description: What the plan removes, one row per path - path, manager, bytes, reason.
  returned: always
  type: list
  elements: dict
plan_count:
  description: How many rows the plan has; RV(plan) lists the first 1,000 of them.
  returned: always
  type: int
planned_bytes:
  description: The bytes the plan would free.
  returned: always
  type: int
removed:
  description: The paths removed (empty in check mode), the first 1,000.
  returned: always
  type: list
  elements: str
removed_count:
  description: How many paths were removed; RV(removed) lists the first 1,000 of them.
  returned: always
  type: int
reclaimed_bytes:
  description: The bytes freed.
  returned: always
  type: int
cachekit:
  description: The core's result for this host, as cachekit's runs collect it. Its C(removed) rows
    stop at 1,000 (all of them in C(removed_count)); the plans it hands back to apply are
    left out.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cachekit.caches.plugins.module_utils import runner


def main():
    module = AnsibleModule(
        argument_spec=runner.common_spec(
            pattern=dict(type=runner.pattern, required=True),
            downloads=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    runner.destroy(module, runner.request(module, "remove", pattern=module.params["pattern"],
                                          downloads=module.params["downloads"]))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: cachekit contributors
# MIT License (see the cachekit repository)
"""cachekit.caches.purge: cachekit purge on the host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: purge
short_description: Remove every entry of the chosen Python package caches
description:
  - Runs C(cachekit purge) on the host with cachekit's core, as C(pip cache purge) and
    C(uv cache clean) do, for the chosen O(managers) (by default every one found).
version_added: 0.1.0
author:
  - cachekit contributors
extends_documentation_fragment:
  - cachekit.caches.common
  - cachekit.caches.common.destructive
options: {}
"""

EXAMPLES = r"""
- name: Empty the pip cache of the CI user
  cachekit.caches.purge:
    managers: [pip]
  become: true
  become_user: ci
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
    module = AnsibleModule(argument_spec=runner.common_spec(), supports_check_mode=True)
    runner.destroy(module, runner.request(module, "purge"))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: cachekit contributors
# MIT License (see the cachekit repository)
"""cachekit.caches.prune: cachekit prune on the host, by policy."""

from __future__ import annotations

DOCUMENTATION = r"""
module: prune
short_description: Remove Python package cache entries by policy (age, size, keep, free space)
description:
  - Runs C(cachekit prune) on the host with cachekit's core - entries last used longer ago
    than O(older_than), least recently used first until the caches fit O(max_size), only
    while the disk has less free space than O(min_free), what is cheap to download again
    with O(ci) - never a package matching O(keep).
  - The policy is the options over O(policy) key by key, so a group's C(cachekit_policy)
    (the same keys as cachekit's inventory) can be passed whole and a task can override
    one rule. At least one rule is needed.
  - Sizes, durations and patterns are checked before anything runs, with cachekit's own
    messages.
version_added: 0.1.0
author:
  - cachekit contributors
extends_documentation_fragment:
  - cachekit.caches.common
  - cachekit.caches.common.destructive
options:
  older_than:
    description: Remove entries last used longer ago than this - C(12h), C(30d), C(2w).
    type: str
  max_size:
    description:
      - Keep the chosen caches under this size (C(500MB), C(20GB), C(1.5GiB); kB, MB and GB
        are decimal), removing least recently used entries first.
    type: str
  keep:
    description: Never remove these packages (names or globs).
    type: list
    elements: str
  min_free:
    description:
      - Act only while the caches' file system has less free space than this (C(15%) or
        C(10GB)); alone, remove least recently used entries until it has.
    type: str
  ci:
    description:
      - Remove what is cheap to download again (pip downloads, conda archives whose package
        stays extracted, what C(uv cache prune --ci) removes); keep what is expensive to
        rebuild.
    type: bool
  policy:
    description:
      - A whole policy, such as the inventory's C(cachekit_policy) - the keys
        C(older_than), C(max_size), C(keep), C(min_free), C(ci). The options above
        override it key by key, whenever they are given - C(ci=false) and C(keep=[])
        too; an option not given leaves the policy's key.
    type: dict
    suboptions:
      older_than:
        description: As O(older_than).
        type: str
      max_size:
        description: As O(max_size).
        type: str
      keep:
        description: As O(keep).
        type: list
        elements: str
      min_free:
        description: As O(min_free).
        type: str
      ci:
        description: As O(ci).
        type: bool
"""

EXAMPLES = r"""
- name: Entries unused for 30 days, and keep the caches under 20 GB
  cachekit.caches.prune:
    older_than: 30d
    max_size: 20GB
    keep: [torch, "nvidia-*"]

- name: The group's policy (group_vars - cachekit_policy), pip and uv only
  cachekit.caches.prune:
    policy: "{{ cachekit_policy }}"
    managers: [pip, uv]
  register: pruned

- name: What a prune would remove (nothing is removed in check mode)
  cachekit.caches.prune:
    older_than: 2w
  check_mode: true
  diff: true
"""

RETURN = r"""
plan:
  description:
    - What the plan removes, one row per path or entry - path (or entry), manager, bytes,
      reason. The same rows C(cachekit prune --dry-run --format json) lists.
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
  sample: ["/home/ci/.cache/pip/wheels/ab/cd/ef/old-1.0-py3-none-any.whl"]
dirs_removed:
  description: Directories removed once empty, the first 1,000 (all of them in
    RV(dirs_removed_count)).
  returned: when something was removed
  type: list
  elements: str
dirs_removed_count:
  description: How many directories were removed once empty.
  returned: when something was removed
  type: int
removed_count:
  description: How many paths were removed; RV(removed) lists the first 1,000 of them.
  returned: always
  type: int
reclaimed_bytes:
  description: The bytes freed.
  returned: always
  type: int
cachekit:
  description: The core's result for this host (the plan's in check mode, the apply's
    otherwise, with the sizes before it as C(caches_before)), as cachekit's runs collect
    it. Its C(removed) rows stop at 1,000 (all of them in C(removed_count)); the plans it
    hands back to apply are left out.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cachekit.caches.plugins.module_utils import runner


def main():
    module = AnsibleModule(
        argument_spec=runner.common_spec(
            policy=dict(type="dict", options=runner.POLICY_OPTIONS),
            **runner.POLICY_OPTIONS,
        ),
        supports_check_mode=True,
    )
    params = module.params
    given = {k: v for k, v in (params["policy"] or {}).items() if v is not None}
    # an option given on the task overrides the policy's key, even false or empty
    flags = {k: params[k] for k in runner.policy_text.POLICY_KEYS if params[k] is not None}
    try:
        rules = runner.policy_text.merged(flags, given, is_set=lambda value: value is not None)
    except runner.policy_text.BadValue as exc:
        module.fail_json(msg=str(exc))
    if not runner.policy_text.has_rule(rules):
        module.fail_json(msg="no prune policy (give older_than, max_size, min_free or ci, "
                             "or policy: the group's cachekit_policy)")
    runner.destroy(module, runner.request(module, "prune", policy=rules))


if __name__ == "__main__":
    main()

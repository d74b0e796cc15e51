#!/usr/bin/python
# Copyright: cachekit contributors
# MIT License (see the cachekit repository)
"""cachekit.caches.info: what cachekit report (or info, dir, list) says about a host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: info
short_description: Report a host's Python package caches (@KNOWN_MANAGERS@)
description:
  - Finds and measures the host's package caches with cachekit's core, and returns the
    result of C(cachekit report) (or C(info), C(dir), C(list), C(locations)) for it.
  - The result is the same per-host object a cachekit run over SSH collects, so
    C(cachekit report --from-ansible DIR) renders the same table from the C(--tree)
    output of C(ansible -m cachekit.caches.info).
  - Never changes anything; C(changed) is always false.
version_added: 0.1.0
author:
  - cachekit contributors
extends_documentation_fragment:
  - cachekit.caches.common
options:
  view:
    description:
      - Which of cachekit's read commands to run.
      - C(report) sizes, entry counts, reclaimable bytes and disk free; C(info) sizes and
        counts per cache; C(dir) where each cache is and how that was decided; C(list) the
        cached packages matching O(pattern); C(locations) every setting that could move a
        cache.
    type: str
    choices: [report, info, dir, list, locations]
    default: report
  pattern:
    description:
      - With O(view=list), the package pattern as pip takes it (glob; NAME or
        NAME-VERSION).
    type: str
    default: "*"
  attribute:
    description:
      - With O(view=report), also read downloaded bodies to split the HTTP cache into bytes
        traced to a package and the rest (slower).
    type: bool
    default: false
  facts:
    description:
      - Also set the result as the fact C(cachekit).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Nothing changes in either mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
"""

EXAMPLES = r"""
- name: Measure every package cache on the host
  cachekit.caches.info:
  register: caches

- name: Only pip and uv, with the pip cache where the jobs keep it
  cachekit.caches.info:
    managers: [pip, uv]
    environ:
      PIP_CACHE_DIR: /srv/ci/pip-cache

- name: Which cached wheels of numpy the host holds, as a fact
  cachekit.caches.info:
    view: list
    pattern: numpy
    facts: true
"""

RETURN = r"""
cachekit:
  description:
    - The core's result for this host, as cachekit's own runs collect it (schema 1) -
      status, disk, caches (manager, path, source, exists, bytes, files, the manager's
      counts, reclaimable_bytes), and with O(view=list) the entries.
  returned: always
  type: dict
  sample: {"schema": 1, "status": "ok", "disk": {"total_bytes": 100000000000,
           "free_bytes": 40000000000}, "caches": [{"manager": "pip",
           "path": "/home/ci/.cache/pip", "exists": true, "bytes": 1048576, "files": 12}]}
caches:
  description: The result's caches, each with its manager, path and sizes in bytes.
  returned: always
  type: list
  elements: dict
total_bytes:
  description: The size of every cache found, in bytes.
  returned: always
  type: int
  sample: 1048576
ansible_facts:
  description: With O(facts=true), the result as the fact C(cachekit).
  returned: when O(facts=true)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cachekit.caches.plugins.module_utils import runner


def main():
    module = AnsibleModule(
        argument_spec=runner.common_spec(
            view=dict(type="str", default="report",
                      choices=["report", "info", "dir", "list", "locations"]),
            pattern=dict(type="str", default="*"),
            attribute=dict(type="bool", default=False),
            facts=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    view = module.params["view"]
    extra = {"pattern": module.params["pattern"] or "*"} if view == "list" else {}
    if view == "report":
        extra["attribute"] = module.params["attribute"]
    result = runner.run(module, runner.request(module, view, **extra))
    runner.warn(module, result)
    out = dict(changed=False, cachekit=result, caches=result.get("caches", []),
               total_bytes=sum(c.get("bytes") or 0 for c in result.get("caches", [])))
    if module.params["facts"]:
        out["ansible_facts"] = dict(cachekit=result)
    runner.finish(module, view, result, out)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: cachekit contributors
# MIT License (see the cachekit repository)
"""cachekit.caches.clean: cachekit clean (conda's flags) on the host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: clean
short_description: Clean conda and mamba package caches as conda clean does, never breaking an
  environment
description:
  - Runs C(cachekit clean) on the host with cachekit's core - conda's targets (archives,
    unused extracted packages, the index cache, temporary and log files), and beyond them
    trash, stale locks, or whole package caches no environment uses.
  - Unlike C(conda clean), it never removes an extracted package an environment still
    uses, whatever the link type.
  - Needs at least one target.
  - O(managers) may only be C([conda]) or left out - clean is conda's command; another
    manager is refused.
version_added: 0.1.0
author:
  - cachekit contributors
extends_documentation_fragment:
  - cachekit.caches.common
  - cachekit.caches.common.destructive
options:
  tarballs:
    description:
      - Remove package archives (C(*.conda), C(*.tar.bz2)) and partial downloads; a
        hard-linked archive stays.
    type: bool
    default: false
  packages:
    description:
      - Remove extracted packages that no environment records and that share no file by
        hard link.
    type: bool
    default: false
  index_cache:
    description: Remove the index (repodata) cache, C(PKGS/cache).
    type: bool
    default: false
  tempfiles:
    description:
      - Remove C(*.c~) and C(*.trash) files under the conda root (or under
        O(tempfile_paths)).
    type: bool
    default: false
  tempfile_paths:
    description:
      - Search these paths for temporary files instead of the conda root (each inside a
        conda root, environment or cache); implies O(tempfiles).
    type: list
    elements: str
  logfiles:
    description: Remove the log files in C(PKGS/.logs).
    type: bool
    default: false
  all:
    description:
      - All of O(tarballs), O(index_cache), O(packages), O(tempfiles) and O(logfiles), as
        C(conda clean -a).
    type: bool
    default: false
  trash:
    description:
      - Remove C(*.mamba_trash) and C(*.conda_trash) files and C(PKGS/.trash) (not in
        O(all)).
    type: bool
    default: false
  lock:
    description:
      - Remove stale lock files of conda and mamba; one a running process holds stays (not
        in O(all)).
    type: bool
    default: false
  force_pkgs_dirs:
    description:
      - Remove each writable package cache whole; refused while an environment records
        packages in it. Give it alone.
    type: bool
    default: false
  break_environments:
    description: With O(force_pkgs_dirs), remove caches that environments use anyway.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: What conda clean --all would free, without breaking an environment
  cachekit.caches.clean:
    all: true
  check_mode: true

- name: Archives and the index cache of root's conda
  cachekit.caches.clean:
    tarballs: true
    index_cache: true
  become: true

- name: Temporary files in one environment only
  cachekit.caches.clean:
    tempfile_paths: [/opt/conda/envs/build]
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

TARGETS = runner.clean_targets.TARGETS


def main():
    module = AnsibleModule(
        argument_spec=runner.common_spec(
            tempfile_paths=dict(type="list", elements="str"),
            force_pkgs_dirs=dict(type="bool", default=False),
            break_environments=dict(type="bool", default=False),
            **{name: dict(type="bool", default=False) for name in TARGETS},
        ),
        supports_check_mode=True,
    )
    params = module.params
    paths = [p.strip() for p in params["tempfile_paths"] or [] if p.strip()]
    if params["tempfile_paths"] is not None and not paths:
        module.fail_json(msg="tempfile_paths names no path")
    others = sorted(set(params["managers"] or []) - {"conda"})
    if others:
        module.fail_json(msg=f"clean is conda's command: managers takes only conda (or "
                             f"nothing), not {', '.join(others)}")
    chosen = {name: params[name] or (name == "tempfiles" and bool(paths)) for name in TARGETS}
    try:
        flags = runner.clean_targets.flags(chosen, params["force_pkgs_dirs"],
                                           params["break_environments"], lambda name: name)
    except runner.policy_text.BadValue as exc:
        module.fail_json(msg=str(exc))
    req = runner.request(module, "clean", flags=flags, tempfile_paths=paths,
                         break_environments=params["break_environments"])
    req["managers"] = ["conda"]  # conda's command: the other managers have nothing to clean
    runner.destroy(module, req)


if __name__ == "__main__":
    main()

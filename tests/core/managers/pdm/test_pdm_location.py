"""Where PDM's cache is, checked against ``pdm config cache_dir`` in each setup: the
default, XDG_CACHE_HOME, PDM_CACHE_DIR, the user's config.toml, PDM_CONFIG_FILE, the site
config, ``~`` and relative values; a config file that does not parse is one line."""

import getpass
import os
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from tests.fixtures.pdm_cache import PDM, pdm_env
from tests.fixtures.program import run_core


def pdm_says(env: Dict[str, str], cwd: Path) -> str:
    done = subprocess.run([PDM, "config", "cache_dir"], env=env, cwd=cwd, text=True,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    value = done.stdout.strip().splitlines()[-1]
    return os.path.normpath(os.path.join(str(cwd), os.path.expanduser(value)))


CASES = {
    "default": ({}, None, "default (~/.cache/pdm)"),
    "xdg": ({"XDG_CACHE_HOME": "{tmp}/xdg-cache"}, None, "default ($XDG_CACHE_HOME/pdm)"),
    "xdg-relative": ({"XDG_CACHE_HOME": "rel"}, None, "default (~/.cache/pdm)"),
    "variable": ({"PDM_CACHE_DIR": "{tmp}/from-var"}, 'cache_dir = "/ignored"\n',
                 "PDM_CACHE_DIR"),
    "variable-relative": ({"PDM_CACHE_DIR": "rel/cache"}, None, "PDM_CACHE_DIR"),
    "user-config": ({}, 'cache_dir = "~/from-config"  # a comment\n',
                    "cache_dir in {home}/.config/pdm/config.toml"),
    "user-tilde": ({}, 'cache_dir = "~{user}/from-user"\n',
                   "cache_dir in {home}/.config/pdm/config.toml"),
    "variable-tilde": ({"PDM_CACHE_DIR": "~{user}"}, None, "PDM_CACHE_DIR"),
    "xdg-config": ({"XDG_CONFIG_HOME": "{tmp}/xdg-config"}, "cache_dir = '{tmp}/lit'\n",
                   "cache_dir in {tmp}/xdg-config/pdm/config.toml"),
    "config-file": ({"PDM_CONFIG_FILE": "{tmp}/elsewhere.toml"}, 'cache_dir = "rel2"\n',
                    "cache_dir in {tmp}/elsewhere.toml"),
    "site-config": ({"XDG_CONFIG_DIRS": "{tmp}/site:/etc/xdg"}, None,
                    "cache_dir in {tmp}/site/pdm/config.toml"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dir_is_pdm_config_cache_dir(case: str, home: Path, tmp_path: Path) -> None:
    extra, config, source = CASES[case]
    fill = {"tmp": str(tmp_path), "home": str(home), "user": getpass.getuser()}
    extra = {k: v.format(**fill) for k, v in extra.items()}
    work = tmp_path / "work"
    work.mkdir()
    if config is not None:
        target = Path(extra.get("PDM_CONFIG_FILE") or
                      Path(extra.get("XDG_CONFIG_HOME") or home / ".config") / "pdm/config.toml")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(config.format(**fill))
    if case == "site-config":
        site = tmp_path / "site/pdm/config.toml"
        site.parent.mkdir(parents=True)
        site.write_text(f'cache_dir = "{tmp_path}/from-site"\n')
    env = pdm_env(home, **extra)
    cache = run_core("dir", ["pdm"], {**extra, "PWD": str(work)})["caches"][0]
    assert cache["path"] == pdm_says(env, work)
    assert cache["source"] == source.format(**fill)


def test_a_config_file_that_does_not_parse_is_one_line_naming_it(home: Path) -> None:
    config = home / ".config/pdm/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('cache_dir = "unterminated\n')
    cache = run_core("dir", ["pdm"])["caches"][0]
    assert cache["path"] is None and "\n" not in cache["error"]
    assert cache["error"].startswith(f"{config}: line 1: ")
    purged = run_core("purge", ["pdm"])  # the record says why; nothing is removed
    assert purged["removed"] == [] and purged["caches"][0]["error"] == cache["error"]
    located = run_core("locations", ["pdm"])["locations"][0]
    assert str(config) in located["error"]

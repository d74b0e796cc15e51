"""A real 3-host fleet's report page, opened in headless Chromium: three sshd hosts on
loopback, each with its own caches (pip; pip and uv; pip and a runner tool cache)."""

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from cachekit.render import human_bytes
from tests.controller.test_html import embedded
from tests.controller.test_html_browser import no_trouble
from tests.fixtures.browser import page_data, page_facts, shoot
from tests.fixtures.fleet import host_entry, write_inventory
from tests.fixtures.sshd_lab import SshLab, copy_tree
from tests.fixtures.tool_cache import make_tool_cache

pytestmark = pytest.mark.ssh

HOSTS = {"build01": "127.0.0.71", "build02": "127.0.0.72", "runner01": "127.0.0.73"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshLab]:
    lab = SshLab(tmp_path_factory.mktemp("htmllab"))
    try:
        for name, address in HOSTS.items():
            lab.start(name, address)
        yield lab
    finally:
        lab.stop_all()


def test_three_host_report_page(lab: SshLab, tmp_path: Path, home: Path, pip_cache_master,
                                uv_cache_master, browser: Any, run_cachekit) -> None:
    entries = {}
    for name, address in HOSTS.items():
        entries[name] = host_entry(address, copy_tree(pip_cache_master[0],
                                                      tmp_path / "caches" / name))
    entries["build02"]["cachekit_env"]["UV_CACHE_DIR"] = str(
        copy_tree(uv_cache_master[0], tmp_path / "uv"))
    tools = tmp_path / "toolcache"
    make_tool_cache(tools)
    entries["runner01"]["cachekit_env"]["RUNNER_TOOL_CACHE"] = str(tools)
    lab.write_known_hosts(home, list(HOSTS))
    inv = write_inventory(tmp_path / "inv.yml", lab, entries)
    path = tmp_path / "report-3.html"
    done = run_cachekit(["report", "--hosts", "lab", "--format", "json", "--html", str(path)],
                        inventory=inv)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert embedded(path.read_text()) == doc
    page = browser.new_page()
    page.open(path)
    facts = page_facts(page)
    assert sorted(r["host"] for r in facts["hosts"]) == sorted(HOSTS)
    present = [c["manager"] for h in doc["hosts"] for c in h["caches"] if c.get("bytes")]
    legend = [m["manager"] for m in facts["legend"]]
    assert set(legend) >= set(present) and {"pip", "uv", "toolcache"} <= set(legend)
    by_slot = {m["slot"]: m["manager"] for m in facts["legend"]}
    rows = {r["host"]: [by_slot[s] for s in r["slots"]] for r in facts["hosts"]}
    assert rows["build01"] == ["pip"] and rows["build02"] == ["pip", "uv"]
    assert rows["runner01"] == ["pip", "toolcache"]
    total = sum(c.get("bytes") or 0 for h in doc["hosts"] for c in h["caches"])
    assert facts["glance"]["fig-total"] == human_bytes(total)
    assert facts["glance"]["fig-failed"] == "0" and facts["failed"] == []
    assert page_data(page) == doc
    no_trouble(page, path)
    shoot(page, "report-3")

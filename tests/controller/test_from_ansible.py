"""report --from-ansible reads what Ansible collected as a run's results: registered results
written per host or as one mapping, failed and skipped hosts as failed rows, a result
that is not cachekit's as a failed row, unreadable input as bad input."""

import json
from pathlib import Path
from typing import Any, Callable, Dict

from cachekit import from_ansible
from tests.fixtures.fleet import by_host


def module_result(core: Dict[str, Any]) -> Dict[str, Any]:
    """What cachekit.caches.info returns (and Ansible registers)."""
    return {"changed": False, "cachekit": core, "caches": core["caches"]}


def test_registered_results_render_as_a_local_report(tmp_path: Path, home: Path,
                                                     pip_cache: Path, core_run: Callable,
                                                     run_cachekit: Callable) -> None:
    core = core_run("report", environ={"PIP_CACHE_DIR": str(pip_cache)})
    out = tmp_path / "reports"
    out.mkdir()
    (out / "web1.json").write_text(json.dumps(module_result(core)))  # copy: dest=DIR/HOST.json
    (out / "web2.json").write_text(json.dumps({"skipped": True, "msg": "conditional false"}))
    done = run_cachekit(["report", "--from-ansible", str(out), "--format", "json"], pip_cache,
                        home=home)
    local = run_cachekit(["report", "--format", "json"], pip_cache, home=home)
    assert done.returncode == 2, done.stderr
    hosts = by_host(json.loads(done.stdout))
    assert hosts["web1"]["caches"] == by_host(json.loads(local.stdout))["local"]["caches"]
    assert hosts["web2"]["status"] == "failed"
    assert hosts["web2"]["error"] == "Ansible skipped the host: conditional false"
    page = tmp_path / "report.html"  # the HTML page takes the same results
    html = run_cachekit(["report", "--from-ansible", str(out), "--html", str(page)], pip_cache,
                        home=home)
    assert html.returncode == 2, html.stderr
    assert "web1" in page.read_text() and "web2" in page.read_text()


def test_one_file_mapping_hosts_to_results(tmp_path: Path, pip_cache: Path,
                                           core_run: Callable) -> None:
    core = core_run("report", environ={"PIP_CACHE_DIR": str(pip_cache)})
    info = core_run("info", environ={"PIP_CACHE_DIR": str(pip_cache)})
    bent = dict(core, caches=[dict(core["caches"][0], bytes="many")])
    path = tmp_path / "results.json"
    path.write_text(json.dumps({
        "b": module_result(core),
        "a": {"unreachable": True, "changed": False, "msg": "Failed to connect\nmore"},
        "c": module_result(info), "d": module_result(bent),
        "e": {"failed": True, "msg": "cachekit prune: refused: no", "cachekit": dict(
            core, status="refused", error="no")}}))
    rows = {r["host"]: r for r in from_ansible.read(str(path))}
    assert list(rows) == ["a", "b", "c", "d", "e"]
    assert rows["a"]["status"] == "unreachable"
    assert rows["a"]["error"] == "Ansible could not reach the host: Failed to connect"
    assert rows["b"]["status"] == "ok" and rows["b"]["caches"] == core["caches"]
    assert rows["c"]["status"] == "failed"
    assert "the result is cachekit info, not report" in rows["c"]["error"]
    assert rows["d"]["status"] == "failed"
    assert "caches[0].bytes: expected" in rows["d"]["error"]
    assert rows["e"]["status"] == "refused" and rows["e"]["error"] == "no"


def test_input_that_is_no_results_is_bad_input(tmp_path: Path, home: Path,
                                               run_cachekit: Callable) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{not json")
    for source, words in ((empty, "the directory holds no results"),
                          (tmp_path / "missing", "no such file or directory"),
                          (garbled, "is not a JSON result")):
        done = run_cachekit(["report", "--from-ansible", str(source)], home=home)
        assert done.returncode == 1
        assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr

"""report --from-ansible reads what Ansible collected as a run's results: registered results
written per host or as one mapping, failed and skipped hosts as failed rows, a result
that is not cachekit's as a failed row, unreadable input as bad input."""

import json
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from cachekit import from_ansible
from cachekit.errors import CachekitError
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


def test_the_same_host_twice_is_refused(tmp_path: Path, home: Path, pip_cache: Path,
                                        core_run: Callable, run_cachekit: Callable) -> None:
    """web1 and web1.json in a --tree directory, or a key twice in the mapping file, would
    count one host twice: refused in one line naming it."""
    result = json.dumps(module_result(core_run("report",
                                               environ={"PIP_CACHE_DIR": str(pip_cache)})))
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("web1", "web1.json", "web2.json"):
        (tree / name).write_text(result)
    mapping = tmp_path / "results.json"
    mapping.write_text(f'{{"web1": {result}, "web2": {result}, "web1": {result}}}')
    for source, words in ((tree, "the same host twice: web1 and web1.json"),
                          (mapping, "the key 'web1' twice in one object")):
        done = run_cachekit(["report", "--from-ansible", str(source)], home=home)
        assert done.returncode == 1, done.stdout + done.stderr
        assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_reads_are_bounded_in_bytes_and_in_files(tmp_path: Path, monkeypatch: Any) -> None:
    """A file whose size says nothing (here /proc's, 0 bytes by stat) is read no further
    than the cap; a directory of more than MAX_FILES files is refused before any is read."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "web1").symlink_to("/proc/self/mountinfo")
    monkeypatch.setattr(from_ansible, "MAX_FILE_BYTES", 16)
    with pytest.raises(CachekitError, match="web1 is larger than"):
        from_ansible.read(str(tree))
    (tree / "web1").unlink()
    for i in range(3):
        (tree / f"web{i}").write_text("{}")
    monkeypatch.setattr(from_ansible, "MAX_FILES", 2)
    with pytest.raises(CachekitError, match="more than 2 files"):
        from_ansible.read(str(tree))


def test_a_refused_prune_is_no_report_row(tmp_path: Path, pip_cache: Path,
                                          core_run: Callable) -> None:
    refused = dict(core_run("report", environ={"PIP_CACHE_DIR": str(pip_cache)}),
                   op="prune", status="refused", error="no policy")
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"web1": {"failed": True, "msg": "cachekit prune: refused",
                                         "cachekit": refused}}))
    (row,) = from_ansible.read(str(path))
    assert row["status"] == "failed"
    assert "the result is cachekit prune, not report" in row["error"]


@pytest.mark.parametrize("host", ["msg", "failed", "skipped", "cachekit", "changed"])
def test_a_host_named_like_a_result_key_is_a_host(host: str, tmp_path: Path, pip_cache: Path,
                                                  core_run: Callable) -> None:
    core = core_run("report", environ={"PIP_CACHE_DIR": str(pip_cache)})
    path = tmp_path / "results.json"
    path.write_text(json.dumps({host: module_result(core)}))
    (row,) = from_ansible.read(str(path))
    assert row["host"] == host and row["status"] == "ok"
    assert row["caches"] == core["caches"]
    single = tmp_path / "web9.json"  # one module result, even one holding only the core's
    single.write_text(json.dumps({"cachekit": core}))
    (row,) = from_ansible.read(str(single))
    assert row["host"] == "web9" and row["status"] == "ok"


def test_fleet_flags_that_cannot_apply_are_refused(tmp_path: Path, home: Path, pip_cache: Path,
                                                   core_run: Callable,
                                                   run_cachekit: Callable) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"web1": module_result(core_run(
        "report", environ={"PIP_CACHE_DIR": str(pip_cache)}))}))
    for flags, named in ((["--managers", "pip"], "--managers"), (["--attribute"], "--attribute"),
                         (["--users", "all"], "--users"), (["--hosts", "web1"], "--hosts"),
                         (["--hosts", "web1", "--attribute"], "--hosts, --attribute")):
        done = run_cachekit(["report", "--from-ansible", str(path), *flags], home=home)
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"{named} cannot apply" in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr

"""Hosts that misbehave, on purpose or by accident, against a real OpenSSH server.

Each bad host is the lab's sshd with an ``ansible_python_interpreter`` that is a wrapper:
it runs the real core and then bends its answer (wrong types, malformed progress lines,
escape sequences), floods stdout or stderr, stops mid-output, or is no python at all.
Each must end as that host's row with a one-line reason, with no traceback, while the
controller stays small and the healthy host beside it is served.
"""

import json
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from cachekit import child, protocol
from tests.fixtures.fleet import by_host, fake_python, host_entry, write_inventory
from tests.fixtures.pip_cache import pip_env
from tests.fixtures.sshd_lab import SshLab, copy_tree, one_host_lab

pytestmark = pytest.mark.ssh  # every test here talks to a real sshd

ADDRESS = "127.0.0.41"  # test_remote's hosts use .11-.17


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    with one_host_lab(tmp_path_factory.mktemp("hostile-lab"), "hostile", ADDRESS) as lab:
        yield lab


# Runs on the host after the real core: passes progress lines through at once (the first
# is the bootstrap's marker) and applies one change to the result, the last line.
BENDER = textwrap.dedent('''\
    import json, sys
    how = sys.argv[1]
    held = None
    for line in sys.stdin:
        if line.startswith("@"):
            sys.stdout.write(line)
            sys.stdout.flush()
        else:
            held = line
    result, raw = json.loads(held), None
    exec(how)  # changes result, or sets raw: the line sent instead
    if isinstance(raw, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(raw + b"\\n")
    else:
        sys.stdout.write((raw if raw is not None else json.dumps(result)) + "\\n")
''')

ESCAPES = "\x1b[31mred\x1b[0m\x1b]0;owned\x07\r\x08"

# name: (change to the result, what the row's reason must name)
BENT: Dict[str, Tuple[str, str]] = {
    "size_as_string": ("result['caches'][0]['bytes'] = str(result['caches'][0]['bytes'])",
                       "caches[0].bytes"),
    "count_as_true": ("result['reclaimed_bytes'] = True", "reclaimed_bytes"),
    "negative_free": ("result['disk']['free_bytes'] = -1", "disk.free_bytes"),
    "huge_size": ("result['caches'][0]['bytes'] = 10 ** 300", "caches[0].bytes"),
    "unknown_status": ("result['status'] = 'splendid'", "status"),
    "warning_not_text": ("result['warnings'] = [7]", "warnings[0]"),
    "caches_an_object": ("result['caches'] = {}", "caches"),
    "cache_a_list": ("result['caches'] = [[1]]", "caches[0]"),
    "unknown_manager": ("result['caches'][0]['manager'] = 'npm'", "caches[0].manager"),
    "row_without_path": ("result['removed'] = [{'manager': 'pip', 'bytes': 1, "
                         "'reason': 'x'}]", "removed[0].path"),
    "missing_figure": ("del result['caches'][0]['wheels_bytes']", "caches[0].wheels_bytes"),
    "failed_without_reason": ("result['status'] = 'failed'; result['error'] = None", "error"),
    "flood_warning": ("result['warnings'] = ['w' * 100000]", "warnings[0]"),
    "no_caches": ("del result['caches']", "caches"),
    "schema_flood": ("result['schema'] = 'v' * 1000000", "schema: expected an integer"),
    "other_schema": ("result['schema'] = 99", "result schema 99, this cachekit reads schema 1"),
    "other_op": ("result['op'] = 'dir'", "op: expected one of info"),
    "environment_without_source": ("result['environments'] = [{'manager': 'conda', "
                                   "'path': '/x'}]", "environments[0].source"),
    "bad_bucket": ("result['caches'].append({'manager': 'uv', 'path': '/u', 'exists': True, "
                   "'bytes': 1, 'files': 1, 'disk_bytes': 1, 'packages': 0, 'unknown': [], "
                   "'buckets': {'\\x1b[2J': {'bytes': 'many'}}})",
                   "caches[1].buckets['\\x1b[2J'].bytes"),
    "bad_history_sizes": ("result['caches_before'] = [{'manager': 'pip', 'path': None, "
                          "'bytes': 'x'}]", "caches_before[0].bytes"),
    "nan": ("raw = json.dumps(result).replace('\"elapsed_s\": ', "
            "'\"elapsed_s\": NaN, \"x\": ')", "not valid JSON"),
    "infinite": ("raw = json.dumps(result)[:-1] + ', \"y\": 1e999}'", "not valid JSON"),
    "deep": ("raw = json.dumps(result)[:-1] + ', \"x\": ' + '[' * 5000 + ']' * 5000 + '}'",
             "nested"),
    "deep_unknown_field": ("result['extra'] = json.loads('[' * 600 + ']' * 600)", "nested"),
    "many_values": ("raw = '[' + '{},' * 1100000 + '{}]'", "values"),
    "not_an_object": ("raw = '[1, 2, 3]'", "not an object"),
    "binary_garbage": ("raw = b'\\xff\\xfe{'", "not valid JSON"),
}


def bent_python(tmp_path: Path, name: str, how: str) -> Path:
    bender = tmp_path / "bender.py"
    bender.write_text(BENDER)
    return fake_python(tmp_path / f"python-{name}",
                       f'{sys.executable} "$@" | {sys.executable} {bender} {shlex.quote(how)}\n')


def one_host(tmp_path: Path, lab: SshLab, home: Path, cache: Path, python: str,
             name: str = "h") -> Path:
    lab.write_known_hosts(home, ["hostile"])
    return write_inventory(tmp_path / f"inv-{name}.yml", lab, {
        name: host_entry(ADDRESS, cache, ansible_python_interpreter=python)})


def rows_of(out: "subprocess.CompletedProcess[str]") -> Dict[str, Dict[str, Any]]:
    assert "Traceback" not in out.stderr, out.stderr
    return by_host(json.loads(out.stdout))


def test_a_bent_result_fails_its_host_alone_naming_the_field(
        tmp_path: Path, lab: SshLab, home: Path, pip_cache_master, run_cachekit) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    hosts = {"healthy": host_entry(ADDRESS, cache)}
    for name, (how, _field) in BENT.items():
        hosts[name] = host_entry(ADDRESS, cache, ansible_python_interpreter=str(
            bent_python(tmp_path, name, how)))
    lab.write_known_hosts(home, ["hostile"])
    inv = write_inventory(tmp_path / "inv.yml", lab, hosts)
    out = run_cachekit(["info", "--hosts", "all", "--format", "json", "--workers", "4"],
                       inventory=inv)
    assert out.returncode == 2, out.stderr
    rows = rows_of(out)
    assert rows["healthy"]["status"] == "ok" and rows["healthy"]["caches"][0]["wheels"] == 6
    for name, (_how, field) in BENT.items():
        row = rows[name]
        assert row["status"] == "failed", (name, row)
        assert field in row["error"] and "\n" not in row["error"], (name, row["error"])
        assert len(row["error"]) < 400, (name, row["error"])
    # The tables are drawn from the same rows: one line per failed host, no traceback.
    table = run_cachekit(["info", "--hosts", "all", "--workers", "4"], inventory=inv)
    assert table.returncode == 2 and "Traceback" not in table.stderr, table.stderr
    assert all(f"{name}: " in table.stderr for name in BENT)
    for task in ("report", "dir", "list"):  # a change may hit a field these do not send
        table = run_cachekit([task, "--hosts", "all", "--workers", "4"], inventory=inv)
        assert table.returncode == 2 and "Traceback" not in table.stderr, (task, table.stderr)


@pytest.mark.parametrize("progress,needle,confirmed", [
    ('@[1, 2]\n', "line 1: row: expected an object", 0),
    ('@{"path": 5, "manager": "pip", "bytes": 1, "reason": "x", "ok": true}\n',
     "row.path", 0),
    ('@{"path": "/c/a.whl", "manager": "pip", "bytes": 1, "reason": "x", "ok": true}\n'
     '@{"path": "/c/b.whl", "manager": "pip", "bytes": NaN, "reason": "x", "ok": true}\n',
     "line 2", 1),
    ('@{"path": "/c/a.whl", "manager": "pip", "bytes": 1, "reason": "x", "ok": true}\n'
     '@not json at all\n', "line 2", 1),
    ('@' + '[' * 100000 + '\n', "line 1", 0),
])
def test_malformed_progress_lines_end_as_a_failed_row(
        tmp_path: Path, lab: SshLab, home: Path, progress: str, needle: str,
        confirmed: int, run_cachekit) -> None:
    """A removal that breaks off after progress lines a host made up."""
    lines = tmp_path / "progress"
    lines.write_text(progress)
    fake = fake_python(tmp_path / "fake-python",
                       f"printf '@need\\n'; cat >/dev/null; cat {lines}; exit 1\n")
    inv = one_host(tmp_path, lab, home, tmp_path / "none", str(fake))
    out = run_cachekit(["report", "--hosts", "h", "--format", "json"], inventory=inv)
    assert out.returncode == 2
    row = rows_of(out)["h"]
    assert row["status"] == "failed" and "broke off during removal" in row["error"]
    assert needle in row["error"] and "\n" not in row["error"], row["error"]
    assert len(row["removed"]) == confirmed


def measured(args: List[str], home: Path, inventory: Path) -> Tuple[Dict[str, Any], int]:
    """Run the controller as a child of a fresh python, and read that child's peak RSS
    (kB) from getrusage: only the controller (and what it waited for) counts."""
    probe = textwrap.dedent('''\
        import json, resource, subprocess, sys
        done = subprocess.run(sys.argv[1:], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=300)
        print(json.dumps({"rc": done.returncode, "stdout": done.stdout,
                          "stderr": done.stderr[-5000:],
                          "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
    ''')
    env = pip_env(home)
    env.pop("SSH_AUTH_SOCK", None)
    done = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "cachekit",
                           *args, "--inventory", str(inventory)], env=env, text=True,
                          capture_output=True, timeout=400, check=True)
    got = json.loads(done.stdout)
    return got, got["maxrss_kb"]


@pytest.mark.parametrize("flood", [
    "yes '@{\"path\": \"/x\", \"manager\": \"pip\", \"bytes\": 1, \"reason\": \"r\"}'",
    "cat /dev/zero",  # one endless line, no newline ever
])
def test_endless_output_stops_at_the_cap_and_the_controller_stays_small(
        tmp_path: Path, lab: SshLab, home: Path, flood: str) -> None:
    fake = fake_python(tmp_path / "flood-python", f"printf '@need\\n'; cat >/dev/null; {flood}\n")
    inv = one_host(tmp_path, lab, home, tmp_path / "none", str(fake))
    got, rss_kb = measured(["report", "--hosts", "h", "--format", "json", "--timeout", "240"],
                           home, inv)
    assert got["rc"] == 2 and "Traceback" not in got["stderr"], got["stderr"]
    row = json.loads(got["stdout"])["hosts"][0]
    # stopped by the cap, not by the timeout
    assert row["status"] == "failed" and "more than 64 MiB on stdout" in row["error"], row
    print(f"controller peak RSS: {rss_kb} kB")
    assert rss_kb < 300_000, f"the controller peaked at {rss_kb} kB"


def test_a_host_may_have_its_own_cap(tmp_path: Path, lab: SshLab, home: Path,
                                     pip_cache_master, run_cachekit) -> None:
    """``cachekit_max_output`` lowers (or raises) one host's cap; a bad value is named."""
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    fake = fake_python(tmp_path / "flood-python", "printf '@need\\n'; cat >/dev/null; "
                       "cat /dev/zero\n")
    lab.write_known_hosts(home, ["hostile"])
    inv = write_inventory(tmp_path / "inv.yml", lab, {
        "small": host_entry(ADDRESS, cache, ansible_python_interpreter=str(fake),
                            cachekit_max_output="2MiB"),
        "roomy": host_entry(ADDRESS, cache, cachekit_max_output="1GiB"),
        "bad": host_entry(ADDRESS, cache, cachekit_max_output="lots")})
    rows = rows_of(run_cachekit(["info", "--hosts", "all", "--format", "json"], inventory=inv))
    assert "more than 2 MiB on stdout" in rows["small"]["error"]
    assert rows["roomy"]["status"] == "ok"
    assert rows["bad"]["status"] == "failed"
    assert "cachekit_max_output 'lots' is not a size" in rows["bad"]["error"]


def test_megabytes_on_stderr_before_a_valid_result_are_drained(
        tmp_path: Path, lab: SshLab, home: Path, pip_cache_master) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    noisy = fake_python(tmp_path / "noisy-python", (
        "head -c 8000000 /dev/zero | tr '\\0' 'e' >&2\n"
        "printf '\\nthe last words\\n' >&2\n"
        f'exec {sys.executable} "$@"\n'))
    inv = one_host(tmp_path, lab, home, cache, str(noisy))
    got, rss_kb = measured(["info", "--hosts", "h", "--format", "json", "--timeout", "120"],
                           home, inv)
    assert got["rc"] == 0, got["stderr"]
    row = json.loads(got["stdout"])["hosts"][0]
    assert row["status"] == "ok" and row["caches"][0]["wheels"] == 6
    print(f"controller peak RSS: {rss_kb} kB")
    assert rss_kb < 300_000, f"the controller peaked at {rss_kb} kB"


def test_a_host_flooding_stderr_before_reading_a_big_request_is_not_stalled(
        tmp_path: Path, lab: SshLab, home: Path, pip_cache_master,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither side reads while it writes more than an SSH window (2 MB) holds: cachekit
    must drain the host's stderr while it sends the request (an apply's plans can be
    megabytes)."""
    from cachekit import fleet

    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    noisy = fake_python(tmp_path / "noisy-python", (
        "head -c 8000000 /dev/zero | tr '\\0' 'e' >&2\n"
        f'exec {sys.executable} "$@"\n'))
    inv = one_host(tmp_path, lab, home, cache, str(noisy))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    hosts = fleet.select_hosts("h", str(inv))
    with fleet.Fleet(hosts, protocol.Settings(timeout=60)) as running:
        [row] = running.run({"op": "info", "managers": ["pip"], "padding": "p" * 6_000_000})
    assert row["status"] == "ok", row
    assert row["caches"][0]["wheels"] == 6


def test_stderr_flood_on_a_failing_host_keeps_a_short_tail(
        tmp_path: Path, lab: SshLab, home: Path, run_cachekit) -> None:
    noisy = fake_python(tmp_path / "noisy-python", (
        "head -c 3000000 /dev/zero | tr '\\0' 'e' >&2\n"
        "printf '\\nthe last words\\n' >&2\nexit 1\n"))
    inv = one_host(tmp_path, lab, home, tmp_path / "none", str(noisy))
    out = run_cachekit(["report", "--hosts", "h", "--format", "json"], inventory=inv)
    row = rows_of(out)["h"]
    assert row["status"] == "failed" and "the last words" in row["error"]
    assert row["stderr_tail"][-1] == "the last words"
    assert sum(len(line) for line in row["stderr_tail"]) < 5000


@pytest.mark.parametrize("script,timeout,needle", [
    # half a result, then a clean exit; then killed by a signal mid-output
    (f'{sys.executable} "$@" | head -c 300\n', "60", "truncated or garbled"),
    (f'{sys.executable} "$@" | head -c 300\nkill -KILL $$\n', "60", "killed by a signal"),
    # the process closes its output but never exits: --timeout ends it
    ("printf '@need\\n'; exec >&- 2>&- <&-; sleep 30\n", "3", "no result within 3 s"),
])
def test_a_host_that_stops_mid_output_fails(tmp_path: Path, lab: SshLab, home: Path,
                                           pip_cache_master, script: str, timeout: str,
                                           needle: str, run_cachekit) -> None:
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    fake = fake_python(tmp_path / "fake-python", script)
    inv = one_host(tmp_path, lab, home, cache, str(fake))
    out = run_cachekit(["info", "--hosts", "h", "--format", "json", "--timeout", timeout],
                       inventory=inv)
    assert out.returncode == 2
    row = rows_of(out)["h"]
    assert row["status"] in ("failed", "timeout") and needle in row["error"], row


def test_escape_sequences_from_a_host_are_kept_as_data(tmp_path: Path, lab: SshLab, home: Path,
                                                       pip_cache_master, run_cachekit) -> None:
    """The strings survive into JSON as sent; tables and messages do not crash on them
    (escaping them on display is the renderer's job)."""
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    how = (f"result['warnings'] = [{ESCAPES!r}]; "
           f"result['caches'][0]['warnings'] = [{ESCAPES!r}]; "
           f"result['caches'][0]['error'] = {ESCAPES!r}; "
           f"result['caches'][0]['source'] = {ESCAPES!r}")
    failing = f"result['status'] = 'failed'; result['error'] = {ESCAPES!r}"
    lab.write_known_hosts(home, ["hostile"])
    inv = write_inventory(tmp_path / "inv.yml", lab, {
        "odd": host_entry(ADDRESS, cache, ansible_python_interpreter=str(
            bent_python(tmp_path, "odd", how))),
        "failing": host_entry(ADDRESS, cache, ansible_python_interpreter=str(
            bent_python(tmp_path, "failing", failing)))})
    out = run_cachekit(["info", "--hosts", "all", "--format", "json"], inventory=inv)
    rows = rows_of(out)
    assert rows["odd"]["status"] == "ok" and rows["odd"]["warnings"] == [ESCAPES]
    assert rows["odd"]["caches"][0]["error"] == ESCAPES
    assert rows["failing"]["status"] == "failed" and rows["failing"]["error"] == ESCAPES
    for task in ("info", "report", "dir"):
        table = run_cachekit([task, "--hosts", "all"], inventory=inv)
        assert table.returncode == 2 and "Traceback" not in table.stderr, table.stderr


def test_env_python3_as_the_interpreter_works_end_to_end(tmp_path: Path, lab: SshLab, home: Path,
                                                         pip_cache_master, run_cachekit) -> None:
    """Ansible's usual ``/usr/bin/env python3``, a command with options, and Ansible's
    ``auto_silent`` plan and purge a remote cache."""
    cache = copy_tree(pip_cache_master[0], tmp_path / "cache")
    assert Path("/usr/bin/python3").exists()  # what env finds on the session's PATH
    for python in ("/usr/bin/env python3", f"{shlex.quote(sys.executable)} -I -B",
                   "'/usr/bin/env'  -u CACHEKIT_NOTHING  python3", "auto_silent"):
        inv = one_host(tmp_path, lab, home, cache, python)
        out = run_cachekit(["info", "--hosts", "h", "--format", "json"], inventory=inv)
        assert out.returncode == 0, (python, out.stderr)
        assert rows_of(out)["h"]["caches"][0]["wheels"] == 6
    done = run_cachekit(["purge", "--hosts", "h", "--yes", "--format", "json"], inventory=inv)
    assert done.returncode == 0, done.stderr
    assert rows_of(done)["h"]["reclaimed_bytes"] > 0 and not (cache / "wheels").exists()


@pytest.mark.parametrize("python,needle", [
    ("/usr/bin/env nopython3", "'/usr/bin/env nopython3' (ansible_python_interpreter) could "
                               "not be run (exit 127)"),
    ("/nonexistent/python3 -I", "'/nonexistent/python3 -I' (ansible_python_interpreter) "
                                "could not be run"),
    ("/bin/false", "'/bin/false' (ansible_python_interpreter) did not start cachekit (exit 1)"),
    ("/bin/sh", "'/bin/sh' (ansible_python_interpreter) did not start cachekit"),
    ("'/usr/bin/python3", "ansible_python_interpreter \"'/usr/bin/python3\" of host h is not "
                          "a command (No closing quotation)"),
    ("  ", "ansible_python_interpreter of host h is empty"),
])
def test_a_missing_or_broken_interpreter_is_named(tmp_path: Path, lab: SshLab, home: Path,
                                                  python: str, needle: str, run_cachekit) -> None:
    inv = one_host(tmp_path, lab, home, tmp_path / "none", python)
    out = run_cachekit(["report", "--hosts", "h", "--format", "json"], inventory=inv)
    assert out.returncode == 2
    row = rows_of(out)["h"]
    assert row["status"] == "failed" and needle in row["error"], row["error"]
    assert "SSH session broke off" not in row["error"]


def test_an_old_python_is_named(tmp_path: Path, lab: SshLab, home: Path, run_cachekit) -> None:
    old = fake_python(tmp_path / "python2", "echo 'Python 2.7.18' >&2\nexit 2\n")
    inv = one_host(tmp_path, lab, home, tmp_path / "none", str(old))
    row = rows_of(run_cachekit(["report", "--hosts", "h", "--format", "json"], inventory=inv))["h"]
    assert "did not start cachekit (exit 2): Python 2.7.18" in row["error"]


# The local child process (``local`` beside remote hosts) is read the same way.

def test_a_child_flooding_stdout_is_stopped_at_the_cap() -> None:
    with pytest.raises(protocol.HostFailure) as failed:
        child.run_child([sys.executable, "-c", "import sys\nwhile True: sys.stdout.write"
                           "('x' * 65536)"], b"", timeout=120, cap=4 * 1024 * 1024)
    assert failed.value.status == "failed" and "more than 4 MiB" in failed.value.reason


def test_a_child_writing_stderr_first_is_not_stalled() -> None:
    script = ("import sys\nsys.stdin.read()\nsys.stderr.write('e' * 8000000 + '\\nbye\\n')\n"
              "sys.stderr.flush()\nprint('{\"done\": 1}')")
    out, tail, status = child.run_child([sys.executable, "-c", script], b"x" * 5000000,
                                          timeout=120)
    assert status == 0 and bytes(out) == b'{"done": 1}\n'
    assert tail[-1] == "bye" and sum(map(len, tail)) < 5000


def test_a_child_that_never_ends_times_out() -> None:
    with pytest.raises(protocol.HostFailure) as failed:
        child.run_child([sys.executable, "-c", "import time; time.sleep(60)"], b"", timeout=1)
    assert failed.value.status == "timeout"

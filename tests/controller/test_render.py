"""What people read: names with any bytes stay one escaped row, tables fit the terminal.

Real pip and uv caches (built by the real tools) get files whose names hold a newline, a
tab, terminal escapes, a bidi override and bytes that are not UTF-8; the real program
lists, plans and removes them, on pipes, with $COLUMNS and on real pseudo-terminals.
"""

import fcntl
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import yaml

from cachekit import text
from cachekit.errors import EXIT_DECLINED
from cachekit.render import tables
from tests.fixtures import program
from tests.fixtures.pip_cache import pip_env
from tests.fixtures.sshd_lab import PORT, SshLab, copy_tree, one_host_lab
from tests.fixtures.uv_cache import UV

HOSTILE = [b"evil\nrow", b"esc\x1b[2Jclear", b"bad\xff\xfe", b"tab\tname", b"bidi\xe2\x80\xaeevil",
           b"bell\x07cr\r"]
ESCAPED = ["evil\\nrow", "esc\\x1b[2Jclear", "bad\\xff\\xfe", "tab\\tname", "bidi\\u202eevil",
           "bell\\x07cr\\r"]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e\udc80-\udcff]")
OURS = re.compile(r"\r|\x1b\[[02]?K")  # what cachekit's own progress line writes and erases
LAB_ADDRESS = "127.0.0.41"


def wheel_name(stem: bytes) -> bytes:
    return stem + b"-1.0-py3-none-any.whl"


@pytest.fixture
def hostile_pip(pip_cache: Path) -> Path:
    """The real pip cache, plus copies of a real built wheel under hostile names, one in a
    directory whose own name is hostile, and a stray HTTP file named like one."""
    wheel = next(pip_cache.glob("wheels/**/alpha-2.0-py3-none-any.whl"))
    folder = os.fsencode(wheel.parent)
    for stem in HOSTILE:
        shutil.copyfile(os.fsencode(wheel), folder + b"/" + wheel_name(stem))
    odd_dir = os.fsencode(pip_cache) + b"/wheels/\x1b]0;owned\x07/ab/cd"
    os.makedirs(odd_dir)
    shutil.copyfile(os.fsencode(wheel), odd_dir + b"/oddir-1.0-py3-none-any.whl")
    Path(os.fsdecode(os.fsencode(pip_cache) + b"/http-v2/stray\nfile\x1b[0m")).write_text("x")
    return pip_cache


def assert_clean(out: str) -> None:
    """Nothing that drives a terminal or splits a row reaches it."""
    assert not CONTROL.search(out), repr(CONTROL.search(out))


# names are data ---------------------------------------------------------------------


def test_list_shows_each_hostile_name_escaped_on_one_row(hostile_pip: Path, home: Path,
                                                         run_cachekit) -> None:
    out = run_cachekit(["list"], hostile_pip, expect=0)
    assert_clean(out.stdout + out.stderr)
    rows = out.stdout.splitlines()[2:]
    doc = json.loads(run_cachekit(["list", "--format", "json"], hostile_pip, expect=0).stdout)
    entries = doc["hosts"][0]["entries"]
    assert len(rows) == len(entries)  # one row per entry: no name split a row
    for escaped in ESCAPED:
        [row] = [r for r in rows if escaped + "-1.0" in r]
        assert row.split()[0] == escaped
    # JSON keeps the real names: the bytes on disk, through surrogateescape
    names = {os.fsencode(e["path"]).rsplit(b"/", 1)[-1] for e in entries}
    assert {wheel_name(s) for s in HOSTILE} <= names
    assert b"oddir-1.0-py3-none-any.whl" in names


def test_abspath_is_exact_for_scripts(hostile_pip: Path, home: Path) -> None:
    env = pip_env(home, PIP_CACHE_DIR=str(hostile_pip))
    done = subprocess.run([sys.executable, "-m", "cachekit", "list", "bad*", "--format",
                           "abspath"], env=env, capture_output=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip(b"\n").endswith(b"/" + wheel_name(b"bad\xff\xfe"))
    assert os.path.exists(done.stdout.rstrip(b"\n"))


def test_plans_escape_every_path_and_removal_really_removes(hostile_pip: Path,
                                                           home: Path, run_cachekit) -> None:
    before = [os.fsencode(p) for p in hostile_pip.rglob("*")]
    # not "*": pip's `cache remove *` is a purge, planned one row per bucket
    plan = run_cachekit(["remove", "?*", "--dry-run"], hostile_pip, expect=0)
    purge_plan = run_cachekit(["purge", "--dry-run"], hostile_pip, expect=0)
    assert_clean(plan.stdout + plan.stderr)
    for escaped in ESCAPED + ["oddir-1.0"]:
        assert len([r for r in plan.stdout.splitlines() if escaped + "-1.0" in r
                    or (escaped == "oddir-1.0" and escaped in r)]) == 1
    assert "/wheels/\\x1b]0;owned\\x07/ab/cd/oddir-1.0-py3-none-any.whl" in plan.stdout
    # a purge plans one row per bucket (core/managers/pip/sweep.py): no name reaches it raw
    assert_clean(purge_plan.stdout + purge_plan.stderr)
    assert sorted(r.split()[2].rsplit("/", 1)[-1] for r in purge_plan.stdout.splitlines()
                  if r.startswith("would remove ")) == ["http", "http-v2", "wheels"]
    assert [os.fsencode(p) for p in hostile_pip.rglob("*")] == before  # dry runs touch nothing

    one = run_cachekit(["remove", "bad*", "--yes"], hostile_pip, expect=0)
    assert_clean(one.stdout + one.stderr)
    assert not os.path.lexists(os.fsencode(next(hostile_pip.glob("wheels/**/alpha-2.0-*.whl"))
                                           .parent) + b"/" + wheel_name(b"bad\xff\xfe"))
    assert "removed " in one.stdout and "bad\\xff\\xfe-1.0" in one.stdout

    done = run_cachekit(["purge", "--yes"], hostile_pip, expect=0)
    assert_clean(done.stdout + done.stderr)
    # the hostile names went with their buckets, each bucket one row
    assert sorted(r.split()[1].rsplit("/", 1)[-1] for r in done.stdout.splitlines()
                  if r.startswith("removed ")) == ["http", "http-v2", "wheels"]
    left = [os.fsencode(p) for p in hostile_pip.rglob("*")]
    assert not [p for p in left if p.endswith(b".whl") or b"stray\n" in p]
    assert not os.path.lexists(os.fsencode(hostile_pip) + b"/wheels")


@pytest.fixture
def hostile_uv(uv_cache: Path) -> Path:
    """The real uv cache, with a package file and a package entry whose names are hostile
    (a wheel may ship any file name; an index may serve any project directory)."""
    archive = next(p for p in (uv_cache / "archive-v0").iterdir() if (p / "beta.py").exists())
    (archive / "data\nfile\x1b[31m.txt").write_text("x")
    beta = next(uv_cache.glob("wheels-v*/index/*/beta"))
    shutil.copytree(beta, beta.parent / "ev\x1bil\npkg", symlinks=True)
    return uv_cache


def uv_run(args: List[str], cache: Path, home: Path, **env: str) -> subprocess.CompletedProcess:
    return program.run_cachekit(args, cache, home=home, expect=0, UV_CACHE_DIR=str(cache),
                                PATH=f"{Path(UV).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                                **env)


def test_uv_names_are_data(hostile_uv: Path, home: Path) -> None:
    listed = uv_run(["list", "--managers", "uv"], hostile_uv, home)
    assert_clean(listed.stdout + listed.stderr)
    [row] = [r for r in listed.stdout.splitlines() if "ev\\x1bil\\npkg" in r]
    assert row.split()[0] == "ev\\x1bil\\npkg"
    plan = uv_run(["purge", "--managers", "uv", "--dry-run"], hostile_uv, home)
    assert_clean(plan.stdout + plan.stderr)
    assert os.path.lexists(next(hostile_uv.glob("wheels-v*/index/*/ev\x1bil\npkg")))
    done = uv_run(["purge", "--managers", "uv", "--yes"], hostile_uv, home)
    assert_clean(done.stdout + done.stderr)
    assert not list(hostile_uv.glob("wheels-v*/index/*/ev*"))
    assert not list(hostile_uv.glob("archive-v0/*/data*"))


# tables fit -------------------------------------------------------------------------

TABLE_COMMANDS = [["list"], ["info"], ["dir"], ["locations"], ["report"], ["hosts"],
                  ["purge", "--dry-run"], ["remove", "?*", "--dry-run"],
                  ["prune", "--older-than", "1s", "--dry-run"]]


def stdout_lines(out: str) -> List[str]:
    return [line for line in out.splitlines()]


def mixed_env(uv_cache: Path) -> Dict[str, str]:
    return {"UV_CACHE_DIR": str(uv_cache),
            "PATH": f"{Path(UV).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}


@pytest.mark.parametrize("args", TABLE_COMMANDS, ids=lambda a: " ".join(a))
def test_tables_fit_columns_80(hostile_pip: Path, uv_cache: Path, home: Path,
                               args: List[str], run_cachekit) -> None:
    out = run_cachekit(args, hostile_pip, expect=0, COLUMNS="80", **mixed_env(uv_cache))
    lines = stdout_lines(out.stdout)
    assert lines and max(text.width(line) for line in lines) <= 80, out.stdout
    assert_clean(out.stdout)


def test_wide_shows_whole_paths_and_a_pipe_is_not_shortened(hostile_pip: Path,
                                                            home: Path, run_cachekit) -> None:
    odd = str(next(hostile_pip.glob("wheels/*/ab/cd/oddir-1.0-py3-none-any.whl")))
    whole = text.printable(odd)
    assert len(whole) > 80
    fitted = run_cachekit(["remove", "?*", "--dry-run"], hostile_pip, expect=0, COLUMNS="80")
    assert whole not in fitted.stdout and "\u2026" in fitted.stdout
    wide = run_cachekit(["remove", "?*", "--dry-run", "--wide"], hostile_pip, expect=0,
                        COLUMNS="80")
    assert whole in wide.stdout and "\u2026" not in wide.stdout
    piped = run_cachekit(["remove", "?*", "--dry-run"], hostile_pip,
                         expect=0)  # no $COLUMNS, not a terminal
    assert whole in piped.stdout
    info = run_cachekit(["info", "--wide"], hostile_pip, expect=0, COLUMNS="80")
    assert str(hostile_pip) in info.stdout
    assert info.stdout.split("\n", 1)[0].split()[:3] == ["HOST", "MANAGER", "PATH"]  # a table
    stacked = run_cachekit(["info"], hostile_pip, expect=0, COLUMNS="80")  # too many columns for 80
    assert stacked.stdout.splitlines()[:2] == ["HOST          local", "MANAGER       pip"]


def test_manager_column_when_rows_mix_managers(pip_cache: Path, uv_cache: Path,
                                               home: Path, run_cachekit) -> None:
    mixed = run_cachekit(["list"], pip_cache, expect=0, **mixed_env(uv_cache))
    header, _rule, *rows = mixed.stdout.splitlines()
    assert header.split()[0] == "MANAGER"
    assert {r.split()[0] for r in rows} == {"pip", "uv"}
    alone = run_cachekit(["list", "--managers", "pip"], pip_cache, expect=0, **mixed_env(uv_cache))
    assert "MANAGER" not in alone.stdout and alone.stdout.startswith("PACKAGE")


def on_terminal(args: List[str], env: Dict[str, str], cols: int, answer: Optional[str] = None,
                rows: int = 24) -> Tuple[int, str]:
    """Run the program with stdin, stdout and stderr on one real pseudo-terminal of
    ``cols`` columns; type ``answer`` when it asks. Returns (exit code, screen text)."""
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([sys.executable, "-m", "cachekit", *args], stdin=secondary,
                            stdout=secondary, stderr=secondary, env=env, start_new_session=True)
    os.close(secondary)
    out, asked = b"", False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 1)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # EIO: every writer is gone
                    break
                if not chunk:
                    break
                out += chunk
                if answer is not None and not asked and b"[y/N] " in out:
                    os.write(primary, answer.encode() + b"\n")
                    asked = True
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(primary)
    return proc.wait(timeout=30), out.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.parametrize("cols", [80, 120])
def test_tables_fit_a_real_terminal(hostile_pip: Path, uv_cache: Path, home: Path,
                                    cols: int) -> None:
    env = pip_env(home, PIP_CACHE_DIR=str(hostile_pip), **mixed_env(uv_cache))
    for args in (["info"], ["list"], ["report"], ["locations"], ["purge", "--dry-run"]):
        code, screen = on_terminal(args, env, cols)
        assert code == 0, screen
        data = [line for line in screen.splitlines() if not line.startswith("cachekit: ")]
        assert max(text.width(line) for line in data) <= cols, screen
        assert_clean(screen)
    code, screen = on_terminal(["info"], env, 120)
    assert screen.startswith("HOST") and "BUILT WHEELS" in screen.splitlines()[0]
    code, screen = on_terminal(["list", "bad*", "--format", "abspath"], env, 80)
    assert code == 0 and screen.rstrip().endswith("/bad\\xff\\xfe-1.0-py3-none-any.whl")


def test_a_long_plan_ends_with_its_summary_above_the_question(hostile_pip: Path,
                                                              home: Path) -> None:
    # a removal plans one row per wheel (a purge, one row per bucket)
    wheels = add_wheels(hostile_pip, 300)
    env = pip_env(home, PIP_CACHE_DIR=str(hostile_pip))
    code, screen = on_terminal(["remove", "many*"], env, 80, answer="n")
    assert code == EXIT_DECLINED, screen
    lines = screen.splitlines()
    [ask] = [i for i, line in enumerate(lines) if "[y/N]" in line]
    assert len(lines[:ask]) > 300
    assert re.fullmatch(r"local: \d+ files and \d+ directories to remove; would free .*",
                        lines[ask - 1]), lines[ask - 1]
    assert lines[ask].startswith("Remove these ")
    assert max(text.width(line) for line in lines[:ask]) <= 80
    assert all(w.exists() for w in wheels)  # "n" removed nothing


def add_wheels(cache: Path, count: int) -> List[Path]:
    """``count`` copies of a real built wheel, each its own project."""
    wheel = next(cache.glob("wheels/**/alpha-2.0-py3-none-any.whl"))
    made = [wheel.parent / f"many{i}-1.0-py3-none-any.whl" for i in range(count)]
    for path in made:
        shutil.copyfile(wheel, path)
    return made


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    with one_host_lab(tmp_path_factory.mktemp("renderlab"), "r1", LAB_ADDRESS) as lab:
        yield lab


@pytest.mark.ssh
def test_a_fleet_plan_ends_with_its_total_and_host_text_is_escaped(
        tmp_path: Path, lab: SshLab, home: Path, pip_cache_master) -> None:
    """A remote host whose cache path holds terminal escapes, and a long local plan."""
    remote = copy_tree(pip_cache_master[0], tmp_path / "r1\x1b[2J\x1b]0;x\x07 cache")
    local = copy_tree(pip_cache_master[0], tmp_path / "local-cache")
    wheels = add_wheels(local, 300)
    hosts = {"r1": {"ansible_host": LAB_ADDRESS, "ansible_port": PORT,
                    "cachekit_env": {"PIP_CACHE_DIR": str(remote),
                                     "XDG_CACHE_HOME": str(tmp_path / "r1.xdg")}},
             "local": {"cachekit_env": {"PIP_CACHE_DIR": str(local)}}}
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(lab.client_key)},
        "children": {"lab": {"hosts": hosts}}}}))
    lab.write_known_hosts(home, ["r1"])
    env = pip_env(home)
    env.pop("SSH_AUTH_SOCK", None)
    listed = subprocess.run([sys.executable, "-m", "cachekit", "dir", "--hosts", "lab",
                             "--inventory", str(inv)], env=env, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert listed.returncode == 0, listed.stderr
    assert "r1\\x1b[2J\\x1b]0;x\\x07 cache" in listed.stdout
    assert_clean(listed.stdout + listed.stderr)

    code, screen = on_terminal(["remove", "*a*", "--hosts", "lab", "--inventory", str(inv)],
                               env, 80, answer="n")
    assert code == EXIT_DECLINED, screen
    lines = OURS.sub("\n", screen).splitlines()
    assert_clean("\n".join(lines))
    [ask] = [i for i, line in enumerate(lines) if "[y/N]" in line]
    assert re.fullmatch(r"total: \d+ entries to remove on 2 of 2 hosts; would free .*",
                        lines[ask - 1]), lines[ask - 5:ask + 1]
    assert max(text.width(line) for line in lines[:ask] if not line.startswith("cachekit:")) <= 80
    assert all(w.exists() for w in wheels) and (remote / "wheels").exists()


def test_plan_total_for_several_hosts() -> None:
    hosts = [{"host": f"h{i}", "status": "ok", "removed": [{"path": "/c/x", "bytes": 5}] * 3,
              "caches": [{"reclaimable_bytes": 1500}]} for i in range(2)]
    hosts.append({"host": "down", "status": "unreachable", "error": "no answer"})
    assert tables.plan_total(hosts) == ("total: 6 entries to remove on 2 of 3 hosts "
                                        "(1 could not plan); would free 3.0 kB")


# the text module ----------------------------------------------------------------------


def test_printable_escapes_once_and_keeps_ordinary_text() -> None:
    hostile = os.fsdecode(b"a\nb\tc\x1b[31m\x7f\xff\xe2\x80\xae") + " d\u00e9j\u00e0 \u4e2d"
    shown = text.printable(hostile)
    assert shown == "a\\nb\\tc\\x1b[31m\\x7f\\xff\\u202e d\u00e9j\u00e0 \u4e2d"
    assert text.printable(shown) == shown  # escaping twice changes nothing
    assert text.printable("C:\\plain path") == "C:\\plain path"
    assert text.lines("one\x1b\ntwo") == "one\\x1b\ntwo"


def test_shortening_keeps_both_ends_and_the_width() -> None:
    path = "/home/u/.cache/pip/wheels/ab/cd/ef/0123456789abcdef/alpha-1.0-py3-none-any.whl"
    short = text.shorten_middle(path, 50)
    assert text.width(short) == 50 and short.endswith("/alpha-1.0-py3-none-any.whl")
    assert short.startswith("/home/u/.cache")
    tiny = text.shorten_middle(path, 20)
    assert text.width(tiny) == 20 and tiny.startswith("/home") and tiny.endswith(".whl")
    assert text.shorten_end("a long note about things", 10) == "a long no\u2026"
    assert text.width("\u4e2d\u6587") == 4
    assert text.width(text.shorten_middle("\u4e2d" * 30, 21)) <= 21


def test_fit_table_shrinks_then_drops_optional_then_stacks() -> None:
    rows = [["local", "/very/long/path/" * 6, "1.0 kB", "note " * 10]]
    headers = ["HOST", "PATH", "SIZE", "NOTE"]
    wide = text.fit_table(rows, headers, None, {1: "middle", 3: "end"})
    assert "/very/long/path/" * 6 in wide
    fitted = text.fit_table(rows, headers, 60, {1: "middle", 3: "end"})
    assert max(map(text.width, fitted.splitlines())) <= 60
    assert fitted.splitlines()[0].split() == headers
    dropped = text.fit_table(rows, headers, 36, {1: "middle"}, optional=[3])
    assert dropped.splitlines()[0].split() == headers[:3]
    stacked = text.fit_table(rows, headers, 30, {1: "middle"})
    assert stacked.splitlines()[0].split() == ["HOST", "local"]
    assert max(map(text.width, stacked.splitlines())) <= 30


def test_width_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "97")
    assert text.terminal_width() == 97
    monkeypatch.delenv("COLUMNS")
    with open(os.devnull, "w") as devnull:
        assert text.terminal_width(devnull) is None  # a file or pipe: no limit
    primary, secondary = os.openpty()
    try:
        with os.fdopen(os.dup(secondary), "w") as tty:
            fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 0, 0, 0))
            assert text.terminal_width(tty) == 80  # a terminal that does not say
            fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 132, 0, 0))
            assert text.terminal_width(tty) == 132
    finally:
        os.close(primary)
        os.close(secondary)

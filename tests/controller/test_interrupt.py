"""Ctrl-C and the progress line, on a real pseudo-terminal.

A large synthetic pip cache (pip's real layout, from bench/make_synthetic_pip_cache.py)
makes a removal long enough to be interrupted in the middle: the test waits until the
progress line says some entries are gone, then types Ctrl-C into the terminal, as a
user would. What the program then lists as removed must be gone, and everything else it
planned must still be there.
"""

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, List, Set

import pytest

from cachekit.errors import EXIT_DECLINED, EXIT_INTERRUPTED
from tests.fixtures import REPO
from tests.fixtures.pip_cache import pip_env
from tests.fixtures.terminal import Terminal

sys.path.insert(0, str(REPO / "bench"))
import make_synthetic_pip_cache as synth  # noqa: E402

SCALE = 0.1  # 10,001 files in 12,000 directories: a purge of them takes seconds
ERASE = "\r\x1b[K"


@pytest.fixture(scope="session")
def big_cache_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bigcache") / "pip"
    synth.generate(str(root), SCALE)
    return root


@pytest.fixture(scope="session")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120,000 empty files in pip's HTTP cache layout: a walk long enough to report on,
    quick to make (``info`` costs an lstat a file, whatever the file holds)."""
    root = tmp_path_factory.mktemp("manyfiles") / "pip"
    for n in range(8192):
        here = root / "http-v2" / "/".join(f"{n:04x}")
        here.mkdir(parents=True)
        for i in range(15):
            (here / f"{n:04x}{i:02x}").touch()
    return root


@pytest.fixture
def big_cache(tmp_path: Path, big_cache_master: Path) -> Path:
    return Path(shutil.copytree(big_cache_master, tmp_path / "cache", symlinks=True))


def files_under(root: Path) -> Set[str]:
    return {os.path.join(here, name) for here, _dirs, names in os.walk(root) for name in names}


def on_terminal(args: List[str], cache: Path, home: Path, **kw: Any) -> Terminal:
    env = pip_env(home, PIP_CACHE_DIR=str(cache))
    return Terminal([sys.executable, "-m", "cachekit", *args], env, **kw)


def interrupt_when_removing(term: Terminal) -> int:
    """Wait until the progress line shows removals under way; press Ctrl-C."""
    seen = term.wait_for(r"removed ([1-9][\d,]*) of ([\d,]+) entries")
    assert seen is not None, term.screen
    term.ctrl_c()
    return int(seen.group(2).replace(",", ""))


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_ctrl_c_in_a_purge_lists_exactly_what_went(big_cache: Path, home: Path,
                                                   fmt: str) -> None:
    """A purge sweeps bucket by bucket (one row each, with its counts): the rows must
    count exactly the files that went, and say how far the cut-short bucket got."""
    before = files_under(big_cache)
    sizes = {p: os.lstat(p).st_size for p in before}
    term = on_terminal(["purge", "--yes", "--format", fmt], big_cache, home)
    planned = interrupt_when_removing(term)
    out = term.finish()
    assert out.returncode == EXIT_INTERRUPTED, out.stderr
    assert "Traceback" not in out.stderr
    gone = before - files_under(big_cache)
    assert 0 < len(gone) < planned, "the purge was not stopped in the middle"
    assert f"{ERASE}cachekit: interrupted; {len(gone):,} entries were removed" in out.stderr
    if fmt == "json":
        host = json.loads(out.stdout)["hosts"][0]
        assert host["status"] == "interrupted"
        assert sum(r["files"] for r in host["removed"] if r.get("ok")) == len(gone)
        assert host["reclaimed_bytes"] == sum(sizes[p] for p in gone)
    else:
        counted = [int(m.group(1).replace(",", "")) for m in re.finditer(
            r"^removed .+? \((\d[\d,]*) files in ", out.stdout, re.M)]
        assert sum(counted) == len(gone), out.stdout
        assert f"interrupted (Ctrl-C) after {counted[-1]:,} of " in out.stdout
        assert re.search(rf"^local: interrupted: .* after {len(gone):,} of {planned:,} "
                         "planned entries were removed", out.stdout, re.M)


def test_ctrl_c_in_a_prune_is_shown_and_written_to_the_history(
        big_cache: Path, home: Path, tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    before = files_under(big_cache)
    sizes = {p: os.lstat(p).st_size for p in before}
    term = on_terminal(["prune", "--max-size", "1kB", "--yes", "--history", str(history),
                        "--lock-file", str(tmp_path / "lock")], big_cache, home)
    interrupt_when_removing(term)
    out = term.finish()
    assert out.returncode == EXIT_INTERRUPTED, out.stderr
    # a plan this large is one row per rule (core/managers/pip/prune.py): it counts what went
    gone = before - files_under(big_cache)
    assert gone and re.search(r"^local: interrupted: .* after [\d,]+ of 5,100 planned "
                              "entries were removed", out.stdout, re.M), out.stdout
    [line] = [json.loads(x) for x in history.read_text().splitlines()]
    assert line["command"] == "prune" and line["status"] == "interrupted"
    assert line["dry_run"] is False
    assert line["reclaimed_bytes"] == sum(sizes[p] for p in gone)
    assert line["bytes"] == sum(sizes.values())  # as measured before the removal


@pytest.mark.parametrize("keys,code", [("\x03", EXIT_INTERRUPTED), ("n\n", EXIT_DECLINED),
                                       ("\x04", EXIT_DECLINED)])
def test_the_question_answered_no_or_ctrl_c_removes_nothing(pip_cache: Path, home: Path,
                                                            keys: str, code: int) -> None:
    before = files_under(pip_cache)
    term = on_terminal(["purge"], pip_cache, home)
    term.wait_for(r"Remove these \d+ entries\? \[y/N\]")
    term.type(keys)
    out = term.finish()
    assert out.returncode == code, out.stderr
    assert files_under(pip_cache) == before and out.stdout == ""
    assert "nothing removed" in out.stderr and "Traceback" not in out.stderr


def test_ctrl_c_while_planning_removes_nothing(many_files: Path, home: Path) -> None:
    before = files_under(many_files)
    term = on_terminal(["purge", "--yes"], many_files, home)
    term.wait_for(r"scanned [1-9][\d,]* files")
    term.ctrl_c()
    out = term.finish()
    assert out.returncode == EXIT_INTERRUPTED, out.stderr
    assert files_under(many_files) == before and "Traceback" not in out.stderr


def progress_lines(screen: str) -> List[str]:
    return re.findall(r"\rcachekit: ([^\r\n\x1b]*)\x1b\[K", screen)


# `report` walks as `info` does (fs.walk.scan_totals); `list` and `report --attribute` as a
# removal's planning does (fs.walk.scan)
@pytest.mark.parametrize("args", [["info"], ["list"], ["report", "--attribute"]])
def test_progress_is_drawn_on_a_terminal_and_erased(many_files: Path, home: Path,
                                                    args: List[str]) -> None:
    out = on_terminal(args, many_files, home).finish()
    assert out.returncode == 0, out.stderr
    lines = progress_lines(out.stderr)
    assert lines and all(re.match(r"scanned [\d,]+ files, [\d.]+ [kMG]?B$", x) for x in lines)
    last = out.stderr.rindex("\rcachekit: ")
    assert ERASE in out.stderr[last + 1:]  # the last line drawn is erased
    assert "scanned" not in out.stdout and "\r" not in out.stdout


def test_no_progress_when_stderr_is_not_a_terminal(many_files: Path, home: Path) -> None:
    out = on_terminal(["info"], many_files, home, stderr_tty=False).finish()
    assert out.returncode == 0 and out.stderr == "", out.stderr


def test_no_progress_with_quiet(many_files: Path, home: Path, tmp_path: Path) -> None:
    out = on_terminal(["prune", "--older-than", "1s", "--dry-run", "--quiet", "--history",
                       "off", "--lock-file", str(tmp_path / "lock")], many_files,
                      home).finish()
    assert out.returncode == 0, out.stderr
    assert out.stderr == "" and out.stdout == ""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    from tests.fixtures.sshd_lab import one_host_lab

    with one_host_lab(tmp_path_factory.mktemp("sshlab"), "far", "127.0.0.41") as lab:
        yield lab


def on_remote_terminal(args: List[str], lab, cache: Path, home: Path,
                       tmp_path: Path) -> Terminal:
    """cachekit on a terminal here, working on ``cache`` through a real sshd host."""
    import yaml

    from tests.fixtures.sshd_lab import PORT

    lab.write_known_hosts(home, ["far"])
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"far": {
        "ansible_host": "127.0.0.41", "ansible_port": PORT, "ansible_user": "root",
        "ansible_ssh_private_key_file": str(lab.client_key),
        "cachekit_env": {"PIP_CACHE_DIR": str(cache),
                         "XDG_CACHE_HOME": str(tmp_path / "far.xdg")}}}}}))
    env = pip_env(home)
    env.pop("SSH_AUTH_SOCK", None)
    return Terminal([sys.executable, "-m", "cachekit", *args, "--hosts", "far",
                     "--inventory", str(inventory)], env)


@pytest.mark.ssh
def test_a_remote_walk_draws_progress(lab, many_files: Path, home: Path,
                                      tmp_path: Path) -> None:
    out = on_remote_terminal(["info"], lab, many_files, home, tmp_path).finish()
    assert out.returncode == 0, out.stderr
    lines = progress_lines(out.stderr)  # sent by the remote core as it walks
    assert lines and all(re.match(r"scanned [\d,]+ files, 0 B$", x) for x in lines)
    assert out.stderr.endswith(ERASE)


@pytest.mark.ssh
def test_ctrl_c_in_a_remote_purge(lab, big_cache: Path, home: Path, tmp_path: Path) -> None:
    before = files_under(big_cache)
    term = on_remote_terminal(["purge", "--yes", "--format", "json"], lab, big_cache, home,
                              tmp_path)
    planned = interrupt_when_removing(term)
    out = term.finish()
    assert out.returncode == EXIT_INTERRUPTED, repr(out.stderr)
    host = json.loads(out.stdout)["hosts"][0]
    gone = before - files_under(big_cache)
    assert host["status"] == "interrupted"
    assert 0 < len(gone) < planned
    # the host stopped between two removals and its rows count exactly what went
    assert sum(r["files"] for r in host["removed"] if r.get("ok")) == len(gone)

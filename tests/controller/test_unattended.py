"""Unattended runs: one at a time, quiet unless something failed, logged, with a history
that `trend` reads; `report --fail-above` for monitoring."""

import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from cachekit import runs
from tests.fixtures import REPO
from tests.fixtures.disk import tmpfs


def inventory(tmp_path: Path, policy: Dict[str, Any]) -> Path:
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {"cachekit_policy": policy}}}}))
    return inv


def history_lines(home: Path) -> List[Dict[str, Any]]:
    path = home / ".local/state/cachekit/history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_quiet_success_prints_nothing_and_records_history(pip_cache: Path, home: Path,
                                                          tmp_path: Path, run_cachekit) -> None:
    inv = inventory(tmp_path, {"max_size": "4kB"})
    log = tmp_path / "logs/prune.log"
    run = run_cachekit(["prune", "--hosts=all", "--inventory", str(inv), "--managers", "pip",
                        "--yes", "--quiet", "--log-file", str(log)], pip_cache)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""
    text = log.read_text()
    assert text.startswith("== ") and "cachekit prune" in text and "removed " in text
    [line] = history_lines(home)
    assert line["host"] == "localhost" and line["status"] == "ok" and not line["dry_run"]
    assert line["bytes"] - line["reclaimed_bytes"] == line["after_bytes"] <= 4000
    assert line["managers"]["pip"] == line["bytes"]


def test_a_failed_host_is_a_short_summary_and_non_zero_even_when_quiet(
        pip_cache: Path, home: Path, tmp_path: Path, run_cachekit) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {
        "localhost": {"cachekit_policy": {"max_size": "4kB"}},
        "gone": {"ansible_host": "127.0.0.1", "ansible_port": 9,
                 "cachekit_policy": {"max_size": "4kB"}}}}}))
    run = run_cachekit(["prune", "--hosts=all", "--inventory", str(inv), "--managers", "pip",
                        "--yes", "--quiet", "--connect-timeout", "2"], pip_cache)
    assert run.returncode == 2
    assert run.stdout == ""
    assert "gone: unreachable" in run.stderr and "localhost:" in run.stderr
    assert {line["host"]: line["status"] for line in history_lines(home)} == {
        "localhost": "ok", "gone": "unreachable"}


def test_a_second_run_stops_at_once_while_one_runs(pip_cache: Path, home: Path,
                                                   tmp_path: Path, run_cachekit) -> None:
    lock = home / ".local/state/cachekit/prune.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nos.write(fd, b'4242')\n"
         "print('held', flush=True)\ntime.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = sorted(str(p) for p in pip_cache.rglob("*"))
        run = run_cachekit(["prune", "--managers", "pip", "--max-size", "1kB", "--yes"], pip_cache)
        assert run.returncode == 1
        assert run.stderr.strip().splitlines() == [
            f"cachekit: error: another cachekit run holds {lock} (pid 4242); this one stops "
            "(runs never overlap; the next one will run)"]
        assert sorted(str(p) for p in pip_cache.rglob("*")) == before
    finally:
        holder.kill()
        holder.wait()
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when the run ends
    os.close(fd)


def write_history(path: Path, points: List[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        for host, day, size in points:
            fh.write(json.dumps({"time": f"2026-10-{day:02d}T03:17:00+00:00", "host": host,
                                 "status": "ok", "bytes": size, "after_bytes": size // 2,
                                 "command": "prune"}) + "\n")
        fh.write("not json\n")


def test_trend_shows_growth_per_week_sparklines_and_hosts_over_a_threshold(
        pip_cache: Path, home: Path, tmp_path: Path, run_cachekit) -> None:
    path = tmp_path / "history.jsonl"
    gb = 10 ** 9
    write_history(path, [("build01", d, (10 + d) * gb) for d in (1, 8, 15, 22)]
                  + [("build02", d, 5 * gb) for d in (1, 8, 15)])
    run = run_cachekit(["trend", "--history", str(path), "--threshold", "20GB"], pip_cache)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    b1 = next(line for line in lines if line.startswith("build01"))
    assert "+7.0 GB" in b1 and "▁▃▅█" in b1 and "OVER" in b1 and "32.0 GB" in b1
    b2 = next(line for line in lines if line.startswith("build02"))
    assert "+0 B" in b2 and "▁▁▁" in b2 and "OVER" not in b2
    assert lines[-1] == "Above 20.0 GB: build01"
    md = run_cachekit(["trend", "--history", str(path), "--format", "markdown"], pip_cache)
    assert md.stdout.startswith("| HOST ") and "|--" in md.stdout
    rows = json.loads(run_cachekit(["trend", "--history", str(path), "--format", "json"],
                                   pip_cache).stdout)["hosts"]
    assert {r["host"]: round(r["growth_per_week"] / gb, 3) for r in rows} == {
        "build01": 7.0, "build02": 0.0}


def test_trend_without_a_history_is_one_line(pip_cache: Path, home: Path, run_cachekit) -> None:
    run = run_cachekit(["trend"], pip_cache)
    assert run.returncode == 1 and run.stderr.count("\n") == 1
    assert "no history at" in run.stderr


def test_report_fail_above_names_the_hosts_and_exits_3(pip_cache: Path, home: Path,
                                                       run_cachekit) -> None:
    over = run_cachekit(["report", "--managers", "pip", "--fail-above", "5kB"], pip_cache)
    assert over.returncode == 3
    assert over.stderr.startswith("cachekit: over --fail-above 5kB: local (")
    assert "TOTAL" in over.stdout  # the report is still printed
    fine = run_cachekit(["report", "--managers", "pip", "--fail-above", "10GB"], pip_cache)
    assert fine.returncode == 0 and fine.stderr == ""
    pct = run_cachekit(["report", "--managers", "pip", "--fail-above", "0.0000001%"], pip_cache)
    assert pct.returncode == 3 and "% of" in pct.stderr
    bad = run_cachekit(["report", "--fail-above", "120%"], pip_cache)
    assert bad.returncode == 1 and "--fail-above '120%'" in bad.stderr


def test_history_sparkline_and_growth_units() -> None:
    assert runs.sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert runs.weekly_growth([(0.0, 0), (7 * 86400.0, 700)]) == 700
    assert runs.weekly_growth([(0.0, 5)]) is None


def test_an_unwritable_history_is_one_line_after_the_report(pip_cache: Path, home: Path,
                                                            tmp_path: Path, run_cachekit) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = run_cachekit(["prune", "--managers", "pip", "--max-size", "4kB", "--yes",
                        "--history", str(blocker / "history.jsonl")], pip_cache)
    assert run.returncode == 1
    assert "removed " in run.stdout  # what was done is still reported
    assert run.stderr.strip().splitlines()[-1].startswith("cachekit: error: cannot write ")
    assert "Traceback" not in run.stderr


def test_prune_applies_conda_plans_on_a_host_without_a_pip_cache(conda, home: Path,
                                                                 run_cachekit) -> None:
    import os as _os
    import time

    old = time.time() - 40 * 86400
    for path in conda.pkgs.rglob("*"):
        _os.utime(path, (old, old), follow_symlinks=False)
    run = run_cachekit(["prune", "--older-than", "30d", "--yes", "--format", "json"],
                       home / "no-pip-cache", **conda.environ)
    assert run.returncode == 0, run.stderr
    removed = json.loads(run.stdout)["hosts"][0]["removed"]
    assert any(r["path"].endswith("delta-3.1-h2_1") and r["ok"] for r in removed)


# The crontab and systemd units users copy (in the README's "Nightly" section until the
# docs split): the tests run exactly these lines.
NIGHTLY_PAGE = REPO / "docs/guide/unattended.md"


def readme_block(language: str, contains: str) -> str:
    """The docs' fenced block of ``language`` that holds ``contains``."""
    import re

    for block in re.findall(rf"```{language}\n(.*?)```", NIGHTLY_PAGE.read_text(), re.S):
        if contains in block:
            return block
    raise AssertionError(f"{NIGHTLY_PAGE.name} has no ```{language} block with {contains!r}")


def installed_cachekit(home: Path) -> None:
    """~/.local/bin/cachekit, as scripts/install.sh links it (here: this checkout)."""
    script = home / ".local/bin/cachekit"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!/bin/sh\nexec {sys.executable} -m cachekit \"$@\"\n")
    script.chmod(0o755)


def test_the_readme_crontab_line_runs_as_cron_runs_it(pip_cache: Path, home: Path,
                                                      tmp_path: Path) -> None:
    block = readme_block("crontab", "cachekit prune")
    env_lines = [line for line in block.splitlines() if re.match(r"^[A-Z_]+=", line)]
    [job] = [line for line in block.splitlines() if line and line[0].isdigit()]
    command = job.split(None, 5)[5]
    assert "--html /var/www/caches/index.html" in command
    command = command.replace("/var/www/caches", str(tmp_path / "www"))  # the test's web root
    installed_cachekit(home)
    inv = inventory(tmp_path, {"max_size": "4kB"})
    env = {"HOME": str(home), "LOGNAME": "root", "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin",
           "PIP_CACHE_DIR": str(pip_cache), "PYTHONPATH": str(REPO)}
    for line in env_lines:  # the crontab's own variables; its inventory is the test's
        name, value = line.split("=", 1)
        env[name] = str(inv) if name == "CACHEKIT_INVENTORY" else value
    run = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True,
                         cwd=home, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""  # quiet: cron mails nothing
    assert "removed " in (home / ".local/state/cachekit/prune.log").read_text()
    assert history_lines(home)[0]["host"] == "localhost"
    page = (tmp_path / "www/index.html").read_text()  # published after the prune
    assert 'data-host="localhost"' in page and "cachekit trend" in page


def test_the_readme_systemd_service_line_runs(pip_cache: Path, home: Path,
                                              tmp_path: Path) -> None:
    import shlex

    block = readme_block("ini", "ExecStart=")
    exec_start = next(line for line in block.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(exec_start.split("=", 1)[1].replace("%h", str(home)))
    installed_cachekit(home)
    inv = inventory(tmp_path, {"older_than": "30d", "max_size": "1GB"})
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PIP_CACHE_DIR": str(pip_cache),
           "CACHEKIT_INVENTORY": str(inv), "PYTHONPATH": str(REPO)}
    assert "Environment=CACHEKIT_INVENTORY=" in block
    run = subprocess.run(argv, env=env, capture_output=True, text=True, cwd="/", timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and (home / ".local/state/cachekit/history.jsonl").exists()
    post = next(line for line in block.splitlines() if line.startswith("ExecStopPost="))
    assert "--html /var/www/caches/index.html" in post
    post_argv = shlex.split(post.split("=", 1)[1].replace("%h", str(home))
                            .replace("/var/www/caches", str(tmp_path / "www")))
    published = subprocess.run(post_argv, env=env, capture_output=True, text=True, cwd="/",
                               timeout=120)
    assert published.returncode == 0 and published.stdout == "", published.stderr
    assert 'data-host="localhost"' in (tmp_path / "www/index.html").read_text()
    timer = readme_block("ini", "[Timer]")
    assert "OnCalendar=*-*-* 03:17" in timer and "WantedBy=timers.target" in timer


@pytest.mark.root
def test_a_removal_that_fails_is_a_failure_even_when_quiet(pip_cache_master, home: Path,
                                                           tmp_path: Path, run_cachekit) -> None:
    import shutil

    with tmpfs(tmp_path / "ro", "size=8m") as mount:
        cache = mount / "cache"
        shutil.copytree(pip_cache_master[0], cache, symlinks=True)
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        run = run_cachekit(["prune", "--managers", "pip", "--max-size", "1kB", "--yes", "--quiet",
                            "--history", "off"], cache)
        assert run.returncode == 2, run.stderr
        assert run.stdout == "" and "local:" in run.stderr

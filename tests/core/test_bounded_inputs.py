"""Files other users control, and bad flags: a root run neither hangs, floods nor crashes.

Real FIFOs, real sparse files, real devices and a real second Unix user who owns the
environment a root run reads. Anything that could hang runs under a deadline, so a hang
fails its test instead of stalling the suite.
"""

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, NamedTuple, Tuple

import pytest

from cachekit.core import agent, bounded
from cachekit.core.managers.pip import attribution as pip_attribution
from tests.fixtures import program
from tests.fixtures.conda_cache import CondaFixture
from tests.fixtures.deadline import deadline
from tests.fixtures.disk import sparse

GiB = 1 << 30


# The reader itself -----------------------------------------------------------------------

def test_a_fifo_is_refused_and_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    # A writer waits in open() until some reader opens the FIFO: if we opened it, it would
    # get through.
    writer = subprocess.Popen([sys.executable, "-c", f"open({str(fifo)!r}, 'w')"])
    try:
        link = tmp_path / "link.json"
        link.symlink_to(fifo)
        for path in (fifo, link):
            with deadline(10), pytest.raises(bounded.NotRegularFile) as err:
                bounded.read_bytes(str(path), bounded.RECORD_CAP)
            assert "named pipe" in err.value.strerror
        with pytest.raises(subprocess.TimeoutExpired):
            writer.wait(timeout=1)  # still waiting for a reader: we never opened it
    finally:
        writer.kill()
        writer.wait()


def test_devices_sockets_and_unfollowed_links_are_refused(tmp_path: Path) -> None:
    zero = tmp_path / "zero"
    zero.symlink_to("/dev/zero")  # would be read forever
    with deadline(10), pytest.raises(bounded.NotRegularFile) as err:
        bounded.read_bytes(str(zero), bounded.CONFIG_CAP)
    assert "character device" in err.value.strerror
    target = tmp_path / "real.txt"
    target.write_text("fine\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    assert bounded.read_text(str(link), bounded.CONFIG_CAP) == "fine\n"  # dotfiles are links
    with pytest.raises(bounded.NotRegularFile) as err:
        bounded.read_text(str(link), bounded.CONFIG_CAP, follow_symlinks=False)
    assert "symbolic link" in err.value.strerror
    with pytest.raises(IsADirectoryError):
        bounded.read_bytes(str(tmp_path), bounded.CONFIG_CAP)
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(OSError):
        bounded.read_bytes(str(loop), bounded.CONFIG_CAP)


def test_size_cap_refuses_before_reading_and_when_a_file_outgrows_its_size(
        tmp_path: Path) -> None:
    big = sparse(tmp_path / "environments.txt", GiB)
    with deadline(10), pytest.raises(bounded.TooLarge) as err:
        bounded.read_bytes(str(big), bounded.LIST_CAP)
    assert "1 GiB" in err.value.strerror and "1 MiB cap" in err.value.strerror
    exact = tmp_path / "exact"
    exact.write_bytes(b"x" * 4096)
    assert len(bounded.read_bytes(str(exact), 4096)) == 4096
    with pytest.raises(bounded.TooLarge):
        bounded.read_bytes(str(exact), 4095)
    # /proc files say they are empty and then deliver: the cap holds while reading too.
    with pytest.raises(bounded.TooLarge):
        bounded.read_bytes("/proc/self/status", 64)
    assert b"Name:" in bounded.read_bytes("/proc/self/status", bounded.CONFIG_CAP)


def test_a_pip_body_swapped_for_a_fifo_or_link_is_not_opened(tmp_path: Path) -> None:
    body = tmp_path / "ab.body"
    os.mkfifo(body)  # the scan saw a regular file; this is what is there when it is read
    with deadline(10):
        assert pip_attribution.attribute(str(body), 0, 0) is None
    link = tmp_path / "cd.body"
    link.symlink_to("/dev/zero")
    with deadline(10):
        assert pip_attribution.attribute(str(link), 0, 0) is None


# A second Unix user owns the environment a root run reads -------------------------------

class OtherUser(NamedTuple):
    name: str
    home: Path
    uid: int
    gid: int

    def own(self, *paths: Path) -> None:
        for path in paths:
            os.lchown(path, self.uid, self.gid)


@pytest.fixture
def other_user(tmp_path: Path) -> Iterator[OtherUser]:
    """A real second account (``ckinputs…``) whose home is under this test's directory."""
    if os.geteuid() != 0:
        pytest.skip("creating a second Unix user needs root")
    name = f"ckinputs{os.getpid() % 100000}"
    home = tmp_path / "otherhome"
    home.mkdir()
    subprocess.run(["useradd", "-M", "-U", "-d", str(home), "-s", "/usr/sbin/nologin", name],
                   check=True, capture_output=True)
    try:
        entry = pwd.getpwnam(name)
        user = OtherUser(name, home, entry.pw_uid, entry.pw_gid)
        user.own(home)
        yield user
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


def env_of(user: OtherUser, conda: CondaFixture) -> Path:
    """An environment in the user's home, listed in their environments.txt, all theirs."""
    env = user.home / "env1"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "history").touch()
    (user.home / ".conda").mkdir()
    listed = user.home / ".conda" / "environments.txt"
    listed.write_text(f"{env}\n")
    user.own(env, env / "conda-meta", env / "conda-meta" / "history", user.home / ".conda",
             listed)
    return env


def cli(conda: CondaFixture, home: Path, *args: str) -> subprocess.CompletedProcess:
    return program.run_cachekit(list(args), home / "no-pip-cache", home=home, **conda.environ)


@pytest.mark.root
@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero", "link to a fifo"])
def test_a_hostile_record_in_another_users_environment(conda: CondaFixture, home: Path,
                                                       other_user: OtherUser,
                                                       kind: str) -> None:
    meta = env_of(other_user, conda) / "conda-meta"
    record = meta / "x.json"
    if kind == "fifo":
        os.mkfifo(record)
    elif kind == "link to /dev/zero":
        record.symlink_to("/dev/zero")
    else:
        os.mkfifo(meta / "pipe")
        record.symlink_to(meta / "pipe")
        other_user.own(meta / "pipe")
    other_user.own(record)
    info = cli(conda, home, "info", "--managers", "conda", "--format", "json")
    assert info.returncode == 0, info.stderr
    assert "x.json: cannot read: not a regular file" in info.stderr
    done = cli(conda, home, "clean", "--packages", "--yes")
    assert done.returncode == 1
    [error] = [line for line in done.stderr.splitlines() if "error:" in line]
    assert f"{record}: cannot read: not a regular file" in error and "nothing cleaned" in error
    assert (conda.pkgs / "delta-3.1-h2_1").is_dir()  # an unread record stops cleaning
    if kind == "fifo":  # prune reads the same records
        pruned = cli(conda, home, "prune", "--managers", "conda", "--older-than", "1s",
                     "--dry-run", "--history", "off", "--lock-file", str(home / "lock"))
        assert pruned.returncode == 0, pruned.stderr


@pytest.mark.root
def test_an_oversized_record_keeps_its_package_by_name(conda: CondaFixture,
                                                       other_user: OtherUser) -> None:
    meta = env_of(other_user, conda) / "conda-meta"
    record = sparse(meta / "delta-3.1-h2_1.json", bounded.RECORD_CAP + 1)
    other_user.own(record)
    with deadline(60):
        result = agent.run({"op": "clean", "managers": ["conda"], "flags": ["packages"],
                            "environ": conda.environ})
    assert result["status"] == "ok", result["error"]
    [warning] = [w for w in result["warnings"] if "delta-3.1-h2_1.json" in w]
    assert "too large" in warning and "16 MiB" in warning and "kept by name" in warning
    assert not result["removed"]  # delta, the one unused package, is now kept by name
    assert any(k["path"].endswith("delta-3.1-h2_1") for k in result["kept"])


@pytest.mark.root
def test_malformed_record_is_a_warning_and_keeps_its_package(conda: CondaFixture,
                                                             other_user: OtherUser) -> None:
    meta = env_of(other_user, conda) / "conda-meta"
    record = meta / "delta-3.1-h2_1.json"
    record.write_text("[" * 100000)
    other_user.own(record)
    result = agent.run({"op": "clean", "managers": ["conda"], "flags": ["packages"],
                        "environ": conda.environ})
    assert result["status"] == "ok", result["error"]
    assert any("delta-3.1-h2_1.json: not a valid JSON record" in w
               for w in result["warnings"])
    assert not result["removed"]


def peak_rss_mib(args: List[str], env: dict) -> Tuple[subprocess.CompletedProcess, float]:
    """Run ``args`` under a fresh parent that reports its one child's peak RSS."""
    probe = ("import json, resource, subprocess, sys\n"
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120,"
             " stdin=subprocess.DEVNULL)\n"
             "print(json.dumps([p.returncode, p.stdout, p.stderr,"
             " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n")
    out = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True,
                         text=True, timeout=180)
    code, stdout, stderr, peak_kib = json.loads(out.stdout)
    return subprocess.CompletedProcess(args, code, stdout, stderr), peak_kib / 1024


@pytest.mark.root
def test_a_sparse_1gib_environments_txt_neither_hangs_nor_floods(
        conda: CondaFixture, home: Path, other_user: OtherUser) -> None:
    (other_user.home / ".conda").mkdir()
    listed = sparse(other_user.home / ".conda" / "environments.txt", GiB)
    other_user.own(other_user.home / ".conda", listed)
    env = dict(os.environ, HOME=str(home), PIP_CACHE_DIR=str(home / "no-pip-cache"),
               **conda.environ)
    done, peak = peak_rss_mib([sys.executable, "-m", "cachekit", "info", "--managers",
                               "conda", "--format", "json"], env)
    print(f"peak RSS of info with a 1 GiB sparse environments.txt: {peak:.1f} MiB")
    assert done.returncode == 2, done.stderr  # the conda cache's row says what is wrong
    assert f"{listed}: cannot read: too large (1 GiB, more than the 1 MiB cap)" in done.stderr
    assert peak < 200, peak  # it was 6 GB: the file is never read
    refused = cli(conda, home, "clean", "--packages", "--yes")
    assert refused.returncode == 1 and str(listed) in refused.stderr
    assert (conda.pkgs / "delta-3.1-h2_1").is_dir()  # its environments are unknown


# Config files that are FIFOs or too large -----------------------------------------------

def test_config_files_that_are_fifos_or_huge_do_not_hang(tmp_path: Path, home: Path,
                                                         run_cachekit) -> None:
    fifo = tmp_path / "pip.conf"
    os.mkfifo(fifo)
    out = run_cachekit(["info", "--managers", "pip", "--format", "json"], tmp_path / "cache",
                       PIP_CONFIG_FILE=str(fifo))
    assert out.returncode == 2 and f"{fifo}: not a regular file" in out.stderr, out.stderr
    huge = sparse(tmp_path / "huge.conf", GiB)
    out = run_cachekit(["info", "--managers", "pip"], tmp_path / "cache", PIP_CONFIG_FILE=str(huge))
    assert out.returncode == 2 and "more than the 1 MiB cap" in out.stderr, out.stderr
    (home / ".bashrc").unlink(missing_ok=True)
    os.mkfifo(home / ".bashrc")  # `locations` reads shell start-up files for its traps
    os.mkfifo(home / ".condarc")
    (home / ".config" / "uv").mkdir(parents=True)
    os.mkfifo(home / ".config" / "uv" / "uv.toml")
    out = run_cachekit(["locations", "--format", "json"], tmp_path / "cache",
                       UV_CACHE_DIR=str(tmp_path / "uv"))
    assert out.returncode in (0, 2), out.stderr
    assert json.loads(out.stdout)["hosts"][0]["host"] == "local"


def test_a_huge_condarc_is_an_error_naming_it(tmp_path: Path, conda: CondaFixture,
                                              home: Path) -> None:
    condarc = sparse(home / ".condarc", 2 * bounded.CONFIG_CAP)
    info = agent.run({"op": "info", "managers": ["conda"], "environ": conda.environ})
    errors = " ".join(c.get("error") or "" for c in info["caches"])
    assert f"{condarc}: cannot read: too large" in errors
    done = agent.run({"op": "clean", "managers": ["conda"], "flags": ["packages"],
                      "environ": conda.environ, "apply": True})
    assert done["status"] == "refused" and str(condarc) in done["error"]


def test_history_that_is_a_fifo_or_too_large(tmp_path: Path, home: Path, run_cachekit) -> None:
    fifo = tmp_path / "history.jsonl"
    os.mkfifo(fifo)
    out = run_cachekit(["trend", "--history", str(fifo)], tmp_path)
    assert out.returncode == 1 and "not a regular file (a named pipe)" in out.stderr
    big = sparse(tmp_path / "big.jsonl", bounded.HISTORY_CAP + 1)
    out = run_cachekit(["trend", "--history", str(big)], tmp_path)
    assert out.returncode == 1 and "64 MiB cap" in out.stderr and "tail -n" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


# Flags that overflow or name nothing ------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["prune", "--older-than", "99999999999999999d"], "--older-than '99999999999999999d' is "
                                                     "too long: the most is 36500d"),
    (["prune", "--older-than", "9" * 400 + "w"], "is too long"),
    (["prune", "--max-size", "9" * 400 + "GB"], "--max-size"),
    (["prune", "--older-than", "30d", "--managers", ""], "--managers '' names no manager"),
    (["info", "--managers", ""], "names no manager"),
    (["purge", "--managers", " , "], "names no manager"),
    (["info", "--timeout", "nan"], "--timeout must be positive, at most 604800"),
    (["info", "--connect-timeout", "inf"], "--connect-timeout must be positive"),
])
def test_bad_flags_stop_before_anything_runs(tmp_path: Path, home: Path, pip_cache: Path,
                                             args: List[str], needle: str, run_cachekit) -> None:
    history = tmp_path / "history.jsonl"
    before = sorted(p.name for p in pip_cache.rglob("*"))
    out = run_cachekit([*args, "--yes", "--history", str(history)] if args[0] == "prune" else
                       [*args, "--yes"] if args[0] == "purge" else args, pip_cache)
    assert out.returncode == 1, out.stderr
    assert needle in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not history.exists()  # nothing ran, so nothing was recorded
    assert sorted(p.name for p in pip_cache.rglob("*")) == before

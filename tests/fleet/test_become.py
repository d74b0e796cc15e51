"""Become against real sudo, real Unix users and real sshd servers on loopback.

The controller runs as root (the test user) and logs in over SSH as non-root ``ckb*``
users whose sudo rules differ: NOPASSWD, a password, none at all. ``local`` becomes
another user with cachekit itself run as a non-root user. sudo's own answers are the
oracle: each refusal is a ``become`` row in sudo's words, and no run waits for a
password that will not come.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Set

import pytest

from tests.core.managers.conda.test_conda_clean import ALWAYS_KEPT, EXPECTED, selected
from tests.fixtures.conda_cache import CondaFixture, snapshot
from tests.fixtures.fleet import by_host, write_inventory
from tests.fixtures.program import cachekit_command, cachekit_env
from tests.fixtures.sshd_lab import PORT, SshLab
from tests.fixtures.terminal import Terminal
from tests.fixtures.unix_users import chown_tree, users

pytestmark = [pytest.mark.root, pytest.mark.ssh]

ADDRESS = "127.0.0.71"
PASSWORD = "ckb-Sesame-4711"  # the password of ckbpass and ckbnone
USERS = {"ckbnopw": None, "ckbpass": PASSWORD, "ckbnone": PASSWORD, "ckbtarget": None,
         "ckblocal": None}
SUDOERS = ["ckbnopw ALL=(ALL:ALL) NOPASSWD: ALL", "ckbpass ALL=(ALL:ALL) ALL",
           "ckblocal ALL=(ckbtarget) NOPASSWD: ALL"]


@pytest.fixture(scope="module")
def homes() -> Iterator[Dict[str, Path]]:
    if os.geteuid() != 0:
        pytest.skip("needs root: makes Unix users and sudoers rules")
    with users(USERS, SUDOERS) as made:
        yield made


@pytest.fixture(scope="module")
def lab(homes: Dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshLab]:
    keys = Path(tempfile.mkdtemp(prefix="ckb-keys-"))  # readable by the users, unlike tmp
    keys.chmod(0o755)
    lab = SshLab(tmp_path_factory.mktemp("becomelab"), user_keys=keys)
    try:
        for user in homes:
            lab.allow_login(user)
        lab.start("becomehost", ADDRESS)
        yield lab
    finally:
        lab.stop_all()
        shutil.rmtree(keys, ignore_errors=True)


def inventory(tmp_path: Path, lab: SshLab, home: Path, **hosts: Dict) -> Path:
    lab.write_known_hosts(home, ["becomehost"])
    entries = {name: {"ansible_host": ADDRESS, "ansible_port": PORT, **vars_}
               for name, vars_ in hosts.items()}
    return write_inventory(tmp_path / "inv.yml", lab, entries)


def core_env(tmp_path: Path, **extra: str) -> Dict[str, str]:
    """Where the core keeps its copy and what it takes as HOME: root-owned places under
    the test's directory, never the real ~/.cache of root."""
    (tmp_path / "roothome").mkdir(exist_ok=True)
    return {"HOME": str(tmp_path / "roothome"), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
            **extra}


def run(args: List[str], home: Path, inv: Path, timeout: float = 120
        ) -> subprocess.CompletedProcess:
    return subprocess.run(cachekit_command(args, inv), env=cachekit_env(home), text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout)


def test_a_nopasswd_login_user_cleans_a_root_owned_conda_cache(
        tmp_path: Path, lab: SshLab, home: Path, conda: CondaFixture) -> None:
    """ckbnopw cannot even see the cache (it sits in root's 0700 test directory); through
    --become it is cleaned as root, exactly as the reference table says, and every
    environment still reads the same."""
    assert conda.pkgs.stat().st_uid == 0
    inv = inventory(tmp_path, lab, home, nopw={"ansible_user": "ckbnopw",
                                               "cachekit_env": core_env(tmp_path,
                                                                        **conda.environ)})
    before = snapshot(conda.env_files)
    plain = run(["clean", "--all", "--yes", "--hosts", "nopw", "--format", "json"], home, inv)
    row = by_host(json.loads(plain.stdout))["nopw"]
    assert not any(r.get("ok") for r in row["removed"])  # as the login user: nothing
    assert (conda.pkgs / "cache").is_dir()

    done = run(["clean", "--all", "--yes", "--hosts", "nopw", "--format", "json", "--become"],
               home, inv)
    assert done.returncode == 0, done.stderr
    row = by_host(json.loads(done.stdout))["nopw"]
    assert row["status"] == "ok", row
    assert selected(row, conda) == EXPECTED["all"]
    assert all(r["ok"] for r in row["removed"]), row["removed"]
    for rel in EXPECTED["all"]:
        assert not os.path.lexists(conda.root / rel), rel
    for rel in ALWAYS_KEPT:
        assert os.path.lexists(conda.root / rel), rel
    assert snapshot(conda.env_files) == before
    # the core's copy: root's (the XDG_CACHE_HOME given, root-owned), not the login user's
    assert row["core_copy"].startswith(str(tmp_path / "xdg" / "cachekit" / "core-"))
    # the run without become kept its copy in the login user's home, as that user: root
    # wrote nothing there
    assert owned_by(Path("/home/ckbnopw"), "ckbnopw")


def test_the_core_copy_goes_to_the_effective_users_home_not_the_login_users(
        tmp_path: Path, lab: SshLab, home: Path) -> None:
    """The login user's own cache directory, passed through (XDG_CACHE_HOME), is not where
    another user's core writes: the effective user's home from the passwd database is."""
    login_cache = "/home/ckbnopw/.cache"
    inv = inventory(tmp_path, lab, home, nopw={
        "ansible_user": "ckbnopw", "ansible_become": True, "ansible_become_user": "ckbtarget",
        "cachekit_env": {"XDG_CACHE_HOME": login_cache}})
    for _attempt in range(2):  # the first run writes the copy, the second reuses it
        done = run(["dir", "--hosts", "nopw", "--format", "json"], home, inv)
        assert done.returncode == 0, done.stderr
        row = by_host(json.loads(done.stdout))["nopw"]
        assert row["core_copy"].startswith("/home/ckbtarget/.cache/cachekit/core-"), row
    assert Path(row["core_copy"]).stat().st_uid == owner("ckbtarget")
    assert owned_by(Path("/home/ckbnopw"), "ckbnopw")  # nothing of ckbtarget's there


def owned_by(home: Path, user: str) -> bool:
    """Every file under ``home`` is ``user``'s: no other user's run wrote there."""
    return all(p.lstat().st_uid == owner(user) for p in home.rglob("*"))


def owner(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid


def test_a_password_that_was_not_given_is_a_become_row_at_once(
        tmp_path: Path, lab: SshLab, home: Path) -> None:
    inv = inventory(tmp_path, lab, home,
                    pw={"ansible_user": "ckbpass", "cachekit_env": core_env(tmp_path)},
                    asks={"ansible_user": "ckbpass", "cachekit_env": core_env(tmp_path),
                          "ansible_become_flags": "-H -S"},  # no -n: sudo asks
                    none={"ansible_user": "ckbnone", "cachekit_env": core_env(tmp_path)},
                    su={"ansible_user": "ckbnopw", "ansible_become_method": "su"})
    started = time.monotonic()
    done = run(["report", "--hosts", "all", "--become", "--format", "json"], home, inv,
               timeout=60)
    assert time.monotonic() - started < 30  # nothing waited for a password
    assert done.returncode == 2, done.stderr
    rows = by_host(json.loads(done.stdout))
    assert rows["pw"]["status"] == "become"
    assert "sudo: a password is required" in rows["pw"]["error"]
    assert "--ask-become-pass" in rows["pw"]["error"]
    assert rows["asks"]["status"] == "become"
    assert "asked for a password and none was given" in rows["asks"]["error"]
    assert rows["none"]["status"] == "become"  # without a password sudo says no more
    assert "a password is required" in rows["none"]["error"]
    assert rows["su"]["status"] == "become"
    assert "unsupported become method 'su'" in rows["su"]["error"]
    for row in rows.values():
        assert "\n" not in row["error"] and row["elapsed_s"] < 20


def _command_lines() -> Set[bytes]:
    found = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError):  # gone meanwhile
                found.add(Path(f"/proc/{pid}/cmdline").read_bytes())
    return found


def ask_and_run(args: List[str], home: Path, inv: Path, password: str
                ) -> "tuple[subprocess.CompletedProcess, Set[bytes]]":
    """Run on a terminal, type ``password`` at cachekit's prompt; meanwhile collect every
    process's command line on the machine."""
    seen: Set[bytes] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.update(_command_lines())

    term = Terminal(cachekit_command(args, inv), cachekit_env(home))
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        term.wait_for("BECOME password: ", timeout=60)
        term.type(password + "\n")
        done = term.finish(120)
    finally:
        stop.set()
        watcher.join(10)
    return done, seen


def test_the_password_asked_on_the_terminal_opens_sudo_and_is_never_shown(
        tmp_path: Path, lab: SshLab, home: Path) -> None:
    inv = inventory(tmp_path, lab, home,
                    pw={"ansible_user": "ckbpass", "cachekit_env": core_env(tmp_path),
                        "ansible_become_password": "not-this-one"},
                    nopw={"ansible_user": "ckbnopw", "cachekit_env": core_env(tmp_path)},
                    none={"ansible_user": "ckbnone", "cachekit_env": core_env(tmp_path)})
    history = tmp_path / "history.jsonl"
    done, seen = ask_and_run(["prune", "--hosts", "all", "--become", "--ask-become-pass",
                              "--max-size", "100GB", "--yes", "--format", "json",
                              "--history", str(history)], home, inv, PASSWORD)
    assert done.returncode == 2, done.stderr
    rows = by_host(json.loads(done.stdout))
    assert rows["pw"]["status"] == "ok", rows["pw"]
    assert rows["nopw"]["status"] == "ok", rows["nopw"]  # NOPASSWD: the password unused
    assert rows["none"]["status"] == "become"
    assert "ckbnone is not in the sudoers file" in rows["none"]["error"]
    # the inventory's password is named, never used
    assert "ansible_become_password in the inventory is not used" in done.stderr
    assert done.stderr.count("BECOME password: ") == 1  # asked once, for every host
    secret = PASSWORD.encode()
    assert seen and not any(secret in line for line in seen)
    assert PASSWORD not in done.stdout and PASSWORD not in done.stderr
    assert history.exists() and PASSWORD not in history.read_text()


def test_a_wrong_password_is_a_become_row(tmp_path: Path, lab: SshLab, home: Path) -> None:
    inv = inventory(tmp_path, lab, home,
                    pw={"ansible_user": "ckbpass", "cachekit_env": core_env(tmp_path)})
    started = time.monotonic()
    done, _ = ask_and_run(["report", "--hosts", "pw", "--become", "--ask-become-pass",
                           "--format", "json"], home, inv, "wrong-" + PASSWORD)
    assert done.returncode == 2, done.stderr
    row = by_host(json.loads(done.stdout))["pw"]
    assert row["status"] == "become"
    assert "refused the password" in row["error"] and "Sorry, try again." in row["error"]
    assert time.monotonic() - started < 60


def test_ask_become_pass_without_a_terminal_is_refused(tmp_path: Path, lab: SshLab,
                                                       home: Path) -> None:
    inv = inventory(tmp_path, lab, home, pw={"ansible_user": "ckbpass"})
    done = subprocess.run(cachekit_command(["report", "--hosts", "pw", "--become",
                                            "--ask-become-pass"], inv),
                          env=cachekit_env(home), text=True, capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=60, start_new_session=True)
    assert done.returncode == 1
    assert "--ask-become-pass needs a terminal" in done.stderr


def _portable_cachekit(dest: Path) -> Dict[str, str]:
    """cachekit and what a local run imports, where any user can read them (the tests'
    own interpreter and checkout may sit in root's home): the environment that runs it
    with the system's python3."""
    import invoke
    import tabulate
    import yaml

    dest.mkdir(mode=0o755)
    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "cachekit", dest / "cachekit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for module in (invoke, yaml):
        shutil.copytree(Path(module.__file__).parent, dest / Path(module.__file__).parent.name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    if tabulate.__file__.endswith("__init__.py"):
        shutil.copytree(Path(tabulate.__file__).parent, dest / "tabulate",
                        ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copy2(tabulate.__file__, dest)
    subprocess.run(["chmod", "-R", "a+rX", str(dest)], check=True)
    return {"PYTHONPATH": str(dest), "PATH": "/usr/bin:/bin"}


def test_local_becomes_another_user_for_a_non_root_cachekit(tmp_path: Path, homes,
                                                             pip_cache_master) -> None:
    """cachekit run by ckblocal, `local` with --become-user ckbtarget: the core is shipped
    to a child started through sudo, and purges ckbtarget's own pip cache (which ckblocal
    cannot even read); its copy is kept in ckbtarget's home."""
    python = shutil.which("python3", path="/usr/bin:/bin")
    assert python, "the system's python3 (the test command needs it)"
    target_cache = homes["ckbtarget"] / ".cache" / "pip"
    target_cache.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(pip_cache_master[0], target_cache, symlinks=True)
    chown_tree(homes["ckbtarget"], "ckbtarget")
    src = Path(tempfile.mkdtemp(prefix="ckb-src-"))
    src.chmod(0o755)
    try:
        env = dict(_portable_cachekit(src / "lib"), HOME=str(homes["ckblocal"]))
        argv = ["runuser", "-u", "ckblocal", "--", "env", *[f"{k}={v}" for k, v in env.items()],
                python, "-m", "cachekit"]
        plain = subprocess.run([*argv, "dir", "--format", "json"], capture_output=True,
                               text=True, timeout=120, cwd="/")
        assert plain.returncode == 0, plain.stderr
        pip = next(c for c in json.loads(plain.stdout)["hosts"][0]["caches"]
                   if c["manager"] == "pip")
        assert pip["path"] == f"{homes['ckblocal']}/.cache/pip"  # itself, without become

        done = subprocess.run([*argv, "purge", "--managers", "pip", "--yes", "--become",
                               "--become-user", "ckbtarget", "--format", "json"],
                              capture_output=True, text=True, timeout=120, cwd="/")
        assert done.returncode == 0, done.stderr
        row = json.loads(done.stdout)["hosts"][0]
        assert row["host"] == "local" and row["status"] == "ok", row
        assert row["removed"] and all(r["ok"] for r in row["removed"])
        assert all(r["path"].startswith(str(target_cache)) for r in row["removed"])
        assert row["core_copy"].startswith(f"{homes['ckbtarget']}/.cache/cachekit/core-")
        for kind in ("wheels", "http", "http-v2"):  # what pip cache purge empties
            assert not any(p.is_file() for p in (target_cache / kind).rglob("*")), kind

        refused = subprocess.run([*argv, "dir", "--become", "--format", "json"],
                                 capture_output=True, text=True, timeout=60, cwd="/")
        row = json.loads(refused.stdout)["hosts"][0]  # root is not ckblocal's to become
        assert refused.returncode == 2 and row["status"] == "become", row
        assert "sudo:" in row["error"]
    finally:
        shutil.rmtree(src, ignore_errors=True)



def test_ctrl_c_reaches_a_core_running_as_root(tmp_path: Path, lab: SshLab, home: Path,
                                               tmp_path_factory) -> None:
    """The core runs as root, the login user cannot signal it: Ctrl-C goes through sudo
    too, and the core stops between two removals and lists exactly what went."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import make_synthetic_pip_cache as synth

    cache = tmp_path / "pip"
    synth.generate(str(cache), 0.1)  # 10,001 files: a purge of them takes seconds
    before = {os.path.join(d, n) for d, _, names in os.walk(cache) for n in names}
    inv = inventory(tmp_path, lab, home, nopw={
        "ansible_user": "ckbnopw", "ansible_become": True,
        "cachekit_env": core_env(tmp_path, PIP_CACHE_DIR=str(cache))})
    term = Terminal(cachekit_command(["purge", "--hosts", "nopw", "--yes", "--format",
                                      "json", "--managers", "pip"], inv), cachekit_env(home))
    seen = term.wait_for(r"removed ([1-9][\d,]*) of ([\d,]+) entries", timeout=120)
    term.ctrl_c()
    done = term.finish(60)
    assert done.returncode == 130, done.stderr
    row = by_host(json.loads(done.stdout))["nopw"]
    assert row["status"] == "interrupted", row
    gone = before - {os.path.join(d, n) for d, _, names in os.walk(cache) for n in names}
    assert 0 < len(gone) < len(before), seen.group(0)
    assert sum(r["files"] for r in row["removed"] if r.get("ok")) == len(gone)


@pytest.mark.parametrize("where", ["own", "symlink", "their-dir"])
def test_the_bootstrap_keeps_its_copy_only_where_no_other_user_can_swap_the_way(
        tmp_path: Path, homes: Dict[str, Path], where: str) -> None:
    """The bootstrap as ckbtarget, given an XDG_CACHE_HOME: its own directory is used; one
    reached through ckbnopw's symlink, or inside ckbnopw's directory (which ckbnopw could
    rename or replace), is not: the copy goes to ckbtarget's home from the passwd database."""
    from cachekit import shipping

    shared = Path(tempfile.mkdtemp(prefix="ckb-xdg-"))
    try:
        shared.chmod(0o755)
        mine = homes["ckbtarget"] / "xdg"
        mine.mkdir(exist_ok=True)
        chown_tree(mine, "ckbtarget")
        if where == "own":
            xdg = mine
        elif where == "symlink":
            xdg = shared / "cache"
            xdg.symlink_to(mine)
            os.lchown(xdg, owner("ckbnopw"), owner("ckbnopw"))
        else:
            theirs = shared / "theirs"
            (theirs / "cache").mkdir(parents=True)
            chown_tree(theirs, "ckbnopw")
            (theirs / "cache").chmod(0o777)
            os.chown(theirs / "cache", owner("ckbtarget"), owner("ckbtarget"))
            theirs.chmod(0o755)
            xdg = theirs / "cache"
        request = {"op": "dir", "environ": {"XDG_CACHE_HOME": str(xdg)}}
        python = shutil.which("python3", path="/usr/bin:/bin")
        assert python
        done = subprocess.run(
            ["runuser", "-u", "ckbtarget", "--", "env", f"HOME={homes['ckbtarget']}", python,
             "-I", "-S", "-c", shipping.BOOTSTRAP],
            input=shipping.request_line(request) + shipping.compressed_core()[1],
            capture_output=True, timeout=60, cwd="/")
        assert done.returncode == 0, done.stderr.decode()
        copy = json.loads(done.stdout.decode().splitlines()[-1])["core_copy"]
        expected = mine if where == "own" else homes["ckbtarget"] / ".cache"
        assert copy.startswith(f"{expected}/cachekit/core-"), copy
    finally:
        shutil.rmtree(shared, ignore_errors=True)
        shutil.rmtree(homes["ckbtarget"] / "xdg", ignore_errors=True)


def _bootstrap_as(user: str, home: Path, environ: Dict[str, str]) -> Dict:
    """The real bootstrap run as ``user`` (HOME ``home``), given ``environ``: its result."""
    from cachekit import shipping

    python = shutil.which("python3", path="/usr/bin:/bin")
    assert python
    done = subprocess.run(
        ["runuser", "-u", user, "--", "env", f"HOME={home}", python, "-I", "-S", "-c",
         shipping.BOOTSTRAP],
        input=shipping.request_line({"op": "dir", "environ": environ})
        + shipping.compressed_core()[1], capture_output=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout.decode().splitlines()[-1])


def test_a_dangling_cache_symlink_means_the_core_runs_from_memory(
        homes: Dict[str, Path]) -> None:
    """~/.cache a symlink to nowhere (as the effective user's HOME, and in the passwd
    database): the bootstrap keeps no copy and serves from memory; it does not fail."""
    cache = homes["ckbtarget"] / ".cache"
    moved = homes["ckbtarget"] / ".cache-moved"
    if cache.exists() or cache.is_symlink():
        cache.rename(moved)
    try:
        cache.symlink_to(homes["ckbtarget"] / "gone")
        os.lchown(cache, owner("ckbtarget"), owner("ckbtarget"))
        result = _bootstrap_as("ckbtarget", homes["ckbtarget"], {})
        assert result["status"] == "ok" and result["core_copy"] is None, result
    finally:
        cache.unlink()
        if moved.exists():
            moved.rename(cache)


@pytest.mark.parametrize("where", ["world-writable", "group-writable-parent", "sticky-parent"])
def test_the_core_copy_is_never_kept_where_others_may_write(
        homes: Dict[str, Path], where: str) -> None:
    """An XDG_CACHE_HOME of the effective user's own that others may write (0777), or below
    a root-owned directory that its group may write: not kept there (others could plant or
    swap the copy), but in the user's home. Below a root-owned sticky directory (/tmp),
    where only an entry's owner can move it, the copy is kept."""
    shared = Path(tempfile.mkdtemp(prefix="ckb-xdg-"))
    try:
        xdg = shared / "cache"
        xdg.mkdir()
        chown_tree(xdg, "ckbtarget")
        shared.chmod({"world-writable": 0o755, "group-writable-parent": 0o775,
                      "sticky-parent": 0o1777}[where])
        if where == "world-writable":
            xdg.chmod(0o777)
        copy = _bootstrap_as("ckbtarget", homes["ckbtarget"],
                             {"XDG_CACHE_HOME": str(xdg)})["core_copy"]
        expected = xdg if where == "sticky-parent" else homes["ckbtarget"] / ".cache"
        assert copy.startswith(f"{expected}/cachekit/core-"), copy
    finally:
        shutil.rmtree(shared, ignore_errors=True)


@contextlib.contextmanager
def become_exe(script: str) -> Iterator[str]:
    """An ``ansible_become_exe`` every test user may run: ``script`` after a shebang."""
    where = Path(tempfile.mkdtemp(prefix="ckb-exe-"))
    try:
        where.chmod(0o755)
        exe = where / "become"
        exe.write_text("#!/bin/sh\n" + script)
        exe.chmod(0o755)
        yield str(exe)
    finally:
        shutil.rmtree(where, ignore_errors=True)


# a wrapper that says what it runs on stderr (as `set -x` in a login shell does), then sudo:
# the prompt it was given appears in a line, and only sudo's own asks
ECHOING_SUDO = 'echo "+ sudo $*" >&2\nexec sudo "$@"\n'


def test_the_prompt_echoed_in_a_command_line_is_not_sudo_asking(
        tmp_path: Path, lab: SshLab, home: Path) -> None:
    with become_exe(ECHOING_SUDO) as exe:
        inv = inventory(tmp_path, lab, home,
                        nopw={"ansible_user": "ckbnopw", "ansible_become_exe": exe,
                              "cachekit_env": core_env(tmp_path)},
                        pw={"ansible_user": "ckbpass", "ansible_become_exe": exe,
                            "cachekit_env": core_env(tmp_path)})
        plain = run(["report", "--hosts", "nopw", "--become", "--format", "json"], home, inv)
        row = by_host(json.loads(plain.stdout))["nopw"]
        assert row["status"] == "ok", row
        done, _ = ask_and_run(["report", "--hosts", "all", "--become", "--ask-become-pass",
                               "--format", "json"], home, inv, PASSWORD)
    rows = by_host(json.loads(done.stdout))
    assert rows["nopw"]["status"] == "ok", rows["nopw"]  # NOPASSWD: never asked
    assert rows["pw"]["status"] == "ok", rows["pw"]  # answered once, when sudo asked


def test_a_prompt_sudo_did_not_show_fails_the_host_without_waiting_for_the_timeout(
        tmp_path: Path, lab: SshLab, home: Path) -> None:
    """A prompt cachekit does not know (PAM's own, a second factor) is never answered:
    the host is a ``become`` row in that prompt's words once the handshake's own time
    (15 s here) is up, not after the whole --timeout; over SSH and for ``local``."""
    with become_exe('printf "Verification code for %s: " "$(id -un)" >&2\nread answer\n'
                    'echo "never here" >&2\n') as exe:
        inv = inventory(tmp_path, lab, home,
                        nopw={"ansible_user": "ckbnopw", "ansible_become_exe": exe},
                        here={"ansible_connection": "local", "ansible_become_exe": exe})
        started = time.monotonic()
        done = run(["report", "--hosts", "all", "--become", "--format", "json",
                    "--timeout", "240", "--connect-timeout", "2"], home, inv, timeout=200)
    took = time.monotonic() - started
    rows = by_host(json.loads(done.stdout))
    assert took < 60
    assert rows["nopw"]["error"] == ("become root with sudo: sudo did not start the command "
                                     "within 15 s: Verification code for ckbnopw: (a prompt "
                                     "cachekit does not know?)")
    assert rows["here"]["error"] == ("become root with sudo: sudo did not start the command "
                                     "within 15 s: Verification code for root: (a prompt "
                                     "cachekit does not know?)")
    assert rows["nopw"]["status"] == rows["here"]["status"] == "become"

"""``--users``: real Unix users, each with real pip and uv caches, one with a conda
environment in their home that uses a shared root-owned cache, and users whose settings
or symlinks point at someone else's files.

The users are created with ``useradd`` (prefix ``cku``) and removed at the end. ``--users
all`` is run in a private mount namespace whose ``/etc`` is a copy with a passwd of only
root (with a home of the test's own) and the test's accounts: the machine's other users
and root's real caches are never touched, and the set ``all`` selects is asserted exactly.
"""

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import yaml

from cachekit.core import agent, as_user, users
from tests.fixtures import program
from tests.fixtures.conda_cache import PACKAGES, extract, install, make_archive

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root: creates Unix users")]

TAG = f"{os.getpid() % 100000}"
OWNER, BORROWER, SYSTEMIC, PLANTER = (f"cku{TAG}{c}" for c in "abcd")
ALL = (OWNER, BORROWER, SYSTEMIC, PLANTER)
NOHOME = f"cku{TAG}n"  # a passwd entry with a login shell and no home: not selected


def _chown(path: Path, user: str) -> None:
    subprocess.run(["chown", "-R", f"{user}:{user}", str(path)], check=True)


def _as(user: str, script: str) -> None:
    subprocess.run(["su", user, "-s", "/bin/sh", "-c", script], check=True)


class Lab:
    """The users, their homes, the shared conda root and a passwd of our own."""

    def __init__(self, base: Path) -> None:
        self.base = base  # world-readable: users stat the shared conda cache through it
        self.shared_root = base / "conda"
        self.shared_pkgs = self.shared_root / "pkgs"
        self.root_home = base / "roothome"
        self.etc = base / "etc"  # a copy of /etc with a passwd of the lab's
        self.passwd = self.etc / "passwd"
        self.root_file = base / "root-owned.txt"

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    def pip(self, user: str) -> Path:
        return self.home(user) / ".cache" / "pip"

    def uv(self, user: str) -> Path:
        return self.home(user) / ".cache" / "uv"

    def inventory(self) -> Path:
        path = self.base / "hosts.yml"
        # root's row sees the shared conda cache through cachekit_env, as an admin would
        # set it; the other users see nothing of cachekit_env
        path.write_text(yaml.safe_dump({"all": {"hosts": {"local": {
            "ansible_connection": "local",
            "cachekit_env": {"CONDA_PKGS_DIRS": str(self.shared_pkgs),
                             "CONDA_ROOT_PREFIX": str(self.shared_root)}}}}}))
        return path


@pytest.fixture(scope="module")
def lab(pip_cache_master: Tuple[Path, Dict], uv_cache_master: Tuple[Path, Path],
        conda_archives: Path) -> Iterator[Lab]:
    base = Path(tempfile.mkdtemp(prefix="cku-"))
    base.chmod(0o755)
    made: List[str] = []
    try:
        for user in ALL:
            subprocess.run(["useradd", "-m", "-s", "/bin/bash", "-p", "*", user], check=True)
            made.append(user)
        lab = Lab(base)
        lab.root_home.mkdir(mode=0o700)
        lab.root_file.write_text("root's own file\n")
        for user in (OWNER, PLANTER):  # real pip and uv caches, as the user's own
            shutil.copytree(pip_cache_master[0], lab.pip(user), symlinks=True)
            shutil.copytree(uv_cache_master[0], lab.uv(user), symlinks=True)
            _chown(lab.home(user) / ".cache", user)
        secret = lab.home(OWNER) / "secret.txt"
        secret.write_text("the owner's private file\n")
        _chown(secret, OWNER)
        # the borrower's pip.conf points at the owner's cache; the systemic user's at /etc
        _as(BORROWER, f"mkdir -p ~/.config/pip && printf '[global]\\ncache-dir = "
                      f"{lab.pip(OWNER)}\\n' > ~/.config/pip/pip.conf")
        _as(SYSTEMIC, "mkdir -p ~/.config/pip ~/.config/uv && printf '[global]\\ncache-dir = "
                      "/etc\\n' > ~/.config/pip/pip.conf && printf 'cache-dir = \"/usr/share\""
                      "\\n' > ~/.config/uv/uv.toml")
        # the planter's symlinks inside its own cache, at the owner's files and root's
        _as(PLANTER, f"mkdir -p ~/.cache/pip/http-v2/z && ln -s {secret} "
                     f"~/.cache/pip/http-v2/z/evil && ln -s {lab.pip(OWNER)}/wheels "
                     f"~/.cache/pip/wheels/evil-dir && ln -s {lab.root_file} "
                     f"~/.cache/pip/http-v2/z/rootfile")
        _shared_conda(lab, conda_archives)
        lines = [f"root:x:0:0:root:{lab.root_home}:/bin/bash",
                 "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
                 f"{NOHOME}:x:59999:59999::/nonexistent/{NOHOME}:/bin/bash"]
        lines += [":".join(str(f) for f in (e.pw_name, "x", e.pw_uid, e.pw_gid, e.pw_gecos,
                                            e.pw_dir, e.pw_shell))
                  for e in map(pwd.getpwnam, ALL)]
        # the namespace gets a whole /etc of its own: a bind mount on /etc/passwd alone
        # would vanish the moment anything on the machine renames a new passwd into place
        subprocess.run(["cp", "-a", "/etc", str(lab.etc)], check=True)
        lab.passwd.write_text("\n".join(lines) + "\n")
        yield lab
    finally:
        for user in made:
            subprocess.run(["userdel", "-r", "-f", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _shared_conda(lab: Lab, archives: Path) -> None:
    """A root install's package cache (alpha used by the owner's environment in their
    home, beta by nobody), and that environment, in the owner's default envs directory."""
    pkgs = lab.shared_pkgs
    pkgs.mkdir(parents=True)
    (lab.shared_root / "conda-meta").mkdir()
    urls = []
    for d in PACKAGES[:2]:
        archive = archives / "archives" / (d.dist + (d.archive or ".conda"))
        if not archive.exists():
            archive = make_archive(d, archives, d.archive or ".conda")
        extract(archive, pkgs, d.dist, f"https://example.invalid/{archive.name}")
        urls.append(f"https://example.invalid/{archive.name}")
    (pkgs / "urls.txt").write_text("".join(u + "\n" for u in urls))
    for path in [lab.shared_root, *lab.shared_root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    env = lab.home(OWNER) / ".conda" / "envs" / "work"
    install(pkgs, "alpha-1.0-h0_0", env, 3)
    # not in ~/.conda/environments.txt: only the owner's own run finds it (~/.conda/envs)
    _chown(lab.home(OWNER) / ".conda", OWNER)


def _run(lab: Lab, args: List[str], home: Path, expect: Optional[int] = None,
         **environ: str) -> Tuple[int, Dict[str, Any], str]:
    """The program as root, inside a mount namespace whose passwd is the lab's."""
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               'mount --bind "$0" /etc && exec "$@"', str(lab.etc),
               *program.cachekit_command([*args, "--format", "json"], lab.inventory())]
    done = subprocess.run(command, env=program.cachekit_env(home, **environ), text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
    if expect is not None:
        assert done.returncode == expect, done.stderr
    doc = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, doc, done.stderr


def _host(doc: Dict[str, Any]) -> Dict[str, Any]:
    return doc["hosts"][0]


def _caches(host: Dict[str, Any], user: str, manager: str) -> List[Dict[str, Any]]:
    return [c for c in host["caches"] if c.get("user") == user and c["manager"] == manager]


def _files(root: Path) -> Dict[str, bytes]:
    out = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            out[path] = b"link" if os.path.islink(path) else Path(path).read_bytes()
    return out


def test_all_is_root_and_the_login_accounts_with_a_home(lab: Lab, home: Path) -> None:
    _code, doc, err = _run(lab, ["dir", "--users", "all", "--managers", "pip"], home)
    host = _host(doc)
    assert host["status"] == "ok", err
    assert [u["user"] for u in host["users"]] == ["root", *ALL]  # no daemon, no NOHOME
    assert {u["home"] for u in host["users"]} == {str(lab.root_home),
                                                  *(str(lab.home(u)) for u in ALL)}
    rows = {c["user"]: c for c in host["caches"]}
    assert rows["root"]["path"] == str(lab.root_home / ".cache" / "pip")  # root's passwd home
    assert rows[OWNER]["path"] == str(lab.pip(OWNER))


def test_an_unknown_name_refuses_the_host(lab: Lab, home: Path) -> None:
    code, doc, err = _run(lab, ["report", "--users", f"{OWNER},cku-nobody"], home)
    assert code == 1
    assert _host(doc)["status"] == "refused"
    assert "no user 'cku-nobody' in this host's passwd database" in err


def test_not_root_is_refused(lab: Lab) -> None:
    """The core run as a user (root's Python cannot be read by one: the core is loaded
    first, as the users' children load it) refuses --users in one line."""
    as_user.preload()
    account = users.select_accounts([OWNER])[0]
    reply, send = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(reply)
            as_user.drop_to(account)
            result = agent.run({"op": "report", "users": "all"})
            os.write(send, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(send)
    with os.fdopen(reply) as fh:
        result = json.loads(fh.read())
    os.waitpid(pid, 0)
    assert result["status"] == "refused"
    assert result["error"] == (f"--users needs the core to run as root; it runs as {OWNER} "
                               "(log in as root, or use become)")


def test_report_finds_each_users_caches_as_that_user(lab: Lab, home: Path) -> None:
    code, doc, err = _run(lab, ["report", "--users", "all", "--managers", "pip,uv,conda"],
                          home)
    assert code == 2, err  # the borrower's and the systemic user's settings are refused
    host = _host(doc)
    owner_pip = _caches(host, OWNER, "pip")
    assert [c["path"] for c in owner_pip] == [str(lab.pip(OWNER))]
    assert owner_pip[0]["bytes"] > 0 and owner_pip[0]["error"] is None
    assert _caches(host, OWNER, "uv")[0]["bytes"] > 0
    planter = _caches(host, PLANTER, "pip")[0]
    # copies of one cache; the planter's symlinks (at the owner's wheels) are not followed
    assert planter["bytes"] == owner_pip[0]["bytes"]
    # the borrower's and the systemic user's: refused, naming the user and the file
    borrowed = _caches(host, BORROWER, "pip")[0]
    assert "bytes" not in borrowed or not borrowed.get("bytes")
    conf = lab.home(BORROWER) / ".config/pip/pip.conf"
    assert f"user {BORROWER}" in borrowed["error"] and str(conf) in borrowed["error"]
    assert str(lab.pip(OWNER)) in borrowed["error"]
    for manager, place, conf in (("pip", "/etc", ".config/pip/pip.conf"),
                                 ("uv", "/usr/share", ".config/uv/uv.toml")):
        rec = _caches(host, SYSTEMIC, manager)[0]
        assert f"user {SYSTEMIC}" in rec["error"], rec
        assert str(lab.home(SYSTEMIC) / conf) in rec["error"] and place in rec["error"]
    # root's shared conda cache is root's row; its packages used in a user's home stay
    shared = _caches(host, "root", "conda")
    assert [c["path"] for c in shared] == [str(lab.shared_pkgs)]
    assert shared[0]["unused_packages"] == 1  # beta; alpha is used by the owner's env
    assert not [c for c in host["caches"] if c.get("user") != "root"
                and c.get("path") == str(lab.shared_pkgs)]
    assert all("user" in c for c in host["caches"])
    # the table: a USER column, a subtotal per host
    table = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            'mount --bind "$0" /etc && exec "$@"', str(lab.etc),
                            *program.cachekit_command(["report", "--users", "all",
                                                       "--managers", "pip"],
                                                      lab.inventory())],
                           env=program.cachekit_env(home), text=True, capture_output=True)
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["HOST", "USER", "STATUS"]
    assert any(line.split()[:2] == ["local", OWNER] for line in lines)
    assert any(line.split()[:3] == ["local", "(5", "users)"] for line in lines)


@pytest.mark.parametrize("request_", [
    {"op": "report"}, {"op": "info"}, {"op": "list", "pattern": "*", "downloads": True},
    {"op": "dir"},
    {"op": "locations"}, {"op": "purge"}, {"op": "prune", "policy": {"older_than_s": 0}}],
    ids=lambda r: r["op"])
def test_results_per_user_pass_the_wire_check(lab: Lab, request_: Dict[str, Any]) -> None:
    """What a host sends for --users (progress lines included) has the wire's shape."""
    from cachekit import protocol

    lines: List[str] = []
    result = agent.run(dict(request_, users=[OWNER, BORROWER]),
                       lambda row: lines.append("@" + json.dumps(row)))
    sent = "".join(f"{line}\n" for line in lines + [json.dumps(result)]).encode()
    checked = protocol.parse_output(sent, [], 0, request_["op"])
    assert checked["status"] == "ok", checked["error"]
    assert [u["user"] for u in checked["users"]] == [OWNER, BORROWER]
    key = {"list": "entries", "locations": "locations"}.get(request_["op"], "caches")
    assert checked[key] and all(r["user"] in (OWNER, BORROWER) for r in checked[key])


def test_refused_settings_remove_nothing(lab: Lab, home: Path) -> None:
    before = _files(lab.pip(OWNER))
    code, doc, err = _run(lab, ["purge", "--users", f"{BORROWER},{SYSTEMIC}", "--yes",
                                "--managers", "pip,uv"], home)
    assert code == 2
    host = _host(doc)
    assert host["removed"] == [] and host["reclaimed_bytes"] == 0
    assert _files(lab.pip(OWNER)) == before
    assert f"user {BORROWER}" in err and f"user {SYSTEMIC}" in err


def test_prune_holds_each_user_to_max_size(lab: Lab, home: Path) -> None:
    _code, report, _err = _run(lab, ["report", "--users", f"{OWNER},{PLANTER}",
                                     "--managers", "pip"], home)
    budget = min(c["bytes"] for c in _host(report)["caches"]) // 2
    code, doc, err = _run(lab, ["prune", "--users", f"{OWNER},{PLANTER}", "--managers", "pip",
                                "--max-size", f"{budget}B", "--yes", "--history", "off"],
                          home)
    assert code == 0, err
    host = _host(doc)
    for user in (OWNER, PLANTER):
        (cache,) = _caches(host, user, "pip")
        assert cache["bytes"] > budget and cache["after_bytes"] <= budget, (user, cache)
    assert {r["user"] for r in host["removed"]} == {OWNER, PLANTER}
    _no_root_files_in_homes(lab)


def test_root_with_a_users_environment_keeps_its_lock_and_history_out(lab: Lab,
                                                                     home: Path) -> None:
    """``sudo -E``: root runs with the owner's HOME; the lock and the history go to root's
    own home, not into the owner's."""
    code, _doc, err = _run(lab, ["prune", "--users", OWNER, "--managers", "uv",
                                 "--older-than", "3650d", "--yes"], home,
                           HOME=str(lab.home(OWNER)))
    assert code == 0, err
    assert (lab.root_home / ".local/state/cachekit/history.jsonl").is_file()
    assert not (lab.home(OWNER) / ".local/state").exists()
    _no_root_files_in_homes(lab)


def test_planted_symlinks_are_never_followed(lab: Lab, home: Path) -> None:
    secret = lab.home(OWNER) / "secret.txt"
    owner_wheels = _files(lab.pip(OWNER) / "wheels")
    code, doc, err = _run(lab, ["purge", "--users", PLANTER, "--managers", "pip", "--yes"],
                          home)
    assert code == 0, err
    assert secret.read_text() == "the owner's private file\n"
    assert lab.root_file.read_text() == "root's own file\n"
    assert _files(lab.pip(OWNER) / "wheels") == owner_wheels
    assert not os.path.lexists(lab.pip(PLANTER) / "http-v2/z/evil")
    assert not os.path.lexists(lab.pip(PLANTER) / "wheels/evil-dir")
    assert all(r.get("user") == PLANTER for r in _host(doc)["removed"])


def test_purge_all_removes_exactly_each_users_plan(lab: Lab, home: Path) -> None:
    _code, plan, _err = _run(lab, ["purge", "--users", "all", "--managers", "uv",
                                   "--dry-run"], home)
    planned = {(r["user"], r["path"]) for r in _host(plan)["removed"]}
    assert {u for u, _p in planned} == {OWNER, PLANTER}
    assert all(p.startswith(str(lab.home(u)) + "/") for u, p in planned)
    _code, done, _err = _run(lab, ["purge", "--users", "all", "--managers", "uv", "--yes"],
                             home)
    removed = {(r["user"], r["path"]) for r in _host(done)["removed"] if r.get("ok")}
    assert removed == planned
    _no_root_files_in_homes(lab)


def test_conda_shared_cache_keeps_what_user_environments_use(lab: Lab, home: Path) -> None:
    # without --users, root does not see an environment only its owner's conda finds
    _code, doc, err = _run(lab, ["clean", "--packages", "--dry-run"], home)
    alone = {Path(r["path"]).name for r in _host(doc)["removed"]}
    assert alone == {"alpha-1.0-h0_0", "beta-2.0-h1_0"}, err
    env = lab.home(OWNER) / ".conda/envs/work"
    _code, doc, err = _run(lab, ["clean", "--packages", "--users", "all", "--dry-run"], home)
    assert [k["reason"] for k in _host(doc)["kept"] if k["user"] == "root"] == [
        f"used by {env} (copy)"]
    # a plan made without the owner (alpha in it) is applied with the owner selected: the
    # owner's environments are read again at the apply, and alpha stays
    environ = {"CONDA_PKGS_DIRS": str(lab.shared_pkgs), "CONDA_ROOT_PREFIX": str(lab.shared_root)}
    planned = agent.run({"op": "clean", "flags": ["packages"], "managers": ["conda"],
                         "users": ["root"], "environ": environ})
    assert {Path(r["path"]).name for r in planned["removed"]} == alone
    done = agent.run({"op": "apply", "managers": ["conda"], "users": ["root", OWNER],
                      "environ": environ, "plans": planned["plans"]})
    assert done["status"] == "ok", done["error"]
    gone = {Path(r["path"]).name for r in done["removed"] if r.get("ok")}
    assert gone == {"beta-2.0-h1_0"}, done["removed"]
    assert (lab.shared_pkgs / "alpha-1.0-h0_0").is_dir()
    assert not (lab.shared_pkgs / "beta-2.0-h1_0").exists()
    # and through the program: nothing more goes
    code, doc, err = _run(lab, ["clean", "--packages", "--users", "all", "--yes"], home)
    assert code == 0, err
    assert not [r for r in _host(doc)["removed"] if r.get("ok")]
    assert (lab.shared_pkgs / "alpha-1.0-h0_0").is_dir()
    assert (env / "lib/alpha.txt").read_text() == "alpha library\n"
    _no_root_files_in_homes(lab)


def _no_root_files_in_homes(lab: Lab) -> None:
    """Nothing in a user's home was created as root (a lock, a history, a core copy)."""
    for user in ALL:
        found = subprocess.run(["find", str(lab.home(user)), "-uid", "0"], text=True,
                               capture_output=True).stdout.split()
        assert found == [], found


@pytest.mark.ssh
def test_over_ssh_logged_in_as_root(lab: Lab, home: Path, tmp_path: Path) -> None:
    """The same users through a real sshd, logged in as root: the rows equal the local
    ones, and a purge as one user removes that user's cache, and nothing as root."""
    from tests.fixtures.fleet import by_host, host_entry, write_inventory
    from tests.fixtures.sshd_lab import SshLab, free_port_address

    ssh = SshLab(tmp_path / "sshlab")
    address = free_port_address(200)
    try:
        ssh.start("ckuremote", address)
        ssh.write_known_hosts(home, ["ckuremote"])
        # root's own caches and the core's copy go next to the test, never into /root
        inv = write_inventory(tmp_path / "inv.yml", ssh, {"ckuremote": host_entry(
            address, tmp_path / "rootcache", cachekit_users=f"{OWNER},{PLANTER}")})
        done = program.run_cachekit(["report", "--hosts", "ckuremote", "--managers", "pip,uv",
                                     "--format", "json"], home=home, inventory=inv, expect=0)
        remote = by_host(json.loads(done.stdout))["ckuremote"]
        local = agent.run({"op": "report", "managers": ["pip", "uv"],
                           "users": [OWNER, PLANTER]})
        assert [u["user"] for u in remote["users"]] == [OWNER, PLANTER]

        def figures(result: Dict[str, Any]) -> List[Tuple[str, str, Any]]:
            return [(c["user"], c["manager"], c.get("bytes")) for c in result["caches"]]

        assert figures(remote) == figures(local)
        assert all(c["path"].startswith(str(lab.home(c["user"]))) for c in remote["caches"])
        done = program.run_cachekit(["purge", "--hosts", "ckuremote", "--users", OWNER,
                                     "--managers", "pip", "--yes", "--format", "json"],
                                    home=home, inventory=inv, expect=0)
        purged = by_host(json.loads(done.stdout))["ckuremote"]
        assert purged["removed"] and all(r["user"] == OWNER for r in purged["removed"])
        after = agent.run({"op": "info", "managers": ["pip"], "users": [OWNER]})
        assert (after["caches"][0]["wheels"], after["caches"][0]["http_files"]) == (0, 0)
        _no_root_files_in_homes(lab)
    finally:
        ssh.stop_all()


@pytest.mark.ssh
def test_through_become_and_refused_without_it(lab: Lab, home: Path, tmp_path: Path) -> None:
    """Logged in as a user with NOPASSWD sudo: without --become the core runs as that user
    and the host is refused in one line; with --become it runs as root and serves every
    user named, each as that user."""
    from tests.fixtures.fleet import by_host, write_inventory
    from tests.fixtures.sshd_lab import PORT, SshLab, free_port_address

    login = f"cku{TAG}s"
    drop_in = Path(f"/etc/sudoers.d/cku{TAG}-users-tests")
    keys = Path(tempfile.mkdtemp(prefix="cku-keys-"))
    keys.chmod(0o755)
    ssh = SshLab(tmp_path / "sshlab", user_keys=keys)
    try:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-p", "*", login], check=True)
        rule = tmp_path / "sudoers"
        rule.write_text(f"{login} ALL=(ALL:ALL) NOPASSWD: ALL\n")
        subprocess.run(["visudo", "-cf", str(rule)], check=True, capture_output=True)
        rule.chmod(0o440)
        shutil.copy2(rule, drop_in)
        ssh.allow_login(login)
        address = free_port_address(210)
        ssh.start("ckubecome", address)
        ssh.write_known_hosts(home, ["ckubecome"])
        root_home = tmp_path / "roothome"
        root_home.mkdir()
        inv = write_inventory(tmp_path / "inv.yml", ssh, {"ckubecome": {
            "ansible_host": address, "ansible_port": PORT, "ansible_user": login,
            "cachekit_env": {"HOME": str(root_home), "XDG_CACHE_HOME": str(tmp_path / "xdg")}}})
        args = ["report", "--hosts", "ckubecome", "--users", f"{OWNER},{PLANTER}",
                "--managers", "uv", "--format", "json"]
        plain = program.run_cachekit(args, home=home, inventory=inv)
        row = by_host(json.loads(plain.stdout))["ckubecome"]
        assert plain.returncode == 1 and row["status"] == "refused"
        assert row["error"] == (f"--users needs the core to run as root; it runs as {login} "
                                "(log in as root, or use become)")
        done = program.run_cachekit([*args, "--become"], home=home, inventory=inv, expect=0)
        row = by_host(json.loads(done.stdout))["ckubecome"]
        assert [u["user"] for u in row["users"]] == [OWNER, PLANTER]
        assert {c["user"]: c["path"] for c in row["caches"]} == {
            OWNER: str(lab.uv(OWNER)), PLANTER: str(lab.uv(PLANTER))}
        _no_root_files_in_homes(lab)
    finally:
        ssh.stop_all()
        with contextlib.suppress(FileNotFoundError):
            drop_in.unlink()
        subprocess.run(["userdel", "-r", "-f", login], capture_output=True)
        shutil.rmtree(keys, ignore_errors=True)

"""uv caches against the real uv: where the cache is, its size, remove, purge, prune."""

import fcntl
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List, Set

import pytest

from cachekit.core import agent
from cachekit.core.fs import walk
from cachekit.core.managers.uv import cache as uvcache
from tests.fixtures import REPO
from tests.fixtures.disk import tree_of
from tests.fixtures.uv_cache import UV, install, run_uv, serve_dir, uv_env

UV_DIR = str(Path(UV).parent)


def uv_environ(cache: Path, home: Path, path: str = UV_DIR) -> Dict[str, str]:
    """What the core sees on a host with this uv cache and the test's uv on PATH."""
    return {"UV_CACHE_DIR": str(cache), "HOME": str(home), "PATH": f"{path}:/usr/bin:/bin"}


def cachekit_dir(home: Path, cwd: Path, **environ: str) -> Dict[str, Any]:
    env = {"HOME": str(home), "PWD": str(cwd), **environ}
    return agent.run({"op": "dir", "managers": ["uv"], "environ": env})["caches"][0]


@pytest.mark.parametrize("case", [
    "default", "xdg", "xdg-relative", "env", "env-relative", "user-toml", "system-toml",
    "config-file", "no-config", "tilde", "no-cache-false", "no-cache", "no-cache-bad",
])
def test_cache_dir_equals_uv_cache_dir(case: str, home: Path, tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    user = home / ".config/uv/uv.toml"
    system = tmp_path / "xdg-sys/uv/uv.toml"
    environ: Dict[str, str] = {}
    if case == "xdg":
        environ["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    elif case == "xdg-relative":
        environ["XDG_CACHE_HOME"] = "relative/cache"
    elif case == "env":
        environ["UV_CACHE_DIR"] = str(tmp_path / "from-env")
    elif case == "env-relative":
        environ["UV_CACHE_DIR"] = "rel-cache"
    elif case in ("user-toml", "system-toml", "config-file", "no-config", "tilde"):
        user.parent.mkdir(parents=True)
        user.write_text('# a comment\nnative-tls = true\nno-binary-package = [\n  "a",\n]\n'
                        'cache-dir = "/from/user"  # trailing\n[pip]\nno-deps = false\n')
        system.parent.mkdir(parents=True)
        system.write_text("cache-dir = '/from/system'\n")
        environ["XDG_CONFIG_DIRS"] = str(tmp_path / "xdg-sys")
        if case == "system-toml":
            user.unlink()
        elif case == "config-file":
            explicit = tmp_path / "explicit.toml"
            explicit.write_text('[pip]\nindex-url = "http://x"\n')
            environ["UV_CONFIG_FILE"] = str(explicit)
        elif case == "no-config":
            environ["UV_NO_CONFIG"] = "1"
        elif case == "tilde":
            user.write_text('cache-dir = "~/tilde"\n')
    elif case == "no-cache-false":
        environ["UV_NO_CACHE"] = "0"
    elif case == "no-cache":
        environ["UV_NO_CACHE"] = "true"
    elif case == "no-cache-bad":
        environ["UV_NO_CACHE"] = "maybe"
    env = {k: v for k, v in uv_env(home).items() if k not in ("UV_NO_CONFIG",)}
    env.update(environ)
    real = run_uv(["cache", "dir"], env, cwd=cwd)
    ours = cachekit_dir(home, cwd, **environ)
    if case == "no-cache-bad":
        assert real.returncode == 2 and ours["error"].startswith("UV_NO_CACHE: invalid value")
        return
    assert real.returncode == 0, real.stderr
    if case == "no-cache":  # uv prints a fresh temporary directory: nothing to manage
        assert ours["enabled"] is False and ours["path"] is None
        return
    assert ours["shown"] == real.stdout.strip()
    assert ours["path"] == os.path.normpath(os.path.join(cwd, real.stdout.strip()))


def test_disk_bytes_equal_uv_cache_size(uv_cache: Path, home: Path, core_run) -> None:
    real = run_uv(["cache", "size", "--preview-features", "cache-size"],
                  uv_env(home, UV_CACHE_DIR=str(uv_cache)))
    info = core_run("info", ["uv"], uv_environ(uv_cache, home))["caches"][0]
    assert info["disk_bytes"] == int(real.stdout.strip())
    assert info["packages"] == 4 and info["unknown"] == []
    assert {b.rsplit("-v", 1)[0] for b in info["buckets"]} >= {
        "archive", "wheels", "sdists", "simple", "interpreter"}


def test_list_by_package_name(uv_cache: Path, home: Path, core_run) -> None:
    entries = core_run("list", ["uv"], uv_environ(uv_cache, home), pattern="FOO_bar")["entries"]
    assert [(e["name"], e["version"], e["kind"]) for e in entries] == [
        ("foo-bar", "3.0", "index+wheel")]
    every = {e["name"]: e for e in core_run("list", ["uv"], uv_environ(uv_cache, home))["entries"]}
    assert set(every) == {"beta", "delta", "gamma", "foo-bar"}
    assert every["beta"]["version"] == "1.0, 1.1" and every["gamma"]["kind"] == "index+sdist"


def top_paths(before: Set[tuple], after: Set[tuple]) -> Set[str]:
    """The removed paths, each given once (not the files under a removed directory)."""
    gone = {p for p, _k, _s in before - after}
    return {p for p in gone if os.path.dirname(p) not in gone}


@pytest.mark.parametrize("pattern,names", [("beta", ["beta"]), ("Foo.Bar", ["foo-bar"]),
                                           ("*a", ["beta", "delta", "gamma"])])
def test_remove_leaves_what_uv_cache_clean_leaves(uv_cache: Path, home: Path, tmp_path: Path,
                                                  pattern: str, names: List[str], core_run) -> None:
    theirs = tmp_path / "theirs"
    shutil.copytree(uv_cache, theirs, symlinks=True)
    before = tree_of(uv_cache)
    plan = core_run("remove", ["uv"], uv_environ(uv_cache, home), pattern=pattern)
    done = run_uv(["cache", "clean", *names], uv_env(home, UV_CACHE_DIR=str(theirs)))
    assert done.returncode == 0, done.stderr
    planned = {os.path.relpath(r["path"], uv_cache) for r in plan["removed"]}
    assert planned == top_paths(before, tree_of(theirs))  # the plan is what uv removes
    applied = core_run("remove", ["uv"], uv_environ(uv_cache, home), pattern=pattern, apply=True)
    assert applied["removed"] and all(r["ok"] for r in applied["removed"])
    assert tree_of(uv_cache) == tree_of(theirs)


def without_uv(request: Dict[str, Any], cache: Path, home: Path) -> Dict[str, Any]:
    """The core run by the system python, PATH bare: a host where no uv is to be found."""
    import subprocess

    env = {"UV_CACHE_DIR": str(cache), "HOME": str(home), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(["/usr/bin/python3", "-m", "cachekit.core.agent"],
                          input=json.dumps(request), capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # after the "@" progress lines


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3") or bool(shutil.which(
    "uv", path="/usr/bin:/bin")), reason="needs a system python3 without a uv beside it")
def test_remove_without_a_uv_binary_is_refused_and_purge_takes_uv_s_lock(
        uv_cache: Path, home: Path, tmp_path: Path) -> None:
    before = tree_of(uv_cache)
    refused = without_uv({"op": "remove", "managers": ["uv"], "pattern": "beta",
                          "apply": True}, uv_cache, home)
    assert "no uv binary found on this host" in refused["caches"][0]["error"]
    assert tree_of(uv_cache) == before
    lock = os.open(uv_cache / ".lock", os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_SH)  # a running uv holds a shared lock
    try:
        busy = without_uv({"op": "purge", "managers": ["uv"], "apply": True}, uv_cache, home)
        assert busy["status"] == "refused" and "in use" in busy["error"]
        assert tree_of(uv_cache) == before
    finally:
        os.close(lock)
    theirs = tmp_path / "theirs"
    shutil.copytree(uv_cache, theirs, symlinks=True)
    purged = without_uv({"op": "purge", "managers": ["uv"], "apply": True}, uv_cache, home)
    assert purged["status"] == "ok", purged["error"]
    assert purged["warnings"] and "holding uv's lock" in purged["warnings"][0]
    assert run_uv(["cache", "clean"], uv_env(home, UV_CACHE_DIR=str(theirs))).returncode == 0
    assert tree_of(uv_cache) == tree_of(theirs) == {(".lock", "f", 0)}


def test_prune_ci_plan_is_what_uv_cache_prune_ci_removes(uv_cache: Path, home: Path,
                                                         tmp_path: Path, core_run) -> None:
    (uv_cache / "builds-v0/.tmpBuild").mkdir(parents=True, exist_ok=True)
    (uv_cache / "builds-v0/.tmpBuild/x").write_text("x")
    (uv_cache / "wheels-v1/pypi/old").mkdir(parents=True)
    (uv_cache / "stray.txt").write_text("s")
    theirs = tmp_path / "theirs"
    shutil.copytree(uv_cache, theirs, symlinks=True)
    before = tree_of(uv_cache)
    plan = core_run("prune", ["uv"], uv_environ(uv_cache, home), policy={"keep": [], "ci": True})
    assert [e["entry"] for e in plan["removed"]] == ["uv cache prune --ci"]
    done = run_uv(["cache", "prune", "--ci"], uv_env(home, UV_CACHE_DIR=str(theirs)))
    assert done.returncode == 0, done.stderr
    planned = {p[0] for p in plan["plans"][0]["paths"]}
    assert planned == top_paths(before, tree_of(theirs))
    applied = core_run("prune", ["uv"], uv_environ(uv_cache, home), policy={"keep": [], "ci": True},
                       apply=True)
    assert all(r["ok"] for r in applied["removed"])
    assert tree_of(uv_cache) == tree_of(theirs)
    # what uv built from source stays; pre-built wheels are gone
    assert list(uv_cache.rglob("gamma-0.5-*.whl")) and not list(uv_cache.glob("wheels-v*/*"))


def test_prune_by_age_removes_whole_packages_through_uv(uv_cache: Path, home: Path,
                                                        core_run) -> None:
    old = 1_600_000_000
    for path in [*uv_cache.rglob("*")]:
        rel = path.relative_to(uv_cache).as_posix()
        found = uvcache.package_of(rel)
        if found and found[0] == "delta":
            os.utime(path, (old, old), follow_symlinks=False)
    layout = uvcache.layout(str(uv_cache), walk.scan(str(uv_cache)))
    for archive in layout.packages["delta"].archives:
        for path in [uv_cache / archive, *(uv_cache / archive).rglob("*")]:
            os.utime(path, (old, old), follow_symlinks=False)
    plan = core_run("prune", ["uv"], uv_environ(uv_cache, home),
                    policy={"keep": [], "older_than_s": 30 * 86400})
    assert [(e["entry"], e["reason"]) for e in plan["removed"]] == [("delta", "older than 30d")]
    done = core_run("prune", ["uv"], uv_environ(uv_cache, home),
                    policy={"keep": [], "older_than_s": 30 * 86400}, apply=True)
    assert all(r["ok"] for r in done["removed"])
    assert "delta" not in {e["name"] for e in core_run("list", ["uv"],
                                                       uv_environ(uv_cache, home))["entries"]}


def test_uv_still_installs_from_the_pruned_cache(uv_cache: Path, home: Path,
                                                 uv_cache_master, core_run) -> None:
    core_run("prune", ["uv"], uv_environ(uv_cache, home), policy={"keep": [], "ci": True},
             apply=True)
    core_run("prune", ["uv"], uv_environ(uv_cache, home),
             policy={"max_size_bytes": 0, "keep": ["gamma"]}, apply=True)
    work = uv_cache_master[1]
    from tests.fixtures.pip_cache import LoopbackIndex

    with LoopbackIndex(serve_dir(work)) as index:
        install(uv_cache, home / "work", ["beta==1.1", "gamma"], index.url, home)
    assert (home / "work/targets/gamma/gamma.py").exists()


def test_cli_info_and_report_include_uv(uv_cache: Path, home: Path) -> None:
    import subprocess

    env = uv_env(home, UV_CACHE_DIR=str(uv_cache))
    run = subprocess.run([sys.executable, "-m", "cachekit", "report", "--managers", "uv",
                          "--format", "json"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    cache = json.loads(run.stdout)["hosts"][0]["caches"][0]
    assert cache["manager"] == "uv" and cache["reclaimable_bytes"] > 0


def test_a_home_or_a_stranger_directory_is_never_emptied_as_a_uv_cache(
        home: Path, tmp_path: Path) -> None:
    (home / ".ssh").mkdir()
    (home / ".ssh/id_ed25519").write_text("key")
    stranger = tmp_path / "stranger"
    (stranger / "sub").mkdir(parents=True)
    (stranger / "sub/f").write_text("x")
    for cache in (home, stranger):
        for op in ("purge", "prune"):
            result = agent.run({"op": op, "managers": ["uv"], "apply": True,
                                "policy": {"keep": [], "max_size_bytes": 0},
                                "environ": {"UV_CACHE_DIR": str(cache), "HOME": str(home),
                                            "PATH": f"{UV_DIR}:/usr/bin:/bin"}})
            assert result["status"] == "refused", (op, cache, result["error"])
    assert (home / ".ssh/id_ed25519").exists() and (stranger / "sub/f").exists()


def test_locations_with_a_broken_uv_toml_is_one_line(home: Path, tmp_path: Path) -> None:
    toml = home / ".config/uv/uv.toml"
    toml.parent.mkdir(parents=True)
    toml.write_text("cache-dir = [1, 2]\n")
    result = agent.run({"op": "locations", "managers": ["uv"],
                        "environ": {"HOME": str(home), "UV_CACHE_DIR": str(tmp_path)}})
    assert result["status"] == "ok"
    assert "cache-dir must be a string" in result["locations"][0]["traps"][0]


@pytest.mark.root
@pytest.mark.skipif(not os.path.exists("/usr/bin/python3") or bool(shutil.which(
    "uv", path="/usr/bin:/bin")), reason="needs a system python3 without a uv beside it")
def test_a_symlinked_lock_is_never_followed(uv_cache: Path, home: Path, tmp_path: Path,
                                            core_run) -> None:
    """Root would have created the link's target (outside the cache) as uv's lock."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (uv_cache / ".lock").unlink()
    (uv_cache / ".lock").symlink_to(outside / "evil")
    before = tree_of(uv_cache)
    why = f"{uv_cache}/.lock: cannot be locked: a symbolic link, not a regular file"
    purged = without_uv({"op": "purge", "managers": ["uv"], "apply": True}, uv_cache, home)
    assert (purged["status"], purged["error"]) == ("refused", why)
    through_uv = core_run("purge", ["uv"], uv_environ(uv_cache, home), apply=True, ok=False)
    assert (through_uv["status"], through_uv["error"]) == ("refused", why)
    toml = home / ".config/uv/uv.toml"
    toml.parent.mkdir(parents=True)
    toml.write_text(f'cache-dir = "{uv_cache}"\n')
    configured = {k: v for k, v in uv_environ(uv_cache, home).items() if k != "UV_CACHE_DIR"}
    moved = core_run("relocate", ["uv"], configured, to=str(tmp_path / "moved"), move=True,
                     apply=True, ok=False)
    assert (moved["status"], moved["error"]) == ("refused", why), moved["error"]
    assert os.listdir(outside) == [] and tree_of(uv_cache) == before
    assert toml.read_text() == f'cache-dir = "{uv_cache}"\n'

"""safety's one refusal, as a user meets it: cachekit run with HOME at a fake home full of
things that must never go (``.ssh/``, sources and their editor backups), and settings that
point a cache at that home, at a system directory, or at a directory that is not the
manager's cache. Each is refused with exit 1 and one line naming the setting, and
nothing is touched; real pip, uv and conda caches still clean as before.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from cachekit.core import Refused, agent, safety
from tests.fixtures.disk import tree_of
from tests.fixtures.pip_cache import pip_env
from tests.fixtures.uv_cache import UV, run_uv, uv_env

UV_DIR = str(Path(UV).parent)
NO_UV_PATH = "/usr/bin:/bin"


@pytest.fixture
def fake_home(home: Path) -> Path:
    """A home as a user has one: keys, dotfiles, sources, an emacs backup, a trash file."""
    files = {
        ".ssh/id_ed25519": "PRIVATE KEY", ".ssh/authorized_keys": "ssh-ed25519 AAAA",
        ".bashrc": "export PATH", "projects/app/main.c": "int main(){}",
        "projects/app/main.c~": "int main(){ /* yesterday */ }",
        "Documents/old.trash": "the user's own file", "Documents/report.txt": "q3",
        "projects/app/info/index.json": "{}",  # looks like a package to a careless check
    }
    for rel, text in files.items():
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_text(text)
    return home


def cachekit(args: List[str], home: Path, path: str = NO_UV_PATH,
             **env: str) -> subprocess.CompletedProcess:
    """The program as a user runs it: no terminal on stdin, HOME at the fake home."""
    environ = pip_env(home, PATH=path, **env)
    for key in [k for k in environ if k.startswith(("CONDA", "MAMBA_", "UV_"))
                and k not in env]:
        del environ[key]
    return subprocess.run([sys.executable, "-m", "cachekit", *args], env=environ,
                          text=True, capture_output=True, stdin=subprocess.DEVNULL,
                          timeout=300)


def home_tree(home: Path) -> set:
    """Everything in the home but cachekit's own state (its prune history)."""
    return {e for e in tree_of(home) if not e[0].startswith(".local")}


def refused(run: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 1, one line on stderr (the refusal, naming ``words``), no traceback."""
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert "refusing" in lines[0] and "Traceback" not in run.stderr, run.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# Item 1: conda roots that are a home ----------------------------------------------------

def test_conda_pkgs_dirs_at_the_home_is_refused_for_force_pkgs_dirs(fake_home: Path) -> None:
    (fake_home / "urls.txt").write_text("")
    before = home_tree(fake_home)
    run = cachekit(["clean", "--force-pkgs-dirs", "--yes"], fake_home,
                   CONDA_PKGS_DIRS=str(fake_home))
    line = refused(run, "CONDA_PKGS_DIRS", "is a home directory", str(fake_home))
    assert line.startswith("cachekit: error: local: refusing to clean"), line
    assert home_tree(fake_home) == before


@pytest.mark.parametrize("entry", ["~/", "~", "$HOME"])
def test_pkgs_dirs_at_the_home_in_condarc_is_refused_for_purge(fake_home: Path,
                                                               entry: str) -> None:
    (fake_home / "urls.txt").write_text("")
    (fake_home / "numpy-1.0-0.conda").write_bytes(b"an archive in the home")
    (fake_home / ".condarc").write_text(f'pkgs_dirs: ["{entry}"]\n')
    before = home_tree(fake_home)
    for args in (["purge", "--managers", "conda", "--yes"],
                 ["purge", "--managers", "conda", "--dry-run"],
                 ["remove", "numpy", "--managers", "conda", "--yes"],
                 ["prune", "--managers", "conda", "--max-size", "0", "--yes"],
                 ["clean", "--all", "--yes"]):
        refused(cachekit(args, fake_home), "pkgs_dirs in", ".condarc", "is a home directory")
    assert home_tree(fake_home) == before


def test_a_home_without_urls_txt_is_refused_too(fake_home: Path) -> None:
    """conda would not clean it (no urls.txt), but the setting is still wrong: say so."""
    before = home_tree(fake_home)
    refused(cachekit(["clean", "--tarballs", "--yes"], fake_home,
                     CONDA_PKGS_DIRS=f"{fake_home}/,{fake_home}/.conda/pkgs"),
            "CONDA_PKGS_DIRS", "home directory")
    assert home_tree(fake_home) == before


def test_tempfiles_never_walk_a_root_prefix_that_is_the_home(fake_home: Path) -> None:
    (fake_home / "pkgs").mkdir()  # micromamba with MAMBA_ROOT_PREFIX=$HOME made these
    (fake_home / "pkgs/urls.txt").write_text("")
    (fake_home / "conda-meta").mkdir()
    before = home_tree(fake_home)
    for flags in (["--tempfiles"], ["--all"], ["--trash"]):
        refused(cachekit(["clean", *flags, "--yes"], fake_home,
                         MAMBA_ROOT_PREFIX=str(fake_home)),
                "conda root", "MAMBA_ROOT_PREFIX", "is a home directory")
    assert home_tree(fake_home) == before


def test_explicit_tempfiles_paths_in_a_home_are_refused(fake_home: Path) -> None:
    (fake_home / "pkgs").mkdir()
    (fake_home / "pkgs/urls.txt").write_text("")
    before = home_tree(fake_home)
    refused(cachekit(["clean", f"--tempfiles={fake_home}", "--yes"], fake_home,
                     MAMBA_ROOT_PREFIX=str(fake_home)),
            "directory given to --tempfiles", "is a home directory")
    # inside the home, but "inside a conda root" only because the root is the home
    refused(cachekit(["clean", f"--tempfiles={fake_home / 'projects'}", "--yes"], fake_home,
                     MAMBA_ROOT_PREFIX=str(fake_home)),
            "MAMBA_ROOT_PREFIX", "is a home directory")
    assert home_tree(fake_home) == before


def test_a_directory_with_urls_txt_that_is_not_a_conda_cache_is_refused(
        fake_home: Path, tmp_path: Path) -> None:
    scraper = tmp_path / "scraper"  # a project that keeps a list of URLs
    (scraper / "src").mkdir(parents=True)
    (scraper / "src/main.py").write_text("print()")
    (scraper / "urls.txt").write_text("https://example.invalid/\n")
    before = tree_of(scraper)
    refused(cachekit(["clean", "--force-pkgs-dirs", "--yes"], fake_home,
                     CONDA_PKGS_DIRS=str(scraper)),
            "CONDA_PKGS_DIRS", "does not look like a conda package cache")
    assert tree_of(scraper) == before


# Item 2: a foreign directory is not a uv cache ------------------------------------------

@pytest.fixture
def rust_target(tmp_path: Path) -> Path:
    """What cargo leaves in a project: target/ with a CACHEDIR.TAG and build output."""
    target = tmp_path / "myproject/target"
    for rel in ("debug/build/app-1/out/gen.rs", "debug/deps/app-1.d", "release/app",
                ".rustc_info.json"):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_text("built")
    (target / "CACHEDIR.TAG").write_text(
        "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag"
        " created by cargo.\n")
    return target


@pytest.mark.parametrize("path", [NO_UV_PATH, f"{UV_DIR}:{NO_UV_PATH}"],
                         ids=["no-uv-binary", "uv-binary"])
def test_a_rust_target_dir_is_not_a_uv_cache(fake_home: Path, rust_target: Path,
                                             path: str) -> None:
    before = tree_of(rust_target)
    for args in (["purge", "--managers", "uv", "--yes"],
                 ["prune", "--managers", "uv", "--max-size", "0", "--yes"]):
        refused(cachekit(args, fake_home, path=path, UV_CACHE_DIR=str(rust_target)),
                "UV_CACHE_DIR", "does not look like a uv cache")
    assert tree_of(rust_target) == before


def test_uv_cache_dir_at_the_home_names_the_setting(fake_home: Path) -> None:
    (fake_home / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55")
    (fake_home / "wheels-v8").mkdir()
    before = home_tree(fake_home)
    line = refused(cachekit(["purge", "--managers", "uv", "--yes"], fake_home,
                            UV_CACHE_DIR=str(fake_home)))
    assert line == (f"cachekit: error: local: refusing to purge {fake_home}: the uv cache set by "
                    "UV_CACHE_DIR is a home directory"), line
    assert home_tree(fake_home) == before


def test_a_real_uv_cache_still_purges(fake_home: Path, uv_cache: Path) -> None:
    run = cachekit(["purge", "--managers", "uv", "--yes"], fake_home,
                   UV_CACHE_DIR=str(uv_cache))
    assert run.returncode == 0, run.stderr
    assert tree_of(uv_cache) == {(".lock", "f", 0)}
    again = cachekit(["purge", "--managers", "uv", "--yes"], fake_home,
                     UV_CACHE_DIR=str(uv_cache))  # emptied: only uv's lock is left
    assert again.returncode == 0, again.stderr


def test_a_fresh_cache_made_by_the_real_uv_is_uv_s(fake_home: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh-uv"
    made = run_uv(["pip", "list", "--python", sys.executable],
                  uv_env(fake_home, UV_CACHE_DIR=str(fresh), UV_OFFLINE="1"))
    assert made.returncode == 0, made.stderr
    assert safety.layout_check("uv")(str(fresh)) == ""
    run = cachekit(["purge", "--managers", "uv", "--yes"], fake_home, path=f"{UV_DIR}:"
                   f"{NO_UV_PATH}", UV_CACHE_DIR=str(fresh))
    assert run.returncode == 0, run.stderr


# System directories: refused before anything is listed -------------------------------------

def _listing(root: str) -> set:
    """What the directory holds, less what other processes on this machine may replace
    meanwhile (``useradd`` rewrites /etc/passwd through ``passwd+``, ``.pwd.lock``...)."""
    return {n for n in os.listdir(root)
            if not n.startswith(".") and not n.endswith(("-", "+", ".lock", ".tmp"))}


@pytest.mark.parametrize("var, args", [
    ("PIP_CACHE_DIR", ["purge", "--managers", "pip", "--yes"]),
    ("PIP_CACHE_DIR", ["prune", "--managers", "pip", "--max-size", "0", "--yes"]),
    ("CONDA_PKGS_DIRS", ["clean", "--force-pkgs-dirs", "--yes"]),
    ("CONDA_PKGS_DIRS", ["purge", "--managers", "conda", "--yes"]),
    ("UV_CACHE_DIR", ["purge", "--managers", "uv", "--yes"]),
])
@pytest.mark.parametrize("where", ["/etc", "/usr", "/var", "/"])
def test_system_directories_are_refused(fake_home: Path, var: str, args: List[str],
                                        where: str) -> None:
    before = _listing(where)
    why = "file system root" if where == "/" else "system directory"
    refused(cachekit(args, fake_home, **{var: where}), var, why)
    assert before <= _listing(where)  # nothing in it went


def test_the_refusal_comes_before_any_listing(fake_home: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Not one directory read of /etc itself: the place is refused on its name."""
    seen: List[str] = []
    for name in ("listdir", "scandir"):
        real = getattr(os, name)

        def spy(path: Any = ".", real: Any = real) -> Any:
            if isinstance(path, str) and os.path.normpath(path) == "/etc":
                seen.append(path)
            return real(path)

        monkeypatch.setattr(os, name, spy)
    for var, manager, op in (("PIP_CACHE_DIR", "pip", "purge"),
                             ("CONDA_PKGS_DIRS", "conda", "purge"),
                             ("UV_CACHE_DIR", "uv", "purge"),
                             ("AGENT_TOOLSDIRECTORY", "toolcache", "prune")):
        result = agent.run({"op": op, "managers": [manager], "apply": True,
                            "policy": {"keep": [], "max_size_bytes": 0},
                            "environ": {var: "/etc", "HOME": str(fake_home),
                                        "PATH": NO_UV_PATH}})
        assert result["status"] == "refused", (manager, result)
        assert "/etc" in result["error"] and "system directory" in result["error"]
    assert seen == []


@pytest.mark.parametrize("allowed", ["/var/cache/pip", "/opt/conda/pkgs", "/tmp/x/pip",
                                     "/usr/local/share/uv-cache"])
def test_below_a_system_directory_is_allowed(allowed: str, home: Path) -> None:
    assert safety.place_problem(allowed, {"HOME": str(home)}) == ""


@pytest.mark.parametrize("place, why", [
    ("/", "file system root"), ("/etc", "system directory"), ("/tmp", "system directory"),
    ("/usr/local", "system directory"), ("/var/cache", "system directory"),
    ("/lib", "system directory"), ("/home", "home"),
])
def test_system_places_are_refused(place: str, why: str, home: Path) -> None:
    assert why in safety.place_problem(place, {"HOME": str(home)})


def test_a_parent_of_the_home_is_refused(home: Path) -> None:
    assert "holds home" in safety.place_problem(str(home.parent), {"HOME": str(home)})


# The shared mechanism -------------------------------------------------------------------

def test_a_manager_without_a_layout_signature_can_remove_nothing(tmp_path: Path) -> None:
    # "spack": a name cachekit does not know (this test named pixi before pixi was added)
    with pytest.raises(Refused, match="no layout signature"):
        safety.layout_check("spack")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "f").write_text("x")
    forged = {"manager": "spack", "root": str(victim), "root_id": [0, 0], "files": [],
              "dirs": []}
    done = agent.run({"op": "apply", "plans": [forged], "environ": {"HOME": str(tmp_path)}})
    assert done["status"] == "refused" and "no layout signature" in done["error"]
    assert (victim / "f").exists()
    # pixi, known now, refuses the same forged plan by its own layout signature
    done = agent.run({"op": "apply", "plans": [dict(forged, manager="pixi")],
                      "environ": {"HOME": str(tmp_path)}})
    assert done["status"] == "refused" and "rattler package cache" in done["error"]
    assert (victim / "f").exists()


@pytest.mark.parametrize("apply", [False, True], ids=["dry-run", "apply"])
def test_a_manager_that_forgets_its_own_check_is_still_stopped(
        fake_home: Path, monkeypatch: pytest.MonkeyPatch, apply: bool) -> None:
    """The agent checks every plan's root itself: pip's early check switched off (as a
    new manager might lack one), a purge of the home is still refused, dry run or not."""
    from cachekit.core.managers.pip import cache as pipcache

    (fake_home / "wheels").mkdir()
    (fake_home / "wheels/mine-1.0-py3-none-any.whl").write_text("a wheel")
    monkeypatch.setattr(pipcache, "refuse_unsafe_root", lambda *a, **k: None)
    before = home_tree(fake_home)
    done = agent.run({"op": "purge", "managers": ["pip"], "apply": apply,
                      "environ": {"HOME": str(fake_home), "PIP_CACHE_DIR": str(fake_home)}})
    assert done["status"] == "refused", done
    assert done["error"] == (f"refusing to purge {fake_home}: the pip cache set by "
                             "environment variable PIP_CACHE_DIR is a home directory")
    assert home_tree(fake_home) == before


@pytest.mark.parametrize("manager", ["pip", "uv", "conda", "toolcache"])
def test_a_plan_naming_the_home_is_refused_at_apply(fake_home: Path, manager: str) -> None:
    """Whatever a (forged or stale) plan says, its root passes the same refusal."""
    before = home_tree(fake_home)
    st = os.lstat(fake_home)
    wire: Dict[str, Any] = {"manager": manager, "root": str(fake_home),
                            "root_id": [st.st_dev, st.st_ino], "files": [], "dirs": [],
                            "paths": [[".ssh", 1, "x", 1]], "action": "purge",
                            "binary": None, "names": [], "kind": "pkgs",
                            "items": [[".ssh", "pkgs_entry", 1, 1, 1, 1, "x", True, ""]]}
    done = agent.run({"op": "apply", "plans": [wire],
                      "environ": {"HOME": str(fake_home), "PATH": NO_UV_PATH}})
    assert done["status"] == "refused", done
    assert "is a home directory" in done["error"], done["error"]
    assert home_tree(fake_home) == before


def test_an_in_request_apply_is_checked_before_the_first_removal(
        fake_home: Path, pip_cache: Path, rust_target: Path) -> None:
    """pip plans first; then uv is refused: nothing of pip's cache is removed either."""
    before = tree_of(pip_cache)
    done = agent.run({"op": "purge", "managers": ["pip", "uv"], "apply": True,
                      "environ": {"HOME": str(fake_home), "PIP_CACHE_DIR": str(pip_cache),
                                  "UV_CACHE_DIR": str(rust_target), "PATH": NO_UV_PATH}})
    assert done["status"] == "refused" and "UV_CACHE_DIR" in done["error"]
    assert tree_of(pip_cache) == before


# Relocate ---------------------------------------------------------------------------------

def test_relocate_never_moves_a_home_nor_into_one(fake_home: Path, tmp_path: Path) -> None:
    before = home_tree(fake_home)
    refused(cachekit(["relocate", "--managers", "pip", "--move", "--to",
                      str(tmp_path / "new"), "--yes"], fake_home,
                     PIP_CACHE_DIR=str(fake_home)),
            "PIP_CACHE_DIR", "is a home directory")
    refused(cachekit(["relocate", "--managers", "uv", "--to", "~", "--yes"], fake_home),
            "given by --to", "is a home directory")
    refused(cachekit(["relocate", "--managers", "pip", "--to", "/usr", "--yes"], fake_home),
            "system directory")
    assert home_tree(fake_home) == before
    assert not (fake_home / ".config/pip/pip.conf").exists()


def test_relocate_moves_only_the_manager_s_own_cache(fake_home: Path, rust_target: Path,
                                                      tmp_path: Path) -> None:
    before = tree_of(rust_target)
    refused(cachekit(["relocate", "--managers", "uv", "--move", "--to",
                      str(tmp_path / "new"), "--yes"], fake_home,
                     UV_CACHE_DIR=str(rust_target)),
            "UV_CACHE_DIR", "does not look like a uv cache")
    assert tree_of(rust_target) == before and not (tmp_path / "new").exists()


# Real conda caches still clean ---------------------------------------------------------

def test_the_real_conda_fixture_still_cleans(conda: Any, fake_home: Path) -> None:
    run = cachekit(["clean", "--tarballs", "--tempfiles", "--yes", "--format", "json"],
                   fake_home, **conda.environ)
    assert run.returncode == 0, run.stderr
    removed = {Path(r["path"]).name for h in json.loads(run.stdout)["hosts"]
               for r in h["removed"] if r["ok"]}
    assert {"alpha-1.0-h0_0.conda", "beta-2.0-h1_0.tar.bz2", "libfoo.so.c~"} <= removed
    assert not (conda.pkgs / "alpha-1.0-h0_0.conda").exists()
    assert (fake_home / "projects/app/main.c~").exists()


def test_a_fresh_conda_cache_is_conda_s(fake_home: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh-pkgs"
    fresh.mkdir()
    for name in ("urls.txt", "urls"):  # what conda's create_package_cache_directory makes
        (fresh / name).write_text("")
    (fresh / "cache").mkdir()
    assert safety.layout_check("conda")(str(fresh)) == ""
    run = cachekit(["clean", "--force-pkgs-dirs", "--yes"], fake_home,
                   CONDA_PKGS_DIRS=str(fresh))
    assert run.returncode == 0, run.stderr
    assert not fresh.exists()


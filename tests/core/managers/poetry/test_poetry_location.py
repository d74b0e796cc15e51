"""Where Poetry's cache dir is, with the real ``poetry config cache-dir`` as the oracle in
each setup; config files that do not parse; ``locations`` and ``relocate`` (config.toml
edited as text, comments kept)."""

import shutil
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from cachekit.core import agent
from tests.fixtures.poetry_cache import POETRY


def base_env(home: Path, **extra: str) -> Dict[str, str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PWD": str(home)}
    env.update(extra)
    return env


def poetry_says(env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([POETRY, "config", "cache-dir"], env=dict(env, NO_COLOR="1"),
                          cwd=env["PWD"], capture_output=True, text=True, timeout=120)


def cachekit_dir(env: Dict[str, str]) -> Dict:
    result = agent.run({"op": "dir", "managers": ["poetry"], "environ": env})
    assert result["status"] == "ok", result["error"]
    return result["caches"][0]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("setup,source", [
    ("default", "default: ~/.cache/pypoetry"),
    ("xdg", "XDG_CACHE_HOME"),
    ("relative xdg", "default: ~/.cache/pypoetry"),
    ("config dir", "cache-dir in {cfg}"),
    ("xdg config", "cache-dir in {cfg}"),
    ("tilde", "cache-dir in {cfg}"),
    ("relative", "cache-dir in {cfg}"),
    ("variable wins", "POETRY_CACHE_DIR"),
])
def test_dir_agrees_with_poetry_config_cache_dir(home: Path, tmp_path: Path, setup: str,
                                                 source: str) -> None:
    env = base_env(home)
    cfg = home / ".config/pypoetry/config.toml"
    if setup == "xdg":
        env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    elif setup == "relative xdg":
        env["XDG_CACHE_HOME"] = "relative/cache"
    elif setup == "config dir":
        cfg = write(tmp_path / "pcfg/config.toml",
                    '# mine\n[virtualenvs]\nin-project = true\n')
        cfg.write_text(f'cache-dir = "{tmp_path}/from-file"  # here\n' + cfg.read_text())
        env["POETRY_CONFIG_DIR"] = str(cfg.parent)
    elif setup == "xdg config":
        env["XDG_CONFIG_HOME"] = str(tmp_path / "xdgc")
        cfg = write(tmp_path / "xdgc/pypoetry/config.toml",
                    f"cache-dir = '{tmp_path}/literal'\n")
    elif setup == "tilde":
        write(cfg, 'cache-dir = "~/pc"\n')
    elif setup == "relative":
        write(cfg, 'cache-dir = "rel/pc"\n')
    elif setup == "variable wins":
        write(cfg, 'cache-dir = "/elsewhere"\n')
        env["POETRY_CACHE_DIR"] = str(tmp_path / "from-var")
    theirs = poetry_says(env)
    assert theirs.returncode == 0, theirs.stderr
    mine = cachekit_dir(env)
    assert mine["shown"] == theirs.stdout.strip()
    expected = theirs.stdout.strip().replace("~", str(home), 1)
    assert mine["path"] == str((home / expected) if not expected.startswith("/") else expected)
    assert mine["source"] == source.format(cfg=cfg)
    assert mine["error"] is None


@pytest.mark.parametrize("text,problem", [
    ('cache-dir = "unterminated\n', "line 1"),
    ("[virtualenvs\nin-project = true\n", "line 1"),
    ('cache-dir = "/a"\ncache-dir = "/b"\n', "line 2"),
])
def test_a_config_poetry_cannot_parse_is_one_line_naming_the_file(
        home: Path, tmp_path: Path, text: str, problem: str) -> None:
    cfg = write(home / ".config/pypoetry/config.toml", text)
    env = base_env(home, POETRY_CACHE_DIR=str(tmp_path / "c"))
    assert poetry_says(env).returncode != 0  # Poetry refuses it too, variable or not
    record = cachekit_dir(env)
    assert record["path"] is None and record["error"].startswith(f"{cfg}: {problem}")
    assert "\n" not in record["error"]
    refused = agent.run({"op": "purge", "managers": ["poetry"], "environ": env,
                         "apply": True})
    assert str(cfg) in str(refused["error"] or refused["caches"][0]["error"])


def test_a_cache_dir_that_is_not_a_string_is_named(home: Path) -> None:
    cfg = write(home / ".config/pypoetry/config.toml", "cache-dir = 5\n")
    record = cachekit_dir(base_env(home))
    assert record["error"] == f"{cfg}: cache-dir must be a string, found 5"


def test_locations_lists_every_source_and_marks_the_winner(home: Path, tmp_path: Path
                                                           ) -> None:
    cfg = write(home / ".config/pypoetry/config.toml", 'cache-dir = "/from/file"\n')
    env = base_env(home, POETRY_CACHE_DIR=str(tmp_path / "var"))
    rec = agent.run({"op": "locations", "managers": ["poetry"], "environ": env}
                    )["locations"][0]
    assert rec["path"] == str(tmp_path / "var") and rec["source"] == "POETRY_CACHE_DIR"
    assert [(s["setting"], s["value"], s["won"]) for s in rec["sources"]] == [
        ("POETRY_CACHE_DIR", str(tmp_path / "var"), True), ("cache-dir", "/from/file", False),
        ("default", str(home / ".cache/pypoetry"), False)]
    assert any("POETRY_CACHE_DIR" in t for t in rec["traps"])  # set in this session only
    assert str(cfg) in rec["sources"][1]["where"]


def test_relocate_edits_config_toml_keeping_comments_and_poetry_follows(
        home: Path, tmp_path: Path) -> None:
    text = ('# my settings\ncache-dir = "/old"  # the old one\n\n[virtualenvs]\n'
            "in-project = true # per project\n")
    cfg = write(home / ".config/pypoetry/config.toml", text)
    env = base_env(home)
    target = tmp_path / "new-cache"
    done = agent.run({"op": "relocate", "managers": ["poetry"], "environ": env,
                      "to": str(target), "apply": True})
    assert done["status"] == "ok", done["error"]
    assert cfg.read_text() == text.replace('cache-dir = "/old"  # the old one',
                                           f'cache-dir = "{target}"')
    assert poetry_says(env).stdout.strip() == str(target)
    # a file without the key gets it at the top, before any table
    cfg.write_text("[virtualenvs]\nin-project = true\n")
    done = agent.run({"op": "relocate", "managers": ["poetry"], "environ": env,
                      "to": str(tmp_path / "other"), "apply": True})
    assert done["status"] == "ok", done["error"]
    assert poetry_says(env).stdout.strip() == str(tmp_path / "other")
    # a bracket inside a string opens no array: the key below it is still replaced
    cfg.write_text('x = "a[b"\ncache-dir = "/old"\n')
    done = agent.run({"op": "relocate", "managers": ["poetry"], "environ": env,
                      "to": str(tmp_path / "third"), "apply": True})
    assert done["status"] == "ok", done["error"]
    assert cfg.read_text() == f'x = "a[b"\ncache-dir = "{tmp_path / "third"}"\n'
    assert poetry_says(env).stdout.strip() == str(tmp_path / "third")


def test_relocate_is_refused_while_the_variable_wins_or_the_file_is_broken(
        home: Path, tmp_path: Path) -> None:
    env = base_env(home, POETRY_CACHE_DIR=str(tmp_path / "var"))
    refused = agent.run({"op": "relocate", "managers": ["poetry"], "environ": env,
                         "to": str(tmp_path / "x"), "apply": True})
    assert refused["status"] == "refused" and "higher precedence" in refused["error"]
    cfg = write(home / ".config/pypoetry/config.toml", "[broken\n")
    refused = agent.run({"op": "relocate", "managers": ["poetry"], "environ": base_env(home),
                         "to": str(tmp_path / "x"), "apply": True})
    assert refused["status"] == "refused" and str(cfg) in refused["error"]
    assert cfg.read_text() == "[broken\n"


def test_relocate_move_never_moves_environments(poetry_cache: Path, home: Path,
                                                tmp_path: Path) -> None:
    write(home / ".config/pypoetry/config.toml", f'cache-dir = "{poetry_cache}"\n')
    env = base_env(home)
    refused = agent.run({"op": "relocate", "managers": ["poetry"], "environ": env,
                         "to": str(tmp_path / "moved"), "move": True, "apply": True})
    assert refused["status"] == "refused" and "environments" in refused["error"]
    assert (poetry_cache / "virtualenvs").is_dir() and not (tmp_path / "moved").exists()
    shutil.rmtree(poetry_cache / "virtualenvs")
    done = agent.run({"op": "relocate", "managers": ["poetry"], "environ": env,
                      "to": str(tmp_path / "moved"), "move": True, "apply": True})
    assert done["status"] == "ok", done["error"]
    assert (tmp_path / "moved/artifacts").is_dir() and not poetry_cache.exists()
    assert poetry_says(env).stdout.strip() == str(tmp_path / "moved")


@pytest.mark.parametrize("text", [
    "",
    "# only a comment",
    'cache-dir = "/old"',
    "'cache-dir' = '/old' # quoted key\n[installer]\nparallel = true\n",
    'sources = [\n  "a",  # cache-dir = "/not/a/key"\n]\ncache-dir = "/old"\n',
    'motd = """\ncache-dir = "/inside/a/string"\n"""\n[virtualenvs]\ncache-dir = "/x"\n',
    '[virtualenvs]\nin-project = true\n',
])
def test_the_edit_sets_the_top_level_key_and_keeps_everything_else(text: str) -> None:
    import tomllib

    from cachekit.core.managers.poetry.settings import edit_config

    edited = edit_config(text, "/new/cache")
    before, after = tomllib.loads(text), tomllib.loads(edited)
    assert after["cache-dir"] == "/new/cache"
    assert {k: v for k, v in after.items() if k != "cache-dir"} == {
        k: v for k, v in before.items() if k != "cache-dir"}
    kept = [line for line in text.splitlines() if "/old" not in line]
    assert all(line in edited.splitlines() for line in kept)


@pytest.mark.parametrize("value", ["~{user}/pc", "~{user}", "~/pc"])
def test_tilde_user_is_expanded_as_poetry_expands_it(home: Path, value: str) -> None:
    """``~user`` is that user's passwd home (Poetry's ``Path.expanduser()``), not a
    directory named ``~user`` in the working directory; Poetry's own Config is the
    oracle (``poetry config cache-dir`` prints the value as written)."""
    import getpass

    write(home / ".config/pypoetry/config.toml",
          f'cache-dir = "{value.format(user=getpass.getuser())}"\n')
    env = base_env(home)
    script = ("from poetry.config.config import Config; "
              "print(Config.create().artifacts_cache_directory.parent)")
    done = subprocess.run([str(Path(POETRY).parent / "python"), "-c", script], env=env,
                          cwd=home, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert cachekit_dir(env)["path"] == done.stdout.strip()

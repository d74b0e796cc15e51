"""The prune-caches composite action and the runner hook, run as a runner runs them.

Each step of action.yml runs under bash with the runner's variables (GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY, GITHUB_ACTION_PATH, RUNNER_TOOL_CACHE) pointing at temporary files,
and with a python3 that has nothing installed: the action must not need cachekit's
dependencies. The action and the workflow are validated against GitHub's schemas and
audited with zizmor.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from tests.fixtures import REPO

ACTION = REPO / ".github/actions/prune-caches"
BIN = Path(sys.executable).parent


def bare_python() -> str:
    """A python3 without cachekit's dependencies, as on a fresh runner."""
    for candidate in ("/usr/bin/python3", shutil.which("python3") or ""):
        if candidate and subprocess.run([candidate, "-c", "import invoke"],
                                        capture_output=True).returncode != 0:
            return candidate
    pytest.fail("no python3 without invoke on this machine to stand in for a runner's")


def run_action(inputs: Dict[str, str], env: Dict[str, str], tmp_path: Path
               ) -> Dict[str, object]:
    """Run every step of action.yml the way the runner does; return outputs and summary."""
    spec = yaml.safe_load((ACTION / "action.yml").read_text())
    defaults = {k: str(v.get("default", "")) for k, v in spec["inputs"].items()}
    values = dict(defaults, **inputs)
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    python_dir = tmp_path / "runner-bin"
    python_dir.mkdir(exist_ok=True)
    link = python_dir / "python3"
    if not link.exists():
        link.symlink_to(bare_python())
    base = {"PATH": f"{python_dir}:/usr/bin:/bin", "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTION_PATH": str(ACTION),
            "RUNNER_TEMP": str(tmp_path), **env}
    log = []
    for step in spec["runs"]["steps"]:
        step_env = {k: re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}",
                              lambda m: values[m.group(1)], str(v))
                    for k, v in (step.get("env") or {}).items()}
        assert step["shell"] == "bash"
        done = subprocess.run(["bash", "-e", "-c", step["run"]], env={**base, **step_env},
                              capture_output=True, text=True, timeout=120)
        log.append(done)
        if done.returncode != 0:
            return {"code": done.returncode, "stderr": done.stderr, "outputs": {}}
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines()) \
        if output.exists() else {}
    return {"code": 0, "outputs": outputs, "stdout": log[-1].stdout,
            "summary": summary.read_text() if summary.exists() else ""}


def test_the_action_prunes_and_reports_before_and_after(pip_cache: Path, home: Path,
                                                        tmp_path: Path) -> None:
    from tests.fixtures.tool_cache import make_tool_cache

    tools = tmp_path / "_work/_tool"
    make_tool_cache(tools)
    env = {"HOME": str(home), "PIP_CACHE_DIR": str(pip_cache), "RUNNER_TOOL_CACHE": str(tools)}
    dry = run_action({"max-size": "4kB", "dry-run": "true"}, env, tmp_path)
    assert dry["code"] == 0, dry.get("stderr")
    out = dry["outputs"]
    assert int(out["before-bytes"]) == int(out["after-bytes"]) > 0  # nothing removed
    assert int(out["reclaimed-bytes"]) > 0
    assert (tools / "Python/3.11.5/x64").exists()
    (tmp_path / "github_output").unlink()
    done = run_action({"max-size": "4kB", "keep": "alpha\ngamma"}, env, tmp_path)
    assert done["code"] == 0, done.get("stderr")
    out = done["outputs"]
    before, after = int(out["before-bytes"]), int(out["after-bytes"])
    assert after < before and int(out["reclaimed-bytes"]) >= before - after - 4000
    assert not (tools / "Python/3.11.5").exists() and (tools / "Python/3.11.7").exists()
    assert list(pip_cache.rglob("alpha-1.0-*.whl"))  # kept
    summary = done["summary"]
    assert "### Caches pruned by cachekit" in summary and "| pip |" in summary
    assert "| toolcache |" in summary and "| **total** |" in summary


def test_the_action_writes_an_html_report_to_keep_as_an_artifact(pip_cache: Path, home: Path,
                                                                  tmp_path: Path) -> None:
    """With ``html``, the runner's caches after the prune as one page; Jinja2, which the
    runner's python3 lacks, goes into RUNNER_TEMP for that step only (not the pip cache)."""
    import json

    from tests.controller.test_html import embedded, self_contained

    page = tmp_path / "artifacts" / "caches.html"
    cached = sorted(p.name for p in pip_cache.rglob("*"))
    done = run_action({"max-size": "1GB", "html": str(page)},
                      {"HOME": str(home), "PIP_CACHE_DIR": str(pip_cache),
                       "RUNNER_NAME": "runner <7>"}, tmp_path)
    assert done["code"] == 0, done.get("stderr")
    text = page.read_text()
    self_contained(text)
    doc = embedded(text)
    [host] = doc["hosts"]
    assert host["host"] == "runner <7>" and "runner &lt;7&gt;" in text
    assert [c["path"] for c in host["caches"] if c["manager"] == "pip"] == [str(pip_cache)]
    assert host["caches"][0]["bytes"] > 0 and json.loads(json.dumps(doc)) == doc
    assert f"HTML report of the caches: `{page}`" in done["summary"]
    assert done["stdout"].startswith("cachekit: HTML report written to")
    assert sorted(p.name for p in pip_cache.rglob("*")) == cached  # no jinja2 wheel in it
    assert (tmp_path / "cachekit-html" / "jinja2").is_dir()


def test_the_action_s_html_report_with_names_that_are_not_utf8(pip_cache: Path, home: Path,
                                                              tmp_path: Path) -> None:
    """A runner name and a cache path holding bytes that are not UTF-8 (and a
    right-to-left override): the page is written, shows them escaped as the terminal
    does, and its data keeps them (the JSON escapes them, as ``--format json`` does)."""
    from tests.controller.test_html import embedded

    cache = tmp_path / "pip-\udcfe"
    shutil.copytree(pip_cache, cache)
    page = tmp_path / "artifacts" / "caches.html"
    done = run_action({"max-size": "1GB", "html": str(page)},
                      {"HOME": str(home), "PIP_CACHE_DIR": str(cache),
                       "RUNNER_NAME": "runner-\udcff\u202e7"}, tmp_path)
    assert done["code"] == 0, done.get("stderr")
    assert sorted(p.name for p in page.parent.iterdir()) == ["caches.html"]
    text = page.read_text()
    [host] = embedded(text)["hosts"]
    assert host["host"] == "runner-\udcff\u202e7"
    assert [c["path"] for c in host["caches"] if c["manager"] == "pip"] == [str(cache)]
    assert 'data-host="runner-\\xff\\u202e7"' in text


def test_the_action_on_a_runner_with_nothing_cached(home: Path, tmp_path: Path) -> None:
    done = run_action({"ci": "true"}, {"HOME": str(home)}, tmp_path)
    assert done["code"] == 0, done.get("stderr")
    assert done["outputs"] == {"reclaimed-bytes": "0", "before-bytes": "0", "after-bytes": "0"}


def test_bad_inputs_fail_the_step_with_one_annotation(home: Path, tmp_path: Path) -> None:
    for inputs, message in [({"max-size": "-1"}, "--max-size '-1' is not a size"),
                            ({}, "no policy"), ({"ci": "maybe"}, "must be true or false")]:
        done = run_action(inputs, {"HOME": str(home)}, tmp_path)
        assert done["code"] == 1
        lines = done["stderr"].strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("::error title=prune-caches::")
        assert message in lines[0]


def test_the_runner_hook_prunes_by_its_policy_file(pip_cache: Path, home: Path,
                                                   tmp_path: Path) -> None:
    policy = tmp_path / "policy.env"
    policy.write_text("CACHEKIT_MANAGERS=pip\nCACHEKIT_CI=true\n")
    env = {"HOME": str(home), "PIP_CACHE_DIR": str(pip_cache), "CACHEKIT_POLICY_FILE": str(policy),
           "PATH": f"{Path(bare_python()).parent}:/usr/bin:/bin"}
    done = subprocess.run([str(ACTION / "runner-hook.sh")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("cachekit: freed ")
    assert not [p for p in (pip_cache / "http-v2").rglob("*") if p.is_file()]
    broken = subprocess.run([str(ACTION / "runner-hook.sh")], env={**env, "CACHEKIT_POLICY_FILE":
                            str(tmp_path / "missing.env")}, capture_output=True, text=True)
    assert broken.returncode == 0 and "no policy file" in broken.stderr


def workflow_files() -> List[Path]:
    return sorted((REPO / ".github/workflows").glob("*.yml"))


def test_action_and_workflows_validate_against_github_schemas() -> None:
    checker = str(BIN / "check-jsonschema")
    action = subprocess.run([checker, "--builtin-schema", "vendor.github-actions",
                             str(ACTION / "action.yml")], capture_output=True, text=True)
    assert action.returncode == 0, action.stdout + action.stderr
    flows = subprocess.run([checker, "--builtin-schema", "vendor.github-workflows",
                            *map(str, workflow_files())], capture_output=True, text=True)
    assert flows.returncode == 0, flows.stdout + flows.stderr


def test_zizmor_finds_nothing() -> None:
    done = subprocess.run([str(BIN / "zizmor"), "--offline", str(REPO / ".github")],
                          capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_runner_hook_survives_a_relative_or_broken_policy_file(home: Path,
                                                                  tmp_path: Path) -> None:
    (tmp_path / "rel.env").write_text("CACHEKIT_CI=true\n")
    (tmp_path / "bad.env").write_text("CACHEKIT_KEEP=pip, setuptools\n")
    env = {"HOME": str(home), "PATH": f"{Path(bare_python()).parent}:/usr/bin:/bin"}
    rel = subprocess.run([str(ACTION / "runner-hook.sh")], cwd=tmp_path, capture_output=True,
                         text=True, env={**env, "CACHEKIT_POLICY_FILE": "rel.env"})
    assert rel.returncode == 0 and rel.stdout.startswith("cachekit: freed"), rel.stderr
    bad = subprocess.run([str(ACTION / "runner-hook.sh")], cwd=tmp_path, capture_output=True,
                         text=True, env={**env, "CACHEKIT_POLICY_FILE": "bad.env"})
    assert bad.returncode == 0 and "the job is not affected" in bad.stderr

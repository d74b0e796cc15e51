"""Every task's ``--help``, read as a user reads it: complete, true to the code, in the
reference (docs/reference/cli.md), and agreeing with the commands of the README and the
docs."""

import os
import re
import subprocess
import sys
from typing import Dict, List

import pytest

from cachekit import helptext
from cachekit.tasks import ns
from tests.fixtures import REPO

TASKS = sorted(ns.task_names)


def help_of(*args: str) -> str:
    env = dict(os.environ, COLUMNS="80")
    out = subprocess.run([sys.executable, "-m", "cachekit", *args, "--help"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    return out.stdout


def entries(text: str, section: str) -> Dict[str, str]:
    """A help section's rows, spec -> help with its wrapped lines joined."""
    if f"\n{section}:\n" not in text:
        return {}
    body = text.split(f"\n{section}:\n", 1)[1].strip("\n").split("\n\n")[0]
    rows: Dict[str, str] = {}
    spec = None
    for line in body.splitlines():
        if re.match(r"^  \S", line):
            spec, _, first = line.strip().partition("   ")
            rows[spec] = first.strip()
        elif spec is not None and line.strip():
            rows[spec] = f"{rows[spec]} {line.strip()}".strip()
    return rows


@pytest.fixture(scope="module")
def helps() -> Dict[str, str]:
    return {task: help_of(task) for task in TASKS}


def test_reference_is_current() -> None:
    out = subprocess.run([sys.executable, str(REPO / "scripts/cli_reference.py"), "--check"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


def test_reference_has_every_task(helps: Dict[str, str]) -> None:
    reference = (REPO / "docs/reference/cli.md").read_text()
    for task, text in helps.items():
        assert f"## cachekit {task}\n\n```text\n{text.rstrip()}\n```" in reference, task


@pytest.mark.parametrize("task", TASKS)
def test_every_option_has_help_placeholder_and_default(helps: Dict[str, str], task: str) -> None:
    text = helps[task]
    assert text.startswith(f"Usage: cachekit {task} [OPTIONS]")
    assert "other tasks here" not in text and "Docstring:" not in text
    summary = text.split("\n\n")[1].strip()
    assert summary and summary.endswith("."), f"{task} has no one-line summary"
    rows = {**entries(text, "Options"), **entries(text, "Arguments")}
    context = next(c for c in ns.to_contexts() if c.name == task)
    for arg in context.args.values():
        spec = helptext.spec(arg)
        assert spec in rows, f"{task}: {spec} is not in its help"
        said = rows[spec]
        assert said, f"{task}: {spec} has no help"
        if not arg.takes_value:
            continue
        assert "STRING" not in spec and "VALUE" not in spec, f"{task}: {spec} needs a placeholder"
        default = helptext.default_text(arg)
        if default is not None:
            assert f"default: {default}" in said, f"{task}: {spec} does not show its default"
        elif not arg.optional and not (arg.positional and arg.default is None
                                       and getattr(arg, "fallback", None) is None):
            assert "default" in said or "required" in said, \
                f"{task}: {spec} does not say what happens without it"


def test_pattern_is_positional(helps: Dict[str, str]) -> None:
    assert helps["list"].startswith("Usage: cachekit list [OPTIONS] [PATTERN]\n")
    assert helps["remove"].startswith("Usage: cachekit remove [OPTIONS] PATTERN\n")
    assert "--pattern" not in helps["list"] + helps["remove"]
    assert "(default: *)" in entries(helps["list"], "Arguments")["[PATTERN]"]
    assert "default" not in entries(helps["remove"], "Arguments")["PATTERN"]


def test_task_specific_wording(helps: Dict[str, str]) -> None:
    relocate = entries(helps["relocate"], "Options")["--dry-run"]
    assert "would be removed" not in relocate and "relocate would change" in relocate
    assert "uv" in entries(helps["prune"], "Options")["--ci"]
    assert entries(helps["hosts"], "Options")["--hosts=PATTERN"].endswith("(default: all)")
    assert "--timeout=SECONDS" in entries(helps["info"], "Options")


def readme_commands() -> List[str]:
    """The commands of the README and of every docs page but the generated reference."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    text = "\n".join(p.read_text() for p in pages if p != REPO / "docs/reference/cli.md")
    # a command ends at a `;` too (the nightly line runs prune; then trend --html)
    return [m.group(0) for m in re.finditer(r"(?:cachekit|invoke) ([a-z]+)((?: +[^ `\n|;]+)*)",
                                            text) if m.group(1) in TASKS]


def test_readme_commands_use_options_that_exist() -> None:
    flags = {c.name: set(c.flags) | set(c.inverse_flags) | {"--help", "-h"}
             for c in ns.to_contexts()}
    commands = readme_commands()
    assert len(commands) > 30
    wrong = [(cmd, opt) for cmd in commands
             for opt in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", cmd.split(" ", 2)[-1])
             if opt not in flags[cmd.split()[1]]]
    assert not wrong, wrong

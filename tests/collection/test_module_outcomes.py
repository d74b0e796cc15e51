"""The modules' results against the real ansible-core on this machine (connection local):
a task fails exactly when cachekit's own run would exit 2, and says why in one line."""

import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from tests.fixtures.ansible_lab import build_collection, local_module


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_collection(tmp_path_factory.mktemp("ckout-built"))


@pytest.fixture
def pinned(pip_cache: Path) -> Iterator[Path]:
    """One file of the pip cache that cannot be removed (immutable), freed at the end."""
    victim = sorted((pip_cache / "wheels").rglob("*.whl"))[0]
    subprocess.run(["chattr", "+i", str(victim)], check=True)
    try:
        yield victim
    finally:
        subprocess.run(["chattr", "-i", str(victim)], check=True)


def test_a_cache_the_core_cannot_serve_fails_the_task(tmp_path: Path, collections: Path,
                                                      home: Path) -> None:
    """`cachekit prune` exits 2 for a cache pip itself would refuse: so does the task."""
    args = {"older_than": "1d", "managers": ["pip"],
            "environ": {"HOME": str(home), "PIP_NO_CACHE_DIR": "maybe"}}
    for module in ("cachekit.caches.prune", "cachekit.caches.info"):
        done, result = local_module(tmp_path, collections, home, module,
                                    args if module.endswith("prune") else
                                    {k: v for k, v in args.items() if k != "older_than"})
        assert done.returncode == 2, done.stdout + done.stderr
        assert result["changed"] is False
        assert result["msg"].startswith(f"cachekit {'prune' if 'prune' in module else 'report'}: "
                                        "pip: pip rejects no-cache-dir"), result["msg"]
        assert "\n" not in result["msg"]


@pytest.mark.root
def test_a_removal_that_fails_fails_the_task_and_keeps_what_went(
        tmp_path: Path, collections: Path, home: Path, pip_cache: Path, pinned: Path) -> None:
    """`cachekit remove` exits 2 when a file would not go: so does the task, and its result
    still lists what went (changed)."""
    package = pinned.name.split("-")[0]
    done, result = local_module(tmp_path, collections, home, "cachekit.caches.remove",
                                {"managers": ["pip"], "pattern": package,
                                 "environ": {"HOME": str(home), "PIP_CACHE_DIR": str(pip_cache)}})
    assert done.returncode == 2, done.stdout + done.stderr
    assert result["changed"] is True
    assert result["msg"].startswith(f"cachekit remove: {pinned}: "), result["msg"]
    rows: List[Dict[str, Any]] = result["cachekit"]["removed"]
    assert result["removed"] == [r["path"] for r in rows if r.get("ok")] != []
    assert pinned.exists() and str(pinned) not in result["removed"]
    assert not any(Path(p).exists() for p in result["removed"])

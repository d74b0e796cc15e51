"""Symlinks around a PDM cache: a bucket that is a symlink is never entered (nothing
outside the cache is listed, planned or removed), and a cache directory that is itself a
symlink (``~/.cache/pdm -> /data/pdm``) is worked on where it is, with the real PDM's
figures."""

import shutil
from pathlib import Path
from typing import Any, Dict, Set

import pytest

from tests.core.managers.pdm.test_pdm_parity import tree
from tests.fixtures.program import run_core


def core(op: str, cache: Path, **request: Any) -> Dict[str, Any]:
    return run_core(op, ["pdm"], {"PDM_CACHE_DIR": str(cache)}, **request)


def shown(result: Dict[str, Any]) -> Set[str]:
    """Every path a result names: rows to remove, rows kept, entries listed."""
    return {r["path"] for key in ("removed", "kept", "entries") for r in result.get(key, [])}


@pytest.mark.parametrize("bucket", ["packages", "wheels", "hashes"])
def test_a_bucket_that_is_a_symlink_is_never_entered(pdm_cache: Path, tmp_path: Path,
                                                     bucket: str) -> None:
    outside = tmp_path / "outside"
    shutil.move(str(pdm_cache / bucket), str(outside))
    (pdm_cache / bucket).symlink_to(outside)
    before = tree(outside)
    assert before  # the real PDM's files, now outside the cache
    results = [core("purge", pdm_cache), core("remove", pdm_cache, pattern="*"),
               core("list", pdm_cache),
               core("prune", pdm_cache, policy={"keep": [], "ci": True})]
    for result in results:
        named = shown(result)
        assert not {p for p in named if p.startswith(str(pdm_cache / bucket) + "/")}, named
        assert str(pdm_cache / bucket) not in named
        assert not {p for p in named if p.startswith(str(outside))}
    rec = core("info", pdm_cache)["caches"][0]
    assert any(f"{pdm_cache / bucket} is not a directory itself" in w for w in rec["warnings"])
    assert rec[f"{bucket}_bytes" if bucket != "packages" else "packages_bytes"] == 0
    if bucket == "packages":
        assert rec["packages"] == 0
    done = core("purge", pdm_cache, apply=True)
    assert all(r["ok"] for r in done["removed"])
    assert tree(outside) == before and (pdm_cache / bucket).is_symlink()

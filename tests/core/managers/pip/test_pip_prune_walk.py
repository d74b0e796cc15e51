"""The ranking walk's fast path for HTTP entries gives the numbers the general path gives."""

import os
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from cachekit.core.managers.pip import prune

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "bench"))
import make_synthetic_pip_cache as synth  # noqa: E402


def _ranked(root: Path, clock: str) -> Tuple[List[tuple], int, int]:
    found = prune.walk(str(root), clock=clock, parallel=False)
    rows = sorted(zip(found.last, found.size, found.freed, found.tie, found.flags))
    return rows, found.bytes, found.files


def _general(bucket: str, files: list, out: prune.Walk) -> None:
    prune._entries_of(bucket, files, out)


@pytest.mark.parametrize("clock", ["atime", "mtime"])
def test_fast_ranking_equals_the_general_entry_path(tmp_path: Path, pip_cache: Path,
                                                    clock: str, monkeypatch) -> None:
    synthetic = tmp_path / "synthetic"
    synth.generate(str(synthetic), 0.01, 0)
    bodies = sorted(synthetic.glob("http-v2/**/*.body"))
    # read after written (atime > mtime), hard-linked out of the cache, a stray symlink
    os.utime(bodies[0], ns=(2_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    os.link(bodies[1], tmp_path / "outside-link")
    os.link(bodies[2], bodies[2].parent / "twin")
    (bodies[3].parent / "stray").symlink_to(bodies[3].name)
    for root in (pip_cache, synthetic):
        fast = _ranked(root, clock)
        assert fast[0], root
        with monkeypatch.context() as patch:
            patch.setattr(prune, "_rank_downloads", _general)
            assert _ranked(root, clock) == fast

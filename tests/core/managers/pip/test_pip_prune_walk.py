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
    for body in bodies[4:7]:  # used before 1970: negative times rank first, not as 0
        meta = body.with_name(body.name[:-5])
        for path, ns in ((body, -10**17 - len(str(body))), (meta, -2 * 10**17)):
            os.utime(path, ns=(ns, ns))
    for root in (pip_cache, synthetic):
        fast = _ranked(root, clock)
        assert fast[0], root
        with monkeypatch.context() as patch:
            patch.setattr(prune, "_rank_downloads", _general)
            assert _ranked(root, clock) == fast


def test_a_plan_lists_directories_by_type_only_when_nothing_is_mounted_below(
        pip_cache: Path, monkeypatch) -> None:
    """Without mounts below the root the ranking walk skips each directory's stat; its
    numbers are those of the walk that stats them."""
    from cachekit.core.fs import mounts

    assert mounts.mounted_below(str(pip_cache)) is False
    fast = _ranked(pip_cache, "atime")
    monkeypatch.setattr(mounts, "mounted_below", lambda path: None)
    assert _ranked(pip_cache, "atime") == fast


def test_mounted_below_reads_the_mount_table(tmp_path: Path) -> None:
    from cachekit.core.fs import mounts

    table = tmp_path / "mounts"
    table.write_text("/dev/vda / ext4 rw 0 0\n"
                     "tmpfs /srv/cache/pip/http-v2/a tmpfs rw 0 0\n"
                     "tmpfs /srv/cachex tmpfs rw 0 0\n")
    assert mounts.mounted_below("/srv/cache/pip", str(table)) is True
    assert mounts.mounted_below("/srv/cache/pip/http-v2/a", str(table)) is False
    assert mounts.mounted_below("/srv/cache", str(table)) is True
    assert mounts.mounted_below("/srv/cach", str(table)) is False
    assert mounts.mounted_below("/", str(table)) is True
    table.write_text("tmpfs /srv/odd\\040name tmpfs rw 0 0\n")
    assert mounts.mounted_below("/elsewhere", str(table)) is None  # escaped: cannot tell
    assert mounts.mounted_below("/srv", str(tmp_path / "missing")) is None

"""The core's progress figures and its Ctrl-C handling, on real files and real signals."""

import os
import signal
from pathlib import Path
from typing import Any, Dict, List

import pytest

from cachekit.core import stopping
from cachekit.core.fs import remove
from cachekit.core.fs import walk as fswalk
from cachekit.core.meter import METER
from cachekit.progress import Stream


def make_tree(root: Path, dirs: int = 40, files: int = 25) -> int:
    total = 0
    for d in range(dirs):
        here = root / f"{d % 4}" / f"{d:02d}" / "x"
        here.mkdir(parents=True)
        for i in range(files):
            (here / f"f{i}").write_bytes(b"x" * (d + i))
            total += d + i
    return total


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("walk", ["scan", "scan_totals"])
def test_the_meter_counts_every_file_once_forked_walkers_included(
        tmp_path: Path, parallel: bool, walk: str) -> None:
    nbytes = make_tree(tmp_path)
    heard: List[Dict[str, Any]] = []
    METER.start(heard.append)
    try:
        if walk == "scan":
            fswalk.scan(str(tmp_path), parallel=parallel)
        else:
            fswalk.scan_totals(str(tmp_path), lambda top, name, kind: "all", parallel=parallel)
        assert METER.totals() == (40 * 25, nbytes)
    finally:
        METER.stop()
    assert all(set(h) == {"scanned"} for h in heard)


def test_without_a_listener_nothing_is_counted(tmp_path: Path) -> None:
    make_tree(tmp_path)
    METER.start(None)
    try:
        fswalk.scan(str(tmp_path), parallel=True)
        assert not METER.on and METER.totals() == (0, 0)
    finally:
        METER.stop()


def test_ctrl_c_while_applying_refuses_the_next_removal(tmp_path: Path) -> None:
    tmp_path = tmp_path / "cache"
    tmp_path.mkdir()
    for name in "abc":
        (tmp_path / name).write_text(name)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "e").write_text("e")
    deferral = stopping.Deferral(applying=True)
    try:
        with remove.SafeRemover(str(tmp_path)) as remover:
            assert remover.unlink("a").ok
            os.kill(os.getpid(), signal.SIGINT)  # noted, not raised
            assert remover.unlink("b").reason == stopping.INTERRUPTED
            assert remover.remove_tree("d")[1] == [("d", stopping.INTERRUPTED)]
    finally:
        assert deferral.end()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "c", "d"]
    assert (tmp_path / "d" / "e").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_outside_a_removal_raises_at_once() -> None:
    deferral = stopping.Deferral(applying=False)
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            pass
    assert not deferral.end()


def test_the_stream_passes_whole_progress_lines_and_keeps_the_pid() -> None:
    heard: List[Dict[str, Any]] = []
    stream = Stream(heard.append)
    stream.feed(b'@ready\n@{"pid": 42}\n@{"scanned": {"files": 3, ')
    assert heard == [] and stream.pid == 42
    stream.feed(b'"bytes": 9}}\n@{"path": "/c/x", "ok": true}\n{"schema": 1}')
    assert heard == [{"scanned": {"files": 3, "bytes": 9}}, {"path": "/c/x", "ok": True}]


def test_a_broken_off_removal_keeps_its_rows_past_progress_lines() -> None:
    """The walk's figures and the pid share the ``@`` lines with removed files; a result
    that never came still yields every file confirmed removed."""
    from cachekit import protocol

    out = (b'@{"pid": 7}\n@{"scanned": {"files": 2, "bytes": 5}}\n'
           b'@{"path": "/c/a", "manager": "pip", "bytes": 3, "reason": "r", "ok": true}\n'
           b'@{"scanned": {"files": 2, "bytes": 5}}\n{"schema": 1, "trunc')
    with pytest.raises(protocol.HostFailure) as failure:
        protocol.parse_output(out, [], 0, "apply")
    assert [r["path"] for r in failure.value.removed] == ["/c/a"]
    assert "malformed" not in failure.value.reason

"""GNU find as the walker: the same figures as the pure-Python walker on the same real
trees (links, symlinks, FIFOs, hostile names, unreadable directories), the rule that
chooses between them, and a ``find`` that is not GNU's never used."""

import os
import pickle
import pwd
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest

from cachekit.core.fs import gnu_find, walk, walker_choice
from tests.fixtures.disk import files_vanishing

pytestmark = pytest.mark.skipif(shutil.which("find") is None, reason="needs GNU find")

# Names a shell, find's expression parser or a line-based reader would get wrong
HOSTILE = [b"new\nline", b"sp ace", b"trailing ", b"back\\slash", b"quo\"te's", b"-leading",
           b"-printf", b"-delete", b"(", b"!", b"-o", b"\xff\xfebytes", b"caf\xc3\xa9",
           b"tab\there", b"%P%s\\0", b"-"]


@pytest.fixture(autouse=True)
def fresh_find_lookup() -> Iterator[None]:
    """Each test looks ``find`` up on its own PATH (the answer is cached per process)."""
    gnu_find._program.clear()
    yield
    gnu_find._program.clear()


def _write(path: bytes, data: bytes = b"x") -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def make_hostile_tree(root: Path) -> None:
    """Buckets of depth-2 subtrees (the walkers' jobs) holding every kind of entry."""
    r = os.fsencode(str(root))
    for sub in (b"b0/aa", b"b0/ab/deep/er", b"b1/ba", b"b1/bb/empty", b"-x/(", b"!/-o"):
        os.makedirs(r + b"/" + sub)
    for i, name in enumerate(HOSTILE):  # hostile names as files, and as a directory
        _write(r + b"/b0/aa/" + name, b"y" * (i * 100 + 1))
        os.makedirs(r + b"/b1/ba/" + name + b"/" + name)
        _write(r + b"/b1/ba/" + name + b"/" + name + b"/" + name, b"z" * i)
    _write(r + b"/b0/ab/deep/er/big", b"b" * 70000)
    _write(r + b"/b0/ab/sparse")
    os.truncate(r + b"/b0/ab/sparse", 10_000_000)  # apparent bytes far above its blocks
    # hard links: within one subtree, and across subtrees (and buckets)
    os.link(r + b"/b0/ab/deep/er/big", r + b"/b0/ab/hard-same-job")
    os.link(r + b"/b0/ab/deep/er/big", r + b"/b1/bb/hard-other-job")
    # symlinks: to a file, to a directory, dangling, a loop, through a file
    os.symlink(b"../ab/deep/er/big", r + b"/b0/aa/to-file")
    os.symlink(b"../../b1", r + b"/b0/aa/to-dir")
    os.symlink(b"/nonexistent/at/all", r + b"/b0/aa/dangling")
    os.symlink(b"loop", r + b"/b1/bb/loop")
    os.symlink(b"../aa/-leading/x", r + b"/b0/ab/through-a-file")
    os.link(r + b"/b0/aa/to-file", r + b"/b1/bb/hard-link-to-symlink", follow_symlinks=False)
    os.mkfifo(r + b"/b1/bb/fifo")
    _write(r + b"/-x/(/" + b"-name")
    # times before the epoch, and to the nanosecond
    os.utime(r + b"/b0/aa/sp ace", ns=(-1_500_000_001, -315_619_199_750_000_123))
    os.utime(r + b"/b0/aa/-o", ns=(1, 999_999_999))
    _write(r + b"/top-file")  # depth 1 and 2: listed before the jobs, by Python
    _write(r + b"/b0/in-bucket")
    # a walk follows each symlink once to tell a link to a directory apart, setting the
    # link's atime (relatime: once); walked once here, both walkers then see the same
    walk.scan(str(root), parallel=False)


def _jobs(root: str) -> List[Tuple[str, str]]:
    tree = walk.Tree([], [], [])
    return [(root, t) for t in walk._two_levels(
        lambda rel: walk._list_into(tree, root + "/" + rel if rel else root, rel))]


def _same_tree(a: walk.Tree, b: walk.Tree) -> None:
    assert sorted(a.files) == sorted(b.files)
    assert sorted(a.dirs) == sorted(b.dirs)
    assert sorted(a.errors) == sorted(b.errors)


def _totals_figures(t: walk.Totals) -> Tuple[Any, ...]:
    return (t.counts, t.shared, t.blocks, t.linked, t.count_blocks, sorted(t.errors), t.part,
            t.disk_bytes)


def _by_kind(top: str, name: str, kind: str) -> Any:
    return None if name.startswith("-") else f"{top}|{kind}|{name[:1]}"


def test_find_program_is_gnu_findutils() -> None:
    program = gnu_find.find_program()
    assert program is not None and os.path.basename(program) == "find"


def test_every_subtree_walked_by_find_as_by_python(tmp_path: Path) -> None:
    """Job by job, find's records fold into exactly the Python walker's Tree and Totals,
    and find itself walked every job (none was handed back to Python)."""
    make_hostile_tree(tmp_path)
    root = str(tmp_path)
    jobs = _jobs(root)
    assert len(jobs) == 6
    trees, left = gnu_find.walk_subtrees(jobs, 2)
    assert left == [] and len(trees) == len(jobs)
    expected = [walk._walk_subtree(job) for job in jobs]
    key = lambda t: sorted(t.dirs + t.files)  # noqa: E731
    for got, want in zip(sorted(trees, key=key), sorted(expected, key=key)):
        _same_tree(got, want)
    files = [f for t in trees for f in t.files]
    assert {f[8] for f in files} == {"f", "l", "L", "o"}
    assert any("\n" in f[0] for f in files) and any("\udcff" in f[0] for f in files)
    for key_depth in (1, 2, 3):
        for stat_dirs in (True, False):
            total_jobs = [(f"p{i}", (root, rel, _by_kind, stat_dirs, key_depth))
                          for i, (_r, rel) in enumerate(jobs)]
            totals, left = gnu_find.total_parts(total_jobs, 2)
            assert left == []
            got = sorted(map(_totals_figures, totals), key=lambda t: t[6])
            want = [_totals_figures(walk._total_part(job)) for job in total_jobs]
            assert got == want


def _one(many: Any, fallback: Any, job: Any) -> Any:
    """One job by one find, or by the Python walker where find handed it back."""
    done, left = many([job], 1)
    return done[0] if done else fallback(left[0])


def test_one_subtree_at_a_time(tmp_path: Path) -> None:
    make_hostile_tree(tmp_path)
    for job in _jobs(str(tmp_path)):
        _same_tree(_one(gnu_find.walk_subtrees, walk._walk_subtree, job),
                   walk._walk_subtree(job))
        args = job + (_by_kind, True, 2)
        assert _totals_figures(_one(gnu_find.total_parts, walk._total_part, ("", args))
                               ) == _totals_figures(walk._total_subtree(args))


@pytest.mark.parametrize("parallel", [False, True, None])
def test_scan_and_totals_forced_to_find_match_python(tmp_path: Path, parallel: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """CACHEKIT_WALKER picks the backend of the whole scan; the figures are the same."""
    make_hostile_tree(tmp_path)
    root = str(tmp_path)
    figures = {}
    for backend in ("python", "find"):
        monkeypatch.setenv("CACHEKIT_WALKER", backend)
        tree = walk.scan(root, parallel=parallel)
        parts = walk.scan_totals_parts(root, [("", _by_kind), ("b0", lambda t, n, k: t)],
                                       parallel=parallel, key_depth=2)
        figures[backend] = (sorted(tree.files), sorted(tree.dirs), sorted(tree.errors),
                            walk.disk_bytes(tree),
                            {rel: _totals_figures(t) for rel, t in parts.items()})
    assert figures["find"] == figures["python"]
    assert figures["find"][3] == figures["find"][4][""][7]  # du's figure, both ways


def test_a_relative_root_that_looks_like_an_option(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    make_hostile_tree(tmp_path / "-print")
    monkeypatch.chdir(tmp_path)
    jobs = _jobs("-print")
    trees, left = gnu_find.walk_subtrees(jobs, 1)
    assert left == []
    assert sorted(f for t in trees for f in t.files) == sorted(
        f for job in jobs for f in walk._walk_subtree(job).files)


def _as_user(user: "pwd.struct_passwd", work: Any) -> Any:
    """``work()`` in a forked child that is ``user``, without root's privileges."""
    read, send = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            data = pickle.dumps(work())
            with os.fdopen(send, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(send)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    assert os.waitpid(pid, 0)[1] == 0
    return pickle.loads(data)


@pytest.mark.root
def test_unreadable_directories_go_back_to_python_with_the_same_errors() -> None:
    """A find that complains gives its subtrees back; the Python walker reports them."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    nobody = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="ckgf-"))  # pytest's own base is root's alone
    try:
        base.chmod(0o755)
        root = base / "tree"
        make_hostile_tree(root)
        locked = root / "b1" / "bb" / "empty"
        (locked / "secret").write_bytes(b"s")
        no_search = root / "b0" / "ab" / "deep"
        for where, dirs, files in os.walk(os.fsencode(str(root))):
            for name in [b""] + dirs + files:
                os.lchown(os.path.join(where, name) if name else where,
                          nobody.pw_uid, nobody.pw_gid)
        locked.chmod(0)
        no_search.chmod(0o600)  # listable names, but no stat of them

        def both() -> Any:
            jobs = _jobs(str(root))
            _trees, left = gnu_find.walk_subtrees(jobs, 2)
            return jobs, left, {b: _scan(str(root), b) for b in ("python", "find")}

        jobs, left, scans = _as_user(nobody, both)
    finally:
        for path, _dirs, _files in os.walk(base):
            os.chmod(path, 0o755)
        shutil.rmtree(base)
    assert ("b1/bb/empty", "Permission denied") in scans["python"][2]
    assert any(e[0].startswith("b0/ab/deep/") for e in scans["python"][2])
    assert scans["find"] == scans["python"]
    failing = {rel for _r, rel in jobs if rel in ("b1/bb", "b0/ab")}
    assert len(failing) == 2 and failing <= {rel for _r, rel in left}


def _scan(root: str, backend: str) -> Any:
    os.environ["CACHEKIT_WALKER"] = backend
    try:
        tree = walk.scan(root, parallel=True)
        totals = walk.scan_totals(root, _by_kind, parallel=True)
        return (sorted(tree.files), sorted(tree.dirs), sorted(tree.errors),
                _totals_figures(totals))
    finally:
        del os.environ["CACHEKIT_WALKER"]


def test_scan_by_find_tolerates_files_vanishing(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread deletes files while find-backed scans run: no error, nothing invented."""
    monkeypatch.setenv("CACHEKIT_WALKER", "find")
    with files_vanishing(tmp_path, "x"):  # "x": no directory matches the deleter's glob
        for _ in range(5):
            tree = walk.scan(str(tmp_path), parallel=True)
            assert all(f.size == 1 and f.kind == "f" for f in tree.files)
            assert tree.errors == []


def test_find_pays_only_where_python_spends_much_user_cpu() -> None:
    assert not walker_choice.find_pays(0.30, 0.87)  # this project's VM: Python's walk is mostly sys
    assert walker_choice.find_pays(1.62, 1.42)  # a slow interpreter: user above sys
    assert not walker_choice.find_pays(0.0, 0.0) and not walker_choice.find_pays(0.0, 0.5)
    assert walker_choice.find_pays(0.05, 0.0)


def _user_heavy(job: int) -> str:
    total = 0
    for i in range(100000):  # about 2 ms of the interpreter, no system call
        total += i
    return f"python{job}"


_ZERO = os.open("/dev/zero", os.O_RDONLY)


def _sys_heavy(job: int) -> str:
    end = time.process_time() + 0.002
    while time.process_time() < end:
        os.pread(_ZERO, 1 << 20, 0)  # the kernel clears a MiB: system CPU
    return f"python{job}"


def _find_walker(jobs: List[int], processes: int) -> Tuple[List[str], List[int]]:
    return [f"find{job}" for job in jobs], []


@pytest.mark.parametrize("worker, chosen", [(_user_heavy, "find"), (_sys_heavy, "python")])
def test_the_sample_chooses_the_walker(worker: Any, chosen: str) -> None:
    """In ``auto``, the sampled jobs' user/system split decides who walks the rest."""
    results = walk.fan_out(worker, list(range(400)), None, _find_walker)
    assert len(results) == 400
    rest = [r for r in results[-300:]]
    assert all(r.startswith(chosen) for r in rest), rest[:3]
    assert sum(r.startswith("python") for r in results) >= 5  # the sample itself


def test_forced_python_never_runs_find(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHEKIT_WALKER", "python")
    results = walk.fan_out(_user_heavy, list(range(400)), None, _find_walker)
    assert all(r.startswith("python") for r in results)


def _fake_find(bin_dir: Path, marker: Path) -> None:
    """A ``find`` that is not GNU's: says so, and leaves a mark if it is ever run for real."""
    bin_dir.mkdir()
    script = bin_dir / "find"
    script.write_text("#!/bin/sh\n"
                      "if [ \"$1\" = --version ]; then echo 'find (BSD) 1.0'; exit 0; fi\n"
                      f"touch '{marker}'\nexit 0\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.mark.parametrize("which", ["not-gnu", "none"])
def test_without_gnu_find_the_python_walker_runs(tmp_path: Path, which: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    tree_root = tmp_path / "tree"
    make_hostile_tree(tree_root)
    want = _scan(str(tree_root), "python")
    marker = tmp_path / "ran"
    if which == "not-gnu":
        _fake_find(tmp_path / "bin", marker)
    else:
        (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    gnu_find._program.clear()  # looked up afresh on this PATH
    assert gnu_find.find_program() is None
    assert _scan(str(tree_root), "find") == want
    assert gnu_find.walk_subtrees(_jobs(str(tree_root)), 2)[0] == []
    assert not marker.exists()

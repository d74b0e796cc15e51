"""The walker and the safe remover, on real trees: sizes, links, races and symlink swaps."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cachekit.core.fs import descend, remove, walk
from tests.fixtures.disk import files_vanishing, tree_of


def make_tree(root: Path, dirs: int = 30, files: int = 5) -> None:
    for i in range(dirs):
        d = root / f"b{i % 3}" / f"{i:02x}" / f"{i * 7 % 13}"
        d.mkdir(parents=True, exist_ok=True)
        for j in range(files):
            (d / f"f{j}").write_bytes(b"x" * (i * 100 + j))
    (root / "top.txt").write_bytes(b"t" * 5000)
    (root / "b0" / "link").symlink_to("../top.txt")
    (root / "b1" / "dirlink").symlink_to("../b2")
    os.link(root / "top.txt", root / "b2" / "hard")


def walk_reference(root: Path):
    """os.walk + lstat, the slow obvious way."""
    files, dirs = {}, {""}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            path = os.path.normpath(os.path.join(rel, name))
            st = os.lstat(os.path.join(dirpath, name))
            if os.path.isdir(os.path.join(dirpath, name)) and not os.path.islink(
                    os.path.join(dirpath, name)):
                dirs.add(path)
            else:
                files[path] = 0 if os.path.islink(os.path.join(dirpath, name)) else st.st_size
    return files, dirs


@pytest.mark.parametrize("parallel", [False, True])
def test_scan_sees_what_os_walk_sees(tmp_path: Path, parallel: bool) -> None:
    make_tree(tmp_path)
    tree = walk.scan(str(tmp_path), parallel=parallel)
    files, dirs = walk_reference(tmp_path)
    assert {f.path: f.size for f in tree.files} == files
    assert {d.path for d in tree.dirs} == dirs
    kinds = {f.path: f.kind for f in tree.files}
    assert kinds["b0/link"] == "l" and kinds["b1/dirlink"] == "L" and kinds["top.txt"] == "f"


def test_disk_bytes_counts_hard_links_once_like_du(tmp_path: Path) -> None:
    make_tree(tmp_path)
    du = subprocess.run(["du", "-sB1", str(tmp_path)], capture_output=True, text=True)
    assert walk.disk_bytes(walk.scan(str(tmp_path))) == int(du.stdout.split()[0])


def test_freed_bytes_needs_every_link() -> None:
    one = walk.FileStat("a", 100, 4096, 0, 0, 2, 1, 7, "f")
    two = one._replace(path="b")
    link = walk.FileStat("c", 0, 0, 0, 0, 1, 1, 8, "l")
    assert walk.freed_bytes([one]) == 0
    assert walk.freed_bytes([one, two]) == 100
    assert walk.freed_bytes([link]) == 0


def test_scan_tolerates_files_vanishing(tmp_path: Path) -> None:
    """A thread deletes files while scans run: no error, and nothing invented."""
    with files_vanishing(tmp_path):
        for _ in range(5):
            tree = walk.scan(str(tmp_path), parallel=False)
            assert all(f.size == 1 for f in tree.files)


def test_remover_never_follows_a_swapped_in_symlink(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "wheels" / "aa").mkdir(parents=True)
    (root / "wheels" / "aa" / "x.whl").write_bytes(b"in")
    outside.mkdir()
    (outside / "x.whl").write_bytes(b"precious")
    tree = walk.scan(str(root))
    planned = next(f for f in tree.files if f.path.endswith("x.whl"))
    # Between plan and apply, the directory is replaced by a symlink to elsewhere.
    shutil.rmtree(root / "wheels" / "aa")
    (root / "wheels" / "aa").symlink_to(outside)
    with remove.SafeRemover(str(root)) as remover:
        outcome = remover.unlink(planned.path)
    assert not outcome.ok and "symlink" in outcome.reason
    assert (outside / "x.whl").read_bytes() == b"precious"


def test_remover_keeps_changed_files_and_tolerates_vanished(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    for name in ("same", "changed", "gone"):
        (tmp_path / "d" / name).write_bytes(b"1")
    tree = {f.path: f for f in walk.scan(str(tmp_path)).files}
    (tmp_path / "d" / "gone").unlink()
    (tmp_path / "d" / "changed").unlink()
    (tmp_path / "d" / "changed").write_bytes(b"new content")  # a new file, new inode
    with remove.SafeRemover(str(tmp_path)) as remover:
        results = {p: remover.unlink(p, expect=(tree[p].ino, tree[p].mtime_ns))
                   for p in ("d/same", "d/changed", "d/gone")}
        kept_dir = remover.rmdir("d")
    assert results["d/same"].ok and results["d/gone"].ok
    assert results["d/gone"].reason == "already gone"
    assert not results["d/changed"].ok
    assert (tmp_path / "d" / "changed").read_bytes() == b"new content"
    assert not kept_dir.ok and "not empty" in kept_dir.reason


def test_remover_refuses_paths_leaving_the_root(tmp_path: Path) -> None:
    with remove.SafeRemover(str(tmp_path)) as remover:
        for bad in ("../x", "a/../../x", "/etc/passwd", ""):
            with pytest.raises(ValueError):
                remover.unlink(bad)


def test_remover_refuses_a_replaced_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    st = root.stat()
    root.rename(tmp_path / "elsewhere")  # still alive, so its inode cannot be reused
    root.mkdir()
    with pytest.raises(remove.RootError):
        remove.SafeRemover(str(root), expect=(st.st_dev, st.st_ino))


# Unsafe cache roots ------------------------------------------------------------------

@pytest.mark.parametrize("where", ["home", "slash", "unrelated"])
def test_purge_refuses_unsafe_roots(tmp_path: Path, home: Path, where: str, run_cachekit) -> None:
    if where == "home":
        root = home
        (home / "wheels").mkdir()
        (home / "wheels" / "mine-1.0-py3-none-any.whl").write_bytes(b"keep")
    elif where == "slash":
        root = Path("/")
    else:
        root = tmp_path / "projects"
        (root / "src").mkdir(parents=True)
        (root / "src" / "main.py").write_text("print()")
    before = tree_of(root) if where != "slash" else None
    for args in (["purge", "--yes"], ["purge", "--dry-run"], ["remove", "*", "--yes"]):
        out = run_cachekit(args, root)
        assert out.returncode == 1, out.stdout + out.stderr
        assert "refusing" in out.stderr and "Traceback" not in out.stderr
    if before is not None:
        assert tree_of(root) == before


@pytest.mark.root
def test_unreadable_subdirectory_is_a_warning_and_the_scan_goes_on(
        pip_cache: Path, home: Path) -> None:
    """As root the kernel ignores permissions; drop CAP_DAC_* so chmod 000 bites."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to drop DAC capabilities")
    # http-v2 also holds a stray file; only a directory's listing can fail
    locked = min(p for p in (pip_cache / "http-v2").iterdir() if p.is_dir())
    locked.chmod(0)
    try:
        env = dict(os.environ, PIP_CACHE_DIR=str(pip_cache), HOME=str(home))
        out = subprocess.run(
            [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search",
             sys.executable, "-m", "cachekit", "info", "--format", "json"],
            env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert out.returncode == 0, out.stderr
        assert "could not be read" in out.stderr
        import json

        cache = json.loads(out.stdout)["hosts"][0]["caches"][0]
        assert cache["unreadable"] >= 1 and cache["wheels"] == 6
        purge = subprocess.run(
            [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search",
             sys.executable, "-m", "cachekit", "purge", "--yes"],
            env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert "Traceback" not in purge.stderr
    finally:
        locked.chmod(0o755)
    assert locked.exists(), "an unreadable directory must never be removed"


@pytest.mark.parametrize("parallel", [False, True])
def test_totals_walk_agrees_with_the_record_walk(pip_cache: Path, parallel: bool) -> None:
    """`info` folds files into totals in the workers; it must match the full scan."""
    from cachekit.core.managers.pip import cache as pipcache

    (pip_cache / "http-v2" / "dirlink").symlink_to("../wheels")
    os.link(pip_cache / "README-stray.txt", pip_cache / "selfcheck" / "hard")
    full = pipcache.summarize(walk.scan(str(pip_cache), parallel=parallel))
    quick = pipcache.summarize_totals(
        walk.scan_totals(str(pip_cache), pipcache.classify, parallel=parallel))
    assert quick == full and full["wheels"] == 6
    no_disk = pipcache.summarize_totals(
        walk.scan_totals(str(pip_cache), pipcache.classify, parallel=parallel, disk=False))
    assert no_disk == dict(full, disk_bytes=None)


@pytest.mark.parametrize("parallel", [False, True])
def test_scan_totals_parts_is_scan_totals_of_each_part(pip_cache: Path, parallel: bool) -> None:
    """Several parts in one fan-out give each part's own ``scan_totals``."""
    from cachekit.core.managers.pip import cache as pipcache

    os.link(pip_cache / "README-stray.txt", pip_cache / "wheels" / "hard")
    parts = [("wheels", pipcache.classify), ("http-v2", lambda top, name, kind: top)]
    together = walk.scan_totals_parts(str(pip_cache), parts, parallel=parallel)
    assert sorted(together) == ["http-v2", "wheels"]
    for rel, classify in parts:
        alone = walk.scan_totals(str(pip_cache / rel), classify, parallel=parallel)
        got = together[rel]
        assert (got.counts, got.shared, got.disk_bytes, got.errors) == (
            alone.counts, alone.shared, alone.disk_bytes, alone.errors)
        assert got.counts


def test_wheel_classification_is_pips_glob() -> None:
    """classify replaces fnmatch('*-*.whl') on the hot path; it must agree with it."""
    import fnmatch

    from cachekit.core.managers.pip import cache as pipcache

    for name in ("a-1.whl", "-.whl", "a.whl", "a-1.whl.tmp", "a-1.WHL", "origin.json",
                 "a.b-c.whl", "x-.whl", ".whl", "a-1-py3-none-any.whl", "a_b.whl-1"):
        expected = "wheel" if fnmatch.fnmatch(name, "*-*.whl") else "wheels_other"
        assert pipcache.classify("wheels", name, "f") == expected, name


def test_forked_runs_every_job_once_even_past_one_pipe_page() -> None:
    from cachekit.core.fs import forked

    jobs = list(range(5000))
    assert sorted(forked.run(lambda n: n * 2, jobs, 2)) == [n * 2 for n in jobs]


def test_forked_redoes_the_jobs_of_a_child_that_dies() -> None:
    from cachekit.core.fs import forked

    parent = os.getpid()

    def worker(n: int) -> int:
        if os.getpid() != parent and n % 7 == 0:
            os._exit(3)  # the child dies mid-run, results unsent
        return n

    assert sorted(forked.run(worker, list(range(200)), 2)) == list(range(200))


@pytest.mark.parametrize("parallel", [False, True])
def test_scan_totals_counts_by_the_first_two_components_when_asked(tmp_path: Path,
                                                                   parallel: bool) -> None:
    """``key_depth=2``: one walk from the root, counted per entry of a bucket (PDM's
    ``packages/<package>``), while the rest of the tree counts as before."""
    for rel, size in (("packages/a.whl.cache/a.py", 3), ("packages/a.whl.cache/x/y.py", 4),
                      ("packages/b.whl.cache/b.py", 5), ("packages/stray", 6),
                      ("hashes/ab/cd/ef", 7), ("top.json", 8)):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x" * size)
    totals = walk.scan_totals(str(tmp_path), lambda top, name, kind: top or name,
                              parallel=parallel, key_depth=2)
    assert totals.counts == {"packages/a.whl.cache": [2, 7], "packages/b.whl.cache": [1, 5],
                             "packages": [1, 6], "hashes/ab": [1, 7], "top.json": [1, 8]}
    assert walk.scan_totals(str(tmp_path), lambda t, n, k: t or n, parallel=parallel
                            ).counts["packages"] == [4, 18]  # depth 1, as before


@pytest.mark.parametrize("parallel", [False, True])
def test_scan_totals_is_scan_totals_parts_of_the_root(pip_cache: Path, parallel: bool) -> None:
    """One walker: ``scan_totals`` is the root as the one part (``""``), ``key_depth``
    included, with the same figures; a part under the root counts as the root's own walk."""
    from cachekit.core.managers.pip import cache as pipcache

    os.link(pip_cache / "README-stray.txt", pip_cache / "wheels" / "hard")
    (pip_cache / "http-v2" / "dirlink").symlink_to("../wheels")

    def by_two(top: str, name: str, kind: str) -> str:
        return top or name

    for classify, depth in ((pipcache.classify, 1), (by_two, 2)):
        alone = walk.scan_totals(str(pip_cache), classify, parallel=parallel, key_depth=depth)
        parts = walk.scan_totals_parts(str(pip_cache), [("", classify)], parallel=parallel,
                                       key_depth=depth)
        assert list(parts) == [""]
        got = parts[""]
        assert (got.counts, got.shared, got.disk_bytes, got.errors) == (
            alone.counts, alone.shared, alone.disk_bytes, alone.errors)
        assert alone.counts and alone.disk_bytes
    deep = walk.scan_totals_parts(str(pip_cache), [("wheels", by_two)], parallel=parallel,
                                  key_depth=2)["wheels"]
    assert deep.counts == walk.scan_totals(str(pip_cache / "wheels"), by_two,
                                           parallel=parallel, key_depth=2).counts


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_descend_walks_a_tree_deeper_than_the_descriptors_it_holds(tmp_path: Path) -> None:
    """Past ``_MAX_HELD_FDS`` levels the walk goes on by path: every level is seen, and
    no descriptor is left open."""
    depth = descend._MAX_HELD_FDS * 2 + 5
    top = level = tmp_path / "deep"
    top.mkdir()
    for i in range(depth):
        level = level / "d"
        level.mkdir()
        (level / "sibling").mkdir()  # each level has two subdirectories, so its fd is held
        (level / "f").write_bytes(b"x" * i)
    before = _open_fds()
    seen: list = []
    errors: list = []

    def visit(where, rel):
        seen.append(rel)
        return [e for e in ((rel + "/" if rel else "") + n for n in os.listdir(where))
                if not e.endswith("/f")]

    descend.descend(str(top), "", visit, errors)
    assert errors == []
    assert len(seen) == 1 + 2 * depth
    assert max(rel.count("/") for rel in seen) == depth
    assert _open_fds() == before
    tree = walk.scan(str(top), parallel=False)
    assert sorted(f.size for f in tree.files) == list(range(depth))


def test_descend_never_follows_a_directory_swapped_for_a_symlink(tmp_path: Path) -> None:
    """Listed as a directory, replaced by a link to elsewhere before it is opened: an error
    for that path, and nothing outside is visited."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a" / "victim").mkdir(parents=True)
    (outside / "secret").mkdir(parents=True)
    seen: list = []
    errors: list = []

    def visit(where, rel):
        seen.append(rel)
        subdirs = [(rel + "/" if rel else "") + n for n in os.listdir(where)]
        if rel == "a":
            shutil.rmtree(root / "a" / "victim")
            (root / "a" / "victim").symlink_to(outside)
        return subdirs

    descend.descend(str(root), "", visit, errors)
    assert seen == ["", "a"]
    assert [path for path, _reason in errors] == ["a/victim"]


def test_descend_closes_what_it_holds_when_a_visit_raises(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / "top" / f"d{i}" / "x" / "y").mkdir(parents=True)
    before = _open_fds()

    def visit(where, rel):
        if rel.endswith("/y"):
            raise KeyboardInterrupt
        return [(rel + "/" if rel else "") + n for n in os.listdir(where)]

    with pytest.raises(KeyboardInterrupt):
        descend.descend(str(tmp_path / "top"), "", visit, [])
    assert _open_fds() == before


def test_descend_follows_the_root_it_was_given_as_a_symlink(tmp_path: Path) -> None:
    """A cache dir named through a link (``~/.cache/pip -> /data/pip``) is walked."""
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "sub" / "f").write_bytes(b"abc")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    tree = walk.scan(str(tmp_path / "link"), parallel=False)
    assert [(f.path, f.size) for f in tree.files] == [("sub/f", 3)]


@pytest.mark.parametrize("held", [0, 128])
def test_descend_past_its_cap_never_follows_a_parent_swapped_for_a_symlink(
        tmp_path: Path, held: int, monkeypatch) -> None:
    """Past the held-descriptor cap subdirectories are reached again from the root, a name
    at a time with O_NOFOLLOW: a parent swapped for a link while a sibling is visited
    leads nowhere outside (by path, the kernel would have followed it)."""
    monkeypatch.setattr(descend, "_MAX_HELD_FDS", held)
    root, outside = tmp_path / "root", tmp_path / "outside"
    for sub in ("x", "y"):
        (root / "a" / sub).mkdir(parents=True)
    for sub in ("x", "y"):
        (outside / sub / "SECRET").mkdir(parents=True)
    seen: list = []
    errors: list = []

    def visit(where, rel):
        seen.append(rel)
        if rel in ("a/x", "a/y") and not (root / "a").is_symlink():  # the first of them
            os.rename(root / "a", tmp_path / "moved")
            (root / "a").symlink_to(outside)
        return sorted((rel + "/" if rel else "") + n for n in os.listdir(where))

    descend.descend(str(root), "", visit, errors)
    assert not any("SECRET" in rel for rel in seen), seen
    if held == 0:  # the other child was reached from the root, through the link: refused
        assert len(seen) == 3 and [p for p, _ in errors] == [
            {"a/x": "a/y", "a/y": "a/x"}[seen[2]]]


def test_descend_refuses_a_starting_directory_swapped_for_a_symlink(tmp_path: Path) -> None:
    """A subtree job names a directory a listing saw; swapped for a link before the job
    runs, it is an error, not a walk of the link's target (only the root is followed)."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "http-v2").mkdir(parents=True)
    (outside / "secret").mkdir(parents=True)
    (root / "http-v2" / "a").symlink_to(outside)
    seen: list = []
    errors: list = []
    descend.descend(str(root), "http-v2/a", lambda where, rel: seen.append(rel) or [], errors)
    assert seen == [] and [p for p, _ in errors] == ["http-v2/a"]
    assert descend.visit_one(str(root), "http-v2/a", lambda where, rel: ["x"], errors) == []
    # a link higher up the job's path is refused too, not only its last name
    errors.clear()
    descend.descend(str(root), "http-v2/a/secret", lambda where, rel: seen.append(rel) or [],
                    errors)
    assert seen == [] and [p for p, _ in errors] == ["http-v2/a/secret"]

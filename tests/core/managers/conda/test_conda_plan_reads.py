"""`clean --all` reads what it must read once, and its plans and figures stay conda's.

The plan's walks share one fan-out (``conda/walks.py``): the packages it sizes are walked
with ``lstat``, the rest of the root prefix is searched by name for temp files. These tests
hold the plan to an oracle written the way conda writes it (``os.walk`` of the root for
temp files, the ``lstat`` sizes of the files ``os.walk`` lists), on the benchmark's own
synthetic trees, in both layouts, with temp files where the walks meet; and they watch,
through Python's audit hooks, which directories the plan lists.
"""

import collections
import os
import stat
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import pytest

from cachekit.core import agent
from cachekit.core.managers.conda import cache as condacache
from cachekit.core.managers.conda import walks
from tests.fixtures.conda_cache import CondaFixture

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "bench"))
import make_synthetic_conda_cache as synth  # noqa: E402

TEMP = (".c~", ".trash")


def _os_walk_files(top: Path) -> List[Path]:
    """What conda counts and searches: the files ``os.walk`` lists (a symlink to a
    directory is a directory to it, and never entered)."""
    return [Path(d) / f for d, _dirs, files in os.walk(top) for f in files]


def _size(paths: List[Path]) -> int:
    return sum(p.lstat().st_size for p in paths)


def _outside_holds_a_temp_file(base: Path) -> Path:
    outside = base / "outside"
    (outside / "deeper").mkdir(parents=True)
    (outside / "never.c~").write_bytes(b"not conda's")
    (outside / "deeper/never.trash").write_bytes(b"not conda's")
    return outside


def _odd_entries(prefix: Path, outside: Path) -> None:
    """Temp files deep down and beside every kind of entry the search must tell apart."""
    deep = prefix / "/".join(f"d{i}" for i in range(14))
    deep.mkdir(parents=True)
    (deep / "deep.c~").write_bytes(b"deep")
    (prefix / "linked-dir").symlink_to(outside)  # never entered
    (prefix / "dir-link.c~").symlink_to(outside)  # a directory to os.walk: not taken
    (prefix / "real-dir.trash").mkdir()  # a directory: not taken
    (prefix / "real-dir.trash/inside.c~").write_bytes(b"in")
    (prefix / "file-link.c~").symlink_to(prefix / "real-dir.trash/inside.c~")
    (prefix / "dangling.trash").symlink_to(prefix / "nowhere")


def synthetic(base: Path, layout: str) -> Dict[str, Any]:
    """The benchmark's tree at 2% (6 packages, 2 unused), with temp files in a used package,
    an unused one, the cache's top, an environment's records and deep in an environment."""
    tree = synth.build(base / layout, layout, 0.02)
    pkgs, root = Path(tree["pkgs"]), Path(tree["root"])
    names = sorted(n for n in os.listdir(pkgs) if (pkgs / n / "info").is_dir())
    used, unused = names[0], names[-1]
    (pkgs / used / "lib/used.c~").write_bytes(b"used")
    (pkgs / unused / "lib/unused.trash").write_bytes(b"unused!")
    (pkgs / "top.c~").write_bytes(b"top")
    env = pkgs.parent / "envs/env1"
    (env / "conda-meta/half.c~").write_bytes(b"records")
    outside = _outside_holds_a_temp_file(base / layout)
    _odd_entries(env, outside)
    _odd_entries(root, outside)
    tree["unused"] = names[tree["used"]:]
    return tree


def expected_clean_all(tree: Dict[str, Any]) -> Tuple[Dict[str, Tuple[str, int, int]],
                                                      Set[str]]:
    """path -> (kind, bytes, freed) of every row ``clean --all`` plans, and what it keeps,
    as conda computes them (cachekit also keeps what environments record)."""
    pkgs, root = Path(tree["pkgs"]), Path(tree["root"])
    rows: Dict[str, Tuple[str, int, int]] = {}
    for p in sorted(pkgs.iterdir()):
        if p.name.endswith(".conda") and p.is_file():
            rows[str(p)] = ("tarball", p.lstat().st_size, p.lstat().st_size)
    for name in tree["unused"] + ["cache"]:
        files = _os_walk_files(pkgs / name)
        rows[str(pkgs / name)] = ("package" if name != "cache" else "index_cache",
                                  _size(files), _freed_sum(files))
    log = pkgs / ".logs/20240101-000000-000000.log"
    rows[str(log)] = ("logfile", log.lstat().st_size, log.lstat().st_size)
    for p in _os_walk_files(root):  # conda's find_tempfiles: os.walk of the root prefix
        if p.name.endswith(TEMP):
            st = p.lstat()
            rows[str(p)] = ("tempfiles", st.st_size, st.st_size if st.st_nlink <= 1 else 0)
    names = sorted(n for n in os.listdir(pkgs) if (pkgs / n / "info").is_dir())
    kept = {str(pkgs / n) for n in names if n not in tree["unused"]}
    return rows, kept


def _freed_sum(files: List[Path]) -> int:
    """Regular files whose last link goes with them (none of these has another)."""
    return sum(st.st_size for st in (p.lstat() for p in files)
               if st.st_nlink <= 1 and not stat.S_ISLNK(st.st_mode))


def planned(result: Dict[str, Any]) -> Dict[str, Tuple[str, int, int]]:
    """path -> (kind, bytes, freed) of every row the result's plans hold (each once)."""
    rows = [(os.path.join(wire["root"], item[0]), (item[1], item[2], item[3]))
            for wire in result["plans"] for item in wire["items"]]
    out = dict(rows)
    assert len(out) == len(rows), "a path planned twice"
    return out


@pytest.mark.parametrize("layout", ["root", "shared"])
def test_clean_all_plans_what_conda_s_own_walks_find(tmp_path: Path, home: Path,
                                                      layout: str, core_run) -> None:
    tree = synthetic(tmp_path, layout)
    rows, kept = expected_clean_all(tree)
    result = core_run("clean", ["conda"], tree["environ"], flags=["all"])
    assert planned(result) == rows
    assert {k["path"] for k in result["kept"]} == kept
    assert sum(w["freed_bytes"] for w in result["plans"]) == sum(r[2] for r in rows.values())
    in_root = {p for p, r in rows.items() if r[0] == "tempfiles"}
    assert any("/d13/deep.c~" in p for p in in_root)  # 14 directories down
    assert not any("never" in p or "/linked-dir/" in p for p in planned(result))
    # the same figures as info's walk of every package
    info = core_run("info", ["conda"], tree["environ"])
    cache = next(c for c in info["caches"] if c["path"] == tree["pkgs"])
    assert cache["unused_packages"] == len(tree["unused"])
    assert cache["unused_bytes"] == sum(r[2] for p, r in rows.items() if r[0] == "package")


@pytest.mark.parametrize("parallel", [False, True])
def test_the_search_finds_deep_temp_files_and_never_enters_a_symlinked_dir(
        tmp_path: Path, parallel: bool) -> None:
    """Serial and over forked workers: a level with many subdirectories hands each to a
    job, so the deep one is searched by a worker."""
    top = tmp_path / "prefix"
    outside = _outside_holds_a_temp_file(tmp_path)
    for i in range(12):
        (top / f"lib/pkg{i}/sub").mkdir(parents=True)
        (top / f"lib/pkg{i}/sub/x{i}.trash").write_bytes(b"x")
    _odd_entries(top / "lib/pkg3", outside)
    skipped = top / "lib/pkg5"
    conda_walk = sorted(str(p) for p in _os_walk_files(top) if p.name.endswith(TEMP)
                        and not str(p).startswith(str(skipped) + "/"))
    _stats, found = walks.run([], [walks.Search("tempfiles", str(top), {str(skipped)}, TEMP)],
                              parallel)
    assert found[("tempfiles", str(top))] == (conda_walk, [])
    assert any(p.endswith("/d13/deep.c~") for p in conda_walk)
    assert not any("never" in p for p in conda_walk)


@pytest.mark.parametrize("parallel", [False, True])
def test_the_plan_s_package_walks_give_info_s_figures(conda: CondaFixture, parallel: bool
                                                      ) -> None:
    root = str(conda.pkgs)
    rels = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))
    sized = [[condacache.walk_job(root, r) for r in rels]]
    stats, _found = walks.run(sized, [], parallel)
    assert stats == [condacache.walk_many(root, rels, parallel=False)]
    assert list(stats[0]) == rels


def test_tempfiles_and_trash_in_one_search_find_what_separate_ones_do(
        conda: CondaFixture, core_run) -> None:
    (conda.pkgs / "delta-3.1-h2_1/share/inside.trash").write_bytes(b"t")
    (conda.pkgs / "delta-3.1-h2_1/share/inside.conda_trash").write_bytes(b"tt")
    (conda.envs["hard"] / "lib/gone.mamba_trash").write_bytes(b"ttt")

    def rows(flags: List[str]) -> Dict[str, Tuple[str, int, int]]:
        return planned(core_run("clean", ["conda"], conda.environ, flags=flags))

    both = rows(["packages", "tempfiles", "trash"])
    assert both == {**rows(["packages"]), **rows(["tempfiles"]), **rows(["trash"])}
    assert str(conda.pkgs / "delta-3.1-h2_1/share/inside.conda_trash") in both
    assert str(conda.pkgs / "delta-3.1-h2_1/share/inside.trash") in both


class _Listings:
    """Every directory listed (``os.scandir``, ``os.listdir``, ``os.open`` of a directory)
    and every file opened, seen through an audit hook (hooks cannot be removed: this one
    records only while ``on``)."""

    def __init__(self) -> None:
        self.on = False
        self.listed: List[str] = []
        self.opened: List[str] = []

    def __call__(self, event: str, args: Tuple[Any, ...]) -> None:
        if not self.on or not args or not isinstance(args[0], str):
            return
        if event in ("os.scandir", "os.listdir"):
            self.listed.append(os.path.normpath(args[0]))
        elif event == "open":
            flags: Optional[int] = args[2] if len(args) > 2 else None
            if flags is not None and flags & getattr(os, "O_DIRECTORY", 0):
                self.listed.append(os.path.normpath(args[0]))
            else:
                self.opened.append(os.path.normpath(args[0]))


_LISTINGS: List[_Listings] = []


def _listings() -> _Listings:
    if not _LISTINGS:
        _LISTINGS.append(_Listings())
        sys.addaudithook(_LISTINGS[0])
    return _LISTINGS[0]


def _watched(fn: Callable[[], Dict[str, Any]]) -> Tuple[Dict[str, Any], _Listings]:
    seen = _listings()
    seen.listed, seen.opened, seen.on = [], [], True
    try:
        return fn(), seen
    finally:
        seen.on = False


@pytest.mark.parametrize("layout", ["root", "shared"])
def test_clean_all_lists_each_directory_of_packages_and_environments_once(
        tmp_path: Path, home: Path, layout: str) -> None:
    """The walks run here, not in forked workers: the tree is far too small to fork for.

    Listed twice or more, by design, only a few small directories: the top of the cache
    (safety's layout checks, the cache's listing, the temp-file search), its ``.logs`` and
    ``cache/`` (listed for logs and locks, then searched or sized), and where
    environments are found (``envs/``, each ``conda-meta``: found, records read, then
    searched). Nothing inside a package or an environment's files is read twice."""
    tree = synthetic(tmp_path, layout)
    request = {"op": "clean", "managers": ["conda"], "environ": tree["environ"],
               "flags": ["all"]}
    result, seen = _watched(lambda: agent.run(request))
    assert result["status"] == "ok", result["error"]
    pkgs, base = tree["pkgs"], str(tmp_path / layout)
    envs = os.path.join(os.path.dirname(pkgs), "envs")
    prefixes = [tree["root"]] + [os.path.join(envs, e) for e in os.listdir(envs)]
    small = {pkgs, pkgs + "/.logs", pkgs + "/cache", envs, base + "/home/.conda"}
    small |= {os.path.join(p, "conda-meta") for p in prefixes}
    counts = collections.Counter(d for d in seen.listed if d.startswith(base + "/"))
    assert {d for d, n in counts.items() if n > 1} <= small
    searched = [d for d in counts if "/site-packages/" in d]
    assert searched  # the package walks and the search were seen
    records = [f for f in seen.opened if "/conda-meta/" in f and f.endswith(".json")]
    assert len(records) == len(set(records)) == tree["used"]
    # every directory of the unused packages sized, none of them searched again
    for name in tree["unused"]:
        inside = [d for d in counts if d.startswith(os.path.join(pkgs, name) + "/")]
        assert inside and all(counts[d] == 1 for d in inside)

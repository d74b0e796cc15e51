"""uv's ``info`` and ``report`` from totals (``totals.measure``) give exactly the figures a
walk with a record per file gives (``record.scan``), on a real uv cache, on the synthetic
one, and on caches with strangers, special files and hard links (which take the records
walk, and must say so)."""

import copy
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from cachekit.core.fs import walk
from cachekit.core.managers.uv import cache as uvcache
from cachekit.core.managers.uv import record, totals
from tests.fixtures import REPO
from tests.fixtures.uv_cache import UV

sys.path.insert(0, str(REPO / "bench"))
import make_synthetic_uv_cache as synth  # noqa: E402

UV_DIR = str(Path(UV).parent)


def blank(root: Path) -> Dict[str, Any]:
    return {"manager": "uv", "path": str(root), "source": "UV_CACHE_DIR", "exists": True,
            "warnings": [], "error": None}


def by_records(root: Path) -> Dict[str, Any]:
    """The figures as a walk with a record per file gives them (the definition)."""
    rec: Any = blank(root)
    _root, tree, _lay = record.scan(rec)
    rec["reclaimable_bytes"] = walk.freed_bytes(
        f for f in tree.files if "/" in f.path or f.path not in uvcache.ROOT_FILES)
    return rec


def by_totals(root: Path) -> Dict[str, Any]:
    rec: Any = blank(root)
    totals.measure(rec)
    return rec


def took_totals(root: Path) -> bool:
    """Whether ``info`` serves this cache from totals alone (no records walk)."""
    return not totals._hard_linked_archive(str(root)) and totals._from_totals(
        blank(root), str(root))  # type: ignore[arg-type]


def same(root: Path) -> Dict[str, Any]:
    ours, theirs = by_totals(root), by_records(root)
    assert ours == theirs
    assert list(ours["buckets"]) == list(theirs["buckets"])  # the order shown, too
    return ours


def strangers(cache: Path) -> None:
    """Names uv did not write, a newer uv's bucket, deep and git entries, links at the top."""
    (cache / "stray.txt").write_text("s")
    (cache / "foo/bar").mkdir(parents=True)
    (cache / "foo/bar/x").write_text("xx")
    (cache / "environments-v2").mkdir()
    (cache / "wheels-v99").symlink_to("archive-v0")
    (cache / "wheels-v9/pypi/zzz").mkdir(parents=True)
    (cache / "wheels-v9/pypi/zzz/1.0-py3-none-any.lock").write_text("")
    git = cache / "wheels-v8/git/0123abcd/89ef/gitpkg"
    git.mkdir(parents=True)
    (git / "1.0-py3-none-any.http").write_text("h" * 40)
    deep = cache / "wheels-v8/pypi/deep-pkg/a/b/c/d"
    deep.mkdir(parents=True)
    (deep / "e.txt").write_text("e" * 300)
    (cache / "wheels-v8/pypi/deep-pkg/1.0-py3-none-any.lock").write_text("")
    (cache / "simple-v28/pypi").mkdir(parents=True, exist_ok=True)
    (cache / "simple-v28/pypi/Not_Normal.rkyv").write_text("r" * 7)
    (cache / "simple-v28/pypi/notes.txt").write_text("n")
    for name in ("page-only-a", "page-only-b"):  # packages named by an index page alone
        (cache / f"simple-v28/pypi/{name}.rkyv").write_text(name)
    (cache / "CACHEDIR.TAG").unlink()
    (cache / "CACHEDIR.TAG").symlink_to("stray.txt")


def fifo(cache: Path) -> None:
    os.mkfifo(next((cache / "archive-v0").iterdir()) / "a-fifo")


def linked_inside(cache: Path) -> None:
    """A hard link between two files of the cache: both links go with it."""
    page = next((cache / "simple-v28").rglob("*.rkyv"))
    os.link(page, page.with_name("twin.rkyv"))


def linked_outside(cache: Path) -> None:
    """One index page hard-linked from outside (where the archive probe does not look)."""
    page = next((cache / "simple-v28").rglob("*.rkyv"))
    os.link(page, cache.parent / "outside-link")


def linked_archives(cache: Path) -> None:
    """Every archive file hard-linked into an environment, as uv installs."""
    synth.link_environment(str(cache), str(cache.parent / "env"))


VARIANTS: Dict[str, Callable[[Path], None]] = {
    "as uv left it": lambda cache: None, "strangers": strangers, "fifo": fifo,
    "linked inside": linked_inside, "linked outside": linked_outside,
    "linked archives": linked_archives,
}
FROM_TOTALS = {"as uv left it", "strangers"}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_totals_give_the_records_figures_on_a_real_uv_cache(uv_cache: Path,
                                                            variant: str) -> None:
    VARIANTS[variant](uv_cache)
    rec = same(uv_cache)
    assert took_totals(uv_cache) == (variant in FROM_TOTALS)
    assert rec["packages"] >= 4 and rec["disk_bytes"] > rec["bytes"] > 0
    if variant == "strangers":
        assert rec["unknown"] == ["foo", "stray.txt", "wheels-v99"]
        assert {"deep-pkg", "gitpkg", "not-normal", "page-only-a", "page-only-b"} <= by_names(
            uv_cache)
        assert rec["buckets"]["environments-v2"] == {"files": 0, "bytes": 0}
    if variant in ("linked outside", "linked archives"):
        assert rec["linked_bytes"] > 0
    if variant == "linked inside":
        assert rec["linked_bytes"] == 0


def by_names(cache: Path) -> set:
    return set(uvcache.layout(str(cache), walk.scan(str(cache))).packages)


@pytest.mark.parametrize("walker", ["python", "find"])
@pytest.mark.parametrize("linked", [False, True])
def test_totals_give_the_records_figures_on_the_synthetic_cache(
        tmp_path: Path, linked: bool, walker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHEKIT_WALKER", walker)  # GNU find's records fold the same keys
    made = synth.generate(str(tmp_path / "cache"), 0.02, seed=1,
                          linked=str(tmp_path / "env") if linked else "")
    cache = tmp_path / "cache"
    rec = same(cache)
    assert took_totals(cache) is not linked
    assert (rec["files"], rec["bytes"], rec["packages"]) == (
        made["files"], made["bytes"], made["packages"])
    assert (rec["linked_bytes"] > 0) is linked
    both = walk.scan_totals(str(cache), totals.classifier(), parallel=True,
                            key_depth=totals.KEY_DEPTH)
    one = walk.scan_totals(str(cache), totals.classifier(), parallel=False,
                           key_depth=totals.KEY_DEPTH)
    assert both.counts == one.counts  # forked workers fold the same keys


def test_info_and_report_through_the_agent_use_the_same_figures(uv_cache: Path,
                                                                 home: Path, core_run) -> None:
    environ = {"UV_CACHE_DIR": str(uv_cache), "HOME": str(home),
               "PATH": f"{UV_DIR}:/usr/bin:/bin"}
    want = by_records(uv_cache)
    for op in ("info", "report"):
        got = core_run(op, ["uv"], copy.deepcopy(environ))["caches"][0]
        for key in ("bytes", "files", "disk_bytes", "packages", "buckets", "unknown",
                    "linked_bytes", "root_id", "reclaimable_bytes", "warnings"):
            assert got[key] == want[key], (op, key)

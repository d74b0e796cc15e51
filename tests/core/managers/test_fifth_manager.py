"""A fifth manager through the registry alone: a copy of cachekit gets one new package,
``core/managers/fake/``, and one line in ``core/registry.py`` and nothing else; then
``dir``, ``info``, ``list``, ``remove``, ``purge``, ``report`` and ``prune`` work for it,
locally and (through the shipped core) the same way they work for pip.

The fake cache: ``$FAKE_CACHE_DIR`` holds a ``FAKE-CACHE`` marker and ``pkgs/NAME-VERSION.pkg``
files; a package is one file.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

from tests.fixtures import REPO

FAKE_PACKAGE = '''
"""A throwaway manager, defined by a test: one file per package."""

import fnmatch
import os
from typing import Any, List

from ... import Refused, policy, safety
from ...fs import remove as fsremove
from ...wire import cache_record
from ..base import Manager


class Fake(Manager):
    name = "fake"
    label = "fake cache"
    ops = frozenset({"dir", "info", "list", "report", "remove", "purge", "prune"})
    env_prefixes = ("FAKE_",)
    info_columns = (("FAKE CACHE", "path", "text"), ("SIZE", "bytes", "bytes"),
                    ("PACKAGES", "packages", "int"))

    def present(self):
        return "FAKE_CACHE_DIR" in self.run.environ

    def caches(self):
        path = self.run.environ.get("FAKE_CACHE_DIR")
        return [cache_record("fake", path, "FAKE_CACHE_DIR",
                             bool(path and os.path.isdir(path)))]

    def _packages(self, root):
        pkgs = os.path.join(root, "pkgs")
        out = []
        for name in sorted(os.listdir(pkgs)) if os.path.isdir(pkgs) else []:
            st = os.lstat(os.path.join(pkgs, name))
            out.append(("pkgs/" + name, name[:-4], st))
        return out

    def measure(self, caches):
        for c in caches:
            if c["exists"]:
                found = self._packages(c["path"])
                c.update(bytes=sum(st.st_size for _r, _n, st in found), files=len(found),
                         packages=len(found), reclaimable_bytes=sum(
                             st.st_size for _r, _n, st in found))

    def entries(self, caches):
        pattern = self.run.request.get("pattern") or "*"
        out = []
        for c in caches:
            if c["exists"]:
                for rel, name, st in self._packages(c["path"]):
                    if fnmatch.fnmatch(name, pattern):
                        package, _, version = name.partition("-")
                        out.append({"manager": "fake", "name": package, "version": version,
                                    "kind": "pkg", "path": os.path.join(c["path"], rel),
                                    "bytes": st.st_size})
        return out

    def _wire(self, root, chosen):
        st = os.lstat(root)
        return {"manager": "fake", "root": root, "root_id": [st.st_dev, st.st_ino],
                "freed_bytes": sum(s.st_size for _r, s, _why in chosen),
                "items": [[rel, s.st_size, s.st_ino, why] for rel, s, why in chosen]}

    def plan(self, caches):
        pattern = "*" if self.run.op == "purge" else self.run.request.get("pattern")
        if not pattern:
            raise Refused("remove needs a pattern")
        plans = []
        for c in caches:
            if not c["exists"]:
                continue
            safety.refuse("fake", c["path"], self.run.environ, self.run.op, c["source"])
            chosen = [(rel, st, "matched " + pattern)
                      for rel, name, st in self._packages(c["path"])
                      if fnmatch.fnmatch(name, pattern)]
            wire = self._wire(c["path"], chosen)
            plans.append(wire)
            c["reclaimable_bytes"] = wire["freed_bytes"]
            self.run.result["removed"] += [
                {"path": os.path.join(c["path"], rel), "manager": "fake", "bytes": size,
                 "reason": why, "ok": None} for rel, size, _ino, why in wire["items"]]
        return plans

    def recognise(self, wire, caches):
        roots = [c["path"] for c in caches if c["exists"]]
        if wire.get("root") not in roots:
            raise Refused("the plan names a fake cache that is not this host's")

    def apply(self, wire):
        root = wire["root"]
        with fsremove.SafeRemover(root, expect=tuple(wire["root_id"])) as remover:
            for rel, size, ino, why in wire["items"]:
                if not rel.startswith("pkgs/"):
                    raise Refused(f"not a fake package: {rel}")
                done = remover.unlink(rel)
                row = {"path": os.path.join(root, rel), "manager": "fake", "bytes": size,
                       "reason": why, "ok": done.ok}
                self.run.report(row)
                if done.ok:
                    self.run.result["reclaimed_bytes"] += size

    def prune_scopes(self, caches):
        scopes = []
        for c in caches:
            if not c["exists"]:
                continue
            root = c["path"]
            safety.refuse("fake", root, self.run.environ, "prune", c["source"])
            found = self._packages(root)
            c.update(bytes=sum(st.st_size for _r, _n, st in found), files=len(found))
            candidates = [policy.Candidate("fake", root, rel, name.partition("-")[0],
                                           st.st_size, st.st_size, st.st_mtime_ns, False, st)
                          for rel, name, st in found]

            def plan(chosen, root=root):
                return self._wire(root, [(s.candidate.entry, s.candidate.ref, s.rule)
                                         for s in chosen])

            scopes.append(policy.Scope("fake", root, c, c["bytes"], candidates, plan))
        return scopes

    @classmethod
    def layout_problem(cls, root, kind=""):
        if os.path.isfile(os.path.join(root, "FAKE-CACHE")):
            return ""
        return "does not look like a fake cache (no FAKE-CACHE marker)"


MANAGER = Fake
'''

REGISTRY_LINE = '    "toolcache": ".managers.toolcache",\n'


@pytest.fixture(scope="module")
def fifth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package with the fake manager added: its package and one line."""
    base = tmp_path_factory.mktemp("fifth")
    shutil.copytree(REPO / "cachekit", base / "cachekit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    package = base / "cachekit/core/managers/fake"
    package.mkdir()
    (package / "__init__.py").write_text(FAKE_PACKAGE)
    registry = base / "cachekit/core/registry.py"
    text = registry.read_text()
    assert text.count(REGISTRY_LINE) == 1
    registry.write_text(text.replace(
        REGISTRY_LINE, REGISTRY_LINE + '    "fake": ".managers.fake",\n'))
    return base


def _changed_files(fifth: Path) -> List[str]:
    """Every file of the copy that differs from the repo's package."""
    changed = []
    for path in sorted((fifth / "cachekit").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(fifth)
            theirs = REPO / rel
            if not theirs.is_file() or theirs.read_bytes() != path.read_bytes():
                changed.append(str(rel))
    return changed


def test_the_copy_differs_by_the_package_and_the_registry_line(fifth: Path) -> None:
    assert _changed_files(fifth) == ["cachekit/core/managers/fake/__init__.py",
                                     "cachekit/core/registry.py"]


def _cache(tmp_path: Path) -> Path:
    root = tmp_path / "fakecache"
    (root / "pkgs").mkdir(parents=True)
    (root / "FAKE-CACHE").write_text("")
    old = time.time() - 90 * 86400
    for name, size, when in (("alpha-1.0", 1000, old), ("alpha-2.0", 2000, None),
                             ("beta-0.1", 3000, old)):
        path = root / "pkgs" / f"{name}.pkg"
        path.write_bytes(b"x" * size)
        if when:
            os.utime(path, (when, when))
    return root


def _run(fifth: Path, home: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    env: Dict[str, str] = {k: v for k, v in os.environ.items()
                           if not k.startswith(("PIP_", "CONDA", "UV_", "FAKE_"))}
    env.update(PYTHONPATH=str(fifth), HOME=str(home), FAKE_CACHE_DIR=str(cache),
               PIP_CACHE_DIR=str(home / "no-pip"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "cachekit", *args], env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=120,
                          cwd=str(home))


def test_every_read_op_serves_the_fifth_manager(fifth: Path, home: Path,
                                               tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    out = _run(fifth, home, cache, "dir", "--managers", "fake", "--format", "json")
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)["hosts"][0]["caches"][0]
    assert record["manager"] == "fake" and record["path"] == str(cache) and record["exists"]

    table = _run(fifth, home, cache, "info", "--managers", "fake")
    assert table.returncode == 0, table.stderr
    assert "FAKE CACHE" in table.stdout and "PACKAGES" in table.stdout
    assert str(cache) in table.stdout

    listed = _run(fifth, home, cache, "list", "alpha*", "--managers", "fake", "--format",
                  "json")
    assert listed.returncode == 0, listed.stderr
    names = sorted(e["version"] for e in json.loads(listed.stdout)["hosts"][0]["entries"])
    assert names == ["1.0", "2.0"]
    assert "alpha" in _run(fifth, home, cache, "list", "--managers", "fake").stdout

    report = _run(fifth, home, cache, "report", "--format", "json")  # found by present()
    assert report.returncode == 0, report.stderr
    caches = json.loads(report.stdout)["hosts"][0]["caches"]
    fake = [c for c in caches if c["manager"] == "fake"]
    assert fake and fake[0]["reclaimable_bytes"] == 6000
    assert "fake" in _run(fifth, home, cache, "report").stdout


def test_remove_purge_and_prune_delete_only_what_they_showed(fifth: Path, home: Path,
                                                            tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    dry = _run(fifth, home, cache, "remove", "beta*", "--managers", "fake", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "beta-0.1.pkg" in dry.stdout and (cache / "pkgs/beta-0.1.pkg").exists()
    done = _run(fifth, home, cache, "remove", "beta*", "--managers", "fake", "--yes")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (cache / "pkgs").iterdir()) == ["alpha-1.0.pkg",
                                                                  "alpha-2.0.pkg"]

    pruned = _run(fifth, home, cache, "prune", "--older-than", "30d", "--managers", "fake",
                  "--yes", "--format", "json")
    assert pruned.returncode == 0, pruned.stderr
    assert sorted(p.name for p in (cache / "pkgs").iterdir()) == ["alpha-2.0.pkg"]

    purged = _run(fifth, home, cache, "purge", "--managers", "fake", "--yes")
    assert purged.returncode == 0, purged.stderr
    assert list((cache / "pkgs").iterdir()) == [] and (cache / "FAKE-CACHE").exists()


def test_a_root_without_the_fake_layout_is_refused(fifth: Path, home: Path,
                                                  tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    (cache / "FAKE-CACHE").unlink()
    out = _run(fifth, home, cache, "purge", "--managers", "fake", "--yes")
    assert out.returncode != 0 and "does not look like a fake cache" in out.stderr
    assert len(list((cache / "pkgs").iterdir())) == 3

"""Plans for a Poetry cache: ``remove PATTERN`` and ``purge`` (and ``prune``'s choice).

A plan is data: ``items`` of ``[rel, what, ino, mtime_ns, bytes, freed, reason,
package, group]`` where ``what`` is "file" or "tree" and ``group`` is the row it is
shown in. Only entries under ``cache/repositories/<repo>/`` and ``artifacts/`` are ever
named; ``virtualenvs/`` and ``src/`` are never walked for a removal.
"""

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ... import wire
from ...fs import walk
from . import cache as pcache

Item = List[Any]


class PoetryPlan(wire.PlanWire, total=False):
    items: List[Item]
    packages: List[str]


def _file_item(f: walk.FileStat, reason: str, package: str, group: str = "") -> Item:
    return [f.path, "file", f.ino, f.mtime_ns, f.size, walk.freed_bytes([f]), reason,
            package, group or f.path]


def _tree_item(root: str, rel: str, files: Sequence[walk.FileStat], reason: str,
               package: str, group: str = "") -> Item:
    st = os.lstat(os.path.join(root, rel))
    return [rel, "tree", st.st_ino, st.st_mtime_ns, sum(f.size for f in files),
            walk.freed_bytes(files), reason, package, group or rel]


def _under(files: Sequence[walk.FileStat], rel: str) -> List[walk.FileStat]:
    prefix = rel + "/"
    return [f for f in files if f.path.startswith(prefix)]


def release_items(root: str, lay: pcache.Layout, key: Tuple[str, str],
                  repo: Optional[str] = None, reason: str = "") -> List[Item]:
    """Everything of one release (its project's index pages when the version is "");
    with ``repo``, only that repository's release metadata."""
    rel = lay.releases[key]
    package = f"{key[0]} {key[1]}".strip()
    items: List[Item] = []
    for f in rel.metadata:
        where = f.path.split("/")[2]
        if repo is None or where == repo:
            items.append(_file_item(f, reason or f"release metadata ({where})", package))
    for f in sorted(rel.http, key=lambda f: f.path):
        what = "index page" if not key[1] else "download"
        items.append(_file_item(f, reason or f"HTTP cache of its {what} "
                                f"({f.path.split('/')[2]})", package, pcache.http_stem(f.path)))
    for entry in rel.artifacts:
        how = "built wheel beside its sdist" if rel.built else "downloaded"
        items.append(_tree_item(root, entry, _under(lay.artifact_files, entry),
                                reason or f"artifact ({how})", package))
    return items


def stray_items(stem: str, files: List[walk.FileStat], reason: str) -> List[Item]:
    return [_file_item(f, reason, "", stem) for f in sorted(files, key=lambda f: f.path)]


def purge_items(root: str) -> Tuple[List[Item], List[str]]:
    """Every repository (as ``poetry cache clear REPO --all``) and every artifact
    directory; the two directories themselves stay. Only what is shaped as Poetry's is
    taken: a repository holding only FileCache and HTTP cache directories, an
    ``artifacts/<2>/<2>/<2>/<58 hex>`` directory, a file loose in ``cache/repositories``
    (``poetry cache clear --all`` takes it too). The rest is left, and named."""
    items: List[Item] = []
    left: List[str] = []
    reason = "repository (poetry cache clear {} --all)"
    tree = pcache.tree_of(root, pcache.REPOS)
    children = sorted({p.path.split("/")[2] for p in list(tree.files) + list(tree.dirs)
                       if p.path.count("/") >= 2})
    for name in children:
        rel = f"{pcache.REPOS}/{name}"
        if pcache.poetry_repo(root, rel):
            items.append(_tree_item(root, rel, _under(tree.files, rel), reason.format(name),
                                    "", rel))
            continue
        f = next((f for f in tree.files if f.path == rel), None)
        if f is not None and f.kind == "f":
            items.append(_file_item(f, reason.format(name), "", rel))
        else:
            left.append(rel)
    tree = pcache.tree_of(root, pcache.ARTIFACTS)
    entries = sorted({"/".join(p.path.split("/")[:5]) for p in list(tree.files)
                      + list(tree.dirs) if p.path.count("/") >= 1})
    taken = {rel for rel in entries if pcache.ARTIFACT_DIR.match(rel)
             and pcache.real_dir(root, rel)}
    above = {rel.rsplit("/", n)[0] for rel in taken for n in (1, 2, 3)}
    files: Dict[str, List[walk.FileStat]] = {}
    for f in tree.files:
        files.setdefault("/".join(f.path.split("/")[:5]), []).append(f)
    strays = set()
    for rel in entries:
        if rel in taken:
            items.append(_tree_item(root, rel, files.get(rel, []),
                                    "artifacts/ emptied (no Poetry command clears it)", "",
                                    pcache.ARTIFACTS))
        elif rel not in above:
            if rel.rsplit("/", 1)[0] not in strays:
                left.append(rel)  # named once, at its top
            strays.add(rel)
    return items, sorted(left)


def plan_wire(root: str, root_id: List[int], kind: str, items: List[Item],
              packages: List[str]) -> PoetryPlan:
    return {"manager": "poetry", "root": root, "root_id": list(root_id), "kind": kind,
            "freed_bytes": sum(i[5] for i in items), "items": items, "packages": packages}


def rows(plan: PoetryPlan) -> List[Dict[str, Any]]:
    """The plan's rows: one per group (a repository, ``artifacts``, or one path)."""
    out: Dict[str, Dict[str, Any]] = {}
    for _rel, _what, _ino, _mtime, size, freed, reason, package, group in plan["items"]:
        row = out.get(group)
        if row is None:
            out[group] = {"path": os.path.join(plan["root"], group), "manager": "poetry",
                          "bytes": size, "freed": freed, "reason": reason,
                          "package": package, "kind": "poetry"}
        else:
            row["bytes"] += size
            row["freed"] += freed
    return list(out.values())

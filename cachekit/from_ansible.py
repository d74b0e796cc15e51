"""What Ansible collected with ``cachekit.caches.info``, read as cachekit's own run: one
result per host, in the shape the renderers take, so ``report --from-ansible`` prints the
same table, JSON (and HTML) as a run over SSH.

Two forms are read: the directory ``ansible -m cachekit.caches.info --tree DIR`` writes
(one file per host, named by the host, holding the module's result), and one JSON file
mapping each host to its result (a playbook's registered results, written out). A host
Ansible could not reach, whose module failed or that was skipped is a failed row with
Ansible's reason, as an unreachable host is in cachekit's own runs. Every core result is
checked as a remote host's answer is (``wire_check``): a file is not trusted more than a
host.
"""

import os
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

from cachekit import protocol, wire_check
from cachekit.core import bounded
from cachekit.errors import CachekitError
from cachekit.fleet import failed_result

MAX_FILE_BYTES = 64 * 1024 * 1024  # one host's result; a report of thousands stays far below
MAX_FILES = 100_000  # a --tree directory's files: one per host, far more than any fleet
# what only a module's result holds as a plain value (a mapping's values are all results)
RESULT_FLAGS = ("changed", "unreachable", "failed", "skipped", "msg")
HINT = ("give the --tree directory of ansible -m cachekit.caches.info, or a JSON file "
        "mapping hosts to registered results")


def read(source: str, op: str = "report") -> List[Dict[str, Any]]:
    """Every host's result from ``source`` (a ``--tree`` directory or a JSON file), sorted
    by host name; bad input (no such path, nothing in it, not JSON, a host twice) is a
    CachekitError."""
    path = Path(source).expanduser()
    if path.is_dir():
        pairs = [(_host_name(p), _load(p)) for p in _files(path, source)]
        if not pairs:
            raise CachekitError(f"--from-ansible {source}: the directory holds no results",
                                hint="write them with: ansible HOSTS -m cachekit.caches.info "
                                     "--tree DIR")
        _refuse_twice([name for name, _doc in pairs], source)
    elif path.is_file():
        pairs = _pairs(_load(path), path)
    else:
        raise CachekitError(f"--from-ansible {source}: no such file or directory")
    return [host_result(name, doc, op) for name, doc in sorted(pairs, key=lambda p: p[0])]


def _files(folder: Path, source: str) -> List[Path]:
    """The directory's result files (not hidden ones), at most MAX_FILES, sorted."""
    out: List[Path] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            if len(out) == MAX_FILES:
                raise CachekitError(f"--from-ansible {source}: more than {MAX_FILES:,} files",
                                    hint="give a directory holding one result per host")
            out.append(folder / entry.name)
    return sorted(out)


def _refuse_twice(names: List[str], source: str) -> None:
    """HOST and HOST.json are the same host: refused, not counted twice."""
    seen: Set[str] = set()
    twice: List[str] = []
    for name in names:
        if name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    if twice:
        raise CachekitError(f"--from-ansible {source}: the same host twice: "
                            + ", ".join(f"{n} and {n}.json" for n in sorted(twice)),
                            hint="keep one result per host")


def _host_name(path: Path) -> str:
    return path.name[:-5] if path.name.endswith(".json") else path.name


def _load(path: Path) -> Any:
    """A file's JSON, read within MAX_FILE_BYTES (a regular file only: a FIFO would hang),
    an object naming a key twice refused."""
    try:
        return protocol.loads(bounded.read_bytes(str(path), MAX_FILE_BYTES), unique_keys=True)
    except bounded.TooLarge:
        raise CachekitError(f"--from-ansible: {path} is larger than "
                            f"{bounded.describe(MAX_FILE_BYTES)}") from None
    except OSError as exc:
        raise CachekitError(f"--from-ansible: cannot read {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CachekitError(f"--from-ansible: {path} is not a JSON result ({exc})",
                            hint=HINT) from None


def _pairs(doc: Any, path: Path) -> List[Tuple[str, Any]]:
    """A file's hosts: ``{host: result}``, or one module result (the file names its host)."""
    if isinstance(doc, dict) and _is_module_result(doc):
        return [(_host_name(path), doc)]
    if isinstance(doc, dict) and doc and all(isinstance(v, dict) for v in doc.values()):
        return [(str(k), v) for k, v in doc.items()]
    raise CachekitError(f"--from-ansible: {path} is neither a module result nor a mapping of "
                        "hosts to results",
                        hint="write each host's registered result to DIR/HOST (copy: "
                             "content='{{ result | to_json }}'), or one object mapping each "
                             "host to its result")


def _is_module_result(doc: Dict[str, Any]) -> bool:
    """One module's result, not a mapping of hosts: a flag or message as a plain value
    (in a mapping every value is a host's result, an object, whatever the host is called),
    or the core's own result under ``cachekit``."""
    core = doc.get("cachekit")
    return any(k in doc and not isinstance(doc[k], dict) for k in RESULT_FLAGS) or (
        isinstance(core, dict) and "schema" in core)


def host_result(name: str, doc: Any, op: str = "report") -> Dict[str, Any]:
    """One host's row: its core result, or a failed row saying why there is none."""
    if not isinstance(doc, dict):
        return failed(name, "failed", "the Ansible result is not an object")
    core = doc.get("cachekit")
    if doc.get("unreachable"):
        return failed(name, "unreachable", _reason(doc, "Ansible could not reach the host"))
    if doc.get("skipped"):
        return failed(name, "failed", _reason(doc, "Ansible skipped the host"))
    if not isinstance(core, dict):
        facts = doc.get("ansible_facts")
        core = facts.get("cachekit") if isinstance(facts, dict) else None
    if not isinstance(core, dict):  # a --tree file of a failed task says only its msg
        if doc.get("msg"):
            return failed(name, "failed", _reason(doc, "Ansible"))
        return failed(name, "failed", "the result holds no cachekit result (was it "
                                      "cachekit.caches.info?)")
    try:
        protocol.check_schema(core, name)
    except CachekitError as exc:
        return failed(name, "failed", str(exc))
    if core.get("op") != op:  # a refused prune is no report's row either
        return failed(name, "failed", f"the result is cachekit {core.get('op')}, not {op} "
                                      f"(run cachekit.caches.info with view={op})")
    try:
        wire_check.check_result(core, op)
    except wire_check.WireError as exc:
        return failed(name, "failed", f"the Ansible result holds an invalid cachekit result: "
                                      f"{exc}")
    return dict(core, host=name)


def _reason(doc: Dict[str, Any], default: str) -> str:
    msg = doc.get("msg")
    line = str(msg).strip().splitlines()[0] if msg and str(msg).strip() else ""
    return f"{default}: {line}" if line and line != default else default


def failed(name: str, status: str, reason: str) -> Dict[str, Any]:
    """A host with no result, as cachekit's fleet writes one."""
    return failed_result(name, status, reason, 0.0)

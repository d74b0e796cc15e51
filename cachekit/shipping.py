"""What travels to a remote host so that it runs the core with nothing installed there:
the bootstrap, the command line that starts it, the request, and the core's sources.

The core's sources are written, compressed, to the remote ``python3``'s stdin in one
piece; a small bootstrap passed with ``-c`` keeps a copy named by their digest under the
remote user's cache directory (reported as ``core_copy``), or imports them from memory
where it cannot write, and prints one JSON result. Its first line, ``@need`` or
``@ready``, says whether the sources must cross at all: after the first run they do not.

Bytes and strings only: the SSH session that carries them is ``remote``'s, so this
module imports neither Fabric nor Paramiko.
"""

import hashlib
import json
import shlex
import zlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from cachekit.inventory import Host
from cachekit.protocol import NEED, READY, HostFailure

CORE_DIR = Path(__file__).resolve().parent / "core"

# Runs on the remote python3 (3.8+). It keeps a copy of the shipped core, named by its
# digest, in $XDG_CACHE_HOME/cachekit (or ~/.cache/cachekit; a host's cachekit_env may set
# XDG_CACHE_HOME), so that Python reuses compiled .pyc files instead of compiling 50 kB
# of source on every run (about 10 ms a host); it imports from memory when that
# directory cannot be written. The copy is trusted as the user's own files are: whoever
# can write there can already edit that user's shell start-up files. So it is kept only
# where the user the core runs as (the effective user, under become) owns the way: a
# base that is another user's, or that someone else could swap (a login user's HOME or
# XDG_CACHE_HOME passed through sudo, a symlink or directory of theirs on the way, a
# directory others may write: OpenSSH's safe_path rule, but for a root-owned sticky
# directory such as /tmp above it), is replaced by the effective user's own home from the
# passwd database; when that is not safe either (or ~/.cache is a dangling symlink), the
# core imports from memory. The copy is checked again before it is used.
BOOTSTRAP = """\
import json, os, sys, time, zlib
if sys.version_info < (3, 8):
    sys.stderr.write("cachekit needs python3 >= 3.8 on this host, found %s\\n" % sys.version)
    sys.exit(3)
request = json.loads(sys.stdin.buffer.readline().decode("utf-8"))
base = (request.get("environ") or {}).get("XDG_CACHE_HOME") or os.environ.get("XDG_CACHE_HOME", "")
base = base.strip()
if not base.startswith("/"):
    base = os.path.join(os.path.expanduser("~"), ".cache")
# ours: the nearest existing part is ours and no one else may write it; every part above
# it (as written and resolved) is ours or root's, and writable by no one else but a
# root-owned sticky directory (/tmp: there only an entry's owner can move it)
def ours(path):
    uid, path = os.geteuid(), os.path.normpath(path)
    try:
        while not os.path.lexists(path):
            path = os.path.dirname(path)
        real = os.path.realpath(path)
        if os.stat(real).st_uid != uid or os.stat(real).st_mode & 0o022:
            return False
        for part in (path, real):
            while True:
                st = os.lstat(part)
                if st.st_uid not in (0, uid):
                    return False
                if st.st_mode & 0o022 and not (st.st_mode & 0o1000 and st.st_uid == 0) \
                        and (st.st_mode & 0o170000) != 0o120000:  # a symlink's mode is 777
                    return False
                if part == os.path.dirname(part):
                    break
                part = os.path.dirname(part)
    except OSError:  # a dangling symlink, a directory we may not search: not ours
        return False
    return True
if not ours(base):  # e.g. the login user's XDG_CACHE_HOME or HOME, seen through sudo
    import pwd
    try:
        base = os.path.join(pwd.getpwuid(os.geteuid()).pw_dir, ".cache")
    except KeyError:  # a uid with no passwd entry (a container's): from memory
        base = ""
target = os.path.join(base, "cachekit", "core-" + request["core_digest"]) \
    if base and ours(base) else ""
ready = bool(target) and os.path.isfile(os.path.join(target, "COMPLETE")) and ours(target)
if ready:
    try:
        os.utime(target)  # in use: not an old copy another version may clear
    except OSError:
        pass
sys.stdout.write("@ready\\n" if ready else "@need\\n")  # the sources come only if needed
sys.stdout.flush()
body = b"" if ready else sys.stdin.buffer.read()
if not ready and target:
    blob = json.loads(zlib.decompress(body).decode("utf-8"))
    tmp = "%s.tmp%d" % (target, os.getpid())
    try:
        for name, src in blob["modules"].items():
            path = os.path.join(tmp, *name.split("."))
            path += "/__init__.py" if name in blob["packages"] else ".py"
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(src)
        open(os.path.join(tmp, "COMPLETE"), "w").close()
        os.rename(tmp, target)
        for old in os.listdir(os.path.dirname(target)):  # earlier copies, a day unused
            old_path = os.path.join(os.path.dirname(target), old)
            if old.startswith("core-") and len(old) == 21 and old != os.path.basename(target) \
                    and os.stat(old_path).st_mtime < time.time() - 86400:
                import shutil
                shutil.rmtree(os.path.join(os.path.dirname(target), old), ignore_errors=True)
    except OSError:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)  # read-only, full, or another run won
if target and os.path.isfile(os.path.join(target, "COMPLETE")) and ours(target):
    sys.path.insert(0, target)
    request["core_copy"] = target
else:
    from importlib.machinery import ModuleSpec
    blob = json.loads(zlib.decompress(body).decode("utf-8"))
    SRC, PKGS = blob["modules"], set(blob["packages"])
    class Loader:  # finder and loader in one; importlib.abc/util cost ~5 ms to import
        def find_spec(self, name, path=None, target=None):
            if name in SRC:
                spec = ModuleSpec(name, self, is_package=name in PKGS)
                if name in PKGS:
                    spec.submodule_search_locations = []
                return spec
        def create_module(self, spec):
            return None
        def exec_module(self, module):
            exec(compile(SRC[module.__name__], "<cachekit>/" + module.__name__, "exec"),
                 module.__dict__)
    sys.meta_path.insert(0, Loader())
from cachekit.core import agent
sys.stdout.write(json.dumps(agent.run(request, agent.print_progress)) + "\\n")
"""


def _sources() -> Dict[str, Any]:
    """Every module of the core by dotted name, and which names are packages (each
    directory's ``__init__.py``; ``cachekit`` travels empty: a host needs only its core).
    One walk of the tree."""
    modules, packages = {"cachekit": ""}, ["cachekit"]
    for path in sorted(CORE_DIR.rglob("*.py")):
        parts = path.relative_to(CORE_DIR.parent.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
            packages.append(".".join(parts))
        modules[".".join(parts)] = path.read_text()
    return {"modules": modules, "packages": packages}


_CORE: Optional[Tuple[str, bytes]] = None
_DIGEST: Optional[Tuple[str, Dict[str, Any]]] = None


def _digest() -> Tuple[str, Dict[str, Any]]:
    """The core's digest (names the copy a host keeps) and its sources, read once."""
    global _DIGEST
    if _DIGEST is None:
        blob = _sources()
        digest = hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]
        _DIGEST = (digest, blob)
    return _DIGEST


def compressed_core() -> Tuple[str, bytes]:
    """The digest and the compressed sources, made once per process, and only when a
    host needs them (compressing costs more than a fleet run's whole start-up)."""
    global _CORE
    if _CORE is None:
        digest, blob = _digest()
        _CORE = (digest, zlib.compress(json.dumps(blob).encode("utf-8"), 6))
    return _CORE


def request_line(request: Dict[str, Any]) -> bytes:
    """The request as one JSON line (JSON never holds a raw newline), naming the core."""
    return json.dumps(dict(request, core_digest=_digest()[0])).encode("utf-8") + b"\n"


MARKER_WAIT_S = 2.0  # a host slower than this to say what it needs gets the sources anyway


def take_marker(out: bytearray) -> Optional[bytes]:
    """The bootstrap's first line if it is ``@need`` or ``@ready``, taken out of ``out``;
    else None, and ``out`` is left as it is."""
    line, sep, _rest = bytes(out[:8]).partition(b"\n")
    if sep and line in (NEED, READY):
        del out[:len(line) + 1]
        return line
    return None


def interpreter(host: Host) -> List[str]:
    """``ansible_python_interpreter`` as Ansible takes it: a command, with arguments
    (``/usr/bin/env python3``), split as a POSIX shell splits words; each word is quoted
    again when the command is sent, so nothing in it is expanded on the host."""
    value = host.python
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise HostFailure("failed", f"ansible_python_interpreter {value!r} of host {host.name} "
                          f"is not a command ({exc}); quote a path with spaces as a shell "
                          "would") from None
    if not words:
        raise HostFailure("failed", f"ansible_python_interpreter of host {host.name} is empty")
    return words


# Ansible's interpreter discovery values: cachekit runs the first of Ansible's fallback
# list, newest first, that starts and is 3.8 or newer (a version shim may exist and fail).
AUTO = ("auto", "auto_silent", "auto_legacy", "auto_legacy_silent")
AUTO_CANDIDATES = ["python3.13", "python3.12", "python3.11", "python3.10", "python3.9",
                   "python3.8", "/usr/bin/python3", "/usr/libexec/platform-python", "python3"]


def command_line(host: Host) -> str:
    """The shell command that starts the bootstrap with the host's interpreter."""
    if host.python.strip() in AUTO:
        tried = " ".join(AUTO_CANDIDATES)
        works = shlex.quote("import sys; sys.exit(sys.version_info < (3, 8))")
        return (f"for p in {tried}; do if \"$p\" -c {works} >/dev/null 2>&1; then exec "
                f"\"$p\" -c {shlex.quote(BOOTSTRAP)}; fi; done; "
                f"echo 'no python 3.8+ found (tried {tried})' >&2; exit 127")
    return " ".join(shlex.quote(w) for w in interpreter(host) + ["-c", BOOTSTRAP])


def named_interpreter(host: Host) -> str:
    """The host's interpreter as an error names it, and where it was set."""
    if "ansible_python_interpreter" in host.vars:
        return f"the python interpreter {host.python!r} (ansible_python_interpreter)"
    return (f"the python interpreter {host.python!r} (the default; set "
            "ansible_python_interpreter)")

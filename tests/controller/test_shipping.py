"""What travels to a host is the whole core, subpackages included, and it imports from
memory as the bootstrap's loader does (the on-disk copy and the loader over real sshd are
tests/fleet/test_remote.py's)."""

import json
import subprocess
import sys
from pathlib import Path

from cachekit import shipping

CORE = Path(shipping.CORE_DIR)


def test_every_module_and_package_of_the_core_travels() -> None:
    modules = shipping._sources()["modules"]
    on_disk = {".".join(p.relative_to(CORE.parent.parent).with_suffix("").parts)
               .removesuffix(".__init__") for p in CORE.rglob("*.py")}
    assert on_disk <= set(modules)
    assert "cachekit.core.managers.pip.sweep" in modules  # three levels down
    packages = set(shipping._sources()["packages"])
    # every directory of the core is a package, so the in-memory loader can import it
    assert all((d / "__init__.py").is_file() for d in CORE.rglob("*")
               if d.is_dir() and d.name != "__pycache__")
    assert {"cachekit", "cachekit.core", "cachekit.core.fs", "cachekit.core.ops",
            "cachekit.core.managers", "cachekit.core.managers.conda"} <= packages


def test_the_real_bootstrap_serves_a_request_from_memory(tmp_path: Path) -> None:
    """The bootstrap a host runs, fed the request and the shipped sources, with nothing of
    the repo on the path and nowhere to keep a copy: it imports the core from memory,
    three package levels down, and answers through the registry's managers."""
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")  # the copy would go under it: writing fails, memory it is
    request = {"op": "dir", "environ": {"HOME": str(tmp_path),
                                       "XDG_CACHE_HOME": str(blocked / "cache")}}
    _digest, blob = shipping.compressed_core()
    done = subprocess.run([sys.executable, "-I", "-S", "-c", shipping.BOOTSTRAP],
                          input=shipping.request_line(request) + blob, capture_output=True,
                          cwd=str(tmp_path), timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    marker, answer = done.stdout.decode().splitlines()[0], done.stdout.decode().splitlines()[-1]
    assert marker == "@need"
    result = json.loads(answer)
    assert result["status"] == "ok", result["error"]
    assert result["core_copy"] is None  # served from memory, no copy kept
    assert "pip" in [c["manager"] for c in result["caches"]]

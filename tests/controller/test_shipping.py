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
    modules = shipping._modules()
    on_disk = {".".join(p.relative_to(CORE.parent.parent).with_suffix("").parts)
               .removesuffix(".__init__") for p in CORE.rglob("*.py")}
    assert on_disk <= set(modules)
    assert "cachekit.core.managers.pip.sweep" in modules  # three levels down
    packages = set(shipping._packages())
    assert {"cachekit", "cachekit.core", "cachekit.core.fs", "cachekit.core.ops",
            "cachekit.core.managers", "cachekit.core.managers.conda"} <= packages


def test_the_shipped_blob_serves_a_request_from_memory(tmp_path: Path) -> None:
    """The compressed sources, loaded by a finder like the bootstrap's, with nothing of
    the repo on the path, answer a request through the registry's managers."""
    _digest, blob = shipping.compressed_core()
    (tmp_path / "core.z").write_bytes(blob)
    program = f"""
import json, sys, zlib
from importlib.machinery import ModuleSpec
blob = json.loads(zlib.decompress(open({str(tmp_path / 'core.z')!r}, 'rb').read()))
SRC, PKGS = blob["modules"], set(blob["packages"])
class Loader:
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
print(json.dumps(agent.run({{"op": "dir", "environ": {{"HOME": {str(tmp_path)!r}}}}})))
"""
    done = subprocess.run([sys.executable, "-I", "-S", "-c", program], capture_output=True,
                          text=True, cwd=str(tmp_path), timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok", result["error"]
    assert "pip" in [c["manager"] for c in result["caches"]]

"""``invoke TASK`` in the repo runs the same tasks as the installed ``cachekit TASK``, plus
the repo's own: ``invoke collection`` builds the Ansible collection ``cachekit.caches``."""

import shlex
import sys
from pathlib import Path

from invoke import Context, task

from cachekit.tasks import collection as _cachekit_tasks

REPO = Path(__file__).resolve().parent


@task(help={"output": "where the tarball goes (default: dist/)"})
def collection(c: Context, output: str = "dist") -> None:
    """Build the Ansible collection cachekit.caches: the tree (core copied in) and its tarball."""
    script = REPO / "scripts" / "build_collection.py"
    c.run(" ".join(shlex.quote(str(w)) for w in (sys.executable, script, "--output",
                                                  Path(output).resolve())))


ns = _cachekit_tasks()  # Invoke looks for ``ns``
ns.add_task(collection)

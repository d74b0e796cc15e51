"""Where the runner tool cache is: ``AGENT_TOOLSDIRECTORY`` when set (setup-python honours
it first), else ``RUNNER_TOOL_CACHE``. Alone in its module: every host asks it (is there
a tool cache here?), and the answer needs none of the rest."""

import os
from typing import Dict, Optional, Tuple


def locate(environ: Dict[str, str]) -> Tuple[Optional[str], str]:
    for var in ("AGENT_TOOLSDIRECTORY", "RUNNER_TOOL_CACHE"):
        if environ.get(var):
            return os.path.abspath(environ[var]), var
    return None, "neither AGENT_TOOLSDIRECTORY nor RUNNER_TOOL_CACHE is set"

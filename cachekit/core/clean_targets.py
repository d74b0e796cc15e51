"""Which of conda's clean targets a request asks for, and the combinations refused: read
the same way for the controller's flags (``--tarballs``) and the Ansible module's options
(``tarballs: true``), which only spell the names differently."""

from typing import Callable, Dict, List

from .policy_text import BadValue

# the targets in the order the request lists them (conda clean's, then cachekit's own)
TARGETS = ("tarballs", "packages", "index_cache", "tempfiles", "logfiles", "all", "trash",
           "lock")
FORCE = "force_pkgs_dirs"  # the request's flag "force": each cache removed whole


def flags(chosen: Dict[str, bool], force_pkgs_dirs: bool, break_environments: bool,
          spell: Callable[[str], str]) -> List[str]:
    """The request's ``flags`` for the targets ``chosen`` (name -> on); BadValue, with the
    names as ``spell`` writes them, for none at all, force_pkgs_dirs with another target,
    or break_environments without force_pkgs_dirs."""
    out = [name for name in TARGETS if chosen.get(name)]
    out += ["force"] if force_pkgs_dirs else []
    if not out:
        raise BadValue("clean needs at least one target",
                       hint=", ".join(spell(t) for t in TARGETS) + f" or {spell(FORCE)}")
    if force_pkgs_dirs and len(out) > 1:
        raise BadValue(f"{spell(FORCE)} removes whole caches; give it alone")
    if break_environments and not force_pkgs_dirs:
        raise BadValue(f"{spell('break_environments')} only goes with {spell(FORCE)}")
    return out

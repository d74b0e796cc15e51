"""Select hosts by name with Ansible's ``--limit`` patterns, as ``--hosts`` takes them.

A pattern is host names, group names, globs and ``~regex`` terms (matched from the
start), joined by ``,`` or ``:``; a term may be narrowed with ``&`` (and), excluded with
``!`` (not), or subscripted (``web[0]``, ``web[-1]``, ``web[1:3]``). Globs and regexes see
the inventory's hosts and groups, never an implicit host such as ``local``.

A pattern is input too: Python's ``re`` backtracks, so a ``~regex`` runs in a child
process with a time cap, and a term that matches nothing is an error naming close
matches, not an empty run.
"""

import fnmatch
import json
import re
import subprocess
import sys
from typing import Collection, Dict, List, Optional, Set

from cachekit.errors import CachekitError

REGEX_SECONDS = 5.0  # a `~regex` host pattern gets this long to match every name
# Ansible's subscripts: group[0], group[-1], group[1:3] and group[1-3] (end inclusive)
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|(-?[0-9]+)?[:-](-?[0-9]+)?)\]$")


def select(pattern: str, hosts: Collection[str], groups: Dict[str, Set[str]],
           source: str) -> Set[str]:
    """The names of the hosts ``pattern`` matches.

    ``hosts`` is every selectable host name in inventory order (implicit ones included),
    ``groups`` maps each group to every host in it (``all`` included), and ``source``
    names the inventory in errors.
    """
    terms = split_pattern(pattern)
    if not terms or any(t in ("&", "!") for t in terms):
        raise CachekitError(f"malformed host pattern {pattern!r}",
                            hint="e.g. --hosts=web, --hosts='web:&prod', --hosts='all:!db'")
    matcher = _Matcher(hosts, groups, source)
    plain = [t for t in terms if t[0] not in "&!"]
    selected: Set[str] = set() if plain else set(groups["all"])
    for term in plain:
        selected |= matcher.match(term)
    for term in (t[1:] for t in terms if t[0] == "&"):
        selected &= matcher.match(term)
    for term in (t[1:] for t in terms if t[0] == "!"):
        selected -= matcher.match(term)
    return selected


def split_pattern(pattern: str) -> List[str]:
    """Ansible's rule: a comma list as is; otherwise split on ``:`` outside brackets."""
    if "," in pattern:
        parts = pattern.split(",")
    else:
        parts = re.findall(r"(?:[^\s:\[\]]|\[[^\]]*\])+", pattern)
    return [p.strip() for p in parts if p.strip()]


class _Matcher:
    """The hosts one term of a pattern names, against one inventory's names."""

    def __init__(self, hosts: Collection[str], groups: Dict[str, Set[str]],
                 source: str) -> None:
        self.hosts = hosts
        self.groups = groups
        self.source = source

    def match(self, term: str) -> Set[str]:
        sub = _SUBSCRIPT.match(term)
        if sub and term not in self.hosts and not term.startswith("~"):
            if max(len(n or "") for n in sub.groups()[1:]) > 18:
                raise CachekitError(f"host pattern {term!r}: a subscript has at most 18 digits")
            return self._subscript(*sub.groups())
        if term in ("all", "*"):
            return set(self.groups["all"])
        if term in self.groups:
            return set(self.groups[term])
        if term in self.hosts:
            return {term}
        # Like Ansible: globs and ~regexes (matched from the start) see inventory hosts
        # and groups, never an implicit host.
        names = list(self.groups["all"]) + list(self.groups)
        if term.startswith("~"):
            matched = _regex_matches(term, names)
        else:  # fnmatch's regexes do not backtrack (Python 3.9+)
            rx = re.compile(fnmatch.translate(term))
            matched = {n for n in names if rx.match(n)}
        found = {h for h in self.groups["all"] if h in matched}
        found |= {h for g, members in self.groups.items() if g in matched for h in members}
        if not found:
            names = list(self.groups) + list(self.hosts)
            import difflib  # only on this path: start-up stays lean

            close = difflib.get_close_matches(term, names, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else \
                f"`cachekit hosts --hosts=all` lists the hosts of {self.source}"
            raise CachekitError(f"host pattern {term!r} matches no host or group in "
                                f"{self.source}", hint=hint)
        return found

    def _subscript(self, base: str, index: Optional[str], start: Optional[str],
                   end: Optional[str]) -> Set[str]:
        members = self.match(base)
        ordered = [h for h in self.hosts if h in members]
        if index is not None:
            i = int(index)
            return {ordered[i]} if -len(ordered) <= i < len(ordered) else set()
        first = int(start) if start else 0
        last = int(end) if end else len(ordered) - 1
        return set(ordered[first: last + 1])


# Run in a child Python: a backtracking regex cannot be stopped from within, a process can.
_MATCHER = """
import json, re, sys
job = json.load(sys.stdin)
rx = re.compile(job["pattern"])
json.dump([i for i, name in enumerate(job["names"]) if rx.match(name)], sys.stdout)
"""


def _regex_matches(term: str, names: List[str]) -> Set[str]:
    """The names a ``~regex`` term matches, or an error if matching takes too long.

    Python's ``re`` backtracks: ``~(a+)+$`` against a long name would run for ages. So the
    match runs in a child process that is killed after ``REGEX_SECONDS``.
    """
    try:
        re.compile(term[1:])
    except re.error as exc:
        raise CachekitError(f"bad regular expression in host pattern {term!r}: {exc}") \
            from None
    job = json.dumps({"pattern": term[1:], "names": names})
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", _MATCHER], input=job,
                              capture_output=True, text=True, timeout=REGEX_SECONDS)
    except subprocess.TimeoutExpired:
        raise CachekitError(
            f"host pattern {term!r} did not finish matching {len(names)} host and group names in "
            f"{REGEX_SECONDS:g} s: the regular expression backtracks too much",
            hint="simplify it: no nested repeats such as (a+)+, or use a glob") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CachekitError(f"host pattern {term!r} could not be matched: {last}")
    return {names[i] for i in json.loads(done.stdout)}

"""Read an Ansible-style YAML inventory: its hosts, groups, variables and connection settings.

An existing Ansible YAML inventory works unchanged: groups with ``hosts``, ``vars`` and
``children``, host ranges such as ``build[01:16]``, ``group_vars/`` and ``host_vars/``
beside it, variables inherited all -> parent group -> child group -> host (deeper groups
win; groups at the same depth merge by name, as Ansible does).

The name ``local`` always means this machine, in-process, and so does ``localhost``
without an ``ansible_host``, or any host with ``ansible_connection: local``.

An inventory is input someone else may have written: every file is read through the
bounded reader, the group tree is walked without recursion, and the limits below turn
what would hang or exhaust the controller (cycles, deep nesting, huge ranges, alias
bombs) into one-line errors. ``Inventory.select`` takes ``--hosts`` patterns through
``host_patterns``.
"""

import itertools
import os
import re
import string
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

from cachekit import host_patterns
from cachekit.errors import CachekitError

LOCAL = "local"


def read_yaml(path: str, max_hosts: int) -> Any:
    """``inventory_yaml.read_yaml``, imported only when an inventory is read: PyYAML costs
    a tenth of the start-up of a run that has none."""
    from cachekit import inventory_yaml

    return inventory_yaml.read_yaml(path, max_hosts)


def _where(path: str, mapping: Any, key: Any) -> str:
    from cachekit import inventory_yaml

    return inventory_yaml.where(path, mapping, key)


# Limits on what an inventory may ask for (README, "Inventory"): each is far above any real
# inventory and far below what would hang or exhaust the controller.
MAX_HOSTS = 100_000  # hosts in the whole inventory, and names one range may expand to
MAX_HOST_ENTRIES = 1_000_000  # host listings (a host in five groups is listed five times)
MAX_MEMBERSHIPS = 5_000_000  # host-in-group pairs, inherited ones included
MAX_GROUP_DEPTH = 64  # groups within groups below `all`
_RANGE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\]")
_GROUP_KEYS = {"hosts", "vars", "children"}


@dataclass
class Host:
    name: str
    vars: Dict[str, Any] = field(default_factory=dict)
    groups: List[str] = field(default_factory=list)

    @property
    def local(self) -> bool:
        if self.vars.get("ansible_connection") == "local" or self.name == LOCAL:
            return True
        return self.name == "localhost" and "ansible_host" not in self.vars

    @property
    def address(self) -> str:
        return str(self.vars.get("ansible_host") or self.name)

    @property
    def port(self) -> Optional[int]:
        port = self.vars.get("ansible_port")
        return int(port) if port is not None else None

    @property
    def user(self) -> Optional[str]:
        user = self.vars.get("ansible_user")
        return str(user) if user is not None else None

    @property
    def key_file(self) -> Optional[str]:
        key = self.vars.get("ansible_ssh_private_key_file")
        return os.path.expanduser(str(key)) if key else None

    @property
    def python(self) -> str:
        return str(self.vars.get("ansible_python_interpreter") or "python3")

    def cachekit_vars(self) -> Dict[str, Any]:
        return {k: v for k, v in self.vars.items() if k.startswith("cachekit_")}


@dataclass
class _Group:
    name: str
    depth: int = 0
    vars: Dict[str, Any] = field(default_factory=dict)
    hosts: Set[str] = field(default_factory=set)
    children: Set[str] = field(default_factory=set)
    parents: Set[str] = field(default_factory=set)


class Inventory:
    """Hosts and groups, with every host's variables already resolved."""

    def __init__(self, hosts: Dict[str, Host], groups: Dict[str, Set[str]],
                 source: str) -> None:
        self.hosts = hosts  # implicit hosts (``local``) are selectable by name only
        self.groups = groups  # group -> every host in it, children included
        self.source = source

    def select(self, pattern: str) -> List[Host]:
        """Hosts matched by an Ansible host pattern (``host_patterns``), in inventory order."""
        selected = host_patterns.select(pattern, self.hosts.keys(), self.groups, self.source)
        chosen = [h for name, h in self.hosts.items() if name in selected]
        for host in chosen:  # checked for the hosts a run uses, as Ansible checks them
            _check_port(host)
        return chosen


BOOLEANS_TRUE = ("y", "yes", "on", "1", "true", "t")  # Ansible's, compared lowercased
BOOLEANS_FALSE = ("n", "no", "off", "0", "false", "f")


def boolean(value: Any) -> Optional[bool]:
    """An inventory value as Ansible's ``boolean()`` reads it: YAML true/false, 1/0, or
    yes/no/on/off/y/n/t/f/1/0 as text (any case); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return True if value == 1 else False if value == 0 else None
    text = str(value).strip().lower()
    return True if text in BOOLEANS_TRUE else False if text in BOOLEANS_FALSE else None


def parse_users(value: Any, where: str) -> Any:
    """``all``, a list of user names, or None (``none``): what a request's ``users`` is."""
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str):
        raise CachekitError(f"{where} must be 'all', 'none' or a comma list of user names "
                            f"(got {value!r})")
    if value.strip() in ("all", "none"):
        return None if value.strip() == "none" else "all"
    names = [n.strip() for n in value.split(",") if n.strip()]
    bad = [n for n in names if n.startswith("-") or not all(
        c.isalnum() or c in "._-$" for c in n)]
    if not names or bad:
        raise CachekitError(f"{where} {value!r}: not a user name: {(bad or [value])[0]!r}",
                            hint="give all, none, or NAME[,NAME] as in the passwd database")
    return list(dict.fromkeys(names))

def _check_port(host: Host) -> None:
    port = host.vars.get("ansible_port")
    if port is None:
        return
    text = str(port).strip()
    if isinstance(port, bool) or not text.isdigit() or not 0 < int(text) < 65536:
        raise CachekitError(f"host {host.name}: ansible_port {port!r} is not a port number "
                            "(1-65535)", hint="fix it in the inventory")


def expand_range(name: str, limit: int = MAX_HOSTS) -> List[str]:
    """``build[01:16]`` -> build01..build16; ``node[a:c]`` -> nodea..nodec; ranges multiply.

    A name that would expand to more than ``limit`` hosts is refused before any is made.
    """
    pieces: List[List[str]] = []  # literal text and the values of each range, in order
    at, count = 0, 1
    for m in _RANGE.finditer(name):
        start, end, step = m.group(1), m.group(2), int(m.group(3) or 1)
        if step < 1:
            raise ValueError(f"bad host range {m.group(0)!r} in {name!r}: the step must be "
                             "at least 1")
        if start.isdigit() and end.isdigit():
            if max(len(start), len(end)) > 18:  # Python refuses huge ones anyway (4300)
                raise ValueError(f"bad host range {m.group(0)!r} in {name!r}: numbers in a "
                                 "range have at most 18 digits")
            first, last = int(start), int(end)
        elif len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
            first, last = string.ascii_letters.index(start), string.ascii_letters.index(end)
        else:
            raise ValueError(f"bad host range {m.group(0)!r} in {name!r}")
        count *= max(0, (last - first) // step + 1)  # counted, not made: it may be huge
        if count > limit:
            raise ValueError(f"host range {m.group(0)!r} in {name!r} makes {count:,} hosts; "
                             f"the limit is {limit:,}")
        if start.isdigit():
            width = len(start) if start.startswith("0") and len(start) > 1 else 0
            made = [str(i).zfill(width) for i in range(first, last + 1, step)]
        else:
            made = list(string.ascii_letters[first: last + 1: step])
        pieces += [[name[at:m.start()]], made]
        at = m.end()
    if not pieces:
        return [name]
    pieces.append([name[at:]])
    return ["".join(parts) for parts in itertools.product(*pieces)]


class _Builder:
    def __init__(self) -> None:
        self.groups: Dict[str, _Group] = {"all": _Group("all")}
        self.host_vars: Dict[str, Dict[str, Any]] = {}
        self.host_order: List[str] = []
        self.entries = 0  # host listings read, repeats included (MAX_HOST_ENTRIES)

    def group(self, path: str, name: str, body: Any, parent: Optional[str],
              where: str) -> None:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise CachekitError(f"{where}: group {name!r} must be a mapping of hosts, vars, "
                                f"children (got {type(body).__name__})")
        unknown = [k for k in body if k not in _GROUP_KEYS]
        if unknown:
            raise CachekitError(f"{_where(path, body, unknown[0])}: unknown key {unknown[0]!r} "
                                f"in group {name!r}", hint="a group has hosts, vars and children")
        group = self.groups.setdefault(name, _Group(name))
        if parent == name:  # Ansible: "can't add group to itself"
            raise CachekitError(f"{where}: group {name!r} lists itself as a child",
                                hint="a group cannot contain itself")
        if parent:
            self.groups[parent].children.add(name)
            group.parents.add(parent)
        group.vars.update(self._mapping(path, body, "vars", f"vars of group {name!r}"))
        for pattern, hvars in self._mapping(path, body, "hosts", f"hosts of {name!r}").items():
            try:
                names = expand_range(str(pattern))
            except ValueError as exc:
                raise CachekitError(f"{_where(path, body['hosts'], pattern)}: {exc}") from None
            if hvars is not None and not isinstance(hvars, dict):
                raise CachekitError(f"{_where(path, body['hosts'], pattern)}: variables of "
                                    f"host {pattern!r} must be a mapping")
            self.entries += len(names)
            if self.entries > MAX_HOST_ENTRIES:
                raise CachekitError(f"{_where(path, body['hosts'], pattern)}: the inventory "
                                    f"lists hosts more than {MAX_HOST_ENTRIES:,} times",
                                    hint="split it into smaller inventories")
            for host in names:
                if host not in self.host_vars:
                    if len(self.host_order) >= MAX_HOSTS:
                        raise CachekitError(
                            f"{_where(path, body['hosts'], pattern)}: more than "
                            f"{MAX_HOSTS:,} hosts in the inventory",
                            hint="split it into smaller inventories")
                    self.host_vars[host] = {}
                    self.host_order.append(host)
                self.host_vars[host].update(hvars or {})
                group.hosts.add(host)
        children = self._mapping(path, body, "children", f"children of {name!r}")
        for child, child_body in children.items():
            self.group(path, str(child), child_body, name, _where(path, children, child))

    @staticmethod
    def _mapping(path: str, body: Dict[str, Any], key: str, what: str) -> Dict[str, Any]:
        value = body.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise CachekitError(f"{_where(path, body, key)}: {what} must be a mapping "
                                f"(got {type(value).__name__})",
                                hint="Ansible's YAML inventory uses `hosts: {name: vars}`")
        return value

    def build(self, source: str) -> Inventory:
        order = self._nesting(source)
        members: Dict[str, Set[str]] = {}
        held = 0
        for name in reversed(order):  # children before their parents: no recursion
            group = self.groups[name]
            found = set(group.hosts)
            for child in group.children:
                found |= members[child]
            members[name] = found
            held += len(found)
            if held > MAX_MEMBERSHIPS:
                raise CachekitError(f"groups in {source} hold more than {MAX_MEMBERSHIPS:,} "
                                    "hosts in all (hosts of child groups included)",
                                    hint="split it into smaller inventories")
        members["all"] = set(self.host_order)
        in_groups = {h for g, hs in members.items() if g != "all" for h in hs}
        members["ungrouped"] = {h for h in self.host_order if h not in in_groups}
        of_host: Dict[str, List[str]] = {h: [] for h in self.host_order}
        for g in self.groups:  # one pass over memberships, not hosts x groups
            for h in members[g]:
                of_host[h].append(g)
        hosts: Dict[str, Host] = {}
        for name in self.host_order:
            groups = sorted(of_host[name], key=lambda g: (self.groups[g].depth, g))
            merged: Dict[str, Any] = {}
            for g in groups:
                merged.update(self.groups[g].vars)
            merged.update(self.host_vars[name])
            hosts[name] = Host(name, merged, [g for g in groups if g != "all"])
        if LOCAL not in hosts:  # implicit, like Ansible's localhost: not part of `all`
            hosts[LOCAL] = Host(LOCAL, dict(self.groups["all"].vars))
        return Inventory(hosts, members, source)

    def _nesting(self, source: str) -> List[str]:
        """Groups parents first; each group's depth (its longest path from `all`).

        Cycles and nesting deeper than MAX_GROUP_DEPTH are refused, by name.
        """
        waiting = {name: len(g.parents) for name, g in self.groups.items()}
        ready = [name for name, count in waiting.items() if count == 0]
        order: List[str] = []
        via: Dict[str, str] = {}  # group -> the parent its depth comes through
        while ready:
            name = ready.pop()
            order.append(name)
            for child in sorted(self.groups[name].children):
                if self.groups[name].depth + 1 > self.groups[child].depth:
                    self.groups[child].depth = self.groups[name].depth + 1
                    via[child] = name
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        if len(order) < len(self.groups):
            cycle = self._cycle({n for n, count in waiting.items() if count > 0})
            raise CachekitError(f"groups in {source} contain each other: "
                                f"{' > '.join(cycle)}",
                                hint="a group cannot be its own child, directly or "
                                     "through its children")
        deepest = max(order, key=lambda n: self.groups[n].depth)
        if self.groups[deepest].depth > MAX_GROUP_DEPTH:
            chain = [deepest]
            while chain[-1] in via:
                chain.append(via[chain[-1]])
            chain.reverse()
            shown = chain[:3] + ["..."] + chain[-2:]
            raise CachekitError(f"groups in {source} nest {len(chain) - 1} deep "
                                f"({' > '.join(shown)}); the limit is {MAX_GROUP_DEPTH}",
                                hint="flatten the group tree")
        return order

    def _cycle(self, stuck: Set[str]) -> List[str]:
        """One cycle among groups that are waiting for a parent: walk up until a repeat."""
        path: List[str] = []
        seen: Dict[str, int] = {}
        name = min(stuck)
        while name not in seen:
            seen[name] = len(path)
            path.append(name)
            name = min(p for p in self.groups[name].parents if p in stuck)
        loop = path[seen[name]:] + [name]
        return list(reversed(loop))


def _inventory_files(path: str) -> Tuple[List[str], str]:
    """Inventory files to read, and the directory holding group_vars/ and host_vars/."""
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path)
                       if f.endswith((".yml", ".yaml")) and not f.startswith("."))
        return files, path
    return [path], os.path.dirname(path) or "."


def _vars_files(base: str, kind: str, name: str) -> List[str]:
    """group_vars/NAME.yml, NAME.yaml, NAME (file) or NAME/ (a directory of files)."""
    stem = os.path.join(base, kind, name)
    if os.path.isdir(stem):
        return sorted(os.path.join(stem, f) for f in os.listdir(stem)
                      if f.endswith((".yml", ".yaml")))
    return [p for p in (stem + ".yml", stem + ".yaml", stem) if os.path.isfile(p)]


def default_path(explicit: Optional[str] = None) -> Optional[str]:
    """--inventory, else $CACHEKIT_INVENTORY, else ./inventory if it exists."""
    if explicit:
        return explicit
    if os.environ.get("CACHEKIT_INVENTORY"):
        return os.environ["CACHEKIT_INVENTORY"]
    return "inventory" if os.path.exists("inventory") else None


def load(path: Optional[str]) -> Inventory:
    """Read the inventory at ``path``; with no inventory at all only ``local`` exists."""
    builder = _Builder()
    if path is None:
        return builder.build("the built-in inventory (only `local`)")
    if not os.path.exists(path):
        raise CachekitError(f"inventory {path} does not exist",
                            hint="pass --inventory=FILE or set CACHEKIT_INVENTORY")
    files, base = _inventory_files(path)
    for file in files:
        data = read_yaml(file, MAX_HOSTS)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise CachekitError(f"{file}: an inventory is a mapping of groups (like `all:`)",
                                hint="see inventory/hosts.yml for the structure")
        for name, body in data.items():
            builder.group(file, str(name), body, None if name == "all" else "all",
                          _where(file, data, name))
    for name, group in builder.groups.items():
        for file in _vars_files(base, "group_vars", name):
            group.vars.update(_vars_mapping(file))
    for name in builder.host_order:
        for file in _vars_files(base, "host_vars", name):
            builder.host_vars[name].update(_vars_mapping(file))
    return builder.build(path)


def _vars_mapping(path: str) -> Dict[str, Any]:
    data = read_yaml(path, MAX_HOSTS)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CachekitError(f"{path}: variables must be a mapping of names to values")
    return data

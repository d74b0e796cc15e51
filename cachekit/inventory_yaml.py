"""Read one inventory YAML file within bounds, remembering the line of every key.

Someone else may have written the file: it is read through the bounded reader, its event
stream is checked before anything is built (nesting depth, the count of host names), and
aliases that refer to themselves or multiply the document (the "billion laughs") are
refused; each of these is a one-line error that names the file and line.
"""

from typing import Any, Dict, List, Optional, Set, Tuple

import yaml

from cachekit.core import bounded
from cachekit.errors import CachekitError

MAX_YAML_DEPTH = 160  # nested mappings and lists in one file (building them recurses)
MAX_ALIAS_EXPANSION = 10_000_000  # values a file holds once its YAML aliases are expanded

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: many times faster


# The base is picked at run time (libyaml's loader when PyYAML was built with it), which
# mypy cannot follow.
class _LineLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Remembers the line of every mapping key, so errors can name it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Dict[str, Any]:
    loader.flatten_mapping(node)  # merge keys (`<<: *defaults`), as Ansible reads them
    mapping = _Lines()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value, not a list or mapping",
                key_node.start_mark) from None
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


class _Lines(dict):
    def __init__(self) -> None:
        super().__init__()
        self.lines: Dict[Any, int] = {}


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str, max_hosts: int) -> Any:
    """The document in ``path``, read within every bound; a ``CachekitError`` naming the
    file and line otherwise. ``max_hosts``: the distinct host names a file may list."""
    try:  # a regular file of at most INVENTORY_CAP: a FIFO or device here would hang us
        text = bounded.read_text(path, bounded.INVENTORY_CAP)
    except OSError as exc:
        raise CachekitError(f"cannot read inventory file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CachekitError(f"cannot read inventory file {path}: not UTF-8 ({exc.reason} "
                            f"at byte {exc.start})") from None
    loader = _LineLoader(text)
    try:
        aliases = _scan(path, text, max_hosts)
        node = loader.get_single_node()
        if node is None:
            return None
        if aliases:
            _check_aliases(path, node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f", line {mark.line + 1}" if mark else ""
        raise CachekitError(f"{path}{line}: invalid YAML: {exc.problem or exc}",
                            hint="fix the inventory file") from None
    except yaml.YAMLError as exc:
        raise CachekitError(f"{path}: invalid YAML: {exc}", hint="fix the inventory file") \
            from None
    except RecursionError:  # a safety net: MAX_YAML_DEPTH stops nesting well before this
        raise CachekitError(f"{path}: invalid YAML: nested too deeply",
                            hint="fix the inventory file") from None
    finally:
        loader.dispose()


def _scan(path: str, text: str, max_hosts: int) -> bool:
    """Check a file from its event stream, before anything is built; True if it has aliases.

    Refused here: nesting deeper than MAX_YAML_DEPTH (YAML's parser keeps its own stack,
    but building the document recurses once per level), and more than ``max_hosts`` distinct
    plain host names under ``hosts:`` keys (so a huge file fails in seconds, not minutes).
    """
    depth, aliases = 0, False
    # per open collection: a mapping's [expecting a key?, last key, is hosts?]; None for a list
    frames: List[Optional[List[Any]]] = []
    names: Set[str] = set()
    for event in yaml.parse(text, Loader=_BaseLoader):
        top = frames[-1] if frames and frames[-1] is not None else None
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise CachekitError(f"{path}, line {event.start_mark.line + 1}: nested deeper "
                                    f"than {MAX_YAML_DEPTH} levels",
                                    hint="fix the inventory file")
            hosts = top is not None and not top[0] and top[1] == "hosts"
            if top is not None:
                top[0] = True  # this collection was the value: a key comes next
            is_map = isinstance(event, yaml.MappingStartEvent)
            frames.append([True, None, hosts] if is_map else None)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
            frames.pop()
        elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
            aliases = aliases or isinstance(event, yaml.AliasEvent)
            if top is None:
                continue
            if top[0]:
                top[1] = getattr(event, "value", None)
                if top[2] and top[1] is not None and "[" not in top[1]:
                    names.add(top[1])
                    if len(names) > max_hosts:
                        raise CachekitError(f"{path}, line {event.start_mark.line + 1}: "
                                            f"more than {max_hosts:,} hosts in the inventory",
                                            hint="split it into smaller inventories")
            top[0] = not top[0]
    return aliases


def _check_aliases(path: str, root: yaml.Node) -> None:
    """Refuse a recursive alias, or aliases that multiply a file past MAX_ALIAS_EXPANSION
    values (the "billion laughs": a few lines that expand to gigabytes once serialised)."""
    sizes: Dict[int, int] = {}  # node id -> values it holds once expanded
    open_nodes: Set[int] = set()
    stack: List[Tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        kids: List[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            kids = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = total = 1 + sum(sizes[id(k)] for k in kids)
            if total > MAX_ALIAS_EXPANSION:
                raise CachekitError(
                    f"{path}, line {node.start_mark.line + 1}: YAML aliases expand this to "
                    f"more than {MAX_ALIAS_EXPANSION:,} values", hint="fix the inventory file")
            continue
        if id(node) in sizes:
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        for kid in kids:
            if id(kid) in open_nodes:
                raise CachekitError(f"{path}, line {kid.start_mark.line + 1}: a YAML alias "
                                    "refers to a value that contains it",
                                    hint="fix the inventory file")
            if id(kid) not in sizes:
                stack.append((kid, False))


def where(path: str, mapping: Any, key: Any) -> str:
    """``path, line N`` of a mapping's key, for an error; the path alone if unknown."""
    line = getattr(mapping, "lines", {}).get(key)
    return f"{path}, line {line}" if line else path

"""YAML as a node graph with line numbers, loaded safely (no tags, bounded aliases)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from scanner.resources import libyaml_loader


class _BoundedLoader(yaml.SafeLoader):
    """Refuses alias-heavy documents (billion laughs) instead of expanding them."""

    max_aliases = 200

    def __init__(self, stream: str):
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self.max_aliases:
                raise yaml.YAMLError("too many YAML aliases")
        return super().compose_node(parent, index)


# libyaml's composer (about 8x faster, and it refuses nesting deeper than 1000 levels) when
# PyYAML was built with it; the same checks run on the composed graph either way.
_FAST = libyaml_loader()

# Aliases are shared nodes; a reader that walks the graph sees them expanded. Refuse documents
# whose expanded size passes this many nodes (a billion laughs needs only ~80 aliases).
MAX_EXPANDED_NODES = 200_000
# Deeper documents are refused as unreadable (the node readers recurse once per level).
MAX_DEPTH = 150


def _check_expansion(root: yaml.Node | None, max_aliases: int = _BoundedLoader.max_aliases) -> None:
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    references = 0  # edges to a node already reached by another edge: one per alias use
    stack: list[tuple[yaml.Node, bool]] = [(root, False)] if root is not None else []
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        if not done:
            if id(node) in entered:
                raise yaml.YAMLError("recursive YAML alias")
            entered.add(id(node))
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(c), 1) for c in children)
        if total > MAX_EXPANDED_NODES:
            raise yaml.YAMLError("YAML aliases expand to too many nodes")
        sizes[id(node)] = total
    # The graph is finite and acyclic now; count the alias uses (the libyaml composer does not
    # go through `_BoundedLoader.compose_node`).
    seen: set[int] = {id(root)} if root is not None else set()
    walk = [(root, 0)] if root is not None else []
    while walk:
        node, depth = walk.pop()
        if depth > MAX_DEPTH:
            # What the pure-Python composer refused by running out of stack; readers recurse too.
            raise RecursionError("YAML nested too deeply")
        if isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            kids = [n for pair in node.value for n in pair]
        else:
            continue
        for child in kids:
            if id(child) in seen:
                references += 1
                if references > max_aliases:
                    raise yaml.YAMLError("too many YAML aliases")
                continue
            seen.add(id(child))
            walk.append((child, depth + 1))


def _compose(text: str):  # type: ignore[no-untyped-def]
    if _FAST is not None:
        return yaml.compose(text, Loader=_FAST)
    return yaml.compose(text, Loader=_BoundedLoader)


def load_data(text: str) -> Any:
    """One document as plain data, for text that is only checked for its shape (a snippet the
    report shows, a config blastwall generated): libyaml's safe loader where PyYAML has it."""
    return yaml.load(text, Loader=_FAST or yaml.SafeLoader)  # noqa: S506 - a safe loader either way


def load_all_data(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=_FAST or yaml.SafeLoader))  # noqa: S506


def compose_safely(text: str, notes: list[str]) -> yaml.Node | None:
    docs = _guarded(lambda: [_compose(text)], notes)
    return docs[0] if docs else None


def compose_all_safely(text: str, notes: list[str]) -> list[yaml.Node]:
    return _guarded(lambda: list(yaml.compose_all(text, Loader=_FAST or _BoundedLoader)), notes)


def _guarded(compose: Callable[[], list], notes: list[str]) -> list:
    """Documents checked for expansion bombs; [] with a note when the text cannot be read."""
    try:
        docs = compose()
        for doc in docs:
            _check_expansion(doc)
        return docs
    except yaml.YAMLError as exc:
        notes.append(f"invalid YAML: {str(exc).splitlines()[0][:120]}")
    except (RecursionError, ValueError) as exc:
        notes.append(f"unreadable YAML: {type(exc).__name__}")
    return []


def mapping_get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None

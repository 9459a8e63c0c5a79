"""YAML as a node graph with line numbers, loaded safely (no tags, bounded aliases)."""

from __future__ import annotations

import yaml


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


def compose_safely(text: str, notes: list[str]) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_BoundedLoader)
    except yaml.YAMLError as exc:
        notes.append(f"invalid YAML: {str(exc).splitlines()[0][:120]}")
    except (RecursionError, ValueError) as exc:
        notes.append(f"unreadable YAML: {type(exc).__name__}")
    return None


def compose_all_safely(text: str, notes: list[str]) -> list[yaml.Node]:
    try:
        return list(yaml.compose_all(text, Loader=_BoundedLoader))
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

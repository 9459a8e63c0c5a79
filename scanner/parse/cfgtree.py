"""One positioned tree for YAML, JSON-with-comments and TOML config files.

Every value is a `Node`: its Python value (children are Nodes too), the 1-based line of the
value and, for mapping entries, the line of the key. Config analyzers read this tree only, so
evidence always points at the real line of the key or value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from scanner.parse.yamlsrc import compose_all_safely, compose_safely

MAX_DEPTH = 200


@dataclass
class Node:
    value: Any  # dict[str, Node] | list[Node] | str | int | float | bool | None
    line: int
    key_line: int = 0  # for a mapping entry: the line of its key
    quoted: bool = False
    style: str = ""  # YAML scalar style: "|", ">", "'", '"' or "" (plain)

    # -- access ---------------------------------------------------------------------------

    def get(self, key: str) -> Node | None:
        if isinstance(self.value, dict):
            return self.value.get(key)
        return None

    def path(self, *keys: str) -> Node | None:
        node: Node | None = self
        for key in keys:
            node = node.get(key) if node is not None else None
        return node

    def items(self) -> Iterator[tuple[str, Node]]:
        if isinstance(self.value, dict):
            yield from self.value.items()

    def seq(self) -> list[Node]:
        return list(self.value) if isinstance(self.value, list) else []

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.value, list)

    @property
    def is_scalar(self) -> bool:
        return not isinstance(self.value, (dict, list))

    def text(self) -> str:
        """The scalar as a string ("" for mappings, sequences and null)."""
        if self.value is None or isinstance(self.value, (dict, list)):
            return ""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value)

    @property
    def anchor(self) -> int:
        """The line to quote for this entry: its key when it has one."""
        return self.key_line or self.line

    def truthy(self) -> bool:
        if isinstance(self.value, bool):
            return self.value
        return self.text().strip().lower() in ("true", "yes", "on", "1")

    def walk(self) -> Iterator[Node]:
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node.value, dict):
                stack.extend(reversed(list(node.value.values())))
            elif isinstance(node.value, list):
                stack.extend(reversed(node.value))

    def plain(self) -> Any:
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def strings(node: Node | None) -> list[Node]:
    """A scalar or a list of scalars, as scalar nodes."""
    if node is None:
        return []
    if node.is_seq:
        return [n for n in node.seq() if n.is_scalar and n.value is not None]
    if node.is_scalar and node.value is not None:
        return [node]
    return []


# -- YAML ------------------------------------------------------------------------------------

_BOOL = {"true": True, "false": False, "True": True, "False": False, "TRUE": True, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def from_yaml_node(node: yaml.Node | None, depth: int = 0, key_line: int = 0) -> Node | None:
    if node is None:
        return None
    if depth > MAX_DEPTH:
        raise RecursionError("YAML nested too deeply")
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for k, v in node.value:
            if k.tag == "tag:yaml.org,2002:merge" and isinstance(v, yaml.MappingNode):
                merged = from_yaml_node(v, depth + 1)
                if merged is not None:
                    for mk, mv in merged.items():
                        out.setdefault(mk, mv)
                continue
            if not isinstance(k, yaml.ScalarNode):
                continue
            child = from_yaml_node(v, depth + 1, k.start_mark.line + 1)
            if child is not None:
                out[str(k.value)] = child
        return Node(out, line, key_line)
    if isinstance(node, yaml.SequenceNode):
        return Node([c for c in (from_yaml_node(v, depth + 1) for v in node.value) if c is not None], line, key_line)
    if isinstance(node, yaml.ScalarNode):
        raw = node.value
        if node.style not in (None, ""):
            return Node(raw, line, key_line, quoted=True, style=node.style)
        if raw in _BOOL:
            return Node(_BOOL[raw], line, key_line)
        if raw in ("", "~", "null", "Null", "NULL"):
            return Node(None, line, key_line)
        if _INT.match(raw):
            try:
                return Node(int(raw), line, key_line)
            except ValueError:
                pass
        if _FLOAT.match(raw):
            return Node(float(raw), line, key_line)
        return Node(raw, line, key_line)
    return None


def load_yaml(text: str, notes: list[str]) -> Node | None:
    return from_yaml_node(compose_safely(text, notes))


def load_yaml_all(text: str, notes: list[str]) -> list[Node]:
    out = []
    for doc in compose_all_safely(text, notes):
        node = from_yaml_node(doc)
        if node is not None:
            out.append(node)
    return out


# -- JSON with comments ----------------------------------------------------------------------


class JsonError(ValueError):
    pass


class _Json:
    """A small JSON reader that keeps lines, and accepts comments and trailing commas (JSONC)."""

    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.line = 1

    def _separator(self, close: str) -> None:
        """After an item: a comma (consumed, trailing ones allowed) or the closing bracket (left
        for the loop to see)."""
        self._ws()
        if self.i < len(self.s) and self.s[self.i] == ",":
            self.i += 1
        elif self.i >= len(self.s) or self.s[self.i] != close:
            raise JsonError(f"expected ',' or '{close}' at line {self.line}")

    def _ws(self) -> None:
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c == "\n":
                self.line += 1
                self.i += 1
            elif c in " \t\r\ufeff":
                self.i += 1
            elif s.startswith("//", self.i):
                end = s.find("\n", self.i)
                self.i = n if end < 0 else end
            elif s.startswith("/*", self.i):
                end = s.find("*/", self.i + 2)
                end = n if end < 0 else end + 2
                self.line += s.count("\n", self.i, end)
                self.i = end
            else:
                break

    def parse(self) -> Node:
        self._ws()
        node = self._value(0)
        self._ws()
        if self.i != len(self.s):
            raise JsonError(f"unexpected text at line {self.line}")
        return node

    def _value(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise JsonError("nested too deeply")
        self._ws()
        if self.i >= len(self.s):
            raise JsonError("unexpected end")
        c = self.s[self.i]
        line = self.line
        if c == "{":
            self.i += 1
            out: dict[str, Node] = {}
            while True:
                self._ws()
                if self.i < len(self.s) and self.s[self.i] == "}":
                    self.i += 1
                    return Node(out, line)
                if self.i >= len(self.s) or self.s[self.i] != '"':
                    raise JsonError(f"expected a key at line {self.line}")
                key_line = self.line
                key = self._string()
                self._ws()
                if self.i >= len(self.s) or self.s[self.i] != ":":
                    raise JsonError(f"expected ':' at line {self.line}")
                self.i += 1
                child = self._value(depth + 1)
                child.key_line = key_line
                out[key] = child
                self._separator("}")
        if c == "[":
            self.i += 1
            items: list[Node] = []
            while True:
                self._ws()
                if self.i < len(self.s) and self.s[self.i] == "]":
                    self.i += 1
                    return Node(items, line)
                items.append(self._value(depth + 1))
                self._separator("]")
        if c == '"':
            return Node(self._string(), line, quoted=True)
        m = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?").match(self.s, self.i)
        if m and m.group(0):
            self.i = m.end()
            text = m.group(0)
            return Node(float(text) if any(ch in text for ch in ".eE") else int(text), line)
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return Node(value, line)
        raise JsonError(f"unexpected character at line {self.line}")

    def _string(self) -> str:
        s = self.s
        self.i += 1
        out: list[str] = []
        while self.i < len(s):
            c = s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\" and self.i + 1 < len(s):
                e = s[self.i + 1]
                if e == "u" and self.i + 5 < len(s):
                    try:
                        out.append(chr(int(s[self.i + 2 : self.i + 6], 16)))
                    except ValueError:
                        out.append("?")
                    self.i += 6
                    continue
                out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(e, e))
                self.i += 2
                continue
            if c == "\n":
                self.line += 1
            out.append(c)
            self.i += 1
        raise JsonError("unterminated string")


def load_json(text: str, notes: list[str]) -> Node | None:
    try:
        return _Json(text).parse()
    except JsonError as exc:
        notes.append(f"invalid JSON: {exc}")
    except RecursionError:
        notes.append("unreadable JSON: nested too deeply")
    return None


# -- TOML ------------------------------------------------------------------------------------

try:  # Python 3.11+
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - older interpreters
    import tomli as _toml  # type: ignore[no-redef]

_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_.-]+)\s*=")


def _toml_key_parts(text: str) -> list[str]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+", text)
    return [p.strip("\"'") for p in parts]


def load_toml(text: str, notes: list[str]) -> Node | None:
    """TOML as a Node tree; lines come from the `key =` line under its `[table]` header."""
    try:
        data = _toml.loads(text)
    except (_toml.TOMLDecodeError, ValueError, RecursionError) as exc:
        notes.append(f"invalid TOML: {str(exc)[:120]}")
        return None
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.split("\n"), start=1):
        m = _TABLE.match(raw)
        if m:
            table = tuple(_toml_key_parts(m.group(1)))
            lines.setdefault(table, number)
            continue
        k = _KEY.match(raw)
        if k:
            lines.setdefault((*table, *_toml_key_parts(k.group(1))), number)

    def build(value: Any, path: tuple[str, ...], depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise RecursionError
        line = lines.get(path, 0) or _nearest(lines, path)
        if isinstance(value, dict):
            node = Node({k: build(v, (*path, k), depth + 1) for k, v in value.items()}, line)
        elif isinstance(value, list):
            node = Node([build(v, path, depth + 1) for v in value], line)
        else:
            node = Node(value if isinstance(value, (str, int, float, bool)) else str(value), line)
        node.key_line = line
        return node

    try:
        return build(data, (), 0)
    except RecursionError:
        notes.append("unreadable TOML: nested too deeply")
        return None


def _nearest(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int:
    while path:
        path = path[:-1]
        if path in lines:
            return lines[path]
    return 1

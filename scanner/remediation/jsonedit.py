"""A positioned JSON (with comments and trailing commas) tree, for edits that touch only the
values they change: everything else in the file, comments and layout included, stays as it was.

    doc = parse(text)
    node = doc.get("permissions").get("defaultMode")
    text = apply(text, [replace(node, '"default"')])
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JNode", "JSONEditError", "parse", "replace", "remove_member", "remove_item", "insert_member",
           "apply", "loads_lenient"]


class JSONEditError(ValueError):
    """The text is not JSON(C) this editor can rewrite safely."""


@dataclass
class JNode:
    kind: str  # "object" | "array" | "string" | "number" | "true" | "false" | "null"
    start: int
    end: int
    value: Any = None  # python value for scalars
    members: list[tuple[str, JNode, int, int]] = field(default_factory=list)  # key, value, member start, key end
    items: list[JNode] = field(default_factory=list)
    close: int = 0  # offset of the closing bracket

    def get(self, key: str) -> JNode | None:
        if self.kind != "object":
            return None
        found = None
        for name, value, _start, _key_end in self.members:
            if name == key:
                found = value
        return found

    def member(self, key: str) -> tuple[str, JNode, int, int] | None:
        found = None
        for member in self.members:
            if member[0] == key:
                found = member
        return found

    def path(self, *keys: str) -> JNode | None:
        node: JNode | None = self
        for key in keys:
            node = node.get(key) if node is not None else None
        return node

    def py(self) -> Any:
        if self.kind == "object":
            return {k: v.py() for k, v, _s, _e in self.members}
        if self.kind == "array":
            return [v.py() for v in self.items]
        return self.value


_WS = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.S)
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.S)
_MAX_DEPTH = 200


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def fail(self, what: str) -> JSONEditError:
        line = self.text.count("\n", 0, self.pos) + 1
        return JSONEditError(f"{what} at line {line}")

    def value(self, depth: int = 0) -> JNode:
        if depth > _MAX_DEPTH:
            raise self.fail("nested too deeply")
        self.ws()
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.fail("unexpected end")
        char = text[pos]
        if char == "{":
            return self.obj(depth)
        if char == "[":
            return self.arr(depth)
        if char == '"':
            m = _STRING.match(text, pos)
            if not m:
                raise self.fail("bad string")
            self.pos = m.end()
            return JNode("string", pos, m.end(), json.loads(m.group(0)))
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, pos):
                self.pos = pos + len(word)
                return JNode(word, pos, self.pos, value)
        m = _NUMBER.match(text, pos)
        if m:
            self.pos = m.end()
            return JNode("number", pos, m.end(), json.loads(m.group(0)))
        raise self.fail("unexpected character")

    def obj(self, depth: int) -> JNode:
        node = JNode("object", self.pos, 0)
        self.pos += 1
        while True:
            self.ws()
            if self.text.startswith("}", self.pos):
                node.close = self.pos
                self.pos += 1
                node.end = self.pos
                return node
            start = self.pos
            m = _STRING.match(self.text, self.pos)
            if not m:
                raise self.fail("expected a key")
            key = json.loads(m.group(0))
            self.pos = m.end()
            key_end = self.pos
            self.ws()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':'")
            self.pos += 1
            value = self.value(depth + 1)
            node.members.append((key, value, start, key_end))
            self.ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith("}", self.pos):
                raise self.fail("expected ',' or '}'")

    def arr(self, depth: int) -> JNode:
        node = JNode("array", self.pos, 0)
        self.pos += 1
        while True:
            self.ws()
            if self.text.startswith("]", self.pos):
                node.close = self.pos
                self.pos += 1
                node.end = self.pos
                return node
            node.items.append(self.value(depth + 1))
            self.ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith("]", self.pos):
                raise self.fail("expected ',' or ']'")


def parse(text: str) -> JNode:
    parser = _Parser(text)
    node = parser.value()
    parser.ws()
    if parser.pos != len(text):
        raise parser.fail("text after the document")
    return node


def loads_lenient(text: str) -> Any:
    return parse(text).py()


Edit = tuple[int, int, str]


def replace(node: JNode, new_text: str) -> Edit:
    return (node.start, node.end, new_text)


def _span_with_comma(text: str, start: int, end: int, siblings: list[tuple[int, int]], index: int) -> Edit:
    """Remove one member/item [start, end) with its separating comma and the whitespace before it."""
    if index + 1 < len(siblings):  # not the last: up to the next sibling's start
        return (_line_start_if_alone(text, start), _line_start_if_alone(text, siblings[index + 1][0]), "")
    if index > 0:  # the last of several: from the end of the previous sibling
        prev_end = siblings[index - 1][1]
        after = _WS.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith(",", after):  # a trailing comma after the last: keep one for the previous
            end = after
        return (prev_end, end, "")
    after = _WS.match(text, end).end()  # type: ignore[union-attr]
    if text.startswith(",", after):
        end = after + 1
    return (_line_start_if_alone(text, start), end, "")


def _line_start_if_alone(text: str, offset: int) -> int:
    """Back to the start of the line when only whitespace precedes `offset` on it."""
    line_start = text.rfind("\n", 0, offset) + 1
    return line_start if not text[line_start:offset].strip() else offset


def remove_member(text: str, obj: JNode, key: str) -> Edit | None:
    spans = [(start, value.end) for _k, value, start, _ke in obj.members]
    for index, (name, _value, _start, _key_end) in enumerate(obj.members):
        if name == key:
            return _span_with_comma(text, spans[index][0], spans[index][1], spans, index)
    return None


def remove_item(text: str, arr: JNode, index: int) -> Edit:
    spans = [(item.start, item.end) for item in arr.items]
    return _span_with_comma(text, spans[index][0], spans[index][1], spans, index)


def insert_member(text: str, obj: JNode, key: str, value_text: str) -> Edit:
    """Add `"key": value` at the end of an object, in the object's own layout."""
    member = f"{json.dumps(key)}: {value_text}"
    if not obj.members:
        inner = text[obj.start + 1 : obj.close]
        if "\n" in inner or "\n" in value_text:
            indent = _indent_of(text, obj.start)
            return (obj.start + 1, obj.close, "\n" + indent + "  " + member + "\n" + indent)
        return (obj.start + 1, obj.close, " " + member + " ")
    last = obj.members[-1][1]
    first_start = obj.members[0][2]
    line_start = text.rfind("\n", 0, first_start) + 1
    multiline = "\n" in text[obj.start : first_start]
    after = _WS.match(text, last.end).end()  # type: ignore[union-attr]
    has_comma = text.startswith(",", after)
    if multiline:
        indent = text[line_start:first_start] if not text[line_start:first_start].strip() else "  "
        at = after + 1 if has_comma else last.end
        return (at, at, ("" if has_comma else ",") + "\n" + indent + member + ("," if has_comma else ""))
    at = after + 1 if has_comma else last.end
    return (at, at, ("" if has_comma else ",") + " " + member + ("," if has_comma else ""))


def _indent_of(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    prefix = text[line_start:offset]
    return prefix[: len(prefix) - len(prefix.lstrip())]


def apply(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits (the later ones first); overlapping edits are refused."""
    ordered = sorted(edits, key=lambda e: (e[0], e[1]))
    for a, b in zip(ordered, ordered[1:]):
        if b[0] < a[1]:
            raise JSONEditError("overlapping edits")
    out = text
    for start, end, new in reversed(ordered):
        out = out[:start] + new + out[end:]
    return out


def dumps_value(value: Any, indent_from: str = "", indent: int = 2) -> str:
    """A JSON value laid out for insertion at `indent_from`'s depth."""
    text = json.dumps(value, indent=indent)
    return text.replace("\n", "\n" + indent_from)

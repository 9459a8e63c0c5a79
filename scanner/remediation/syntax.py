"""Syntax helpers shared by the rewriters: a nesting guard for libcst, and tree-sitter helpers
for JavaScript/TypeScript object literals and calls."""

from __future__ import annotations

from typing import Any

__all__ = ["JS_FUNCTIONS", "JS_SIMPLE", "JS_WRAPPERS", "js_append_props", "js_dialect", "js_parses", "js_prop",
           "js_prop_key", "js_unwrap", "too_deep"]


def too_deep(text: str, limit: int = 300) -> bool:
    """Brackets nested deeper than `limit` (counted roughly, strings included): libcst's native parser
    overflows its stack and kills the process somewhere past a thousand, so it never sees such a file."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return True
        elif char in ")]}" and depth:
            depth -= 1
    return False


JS_FUNCTIONS = {"arrow_function", "function_expression", "function", "generator_function"}
JS_WRAPPERS = {"parenthesized_expression", "as_expression", "satisfies_expression", "non_null_expression"}
JS_SIMPLE = {"identifier", "member_expression", "call_expression", "subscript_expression", "parenthesized_expression",
              "array", "object", "this"}


def js_dialect(path: str) -> str:
    if path.endswith(".tsx"):
        return "tsx"
    if path.endswith((".ts", ".mts", ".cts")):
        return "typescript"
    return "javascript"


def js_parses(dialect: str, text: str) -> bool:
    from scanner.parse.trees import parse

    return not parse(dialect, text.encode("utf-8")).root_node.has_error


def js_unwrap(node: Any) -> Any:
    while node.type in JS_WRAPPERS or node.type == "type_assertion":
        named = [c for c in node.named_children if c.type != "comment"]
        if not named:
            break
        node = named[-1] if node.type == "type_assertion" else named[0]
    return node


def js_prop_key(data: bytes, prop: Any) -> str:
    text = lambda n: data[n.start_byte : n.end_byte].decode("utf-8", "replace")  # noqa: E731
    if prop.type == "spread_element":
        return "..."
    if prop.type == "shorthand_property_identifier":
        return text(prop)
    if prop.type in ("pair", "method_definition"):
        key = prop.child_by_field_name("key") or prop.child_by_field_name("name")
        if key is None:
            return "?"
        if key.type == "string":
            return text(key)[1:-1]
        if key.type in ("property_identifier", "number"):
            return text(key)
    return "?"


def js_prop(data: bytes, obj: Any, name: str) -> Any:
    """The last property `name` of an object literal, or None."""
    found = None
    for child in obj.named_children:
        if child.type != "comment" and js_prop_key(data, child) == name:
            found = child
    return found


def js_append_props(data: bytes, obj: Any, props: list[Any], added: list[str]) -> tuple[int, int, str]:
    """An insertion of `added` properties at the end of an object literal, in its own layout."""
    if not props:
        return obj.start_byte, obj.end_byte, "{ " + ", ".join(added) + " }"
    last = props[-1]
    comma = next((c for c in obj.children if c.type == "," and c.start_byte >= last.end_byte), None)
    multiline = b"\n" in data[obj.start_byte : obj.end_byte]
    if multiline:
        line_start = data.rfind(b"\n", 0, last.start_byte) + 1
        prefix = data[line_start : last.start_byte]
        indent = prefix.decode("utf-8", "replace") if not prefix.strip() else "  "
        sep = ",\n" + indent
        if comma is not None:
            return comma.end_byte, comma.end_byte, "\n" + indent + sep.join(added) + ","
        return last.end_byte, last.end_byte, sep + sep.join(added)
    if comma is not None:
        return comma.end_byte, comma.end_byte, " " + ", ".join(added) + ","
    return last.end_byte, last.end_byte, ", " + ", ".join(added)

"""tree-sitter languages and parsers, created once per process, plus node -> Location helpers."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tree_sitter import Language, Node, Parser

from scanner.model import Location


@lru_cache(maxsize=None)
def language(name: str) -> Language:
    if name == "python":
        import tree_sitter_python as mod

        return Language(mod.language())
    if name == "javascript":
        import tree_sitter_javascript as mod

        return Language(mod.language())
    if name in ("typescript", "tsx"):
        import tree_sitter_typescript as mod

        return Language(mod.language_typescript() if name == "typescript" else mod.language_tsx())
    if name == "bash":
        import tree_sitter_bash as mod

        return Language(mod.language())
    raise KeyError(name)


@lru_cache(maxsize=None)
def parser(name: str) -> Parser:
    return Parser(language(name))


def parse(name: str, source: bytes, budget_micros: int = 0) -> Any:
    p = parser(name)
    if budget_micros and hasattr(p, "timeout_micros"):
        try:
            p.timeout_micros = budget_micros
        except Exception:  # newer bindings replaced the timeout with a progress callback
            pass
    return p.parse(source)


class SourceFile:
    """A decoded file with per-line access, shared by every front end."""

    def __init__(self, path: str, data: bytes):
        self.path = path
        self.data = data
        self.text = data.decode("utf-8", errors="replace")
        # Split on "\n" only: tree-sitter rows and editors count lines that way.
        self.lines = [line.rstrip("\r") for line in self.text.split("\n")]
        self._line_starts: list[int] | None = None

    def quote(self, line: int) -> str:
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1].strip()[:400]
        return ""

    def loc(self, line: int, column: int = 1, end_line: int = 0, end_column: int = 0, label: str = "") -> Location:
        line = max(1, line)
        return Location(self.path, line, max(1, column), end_line or line, end_column, self.quote(line) or "(blank line)", label)

    def node_loc(self, node: Node, label: str = "") -> Location:
        row, col = node.start_point
        erow, ecol = node.end_point
        return self.loc(row + 1, self._col(row, col), erow + 1, self._col(erow, ecol), label)

    def node_text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")

    def _col(self, row: int, byte_col: int) -> int:
        # tree-sitter columns are bytes; reports count code points.
        if row >= len(self.lines):
            return byte_col + 1
        raw = self.lines[row].encode("utf-8")
        return len(raw[:byte_col].decode("utf-8", errors="replace")) + 1

"""tree-sitter languages and parsers, created once per process, plus node -> Location helpers."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Set
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tree_sitter import Language, Node, Parser

from scanner.model import Location


# What a value reader's `const` answers for a value that is not a constant here (one sentinel, so
# that a judge shared by the Python and JavaScript readers can ask either).
UNSET: Any = object()


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


class OverBudget(BaseException):
    """A file's parse and analysis ran past the per-file time budget (a BaseException, so an
    analyzer's `except Exception` cannot swallow it)."""


# The deadline (time.monotonic()) of the file being analysed in this process; 0 = none.
_deadline = 0.0
# Above this size a parse is fed in chunks so the deadline can cancel it.
_CANCELLABLE_FROM = 64 * 1024


def check_budget() -> None:
    if _deadline and time.monotonic() > _deadline:
        raise OverBudget


def _on_alarm(signum: int, frame: Any) -> None:
    if _deadline:
        raise OverBudget


@contextmanager
def file_budget(seconds: float) -> Iterator[None]:
    """Bound the parse and analysis of one file: tree-sitter parses check the deadline as they
    go, analyzers are checked between launches, and in the main thread a timer interrupts any
    Python loop that runs past it."""
    global _deadline
    if seconds <= 0:
        yield
        return
    _deadline = time.monotonic() + seconds
    timer = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    previous: Any = None
    if timer:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds + 0.05)
    try:
        yield
    finally:
        _deadline = 0.0
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)


def parse(name: str, source: bytes, budget_micros: int = 0) -> Any:
    p = parser(name)
    if not _deadline or len(source) < _CANCELLABLE_FROM:
        return p.parse(source)
    deadline = _deadline

    def read(offset: int, _point: Any) -> bytes:
        return source[offset : offset + 65536]

    def cancel(*_state: Any) -> bool:
        return time.monotonic() > deadline

    try:
        return p.parse(read, progress_callback=cancel)
    except ValueError:
        if time.monotonic() > deadline:
            raise OverBudget from None
        raise


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


def descendants(root: Node, *types: str) -> Iterator[Node]:
    """Every node below and including `root` (of one of `types`, when given), depth first, the
    last child first: the one tree walk the front ends share."""
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if not types or node.type in types:
            yield node


@dataclass(frozen=True)
class NameReads:
    """How a grammar spells a read of a name: the node types of a name, of `obj.attr` (only the
    object is read), of `key: value` / `key=value` (only the value is read), and of scopes whose
    body runs later (not read here)."""

    names: tuple[str, ...]
    member: str
    keyed: str
    deferred: tuple[str, ...] = ()


PY_READS = NameReads(("identifier",), "attribute", "keyword_argument", ("lambda", "function_definition"))
JS_READS = NameReads(("identifier", "shorthand_property_identifier"), "member_expression", "pair")


def reads_any(node: Node, names: Set[str], text: Callable[[Node], str], grammar: NameReads) -> bool:
    """Whether an expression reads one of `names` (attribute names and keys do not count)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in grammar.names:
            if text(n) in names:
                return True
        elif n.type == grammar.member:
            obj = n.child_by_field_name("object")
            if obj is not None:
                stack.append(obj)
        elif n.type == grammar.keyed:
            value = n.child_by_field_name("value")
            if value is not None:
                stack.append(value)
        elif n.type not in grammar.deferred:
            stack.extend(n.named_children)
    return False


def returned_values(body: Node | None, nested: tuple[str, ...]) -> list[Node]:
    """The values a function body returns, in source order: its own `return` statements, not
    those of the nested functions and classes whose node types are `nested`."""
    out: list[Node] = []
    stack = [body] if body is not None else []
    while stack:
        n = stack.pop()
        if n.type in nested:
            continue
        if n.type == "return_statement":
            if n.named_children:
                out.append(n.named_children[0])
            continue
        stack.extend(n.named_children)
    return sorted(out, key=lambda n: n.start_byte)

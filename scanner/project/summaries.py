"""Per-file summaries: what the link stage needs to know about a file, computed by analysis
(in whichever process read the file) and kept in the scan's project, so the link stage does not
read those files again; it computes them itself only for files no analyzer read.

- `imports`: what a source file imports from the repository, as spelled (a workflow step -> the
  entry file it runs -> the modules that file imports -> the agent launch);
- `scheduled`: whether a crontab, systemd or launchd file, or a script, holds a scheduler entry.
"""

from __future__ import annotations

import re
from typing import Any

from scanner.launch.schedulers import entry_file_kind, looks_scheduled

# `from .pkg import a, b` / `import a.b, c`: (leading dots, module, imported names, plain imports).
_PY_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w, \t]+)|^[ \t]*import[ \t]+([\w., \t]+)",
                        re.M)  # the statement as a whole-text search; kept to check the fast reader against
# Relative ES imports, `require()` and dynamic `import()` of a repository file.
_JS_IMPORT = re.compile(r"""(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}/[^"'\n]+)["']""", re.M)

PyImport = tuple[str, str, str, str]
IMPORTS = "imports"  # the project's names for the summaries (see `ProjectFiles.keep`)
SCHEDULED = "scheduled"


# The same statement read line by line from each `import` word: the regex engine skips to a literal
# much faster than it tries a line-anchored alternation at every line (4x on a large tree).
_IMPORT_WORD = re.compile("import")
_PY_IMPORT_LINE = re.compile(r"[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w, \t]+)|import[ \t]+([\w., \t]+))")


def python_imports(text: str) -> tuple[PyImport, ...]:
    out: list[PyImport] = []
    last = -1
    for word in _IMPORT_WORD.finditer(text):
        start = text.rfind("\n", 0, word.start()) + 1
        if start == last:
            continue
        last = start
        found = _PY_IMPORT_LINE.match(text, start)
        if found is not None:
            out.append(tuple(g or "" for g in found.groups()))  # type: ignore[arg-type]
    return tuple(out)


def js_imports(text: str) -> tuple[str, ...]:
    # Only relative specifiers are repository modules: a file without "./" has none.
    return tuple(_JS_IMPORT.findall(text)) if "./" in text else ()


# The file kinds of source code: what imports modules, and what the value resolvers read.
JS_KINDS = frozenset({"javascript", "typescript", "tsx"})
SOURCE_KINDS = JS_KINDS | {"python"}


def imports_of(kind: str, data: bytes) -> tuple[PyImport, ...] | tuple[str, ...] | None:
    """The summary for a file of an analysed kind; None for kinds that import nothing."""
    if kind == "python":
        return python_imports(data.decode("utf-8", "replace"))
    if kind in JS_KINDS:
        return js_imports(data.decode("utf-8", "replace"))
    return None


def scheduled(rel: str, data: bytes) -> bool:
    kind = entry_file_kind(rel)
    return kind is not None and looks_scheduled(kind, data)


def summarize(rel: str, data: bytes) -> dict[str, Any]:
    """The summaries of any file analysis read."""
    return {SCHEDULED: scheduled(rel, data)} if entry_file_kind(rel) is not None else {}


def summarize_source(kind: str, data: bytes) -> dict[str, Any]:
    """The summaries of a file analysis parsed as `kind`."""
    imports = imports_of(kind, data)
    return {IMPORTS: imports} if imports is not None else {}


__all__ = ["IMPORTS", "JS_KINDS", "SOURCE_KINDS", "SCHEDULED", "PyImport", "imports_of", "js_imports", "python_imports", "scheduled", "summarize", "summarize_source"]

"""Which analyzer reads which file: one line per file kind, in match order."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Union

from scanner.analyzers.base import Analysis, LaunchFound
from scanner.model import Finding, LaunchSite

# An analyzer yields launches for the shared command reader, or whole sites it judged itself
# (config files whose containment is not a command line) with any extra findings.
SiteFound = tuple[LaunchSite, tuple[Finding, ...]]
Analyzer = Callable[[Analysis], Iterable[Union[LaunchFound, SiteFound]]]

_SHEBANG_KINDS = {"python": "python", "node": "javascript", "bash": "shell", "sh": "shell",
                  "zsh": "shell", "dash": "shell", "ksh": "shell", "zx": "javascript"}

# (kind, predicate over the relative POSIX path), first match wins.
_MATCHERS: list[tuple[str, Callable[[str], bool]]] = [
    ("workflow", lambda p: bool(re.search(r"(^|/)\.github/workflows/[^/]+\.ya?ml$", p))),
    ("workflow", lambda p: posixpath.basename(p) in ("action.yml", "action.yaml")),
    ("package-json", lambda p: posixpath.basename(p) == "package.json"),
    ("makefile", lambda p: posixpath.basename(p) in ("Makefile", "makefile", "GNUmakefile") or p.endswith(".mk")),
    ("python", lambda p: p.endswith((".py", ".pyw"))),
    ("javascript", lambda p: p.endswith((".js", ".mjs", ".cjs", ".jsx"))),
    ("typescript", lambda p: p.endswith((".ts", ".mts", ".cts")) and not p.endswith(".d.ts")),
    ("tsx", lambda p: p.endswith(".tsx")),
    ("shell", lambda p: p.endswith((".sh", ".bash", ".zsh", ".ksh", ".bats", ".envrc"))),
    ("semgrep", lambda p: p.endswith((".go", ".java", ".kt", ".kts", ".rb", ".rs", ".cs", ".php"))),
]

# Kinds no built-in analyzer reads: files that pass the prefilter are handed to semgrep as a batch.
EXTERNAL_KINDS = frozenset({"semgrep"})


def register_kind(kind: str, predicate: Callable[[str], bool], analyzer: Analyzer, first: bool = True) -> None:
    """Add a file kind; coverage modules call this at import time."""
    _classify_base.cache_clear()
    if first:
        _MATCHERS.insert(0, (kind, predicate))
    else:
        _MATCHERS.append((kind, predicate))
    ANALYZERS[kind] = analyzer


def classify_path(rel: str) -> str | None:
    """The kind for a path. Predicates may look at the base name and at hidden folders
    (`.github/`, `.claude/`, ...) only: outside hidden folders the answer is memoised by base name."""
    head, _, base = rel.rpartition("/")
    if not head or not any(part.startswith(".") for part in head.split("/")):
        return _classify_base(base, bool(head))
    return _classify(rel)


@lru_cache(maxsize=65536)
def _classify_base(base: str, nested: bool) -> str | None:
    return _classify(f"_/{base}" if nested else base)


def _classify(rel: str) -> str | None:
    _load_extensions()
    for kind, predicate in _MATCHERS:
        if predicate(rel):
            return kind
    base = posixpath.basename(rel)
    if "." not in base:
        return "shebang"  # decided after reading the first line
    return None


def kind_from_shebang(first_line: bytes) -> str | None:
    if not first_line.startswith(b"#!"):
        return None
    parts = first_line[2:].decode("utf-8", "replace").split()
    if not parts:
        return None
    prog = posixpath.basename(parts[0])
    if prog == "env" and len(parts) > 1:
        prog = posixpath.basename(parts[-1] if parts[1].startswith("-") else parts[1])
    prog = re.sub(r"[0-9.]+$", "", prog)
    return _SHEBANG_KINDS.get(prog)


def _python(analysis: Analysis):
    from scanner.analyzers.python_lang import analyze_python

    return analyze_python(analysis)


def _javascript(analysis: Analysis):
    from scanner.analyzers.javascript import analyze_javascript

    dialect = {"javascript": "javascript", "typescript": "typescript", "tsx": "tsx"}[analysis.kind]
    return analyze_javascript(analysis, dialect)


def _shell(analysis: Analysis):
    from scanner.analyzers.shell import analyze_shell_script

    yield from analyze_shell_script(analysis)
    data = analysis.source.data
    if b"crontab" in data or b"/cron" in data:
        # A crontab line the script installs (`echo "0 * * * * claude ..." | crontab -`) is a
        # launch of its own, with no person in the loop.
        from scanner.analyzers.schedulers import installer_launches

        yield from installer_launches(analysis.source)


def _makefile(analysis: Analysis):
    from scanner.analyzers.shell import analyze_makefile

    return analyze_makefile(analysis)


def _package_json(analysis: Analysis):
    from scanner.analyzers.shell import analyze_package_json

    return analyze_package_json(analysis)


def _workflow(analysis: Analysis):
    from scanner.analyzers.workflow import analyze_workflow

    return analyze_workflow(analysis)


ANALYZERS: dict[str, Analyzer] = {
    "python": _python,
    "javascript": _javascript,
    "typescript": _javascript,
    "tsx": _javascript,
    "shell": _shell,
    "makefile": _makefile,
    "package-json": _package_json,
    "workflow": _workflow,
}

# Coverage modules that register more kinds (config files, SDKs). Imported lazily, once.
EXTENSION_MODULES: tuple[str, ...] = ("scanner.analyzers.configs", "scanner.analyzers.sdks")
_loaded = False


def _load_extensions() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for name in EXTENSION_MODULES:
        importlib.import_module(name)

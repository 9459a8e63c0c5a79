"""Byte gates: whether a Python or JavaScript file can hold anything its front end or its
in-process detector reports. A file that names an agent but that no gate admits is not parsed:
it has no launch (the report still counts it among the files read for agents).

Each gate is built, when first used, from the data its analyzer matches:

- the front ends (`python_lang.py`, `javascript.py`) report a call of a `rules/launchers.yaml`
  launcher, named through the file's own imports. The module's name is in the file whatever the
  import calls it (`import subprocess as sp`, `from os import system as s`), and in Python the
  function's name too. A JavaScript launcher descriptor is a string that starts with a package
  runner (`rules/containment.yaml` `package_runners`); a JavaScript class that extends one of the
  repository's own modules may launch through a method it inherits;
- the Python detectors (`sdk_python.py`) match a call by the class, function or keyword names of
  a `rules/frameworks.yaml` row, imported from one of its roots unless the name is distinctive;
  an agent tool, a same-file wrapper of a launcher, or an environment factory picked by name
  (`agent_tools`); the JavaScript detectors (`sdk_js.py`) need an import of an SDK or tool package
  of the `javascript` section.

A gate may admit a file that yields nothing; it must never turn away one that yields something.
`tests/test_speed_gates.py` runs every analyzer without its gate over the fixtures to check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from scanner.catalog import Catalog
from scanner.launch.base import launch_tables

# The rules/frameworks.yaml keys whose names sdk_python.py's handlers call a site by, per row
# ("key.sub" reads a name list inside a mapping; a mapping's keys are its names). The handler
# also needs the call imported from one of the row's roots, unless the name is distinctive.
PY_CALLED: dict[str, tuple[str, ...]] = {
    "claude-agent-sdk": ("entry_points",),
    "openai-agents": ("local_shell", "shell_tool", "local_sandbox", "sandbox_clients"),
    "langchain": ("shell_tools", "python_repls", "shell_middleware", "load_tools.calls"),
    "autogen": ("host_executors", "contained_executors", "host_fallback.classes"),
    "crewai": ("code_interpreter.classes",),
    "smolagents": ("host_executors", "code_agent.classes"),
    "open-interpreter": ("calls",),
    "openhands": ("host",),
    "browser-use": ("browsers",),
    "mcp-stdio": ("classes",),
}
# Rows with a `host_site` are read by one generic handler: their `host` classes.
PY_HOST_SITE = ("host",)
# Keyword arguments a handler makes a site by, on a call from one of the row's roots (crewai's
# `allow_code_execution=`, OpenHands' `runtime=`) ...
PY_KEYWORDS: dict[str, tuple[str, ...]] = {"crewai": ("agent_code_execution.switch",), "openhands": ("runtime.option",)}
# ... or on a call from any module (autogen reads `code_execution_config=` of the agent classes
# it knows, imported from anywhere).
PY_ALONE: dict[str, tuple[str, ...]] = {"autogen": ("code_execution_config.option",)}

# Every byte outside [A-Za-z0-9_] (the `\w` of a bytes pattern) becomes a space: the file's
# words are then one split away, and a name is a word of the file exactly when a pattern
# `\bname\b` would find it. One pass over the bytes instead of one search per name.
_SEPARATE = bytes(b if chr(b).isascii() and (chr(b).isalnum() or b == 0x5F) else 0x20 for b in range(256))
_LAST: tuple[bytes, frozenset[bytes]] = (b"", frozenset())


def identifiers(data: bytes) -> frozenset[bytes]:
    """The file's words. Both gates of a kind read them, once per file."""
    global _LAST
    last = _LAST
    if last[0] is data:
        return last[1]
    found = frozenset(data.translate(_SEPARATE).split())
    _LAST = (data, found)
    return found


def _names_at(row: dict[str, Any], path: str) -> list[str]:
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)] if value else []


def _encoded(names: Iterable[str]) -> frozenset[bytes]:
    return frozenset(str(n).encode() for n in names if n)


# -- Python ---------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _python_launchers() -> tuple[tuple[frozenset[bytes], frozenset[bytes]], ...]:
    """(the parts of the module's name, its functions) per module of the Python launcher table."""
    by_module: dict[str, set[str]] = {}
    for name in launch_tables()["python"]:
        module, _, function = name.rpartition(".")
        by_module.setdefault(module, set()).add(function)
    return tuple((_encoded(module.split(".")), _encoded(functions)) for module, functions in sorted(by_module.items()))


def python_launches(cat: Catalog, data: bytes) -> bool:
    """A call of a Python launcher can be in the file: its module and function are both named."""
    words = identifiers(data)
    return any(parts <= words and not functions.isdisjoint(words) for parts, functions in _python_launchers())


def _tool_names(cat: Catalog, *keys: str) -> list[str]:
    tools = cat.frameworks.section("agent_tools")
    return [str(v) for key in keys for v in tools.get(key) or ()]


def _keywords(names: Iterable[str]) -> re.Pattern[bytes] | None:
    """`name=` for any of the names, as a keyword argument: only blanks, comments and line
    continuations may stand between the name and its `=` (and `==` is a comparison)."""
    items = sorted(_encoded(names), key=lambda b: (-len(b), b))
    if not items:
        return None
    return re.compile(b"|".join(re.escape(n) + rb"(?<!\w" + re.escape(n) + rb")(?:[ \t\f\r\n]|\\\r?\n|#[^\r\n]*)*=(?!=)"
                                for n in items))


class _Clause:
    """One handler's condition: one of the called names or keyword arguments, and one of the
    scope's names (a root, or a distinctive called name) unless there is no scope."""

    def __init__(self, called: Iterable[str], keywords: Iterable[str], scope: Iterable[str] | None):
        self.called = _encoded(called)
        self.keywords = _encoded(keywords)
        self.keyword_pattern = _keywords(keywords)
        self.scope = _encoded(scope) if scope is not None else None

    def admits(self, data: bytes, words: frozenset[bytes]) -> bool:
        if self.scope is not None and self.scope.isdisjoint(words):
            return False
        if not self.called.isdisjoint(words):
            return True
        return self.keyword_pattern is not None and not self.keywords.isdisjoint(words) and \
            self.keyword_pattern.search(data) is not None


@lru_cache(maxsize=4)
def _python_clauses(cat: Catalog) -> tuple[_Clause, ...]:
    frameworks = cat.frameworks.section("frameworks")
    out: list[_Clause] = []
    for name, row in sorted(frameworks.items()):
        if not isinstance(row, dict):
            continue
        called = [n for key in PY_CALLED.get(name, PY_HOST_SITE if row.get("host_site") else ()) for n in _names_at(row, key)]
        keywords = [n for key in PY_KEYWORDS.get(name, ()) for n in _names_at(row, key)]
        # A root is matched by its first part: `google.adk` may be imported as `from google import adk`.
        roots = [str(r).split(".", 1)[0] for r in row.get("roots") or ()]
        distinctive = set(called) & {str(d) for d in row.get("distinctive") or ()}
        if called or keywords:
            out.append(_Clause(called, keywords, [*roots, *distinctive]))
        alone = [n for key in PY_ALONE.get(name, ()) for n in _names_at(row, key)]
        if alone:
            out.append(_Clause((), alone, None))
    return tuple(out)


@lru_cache(maxsize=4)
def python_call_names(cat: Catalog) -> tuple[frozenset[str], tuple[bytes, ...]]:
    """The gate's clauses, read per call: a call can match a Python detector's handler only
    when its name is one of these names or its arguments hold one of these keywords (the
    environment factories are matched by their own words)."""
    clauses = _python_clauses(cat)
    called = frozenset(name.decode() for clause in clauses for name in clause.called)
    return called, tuple(sorted({k for clause in clauses for k in clause.keywords}))


@lru_cache(maxsize=4)
def _python_tools(cat: Catalog) -> tuple[frozenset[bytes], frozenset[bytes], tuple[bytes, ...]]:
    """What a tool can run the model's input with besides a launcher (`exec`), and the names that
    make a function or class an agent tool: a base, a decorator, a registration, or a class name
    ending like an agent's execution environment."""
    return (_encoded(_tool_names(cat, "code_eval")),
            _encoded(_tool_names(cat, "bases", "decorators", "registration_keywords", "registration_calls")),
            tuple(s.encode() for s in _tool_names(cat, "executor_suffixes")))


@lru_cache(maxsize=4)
def _factory(cat: Catalog) -> tuple[tuple[bytes, ...], tuple[bytes, ...], re.Pattern[bytes], frozenset[bytes], re.Pattern[bytes] | None]:
    """sdk_python.py `_local_factory`: a call whose name, lowercased, is one of the prefixes and
    letters or underscores with one of the factory words in it, given one of the keywords."""
    prefixes = tuple(p.encode() for p in _tool_names(cat, "factory_prefixes"))
    factory_words = tuple(w.encode() for w in _tool_names(cat, "factory_words"))
    keywords = _tool_names(cat, "factory_keywords")
    return prefixes, factory_words, re.compile(rb"[a-z_]+"), _encoded(keywords), _keywords(keywords)


_WORD_BYTES = frozenset(b for b in range(256) if _SEPARATE[b] != 0x20)


def _factory_call(cat: Catalog, data: bytes, words: frozenset[bytes]) -> bool:
    prefixes, factory_words, letters, keywords, keyword_pattern = _factory(cat)
    if not prefixes or keyword_pattern is None or keywords.isdisjoint(words):
        return False
    return _factory_named(data, prefixes, factory_words, letters) and keyword_pattern.search(data) is not None


def _factory_named(data: bytes, prefixes: tuple[bytes, ...], factory_words: tuple[bytes, ...], letters: re.Pattern[bytes]) -> bool:
    lowered = data.lower()
    for word in factory_words:
        at = lowered.find(word)
        while at != -1:
            # The whole word of the file around this one, as the detector reads the call's name.
            start, end = at, at + len(word)
            while start and lowered[start - 1] in _WORD_BYTES:
                start -= 1
            while end < len(lowered) and lowered[end] in _WORD_BYTES:
                end += 1
            name = lowered[start:end]
            if name.startswith(prefixes) and letters.fullmatch(name):
                return True
            at = lowered.find(word, end)
    return False


def python_detectors(cat: Catalog, data: bytes) -> bool:
    """A framework site, an agent tool that runs the model's input, a same-file wrapper of a
    launcher, or an environment factory picked by name can be in the file."""
    words = identifiers(data)
    if any(clause.admits(data, words) for clause in _python_clauses(cat)):
        return True
    code_eval, entries, suffixes = _python_tools(cat)
    # Wrappers and tools are functions: their launch or code evaluation is inside a `def`.
    if b"def" in words and (python_launches(cat, data) or not code_eval.isdisjoint(words) and (
            not entries.isdisjoint(words) or any(w.endswith(suffixes) for w in words))):
        return True
    return _factory_call(cat, data, words)


# -- JavaScript / TypeScript ----------------------------------------------------------------

@lru_cache(maxsize=4)
def _javascript_launchers(cat: Catalog) -> tuple[tuple[bytes, ...], tuple[tuple[bytes, re.Pattern[bytes]], ...]]:
    """Where the table's launcher names start (`child_process`, `execa`, `Bun`, the `zx` of a
    shebang), and each package runner a command string can start with (its first word, and the
    runner with any whitespace between its words)."""
    modules = tuple(sorted({name.split(".", 1)[0].encode() for name in launch_tables()["javascript"]}))
    runners = []
    for runner in sorted(cat.containment.section("package_runners")):
        parts = [re.escape(w.encode()) for w in runner.split()]
        runners.append((runner.split()[0].encode(), re.compile(rb"\s+".join(parts))))
    return modules, tuple(runners)


def javascript_launches(cat: Catalog, data: bytes) -> bool:
    """A launcher call or a launcher descriptor can be in the file (the engine also asks this of a
    file that names no agent, to follow its imports)."""
    modules, runners = _javascript_launchers(cat)
    return any(m in data for m in modules) or any(first in data and runner.search(data) for first, runner in runners)


def javascript_front_end(cat: Catalog, data: bytes) -> bool:
    """The JavaScript front end's gate: a launch of the file's own, or one through a method the
    file's class inherits."""
    return javascript_launches(cat, data) or _inherits_from_repository(data)


# An import or require() of the repository's own module (a relative path).
_RELATIVE_IMPORT = re.compile(rb"""(?:\bfrom\s*|\brequire\(\s*)["'`]\.\.?/""")


def _inherits_from_repository(data: bytes) -> bool:
    """A class that extends one of the repository's own modules and calls a method on `this`:
    an inherited method may hand its parameters to a launcher (javascript.py
    `_inherited_launches`), though this file imports none."""
    return b"extends" in data and b"this." in data and _RELATIVE_IMPORT.search(data) is not None


@lru_cache(maxsize=4)
def _javascript_detectors(cat: Catalog) -> tuple[tuple[bytes, ...], tuple[tuple[bytes, re.Pattern[bytes]], ...], tuple[bytes, ...]]:
    """The SDK packages (spelled in full in their import), the packages that define a tool (the
    whole string of an import: bounded, not a substring), and what a tool can run its input with
    besides a launcher (`eval`, `Function`, `vm`)."""
    js = cat.frameworks.section("javascript")
    sdks = {p for key, field in (("claude_agent_sdk", "packages"), ("codex_sdk", "packages"), ("mcp_stdio", "modules"))
            for p in (js.get(key) or {}).get(field) or ()}
    tools = {f.get("package") for key in ("tool_factories", "tool_classes") for f in js.get(key) or ()}
    tools |= set((js.get("mcp_server") or {}).get("modules") or ())
    packages = tuple((p, re.compile(rb"(?<![\w@/.$-])" + re.escape(p) + rb"(?![\w/.$-])")) for p in sorted(_encoded(tools)))
    code_eval = tuple(sorted(_encoded(str(n).split(".", 1)[0] for n in js.get("code_eval") or ())))
    return tuple(sorted(_encoded(sdks))), packages, code_eval


def javascript_detectors(cat: Catalog, data: bytes) -> bool:
    """An SDK import, or a tool package's with something that can run the tool's input."""
    sdks, packages, code_eval = _javascript_detectors(cat)
    if any(s in data for s in sdks):
        return True
    if not any(p in data and bounded.search(data) for p, bounded in packages):
        return False
    return any(c in data for c in code_eval) or any(m in data for m in _javascript_launchers(cat)[0])


__all__ = ["identifiers", "javascript_detectors", "javascript_front_end", "javascript_launches", "python_call_names",
           "python_detectors", "python_launches"]

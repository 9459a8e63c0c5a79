"""In-process agents: agent SDKs and code-executing frameworks in Python and TypeScript.
Registers its detectors on import.

The Python and JavaScript front ends find programs started through subprocess / child_process.
Agents started *inside* the process (the Claude Agent SDK, the Codex SDK) and framework tools
that run model-written shell or Python on the host (LangChain ShellTool, AutoGen local
executors, smolagents' local executor, ...) are found here. Each detector reads the same parse
as its front end would; files that mention no SDK term are not read twice.

A detector yields either a `LaunchFound` for the shared command reader (an MCP stdio server or a
same-file helper that starts an agent CLI) or a judged `LaunchSite` with the facts it saw. A
site whose hazard is better named by a framework-specific rule carries a `superseded` fact: the
judge's generic finding of that rule id for the site is replaced by the detector's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from scanner import registry
from scanner.analyzers.base import Analysis
from scanner.resources import rules_dir


@lru_cache(maxsize=1)
def sdk_terms() -> tuple[str, ...]:
    """The `sdk_terms:` list at the end of rules/agents.yaml (prefilter and search terms)."""
    import yaml

    with (rules_dir() / "agents.yaml").open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    return tuple(sorted(str(t) for t in raw.get("sdk_terms") or ()))


# Agent names already in the catalog's prefilter whose Python packages are read here too.
_ALSO_READ = ("interpreter", "openhands", "sweagent", "swerex")
# A same-file helper that wraps a launcher may receive an agent command at its call sites.
_HELPER_HINT = re.compile(rb"\b(?:subprocess|os\.(?:system|popen|exec|spawn|posix_spawn)|pty\.spawn|create_subprocess_)")


@lru_cache(maxsize=1)
def _terms_pattern() -> re.Pattern[bytes]:
    terms = sorted({*sdk_terms(), *_ALSO_READ}, key=lambda s: (-len(s), s))
    return re.compile(("(?:" + "|".join(re.escape(t) for t in terms) + ")").encode())


def mentions_sdk(data: bytes) -> bool:
    return bool(_terms_pattern().search(data))


def may_wrap_launcher(data: bytes) -> bool:
    return b"def " in data and bool(_HELPER_HINT.search(data))


def _chain(original, detector, gate):
    def analyzer(analysis: Analysis) -> Iterator:
        yield from original(analysis)
        if gate(analysis.source.data):
            yield from detector(analysis)

    analyzer.__wrapped__ = original  # type: ignore[attr-defined]
    return analyzer


def _python_detector(analysis: Analysis):
    from scanner.analyzers.sdk_python import detect_python

    return detect_python(analysis)


def _javascript_detector(analysis: Analysis):
    from scanner.analyzers.sdk_js import detect_javascript

    dialect = {"javascript": "javascript", "typescript": "typescript", "tsx": "tsx"}[analysis.kind]
    return detect_javascript(analysis, dialect)


def _register() -> None:
    if getattr(registry.ANALYZERS.get("python"), "__wrapped__", None) is not None:
        return
    registry.ANALYZERS["python"] = _chain(registry.ANALYZERS["python"], _python_detector,
                                          lambda data: mentions_sdk(data) or may_wrap_launcher(data))
    for kind in ("javascript", "typescript", "tsx"):
        registry.ANALYZERS[kind] = _chain(registry.ANALYZERS[kind], _javascript_detector, mentions_sdk)


_register()

__all__ = ["mentions_sdk", "sdk_terms"]

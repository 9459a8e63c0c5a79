"""Gates for the in-process agent detectors (agent SDKs and code-executing frameworks).

The Python and JavaScript front ends find programs started through subprocess / child_process.
Agents started *inside* the process (the Claude Agent SDK, the Codex SDK) and framework tools
that run model-written shell or Python on the host (LangChain ShellTool, AutoGen local
executors, smolagents' local executor, ...) are found here. Each detector reads the same parse
as its front end would; `scanner.launch.filekinds` runs a detector only on files these gates admit.

A detector yields either a `LaunchFound` for the shared command reader (an MCP stdio server or a
same-file helper that starts an agent CLI) or a judged `LaunchSite` with the facts it saw. A
site whose hazard is better named by a framework-specific rule names the judge's rule it
supersedes (`Containment.superseded`): that generic finding is replaced by the detector's own.
"""

from __future__ import annotations

import re
from functools import lru_cache

from scanner.catalog import Catalog

# Agent names already in the catalog's prefilter whose Python packages are read here too.
_ALSO_READ = ("interpreter", "openhands", "sweagent", "swerex")
# A same-file helper that wraps a launcher may receive an agent command at its call sites.
_HELPER_HINT = re.compile(rb"\b(?:subprocess|os\.(?:system|popen|exec|spawn|posix_spawn)|pty\.spawn|create_subprocess_)")


@lru_cache(maxsize=4)
def _terms_pattern(cat: Catalog) -> re.Pattern[bytes]:
    terms = sorted({*cat.sdk_terms, *_ALSO_READ}, key=lambda s: (-len(s), s))
    return re.compile(("(?:" + "|".join(re.escape(t) for t in terms) + ")").encode())


def mentions_sdk(cat: Catalog, data: bytes) -> bool:
    return bool(_terms_pattern(cat).search(data))


def may_wrap_launcher(data: bytes) -> bool:
    return b"def " in data and bool(_HELPER_HINT.search(data))

__all__ = ["may_wrap_launcher", "mentions_sdk"]

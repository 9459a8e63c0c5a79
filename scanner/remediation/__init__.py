"""Generated sandbox configs: the repo-level half of blastwall's remediation.

    spec = spec_from_catalog(["claude-code"], ["claude", "-p", "review"])
    report = write_configs(out_dir, render_configs(spec), force=False)

The names below are imported when first used: a scan that only previews fixes
(`scanner.remediation.apply`) does not load the config templates' engine.
"""

from __future__ import annotations

import importlib
from typing import Any

_FROM = {
    "render_configs": "generate",
    "templates_dir": "generate",
    "PLACEHOLDER_IMAGE": "spec",
    "PLACEHOLDER_PROXY_IMAGE": "spec",
    "SandboxSpec": "spec",
    "SpecError": "spec",
    "spec_from_catalog": "spec",
    "UnsafePathError": "write",
    "WriteReport": "write",
    "write_configs": "write",
}

__all__ = sorted(_FROM)


def __getattr__(name: str) -> Any:
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

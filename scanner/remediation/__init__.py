"""Generated sandbox configs: the repo-level half of blastwall's remediation.

    spec = spec_from_catalog(["claude-code"], ["claude", "-p", "review"])
    report = write_configs(out_dir, render_configs(spec), force=False)
"""

from scanner.remediation.generate import render_configs, templates_dir
from scanner.remediation.spec import (
    PLACEHOLDER_IMAGE,
    PLACEHOLDER_PROXY_IMAGE,
    SandboxSpec,
    SpecError,
    spec_from_catalog,
)
from scanner.remediation.write import UnsafePathError, WriteReport, write_configs

__all__ = [
    "PLACEHOLDER_IMAGE",
    "PLACEHOLDER_PROXY_IMAGE",
    "SandboxSpec",
    "SpecError",
    "UnsafePathError",
    "WriteReport",
    "render_configs",
    "spec_from_catalog",
    "templates_dir",
    "write_configs",
]

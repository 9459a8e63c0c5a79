"""The file kinds blastwall reads and the analyzers that read each: one explicit table.

Nothing registers itself at import time. A kind is a row of `FILE_KINDS` (match order: the
first row whose predicate accepts a path wins); its analyzers are named by module and function
and imported on first use, so a scan pays only for the surfaces its files have.
"""

from __future__ import annotations

import importlib
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

from scanner.catalog import Catalog
from scanner.launch import agent_configs as ac
from scanner.launch.base import Analysis, LaunchFound
from scanner.launch.gates import javascript_detectors, javascript_front_end, python_detectors, python_launches
from scanner.discover.filenames import is_compose, is_devcontainer, is_dockerfile, is_kubernetes, is_scheduler
from scanner.model import Finding, LaunchSite

# An analyzer yields launches for the shared command reader, or whole sites it judged itself
# (config files whose containment is not a command line) with any extra findings.
SiteFound = tuple[LaunchSite, tuple[Finding, ...]]
Analyzer = Callable[[Analysis], Iterable[Union[LaunchFound, SiteFound]]]


@dataclass(frozen=True)
class Step:
    """One analyzer of a kind: `module:function`, run when `gate` (over the scan's catalog and
    the file's bytes) allows."""

    target: str
    gate: Callable[[Catalog, bytes], bool] | None = None

    def run(self, analysis: Analysis) -> Iterable[Union[LaunchFound, SiteFound]]:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)(analysis)


@dataclass(frozen=True)
class FileKind:
    name: str
    matches: Callable[[str], bool]  # over the relative POSIX path (see `classify_path`)
    steps: tuple[Step, ...] = ()  # none: handed to semgrep as a batch
    # Read even when no agent term is in the file: configs whose content alone makes a launch.
    unfiltered: bool = False

    def admits(self, cat: Catalog, data: bytes) -> bool:
        """Whether any step would read the file: one that none would is not parsed at all."""
        return any(step.gate is None or step.gate(cat, data) for step in self.steps)

    def analyze(self, analysis: Analysis) -> Iterator[Union[LaunchFound, SiteFound]]:
        data = analysis.source.data
        for step in self.steps:
            if step.gate is None or step.gate(analysis.catalog, data):
                yield from step.run(analysis)


def _base_in(*names: str) -> Callable[[str], bool]:
    return lambda p: posixpath.basename(p) in names


def _ends(*suffixes: str) -> Callable[[str], bool]:
    return lambda p: p.endswith(suffixes)


_WORKFLOW = re.compile(r"(^|/)\.github/workflows/[^/]+\.ya?ml$")


def _shell_installs_cron(_cat: Catalog, data: bytes) -> bool:
    # A crontab line the script installs (`echo "0 * * * * claude ..." | crontab -`) is a launch
    # of its own, with no person in the loop.
    return b"crontab" in data or b"/cron" in data


# Most source files that name an agent (often the project's own name) hold nothing either step
# reports; the gates (scanner.launch.gates) keep them from being parsed.
_PY = Step("scanner.launch.python_lang:analyze_python", python_launches)
_PY_SDK = Step("scanner.launch.sdk_python:detect_python", python_detectors)
_JS = Step("scanner.launch.javascript:analyze_javascript", javascript_front_end)
_JS_SDK = Step("scanner.launch.sdk_js:detect_javascript", javascript_detectors)
_CONFIGS = "scanner.launch.agent_configs"

FILE_KINDS: tuple[FileKind, ...] = (
    # Agent configuration files by name, before the generic JSON/TOML/YAML kinds below.
    FileKind("claude-settings", ac.is_claude_settings_path, (Step(f"{_CONFIGS}:analyze_claude_settings"),), unfiltered=True),
    FileKind("mcp-config", ac.is_mcp_json_path, (Step(f"{_CONFIGS}:analyze_mcp_json"),), unfiltered=True),
    FileKind("codex-config", ac.is_codex_config_path, (Step(f"{_CONFIGS}:analyze_codex_config"),), unfiltered=True),
    FileKind("gemini-settings", ac.is_gemini_settings_path, (Step(f"{_CONFIGS}:analyze_gemini_settings"),), unfiltered=True),
    FileKind("opencode-config", ac.is_opencode, (Step(f"{_CONFIGS}:analyze_opencode"),), unfiltered=True),
    FileKind("aider-config", ac.is_aider_conf, (Step(f"{_CONFIGS}:analyze_aider_conf"),), unfiltered=True),
    # Containers and schedulers.
    FileKind("devcontainer", is_devcontainer, (Step("scanner.launch.containers:analyze_devcontainer"),)),
    FileKind("compose", is_compose, (Step("scanner.launch.containers:analyze_compose"),)),
    FileKind("dockerfile", is_dockerfile, (Step("scanner.launch.containers:analyze_dockerfile"),)),
    FileKind("scheduler", is_scheduler, (Step("scanner.launch.schedulers:analyze_scheduler"),)),
    # CI, build files and source code.
    FileKind("workflow", lambda p: bool(_WORKFLOW.search(p)) or posixpath.basename(p) in ("action.yml", "action.yaml"),
             (Step("scanner.launch.workflow:analyze_workflow"),)),
    FileKind("package-json", _base_in("package.json"), (Step("scanner.launch.shell:analyze_package_json"),)),
    FileKind("makefile", lambda p: posixpath.basename(p) in ("Makefile", "makefile", "GNUmakefile") or p.endswith(".mk"),
             (Step("scanner.launch.shell:analyze_makefile"),)),
    FileKind("python", _ends(".py", ".pyw"), (_PY, _PY_SDK)),
    FileKind("javascript", _ends(".js", ".mjs", ".cjs", ".jsx"), (_JS, _JS_SDK)),
    FileKind("typescript", lambda p: p.endswith((".ts", ".mts", ".cts")) and not p.endswith(".d.ts"), (_JS, _JS_SDK)),
    FileKind("tsx", _ends(".tsx"), (_JS, _JS_SDK)),
    FileKind("shell", _ends(".sh", ".bash", ".zsh", ".ksh", ".bats", ".envrc"),
             (Step("scanner.launch.shell:analyze_shell_script"),
              Step("scanner.launch.schedulers:installer_launches_in", _shell_installs_cron))),
    # Languages without a built-in front end: files that pass the prefilter go to semgrep.
    FileKind("semgrep", _ends(".go", ".java", ".kt", ".kts", ".rb", ".rs", ".cs", ".php")),
    # Any other YAML file may hold Kubernetes manifests; any other JSON or TOML file is an agent
    # config when its content says so.
    FileKind("kubernetes", is_kubernetes, (Step("scanner.launch.kubernetes:analyze_kubernetes"),)),
    FileKind("config-by-content", lambda p: ac.is_any_json(p) or ac.is_any_toml(p),
             (Step(f"{_CONFIGS}:analyze_config_by_content"),), unfiltered=True),
)

KINDS: dict[str, FileKind] = {k.name: k for k in FILE_KINDS}
# What the engine calls per kind; a test may replace an entry.
ANALYZERS: dict[str, Analyzer] = {k.name: k.analyze for k in FILE_KINDS if k.steps}
# Kinds no built-in analyzer reads: files that pass the prefilter are handed to semgrep as a batch.
EXTERNAL_KINDS = frozenset(k.name for k in FILE_KINDS if not k.steps)
UNFILTERED_KINDS = frozenset(k.name for k in FILE_KINDS if k.unfiltered)

_SHEBANG_KINDS = {"python": "python", "node": "javascript", "bash": "shell", "sh": "shell",
                  "zsh": "shell", "dash": "shell", "ksh": "shell", "zx": "javascript"}


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


def classify_entry(rel: str, base: str, nested: bool, in_hidden: bool) -> str | None:
    """`classify_path` for a walk that knows, once per folder, whether the folder is (under) a
    hidden one."""
    return _classify(rel) if in_hidden else _classify_base(base, nested)


def _classify(rel: str) -> str | None:
    for kind in FILE_KINDS:
        if kind.matches(rel):
            return kind.name
    if "." not in posixpath.basename(rel):
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

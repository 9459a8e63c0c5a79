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
from collections.abc import Iterable, Iterator
from functools import lru_cache

from scanner import registry
from scanner.analyzers.base import Analysis
from scanner.catalog import Catalog, load_catalog
from scanner.findings import new_finding
from scanner.judge import site_id_for
from scanner.model import Boundary, Confidence, Containment, Egress, EnvMode, Fact, Finding, LaunchSite, Location
from scanner.resources import rules_dir

SUPERSEDED = "superseded"


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


def catalog() -> Catalog:
    return load_catalog()


class SiteBuilder:
    """Collects the facts of one in-process site and turns them into a judged LaunchSite."""

    def __init__(self, *, agent: str, agent_name: str, surface: str, launcher: str, location: Location,
                 command: str = ""):
        self.agent = agent
        self.agent_name = agent_name
        self.surface = surface
        self.launcher = launcher
        self.location = location
        self.command = command or launcher
        self.boundary = Boundary.NONE
        self.boundary_tool = ""
        self.env = EnvMode.INHERITED
        self.egress = Egress.OPEN
        self.facts: list[Fact] = []
        self.unknowns: list[Fact] = []
        self.extra: list[tuple[str, Location, str, dict]] = []

    @property
    def site_id(self) -> str:
        return site_id_for(self.location, self.agent)

    def fact(self, kind: str, value: str, location: Location | None = None) -> None:
        self.facts.append(Fact(kind, value, location or self.location))

    def unknown(self, value: str, location: Location | None = None) -> None:
        self.unknowns.append(Fact("unknown", value, location or self.location))

    def set_env(self, mode: EnvMode, detail: str, location: Location | None = None) -> None:
        self.env = mode
        self.facts = [f for f in self.facts if not (f.kind.startswith("env-") and f.kind not in ("env-file", "env-passes-through"))]
        self.facts.insert(0, Fact(f"env-{mode.value}", detail, location or self.location))

    def secrets(self, names: Iterable[tuple[str, Location]]) -> None:
        for name, loc in names:
            kind = catalog().credential_kind(name)
            if kind:
                self.fact(f"secret-{kind}", name, loc)

    def has_bypass(self) -> bool:
        """Whether an approval gate is off: a bypass fact, or a bypass finding reported directly."""
        return any(f.kind in ("bypass-flag", "bypass-default") for f in self.facts) or any(
            e[0] == "agent-permission-bypass" for e in self.extra)

    def contain(self, boundary: Boundary, tool: str, egress: Egress = Egress.UNKNOWN) -> None:
        self.boundary, self.boundary_tool, self.egress = boundary, tool, egress

    def report(self, rule_id: str, location: Location, message: str, *, replaces: tuple[str, ...] = (), **kw) -> None:
        """A finding of a framework rule; `replaces` names judge rules it stands in for."""
        for rule in replaces:
            self.fact(SUPERSEDED, rule, location)
        self.extra.append((rule_id, location, message, kw))

    def build(self) -> tuple[LaunchSite, tuple[Finding, ...]]:
        site = LaunchSite(
            site_id=self.site_id, agent=self.agent, agent_name=self.agent_name, surface=self.surface,
            launcher=self.launcher, location=self.location, command=" ".join(self.command.split())[:200],
            containment=Containment(boundary=self.boundary, boundary_tool=self.boundary_tool, env=self.env,
                                    egress=self.egress if self.boundary is not Boundary.NONE else Egress.OPEN,
                                    facts=tuple(self.facts), unknowns=tuple(self.unknowns)),
        )
        findings = tuple(
            new_finding(catalog(), rule, loc, site_id=site.site_id, message=msg,
                        related=(self.location, *kw.pop("related", ())), **kw)
            for rule, loc, msg, kw in ((r, l, m, dict(k)) for r, l, m, k in self.extra)
        )
        return site, findings


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

__all__ = ["SiteBuilder", "SUPERSEDED", "mentions_sdk", "sdk_terms", "Confidence"]

"""The semgrep stage: languages without a built-in analyzer, merged into the same findings.

Only files that passed the catalog prefilter reach semgrep, as explicit targets, so a repository
without such files never starts it. Its hits go through the same finding constructor; a file it
could not analyse becomes an `agent-containment-undecided` finding at the line that mentions an
agent, which makes the repo `unclear` rather than silently clean.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scanner.catalog import Catalog, RuleMeta
from scanner.findings import new_finding, new_site, site_id_for
from scanner.model import Boundary, Confidence, Containment, Egress, EnvMode, Finding, LaunchSite, Severity, Skip
from scanner.parsing import SourceFile
from scanner.resources import rules_dir

SEMGREP_TIMEOUT = 300.0


@dataclass(frozen=True)
class SemgrepStage:
    sites: tuple[LaunchSite, ...]
    findings: tuple[Finding, ...]
    not_analysed: tuple[Skip, ...]
    ran: bool


def _source(root: Path, rel: str) -> SourceFile | None:
    from scanner.discovery import Candidate, read_candidate

    data, _reason = read_candidate(root, Candidate(rel, "semgrep", 0))
    return SourceFile(rel, data) if data is not None else None


def _agent_on_line(catalog: Catalog, text: str) -> tuple[str, str]:
    for spec in catalog.agents:
        for name in (*spec.binaries, *spec.packages):
            if name in spec.requires_any:
                continue
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
                return spec.id, spec.name
    return "unknown", "an agent"


def _user_rule(hit) -> RuleMeta:  # type: ignore[no-untyped-def]
    return RuleMeta(
        id=hit.rule_id, title=hit.message.split(". ")[0][:120] or hit.rule_id, category=hit.category,
        categories=(hit.category,), severity=Severity(hit.severity), severity_contained=None,
        confidence=Confidence(hit.confidence), why=hit.message, fix="See the rule's own documentation.",
        fix_examples={}, references=(),
    )


def run_stage(root: Path, targets: Sequence[str], catalog: Catalog, user_rules: Sequence[Path] = (),
              pattern: re.Pattern[bytes] | None = None) -> SemgrepStage:
    from scanner.semgrep_runner import run_semgrep

    if not targets:
        return SemgrepStage((), (), (), False)
    dirs = [rules_dir() / "semgrep", *user_rules]
    outcome = run_semgrep(root if root.is_dir() else root.parent, sorted(targets), dirs, timeout=SEMGREP_TIMEOUT)
    sites: dict[str, LaunchSite] = {}
    findings: list[Finding] = []
    sources: dict[str, SourceFile | None] = {}

    def src(rel: str) -> SourceFile | None:
        if rel not in sources:
            sources[rel] = _source(root, rel)
        return sources[rel]

    bypassed = {(h.path, h.line) for h in outcome.hits if h.rule_id == "agent-permission-bypass"}
    for hit in outcome.hits:
        file = src(hit.path)
        if file is None:
            continue
        loc = file.loc(hit.line, hit.column, hit.end_line, hit.end_column)
        agent_id, agent_name = _agent_on_line(catalog, loc.quote)
        # An agent whose own sandbox is on by default (Codex) and is not switched off here is
        # judged as the built-in analyzers judge it: not inline, its environment a hardening note.
        own_sandbox = agent_id != "unknown" and catalog.agent(agent_id).sandbox_default_on \
            and (hit.path, hit.line) not in bypassed
        if own_sandbox and hit.rule_id == "agent-inline-launch":
            continue
        sid = site_id_for(file.loc(hit.line), agent_id)
        boundary = (Boundary.AGENT_SANDBOX, f"{agent_name} sandbox") if own_sandbox else (Boundary.NONE, "")
        # The pack judges by pattern, not by a containment model: env and egress stay unknown here.
        if sid not in sites:
            sites[sid] = new_site(agent=agent_id, agent_name=agent_name, surface="semgrep", launcher=hit.semgrep_id,
                                  location=file.loc(hit.line), command=loc.quote,
                                  containment=Containment(boundary=boundary[0], boundary_tool=boundary[1],
                                                          env=EnvMode.UNKNOWN, egress=Egress.UNKNOWN))
        meta = None if hit.rule_id in catalog.rules else _user_rule(hit)
        findings.append(new_finding(catalog, hit.rule_id, loc, site_id=sid, message=hit.message, meta=meta,
                                    confidence=Confidence(hit.confidence), contained=own_sandbox))
    skipped = []
    for rel, reason in outcome.not_analysed:
        skipped.append(Skip(rel, reason))
        file = src(rel)
        if file is None:
            continue
        line = 1
        if pattern is not None:
            match = pattern.search(file.data)
            if match:
                line = file.data.count(b"\n", 0, match.start()) + 1
        loc = file.loc(line)
        agent_id, agent_name = _agent_on_line(catalog, loc.quote)
        sid = site_id_for(loc, agent_id)
        if sid not in sites:
            sites[sid] = new_site(agent=agent_id, agent_name=agent_name, surface="semgrep", launcher="not analysed",
                                  location=loc, command=loc.quote)
        need = f"an analysis of {rel} ({reason})"
        findings.append(new_finding(catalog, "agent-containment-undecided", loc, site_id=sid, confidence=Confidence.LOW,
                                    message=f"{rel} mentions an agent but was not analysed: {reason}.", needs_context=need))
    return SemgrepStage(tuple(sites.values()), tuple(findings), tuple(skipped), True)

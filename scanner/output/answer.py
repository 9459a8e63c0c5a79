"""The WHY IT MATTERS and FIX parts of the answer, as plain data every report formats its own way."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from scanner.catalog import Catalog
from scanner.model import Finding, Location, ScanResult, Severity, Verdict
from scanner.output.overview import priority, rule_doc_url

_SURFACE_LANG = {"python": "python", "javascript": "javascript", "shell": "shell", "makefile": "shell",
                 "package-json": "shell", "github-workflow": "shell"}
# Rules whose fix is the launch call itself: their after-snippet is the site's real rewrite.
_CALL_LEVEL = {"agent-inline-launch", "agent-inherits-environment", "agent-unbounded-session", "agent-permission-bypass",
               "agent-operator-credentials-passed", "agent-root-in-sandbox"}
UNDECIDED = "agent-containment-undecided"
_NOT_ANALYSED_WHY = ("A file that names an AI agent could not be read whole, so whether it starts one in the "
                     "operator's own context is unknown. What was not analysed cannot be called clean: review "
                     "those files, or make them small enough to parse.")

# Kept for callers that sort findings the report's way.
_priority = priority


@dataclass(frozen=True)
class FixItem:
    rule_id: str
    title: str
    summary: str
    where: Location  # the line the before-snippet comes from
    language: str  # "python", "javascript", "shell"
    before: str  # "" when an earlier item's rewrite already covers this one
    after: str
    severity: Severity = Severity.INFO
    why: str = ""
    findings: int = 0  # active findings of this rule
    sites: int = 0  # launch sites they are at
    locations: tuple[Location, ...] = ()  # every finding's primary location, most severe first
    help_uri: str = ""
    covered_by: str = ""  # the rule whose rewrite (same site) already shows this fix
    rewrite: bool = False  # before/after are the site's real rewrite, not the rule's example


def deciding_rule(result: ScanResult, catalog: Catalog) -> str:
    """The rule whose `why` explains the verdict: for `present`, the most severe finding that
    makes it present; for `unclear`, the finding that needs outside context ("" when only
    unanalysed files make it unclear); for `not present`, none."""
    active = [f for f in result.findings if not f.suppressed]
    if result.verdict is Verdict.PRESENT:
        deciding = [f for f in active if f.severity.rank >= Severity.HIGH.rank]
    elif result.verdict is Verdict.UNCLEAR:
        deciding = [f for f in active if f.needs_context or f.rule_id == UNDECIDED]
    else:
        return ""
    top = min(deciding, key=priority, default=None)
    return top.rule_id if top is not None and top.rule_id in catalog.rules else ""


def why_text(result: ScanResult, catalog: Catalog) -> str:
    """Two plain sentences: the repo-level reason, or the `why` of the rule that decides the verdict."""
    if result.verdict is Verdict.NOT_PRESENT:
        if result.new_only and result.launch_sites:
            return ("Nothing reported here adds an agent that runs with the operator's identity. Findings that "
                    "were already there before this change are counted in the verdict section, not repeated.")
        if not result.launch_sites:
            return ("No AI agent is started from this repository, so none can inherit the operator's identity from it. "
                    "Agents started from outside the repository are outside this scan.")
        return ("Each agent found runs inside a boundary that keeps the operator's credentials, home directory and "
                "network out of its reach. The remaining findings, if any, are hardening that narrows it further.")
    rule_id = deciding_rule(result, catalog)
    if rule_id:
        return catalog.rules[rule_id].why
    if result.verdict is Verdict.UNCLEAR and result.coverage.not_analysed:
        return _NOT_ANALYSED_WHY
    return catalog.rule(UNDECIDED).why


def fix_items(result: ScanResult, catalog: Catalog, snippets: dict[str, tuple[str, str]]) -> list[FixItem]:
    """One item per rule, most severe first: the real rewrite of its launch where blastwall has
    one, else the rule's own before/after for the evidence's language."""
    by_rule: OrderedDict[str, list[Finding]] = OrderedDict()
    for f in sorted((f for f in result.findings if not f.suppressed), key=priority):
        by_rule.setdefault(f.rule_id, []).append(f)
    sites = {s.site_id: s for s in result.launch_sites}
    shown: dict[str, str] = {}  # site id -> the rule whose item shows its rewrite
    out = []
    for rule_id, group in by_rule.items():
        rule = catalog.rules.get(rule_id)
        if rule is None:
            continue
        # The example comes from the most severe finding that has a real rewrite, else the first.
        f = next((g for g in group if rule_id in _CALL_LEVEL and g.site_id in snippets), group[0])
        site = sites.get(f.site_id)
        language = _SURFACE_LANG.get(site.surface if site else "", "shell")
        example = (rule.fix_examples.get(language) or rule.fix_examples.get("shell")
                   or next(iter(rule.fix_examples.values()), None))
        snippet = snippets.get(f.site_id) if rule_id in _CALL_LEVEL else None
        covered = shown.get(f.site_id, "") if snippet is not None else ""
        if snippet is not None and not covered:
            shown[f.site_id] = rule_id
        before = snippet[0] if snippet else (example.before if example else f.location.quote)
        after = snippet[1] if snippet else (example.after if example else rule.fix)
        where = site.location if snippet and site else f.location
        if not snippet and example:
            surface = next((name for name, ex in rule.fix_examples.items() if ex is example), "shell")
            language = _SURFACE_LANG.get(surface, "shell")
        out.append(FixItem(
            rule_id, rule.title, rule.fix, where, language,
            "" if covered else before, "" if covered else after,
            severity=group[0].severity, why=rule.why, findings=len(group), sites=len({g.site_id for g in group}),
            locations=tuple(g.location for g in group), help_uri=rule_doc_url(rule_id), covered_by=covered,
            rewrite=snippet is not None,
        ))
    # The fix for what decides the verdict comes first (for `unclear`, the missing context).
    lead = deciding_rule(result, catalog)
    out.sort(key=lambda item: item.rule_id != lead)
    return out

"""The WHY IT MATTERS and FIX parts of the answer, as plain data every report formats its own way."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from scanner.catalog import Catalog
from scanner.model import CATEGORIES, Finding, Location, ScanResult, Verdict

_SURFACE_LANG = {"python": "python", "javascript": "javascript", "shell": "shell", "makefile": "shell",
                 "package-json": "shell", "github-workflow": "shell"}
# Rules whose fix is the launch call itself: their after-snippet is the site's real rewrite.
_CALL_LEVEL = {"agent-inline-launch", "agent-inherits-environment", "agent-unbounded-session", "agent-permission-bypass",
               "agent-operator-credentials-passed", "agent-root-in-sandbox"}


@dataclass(frozen=True)
class FixItem:
    rule_id: str
    title: str
    summary: str
    where: Location  # the line the before-snippet comes from
    language: str  # "python", "javascript", "shell"
    before: str  # "" when an earlier item's rewrite already covers this one
    after: str


def _priority(f: Finding) -> tuple[int, int, int, tuple[str, int, int, str]]:
    """Most severe first; among equals, the DESIGN's category order (inline launch first)."""
    category = CATEGORIES.index(f.category) if f.category in CATEGORIES else len(CATEGORIES)
    return (-f.severity.rank, f.confidence.value != "high", category, f.sort_key)


def why_text(result: ScanResult, catalog: Catalog) -> str:
    """Two plain sentences: the repo-level reason, or the most severe rule's `why`."""
    active = [f for f in result.findings if not f.suppressed]
    if result.verdict is Verdict.NOT_PRESENT:
        if result.new_only and result.launch_sites:
            return ("Nothing reported here adds an agent that runs with the operator's identity. Findings that "
                    "were already there before this change are counted in the verdict section, not repeated.")
        if not result.launch_sites:
            return ("No AI agent is started from this repository, so none can inherit the operator's identity from it. "
                    "Agents started from outside the repository are outside this scan.")
        return ("Each agent found runs inside a boundary that keeps the operator's credentials, home directory and "
                "network out of its reach. The remaining findings, if any, are hardening that narrows it further.")
    top = min(active, key=_priority, default=None)
    rule = catalog.rules.get(top.rule_id) if top is not None else None
    return (rule or catalog.rule("agent-containment-undecided")).why


def fix_items(result: ScanResult, catalog: Catalog, snippets: dict[str, tuple[str, str]]) -> list[FixItem]:
    """One item per rule, most severe first: the real rewrite of its launch where blastwall has
    one, else the rule's own before/after for the evidence's language."""
    first: OrderedDict[str, Finding] = OrderedDict()
    for f in sorted((f for f in result.findings if not f.suppressed), key=_priority):
        first.setdefault(f.rule_id, f)
    sites = {s.site_id: s for s in result.launch_sites}
    shown: set[str] = set()
    out = []
    for rule_id, f in first.items():
        rule = catalog.rules.get(rule_id)
        if rule is None:
            continue
        site = sites.get(f.site_id)
        language = _SURFACE_LANG.get(site.surface if site else "", "shell")
        example = (rule.fix_examples.get(language) or rule.fix_examples.get("shell")
                   or next(iter(rule.fix_examples.values()), None))
        snippet = snippets.get(f.site_id) if rule_id in _CALL_LEVEL else None
        repeat = snippet is not None and f.site_id in shown
        if snippet is not None:
            shown.add(f.site_id)
        before = snippet[0] if snippet else f.location.quote
        after = snippet[1] if snippet else (example.after if example else rule.fix)
        out.append(FixItem(rule_id, rule.title, rule.fix, site.location if snippet and site else f.location,
                           language, "" if repeat else before, "" if repeat else after))
    return out

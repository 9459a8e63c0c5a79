"""The WHY IT MATTERS and FIX parts of the answer, as plain data every report formats its own way."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scanner.catalog import Catalog, RuleMeta
from scanner.model import Finding, LaunchSite, Location, ScanResult, Severity, Verdict
from scanner.output.overview import priority, rule_doc_url

#: What the reports take as FIX snippets, computed once per render by the caller: either
#: `scanner.remediation.apply.finding_fixes(root, result)` ({(site id, rule id): FindingFix}, rule id
#: "" for the site; it says each snippet's language and whether `fix --apply` writes it) or
#: `fix_snippets(root, result)` ({"site id" | "site id#rule id": (before, after)}; the language is
#: then taken from the evidence's file, and whether `fix --apply` writes it is not known).
Snippets = Mapping[Any, Any]

# The language of a rule's own example, by the surface it is written for.
_EXAMPLE_LANG = {"python": "python", "javascript": "javascript", "shell": "shell", "github-workflow": "yaml"}
# A site's surface -> the example surface to show when the rule has none for it.
_SURFACE_EXAMPLE = {"python": "python", "javascript": "javascript", "shell": "shell", "makefile": "shell",
                    "package-json": "shell", "github-workflow": "github-workflow", "scheduler": "shell"}
# Rules whose fix is the launch call itself: without a snippet of their own, the site's rewrite is theirs.
_CALL_LEVEL = {"agent-inline-launch", "agent-inherits-environment", "agent-unbounded-session", "agent-permission-bypass",
               "agent-operator-credentials-passed", "agent-root-in-sandbox", "framework-host-code-execution"}
# Surfaces whose site-level snippet is one hunk of a declaration (a compose service, a pod spec, a
# settings file), not the launch call: a rule without a snippet of its own gets its example there.
_DECLARATIVE = {"compose", "kubernetes", "devcontainer", "dockerfile", "agent-config", "mcp-config"}
UNDECIDED = "agent-containment-undecided"
# What `blastwall fix --apply` does with a tailored before/after (said only when the caller knows).
APPLY_NOTE = {True: "`blastwall fix --apply` writes this change.",
              False: "`blastwall fix --apply` does not write this change: make it by hand."}
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
    language: str  # the snippet's language: "python", "typescript", "shell", "makefile", "yaml", "json", ...
    before: str  # "" when an earlier item's snippet already covers this one
    after: str
    severity: Severity = Severity.INFO
    why: str = ""
    findings: int = 0  # active findings of this rule
    sites: int = 0  # launch sites they are at
    locations: tuple[Location, ...] = ()  # every finding's primary location, most severe first
    help_uri: str = ""
    covered_by: str = ""  # the rule whose snippet (the same change) is already shown
    rewrite: bool = False  # before/after are this repository's own lines, tailored to it, not the rule's example
    applies: bool | None = None  # True: `blastwall fix --apply` writes it; False: made by hand; None: not known


@dataclass(frozen=True)
class _Snippet:
    before: str
    after: str
    language: str  # "" when the mapping did not say
    applies: bool | None
    summary: str = ""  # what this change does and why, where it is not the rule's own fix


def _table(snippets: Snippets) -> dict[str, _Snippet]:
    """Either mapping, keyed the `fix_snippets` way: "site id" and "site id#rule id"."""
    out: dict[str, _Snippet] = {}
    for key, value in snippets.items():
        if isinstance(key, tuple):
            site_id, rule_id = key
            key = f"{site_id}#{rule_id}" if rule_id else site_id
        if isinstance(value, tuple):
            before, after = value
            out[key] = _Snippet(str(before), str(after), "", None)
        else:  # a FindingFix
            out[key] = _Snippet(value.before, value.after, value.language, bool(value.rewrite),
                                getattr(value, "summary", ""))
    return out


def _language(snippet: _Snippet, path: str, site: LaunchSite | None) -> str:
    if snippet.language:
        return snippet.language
    from scanner.remediation.snippets import language_of  # the same naming finding_fixes uses

    return language_of(path, site.surface if site else "")


def _tailored(f: Finding, table: dict[str, _Snippet], sites: dict[str, LaunchSite]) \
        -> tuple[_Snippet, Location, str] | None:
    """The finding's own before/after, else (for a rule fixed by the launch call) its site's rewrite."""
    site = sites.get(f.site_id)
    own = table.get(f"{f.site_id}#{f.rule_id}")
    if own is not None and own.before:
        return own, f.location, _language(own, f.location.path, site)
    if f.rule_id in _CALL_LEVEL and site is not None and site.surface not in _DECLARATIVE:
        whole = table.get(f.site_id)
        if whole is not None and whole.before:
            return whole, site.location, _language(whole, site.location.path, site)
    return None


def _example(rule: RuleMeta, site: LaunchSite | None) -> tuple[str, Any]:
    """The rule's own example for the site's surface: (language, example or None)."""
    surface = site.surface if site else ""
    for key in (surface, _SURFACE_EXAMPLE.get(surface, ""), "shell"):
        if key and key in rule.fix_examples:
            return _EXAMPLE_LANG.get(key, "shell"), rule.fix_examples[key]
    for key, example in rule.fix_examples.items():
        return _EXAMPLE_LANG.get(key, "shell"), example
    return "shell", None


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


def fix_items(result: ScanResult, catalog: Catalog, snippets: Snippets) -> list[FixItem]:
    """One item per rule, the one that decides the verdict first, then most severe first.

    Each shows one before/after: that of the first finding of the rule (shipped code first, most
    severe first) with a fix tailored to it — its own ("site id#rule id"), else, for a rule fixed
    by the launch call, its site's rewrite — in the evidence's own language; the rule's example
    only when no finding has one. A change already shown under an earlier rule is named, not
    repeated. `snippets` is computed once per render by the caller (see `Snippets`)."""
    table = _table(snippets)
    by_rule: OrderedDict[str, list[Finding]] = OrderedDict()
    for f in sorted((f for f in result.findings if not f.suppressed), key=priority):
        by_rule.setdefault(f.rule_id, []).append(f)
    # The fix for what decides the verdict comes first (for `unclear`, the missing context).
    lead = deciding_rule(result, catalog)
    order = sorted(by_rule, key=lambda rule_id: rule_id != lead)
    sites = {s.site_id: s for s in result.launch_sites}
    shown: dict[tuple[str, str], tuple[str, Location]] = {}  # (before, after) -> the rule showing it, where
    out = []
    for rule_id in order:
        group = by_rule[rule_id]
        rule = catalog.rules.get(rule_id)
        if rule is None:
            continue
        candidates = sorted(group, key=lambda g: g.tier != "shipped")  # stable: most severe first within
        picked = next((found for g in candidates if (found := _tailored(g, table, sites)) is not None), None)
        covered = ""
        summary = rule.fix
        if picked is not None:
            snippet, where, language = picked
            before, after, applies = snippet.before, snippet.after, snippet.applies
            summary = snippet.summary or rule.fix
            if (before, after) in shown:
                covered, where = shown[(before, after)]
            else:
                shown[(before, after)] = (rule_id, where)
        else:
            f = candidates[0]
            language, example = _example(rule, sites.get(f.site_id))
            before = example.before if example else f.location.quote
            after = example.after if example else rule.fix
            where, applies = f.location, None
        out.append(FixItem(
            rule_id, rule.title, summary, where, language,
            "" if covered else before, "" if covered else after,
            severity=group[0].severity, why=rule.why, findings=len(group), sites=len({g.site_id for g in group}),
            locations=tuple(g.location for g in group), help_uri=rule_doc_url(rule_id), covered_by=covered,
            rewrite=picked is not None, applies=applies,
        ))
    return out

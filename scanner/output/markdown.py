"""Markdown report: the seed's four sections, rendered from reports/report.md.j2."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from scanner.catalog import Catalog
from scanner.model import Boundary, Egress, EnvMode, Finding, LaunchSite, ScanResult, Verdict
from scanner.output.answer import fix_items, why_text
from scanner.output.sanitize import md_code, md_fence, md_literal, md_message, md_text
from scanner.resources import reports_dir

_VERDICT_LINE = {
    Verdict.PRESENT: "at least one AI agent runs in the operator's own security context.",
    Verdict.UNCLEAR: "no agent is shown to share the operator's context, but at least one launch depends on something outside the repository.",
    Verdict.NOT_PRESENT: "every agent launch site found is contained.",
}


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(reports_dir())),
        autoescape=False,  # values are escaped for Markdown in Python before they get here
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.md.j2")


def _where(f_loc) -> str:  # type: ignore[no-untyped-def]
    return f"{md_literal(f_loc.path)} line {f_loc.line}"  # also a table cell: a `|` stays in it


_FENCE_LANG = {"python": "python", "javascript": "javascript", "shell": "sh"}


def _fixes(result: ScanResult, catalog: Catalog, snippets: dict[str, tuple[str, str]]) -> list[dict[str, str]]:
    return [
        {
            "rule": md_code(item.rule_id),
            "title": md_text(item.title),
            "summary": md_message(item.summary),
            "where": _where(item.where),
            "before": md_fence(item.before, _FENCE_LANG[item.language]) if item.before else "",
            "after": md_fence(item.after, _FENCE_LANG[item.language]) if item.before else "",
        }
        for item in fix_items(result, catalog, snippets)
    ]


def _label(text: str) -> str:
    """A Mermaid label: our own vocabulary plus a catalog name, quotes and brackets neutralised."""
    return "".join(ch for ch in text if ch.isalnum() or ch in " .,:/+()-").strip()[:60] or "agent"


def _diagram(site: LaunchSite) -> str:
    """Operator zone, the agent's runtime today and after the fix, and what crosses between them."""
    c = site.containment
    kinds = {f.kind for f in c.facts}
    if c.env is EnvMode.INHERITED:
        creds = "whole environment"
    elif kinds & {"secret-operator", "env-file"}:
        creds = "operator credentials"
    elif "secret-model-key" in kinds:
        creds = "model key only"
    else:
        creds = "nothing"
    if any(k.startswith(("mount-credentials", "mount-home", "mount-host-root")) for k in kinds):
        creds += " + credential files"
    if c.boundary is Boundary.NONE:
        files = "everything the user can write"
    elif any(k.endswith("-rw") and k.startswith("mount-") for k in kinds):
        files = "host paths read-write"
    elif any(k.startswith("mount-") for k in kinds):
        files = "mounts read-only"
    else:
        files = "no host files"
    net = {Egress.NONE: "no network", Egress.ALLOW_LIST: "allow-list only", Egress.OPEN: "open egress",
           Egress.HOST: "host network", Egress.UNKNOWN: "egress unknown"}[c.egress]
    today = "no boundary, same user" if c.boundary is Boundary.NONE else f"{c.boundary.value} {c.boundary_tool}"
    agent = _label(site.agent_name)
    lines = [
        "```mermaid",
        "flowchart LR",
        '  subgraph OP["Operator zone"]',
        '    C["Credentials"]',
        '    F["Files: home and repository"]',
        '    N["Network"]',
        "  end",
        f'  subgraph NOW["Today: {_label(today)}"]',
        f'    A["{agent}"]',
        "  end",
        f'  C -- "{_label(creds)}" --> A',
        f'  F -- "{_label(files)}" --> A',
        f'  A -- "{_label(net)}" --> N',
        '  subgraph FIX["After the fix: ephemeral sandbox"]',
        f'    B["{agent}"]',
        "  end",
        '  C -. "model key by name" .-> B',
        '  F -. "target read-only" .-> B',
        '  B -. "allow-list or none" .-> N',
        "```",
    ]
    return "\n".join(lines)


def _site(site: LaunchSite, findings: list[Finding]) -> dict[str, object]:
    c = site.containment
    boundary = c.boundary.value + (f" ({c.boundary_tool})" if c.boundary_tool else "")
    return {
        "title": md_message(f"{site.agent_name} via {site.launcher}"),
        "where": f"{md_code(site.location.path)} line {site.location.line}: {md_code(site.location.quote)}",
        "boundary": md_text(boundary),
        "env": md_text(c.env.value),
        "egress": md_text(c.egress.value),
        "diagram": _diagram(site),
        "findings": [
            {
                "severity": f.severity.value,
                "confidence": f.confidence.value,
                "suppressed": bool(f.suppressed),
                "rule": md_literal(f.rule_id),
                "where": _where(f.location),
                "quote": md_literal(f.location.quote),
                "message": md_message(f.message) + (f" Suppressed: {md_text(f.suppressed)}" if f.suppressed else ""),
            }
            for f in findings
        ],
    }


def _site_less(result: ScanResult) -> list[dict[str, str]]:
    """Findings that belong to no launch site: blastwall's own ignore comments."""
    ids = {s.site_id for s in result.launch_sites}
    return [{"severity": f.severity.value, "rule": md_code(f.rule_id), "where": _where(f.location),
             "quote": md_code(f.location.quote), "message": md_message(f.message)}
            for f in result.findings if f.site_id not in ids]


def render_markdown(result: ScanResult, catalog: Catalog, snippets: dict[str, tuple[str, str]] | None = None) -> str:
    by_site: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_site.setdefault(f.site_id, []).append(f)
    cov = result.coverage
    return _template().render(
        verdict=result.verdict.value.upper(),
        verdict_line=_VERDICT_LINE[result.verdict],
        needs_context=[md_message(n) for n in result.needs_context],
        sites=[_site(s, by_site.get(s.site_id, [])) for s in result.launch_sites],
        why=md_text(why_text(result, catalog)),
        fixes=_fixes(result, catalog, snippets or {}),
        new_only=md_text(result.new_only),
        filtered=result.filtered_preexisting,
        review_notes=[f"{md_code(n.path)} line {n.line}: {md_code(n.text)}" for n in result.review_notes],
        loose=_site_less(result),
        files_seen=cov.files_seen,
        files_scanned=cov.files_scanned,
        files_parsed=cov.files_parsed,
        skipped=sorted(cov.skipped.items()),
        not_analysed=[f"{md_code(s.path)} ({md_text(s.reason)})" for s in cov.not_analysed],
        silencers=[(f"{md_code(s.path)} line {s.line}: " if s.path else "command line: ")
                   + f"{md_code(s.text)} — {md_text(s.effect)}" for s in result.silencers],
        capped=[f"{c.count} more {md_code(c.rule_id)} finding(s) in {md_code(c.path)}" for c in result.capped],
        search_terms=", ".join(md_code(t) for t in cov.search_terms),
        search_terms_count=len(cov.search_terms),
        rules_run=", ".join(md_code(r) for r in cov.rules_run),
    )

"""The JSON report (schema_version 1): the stable, documented machine interface.

Fields are only added within a schema version. In 0.2.0 `summary.new_only` became a boolean, with
what "new" was measured against in `summary.new_only_base` (see CHANGELOG.md).
"""

from __future__ import annotations

import json
from typing import Any

from scanner import __version__
from scanner.catalog import Catalog
from scanner.model import Finding, Location, ScanResult
from scanner.output.answer import Snippets, deciding_rule, fix_items, why_text
from scanner.output.overview import SEVERITIES, build, homepage, rule_doc_url

SCHEMA_VERSION = "1"


def _loc(loc: Location) -> dict[str, Any]:
    return {
        "path": loc.path,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.last_line,
        "quote": loc.quote,
        **({"label": loc.label} if loc.label else {}),
    }


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule_id,
        "title": f.title,
        "category": f.category,
        "severity": f.severity.value,
        "confidence": f.confidence.value,
        "path": f.location.path,
        "line": f.location.line,
        "column": f.location.column,
        "end_line": f.location.last_line,
        "quote": f.location.quote,
        "message": f.message,
        "launch_site": f.site_id,
        "related": [_loc(r) for r in f.related],
        "needs_context": f.needs_context,
        "fingerprint": f.fingerprint,
        "suppressed": f.suppressed,
        "tier": f.tier,
        "help_uri": rule_doc_url(f.rule_id),
    }


def to_dict(result: ScanResult, catalog: Catalog | None = None,
            snippets: Snippets | None = None, hidden: int = 0) -> dict[str, Any]:
    if catalog is None:
        from scanner.catalog import load_catalog

        catalog = load_catalog()
    cov = result.coverage
    ov = build(result, hidden)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "blastwall", "version": __version__, "information_uri": homepage()},
        "verdict": result.verdict.value,
        "needs_context": list(result.needs_context),
        "summary": {
            "launch_sites": len(result.launch_sites),
            "findings": len(ov.active),
            "suppressed": ov.suppressed,
            "filtered_preexisting": result.filtered_preexisting,
            "new_only": bool(result.new_only),
            "new_only_base": result.new_only,  # what "new" is measured against; "" when new_only is false
            "below_threshold": hidden,  # left out by --min-severity / --min-confidence
            "by_severity": {s.value: ov.by_severity[s] for s in SEVERITIES},
            "by_rule": {r.rule_id: len(r.findings) for r in ov.rules},
            "by_tier": {t.tier: {"launch_sites": t.sites, "findings": t.findings} for t in ov.tiers},
            "deciding_sites": [v.site.site_id for v in ov.deciding],
            "line": ov.closing_line(),
        },
        "why": why_text(result, catalog),
        "why_rule": deciding_rule(result, catalog),
        "fixes": [
            {
                "rule_id": item.rule_id,
                "title": item.title,
                "severity": item.severity.value,
                "summary": item.summary,
                "why": item.why,
                "findings": item.findings,
                "launch_sites": item.sites,
                "help_uri": item.help_uri,
                "rewrite": item.rewrite,  # before/after are this repository's own lines, not the rule's example
                "applies": item.applies,  # true: `blastwall fix --apply` writes it; false: by hand; null: not known
                "covered_by": item.covered_by,
                "path": item.where.path,
                "line": item.where.line,
                "language": item.language,
                "before": item.before,
                "after": item.after,
            }
            for item in fix_items(result, catalog, snippets or {})
        ],
        "review_notes": [{"path": n.path, "line": n.line, "text": n.text} for n in result.review_notes],
        "silencers": [{"path": s.path, "line": s.line, "text": s.text, "effect": s.effect} for s in result.silencers],
        "capped": [{"path": c.path, "rule_id": c.rule_id, "count": c.count} for c in result.capped],
        "findings": [finding_dict(f) for f in result.findings],
        "launch_sites": [
            {
                "id": s.site_id,
                "agent": s.agent,
                "agent_name": s.agent_name,
                "surface": s.surface,
                "launcher": s.launcher,
                "command": s.command,
                **_loc(s.location),
                "containment": {
                    "boundary": s.containment.boundary.value,
                    "boundary_tool": s.containment.boundary_tool,
                    "environment": s.containment.env.value,
                    "egress": s.containment.egress.value,
                    "facts": [{"kind": f.kind, "value": f.value, "path": f.location.path, "line": f.location.line}
                              for f in s.containment.facts],
                },
            }
            for s in result.launch_sites
        ],
        "coverage": {
            "files_seen": cov.files_seen,
            "files_scanned": cov.files_scanned,
            "files_parsed": cov.files_parsed,
            "skipped": cov.skipped,
            "not_analysed": [{"path": s.path, "reason": s.reason} for s in cov.not_analysed],
            "search_terms": list(cov.search_terms),
            "rules_run": list(cov.rules_run),
        },
    }


def render_json(result: ScanResult, catalog: Catalog | None = None,
                snippets: Snippets | None = None, hidden: int = 0) -> str:
    return json.dumps(to_dict(result, catalog, snippets, hidden), indent=2, ensure_ascii=False, sort_keys=False) + "\n"

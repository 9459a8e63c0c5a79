"""The JSON report (schema_version 1): the stable, documented machine interface."""

from __future__ import annotations

import json
from typing import Any

from scanner import __version__
from scanner.model import Finding, Location, ScanResult

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
    }


def to_dict(result: ScanResult) -> dict[str, Any]:
    cov = result.coverage
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "blastwall", "version": __version__},
        "verdict": result.verdict.value,
        "needs_context": list(result.needs_context),
        "summary": {
            "launch_sites": len(result.launch_sites),
            "findings": sum(1 for f in result.findings if not f.suppressed),
            "suppressed": sum(1 for f in result.findings if f.suppressed),
            "filtered_preexisting": result.filtered_preexisting,
            "new_only": result.new_only,
        },
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


def render_json(result: ScanResult) -> str:
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False, sort_keys=False) + "\n"

"""The one constructor for findings: it takes severity, title and text from the rule's data."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from scanner.catalog import Catalog, RuleMeta
from scanner.model import Confidence, Finding, Location


def new_finding(
    catalog: Catalog,
    rule_id: str,
    location: Location,
    *,
    site_id: str,
    message: str,
    contained: bool = False,
    confidence: Confidence | None = None,
    category: str | None = None,
    related: Iterable[Location] = (),
    needs_context: str = "",
    meta: RuleMeta | None = None,
) -> Finding:
    """Build a finding for `rule_id` anchored at `location` (its primary location).

    Severity comes from the rule's data: `severity`, or `severity_contained` when the site sits
    inside a real boundary. Callers may lower confidence but never invent a severity.
    """
    # A user's own semgrep rule brings its metadata along; every other id must be in the catalog
    # (a KeyError for an unknown id is a programming error).
    rule = meta if meta is not None and meta.id == rule_id else catalog.rule(rule_id)
    if not isinstance(location, Location) or not location.quote:
        raise ValueError(f"{rule_id}: a finding needs a primary location with its quoted line")
    chosen = category or rule.category
    if chosen not in rule.categories:
        raise ValueError(f"{rule_id}: category {chosen!r} is not one the rule allows")
    severity = rule.severity_contained if (contained and rule.severity_contained) else rule.severity
    return Finding(
        rule_id=rule_id,
        title=rule.title,
        category=chosen,
        severity=severity,
        confidence=confidence or rule.confidence,
        location=location,
        site_id=site_id,
        message=message,
        related=tuple(r for r in related if r != location),
        needs_context=needs_context,
    )


def fingerprint(finding: Finding, ordinal: int = 0) -> str:
    """A key that survives line shifts: rule, path and the normalised quoted line."""
    quote = " ".join(finding.location.quote.split())
    raw = f"{finding.rule_id}\0{finding.location.path}\0{quote}\0{ordinal}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]

"""The one constructor of launch sites and the one of findings.

A finding takes severity, title and text from the rule's data, needs a primary location with
its quoted line, and says what each related location is (`launch site`, `environment`, ...)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from scanner.catalog import Catalog, RuleMeta
from scanner.model import Confidence, Containment, Finding, LaunchSite, Location


# Longest command line kept on a site, for the report.
COMMAND_LIMIT = 200


def site_id_for(location: Location, agent: str) -> str:
    return f"{location.path}:{location.line}:{agent}"


def clip(text: str, limit: int = COMMAND_LIMIT) -> str:
    """One line of at most `limit` characters: white space folded, an ellipsis where cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def new_site(*, agent: str, agent_name: str, surface: str, launcher: str, location: Location, command: str,
             containment: Containment | None = None, site_agent: str | None = None) -> LaunchSite:
    """Build a launch site: its id from where it starts and which agent (`site_agent` when the
    id must not name the agent, as for one not yet known), its command clipped for the report."""
    return LaunchSite(
        site_id=site_id_for(location, site_agent or agent),
        agent=agent,
        agent_name=agent_name,
        surface=surface,
        launcher=launcher,
        location=location,
        command=clip(command),
        containment=containment if containment is not None else Containment(),
    )


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
    related = tuple(related)
    unlabelled = [r for r in related if not r.label]
    if unlabelled:
        raise ValueError(f"{rule_id}: every related location needs a label ({unlabelled[0].path}:{unlabelled[0].line})")
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

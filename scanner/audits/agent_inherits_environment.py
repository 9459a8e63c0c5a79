"""agent-inherits-environment: the operator's whole environment reaches the agent."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import Boundary, Finding

RULE = "agent-inherits-environment"


def audit(v: SiteView) -> Iterator[Finding]:
    if v.inherits_environment:
        loc = v.env_fact.location if v.env_fact else v.site.location
        detail = v.env_fact.value if v.env_fact else "inherits the environment"
        yield v.finding(RULE, loc, f"{v.agent} receives the operator's whole environment ({detail}).",
                        contained=v.c.boundary is Boundary.AGENT_SANDBOX, related=[v.launch])

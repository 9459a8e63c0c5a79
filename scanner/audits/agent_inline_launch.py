"""agent-inline-launch: the agent starts in the operator's own process tree, with no sandbox."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import ENVIRONMENT, SiteView
from scanner.model import Boundary, Finding

RULE = "agent-inline-launch"


def audit(v: SiteView) -> Iterator[Finding]:
    if v.c.boundary is Boundary.NONE:
        related = [v.env_fact.location.with_label(ENVIRONMENT)] if v.env_fact else []
        yield v.finding(RULE, v.site.location,
                        f"{v.agent} is started by {v.site.launcher} in the operator's own process tree, user and "
                        "network, with no sandbox around it.", related=related)

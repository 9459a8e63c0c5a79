"""agent-unbounded-session: no timeout, and a container run neither removed nor limited."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import Boundary, FactKind, Finding

RULE = "agent-unbounded-session"


def audit(v: SiteView) -> Iterator[Finding]:
    missing = []
    if not v.c.has(FactKind.TIMEOUT):
        missing.append("no timeout")
    if v.c.boundary is Boundary.CONTAINER and v.c.boundary_tool.endswith(" run"):
        if not v.c.has(FactKind.EPHEMERAL):
            missing.append("not removed after the run (--rm)")
        if not v.c.has(FactKind.LIMIT):
            missing.append("no memory/cpu/pids limits")
    if missing:
        yield v.finding(RULE, v.site.location, f"{v.agent}'s session is unbounded: {', '.join(missing)}.")

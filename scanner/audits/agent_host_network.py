"""agent-host-network: the sandbox shares the host's network stack."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import Boundary, Egress, FactKind, Finding

RULE = "agent-host-network"


def audit(v: SiteView) -> Iterator[Finding]:
    if (v.isolated or v.c.boundary is Boundary.OTHER_USER) and v.c.egress is Egress.HOST:
        fact = v.c.of_kind(FactKind.NETWORK_HOST)[0]
        yield v.finding(RULE, fact.location, f"{v.agent}'s sandbox shares the host's network stack.", related=[v.launch])

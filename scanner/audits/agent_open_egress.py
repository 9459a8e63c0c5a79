"""agent-open-egress: the sandbox can reach any host (or a network defined elsewhere)."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import Boundary, Confidence, Egress, FactKind, Finding

RULE = "agent-open-egress"


def audit(v: SiteView) -> Iterator[Finding]:
    # Outside a boundary the inline-launch finding already says the network is the operator's.
    if not (v.isolated or v.c.boundary is Boundary.OTHER_USER):
        return
    if v.c.egress is Egress.OPEN:
        fact = next(iter(v.c.of_kind(FactKind.NETWORK_DEFAULT, FactKind.NETWORK_SHARED)), None)
        yield v.finding(RULE, fact.location if fact else v.site.location,
                        f"{v.agent} can reach any host on the network from its sandbox.", related=[v.launch])
    elif v.c.egress is Egress.UNKNOWN and v.c.of_kind(FactKind.NETWORK_NAMED):
        fact = v.c.of_kind(FactKind.NETWORK_NAMED)[0]
        yield v.finding(RULE, fact.location,
                        f"{v.agent}'s egress depends on the network `{fact.value}`, which is defined outside this "
                        "repository.", confidence=Confidence.LOW, related=[v.launch])

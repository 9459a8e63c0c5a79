"""agent-root-in-sandbox: the agent runs as root, inside its sandbox or on the operator's host."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import Boundary, FactKind, Finding

RULE = "agent-root-in-sandbox"


def audit(v: SiteView) -> Iterator[Finding]:
    roots = v.c.of_kind(FactKind.USER_ROOT)
    if not roots:
        return
    fact = roots[0]
    if v.isolated:
        yield v.finding(RULE, fact.location, f"{v.agent} runs as root inside its sandbox.", related=[v.launch])
    elif v.c.boundary is Boundary.NONE:
        yield v.finding(RULE, fact.location, f"{v.agent} runs as root on the operator's host ({fact.value}).",
                        related=[v.launch])

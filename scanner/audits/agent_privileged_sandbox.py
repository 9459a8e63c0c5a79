"""agent-privileged-sandbox: the sandbox is weakened (privileged, host namespaces, escape capabilities)."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import FactKind, Finding

RULE = "agent-privileged-sandbox"
_WEAKENING = (FactKind.PRIVILEGED, FactKind.HOST_NAMESPACE, FactKind.UNCONFINED)


def audit(v: SiteView) -> Iterator[Finding]:
    root = v.c.has(FactKind.USER_ROOT)
    escape_caps = set(v.catalog.containment.list("escape_caps"))
    for fact in v.c.facts:
        # Any added capability matters for a root agent; for another user only those that escape.
        if fact.kind in _WEAKENING or (fact.kind is FactKind.CAP_ADD and (fact.value in escape_caps or root)):
            yield v.finding(RULE, fact.location, f"{v.agent}'s sandbox is weakened by `{fact.value}`.",
                            related=[v.launch])

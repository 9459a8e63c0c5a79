"""agent-model-key-passed: the agent holds its long-lived model key itself."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import FactKind, Finding

RULE = "agent-model-key-passed"


def audit(v: SiteView) -> Iterator[Finding]:
    for fact in v.c.of_kind(FactKind.SECRET_MODEL_KEY):
        yield v.finding(RULE, fact.location, f"{v.agent} holds its long-lived model key `{fact.value}` directly.",
                        related=[v.launch])

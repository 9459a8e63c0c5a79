"""agent-model-key-passed: the agent holds its long-lived model key itself."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import FactKind, Finding

RULE = "agent-model-key-passed"


def audit(v: SiteView) -> Iterator[Finding]:
    yield from v.per_fact(RULE, (FactKind.SECRET_MODEL_KEY,),
                          lambda f: f"{v.agent} holds its long-lived model key `{f.value}` directly.")

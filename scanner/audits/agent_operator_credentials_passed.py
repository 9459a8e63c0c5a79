"""agent-operator-credentials-passed: a named operator credential or an env file is handed over."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import FactKind, Finding

RULE = "agent-operator-credentials-passed"


def audit(v: SiteView) -> Iterator[Finding]:
    for fact in v.c.of_kind(FactKind.SECRET_OPERATOR):
        yield v.finding(RULE, fact.location, f"{v.agent} is handed the operator credential `{fact.value}`.",
                        related=[v.launch])
    for fact in v.c.of_kind(FactKind.ENV_FILE):
        yield v.finding(RULE, fact.location, f"{v.agent} is handed every variable in the env file `{fact.value}`.",
                        related=[v.launch])

"""agent-operator-credentials-passed: a named operator credential or an env file is handed over."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import FactKind, Finding

RULE = "agent-operator-credentials-passed"


def audit(v: SiteView) -> Iterator[Finding]:
    yield from v.per_fact(RULE, (FactKind.SECRET_OPERATOR,),
                          lambda f: f"{v.agent} is handed the operator credential `{f.value}`.")
    yield from v.per_fact(RULE, (FactKind.ENV_FILE,),
                          lambda f: f"{v.agent} is handed every variable in the env file `{f.value}`.")

"""agent-permission-bypass: the agent's approval prompts are off."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import FactKind, Finding

RULE = "agent-permission-bypass"


def audit(v: SiteView) -> Iterator[Finding]:
    contained = v.really_contained
    extra = " inside a sandbox, which stays the control" if contained else " with no sandbox to contain what it then does"
    for fact in v.c.of_kind(FactKind.BYPASS_FLAG, FactKind.BYPASS_DEFAULT, FactKind.SELF_DECLARED_SANDBOX):
        yield v.finding(RULE, fact.location, f"{v.agent} runs with `{fact.value}`: its approval prompts are off{extra}.",
                        contained=contained, related=[v.launch])

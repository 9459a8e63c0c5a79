"""agent-containment-undecided: a decisive piece of the containment lives outside the repository."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import Confidence, EnvMode, Finding

RULE = "agent-containment-undecided"


def audit(v: SiteView) -> Iterator[Finding]:
    env = v.env_fact
    if v.c.env is EnvMode.UNKNOWN and env is not None and not v.c.undecided:
        yield v.finding(RULE, env.location,
                        f"{v.agent}'s environment is built by {env.value}, which this scan cannot resolve.",
                        confidence=Confidence.LOW, category="inherited-credentials",
                        needs_context=f"what `{env.value}` contains", related=[v.launch])
    for fact in v.c.unknowns:
        yield v.finding(RULE, fact.location,
                        f"{v.agent}'s containment depends on {fact.value}, which this repository does not define.",
                        confidence=Confidence.LOW, needs_context=fact.value, related=[v.launch],
                        category="open-egress" if "network" in fact.value else "inline-launch")

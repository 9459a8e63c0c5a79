"""Turn a launch the command reader resolved into a judged site and its findings (DESIGN §2).

The containment reader says what surrounds the launch; the audits (`scanner.audits`, one module
per rule) say what is wrong with it."""

from __future__ import annotations

from scanner.audits import audit_site
from scanner.catalog import Catalog
from scanner.launch.commandline import Invocation, Unresolved
from scanner.containment.reader import ContainmentJudge, LaunchContext
from scanner.findings import new_finding, new_site
from scanner.model import Boundary, Confidence, Containment, Egress, Finding, LaunchSite


class SiteJudge:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.containment = ContainmentJudge(catalog)

    def judge(self, inv: Invocation, ctx: LaunchContext) -> tuple[LaunchSite, list[Finding]]:
        site = new_site(agent=inv.agent.id, agent_name=inv.agent.name, surface=ctx.surface, launcher=ctx.launcher,
                        location=ctx.location, command=inv.command_text(),
                        containment=self.containment.judge(inv, ctx))
        return site, self.findings(site)

    def judge_unresolved(self, item: Unresolved, ctx: LaunchContext, agent_hint: str) -> tuple[LaunchSite, list[Finding]]:
        site = new_site(
            agent=item.agent.id if item.agent else "unknown",
            agent_name=item.agent.name if item.agent else (agent_hint or "an agent"),
            site_agent="unknown", surface=ctx.surface, launcher=ctx.launcher, location=ctx.location,
            command=item.word.text,
            containment=Containment(boundary=Boundary.UNKNOWN, env=ctx.env.mode, egress=Egress.UNKNOWN),
        )
        finding = new_finding(
            self.catalog, "agent-containment-undecided", ctx.location, site_id=site.site_id,
            message=f"{site.agent_name} is started through {item.reason}, which this repository does not define.",
            confidence=Confidence.LOW, needs_context=item.reason,
            related=(item.word.location.with_label("what starts it"),),
        )
        return site, [finding]

    def findings(self, site: LaunchSite) -> list[Finding]:
        return audit_site(self.catalog, site)

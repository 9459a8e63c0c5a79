"""Turn a judged launch into findings, following DESIGN §2's judgement rules."""

from __future__ import annotations

from scanner.catalog import Catalog
from scanner.commandline import Invocation, Unresolved
from scanner.containment import ContainmentJudge, LaunchContext
from scanner.findings import new_finding
from scanner.model import Boundary, Confidence, Containment, Egress, EnvMode, Finding, LaunchSite, Location

_ISOLATING = (Boundary.CONTAINER, Boundary.VM, Boundary.OS_SANDBOX)


def site_id_for(location: Location, agent: str) -> str:
    return f"{location.path}:{location.line}:{agent}"


class SiteJudge:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.containment = ContainmentJudge(catalog)

    def judge(self, inv: Invocation, ctx: LaunchContext) -> tuple[LaunchSite, list[Finding]]:
        containment = self.containment.judge(inv, ctx)
        site = LaunchSite(
            site_id=site_id_for(ctx.location, inv.agent.id),
            agent=inv.agent.id,
            agent_name=inv.agent.name,
            surface=ctx.surface,
            launcher=ctx.launcher,
            location=ctx.location,
            command=_clip(inv.command_text()),
            containment=containment,
        )
        return site, self.findings(site)

    def judge_unresolved(self, item: Unresolved, ctx: LaunchContext, agent_hint: str) -> tuple[LaunchSite, list[Finding]]:
        site = LaunchSite(
            site_id=site_id_for(ctx.location, "unknown"),
            agent=item.agent.id if item.agent else "unknown",
            agent_name=item.agent.name if item.agent else (agent_hint or "an agent"),
            surface=ctx.surface,
            launcher=ctx.launcher,
            location=ctx.location,
            command=_clip(item.word.text),
            containment=Containment(boundary=Boundary.UNKNOWN, env=ctx.env.mode, egress=Egress.UNKNOWN),
        )
        finding = new_finding(
            self.catalog, "agent-containment-undecided", ctx.location, site_id=site.site_id,
            message=f"{site.agent_name} is started through {item.reason}, which this repository does not define.",
            confidence=Confidence.LOW, needs_context=item.reason,
            related=(item.word.location,),
        )
        return site, [finding]

    def findings(self, site: LaunchSite) -> list[Finding]:
        c = site.containment
        out: list[Finding] = []
        sid = site.site_id
        agent = site.agent_name
        isolated = c.boundary in _ISOLATING

        # A launch read from one of several forms a value can take is judged on its worst form,
        # with at most medium confidence (DESIGN §2: uncertainty lowers confidence, not severity).
        uncertain = c.has("possible-form")

        def add(rule: str, loc: Location, message: str, **kw) -> None:
            if uncertain and kw.get("confidence") is not Confidence.LOW:
                kw["confidence"] = Confidence.LOW if self.catalog.rule(rule).confidence is Confidence.LOW else Confidence.MEDIUM
            out.append(new_finding(self.catalog, rule, loc, site_id=sid, message=message, **kw))

        env_fact = next((f for f in c.facts if f.kind.startswith("env-") and f.kind != "env-file" and f.kind != "env-passes-through"), None)

        # Boundary.
        if c.boundary is Boundary.NONE:
            related = [env_fact.location] if env_fact else []
            add("agent-inline-launch", site.location,
                f"{agent} is started by {site.launcher} in the operator's own process tree, user and network, with no sandbox around it.",
                related=related)

        # Credentials.
        cred_exposed = False
        if c.env is EnvMode.INHERITED and not isolated or (c.env is EnvMode.INHERITED and c.has("env-passes-through")):
            loc = env_fact.location if env_fact else site.location
            detail = env_fact.value if env_fact else "inherits the environment"
            add("agent-inherits-environment", loc,
                f"{agent} receives the operator's whole environment ({detail}).",
                contained=c.boundary is Boundary.AGENT_SANDBOX, related=[site.location])
            cred_exposed = c.boundary is not Boundary.AGENT_SANDBOX
        elif c.env is EnvMode.UNKNOWN and env_fact is not None:
            add("agent-containment-undecided", env_fact.location,
                f"{agent}'s environment is built by {env_fact.value}, which this scan cannot resolve.",
                confidence=Confidence.LOW, category="inherited-credentials",
                needs_context=f"what `{env_fact.value}` contains", related=[site.location])
        for fact in c.of_kind("secret-operator"):
            add("agent-operator-credentials-passed", fact.location,
                f"{agent} is handed the operator credential `{fact.value}`.", related=[site.location])
            cred_exposed = True
        for fact in c.of_kind("env-file"):
            add("agent-operator-credentials-passed", fact.location,
                f"{agent} is handed every variable in the env file `{fact.value}`.", related=[site.location])
            cred_exposed = True
        for fact in c.of_kind("mount-credentials-ro", "mount-credentials-rw", "mount-home-ro", "mount-home-rw",
                              "mount-host-root-ro", "mount-host-root-rw", "mount-env-file-ro", "mount-env-file-rw"):
            what = {"credentials": "the credential store", "home": "the home directory", "host-root": "the host root",
                    "env-file": "the env file"}[fact.kind.split("-", 1)[1].rsplit("-", 1)[0]]
            add("agent-credential-files-exposed", fact.location,
                f"{agent}'s sandbox mounts {what} `{fact.value}`, so the operator's credential files are readable inside it.",
                related=[site.location])
            cred_exposed = True
        for fact in c.of_kind("secret-model-key"):
            add("agent-model-key-passed", fact.location,
                f"{agent} holds its long-lived model key `{fact.value}` directly.", related=[site.location])

        # Escapes.
        for fact in c.of_kind("mount-docker-socket-ro", "mount-docker-socket-rw"):
            add("agent-docker-socket", fact.location,
                f"{agent} can reach the container engine socket `{fact.value}`, which is root on the host.", related=[site.location])
        root = c.has("user-root")
        escape_caps = set(self.catalog.containment.list("escape_caps"))
        for fact in c.facts:
            if fact.kind in ("privileged", "host-namespace", "unconfined") or (
                fact.kind == "cap-add" and (fact.value in escape_caps or root)
            ):
                add("agent-privileged-sandbox", fact.location,
                    f"{agent}'s sandbox is weakened by `{fact.value}`.", related=[site.location])
        if root and c.boundary in _ISOLATING:
            fact = c.of_kind("user-root")[0]
            add("agent-root-in-sandbox", fact.location, f"{agent} runs as root inside its sandbox.", related=[site.location])
        elif root and c.boundary is Boundary.NONE:
            fact = c.of_kind("user-root")[0]
            add("agent-root-in-sandbox", fact.location, f"{agent} runs as root on the operator's host ({fact.value}).",
                related=[site.location])

        # Writable mounts.
        for fact in c.of_kind("mount-target-rw", "mount-target-part-rw"):
            add("agent-writable-target", fact.location,
                f"{agent} can write the analysed target `{fact.value}` from inside its sandbox.", related=[site.location])
        for fact in c.of_kind("mount-host-path-rw", "mount-home-rw", "mount-host-root-rw", "mount-credentials-rw"):
            add("agent-writable-host-path", fact.location,
                f"{agent} can write the host path `{fact.value}`.", related=[site.location])

        # Approvals.
        bypass = c.of_kind("bypass-flag", "bypass-default", "self-declared-sandbox")
        really_contained = isolated and not cred_exposed and not c.has("mount-docker-socket-rw", "mount-docker-socket-ro", "privileged")
        for fact in bypass:
            extra = " inside a sandbox, which stays the control" if really_contained else " with no sandbox to contain what it then does"
            add("agent-permission-bypass", fact.location,
                f"{agent} runs with `{fact.value}`: its approval prompts are off{extra}.",
                contained=really_contained, related=[site.location])

        # Egress.
        if isolated or c.boundary is Boundary.OTHER_USER:
            if c.egress is Egress.HOST:
                fact = c.of_kind("network-host")[0]
                add("agent-host-network", fact.location, f"{agent}'s sandbox shares the host's network stack.", related=[site.location])
            elif c.egress is Egress.OPEN:
                fact = next(iter(c.of_kind("network-default", "network-shared")), None)
                loc = fact.location if fact else site.location
                add("agent-open-egress", loc, f"{agent} can reach any host on the network from its sandbox.", related=[site.location])
            elif c.egress is Egress.UNKNOWN and c.of_kind("network-named"):
                fact = c.of_kind("network-named")[0]
                add("agent-open-egress", fact.location,
                    f"{agent}'s egress depends on the network `{fact.value}`, which is defined outside this repository.",
                    confidence=Confidence.LOW, related=[site.location])

        # Lifetime and provenance.
        missing = []
        if not c.has("timeout"):
            missing.append("no timeout")
        if c.boundary is Boundary.CONTAINER and site.containment.boundary_tool.endswith(" run"):
            if not c.has("ephemeral"):
                missing.append("not removed after the run (--rm)")
            if not c.has("limit"):
                missing.append("no memory/cpu/pids limits")
        if missing:
            add("agent-unbounded-session", site.location, f"{agent}'s session is unbounded: {', '.join(missing)}.")
        if c.boundary is Boundary.CONTAINER and c.of_kind("image") and not c.has("image-digest"):
            fact = c.of_kind("image")[0]
            add("agent-unpinned-image", fact.location,
                f"The sandbox image `{fact.value}` is not pinned by digest.",
                confidence=Confidence.LOW if fact.value.startswith("$") else None)

        # Decisive pieces that live outside the repo.
        for fact in c.unknowns:
            add("agent-containment-undecided", fact.location,
                f"{agent}'s containment depends on {fact.value}, which this repository does not define.",
                confidence=Confidence.LOW, needs_context=fact.value, related=[site.location],
                category="open-egress" if "network" in fact.value else "inline-launch")
        # A front end that reported the hazard under a sharper rule marks the generic one superseded.
        dropped = {f.value for f in c.facts if f.kind == "superseded"}
        return [f for f in out if f.rule_id not in dropped] if dropped else out


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

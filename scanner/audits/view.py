"""What every containment audit reads: one judged site and what follows from its facts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property

from scanner.catalog import Catalog
from scanner.findings import new_finding
from scanner.model import Boundary, Confidence, Containment, EnvMode, Fact, FactKind, Finding, LaunchSite, Location

ISOLATING = (Boundary.CONTAINER, Boundary.VM, Boundary.OS_SANDBOX)

# Labels of related locations (what each one is, for SARIF and the reports).
LAUNCH = "launch site"
ENVIRONMENT = "environment"

CREDENTIAL_MOUNTS = (FactKind.MOUNT_CREDENTIALS_RO, FactKind.MOUNT_CREDENTIALS_RW, FactKind.MOUNT_HOME_RO,
                     FactKind.MOUNT_HOME_RW, FactKind.MOUNT_HOST_ROOT_RO, FactKind.MOUNT_HOST_ROOT_RW,
                     FactKind.MOUNT_ENV_FILE_RO, FactKind.MOUNT_ENV_FILE_RW)


class SiteView:
    """A launch site as the audits see it. Each audit asks its own question; the answers that
    several rules share (is it isolated, are credentials exposed) are computed here once."""

    def __init__(self, catalog: Catalog, site: LaunchSite):
        self.catalog = catalog
        self.site = site
        self.c: Containment = site.containment
        self.agent = site.agent_name

    @property
    def isolated(self) -> bool:
        return self.c.boundary in ISOLATING

    @cached_property
    def env_fact(self) -> Fact | None:
        """The fact that says how the environment is built, where the front end saw it."""
        return next((f for f in self.c.facts if f.kind.is_env_mode), None)

    @property
    def inherits_environment(self) -> bool:
        """The operator's whole environment reaches the agent: no real boundary replaced it, or the
        boundary passes it through."""
        return self.c.env is EnvMode.INHERITED and (not self.isolated or self.c.has(FactKind.ENV_PASSES_THROUGH))

    @cached_property
    def credentials_exposed(self) -> bool:
        """Operator credentials reach the agent: its whole environment (outside the agent's own
        sandbox), a named credential, an env file or a mounted credential store."""
        return (self.inherits_environment and self.c.boundary is not Boundary.AGENT_SANDBOX) or self.c.has(
            FactKind.SECRET_OPERATOR, FactKind.ENV_FILE, *CREDENTIAL_MOUNTS)

    @property
    def really_contained(self) -> bool:
        """A boundary that holds: isolating, no credentials inside, no engine socket, not privileged."""
        return self.isolated and not self.credentials_exposed and not self.c.has(
            FactKind.MOUNT_DOCKER_SOCKET_RW, FactKind.MOUNT_DOCKER_SOCKET_RO, FactKind.PRIVILEGED)

    @property
    def launch(self) -> Location:
        return self.site.location.with_label(LAUNCH)

    def per_fact(self, rule: str, kinds: tuple[FactKind, ...], message: Callable[[Fact], str]) -> Iterator[Finding]:
        """One finding of `rule` at each fact of these kinds, the launch as its related location."""
        for fact in self.c.of_kind(*kinds):
            yield self.finding(rule, fact.location, message(fact), related=[self.launch])

    def finding(self, rule: str, loc: Location, message: str, **kw) -> Finding:  # type: ignore[no-untyped-def]
        # A launch read from one of several forms a value can take is judged on its worst form,
        # with at most medium confidence (DESIGN §2: uncertainty lowers confidence, not severity).
        if self.c.has(FactKind.POSSIBLE_FORM) and kw.get("confidence") is not Confidence.LOW:
            kw["confidence"] = Confidence.LOW if self.catalog.rule(rule).confidence is Confidence.LOW else Confidence.MEDIUM
        return new_finding(self.catalog, rule, loc, site_id=self.site.site_id, message=message, **kw)

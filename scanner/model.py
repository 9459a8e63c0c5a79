"""The public data model: locations, launch sites, containment facts, findings, verdicts.

Everything crossing a module boundary is a frozen dataclass or a str Enum, so results can be
hashed, compared in tests and rendered deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Confidence(str, Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Verdict(str, Enum):
    PRESENT = "present"
    UNCLEAR = "unclear"
    NOT_PRESENT = "not present"

    @property
    def rank(self) -> int:
        return {Verdict.NOT_PRESENT: 0, Verdict.UNCLEAR: 1, Verdict.PRESENT: 2}[self]


CATEGORIES = (
    "inline-launch",
    "inherited-credentials",
    "writable-mount",
    "open-egress",
    "permission-bypass",
    "boundary-escape",
    "unbounded-session",
    "unverified-image",
)


@dataclass(frozen=True, order=True)
class Location:
    """A span in a scanned file. Lines and columns are 1-based; columns count code points."""

    path: str  # POSIX, relative to the scanned root
    line: int
    column: int = 1
    end_line: int = 0  # 0 means "same as line"
    end_column: int = 0  # 0 means "end of the quoted line"
    quote: str = ""  # the exact source line, stripped of surrounding whitespace
    label: str = ""

    def __post_init__(self) -> None:
        if self.line < 1 or self.column < 1:
            raise ValueError(f"locations are 1-based: {self.path}:{self.line}:{self.column}")
        if self.path.startswith("/") or "\\" in self.path:
            raise ValueError(f"location paths are relative POSIX paths: {self.path!r}")

    @property
    def last_line(self) -> int:
        return max(self.end_line, self.line)

    def with_label(self, label: str) -> Location:
        return Location(self.path, self.line, self.column, self.end_line, self.end_column, self.quote, label)


class Boundary(str, Enum):
    """What stands between the agent and the operator."""

    NONE = "none"
    CONTAINER = "container"
    VM = "vm"
    OS_SANDBOX = "os-sandbox"
    AGENT_SANDBOX = "agent-sandbox"
    OTHER_USER = "other-user"
    UNKNOWN = "unknown"

    @property
    def strength(self) -> int:
        """How much a boundary isolates: where wrappers nest, the strongest one decides."""
        return _BOUNDARY_STRENGTH.index(self)


_BOUNDARY_STRENGTH = (Boundary.NONE, Boundary.AGENT_SANDBOX, Boundary.OTHER_USER, Boundary.UNKNOWN,
                      Boundary.OS_SANDBOX, Boundary.CONTAINER, Boundary.VM)


class EnvMode(str, Enum):
    INHERITED = "inherited"  # the operator's whole environment
    MINIMAL = "minimal"  # an explicit mapping that does not start from the operator's
    UNKNOWN = "unknown"  # built somewhere this scan cannot see


class Egress(str, Enum):
    NONE = "none"
    ALLOW_LIST = "allow-list"
    OPEN = "open"
    HOST = "host"
    UNKNOWN = "unknown"


# What a mounted host path is, in the order the containment reader classifies it.
MOUNT_SOURCES = ("docker-socket", "host-root", "target", "target-part", "credentials", "home", "env-file", "host-path")


class FactKind(str, Enum):
    """Every kind of observation a front end may record about a launch site.

    A str Enum, so a kind compares equal to its spelling in rule data and reports; the mount,
    environment and credential families are built and read through the helpers below, never
    by formatting or splitting strings."""

    # Approvals and session.
    BYPASS_FLAG = "bypass-flag"  # a flag or option that turns the agent's approvals off
    BYPASS_DEFAULT = "bypass-default"  # approvals off because of a default the code leaves in place
    SELF_DECLARED_SANDBOX = "self-declared-sandbox"  # the agent is told it is sandboxed; nothing makes it so
    TOOL_GATE = "tool-gate"
    TOOL_ALLOW_LIST = "tool-allow-list"
    UNATTENDED = "unattended"
    READ_ONLY_SESSION = "read-only-session"
    AGENT_SANDBOX = "agent-sandbox"  # the agent's own sandbox is on
    AGENT_SANDBOX_FLAG = "agent-sandbox-flag"
    POSSIBLE_FORM = "possible-form"  # read from one of several forms a value can take
    ENTRY_POINT = "entry-point"
    AGENT_INSTALLED = "agent-installed"
    # Environment and credentials.
    ENV_INHERITED = "env-inherited"
    ENV_MINIMAL = "env-minimal"
    ENV_UNKNOWN = "env-unknown"
    ENV_FILE = "env-file"
    ENV_PASSES_THROUGH = "env-passes-through"
    SECRET_OPERATOR = "secret-operator"
    SECRET_MODEL_KEY = "secret-model-key"
    SECRETS_INHERIT = "secrets-inherit"
    OIDC = "oidc"
    JOB_TOKEN = "job-token"
    CHECKOUT_HEAD = "checkout-head"
    # Mounts: mount-<source>-<ro|rw> (see `mount`).
    MOUNT_DOCKER_SOCKET_RO = "mount-docker-socket-ro"
    MOUNT_DOCKER_SOCKET_RW = "mount-docker-socket-rw"
    MOUNT_HOST_ROOT_RO = "mount-host-root-ro"
    MOUNT_HOST_ROOT_RW = "mount-host-root-rw"
    MOUNT_TARGET_RO = "mount-target-ro"
    MOUNT_TARGET_RW = "mount-target-rw"
    MOUNT_TARGET_PART_RO = "mount-target-part-ro"
    MOUNT_TARGET_PART_RW = "mount-target-part-rw"
    MOUNT_CREDENTIALS_RO = "mount-credentials-ro"
    MOUNT_CREDENTIALS_RW = "mount-credentials-rw"
    MOUNT_HOME_RO = "mount-home-ro"
    MOUNT_HOME_RW = "mount-home-rw"
    MOUNT_ENV_FILE_RO = "mount-env-file-ro"
    MOUNT_ENV_FILE_RW = "mount-env-file-rw"
    MOUNT_HOST_PATH_RO = "mount-host-path-ro"
    MOUNT_HOST_PATH_RW = "mount-host-path-rw"
    TMPFS = "tmpfs"
    # Network.
    NETWORK_DEFAULT = "network-default"
    NETWORK_NONE = "network-none"
    NETWORK_HOST = "network-host"
    NETWORK_NAMED = "network-named"
    NETWORK_SHARED = "network-shared"
    NETWORK_PROFILE = "network-profile"
    EGRESS_ALLOW_LIST = "egress-allow-list"
    FIREWALL_SCRIPT = "firewall-script"
    # Privileges.
    PRIVILEGED = "privileged"
    HOST_NAMESPACE = "host-namespace"
    UNCONFINED = "unconfined"
    CAP_ADD = "cap-add"
    CAP_DROP = "cap-drop"
    DEVICE = "device"
    USER_ROOT = "user-root"
    USER_NONROOT = "user-nonroot"
    OTHER_USER = "other-user"
    READ_ONLY_ROOTFS = "read-only-rootfs"
    NO_NEW_PRIVILEGES = "no-new-privileges"
    K8S_POD_SELECTOR = "k8s-pod-selector"
    # Lifetime and provenance.
    TIMEOUT = "timeout"
    LIMIT = "limit"
    EPHEMERAL = "ephemeral"
    IMAGE = "image"
    IMAGE_DIGEST = "image-digest"
    # A decisive piece that lives outside the repository (`Containment.unknowns`).
    UNKNOWN = "unknown"

    __str__ = str.__str__  # the spelling, on every Python version
    __format__ = str.__format__

    @classmethod
    def mount(cls, source: str, writable: bool) -> FactKind:
        """The kind for a host path classified as `source` (one of MOUNT_SOURCES)."""
        return cls(f"mount-{source}-{'rw' if writable else 'ro'}")

    @classmethod
    def env(cls, mode: EnvMode) -> FactKind:
        return cls(f"env-{mode.value}")

    @classmethod
    def secret(cls, credential_kind: str) -> FactKind:
        """The kind for a catalog credential kind (`operator`, `model-key`)."""
        return cls(f"secret-{credential_kind}")

    @property
    def is_mount(self) -> bool:
        return self.value.startswith("mount-")

    @property
    def mount_source(self) -> str:
        """`credentials` for mount-credentials-rw; '' for a kind that is not a mount."""
        return self.value[len("mount-"):-3] if self.is_mount else ""

    @property
    def writable(self) -> bool:
        return self.is_mount and self.value.endswith("-rw")

    @property
    def is_env_mode(self) -> bool:
        """The one fact that says how the environment is built (inherited, minimal, unknown)."""
        return self in (FactKind.ENV_INHERITED, FactKind.ENV_MINIMAL, FactKind.ENV_UNKNOWN)


@dataclass(frozen=True)
class Fact:
    """One observation about a launch site, anchored at the line that shows it."""

    kind: FactKind
    value: str
    location: Location

    def __post_init__(self) -> None:
        # Spellings are accepted at the boundary; an unknown kind is a programming error.
        if not isinstance(self.kind, FactKind):
            object.__setattr__(self, "kind", FactKind(self.kind))


@dataclass(frozen=True)
class Containment:
    """How a launch site is contained, dimension by dimension (DESIGN §1)."""

    boundary: Boundary = Boundary.NONE
    boundary_tool: str = ""  # "docker run", "bwrap", "sudo -u agent", ...
    env: EnvMode = EnvMode.INHERITED
    egress: Egress = Egress.OPEN
    facts: tuple[Fact, ...] = ()
    # Pieces of context that live outside the repo and decide the site's containment.
    unknowns: tuple[Fact, ...] = ()
    # Judge rules a front end reported under a sharper rule of its own for this site.
    superseded: tuple[str, ...] = ()
    # The whole containment is built by something this repository does not define: only the
    # unknowns are judged (a lifetime or egress finding would be a guess).
    undecided: bool = False

    def of_kind(self, *kinds: FactKind) -> tuple[Fact, ...]:
        return tuple(f for f in self.facts if f.kind in kinds)

    def has(self, *kinds: FactKind) -> bool:
        return any(f.kind in kinds for f in self.facts)


@dataclass(frozen=True)
class LaunchSite:
    """A place where an agent starts."""

    site_id: str
    agent: str  # catalog id, e.g. "claude-code"
    agent_name: str  # display name, e.g. "Claude Code"
    surface: str  # "python", "javascript", "shell", "makefile", "package-json", ...
    launcher: str  # "subprocess.run", "child_process.spawn", "shell command", ...
    location: Location
    command: str  # the resolved command line, for the report
    containment: Containment = field(default_factory=Containment)


@dataclass(frozen=True)
class Finding:
    """One hazard at one launch site. Build through `scanner.findings.new_finding`."""

    rule_id: str
    title: str
    category: str
    severity: Severity
    confidence: Confidence
    location: Location
    site_id: str
    message: str
    related: tuple[Location, ...] = ()
    needs_context: str = ""
    fingerprint: str = ""
    suppressed: str = ""  # the reason, when an inline ignore or the config suppressed it
    tier: str = "shipped"  # where the code lives: shipped, test, example, docs, benchmark (scanner.discover.tiers)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.location.path, self.location.line, self.location.column, self.rule_id)


@dataclass(frozen=True)
class Skip:
    path: str
    reason: str


@dataclass(frozen=True)
class Coverage:
    files_seen: int
    files_scanned: int
    files_parsed: int
    skipped: dict[str, int]
    skipped_files: tuple[Skip, ...]
    search_terms: tuple[str, ...]
    rules_run: tuple[str, ...]
    not_analysed: tuple[Skip, ...] = ()


@dataclass(frozen=True)
class ReviewNote:
    """A line a reviewer should see: a new inline ignore or a change to blastwall's configuration."""

    path: str
    line: int
    text: str


@dataclass(frozen=True)
class Silencer:
    """A setting or inline ignore that changed the results, shown in every mode with its line."""

    path: str
    line: int
    text: str  # the line as written
    effect: str  # what it silenced, in words


@dataclass(frozen=True)
class Capped:
    """Findings left out of the report for one (file, rule) after the per-file cap."""

    path: str
    rule_id: str
    count: int


@dataclass(frozen=True)
class ScanResult:
    root_name: str
    verdict: Verdict
    findings: tuple[Finding, ...]
    launch_sites: tuple[LaunchSite, ...]
    coverage: Coverage
    needs_context: tuple[str, ...] = ()
    filtered_preexisting: int = 0
    new_only: str = ""  # what "pre-existing" was measured against: "baseline", "changes since REF", both; "" = off
    review_notes: tuple[ReviewNote, ...] = ()
    silencers: tuple[Silencer, ...] = ()  # configuration and inline ignores that changed results
    capped: tuple[Capped, ...] = ()  # findings beyond the per-file, per-rule cap (verdict already counted them)

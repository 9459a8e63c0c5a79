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


@dataclass(frozen=True)
class Fact:
    """One observation about a launch site, anchored at the line that shows it."""

    kind: str  # e.g. "bypass-flag", "env-inherited", "mount", "network", "timeout"
    value: str
    location: Location


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

    def of_kind(self, *kinds: str) -> tuple[Fact, ...]:
        return tuple(f for f in self.facts if f.kind in kinds)

    def has(self, *kinds: str) -> bool:
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
    tier: str = "shipped"  # where the code lives: shipped, test, example, docs, benchmark (scanner.tiers)

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

"""What every report shows first, computed once: counts, the sites that decide the verdict, the
evidence grouped by file, one entry per rule, one diagram per containment shape, and the scope.

The renderers (text, Markdown, SARIF, JSON, GitHub annotations) only format this; nothing here
escapes or styles text.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from scanner import __version__
from scanner.model import (
    CATEGORIES,
    Boundary,
    Confidence,
    Egress,
    EnvMode,
    FactKind,
    Finding,
    LaunchSite,
    Location,
    ScanResult,
    Severity,
    Verdict,
)

SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)
# zizmor's closing line counts from the least to the most severe.
SEVERITY_WORDS = {Severity.INFO: "informational", Severity.LOW: "low", Severity.MEDIUM: "medium",
                  Severity.HIGH: "high", Severity.CRITICAL: "critical"}
TIER_WORDS = {"shipped": "shipped code", "test": "tests", "example": "examples", "docs": "documentation",
              "benchmark": "benchmarks"}
VERDICT_LINE = {
    Verdict.PRESENT: "at least one AI agent runs in the operator's own security context.",
    Verdict.UNCLEAR: "no agent is shown to share the operator's context, but at least one launch depends on "
                     "something outside the repository.",
    Verdict.NOT_PRESENT: "every agent launch site found is contained.",
}
DECIDING_SHOWN = 5  # sites named in the verdict's "decided by" list

FALLBACK_HOMEPAGE = "https://github.com/blastwall/blastwall"


# --------------------------------------------------------------------------------------------
# Links: the project's home and the documentation page of each rule


@lru_cache(maxsize=1)
def project_urls() -> dict[str, str]:
    """`[project.urls]` from pyproject.toml (a source checkout) or the installed metadata."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():
        try:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            doc = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            if doc.get("project", {}).get("name") == "blastwall":
                urls = doc["project"].get("urls") or {}
                if urls:
                    return {str(k).lower(): str(v) for k, v in urls.items()}
        except (OSError, ValueError, KeyError):
            pass
    try:
        from importlib.metadata import PackageNotFoundError, metadata

        entries = metadata("blastwall").get_all("Project-URL") or []
    except (PackageNotFoundError, ImportError):  # pragma: no cover - running from an unpacked tree
        entries = []
    out = {}
    for entry in entries:
        label, _, url = entry.partition(",")
        out[label.strip().lower()] = url.strip()
    return out


def homepage() -> str:
    urls = project_urls()
    return (urls.get("repository") or urls.get("homepage") or FALLBACK_HOMEPAGE).rstrip("/")


def rule_doc_url(rule_id: str) -> str:
    """The rule's page, docs/rules/<id>.md, in the repository named by the project metadata."""
    safe = re.sub(r"[^a-z0-9-]", "", rule_id.lower())
    return f"{homepage()}/blob/main/docs/rules/{safe}.md"


def release_tag() -> str:
    return f"v{__version__}"


# --------------------------------------------------------------------------------------------
# Small wording helpers shared by the renderers


def plural(count: int, word: str, many: str = "") -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def priority(f: Finding) -> tuple[int, int, int, tuple[str, int, int, str]]:
    """Most severe first; among equals, confident first, then the DESIGN's category order."""
    category = CATEGORIES.index(f.category) if f.category in CATEGORIES else len(CATEGORIES)
    return (-f.severity.rank, f.confidence is not Confidence.HIGH, category, f.sort_key)


def site_title(site: LaunchSite) -> str:
    """`Claude Code via subprocess.run`; the launcher is left out when the name already says it."""
    name, launcher = site.agent_name.strip(), site.launcher.strip()
    if not launcher or launcher.lower() in name.lower():
        return name
    return f"{name} via {launcher}"


def boundary_text(site: LaunchSite) -> str:
    """`none`, `container (docker run)`, `container image`: the tool only when it adds something."""
    c = site.containment
    tool = c.boundary_tool.strip()
    if c.boundary is Boundary.NONE:
        return "none"
    if not tool or tool == c.boundary.value:
        return c.boundary.value
    if c.boundary.value in tool:
        return tool
    return f"{c.boundary.value} ({tool})"


def folder_of(path: str, depth: int = 2) -> str:
    parts = path.split("/")[:-1]
    return "/".join(parts[:depth]) + "/" if parts else "./"


# --------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class SiteView:
    site: LaunchSite
    findings: tuple[Finding, ...]  # most severe first
    tier: str

    @property
    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.suppressed)

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.active), key=lambda s: s.rank, default=Severity.INFO)


def deciding_finding(view: SiteView, verdict: Verdict) -> Finding | None:
    """The finding that makes this site decide the verdict."""
    if verdict is Verdict.UNCLEAR:
        return next((f for f in view.active if f.needs_context), view.active[0] if view.active else None)
    return view.active[0] if view.active else None


@dataclass(frozen=True)
class FileView:
    path: str
    tier: str
    sites: tuple[SiteView, ...]
    loose: tuple[Finding, ...]  # findings in this file that belong to no launch site (ignore comments)


@dataclass(frozen=True)
class RuleView:
    rule_id: str
    title: str
    severity: Severity  # the most severe finding of the rule
    findings: tuple[Finding, ...]  # active findings, most severe first
    sites: int
    suppressed: int

    @property
    def at_severity(self) -> int:
        """Findings at the rule's shown severity; the rest (tests and examples are informational)
        are counted apart, so "high … 100" never means 98 infos."""
        return sum(1 for f in self.findings if f.severity is self.severity)

    @property
    def lower(self) -> int:
        return len(self.findings) - self.at_severity


@dataclass(frozen=True)
class Shape:
    """What crosses from the operator to the agent at a launch site, today."""

    today: str
    creds: str
    files: str
    net: str


@dataclass(frozen=True)
class ShapeView:
    shape: Shape
    agent: str  # the agents' common name, or "Agent"
    sites: tuple[SiteView, ...]


@dataclass(frozen=True)
class TierCount:
    tier: str
    sites: int
    findings: int


@dataclass
class Overview:
    result: ScanResult
    hidden: int = 0  # findings left out by --min-severity / --min-confidence
    active: list[Finding] = field(default_factory=list)
    suppressed: int = 0
    by_severity: OrderedDict[Severity, int] = field(default_factory=OrderedDict)
    rules: list[RuleView] = field(default_factory=list)
    folders: list[tuple[str, int, int]] = field(default_factory=list)  # folder, sites, findings
    deciding: list[SiteView] = field(default_factory=list)
    sites: list[SiteView] = field(default_factory=list)  # the sites the report shows, in order
    unshown_sites: int = 0  # new-only mode: sites with no new finding
    files: list[FileView] = field(default_factory=list)
    shapes: list[ShapeView] = field(default_factory=list)
    tiers: list[TierCount] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict

    @property
    def total(self) -> int:
        return len(self.result.findings)

    @property
    def new_only(self) -> bool:
        return bool(self.result.new_only)

    def closing_line(self) -> str:
        """zizmor's summary: `22 findings (11 suppressed): 0 informational, 1 low, 7 medium, 3 high, 1 critical`."""
        extra = []
        if self.suppressed:
            extra.append(f"{self.suppressed} suppressed")
        if self.hidden:
            extra.append(f"{self.hidden} below the severity or confidence shown")
        if self.result.filtered_preexisting:
            extra.append(f"{self.result.filtered_preexisting} pre-existing")
        head = plural(self.total + self.hidden, "finding") if not self.new_only else plural(self.total, "new finding")
        counts = ", ".join(f"{self.by_severity[s]} {SEVERITY_WORDS[s]}" for s in reversed(SEVERITIES))
        return f"{head}{' (' + ', '.join(extra) + ')' if extra else ''}: {counts}"

    def counts_line(self) -> str:
        """`104 launch sites in 88 files · 416 findings: 90 high, 58 medium, 88 low, 180 info`."""
        files = len({s.site.location.path for s in self.sites}) if self.sites else 0
        parts = [plural(len(self.result.launch_sites), "launch site")
                 + (f" in {plural(files, 'file')}" if files else "")]
        active = len(self.active)
        label = "new finding" if self.new_only else "finding"
        counts = ", ".join(f"{n} {s.value}" for s, n in self.by_severity.items() if n)
        parts.append(plural(active, label) + (f": {counts}" if counts else ""))
        if self.suppressed:
            parts.append(f"{self.suppressed} suppressed")
        return " · ".join(parts)


def kind_of(view: SiteView) -> tuple[object, ...]:
    """Sites of one kind say the same thing: same tier, agent, launcher and rules."""
    return (view.tier != "shipped", view.site.agent, view.site.launcher, frozenset(f.rule_id for f in view.active))


def distinct_first(views: list[SiteView]) -> list[SiteView]:
    """One site of each kind first (in order), then the repeats."""
    kinds: set[tuple[object, ...]] = set()
    firsts, repeats = [], []
    for v in views:
        kind = kind_of(v)
        (repeats if kind in kinds else firsts).append(v)
        kinds.add(kind)
    return firsts + repeats


def sort_findings(findings: list[Finding] | tuple[Finding, ...]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=priority))


def shape_of(site: LaunchSite) -> Shape:
    c = site.containment
    kinds = {f.kind for f in c.facts}
    if c.env is EnvMode.INHERITED:
        creds = "whole environment"
    elif kinds & {FactKind.SECRET_OPERATOR, FactKind.ENV_FILE}:
        creds = "operator credentials"
    elif FactKind.SECRET_MODEL_KEY in kinds:
        creds = "model key only"
    elif c.env is EnvMode.UNKNOWN:
        creds = "environment unknown"
    else:
        creds = "nothing"
    if any(k.mount_source in ("credentials", "home", "host-root") for k in kinds):
        creds += " + credential files"
    if c.boundary is Boundary.NONE:
        files = "everything the user can write"
    elif any(k.writable for k in kinds):
        files = "host paths read-write"
    elif any(k.is_mount for k in kinds):
        files = "mounts read-only"
    else:
        files = "no host files"
    net = {Egress.NONE: "no network", Egress.ALLOW_LIST: "allow-list only", Egress.OPEN: "open egress",
           Egress.HOST: "host network", Egress.UNKNOWN: "egress unknown"}[c.egress]
    today = "no boundary, same user" if c.boundary is Boundary.NONE else boundary_text(site)
    return Shape(today, creds, files, net)


def build(result: ScanResult, hidden: int = 0) -> Overview:
    ov = Overview(result=result, hidden=hidden)
    ov.active = [f for f in result.findings if not f.suppressed]
    ov.suppressed = len(result.findings) - len(ov.active)
    counts = Counter(f.severity for f in ov.active)
    ov.by_severity = OrderedDict((s, counts.get(s, 0)) for s in SEVERITIES)

    by_site: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_site.setdefault(f.site_id, []).append(f)
    from scanner.discover.tiers import tier_of

    def site_tier(site: LaunchSite, findings: list[Finding]) -> str:
        # The tier the findings carry (the engine labelled them), else the site's own path's.
        own = [f.tier for f in findings if f.location.path == site.location.path]
        return own[0] if own else (findings[0].tier if findings else tier_of(site.location.path))

    views = [SiteView(s, sort_findings(by_site.get(s.site_id, [])), site_tier(s, by_site.get(s.site_id, [])))
             for s in result.launch_sites]
    # New findings only: a site with nothing new is not shown (it is counted).
    if result.new_only:
        shown = [v for v in views if v.findings]
        ov.unshown_sites = len(views) - len(shown)
        views = shown
    ov.sites = views

    # One entry per rule, the most severe first.
    rules: OrderedDict[str, list[Finding]] = OrderedDict()
    for f in sorted(ov.active, key=priority):
        rules.setdefault(f.rule_id, []).append(f)
    sup = Counter(f.rule_id for f in result.findings if f.suppressed)
    ov.rules = [RuleView(rule_id, fs[0].title, fs[0].severity, tuple(fs), len({f.site_id for f in fs}), sup[rule_id])
                for rule_id, fs in rules.items()]

    # Folders with the most launch sites (then findings).
    folder_sites = Counter(folder_of(v.site.location.path) for v in views)
    folder_findings = Counter(folder_of(f.location.path) for f in ov.active)
    names = set(folder_sites) | set(folder_findings)
    ov.folders = sorted(((n, folder_sites[n], folder_findings[n]) for n in names),
                        key=lambda t: (-t[1], -t[2], t[0]))

    # The sites that decide the verdict, shipped code first.
    if result.verdict is Verdict.PRESENT:
        deciding = [v for v in views if any(f.severity.rank >= Severity.HIGH.rank for f in v.active)]
    elif result.verdict is Verdict.UNCLEAR:
        deciding = [v for v in views if any(f.needs_context for f in v.active)]
    else:
        deciding = []
    deciding.sort(key=lambda v: (v.tier != "shipped", -v.worst.rank, v.site.location.path, v.site.location.line))
    # Name different kinds of site before repeats of one kind: one of each (agent, rules) first.
    ov.deciding = distinct_first(deciding)

    # Evidence grouped by file: shipped files first, then each other tier; each site once.
    files: OrderedDict[str, list[SiteView]] = OrderedDict()
    for v in sorted(views, key=lambda v: (v.tier != "shipped", v.tier, v.site.location.path, v.site.location.line)):
        files.setdefault(v.site.location.path, []).append(v)
    site_ids = {s.site_id for s in result.launch_sites}
    loose: dict[str, list[Finding]] = {}
    for f in result.findings:
        if f.site_id not in site_ids:
            loose.setdefault(f.location.path, []).append(f)
    for path in sorted(loose):
        files.setdefault(path, [])
    ov.files = [FileView(path, tier_of(path), tuple(vs), sort_findings(loose.get(path, [])))
                for path, vs in files.items()]

    # One diagram per distinct shape, the most severe shapes first.
    shapes: OrderedDict[Shape, list[SiteView]] = OrderedDict()
    for v in sorted(views, key=lambda v: (v.tier != "shipped", -v.worst.rank, v.site.location.path,
                                          v.site.location.line)):
        shapes.setdefault(shape_of(v.site), []).append(v)
    for shape, vs in shapes.items():
        names_ = {v.site.agent_name for v in vs}
        ov.shapes.append(ShapeView(shape, names_.pop() if len(names_) == 1 else "Agent", tuple(vs)))

    # Where the code lives: shipped, tests, examples, docs, benchmarks.
    tier_sites = Counter(v.tier for v in views)
    tier_findings = Counter(f.tier for f in ov.active)
    order = list(TIER_WORDS)
    ov.tiers = [TierCount(t, tier_sites[t], tier_findings[t])
                for t in sorted(set(tier_sites) | set(tier_findings), key=lambda t: (order.index(t) if t in order else 99, t))]
    return ov


def quote_of(loc: Location) -> str:
    return loc.quote


def filter_findings(result: ScanResult, min_severity: Severity = Severity.INFO,
                    min_confidence: Confidence = Confidence.LOW) -> tuple[ScanResult, int]:
    """The result with findings below the thresholds left out, and how many were; the verdict is
    the engine's, decided over every finding."""
    from dataclasses import replace

    conf_rank = {Confidence.LOW: 0, Confidence.MEDIUM: 1, Confidence.HIGH: 2}
    kept = tuple(f for f in result.findings
                 if f.severity.rank >= min_severity.rank and conf_rank[f.confidence] >= conf_rank[min_confidence])
    hidden = len(result.findings) - len(kept)
    return (replace(result, findings=kept) if hidden else result), hidden


_OPENS_AFTER = frozenset(" \t([{'\"=")
_CLOSES_BEFORE = frozenset(" \t.,;:)]}'\"!?")


def message_parts(text: str) -> list[tuple[str, bool]]:
    """A finding message split into prose and `code` values: [(text, is_code), ...].

    Messages quote repository values in backticks, and a value may hold backticks itself (a
    mount of `` `pwd` ``). A span opens at a backtick at the start or after a space or bracket,
    and closes at the first later backtick that ends a word (before a space, punctuation or the
    end), so the value's own backticks stay inside it. A backtick that opens nothing is prose."""
    parts: list[tuple[str, bool]] = []
    prose_start = 0
    i = 0
    n = len(text)
    while i < n:
        if text[i] == "`" and (i == 0 or text[i - 1] in _OPENS_AFTER):
            j = i + 1
            close = -1
            while j < n:
                if text[j] == "`" and j > i + 1 and (j + 1 == n or text[j + 1] in _CLOSES_BEFORE):
                    close = j
                    break
                if text[j] == "\n":
                    break
                j += 1
            if close > 0:
                if i > prose_start:
                    parts.append((text[prose_start:i], False))
                parts.append((text[i + 1 : close], True))
                i = prose_start = close + 1
                continue
        i += 1
    if prose_start < n:
        parts.append((text[prose_start:], False))
    return parts

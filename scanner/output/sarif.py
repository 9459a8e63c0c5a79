"""SARIF 2.1.0 through sarif-om, shaped for GitHub code scanning (see research/peers.md §3)."""

from __future__ import annotations

import json
from functools import lru_cache

import sarif_om as sarif
from jschema_to_python.to_json import to_json

from scanner import __version__
from scanner.catalog import Catalog, RuleMeta
from scanner.model import Finding, LaunchSite, Location, ScanResult, Severity
from scanner.output.overview import homepage, rule_doc_url, site_title
from scanner.output.sanitize import plain
from scanner.resources import read_rules_yaml, rules_dir

CATEGORY = "blastwall"
_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}
_PRECISION = {"high": "high", "medium": "medium", "low": "low"}


def _help_markdown(rule: RuleMeta) -> str:
    parts = [f"**{rule.title}**", "", "## Why it matters", "", rule.why, "", "## Fix", "", rule.fix]
    for surface, example in sorted(rule.fix_examples.items()):
        parts += ["", f"Before ({surface}):", "", "```", example.before, "```", "", "After:", "", "```", example.after, "```"]
    parts += ["", f"[Rule documentation]({rule_doc_url(rule.id)})"]
    return "\n".join(parts)


def _rule(rule: RuleMeta) -> sarif.ReportingDescriptor:
    return sarif.ReportingDescriptor(
        id=rule.id,
        name="".join(word.capitalize() for word in rule.id.split("-")),
        short_description=sarif.MultiformatMessageString(text=rule.title),
        full_description=sarif.MultiformatMessageString(text=rule.why),
        help=sarif.MultiformatMessageString(text=f"{rule.why} Fix: {rule.fix}", markdown=_help_markdown(rule)),
        help_uri=rule_doc_url(rule.id),
        default_configuration=sarif.ReportingConfiguration(level=_LEVEL[rule.severity]),
        properties={
            "tags": ["security", "ai-agent", rule.category],
            "precision": _PRECISION[rule.confidence.value],
            "security-severity": rule.security_severity,
            "category": rule.category,
        },
    )


def _uri(path: str) -> str:
    """A relative path as a URI reference: control characters, spaces and other reserved
    characters percent-encoded (RFC 3986), so a crafted file name stays one inert URI."""
    from urllib.parse import quote

    return quote(path, safe="/-._~!$&'()*+,;=@")


def _physical(loc: Location) -> sarif.PhysicalLocation:
    region = sarif.Region(start_line=loc.line, start_column=loc.column, end_line=loc.last_line,
                          snippet=sarif.ArtifactContent(text=plain(loc.quote)))
    if loc.end_column and loc.last_line == loc.line and loc.end_column > loc.column:
        region.end_column = loc.end_column
    return sarif.PhysicalLocation(artifact_location=sarif.ArtifactLocation(uri=_uri(loc.path), uri_base_id="%SRCROOT%"),
                                  region=region)


def _related_label(r: Location, f: Finding, site: LaunchSite | None) -> str:
    """What a related location shows: its own label, else what it is to the finding."""
    at_site = site is not None and (r.path, r.line) == (site.location.path, site.location.line)
    if at_site:
        return plain(f"{r.label or 'launch site'}: {site_title(site)}", 200)
    if r.label:
        return plain(r.label, 200)
    if site is not None and r.path == site.location.path:
        return plain(f"part of the launch at line {site.location.line}", 200)
    return plain(f"related evidence for {f.rule_id}", 200)


def _result(f: Finding, index: dict[str, int], sites: dict[str, LaunchSite] | None = None,
            baseline_state: str = "") -> sarif.Result:
    result = sarif.Result(
        rule_id=f.rule_id,
        rule_index=index[f.rule_id],
        level=_LEVEL[f.severity],
        message=sarif.Message(text=plain(f"{f.title}: {f.message}", 1000)),
        locations=[sarif.Location(physical_location=_physical(f.location))],
        partial_fingerprints={"blastwall/v1": f.fingerprint},
        properties={"severity": f.severity.value, "confidence": f.confidence.value, "category": f.category,
                    "launch_site": f.site_id, "tier": f.tier,
                    **({"needs_context": f.needs_context} if f.needs_context else {})},
    )
    if baseline_state:
        result.baseline_state = baseline_state
    if f.related:
        site = (sites or {}).get(f.site_id)
        result.related_locations = [
            sarif.Location(id=i + 1, physical_location=_physical(r), message=sarif.Message(text=_related_label(r, f, site)))
            for i, r in enumerate(f.related[:10])
        ]
    if f.suppressed:
        result.suppressions = [sarif.Suppression(kind="inSource", justification=plain(f.suppressed))]
    return result


@lru_cache(maxsize=1)
def scan_notices() -> dict[str, tuple[str, str, str]]:
    """Scan-level notices (rules/notices.yaml): id -> (title, text, security-severity). Reported as
    note-level results so every SARIF consumer lists them by path."""
    doc = read_rules_yaml(rules_dir() / "notices.yaml")
    return {rid: (n["title"], n["text"], str(n["security_severity"])) for rid, n in doc["notices"].items()}


def _notice_descriptor(rule_id: str) -> sarif.ReportingDescriptor:
    title, text, severity = scan_notices()[rule_id]
    return sarif.ReportingDescriptor(id=rule_id, short_description=sarif.MultiformatMessageString(text=title),
                                     full_description=sarif.MultiformatMessageString(text=text),
                                     help=sarif.MultiformatMessageString(text=text, markdown=text),
                                     help_uri=rule_doc_url(rule_id),
                                     default_configuration=sarif.ReportingConfiguration(level="note"),
                                     properties={"tags": ["security", "blastwall-scope"], "security-severity": severity})


def _notice(rule_id: str, index: dict[str, int], path: str, line: int, text: str) -> sarif.Result:
    import hashlib

    digest = hashlib.sha256(f"{rule_id}\0{path}\0{text}".encode("utf-8", "surrogateescape")).hexdigest()[:32]
    region = sarif.Region(start_line=max(1, line), start_column=1)
    return sarif.Result(rule_id=rule_id, rule_index=index[rule_id], level="note",
                        message=sarif.Message(text=plain(text, 1000)),
                        locations=[sarif.Location(physical_location=sarif.PhysicalLocation(
                            artifact_location=sarif.ArtifactLocation(uri=_uri(path), uri_base_id="%SRCROOT%"),
                            region=region))],
                        partial_fingerprints={"blastwall/v1": digest})


def render_sarif(result: ScanResult, catalog: Catalog, *, new_fingerprints: set[str] | None = None,
                 new_only: str = "") -> str:
    """The SARIF log. With `new_fingerprints` (new-only mode), `result` is the whole scan and each
    result carries `baselineState` "new" or "unchanged": code scanning gets every alert."""
    rules = [catalog.rules[r] for r in sorted(catalog.rules)]
    extra = sorted({f.rule_id for f in result.findings} - set(catalog.rules))
    descriptors = [_rule(r) for r in rules] + [
        sarif.ReportingDescriptor(id=r, short_description=sarif.MultiformatMessageString(text=r),
                                  full_description=sarif.MultiformatMessageString(text=r),
                                  help=sarif.MultiformatMessageString(text=r),
                                  properties={"tags": ["security"], "security-severity": "5.0"})
        for r in extra
    ] + [_notice_descriptor(r) for r in scan_notices()]
    index = {d.id: i for i, d in enumerate(descriptors)}
    sites = {s.site_id: s for s in result.launch_sites}
    notices = [_notice("file-not-analysed", index, s.path, 1, f"Not analysed: {s.path} ({s.reason})")
               for s in result.coverage.not_analysed]
    notices += [_notice("results-changed-by-configuration", index, s.path, s.line, f"{s.text} — {s.effect}")
                for s in result.silencers if s.path]  # command-line excludes have no file to point at
    run = sarif.Run(
        tool=sarif.Tool(driver=sarif.ToolComponent(
            name="blastwall", semantic_version=__version__, information_uri=homepage(),
            rules=descriptors)),
        automation_details=sarif.RunAutomationDetails(id=f"{CATEGORY}/"),
        original_uri_base_ids={"%SRCROOT%": sarif.ArtifactLocation(uri="./")},
        column_kind="unicodeCodePoints",
        results=[_result(f, index, sites, "" if new_fingerprints is None else
                         ("new" if f.fingerprint in new_fingerprints else "unchanged"))
                 for f in result.findings] + notices,
        properties={
            "verdict": result.verdict.value,
            "needsContext": list(result.needs_context),
            "launchSites": len(result.launch_sites),
            "filesScanned": result.coverage.files_scanned,
            "filteredPreexisting": result.filtered_preexisting,
            "notAnalysed": len(result.coverage.not_analysed),
            "cappedFindings": sum(c.count for c in result.capped),
            **({"newOnly": result.new_only or new_only} if (result.new_only or new_only) else {}),
        },
    )
    log = sarif.SarifLog(version="2.1.0", schema_uri="https://json.schemastore.org/sarif-2.1.0.json", runs=[run])
    doc = json.loads(to_json(log))
    # jschema-to-python leaves out values equal to the schema default ("warning"): say every
    # level, so no consumer has to know the default to see a medium finding's level.
    for res in doc["runs"][0].get("results", []):
        res.setdefault("level", "warning")
    for rule in doc["runs"][0]["tool"]["driver"]["rules"]:
        rule.setdefault("defaultConfiguration", {}).setdefault("level", "warning")
    return json.dumps(doc, indent=2) + "\n"

"""`--format github`: GitHub Actions workflow commands, one annotation per finding.

    ::error file=src/agent.py,line=5,col=12,endLine=5,title=blastwall agent-inline-launch (high)::message

Levels: critical and high are `error`, medium `warning`, low and info `notice`. Values are escaped
as the Actions toolkit does (`%`, CR and LF in the message; also `:` and `,` in properties), so a
crafted path or quoted line can neither end the command early nor start another one; control
characters are made visible first. Paths are relative to the scanned folder: scan the repository
root (or rewrite the paths) for the annotations to land on the right files. The last line is the
plain closing summary.
"""

from __future__ import annotations

from scanner.catalog import Catalog
from scanner.model import Finding, ScanResult, Severity
from scanner.output.overview import build, rule_doc_url
from scanner.output.sanitize import plain

LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
         Severity.LOW: "notice", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **props: object) -> str:
    """One workflow command; `props` with a None or empty value are left out."""
    fields = ",".join(f"{key}={escape_property(plain(str(value), 1000))}" for key, value in props.items()
                      if value not in (None, ""))
    body = escape_data(plain(message, 4000))
    # A message must not be able to hold a second command even where a runner decoded it: no line
    # break survives `plain`, and `::` at the start of a line is impossible after the prefix.
    return f"::{level}{' ' + fields if fields else ''}::{body}"


def _annotation(f: Finding) -> str:
    loc = f.location
    extra = f" Suppressed: {f.suppressed}." if f.suppressed else ""
    message = f"{f.title}: {f.message}{extra} Docs: {rule_doc_url(f.rule_id)}"
    return command(LEVEL[f.severity] if not f.suppressed else "notice", message, file=loc.path, line=loc.line,
                   col=loc.column, endLine=loc.last_line,
                   title=f"blastwall {f.rule_id} ({f.severity.value})")


def render_github(result: ScanResult, catalog: Catalog, hidden: int = 0) -> str:
    del catalog  # the rule titles travel with each finding
    lines = [_annotation(f) for f in result.findings]
    for skip in result.coverage.not_analysed:
        lines.append(command("warning", f"Not analysed: this file mentions an agent but could not be read whole "
                                        f"({skip.reason}); the verdict is at least unclear.",
                             file=skip.path, title="blastwall file-not-analysed"))
    for item in result.silencers:
        lines.append(command("notice", f"Configuration changed the results: {item.text} — {item.effect}",
                             file=item.path or None, line=item.line if item.path else None,
                             title="blastwall results-changed-by-configuration"))
    ov = build(result, hidden)
    lines.append(f"blastwall verdict: {result.verdict.value}. {ov.closing_line()}")
    return "\n".join(lines) + "\n"

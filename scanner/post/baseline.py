"""New findings only, and the steps between findings and the verdict.

`postprocess` runs once per scan, after every finding has its fingerprint, in this order:

1. inline suppressions (`scanner.post.suppress`): covered findings are marked, stale or reasonless
   ignores become findings of their own;
2. severity overrides from the project's configuration (`scanner.config`);
3. new-only filtering: a finding whose fingerprint is in the `--baseline` report, or (with
   `--diff-base REF`) whose primary and related locations are all on lines unchanged since REF,
   is dropped and counted in `ScanResult.filtered_preexisting`.

The verdict is then decided over the findings that remain, so in new-only mode it answers
"does this change add the pattern?", not "is the pattern anywhere in the repository?".

Fingerprints (`scanner.findings.fingerprint`) hash the rule, the path and the normalised quoted
line, never the line number, so a baseline keeps matching after lines move.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.catalog import Catalog
from scanner.config import apply_severity_overrides
from scanner.post.gitdiff import Changes, review_notes
from scanner.model import Finding, ReviewNote
from scanner.post.suppress import Directive, apply_suppressions

MAX_BYTES = 64 * 1024 * 1024


class BaselineError(ValueError):
    """The baseline file is unreadable or not a blastwall report."""


def load_baseline(path: Path) -> frozenset[str]:
    """Fingerprints from a previous blastwall JSON report (or a blastwall SARIF log)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise BaselineError(f"baseline {path} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        doc: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BaselineError(f"baseline {path} is not a JSON report (write one with --json-output)") from None
    prints: list[Any] = []
    if isinstance(doc, dict) and isinstance(doc.get("findings"), list) and "schema_version" in doc:
        prints = [f.get("fingerprint") for f in doc["findings"] if isinstance(f, dict)]
    elif isinstance(doc, dict) and isinstance(doc.get("runs"), list):
        for run in doc["runs"]:
            for result in (run.get("results") or []) if isinstance(run, dict) else []:
                if isinstance(result, dict) and isinstance(result.get("partialFingerprints"), dict):
                    prints.append(result["partialFingerprints"].get("blastwall/v1"))
    else:
        raise BaselineError(f"baseline {path} is not a blastwall JSON report (write one with --json-output)")
    return frozenset(p for p in prints if isinstance(p, str) and p)


def _touched(f: Finding, changes: Changes) -> bool:
    locations = (f.location, *f.related)
    return any(changes.touches(loc.path, loc.line, loc.last_line) for loc in locations)


@dataclass(frozen=True)
class Post:
    findings: list[Finding]
    filtered: int
    new_only: str
    notes: tuple[ReviewNote, ...]


def new_only_label(baseline: frozenset[str] | None, changes: Changes | None) -> str:
    parts = []
    if baseline is not None:
        parts.append("baseline")
    if changes is not None:
        parts.append(f"changes since {changes.ref}")
    return " and ".join(parts)


def postprocess(
    findings: list[Finding],
    directives: list[Directive],
    catalog: Catalog,
    finalise: Callable[[list[Finding]], list[Finding]],
    *,
    root: Path,
    disabled: tuple[str, ...] = (),
    severity: tuple[tuple[str, Any], ...] = (),
    baseline: frozenset[str] | None = None,
    changes: Changes | None = None,
    config_files: tuple[str, ...] = (".blastwall.toml",),
) -> Post:
    if directives:
        findings = finalise(apply_suppressions(findings, directives, catalog, disabled))
    if severity:
        findings = apply_severity_overrides(findings, severity)
    kept = findings
    if baseline is not None:
        kept = [f for f in kept if f.fingerprint not in baseline]
    if changes is not None:
        kept = [f for f in kept if _touched(f, changes)]
    notes: tuple[ReviewNote, ...] = ()
    if changes is not None:
        notes = review_notes(changes, root, [(d.path, d.line, d.quote) for d in directives], config_files)
    return Post(kept, len(findings) - len(kept), new_only_label(baseline, changes), notes)

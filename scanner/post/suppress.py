"""Inline suppressions: `blastwall: ignore[rule-id] reason`, in the file's own comment syntax.

A directive suppresses findings of the named rules whose primary location is on the directive's
line, or on the line after a directive that stands alone on its line. The reason is required: a
directive without one suppresses nothing and is reported (`suppression-missing-reason`); a rule
a directive names that matched no finding is reported too (`suppression-unused`), so stale
ignores do not pile up. Suppressed findings stay in every report, marked with the reason, and do
not count toward the verdict.

Directives are read from bytes the scan already holds (the engine's workers call
`find_directives` on each file they read); nothing here opens a file.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from scanner.catalog import Catalog
from scanner.findings import new_finding
from scanner.model import Finding, Location

MISSING_REASON = "suppression-missing-reason"
UNUSED = "suppression-unused"
OWN_RULES = (MISSING_REASON, UNUSED)

_HASH = ("#",)
_SLASH = ("//", "/*")
_HTML = ("<!--",)
# Comment markers by file suffix or name. JSON has no comments: use `disable` in the config file.
_BY_SUFFIX: dict[str, tuple[str, ...]] = {
    **dict.fromkeys((".py", ".pyw", ".sh", ".bash", ".zsh", ".ksh", ".bats", ".envrc", ".mk", ".yml", ".yaml",
                     ".toml", ".dockerfile", ".rb", ".pl", ".r", ".tf", ".hcl", ".nix", ".cfg", ".conf", ".env",
                     ".ps1", ".fish", ".ini"), _HASH),
    **dict.fromkeys((".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx", ".go", ".rs", ".java", ".kt",
                     ".kts", ".cs", ".c", ".h", ".cc", ".cpp", ".hpp", ".swift", ".scala", ".groovy", ".jsonc",
                     ".json5", ".dart"), _SLASH),
    **dict.fromkeys((".md", ".markdown", ".html", ".htm", ".xml", ".svg"), _HTML),
    ".php": _HASH + _SLASH,
    ".vue": _SLASH + _HTML,
    ".svelte": _SLASH + _HTML,
    ".json": (),
}
_BY_NAME: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("Makefile", "makefile", "GNUmakefile", "Dockerfile", "Containerfile", "Justfile", "justfile",
                     "Gemfile", "Rakefile", "Procfile"), _HASH),
    "Jenkinsfile": _SLASH,
}
_DIRECTIVE = re.compile(r"(?P<marker>#|//|/\*|<!--)[ \t]*blastwall:[ \t]*ignore\[(?P<ids>[^\]\n]*)\](?P<rest>[^\n]*)")
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_REASON_TRIM = " \t-:–—*/>"


@dataclass(frozen=True)
class Directive:
    """One `blastwall: ignore[...]` comment."""

    path: str
    line: int
    column: int
    rule_ids: tuple[str, ...]
    reason: str
    own_line: bool  # nothing but the comment on its line: it also covers the next line
    quote: str

    def covers(self, finding: Finding) -> bool:
        loc = finding.location
        if loc.path != self.path or finding.rule_id not in self.rule_ids:
            return False
        return loc.line <= self.line <= loc.last_line or (self.own_line and self.line == loc.line - 1)


def markers_for(path: str) -> tuple[str, ...]:
    """The comment markers a file's own syntax allows."""
    base = posixpath.basename(path)
    if base in _BY_NAME:
        return _BY_NAME[base]
    if base.startswith(("Dockerfile.", "Containerfile.")) or base.endswith((".Dockerfile", ".Containerfile")):
        return _HASH
    suffix = posixpath.splitext(base)[1].lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    return _HASH + _SLASH  # scripts without a suffix (shebang files) and other text


def _reason(rest: str, marker: str) -> str:
    if marker == "/*":
        rest = rest.split("*/", 1)[0]
    elif marker == "<!--":
        rest = rest.split("-->", 1)[0]
    return " ".join(rest.strip(_REASON_TRIM).split())


def find_directives(path: str, data: bytes) -> tuple[Directive, ...]:
    """Every directive in a file's bytes; cheap when the file has none."""
    if b"blastwall:" not in data:
        return ()
    markers = markers_for(path)
    if not markers:
        return ()
    out = []
    for number, raw in enumerate(data.decode("utf-8", errors="replace").split("\n"), start=1):
        if "blastwall:" not in raw:
            continue
        line = raw.rstrip("\r")
        for match in _DIRECTIVE.finditer(line):
            marker = match.group("marker")
            if marker not in markers:
                continue
            ids = tuple(dict.fromkeys(i.strip() for i in match.group("ids").split(",") if i.strip()))
            out.append(Directive(
                path=path,
                line=number,
                column=match.start() + 1,
                rule_ids=ids,
                reason=_reason(match.group("rest"), marker),
                own_line=not line[: match.start()].strip(),
                quote=line.strip(),
            ))
            break  # one directive per line
    return tuple(out)


def apply_suppressions(
    findings: Iterable[Finding], directives: Iterable[Directive], catalog: Catalog, disabled: Iterable[str] = ()
) -> list[Finding]:
    """Mark covered findings suppressed; add findings for directives without reason or match."""
    off = set(disabled)
    by_path: dict[str, list[Directive]] = {}
    for d in directives:
        by_path.setdefault(d.path, []).append(d)
    used: set[tuple[Directive, str]] = set()
    out = []
    for f in findings:
        if f.rule_id not in OWN_RULES and not f.suppressed:
            for d in by_path.get(f.location.path, ()):
                if d.reason and d.covers(f):
                    f = replace(f, suppressed=d.reason)
                    used.add((d, f.rule_id))
                    break
        out.append(f)
    for path in sorted(by_path):
        for d in by_path[path]:
            where = Location(d.path, d.line, d.column, quote=d.quote)
            if not d.reason:
                if MISSING_REASON not in off:
                    out.append(new_finding(
                        catalog, MISSING_REASON, where, site_id="",
                        message="This ignore gives no reason, so it suppresses nothing. Say why the finding is "
                                "acceptable after the closing bracket, e.g. `ignore[" + ",".join(d.rule_ids or ("rule-id",))
                                + "] runs in a throwaway VM`.",
                    ))
                continue
            if UNUSED in off:
                continue
            for rule_id in d.rule_ids or ("",):
                if (d, rule_id) in used:
                    continue
                if not rule_id:
                    what = "names no rule"
                elif not _RULE_ID.match(rule_id) or rule_id not in catalog.rules:
                    what = f"names `{rule_id}`, which is not a blastwall rule"
                elif rule_id in OWN_RULES:
                    what = f"names `{rule_id}`, which cannot be suppressed inline (use `disable` in the config file)"
                else:
                    what = f"names `{rule_id}`, but no `{rule_id}` finding is on this line or the next"
                out.append(new_finding(catalog, UNUSED, where, site_id="",
                                       message=f"This ignore {what}; remove it or fix the rule id."))
    return out

"""Before/after snippets for the report's FIX section, per launch site and per finding, in the
evidence's own language and surface.

Where `blastwall fix --apply` has a rewrite, the snippet is that rewrite's own hunk (the compose
service, the workflow job, the SDK options, the settings file, the launch call); where it does
not, it is the framework's or the action's own safe form, with the names the evidence uses (the
agent's own key name, not another agent's).

    fixes = finding_fixes(root, result)      # scanner.remediation.apply
    fixes[(site_id, rule_id)]  # FindingFix(before, after, language, rewrite)
"""

from __future__ import annotations

import difflib
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.model import Finding, LaunchSite, ScanResult

__all__ = ["FindingFix", "fixes_from_plan", "site_snippets", "language_of", "parses"]

_LANG_BY_SURFACE = {"python": "python", "javascript": "javascript", "shell": "shell", "makefile": "makefile",
                    "package-json": "json", "github-workflow": "yaml", "compose": "yaml", "kubernetes": "yaml",
                    "devcontainer": "json", "dockerfile": "dockerfile"}
_LANG_BY_SUFFIX = {".py": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
                   ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript", ".json": "json", ".jsonc": "json",
                   ".yml": "yaml", ".yaml": "yaml", ".toml": "toml", ".sh": "shell", ".bash": "shell", ".go": "go",
                   ".rs": "rust", ".java": "java", ".kt": "kotlin", ".rb": "ruby", ".php": "php", ".cs": "csharp",
                   ".template": "json"}
_MAX = 4000
#: rules whose fix is the launch itself: the site's rewrite is their snippet
_CALL_LEVEL = {"agent-inline-launch", "agent-inherits-environment", "agent-unbounded-session", "agent-permission-bypass",
               "agent-operator-credentials-passed", "framework-host-code-execution"}
_CODE_SURFACES = {"python", "javascript", "shell", "makefile", "package-json", "semgrep"}
#: rules no rewrite addresses (nothing pins an image): a rewrite next to such a finding is not its fix
_NOT_REWRITTEN = {"agent-unpinned-image"}


@dataclass(frozen=True)
class FindingFix:
    before: str
    after: str
    language: str  # python, javascript, typescript, shell, yaml, json, toml, go, ...
    rewrite: bool  # True: what `fix --apply` writes; False: the change to make by hand
    summary: str = ""  # what this change does and why, where it is not the rule's own fix


def language_of(path: str, surface: str = "") -> str:
    name = path.rsplit("/", 1)[-1]
    if name == "Makefile" or name.endswith(".mk"):
        return "makefile"
    if name.startswith("Dockerfile"):
        return "dockerfile"
    for suffix, lang in _LANG_BY_SUFFIX.items():
        if name.endswith(suffix):
            return lang
    return _LANG_BY_SURFACE.get(surface, "text")


def _hunks(before: str, after: str) -> list[tuple[int, int, int, int]]:
    """Changed line ranges (a0, a1, b0, b1), 0-based half-open, merged when close together."""
    old, new = before.split("\n"), after.split("\n")
    lo, shortest = 0, min(len(old), len(new))
    while lo < shortest and old[lo] == new[lo]:
        lo += 1
    hi = 0
    while hi < shortest - lo and old[-1 - hi] == new[-1 - hi]:
        hi += 1
    matcher = difflib.SequenceMatcher(a=old[lo:len(old) - hi], b=new[lo:len(new) - hi], autojunk=False)
    out: list[tuple[int, int, int, int]] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        out.append((a0 + lo, a1 + lo, b0 + lo, b1 + lo))
    return out


def parses(language: str, text: str) -> bool:
    """Whether a snippet is a whole piece of its language (what the report shows must read as code)."""
    text = textwrap.dedent(text).strip("\n")
    if not text.strip():
        return False
    try:
        if language == "python":
            import ast

            ast.parse(text)
        elif language in ("javascript", "typescript"):
            from scanner.parse.trees import parse

            dialect = "typescript" if language == "typescript" else "javascript"
            wrapped = text
            if text.lstrip().startswith(("{", "\"")):
                wrapped = f"x = {text.rstrip(',')}"
            elif re.match(r"^\s*[\w$]+\s*:", text) and parse(dialect, text.encode("utf-8")).root_node.has_error:
                wrapped = "x = {" + text.rstrip().rstrip(",") + "}"  # object properties
            return not parse(dialect, wrapped.encode("utf-8")).root_node.has_error
        elif language == "yaml":
            from scanner.parse.yamlsrc import load_data

            return isinstance(load_data(text), (dict, list))
        elif language == "json":
            from scanner.remediation import jsonedit

            body = text.rstrip().rstrip(",")
            try:
                jsonedit.parse(body)
            except jsonedit.JSONEditError:
                jsonedit.parse("{" + body + "}")
        elif language == "toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            tomllib.loads(text)
        elif language in ("shell", "makefile"):
            from scanner.parse.trees import parse

            return not parse("bash", text.replace("$$", "$").encode("utf-8")).root_node.has_error
    except Exception:  # noqa: BLE001 - any parse error means "not whole"
        return False
    return True


def _snippet(before: str, after: str, hunk: tuple[int, int, int, int], language: str = "",
             hunks: list[tuple[int, int, int, int]] | None = None) -> tuple[str, str]:
    """The changed lines, widened with their context until both sides are whole pieces of the
    language (a statement, a mapping, an object), at most 40 lines each. `hunks`: every change
    of the file (`_hunks`), when there may be others than `hunk`."""
    old, new = before.split("\n"), after.split("\n")
    a0, a1, b0, b1 = hunk
    if a0 == a1 or b0 == b1:  # a pure insertion or deletion: show the line above it as context
        a0 = max(0, a0 - 1)
        b0 = max(0, b0 - 1)

    def show(lines: list[str], lo: int, hi: int) -> str:
        return textwrap.dedent("\n".join(lines[lo:hi])).strip("\n")

    best = (a0, a1, b0, b1)
    if language:
        # Other changes near this one (an option added two lines down) move the lines after them:
        # the after side's window is where the before side's window went, hunk included.
        where = _where_lines_went(hunks or [hunk], len(new))
        for grow in range(0, 30):
            for up in range(0, grow + 1):
                down = grow - up
                c0, c1 = a0 - up, a1 + down
                if c0 < 0 or c1 > len(old):
                    continue
                d0, d1 = min(b0 - up, where(c0, False)), max(b1 + down, where(c1, True))
                if d0 < 0 or d1 > len(new):
                    continue
                if parses(language, show(old, c0, c1)) and parses(language, show(new, d0, d1)):
                    return show(old, c0, c1), show(new, d0, d1)
    a0, a1, b0, b1 = best
    return show(old, a0, a1), show(new, b0, b1)


def _where_lines_went(hunks: list[tuple[int, int, int, int]], new_len: int) -> Callable[[int, bool], int]:
    """For a window bound in the old text (a start, or with `end` an exclusive end), the bound in
    the new one that keeps every line the window's lines became, and every line inserted between
    them. Between the file's changes (`_hunks`) lines are equal, shifted by the changes above."""
    ordered = sorted(hunks)

    def where(i: int, end: bool) -> int:
        line = i - 1 if end else i
        if line < 0:
            return 0
        shift = 0
        for a0, a1, b0, b1 in ordered:
            if line < a0:
                break
            if line < a1:
                return b1 if end else b0
            shift = b1 - a1
        return min(new_len, line + shift + (1 if end else 0))

    return where


def _near(hunks: list[tuple[int, int, int, int]], line: int, slack: int = 2) -> tuple[int, int, int, int] | None:
    index = line - 1
    best = None
    for hunk in hunks:
        a0, a1 = hunk[0], max(hunk[1], hunk[0] + 1)
        if a0 - slack <= index < a1 + slack:
            distance = 0 if a0 <= index < a1 else min(abs(index - a0), abs(index - a1 + 1))
            if best is None or distance < best[0]:
                best = (distance, hunk)
    return best[1] if best else None


def _broker_after(quote: str, name: str, language: str, surface: str = "") -> str:
    """The same line with the key minted short-lived by a broker instead of read long-lived."""
    if surface in ("compose", "kubernetes", "devcontainer", "dockerfile"):
        return quote.rstrip() + f"  # by name only: the shell that starts it exports a short-lived {name} from your broker"
    if language == "yaml":
        return re.sub(r"\$\{\{\s*secrets\.[^}]+\}\}", "${{ steps.broker.outputs.token }}", quote) \
            + "  # minted by an OIDC broker step, short-lived" if "secrets." in quote else \
            f"{name}: ${{{{ steps.broker.outputs.token }}}}  # minted by an OIDC broker step, short-lived"
    if language == "python":
        if re.search(rf"os\.environ\[['\"]{name}['\"]\]|os\.environ\.get\(['\"]{name}['\"]", quote):
            return re.sub(rf"os\.environ(\[['\"]{name}['\"]\]|\.get\(['\"]{name}['\"][^)]*\))",
                          f'broker_token("{name}", ttl="15m")', quote)
        return f'env={{"PATH": "/usr/local/bin:/usr/bin:/bin", "{name}": broker_token("{name}", ttl="15m")}}'
    if language in ("javascript", "typescript"):
        if f"process.env.{name}" in quote:
            return quote.replace(f"process.env.{name}", f'await brokerToken("{name}", {{ ttl: "15m" }})')
        return f'env: {{ PATH: "/usr/local/bin:/usr/bin:/bin", {name}: await brokerToken("{name}", {{ ttl: "15m" }}) }}'
    if language == "json":
        return re.sub(rf'("{name}"\s*:\s*)"[^"]*"', rf'\1"${{{name}}}"', quote) + "  (export it from your broker first)"
    m = re.search(rf"(-e|--env)[ =]{name}\b(=\S+)?", quote)
    if m:
        return quote.replace(m.group(0), f'{m.group(1)} {name}="$(broker-token --ttl 15m {name})"')
    return f'{name}="$(broker-token --ttl 15m {name})" {quote}'


def _key_name(finding: Finding, site: LaunchSite | None) -> str:
    names = [f.value for f in site.containment.facts if f.kind == "secret-model-key"] if site else []
    for name in names:
        if name in finding.location.quote:
            return name
    m = re.search(r"\b([A-Z][A-Z0-9_]*(?:API_KEY|_TOKEN|_KEY))\b", finding.location.quote)
    if m:
        return m.group(1)
    return names[0] if names else "MODEL_API_KEY"


def _in_context(root: Path, path: str, line: int, quote: str, after_line: str, language: str) -> FindingFix | None:
    """A one-line change shown as a whole piece of its file's language (widened with context)."""
    file = root / path if root.is_dir() else root
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.split("\n")
    i = line - 1
    if not 0 <= i < len(lines) or lines[i].strip() != quote.strip():
        return None
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    changed = [*lines[:i], indent + after_line.strip(), *lines[i + 1:]]
    before, after = _snippet(text, "\n".join(changed), (i, i + 1, i, i + 1), language)
    if len(before) >= _MAX or len(after) >= _MAX:
        return None
    return FindingFix(before, after, language, False)


def fixes_from_plan(root: Path, result: ScanResult, plan: Any) -> dict[tuple[str, str], FindingFix]:
    """(site id, rule id) -> the before/after for that finding; also (site id, "") for the site.
    `plan` is what `blastwall fix --apply` would do (scanner.remediation.apply.plan_apply)."""
    from scanner.remediation.frameworks import manual_snippet

    out: dict[tuple[str, str], FindingFix] = {}
    hunks = {path: (before, after, _hunks(before, after)) for path, (before, after) in plan.edits.items()}
    rewritten = {s.site_id for s in plan.rewritten}
    sites = {s.site_id: s for s in result.launch_sites}
    explained = getattr(plan, "explained", {})
    for site in result.launch_sites:
        path = site.location.path
        if path in hunks:
            before, after, found = hunks[path]
            hunk = _near(found, site.location.line, slack=1)
            if hunk is None and site.surface in ("compose", "github-workflow", "kubernetes", "agent-config",
                                                 "mcp-config") and found:
                later = [h for h in found if h[0] >= site.location.line - 1]
                hunk = later[0] if later else found[0]
            elif hunk is None and found and site.site_id in rewritten:
                # options set away from the launch (a helper's dict, a constant): the closest edit
                hunk = min(found, key=lambda h: abs(h[0] - (site.location.line - 1)))
            if hunk is not None:
                snippet = _snippet(before, after, hunk, language_of(path, site.surface), found)
                if all(len(s) < _MAX for s in snippet):
                    out[(site.site_id, "")] = FindingFix(*snippet, language_of(path, site.surface), True,
                                                         explained.get(site.site_id, ""))
    for finding in result.findings:
        if finding.suppressed:
            continue
        site = sites.get(finding.site_id)
        path = finding.location.path
        language = language_of(path, site.surface if site else "")
        key = (finding.site_id, finding.rule_id)
        # A code launch's finding takes a rewrite only when that launch was rewritten (a launch left
        # manual may sit a line away from one that was).
        own = site is None or site.site_id in rewritten or site.surface not in _CODE_SURFACES
        if path in hunks and own and finding.rule_id not in _NOT_REWRITTEN:
            before, after, found = hunks[path]
            hunk = _near(found, finding.location.line, slack=0 if finding.rule_id == "agent-model-key-passed" else 1)
            if hunk is not None:
                snippet = _snippet(before, after, hunk, language, found)
                if all(len(s) < _MAX for s in snippet):
                    out[key] = FindingFix(*snippet, language, True, explained.get(finding.site_id, ""))
                    continue
        if finding.rule_id == "agent-model-key-passed":
            name = _key_name(finding, site)
            quote = finding.location.quote
            after_line = _broker_after(quote, name, language, site.surface if site else "")
            out[key] = _in_context(root, path, finding.location.line, quote, after_line, language) or \
                FindingFix(quote, after_line, language, False)
            continue
        if site is not None and (site.site_id, "") not in out:
            table = manual_snippet(site.launcher)
            if table is not None:
                out[(site.site_id, "")] = FindingFix(table[0], table[1], "python", False)
        if site is not None and (site.site_id, "") in out and finding.location.line == site.location.line \
                and site.surface in ("python", "javascript", "shell", "makefile", "package-json", "semgrep") \
                and finding.rule_id in _CALL_LEVEL:
            out[key] = out[(site.site_id, "")]
    return out


def site_snippets(fixes: dict[tuple[str, str], FindingFix]) -> dict[str, tuple[str, str]]:
    """The `fix_snippets` mapping: site id -> (before, after) of the site's own rewrite, and
    "site id#rule id" -> (before, after) for each finding with a fix of its own."""
    out: dict[str, tuple[str, str]] = {}
    for (site_id, rule_id), fix in fixes.items():
        out[f"{site_id}#{rule_id}" if rule_id else site_id] = (fix.before, fix.after)
    return out

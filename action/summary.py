#!/usr/bin/env python3
"""Turn blastwall's JSON and Markdown reports into a job summary or a pull-request comment.

Standard library only: this runs on the runner's Python, outside blastwall's virtualenv.

    summary.py summary --json REPORT.json --markdown REPORT.md --output FILE [options]
    summary.py comment --json REPORT.json --markdown REPORT.md --output BODY.json [options]

`summary` appends Markdown to FILE (the step summary); `comment` writes `{"body": ...}` ready
for the issues-comments API.

Layout, the same for both: the verdict with its counts; WHY IT MATTERS; FIX, one entry per rule
with its before/after and documentation link; the table of the (new) findings; where the
complete report is (the run's artifact); then the Markdown report (its verdict, evidence and
scope) inside <details>. Everything before the <details> is sized by design to fit
GitHub's limits (1 MiB for a step summary, 65,536 characters for a comment): the table has a
fixed number of rows and the fixes a share of the budget. The embedded report is added whole
block by whole block (a paragraph, a table, a list, a code block, a <details> element with its
diagram), never cut inside one; what does not fit is counted in a note.

Everything read from the reports is untrusted text (it quotes lines of the scanned repository):
table cells are escaped so a quote cannot open HTML, break the table, start a link or autolink,
mention anyone or reference an issue or commit, and the embedded report has raw HTML, links,
mentions and references outside code neutralised and its <details> balanced. The escaping is
blastwall's one sanitizer, scanner/output/sanitize.py from the action's checkout.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

from context import VERDICTS as _KNOWN_VERDICTS, is_new  # same folder: action/

MARKER = "<!-- blastwall-report -->"
SUMMARY_LIMIT_BYTES = 1024 * 1024 - 24 * 1024  # GitHub refuses step summaries over 1 MiB
COMMENT_LIMIT_CHARS = 65536 - 1536  # GitHub refuses comments over 65,536 characters
VERDICT_TEXT = {
    "present": "The Shared Identity Runtime pattern is present: an agent runs with the operator's own identity and reach.",
    "unclear": "Unclear: a launch site's containment depends on context outside this repository.",
    "not present": "Not present: every agent launch site found is contained.",
}
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
NOTES = {
    "fork": (
        "This pull request comes from a fork, so its token is read-only: the SARIF was not "
        "uploaded to code scanning. The reports are attached to this run as the artifact `{artifact}`."
    ),
    "read-only": (
        "This run's token is read-only, so the SARIF was not uploaded to code scanning. "
        "The reports are attached to this run as the artifact `{artifact}`."
    ),
}
MAX_CELL = 160

# --------------------------------------------------------------------------------------------
# Escaping: blastwall's one sanitizer, scanner/output/sanitize.py, loaded by its path from the
# action's checkout (this script runs outside blastwall's virtualenv; the file is stdlib-only).


def _load_sanitizer() -> Any:
    path = Path(__file__).resolve().parent.parent / "scanner" / "output" / "sanitize.py"
    spec = importlib.util.spec_from_file_location("blastwall_sanitize", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise SystemExit(f"summary.py: the sanitizer {path} is missing; the action checkout is incomplete")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sanitize = _load_sanitizer()


def escape_cell(value: Any, limit: int = MAX_CELL) -> str:
    """Plain text for one Markdown table cell: no HTML, no Markdown syntax, no link, mention or
    reference (see scanner/output/sanitize.py for the guarantees)."""
    return sanitize.md_cell(value, limit)


def neutralise_markdown(markdown: str) -> str:
    """Make blastwall's own Markdown report safe to embed, without changing its code blocks."""
    return sanitize.neutralise_markdown(markdown)


# --------------------------------------------------------------------------------------------
# Fitting into GitHub's limits


def _cut(markdown: str, budget: int, measure: Callable[[str], int], note: str) -> str:
    """Cut `markdown` at a line boundary so that it plus `note` fits `budget`; close an open
    code block and any <details> the cut leaves open."""
    if measure(markdown) <= budget:
        return markdown
    room = budget - measure(note) - 80
    kept: list[str] = []
    used = 0
    for line in markdown.split("\n"):
        cost = measure(line) + 1
        if used + cost > room:
            break
        kept.append(line)
        used += cost
    text = "\n".join(kept)
    fence, details = sanitize.unclosed(text)
    if fence:
        text += "\n" + fence
    return text.rstrip() + "\n\n" + note + "\n\n</details>" * details


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


# --------------------------------------------------------------------------------------------
# Rendering


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _sort_key(finding: dict[str, Any]) -> tuple[int, str, int, str]:
    return (
        SEVERITY_ORDER.get(str(finding.get("severity", "")).lower(), 9),
        str(finding.get("path", "")),
        _int(finding.get("line")),
        str(finding.get("rule_id", "")),
    )


def load_report(path: str) -> tuple[dict[str, Any], str]:
    """The JSON report, or an empty one with the reason it could not be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
    except (OSError, ValueError) as exc:
        return {}, f"the JSON report could not be read ({type(exc).__name__})"
    if not isinstance(report, dict):
        return {}, "the JSON report is not an object"
    return report, ""


# --------------------------------------------------------------------------------------------
# The parts from the JSON report: WHY and FIX

FIXES_IN_FULL = 3  # fixes shown with their before/after; the rest are named with their link
_DOC_URL = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]+)?/[A-Za-z0-9._~/-]*$")
_LANG = {"python": "python", "javascript": "javascript", "shell": "sh"}


def _doc_link(url: Any) -> str:
    """A rule's page, only for a plain https URL (the JSON is read as untrusted), shown in a code
    span: like every other surface, the summary makes no links."""
    if isinstance(url, str) and len(url) < 300 and _DOC_URL.match(url):
        return "docs: " + sanitize.md_code(url)
    return ""


def why_block(report: dict[str, Any]) -> str:
    why = report.get("why")
    if not isinstance(why, str) or not why.strip():
        return ""
    return "### Why it matters\n\n" + sanitize.md_message(why) + "\n"


def _fix_entry(n: int, fix: dict[str, Any], full: bool, path_prefix: str) -> str:
    rule = sanitize.md_code(str(fix.get("rule_id", "")))
    title = sanitize.md_text(str(fix.get("title", "")))
    count = _int(fix.get("findings"))
    sites = _int(fix.get("launch_sites"))
    severity = escape_cell(fix.get("severity", ""), 16)
    meta = [f"{severity}" if severity else "", f"{count} finding{'' if count == 1 else 's'}" if count else "",
            f"at {sites} launch site{'' if sites == 1 else 's'}" if sites else "", _doc_link(fix.get("help_uri"))]
    head = f"**{n}. {title}** ({rule}) — " + " · ".join(m for m in meta if m)
    if not full:
        return head
    parts = [head, "", sanitize.md_message(str(fix.get("summary", "")))]
    before, after = fix.get("before"), fix.get("after")
    lang = _LANG.get(str(fix.get("language", "")), "")
    if isinstance(fix.get("covered_by"), str) and fix["covered_by"]:
        parts += ["", f"The rewrite under {sanitize.md_code(fix['covered_by'])} covers this too."]
    elif isinstance(before, str) and before and isinstance(after, str):
        if fix.get("rewrite") is True:
            where = str(fix.get("path", ""))
            if path_prefix:
                where = f"{path_prefix}/{where}"
            line = _int(fix.get("line"))
            label = f"Before ({sanitize.md_literal(where)}{f' line {line}' if line else ''}):"
            parts += ["", label, "", sanitize.md_fence(before, lang), "", "After:", "", sanitize.md_fence(after, lang)]
        else:
            parts += ["", "For example, instead of:", "", sanitize.md_fence(before, lang), "", "write:", "",
                      sanitize.md_fence(after, lang)]
    return "\n".join(parts)


def fix_block(report: dict[str, Any], budget: int, measure: Callable[[str], int], path_prefix: str = "") -> str:
    """FIX: the first fixes in full while they fit `budget`, the rest by name and link."""
    fixes = [f for f in report.get("fixes") or [] if isinstance(f, dict)]
    if not fixes:
        return ""
    out = ["### Fix"]
    used = measure(out[0])
    for n, fix in enumerate(fixes[:50], 1):
        entry = _fix_entry(n, fix, n <= FIXES_IN_FULL, path_prefix)
        if n <= FIXES_IN_FULL and used + measure(entry) + 2 > budget:
            entry = _fix_entry(n, fix, False, path_prefix)
        if used + measure(entry) + 2 > budget:
            out.append(f"… and {len(fixes) - n + 1} more: see the full report.")
            break
        out.append(entry)
        used += measure(entry) + 2
    if len(fixes) > 50:
        out.append(f"… and {len(fixes) - 50} more: see the full report.")
    out.append("`blastwall fix` writes sandbox configs tailored to these launch sites.")
    return "\n\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# The embedded report, whole blocks at a time


def blocks(markdown: str) -> list[str]:
    """A (neutralised) Markdown document as whole blocks: runs of lines between blank lines, where
    a fenced code block and a <details> element (with everything in it) are never split, and a
    heading stays with the block after it."""
    lines, _ = sanitize._classify(markdown)
    out: list[list[str]] = []
    current: list[str] = []
    depth = 0
    for item in lines:
        text = item.text
        if item.kind == "text":
            depth += len(re.findall(r"^\s*<details(?:\s+open)?\s*>", text, re.IGNORECASE))
            depth -= len(re.findall(r"</details\s*>", text, re.IGNORECASE))
            depth = max(depth, 0)
        if item.kind == "blank" and depth == 0:
            if current:
                out.append(current)
                current = []
            continue
        current.append(text)
    if current:
        out.append(current)
    merged: list[str] = []
    pending = ""
    for block in out:
        body = "\n".join(block)
        if len(block) == 1 and block[0].startswith("#"):
            pending = (pending + "\n\n" if pending else "") + body  # a heading waits for its content
            continue
        merged.append((pending + "\n\n" if pending else "") + body)
        pending = ""
    return merged


def _sections(markdown: str, drop: set[str]) -> str:
    """The document without the `## ` sections whose titles are in `drop` (outside code)."""
    lines, _ = sanitize._classify(markdown)
    kept: list[str] = []
    skipping = False
    for item in lines:
        if item.kind == "text" and item.text.startswith("## "):
            skipping = item.text[3:].strip() in drop
        if not skipping:
            kept.append(item.text)
    return "\n".join(kept)


def fit_blocks(markdown: str, room: int, measure: Callable[[str], int]) -> tuple[str, int]:
    """As many whole blocks as fit `room`, in order; and how many were left out."""
    parts = blocks(markdown)
    kept: list[str] = []
    used = 0
    for i, block in enumerate(parts):
        cost = measure(block) + 2
        if used + cost > room:
            return "\n\n".join(kept), len(parts) - i
        kept.append(block)
        used += cost
    return "\n\n".join(kept), 0


def _run_url(environ: dict[str, str]) -> str:
    server = environ.get("GITHUB_SERVER_URL", "")
    repo = environ.get("GITHUB_REPOSITORY", "")
    run = environ.get("GITHUB_RUN_ID", "")
    if (re.fullmatch(r"https://[A-Za-z0-9.-]+(?::[0-9]+)?", server) and re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo)
            and re.fullmatch(r"[0-9]{1,20}", run)):
        return f"{server}/{repo}/actions/runs/{run}"
    return ""


def pointer(artifact: str, run_url: str) -> str:
    """Where the complete report is."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", artifact)[:100] or "blastwall"
    where = f"the artifact `{name}` of [this run]({run_url})" if run_url else f"the artifact `{name}` of this run"
    return (f"The complete report (Markdown, SARIF and JSON) is {where}, and the `markdown-file` output of the "
            "blastwall step; code scanning holds every alert.")



def render(
    report: dict[str, Any],
    markdown: str,
    *,
    new_only: bool,
    fail_on: str,
    note: str,
    exit_code: str = "",
    path_prefix: str = "",
    max_rows: int,
    budget: int,
    measure: Callable[[str], int],
    header: str = "",
    artifact: str = "",
    run_url: str = "",
) -> str:
    verdict = report.get("verdict")
    if verdict not in _KNOWN_VERDICTS:
        verdict = "unknown"
    findings = [f for f in report.get("findings") or [] if isinstance(f, dict)]
    shown = sorted((f for f in findings if is_new(f)), key=_sort_key)
    suppressed = sum(1 for f in findings if f.get("suppressed"))
    sites = report.get("launch_sites")
    site_count = len(sites) if isinstance(sites, list) else 0

    parts = [header] if header else []
    parts.append(f"## blastwall verdict: **{verdict}**\n")
    if verdict in VERDICT_TEXT:
        parts.append(VERDICT_TEXT[verdict] + "\n")
    else:
        parts.append("The scan did not produce a readable verdict; see the job log.\n")
    kind = "new finding" if new_only else "finding"
    counts = f"{len(shown)} {kind}{'' if len(shown) == 1 else 's'}"
    if new_only:
        new_sites = len({str(f.get("launch_site", "")) for f in shown})
        counts += f" at {new_sites} launch site{'' if new_sites == 1 else 's'} ({site_count} in the repository)"
    else:
        counts += f" at {site_count} launch site{'' if site_count == 1 else 's'}"
    if suppressed:
        counts += f"; {suppressed} suppressed"
    counts += "."
    if fail_on in ("present", "unclear", "never") and exit_code in ("0", "1"):
        counts += (
            f" The step fails: the verdict reaches `fail-on: {fail_on}`."
            if exit_code == "1"
            else f" The step passes (`fail-on: {fail_on}`)."
        )
    parts.append(counts + "\n")
    if note:
        parts.append(f"> [!NOTE]\n> {note}\n")
    notes = [n for n in report.get("review_notes") or [] if isinstance(n, dict)]
    if notes:
        items = []
        for item in notes[:max_rows]:
            where = str(item.get("path", ""))
            if path_prefix:
                where = f"{path_prefix}/{where}"
            line = _int(item.get("line"))
            items.append(f"- {escape_cell(where + (f':{line}' if line else ''), 120)}: {escape_cell(item.get('text', ''))}")
        if len(notes) > max_rows:
            items.append(f"- … and {len(notes) - max_rows} more in the full report.")
        parts.append("**Changes to blastwall's own configuration in this diff** (ignores and settings):\n\n"
                     + "\n".join(items) + "\n")
    why = why_block(report)
    if why:
        parts.append(why)

    table = ""
    if shown:
        rows = ["| Severity | Rule | Location | Line |", "| --- | --- | --- | --- |"]
        for finding in shown[:max_rows]:
            location = str(finding.get("path", ""))
            if path_prefix:
                location = f"{path_prefix}/{location}"
            line = _int(finding.get("line"))
            if line:
                location += f":{line}"
            rows.append(
                "| "
                + " | ".join(
                    (
                        escape_cell(finding.get("severity", ""), 16),
                        escape_cell(finding.get("rule_id", ""), 80),
                        escape_cell(location, 120),
                        escape_cell(finding.get("quote", "")),
                    )
                )
                + " |"
            )
        if len(shown) > max_rows:
            rows.append(f"\n… and {len(shown) - max_rows} more in the full report and the SARIF.")
        title = "### New findings" if new_only else "### Findings"
        table = title + "\n\n" + "\n".join(rows) + "\n"

    tail = "\n" + pointer(artifact, run_url) + "\n"
    head = "\n".join(parts)
    # FIX gets up to a third of what the table leaves; the embedded report the rest.
    fixes = fix_block(report, max(0, (budget - measure(head) - measure(table) - measure(tail)) // 3), measure,
                      path_prefix)
    if fixes:
        head += "\n" + fixes
    if table:
        head += "\n" + table

    opening = "<details>\n<summary>Full blastwall report</summary>\n\n"
    closing = "\n\n</details>\n"
    cut_note = (
        "*The report was cut here to fit GitHub's size limit ({left} more block{s} left out, none cut in the middle); "
        "the complete report is named above.*"
    )
    room = budget - measure(head) - measure(opening) - measure(closing) - measure(tail) - measure(cut_note) - 16
    if room < 1024:  # the parts above already fill the budget: no report
        return head + tail
    drop = set()
    if why:
        drop.add("3. WHY IT MATTERS")
    if fixes:
        drop.add("4. FIX")
    body, left = fit_blocks(neutralise_markdown(_sections(markdown, drop)).strip(), room, measure)
    if left:
        body = (body + "\n\n" if body else "") + cut_note.format(left=left, s="" if left == 1 else "s")
    return head + tail + "\n" + opening + body + closing


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("summary", "comment"))
    parser.add_argument("--json", required=True, help="blastwall's JSON report")
    parser.add_argument("--markdown", required=True, help="blastwall's Markdown report")
    parser.add_argument("--output", required=True, help="summary: file to append; comment: JSON body to write")
    parser.add_argument("--fail-on", default="")
    parser.add_argument("--exit-code", default="", help="the scan's exit code (0 or 1)")
    parser.add_argument("--path-prefix", default="", help="the scanned folder, relative to the repository root")
    parser.add_argument("--new-only", default="false", choices=("true", "false"))
    parser.add_argument("--note", default="", choices=("", *NOTES))
    parser.add_argument("--artifact", default="blastwall")
    parser.add_argument("--category", default="blastwall")
    args = parser.parse_args(argv)

    report, problem = load_report(args.json)
    try:
        with open(args.markdown, encoding="utf-8", errors="replace") as handle:
            markdown = handle.read()
    except OSError:
        markdown = "*The Markdown report could not be read.*"
    if problem:
        markdown = f"*{problem}.*\n\n" + markdown
    artifact = re.sub(r"[^A-Za-z0-9._-]", "-", args.artifact)[:100]
    note = NOTES[args.note].format(artifact=artifact) if args.note else ""
    common = {"new_only": args.new_only == "true", "fail_on": args.fail_on, "note": note, "exit_code": args.exit_code,
              "path_prefix": args.path_prefix.strip("/")}

    common["artifact"] = artifact
    common["run_url"] = _run_url(dict(os.environ))
    if args.mode == "summary":
        text = render(report, markdown, max_rows=200, budget=SUMMARY_LIMIT_BYTES, measure=_bytes, **common)
        with open(args.output, "a", encoding="utf-8") as handle:
            handle.write(text)
    else:
        category = re.sub(r"[^A-Za-z0-9._/:-]", "-", args.category)[:100]
        header = f"{MARKER}\n<!-- blastwall-category: {category} -->"
        text = render(report, markdown, max_rows=50, budget=COMMENT_LIMIT_CHARS, measure=len, header=header, **common)
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump({"body": text}, handle, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Turn blastwall's JSON and Markdown reports into a job summary or a pull-request comment.

Standard library only: this runs on the runner's Python, outside blastwall's virtualenv.

    summary.py summary --json REPORT.json --markdown REPORT.md --output FILE [options]
    summary.py comment --json REPORT.json --markdown REPORT.md --output BODY.json [options]

`summary` appends Markdown to FILE (the step summary); `comment` writes `{"body": ...}` ready
for the issues-comments API. Layout: the verdict first, then a table of the (new) findings,
then the full Markdown report inside <details>. The result stays under GitHub's limits (1 MiB
for a step summary, 65,536 characters for a comment): long tables and reports are cut, with a
note saying so.

Everything read from the reports is untrusted text (it quotes lines of the scanned repository):
table cells are escaped so a quote cannot open HTML, break the table, start a link or mention
anyone, and the embedded report has raw HTML and @-mentions outside code neutralised.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
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
# Escaping


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CELL_PUNCT = re.compile(r"([\\`*_\[\]()!~|#{}])")
_MENTION = re.compile(r"(?<![\w@])@(?=[A-Za-z0-9])")


def escape_cell(value: Any, limit: int = MAX_CELL) -> str:
    """Plain text for one Markdown table cell: no HTML, no Markdown syntax, no mentions."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub("", text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = _CELL_PUNCT.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A zero-width space after @ stops GitHub from turning `@name` into a mention.
    return _MENTION.sub("@\u200b", text)


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ALLOWED_TAG = re.compile(r"</?(?:details|summary|br|sub|sup|kbd|b|i|em|strong)\s*/?>|<details open>", re.IGNORECASE)


def _neutralise_text(text: str) -> str:
    """Outside code: escape '<' unless it starts one of a few harmless tags; defuse mentions."""
    out = []
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:lt])
        tag = _ALLOWED_TAG.match(text, lt)
        if tag:
            out.append(tag.group(0))
            pos = tag.end()
        else:
            out.append("&lt;")
            pos = lt + 1
    return _MENTION.sub("@\u200b", "".join(out))


def _neutralise_line(line: str) -> str:
    """Leave inline code spans alone; neutralise the text between them."""
    out = []
    pos = 0
    while pos < len(line):
        tick = line.find("`", pos)
        if tick < 0:
            out.append(_neutralise_text(line[pos:]))
            break
        out.append(_neutralise_text(line[pos:tick]))
        run_end = tick
        while run_end < len(line) and line[run_end] == "`":
            run_end += 1
        run = line[tick:run_end]
        close = re.compile(r"(?<!`)" + re.escape(run) + r"(?!`)").search(line, run_end)
        if close is None:  # a lone backtick run is literal text
            out.append(run)
            pos = run_end
        else:
            out.append(line[tick : close.end()])
            pos = close.end()
    return "".join(out)


def neutralise_markdown(markdown: str) -> str:
    """Make blastwall's own Markdown report safe to embed, without changing its code blocks."""
    markdown = _CONTROL.sub("", markdown.replace("\r\n", "\n").replace("\t", "    "))
    lines = []
    fence = ""
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            lines.append(line)
        elif match:
            fence = match.group(1)
            lines.append(line)
        else:
            lines.append(_neutralise_line(line))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Fitting into GitHub's limits


def _cut(markdown: str, budget: int, measure: Callable[[str], int], note: str) -> str:
    """Cut `markdown` at a line boundary so that it plus `note` fits `budget`; close open fences."""
    if measure(markdown) <= budget:
        return markdown
    room = budget - measure(note) - 16
    kept: list[str] = []
    used = 0
    fence = ""
    for line in markdown.split("\n"):
        cost = measure(line) + 1
        if used + cost > room:
            break
        kept.append(line)
        used += cost
        match = _FENCE.match(line)
        if match:
            if not fence:
                fence = match.group(1)
            elif match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
    if fence:
        kept.append(fence)
    return "\n".join(kept).rstrip() + "\n\n" + note


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
        parts.append("\n".join(rows) + "\n")

    head = "\n".join(parts)
    opening = "<details>\n<summary>Full blastwall report</summary>\n\n"
    closing = "\n\n</details>\n"
    cut_note = (
        "*The report was cut here to fit GitHub's size limit; the complete report is the "
        "`markdown-file` output of the blastwall step and is in the SARIF.*"
    )
    room = budget - measure(head) - measure(opening) - measure(closing) - 2
    if room < 2048:  # the table alone is too large: drop rows until the report fits
        return _cut(head, budget, measure, cut_note) + "\n"
    body = _cut(neutralise_markdown(markdown).strip(), room, measure, cut_note)
    return head + "\n" + opening + body + closing


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

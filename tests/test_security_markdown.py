"""Report injection: repository text shown on a Markdown surface (the Markdown report, the job
summary, the pull-request comment) stays text.

Every surface is rendered with a real GFM renderer, markdown-it-py's `gfm-like` preset (tables,
raw HTML, linkify with fuzzy links: it links more than GitHub does), and the HTML is read back:
no element comes from repository text, no link, tables keep their shape, `<details>` stays
balanced. What GitHub does beyond Markdown is emulated on top: its text filters (mentions,
issue references, commit SHAs) on the rendered text outside code, and cmark-gfm's inline
autolink triggers (`scheme://`, `www.`) on the Markdown source.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from scanner.catalog import load_catalog
from scanner.engine import ScanOptions, scan
from scanner.model import ReviewNote, ScanResult
from scanner.output import sanitize
from scanner.output.json_report import to_dict
from scanner.output.markdown import render_markdown
from scanner.output.sanitize import ZWSP, md_cell, md_code, md_literal, md_message, md_named, md_text, neutralise_markdown

ROOT = Path(__file__).resolve().parents[1]
ACTION_DIR = ROOT / "action"
FIXTURE = ROOT / "fixtures" / "repos" / "py-inline-claude"

# --------------------------------------------------------------------------------------------
# Hostile inputs

HOSTILE = [
    "evil|name.py",
    "a|b|c|d|e.py",
    "`whoami`.sh",
    "``double``",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "](javascript:alert(1))",
    "[click](https://evil.example)",
    "![img](https://evil.example/x.png)",
    "evil\nname\r\n.py",
    "</details>",
    "<details open>",
    "<!-- blastwall-report -->",
    "<!--",
    "\u202eevil\u202c.py \u2066x\u2069",
    "www.evil.example.py",
    "https://evil.example",
    "<https://evil.example>",
    "HTTP://EVIL.EXAMPLE/x",
    "//evil.example",
    "mailto:me@evil.example",
    "me@evil.example",
    "@org/team",
    "@octocat",
    "#123",
    "GH-5",
    "gh-77",
    "owner/repo#1",
    "owner/repo@3d3c42e5aac5ba805825da76410c181273ba90b1",
    "3d3c42e5aac5ba805825da76410c181273ba90b1",
    "deadbeefcafe",
    "&commat;octocat &num;12 &#64;x &#35;9 &lt;img&gt;",
    "$\\href{javascript:alert(1)}{x}$",
    "[^1]\n\n[^1]: https://evil.example",
    "[x]: https://evil.example",
    "- [ ] task",
    "# heading",
    "1. list",
    "---",
    "> quote",
    "    indented",
    "a\\|b\\\\|c",
    "`a``<img src=x onerror=alert(1)>`",
    "*em* _em_ **b** ~~s~~",
    "\x1b[31mred\x1b[0m \x07 \x00",
    "\u200bhidden\u2060zero\ufeffwidth",
    "sub/www.evil.example.py:2",
    "x <b>bold</b> <kbd>k</kbd> <code>c</code> <br>",
]

_PIECES = [
    "|", "`", "``", "\\", "\n", "<", ">", "&", "[", "]", "(", ")", "!", "*", "_", "~", "#", "@", ":", "/", ".", "-",
    "$", " ", "  ", "a", "7", "www.", "https://", "evil.example", ".py", "@org/team", "#12", "GH-5", "owner/repo",
    "</details>", "<details>", "<img src=x onerror=alert(1)>", "](javascript:x)", "<!--", "-->", "\u202e", "\u200b",
    "deadbeef1234567", "&#64;", "&commat;", "mailto:", "me@evil.example", "\x1b[2J", "\t", "\r",
]
HOSTILE_TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(_PIECES + HOSTILE), max_size=12).map("".join),
)


def _path(text: str) -> str:
    """A path the data model accepts (relative POSIX), still hostile."""
    return text.replace("\\", "").lstrip("/") or "x"  # backslashes first: "\\/" must not leave "/"


# --------------------------------------------------------------------------------------------
# Rendering and reading back


def gfm() -> MarkdownIt:
    return MarkdownIt("gfm-like")  # table, strikethrough, raw HTML, linkify (fuzzy)


FORBIDDEN = {"a", "img", "script", "iframe", "style", "svg", "math", "object", "embed", "form", "input", "video",
             "audio", "source", "link", "meta", "base", "picture", "textarea", "button", "select", "frame", "frameset"}


class Page(HTMLParser):
    """The rendered HTML: its tags, its text outside code, its tables, its <details> nesting."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.prose: list[str] = []  # text where GitHub's filters look: outside code, pre and links
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.details_depth = 0
        self.details_ok = True
        self.codes: list[str] = []  # the text of each <code> element, in order
        self.headings: list[str] = []  # the text of each <h3> (the evidence groups files under them)
        self._skip = 0
        self._cell: list[str] | None = None
        self._code: list[str] | None = None
        self._heading: list[str] | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.prose.append("\n")  # GitHub's filters read one text node at a time
        if tag == "code":
            self._code = []
        if tag == "h3":
            self._heading = []
        if tag in ("code", "pre", "a"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "details":
            self.details_depth += 1

    def handle_endtag(self, tag: str) -> None:
        self.prose.append("\n")
        if tag == "code" and self._code is not None:
            self.codes.append("".join(self._code))
            self._code = None
        if tag == "h3" and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None
        if tag in ("code", "pre", "a"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "details":
            self.details_depth -= 1
            self.details_ok &= self.details_depth >= 0

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._code is not None:
            self._code.append(data)
        if self._heading is not None:
            self._heading.append(data)
        if not self._skip:
            self.prose.append(data)
        if self._cell is not None:
            self._cell.append(data)


def render(markdown: str) -> Page:
    return Page(gfm().render(markdown))


_GITHUB_FILTERS = {
    "mention": re.compile(r"@(?!\u200b)"),  # every @ outside code is followed by U+200B
    "issue reference": re.compile(r"#[A-Za-z0-9]"),
    "GH- reference": re.compile(r"(?<![0-9A-Za-z])GH-[0-9]", re.I),
    "commit SHA": re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{7,}(?![0-9A-Za-z])"),
}
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def github_autolink_triggers(markdown: str) -> list[str]:
    """Where cmark-gfm's inline autolink extension would start a link in `markdown`: a raw
    `http(s)://`/`ftp://` or a `www.` after a space, `*`, `_`, `~`, `(` or the line start,
    outside code spans and backslash escapes (it reads the source, before escapes are undone)."""
    hits = []
    for token in gfm().parse(markdown):
        if token.type != "inline":
            continue
        src = token.content
        i = 0
        while i < len(src):
            ch = src[i]
            if ch == "\\" and i + 1 < len(src) and src[i + 1] in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~":
                i += 2
                continue
            if ch == "`":
                run = re.match(r"`+", src[i:]).group()
                close = re.compile(r"(?<!`)" + run + r"(?!`)").search(src, i + len(run))
                if close:
                    i = close.end()
                    continue
                i += len(run)
                continue
            if ch == ":" and src[i + 1 : i + 3] == "//" and re.search(r"(?i)(?:https?|ftp)$", src[:i]):
                hits.append(src[max(0, i - 8) : i + 20])
            if src.startswith("www.", i) and (i == 0 or src[i - 1] in " \t*_~("):
                hits.append(src[i : i + 20])
            i += 1
    return hits


def assert_safe(markdown: str, page: Page | None = None, *, tags: set[str] | None = None) -> Page:
    """Nothing in `markdown` would link, ping, reference or inject when GitHub renders it."""
    page = page or render(markdown)
    found = set(page.tags)
    assert not found & FORBIDDEN, f"forbidden elements {found & FORBIDDEN}"
    if tags is not None:
        assert found <= tags, f"unexpected elements {found - tags}"
    prose = "".join(page.prose)
    for name, pattern in _GITHUB_FILTERS.items():
        match = pattern.search(prose)
        assert not match, f"{name} outside code: {prose[max(0, match.start() - 30) : match.end() + 30]!r}"
    assert not _INVISIBLE.search("".join(page.text)), "control or bidi character in the rendered text"
    assert page.details_ok and page.details_depth == 0, "unbalanced <details>"
    assert not github_autolink_triggers(markdown), github_autolink_triggers(markdown)
    return page


def shown(text: str) -> str:
    """Rendered cell text compared with what it should show: no U+200B, whitespace collapsed."""
    return " ".join(text.replace(ZWSP, "").split())


# --------------------------------------------------------------------------------------------
# Realistic report objects: a real scan, with repository text swapped for hostile text


_BASE: list[ScanResult] = []


def _base() -> ScanResult:
    if not _BASE:
        _BASE.append(scan(FIXTURE, ScanOptions(jobs=1)))
        assert _BASE[0].findings and _BASE[0].launch_sites
    return _BASE[0]


@pytest.fixture(scope="module")
def base_result() -> ScanResult:
    return _base()


def hostile_result(base: ScanResult, path: str, quote: str, extra: str = "") -> ScanResult:
    """`base` with every path, quoted line and repo value in a message replaced by hostile text."""
    path = _path(path)

    def loc(location):  # type: ignore[no-untyped-def]
        return dataclasses.replace(location, path=path, quote=quote)

    findings = tuple(
        dataclasses.replace(f, location=loc(f.location), message=f"{f.message} `{extra}` {extra}",
                            suppressed=extra if i == 0 and extra else f.suppressed)
        for i, f in enumerate(base.findings)
    )
    sites = tuple(dataclasses.replace(s, location=loc(s.location), launcher=f"{s.launcher} {extra}")
                  for s in base.launch_sites)
    return dataclasses.replace(
        base, findings=findings, launch_sites=sites, needs_context=(f"{extra} `{quote}`",),
        review_notes=(ReviewNote(path, 3, quote),),
    )


def _evidence_file(page: Page, path: str) -> str:
    """The evidence heading that groups a file's sites: the path, whole, as code."""
    matches = [h for h in page.headings if shown(h) == shown(sanitize.plain(path))]
    assert len(matches) == 1, page.headings
    return matches[0]


def check_report(path: str, quote: str, extra: str = "") -> Page:
    """The report on hostile text: safe, with the same elements as on benign text, and every
    finding's path and quoted line in its own cells."""
    result = hostile_result(_base(), path, quote, extra)
    markdown = render_markdown(result, load_catalog())
    # (An empty quote or message changes the report's wording, so the benign text is empty there too.)
    benign = render_markdown(hostile_result(_base(), "src/agent.py", "agent --flag" if quote else "",
                                            "ok" if extra else ""), load_catalog())
    page = assert_safe(markdown)
    expected = Page(gfm().render(benign))
    for tag in set(page.tags) | set(expected.tags):  # the same structure, element for element
        if tag != "code":  # (a message's code spans depend on the backticks in its text)
            assert page.tags.count(tag) == expected.tags.count(tag), tag
    _evidence_file(page, result.findings[0].location.path)  # each file under its own heading, whole
    if quote.strip():  # the quoted line shown once, whole, as one code element
        assert shown(sanitize.plain(quote)) in [shown(c) for c in page.codes]
    for table in page.tables:  # every table keeps its shape: repo text never adds a column
        assert len({len(row) for row in table}) == 1, table
    return page


def summary_module() -> Any:
    spec = importlib.util.spec_from_file_location("blastwall_action_summary_security", ACTION_DIR / "summary.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ACTION_DIR))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ACTION_DIR))
    return module


SUMMARY = summary_module()


def check_summary(result: ScanResult, prefix: str = "", comment: bool = False) -> Page:
    report = to_dict(result)
    markdown = render_markdown(result, load_catalog())
    kwargs: dict[str, Any] = (
        {"max_rows": 50, "budget": SUMMARY.COMMENT_LIMIT_CHARS, "measure": len, "header": SUMMARY.MARKER}
        if comment else {"max_rows": 200, "budget": SUMMARY.SUMMARY_LIMIT_BYTES, "measure": SUMMARY._bytes}
    )
    text = SUMMARY.render(report, markdown, new_only=False, fail_on="present", note="", exit_code="1",
                          path_prefix=prefix, **kwargs)
    page = assert_safe(text)
    tables = [t for t in page.tables if t and t[0] == ["Severity", "Rule", "Location", "Line"]]
    assert len(tables) == 1
    shown_findings = sorted((f for f in report["findings"] if not f["suppressed"]), key=SUMMARY._sort_key)
    assert len(tables[0]) == 1 + len(shown_findings)
    for row, finding in zip(tables[0][1:], shown_findings):
        assert len(row) == 4, row
        where = f"{prefix}/{finding['path']}" if prefix else finding["path"]
        assert shown(row[2]) == shown(_cell_text(f"{where}:{finding['line']}", 120))
        assert shown(row[3]) == shown(_cell_text(finding["quote"], SUMMARY.MAX_CELL))
    assert text.startswith(SUMMARY.MARKER) == comment
    return page


def _cell_text(value: str, limit: int) -> str:
    """What a summary cell shows for `value`: one line, controls dropped, cut at `limit`."""
    text = sanitize._CONTROL.sub("", value.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------------------------
# The sanitizer itself, in every inline position


@pytest.mark.parametrize("text", HOSTILE)
def test_inline_helpers_render_as_text_in_every_position(text: str) -> None:
    for position in ("{}", "- {}", "### {}", "x {} y", "> {}"):
        for helper in (md_text, md_code, md_literal, md_message, md_cell):
            markdown = position.format(helper(text))
            page = assert_safe(markdown, tags={"p", "ul", "li", "h3", "code", "blockquote"})
            if helper in (md_code, md_literal):
                assert page.tags.count("code") == 1
            if helper is md_text and position == "x {} y":  # prose shows the text, controls made visible
                assert shown("".join(page.text)) == shown(f"x {sanitize.plain(text)} y")


@pytest.mark.parametrize("text", HOSTILE)
def test_a_quoted_name_from_the_repository_is_one_code_span(text: str) -> None:
    """Site titles quote a repository's name (MCP server `github`): the name renders as one
    code span, whatever backticks it holds, and the prose around it as text."""
    for position in ("{}", "- {}", "### {}", "x {} y"):
        markdown = position.format(md_named(f"MCP server `{text}` via the MCP client"))
        page = assert_safe(markdown, tags={"p", "ul", "li", "h3", "code"})
        assert page.tags.count("code") == 1
        if position == "x {} y":
            assert shown("".join(page.text)).replace(" ", "") == \
                shown(f"x MCP server {sanitize.plain(text)} via the MCP client y").replace(" ", "")


def test_a_title_without_a_quoted_name_is_prose() -> None:
    assert md_named("Claude Code via subprocess.run") == md_text("Claude Code via subprocess.run")
    assert md_named("MCP server `github`") == "MCP server `github`"


@pytest.mark.parametrize("text", HOSTILE)
def test_table_cells_keep_the_table_shape(text: str) -> None:
    markdown = "| a | b | c |\n|---|---|---|\n" + f"| {md_cell(text)} | {md_literal(text)} | {md_text(text)} |\n"
    page = assert_safe(markdown, tags={"table", "thead", "tbody", "tr", "th", "td", "code"})
    assert len(page.tables) == 1 and len(page.tables[0]) == 2
    row = page.tables[0][1]
    assert len(row) == 3, row
    assert shown(row[0]) == shown(_cell_text(text, 160))
    assert shown(row[1]) == shown(row[2]) == shown(sanitize.plain(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=HOSTILE_TEXT, b=HOSTILE_TEXT)
def test_random_cells_keep_the_table_shape_and_make_no_elements(a: str, b: str) -> None:
    markdown = ("| path | quote | code |\n|---|---|---|\n"
                f"| {md_cell(a)} | {md_text(b)} | {md_literal(b)} |\n| {md_literal(a)} | {md_cell(b)} | x |\n")
    page = assert_safe(markdown, tags={"table", "thead", "tbody", "tr", "th", "td", "code"})
    assert [len(r) for r in page.tables[0]] == [3, 3, 3]
    assert shown(page.tables[0][1][0]) == shown(_cell_text(a, 160))
    assert shown(page.tables[0][1][1]) == shown(page.tables[0][1][2]) == shown(sanitize.plain(b))
    assert shown(page.tables[0][2][0]) == shown(sanitize.plain(a))


def test_known_cases() -> None:
    assert md_cell("www.evil.example.py:2") == "www\\.evil\\.example\\.py:2"
    assert md_cell("src/agent.py:12") == "src/agent.py:12"  # a path segment is left readable
    assert md_cell("#123 GH-5 @x") == "\\#\u200b123 GH-\u200b5 @\u200bx"
    assert md_literal("a|b") == "<code>a\\|b</code>" and md_literal("a b") == "`a b`"
    assert sanitize.plain("\u202e\u200b") == "\\u202e\\u200b"


# --------------------------------------------------------------------------------------------
# The Markdown report


@pytest.mark.parametrize("text", HOSTILE)
def test_report_with_hostile_names_and_lines(base_result: ScanResult, text: str) -> None:
    check_report(f"dir/{text}", f"claude -p {text}", text)


def test_report_pipe_in_a_file_name_stays_in_its_cell(base_result: ScanResult) -> None:
    page = check_report("a|b|<img src=x>|c.py", "x | y | z")
    assert shown(_evidence_file(page, "a|b|<img src=x>|c.py")) == "a|b|<img src=x>|c.py"
    assert "x | y | z" in [shown(c) for c in page.codes]
    # the summary table names the deciding site's file in one cell, pipes and all
    assert any(shown(cell).startswith("a|b|<img src=x>|c.py") for table in page.tables for row in table for cell in row) \
        or any(shown(c).startswith("a|b|<img src=x>|c.py") for c in page.codes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(path=HOSTILE_TEXT, quote=HOSTILE_TEXT, extra=HOSTILE_TEXT)
def test_report_with_random_repository_text(base_result: ScanResult, path: str, quote: str, extra: str) -> None:
    check_report(path, quote, extra)


# --------------------------------------------------------------------------------------------
# The job summary and the pull-request comment (action/summary.py)


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("comment", [False, True], ids=["summary", "comment"])
def test_summary_and_comment_with_hostile_text(base_result: ScanResult, text: str, comment: bool) -> None:
    result = hostile_result(base_result, path=text, quote=f"run {text} now", extra=text)
    check_summary(result, prefix="sub", comment=comment)
    check_summary(result, comment=comment)


def test_summary_cells_from_the_brief(base_result: ScanResult) -> None:
    result = hostile_result(base_result, path="www.evil.example.py", quote="see https://evil.example #123 GH-5 @org/team")
    page = check_summary(result)
    assert "https://evil.example" in "".join(page.text)  # still shown, as text
    assert "www.evil.example.py:" in "".join(page.text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(path=HOSTILE_TEXT, quote=HOSTILE_TEXT, extra=HOSTILE_TEXT, prefix=HOSTILE_TEXT, comment=st.booleans())
def test_summary_with_random_repository_text(base_result: ScanResult, path: str, quote: str, extra: str,
                                             prefix: str, comment: bool) -> None:
    check_summary(hostile_result(base_result, path, quote, extra), prefix=_path(prefix).strip("/"), comment=comment)


# --------------------------------------------------------------------------------------------
# Embedding a Markdown document that did not come through the sanitizer (an older blastwall,
# or a bug): neutralise_markdown is the second line of defence


RAW_ATTACKS = {
    "html": "x <img src=x onerror=alert(1)> <script>alert(1)</script> <!-- c -->",
    "escaped backtick opens no span": "\\`<img src=x onerror=alert(1)>`",
    "html block after details": "<details>\n`<img src=x onerror=alert(1)>`\n</details>",
    "table splits a code span": "| a | b |\n|---|---|\n| `x|<img src=x onerror=alert(1)>` | y |",
    "list fence closed by the list": "- item\n  ```\n<img src=x onerror=alert(1)>\n",
    "backtick info string is no fence": "```x`\n<img src=x onerror=alert(1)>\n",
    "a fence after an inline tag": "<b>x</b> y\n```\n<img src=x onerror=alert(1)>\n",
    "stray closing details": "</details>\n\n<img src=x>\n\n</details></details>",
    "unclosed details": "<details>\n<summary>s</summary>\n\n<details open>\n\ntext",
    "entities spell a mention": "&commat;octocat &num;12 &#64;x &#x23;3",
    "links and images": "[x](https://evil.example) ![i](https://evil.example/i.png) [r][1]\n\n[1]: https://evil.example",
    "autolinks": "https://evil.example www.evil.example <https://evil.example> me@evil.example",
    "references": "@octocat @org/team #123 GH-5 owner/repo#1 3d3c42e5aac5ba805825da76410c181273ba90b1",
}


@pytest.mark.parametrize("markdown", RAW_ATTACKS.values(), ids=RAW_ATTACKS.keys())
def test_neutralise_markdown_defuses_raw_markdown(markdown: str) -> None:
    body = neutralise_markdown(markdown)
    embedded = f"<details>\n<summary>Full report</summary>\n\n{body}\n\n</details>\n\nafter"
    page = render(embedded)
    assert not set(page.tags) & FORBIDDEN, (body, page.tags)
    assert page.details_ok and page.details_depth == 0, body
    prose = "".join(page.prose)
    assert not re.search(r"@[A-Za-z0-9]|#[0-9]|GH-[0-9]|[0-9a-f]{7}", prose), prose
    assert not github_autolink_triggers(embedded)


def test_neutralise_markdown_keeps_code_and_our_tags() -> None:
    report = ("## 1. VERDICT\n\n`<kept>` and `a|b` in a paragraph\n\n```sh\n<kept in a fence> @x #1\n```\n\n"
              "<details><summary>Diagram</summary>\n\n```mermaid\nflowchart LR\n```\n\n</details>\n")
    body = neutralise_markdown(report)
    assert "`<kept>`" in body and "`a|b`" in body and "<kept in a fence> @x #1" in body
    assert body.count("<details>") == 1 and body.count("</details>") == 1
    page = render(body)
    assert page.tags.count("details") == 1 and "pre" in page.tags


_BLOCKS = ["\n", "\n\n", "```", "~~~", "\n```\n", "\n  ```", "| a | b |\n|---|---|\n", "\n- ", "\n> ", "\n1. ",
           "\n    ", "\n<b>", "\n<details>\n", "\n</details>\n"]


@settings(max_examples=200, deadline=None)
@given(markdown=st.lists(st.sampled_from(_PIECES + HOSTILE + _BLOCKS), max_size=30).map("".join))
def test_neutralise_markdown_on_random_documents(markdown: str) -> None:
    body = neutralise_markdown(markdown)
    page = render(f"<details>\n<summary>r</summary>\n\n{body}\n\n</details>\n")
    assert not set(page.tags) & FORBIDDEN, (markdown, body)
    assert page.details_ok and page.details_depth == 0, (markdown, body)


def test_a_cut_report_closes_its_code_block_and_details() -> None:
    markdown = "## r\n\n<details><summary>x</summary>\n\n```sh\n" + "line @x <img src=x>\n" * 5000 + "```\n\n</details>\n"
    body = SUMMARY._cut(neutralise_markdown(markdown), 4000, len, "*cut*")
    page = assert_safe(f"<details>\n<summary>s</summary>\n\n{body}\n\n</details>\n")
    assert page.tags.count("details") == 2 and "em" in page.tags  # the note is outside the code block


# --------------------------------------------------------------------------------------------
# summary.py shares the sanitizer without blastwall installed


def test_summary_script_runs_without_the_package(tmp_path: Path, base_result: ScanResult) -> None:
    result = hostile_result(base_result, path="evil|www.evil.example.py", quote="<img src=x> @octocat #1")
    (tmp_path / "r.json").write_text(json.dumps(to_dict(result)), encoding="utf-8")
    (tmp_path / "r.md").write_text(render_markdown(result, load_catalog()), encoding="utf-8")
    out = tmp_path / "summary.md"
    # -S -E -s: no site-packages (so no blastwall, editable or not), no PYTHONPATH, no user site.
    proc = subprocess.run([sys.executable, "-S", "-E", "-s", str(ACTION_DIR / "summary.py"), "summary", "--json",
                           str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md"), "--output", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("## blastwall verdict: **present**")
    assert_safe(text)
    assert SUMMARY.sanitize.md_cell is not None and SUMMARY.escape_cell("a|b") == md_cell("a|b")

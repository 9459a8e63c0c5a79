"""Make repo-controlled text safe to show: no terminal escapes, no Markdown or HTML injection.

This is the one sanitizer behind every surface that shows repository text: the terminal and
SARIF (`plain`), the Markdown report (scanner/output/markdown.py), and the GitHub job summary
and pull-request comment (action/summary.py). That script runs on the runner's own Python,
outside blastwall's virtualenv, and loads this file by its path: keep it standard library
only, importing nothing from `scanner`.

What the Markdown helpers guarantee for ANY input string, when their output is placed in an
inline position (paragraph, list item, heading or table cell) of a GitHub-flavoured Markdown
document and rendered by GitHub (cmark-gfm, then GitHub's reference filters) or by a
CommonMark/GFM renderer with linkify:

- no HTML element, link, image, autolink (`https://…`, `www.…`, `a@b.example`, bare domains),
  emphasis, heading, list, math or footnote comes from the text: it renders as characters;
- the text stays on its line and in its table cell: a `|` never adds a column, a newline is
  shown as `\\n`, a backtick never closes a code span early;
- outside code, GitHub's text filters find no `@user` or `@org/team` mention, no `#123`,
  `GH-5` or `owner/repo#1` reference and no commit SHA: an invisible U+200B ZERO WIDTH SPACE
  breaks each one (inside code spans GitHub links nothing, so code is left exact);
- control characters (ANSI escapes, bidi overrides, zero-width and other invisible characters,
  line separators, lone surrogates) are made visible as `\\xNN`/`\\uNNNN`, or dropped from
  table cells.

`neutralise_markdown` is the second line of defence for a whole Markdown document embedded in
a GitHub comment or summary: it keeps code as it is and defuses raw HTML, links, autolinks,
mentions and references in the rest, and keeps `<details>` balanced.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"  # breaks a mention, reference or SHA for GitHub's filters; renders as nothing

_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]"
)


def _visible(ch: str) -> str:
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def plain(text: str, limit: int = 400) -> str:
    """One line of text with control characters (ANSI, bidi overrides, newlines) made visible."""
    text = _CONTROL.sub(lambda m: _visible(m.group()), text)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# Inline text

# ASCII punctuation that can start Markdown or HTML syntax anywhere in a line; `$` is GitHub math.
_ALWAYS = frozenset("\\`*_[]()<>|~!#{}$&")
_ENTITY = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_WORDISH = re.compile(r"[\w.\-]+")  # a host-name-like run: where linkifiers look for domains
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{7,}(?![0-9A-Za-z])")
_GH_REF = re.compile(r"(?<![0-9A-Za-z])gh-(?=[0-9])", re.IGNORECASE)
_LIST_START = re.compile(r"\d{1,9}(?=[.)])")
_LINE_NUMBER = re.compile(r"\d+(?![\w@])")


def _escape_inline(text: str, entities: bool, line_start: bool = True) -> str:
    """Escape one line so it renders literally in any inline position; see the module doc.

    Backslash escapes (or entities for `<`, `>`, `&` when `entities`) stop Markdown and HTML
    syntax and split the text where autolinkers look for URLs; U+200B after `@`, `#`, `GH-` and
    inside long hex runs stops GitHub's mention, reference and SHA filters, which run on the
    rendered text where backslashes are gone. With `line_start` (the text may begin a line),
    what would open a block there (a list marker, four spaces of indented code) is escaped too.
    """
    n = len(text)
    escape = [ch in _ALWAYS for ch in text]
    for i, ch in enumerate(text):
        if ch == ":" and text[i + 1 : i + 2].strip() and not _LINE_NUMBER.match(text, i + 1):
            escape[i] = True  # a scheme (https:, mailto:, javascript:); `path:12`, `a: b` stay readable
        elif ch == "/" and i and text[i - 1] == "/":
            escape[i] = True  # `//`: protocol-relative links
        elif ch == "." and text[max(0, i - 3) : i].lower() == "www":
            escape[i] = True  # `www.`: GFM's extended www autolink
    lead = n - len(text.lstrip(" \t"))
    if line_start and text[lead : lead + 1] in ("-", "+", "="):
        escape[lead] = True  # a list item, or a setext underline, when the text starts a line
    marker = _LIST_START.match(text, lead) if line_start else None
    if marker:
        escape[marker.end()] = True  # `1.` / `1)`: an ordered list at the start of a line
    # Dots inside a word-like run are where autolinkers find domains (www.x.example, a@b.example,
    # evil.example). A run right after an unescaped `/` is a path segment no autolinker starts
    # at (`src/agent.py`), and stays as it is; any other run has its inner dots escaped.
    for run in _WORDISH.finditer(text):
        start, end = run.span()
        if start and text[start - 1] == "/" and not escape[start - 1] and not any(escape[start:end]):
            continue
        for j in range(start, end - 1):
            if text[j] == "." and (text[j + 1].isalnum() or text[j + 1] == "_"):
                escape[j] = True
    breaks = set()
    for i, ch in enumerate(text):
        if ch == "@" or (ch == "#" and text[i + 1 : i + 2].isascii() and text[i + 1 : i + 2].isalnum()):
            breaks.add(i)
    breaks.update(m.end() - 1 for m in _GH_REF.finditer(text))
    for m in _HEX_RUN.finditer(text):
        breaks.update(range(m.start() + 5, m.end() - 1, 6))  # no 7 hex digits in a row remain
    out = []
    for i, ch in enumerate(text):
        if i == 0 and line_start and ch in " \t":
            out.append(f"&#{ord(ch)};")  # leading whitespace would start indented code
        elif escape[i]:
            out.append(_ENTITY[ch] if entities and ch in _ENTITY else "\\" + ch)
        else:
            out.append(ch)
        if i in breaks:
            out.append(ZWSP)
    return "".join(out)


def md_text(text: str) -> str:
    """Markdown-escaped prose for any inline position (see the module doc); one line."""
    return _escape_inline(plain(text), entities=False)


def md_named(text: str) -> str:
    """Prose around one quoted name from the repository (MCP server `github` via ...): the
    name, between the first and the last backtick, is a code span (`md_code`, so no backtick in
    it can close the span early); the rest is `md_text`."""
    first, last = text.find("`"), text.rfind("`")
    if first == -1 or last == first:
        return md_text(text)
    after = _escape_inline(plain(text[last + 1 :]), entities=False, line_start=False)
    return md_text(text[:first]) + md_code(text[first + 1 : last]) + after


def md_cell(value: object, limit: int = 160) -> str:
    """Plain text for one Markdown table cell: one line, at most `limit` characters before
    escaping, control characters dropped, `<`, `>`, `&` as entities; see the module doc."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub("", text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return _escape_inline(text, entities=True)


def md_code(text: str) -> str:
    """An inline code span that no backtick in `text` can close early.

    Not for table cells when `text` may hold a `|`: use `md_literal`."""
    text = plain(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    # A space each side keeps a backtick at an end apart from the fence, and survives the one
    # space CommonMark strips from each side of a span that starts and ends with one.
    both_spaced = text[:1] == " " and text[-1:] == " "
    pad = " " if not text.strip() or text[:1] == "`" or text[-1:] == "`" or both_spaced else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_literal(text: str) -> str:
    """Code-styled text that is safe everywhere, table cells included.

    A code span, unless the text holds a `|`: GFM splits table cells before it sees code spans,
    and inside a code span nothing can escape the pipe for both table and non-table use. Such
    text becomes `<code>` around escaped prose, which renders the same in a cell and outside one.
    """
    shown = plain(text)
    if "|" not in shown:
        return md_code(text)
    return f"<code>{_escape_inline(shown, entities=False)}</code>"


def md_fence(text: str, lang: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside it."""
    lines = [plain(line, 2000) for line in text.split("\n")]
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    lang = re.sub(r"[^a-z0-9-]", "", lang.lower())
    return f"{fence}{lang}\n{body}\n{fence}"


def md_message(text: str) -> str:
    """Prose whose `backticked` values become safe code spans and whose rest is escaped."""
    parts = re.split(r"`([^`\n]*)`", text)
    # Two spans with nothing between would touch, and their fences pair up differently: an
    # invisible U+200B keeps them apart.
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(md_code(part))
        else:
            prose = _escape_inline(plain(part), entities=False, line_start=not i)
            out.append(prose or (ZWSP if 0 < i < len(parts) - 1 else ""))
    return "".join(out)


# --------------------------------------------------------------------------------------------
# A whole Markdown document, embedded in a GitHub comment or job summary

# A fence is kept as code only at column 0, where it cannot belong to a list item (which would
# end it early, unseen by a line-by-line walk); any other line that could open a fence has its
# first character escaped, so that a fence never swallows what follows the document.
_OPEN_FENCE = re.compile(r"^(?:(`{3,})(?!.*`)|(~{3,}))")
_CLOSE_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")
_OTHER_FENCE = re.compile(r"^( {0,3})(?=```|~~~)")
_TAGS = "details|summary|br|sub|sup|kbd|b|i|em|strong|code"
_ALLOWED_TAG = re.compile(rf"</?(?:{_TAGS})\s*/?>|<details\s+open\s*>", re.IGNORECASE)
_HTML_LINE = re.compile(rf"^ {{0,3}}</?(?:{_TAGS})\b", re.IGNORECASE)  # may start an HTML block
_TABLE_DELIMITER = re.compile(r"^ {0,3}\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_DETAILS = re.compile(r"<(/?)details(?:\s+open)?\s*/?>", re.IGNORECASE)
_MENTION = re.compile(r"@")
_REFERENCE = re.compile(r"#(?=[A-Za-z0-9])")
_AUTOLINK = re.compile(r"(?<=/)(?=/)|(?<=[Ww]{3})(?=\.)|(?<=[A-Za-z]:)(?=\w)")  # //, www., mailto:x


def _escaped(text: str, pos: int) -> bool:
    """Whether text[pos] is backslash-escaped: an odd number of backslashes before it."""
    count = 0
    while pos - count > 0 and text[pos - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _code_spans(line: str, in_table: bool) -> list[tuple[int, int]] | None:
    """The inline code spans of one line, as (start, end); None when a backtick run is left
    unmatched, which may open or close a span on another line of the paragraph."""
    spans = []
    pos = 0
    while True:
        tick = line.find("`", pos)
        if tick < 0:
            return spans
        if _escaped(line, tick):  # `\`` is a literal backtick: it opens no span
            pos = tick + 1
            continue
        run_end = tick
        while run_end < len(line) and line[run_end] == "`":
            run_end += 1
        run = line[tick:run_end]
        close = re.compile(r"(?<!`)" + re.escape(run) + r"(?!`)").search(line, run_end)
        if close is None:
            return None
        if in_table and "|" in line[run_end : close.start()]:
            pos = run_end  # a table splits its cells at `|` first: this is no span
            continue
        spans.append((tick, close.end()))
        pos = close.end()


class _Line:
    """What a line of the document is, before it is neutralised."""

    def __init__(self, text: str, kind: str, html: bool = False, table: bool = False) -> None:
        self.text = text
        self.kind = kind  # "fence" (kept exactly), "blank" or "text"
        self.html = html  # may be inside an HTML block: no code spans there
        self.table = table  # in a table: cells are split at `|` before code spans are seen
        self.spans: list[tuple[int, int]] | None = []
        self.safe = True  # its paragraph has no unmatched backtick run


def _classify(markdown: str) -> tuple[list[_Line], str]:
    """Each line's kind, and the fence of a code block the document ends in ("" if none)."""
    lines = markdown.split("\n")
    out: list[_Line] = []
    fence = ""
    html = table = False
    for i, line in enumerate(lines):
        if fence:
            match = _CLOSE_FENCE.match(line)
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            out.append(_Line(line, "fence"))
            continue
        if not line.strip():
            html = table = False
            out.append(_Line(line, "blank"))
            continue
        if not html:
            match = _OPEN_FENCE.match(line)
            if match:
                fence = match.group(1) or match.group(2)
                table = False
                out.append(_Line(line, "fence"))
                continue
        # (Escaped in what looks like an HTML block too: `<b>x` starts none, and a fence there
        # would be real.)
        line = _OTHER_FENCE.sub(r"\1\\", line, count=1)
        html = html or bool(_HTML_LINE.match(line))
        if not table and i + 1 < len(lines) and "|" in line + lines[i + 1] and _TABLE_DELIMITER.match(lines[i + 1]):
            table = True  # this is a header row
        out.append(_Line(line, "text", html, table))
    # A code span may run over several lines of a paragraph, which a line cannot tell: in a
    # paragraph (or any run of lines between blank ones) with an unmatched backtick run, no
    # line keeps code spans or raw tags.
    chunk: list[_Line] = []
    for item in [*out, _Line("", "blank")]:
        if item.kind == "text":
            item.spans = [] if item.html else _code_spans(item.text, item.table)
            chunk.append(item)
            continue
        if any(_code_spans(c.text, c.table) is None or _code_spans(c.text, False) is None for c in chunk):
            for c in chunk:
                c.safe, c.spans = False, []
        chunk = []
    return out, fence


class _State:
    """What the neutralised document has open: <details> elements."""

    def __init__(self) -> None:
        self.details = 0

    def tag(self, tag: str, line_start: bool, safe: bool) -> str:
        """A tag kept as it is, or made text. <details> and </details> stay tags only where a
        line-by-line reading is sure they are (first on a line, in a paragraph without stray
        backticks), are counted, and a </details> with nothing to close becomes text."""
        match = _DETAILS.fullmatch(tag)
        if not match:
            return tag
        if not (line_start and safe) or (match.group(1) and not self.details):
            return "&lt;" + tag[1:]
        self.details += -1 if match.group(1) else 1
        return tag


def _neutralise_text(text: str, state: _State, line_start: bool, safe: bool, html: bool = False) -> str:
    """Text outside code: raw HTML other than a few harmless tags, entities, links, images,
    autolinks, mentions, references and SHAs are defused; escaped characters stay escaped
    (except in what may be an HTML block, where a backslash escapes nothing)."""

    def escaped(at: str, pos: int) -> bool:
        return not html and _escaped(at, pos)

    out = []
    for pos, ch in enumerate(text):
        if ch == "&" and not escaped(text, pos):
            out.append("&amp;")  # `&commat;x` or `&num;1` would spell a mention or a reference
        elif ch == "]" and text[pos + 1 : pos + 2] in ("(", "[", ":") and not _escaped(text, pos):
            out.append("]\\")  # [x](url), ![x](src), [x][ref] and [ref]: url lose their link
        elif ch == "$" and not html and not _escaped(text, pos):
            out.append("\\$")  # GitHub math
        else:
            out.append(ch)
    text = "".join(out)
    out = []
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:lt])
        tag = None if escaped(text, lt) else _ALLOWED_TAG.match(text, lt)
        if tag:
            out.append(state.tag(tag.group(0), line_start and lt == 0, safe))
            pos = tag.end()
        else:
            out.append("<" if escaped(text, lt) else "&lt;")
            pos = lt + 1
    text = "".join(out)
    text = _MENTION.sub("@" + ZWSP, text)
    text = _REFERENCE.sub("#" + ZWSP, text)
    text = _GH_REF.sub(lambda m: m.group(0) + ZWSP, text)
    text = _AUTOLINK.sub(ZWSP, text)
    text = _escape_domain_dots(text)
    return _HEX_RUN.sub(lambda m: ZWSP.join(m.group(0)[i : i + 6] for i in range(0, len(m.group(0)), 6)), text)


def _escape_domain_dots(text: str) -> str:
    """Escape the inner dots of word-like runs (`a@b.example`, `evil.example`) that do not
    follow an unescaped `/`, unless already escaped: the same rule as `_escape_inline`."""
    dots = []
    for run in _WORDISH.finditer(text):
        start, end = run.span()
        if start and text[start - 1] == "/" and not _escaped(text, start - 1):
            continue
        dots.extend(j for j in range(start, end - 1)
                    if text[j] == "." and (text[j + 1].isalnum() or text[j + 1] == "_") and not _escaped(text, j))
    for j in reversed(dots):
        text = text[:j] + "\\" + text[j:]
    return text


def _neutralise(item: _Line, state: _State) -> str:
    """Keep the line's code spans exactly and neutralise the text around them."""
    line = item.text
    out = []
    pos = 0
    for start, end in item.spans or []:
        out.append(_neutralise_text(line[pos:start], state, pos == 0, item.safe))
        out.append(line[start:end])
        pos = end
    out.append(_neutralise_text(line[pos:], state, pos == 0, item.safe, item.html))
    return "".join(out)


def _walk(markdown: str, state: _State) -> tuple[str, str]:
    """The neutralised document, and the fence of a code block it ends in ("" if none)."""
    lines, fence = _classify(markdown)
    return "\n".join(item.text if item.kind != "text" else _neutralise(item, state) for item in lines), fence


def neutralise_markdown(markdown: str) -> str:
    """Make a Markdown document (blastwall's own report) safe to embed in GitHub Markdown.

    Fenced code blocks (at column 0) and code spans are kept exactly. Everywhere else raw HTML
    other than a few harmless tags (details, summary, code, b, …), entities, links, images,
    autolinks, mentions, references and SHAs are defused, and `<details>` stays balanced: a
    stray `</details>` is shown as text and an unclosed one is closed at the end.
    """
    markdown = _CONTROL.sub("", markdown.replace("\r\n", "\n").replace("\t", "    "))
    state = _State()
    text, fence = _walk(markdown, state)
    if fence:
        text += "\n" + fence
    return text + "\n\n</details>" * state.details


def unclosed(markdown: str) -> tuple[str, int]:
    """For a neutralised document cut short: the fence of the code block it ends in (or "")
    and how many <details> it leaves open."""
    state = _State()
    _, fence = _walk(markdown, state)
    return fence, state.details

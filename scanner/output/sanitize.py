"""Make repo-controlled text safe to show: no terminal escapes, no Markdown or HTML injection."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def plain(text: str, limit: int = 400) -> str:
    """One line of text with control characters (ANSI, bidi overrides, newlines) made visible."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def md_text(text: str) -> str:
    """Markdown-escape prose; '@' gets a zero-width joiner so it never mentions anyone."""
    return _MD_SPECIAL.sub(r"\\\1", plain(text)).replace("@", "@\u200b")


def md_code(text: str) -> str:
    """An inline code span that no backtick in `text` can close early."""
    text = plain(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


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
    return "".join(md_code(p) if i % 2 else md_text(p) for i, p in enumerate(parts))

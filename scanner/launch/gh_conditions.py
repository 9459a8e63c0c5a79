"""Who can start a GitHub Actions job: its `if:` condition, read per trigger, and its `needs:`.

A condition is read as the `||` of its parts. A part that names the event
(`github.event_name == 'issues'`, `contains(fromJSON('["issues", "issue_comment"]'), github.event_name)`)
applies to those events only; a part that checks who triggered the run (rules/actions.yaml
`gate_words`: `author_association`, `github.actor`, a label, ...) lets only known people through.
An untrusted trigger stays open when some part that applies to it checks nobody.

A job runs only when every job it `needs:` ran, unless its condition runs it after skipped ones
(rules/actions.yaml `runs_after_skipped`: `always()`, ...): it is then open only for the
triggers those jobs are open for. A dispatch job that checks the commenter gates every job
that needs it.

The reading errs towards open: a part it cannot place applies to every event, and a gate word
anywhere in a part gates that part.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

_EVENT_EQ = re.compile(r"github\.event_name\s*(==|!=)\s*'([^']*)'|'([^']*)'\s*(==|!=)\s*github\.event_name")
_EVENT_IN = re.compile(r"contains\(\s*fromJSON\(\s*'(\[[^']*\])'\s*\)\s*,\s*github\.event_name\s*\)")


def _strip(expr: str) -> str:
    text = expr.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2].strip()
    return text


def _split_or(text: str) -> list[str]:
    """The top-level `||` parts (outside parentheses and quoted strings)."""
    parts, depth, start, i, quoted = [], 0, 0, 0, False
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted  # '' inside a string toggles twice: still inside
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and text.startswith("||", i):
            parts.append(text[start:i])
            start = i + 2
            i += 1
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _enclosed(text: str) -> bool:
    """Whether one pair of parentheses wraps the whole text."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth, quoted = 0, False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
    return True


def parts(condition: str) -> list[str]:
    """The condition's `||` parts, each parenthesised part split again."""
    out: list[str] = []
    for part in _split_or(_strip(condition)):
        while _enclosed(part):
            part = part[1:-1].strip()
        inner = _split_or(part)
        out.extend(parts(part) if len(inner) > 1 else [part])
    return out


def _events(part: str) -> tuple[set[str] | None, set[str]]:
    """(the events the part is limited to, None for any; the events it rules out)."""
    only: set[str] = set()
    ruled_out: set[str] = set()
    for found in _EVENT_EQ.finditer(part):
        op, name = (found.group(1), found.group(2)) if found.group(1) else (found.group(4), found.group(3))
        (only if op == "==" else ruled_out).add(name)
    for found in _EVENT_IN.finditer(part):
        try:
            names = json.loads(found.group(1))
        except ValueError:
            return None, ruled_out  # a list it cannot read: any event
        only.update(n for n in names if isinstance(n, str))
    return (only or None), ruled_out


def open_triggers(condition: str | None, triggers: Iterable[str], gate_words: Iterable[str]) -> frozenset[str]:
    """The triggers among `triggers` for which the condition lets anyone start the job."""
    triggers = frozenset(triggers)
    if condition is None or not _strip(condition):
        return triggers
    words = tuple(gate_words)
    out: set[str] = set()
    for part in parts(condition):
        if any(w in part for w in words):
            continue
        only, ruled_out = _events(part)
        out |= {t for t in triggers if (only is None or t in only) and t not in ruled_out}
    return frozenset(out)


def jobs_open(jobs: dict[str, tuple[str | None, tuple[str, ...]]], triggers: Iterable[str],
              gate_words: Iterable[str], after_skipped: Callable[[str], bool]) -> dict[str, frozenset[str]]:
    """Per job (its condition, the jobs it needs): the triggers that let anyone start it."""
    triggers = frozenset(triggers)
    done: dict[str, frozenset[str]] = {}

    def visit(key: str, seen: frozenset[str]) -> frozenset[str]:
        if key in done:
            return done[key]
        condition, needs = jobs[key]
        found = open_triggers(condition, triggers, gate_words)
        if condition is None or not after_skipped(condition):
            for need in needs:
                if need in jobs and need not in seen:  # a cycle GitHub would refuse: read as no constraint
                    found &= visit(need, seen | {key})
        done[key] = found
        return found

    for key in jobs:
        visit(key, frozenset({key}))
    return done


__all__ = ["jobs_open", "open_triggers", "parts"]

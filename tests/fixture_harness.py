"""Shared reading of annotated fixtures: `ruleid:` / `ok:` / `todoruleid:` / `todook:` comments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ANNOTATION = re.compile(r"(?:#|//|--|;|<!--)\s*(todoruleid|todook|ruleid|ok):\s*([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)")


@dataclass
class Expectations:
    expected: set[tuple[str, str, int]] = field(default_factory=set)  # must be reported
    forbidden: set[tuple[str, str, int]] = field(default_factory=set)  # must not be reported
    todo_missing: set[tuple[str, str, int]] = field(default_factory=set)  # known false negatives
    todo_extra: set[tuple[str, str, int]] = field(default_factory=set)  # known false positives
    rules: set[str] = field(default_factory=set)


def read_annotations(folder: Path) -> Expectations:
    exp = Expectations()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name == "expected.yaml":
            continue
        rel = path.relative_to(folder).as_posix()
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(lines, start=1):
            match = ANNOTATION.search(line)
            if not match:
                continue
            kind = match.group(1)
            for rule in (r.strip() for r in match.group(2).split(",")):
                key = (rule, rel, number + 1)
                exp.rules.add(rule)
                {"ruleid": exp.expected, "ok": exp.forbidden, "todoruleid": exp.todo_missing,
                 "todook": exp.todo_extra}[kind].add(key)
    sidecar = folder / "expected.yaml"
    if sidecar.is_file():
        data = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
        for item in data.get("findings") or ():
            exp.expected.add((item["rule"], item["path"], int(item["line"])))
            exp.rules.add(item["rule"])
        for item in data.get("ok") or ():
            exp.forbidden.add((item["rule"], item["path"], int(item["line"])))
            exp.rules.add(item["rule"])
    return exp

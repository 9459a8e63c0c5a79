"""In-process agents and code-executing frameworks: each annotated case scanned on its own.

Cases live in fixtures/rules/<rule-id>/ (annotated `ruleid:` / `ok:` on the line before); here
each file is scanned alone, so a case cannot pass on context another file of its folder gives.
The scenario repos (fixtures/repos/sdk-*) are checked with every other repo in test_fixtures.py.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from scanner.engine import scan

ROOT = Path(__file__).resolve().parents[1]
SDK_RULES = ("framework-host-code-execution", "mcp-stdio-forwards-environment", "browser-agent-operator-profile")
_ANNOTATION = re.compile(r"(?:#|//)\s*(ruleid|ok|todoruleid|todook):\s*([\w-]+)")


def _sdk_case_files() -> list[Path]:
    files = []
    for path in sorted((ROOT / "fixtures" / "rules").glob("*/*")):
        if path.suffix not in (".py", ".ts"):
            continue
        text = path.read_text(encoding="utf-8")
        if path.parent.name in SDK_RULES or re.search(
            r"claude_agent_sdk|claude-agent-sdk|codex-sdk|smolagents|autogen|interpreter import|def run_agent", text
        ):
            files.append(path)
    return files


@pytest.mark.parametrize("path", _sdk_case_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_annotated_case(path: Path, tmp_path: Path) -> None:
    shutil.copy(path, tmp_path / path.name)
    got = {(f.rule_id, f.location.line) for f in scan(tmp_path).findings}
    lines = path.read_text(encoding="utf-8").splitlines()
    failures = []
    for number, line in enumerate(lines, 1):
        match = _ANNOTATION.search(line)
        if not match:
            continue
        kind, rule = match.groups()
        present = (rule, number + 1) in got
        if kind == "ruleid" and not present:
            failures.append(f"line {number + 1}: expected {rule}")
        elif kind == "ok" and present:
            failures.append(f"line {number + 1}: unexpected {rule}")
    assert not failures, failures


def test_every_site_is_recorded_even_when_contained() -> None:
    result = scan(ROOT / "fixtures" / "repos" / "sdk-all-contained")
    agents = sorted(s.agent for s in result.launch_sites)
    assert agents == ["autogen", "claude-code", "codex", "langchain"]


def test_no_generic_inline_finding_where_a_framework_rule_reports_it(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text(
        "from smolagents import CodeAgent\nagent = CodeAgent(tools=[], model=None)\n", encoding="utf-8"
    )
    rules = sorted(f.rule_id for f in scan(tmp_path).findings)
    assert "framework-host-code-execution" in rules
    assert "agent-inline-launch" not in rules

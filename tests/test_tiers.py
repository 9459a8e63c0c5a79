"""Where code lives: tests, examples, docs and benchmarks never decide the verdict by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.engine import ScanOptions, scan
from scanner.model import Severity, Verdict
from scanner.discover.tiers import tier_of

LAUNCH = 'import subprocess\n\nsubprocess.run(["claude", "-p", "go", "--dangerously-skip-permissions"])\n'


@pytest.mark.parametrize(("path", "tier"), [
    ("src/agent/run.py", "shipped"),
    ("tests/test_run.py", "test"),
    ("pkg/run_test.py", "test"),
    ("web/src/app.spec.ts", "test"),
    ("src/__tests__/x.js", "test"),
    ("Tests/Fixtures/run.sh", "test"),
    ("examples/quickstart.py", "example"),
    ("docs/snippets/run.py", "docs"),
    ("benchmarks/run.py", "benchmark"),
    ("src/testing_utils.py", "shipped"),  # a name that only starts like a tier is shipped code
    ("latest/run.py", "shipped"),
])
def test_tier_of(path: str, tier: str) -> None:
    assert tier_of(path) == tier


def _tree(tmp_path: Path) -> Path:
    for rel in ("tests/test_agent.py", "examples/demo.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(LAUNCH)
    return tmp_path


def test_test_and_example_findings_are_info_and_do_not_decide(tmp_path: Path) -> None:
    result = scan(_tree(tmp_path), ScanOptions(jobs=1))
    assert result.verdict is Verdict.NOT_PRESENT
    assert {(f.location.path, f.tier, f.severity) for f in result.findings} == {
        ("examples/demo.py", "example", Severity.INFO), ("tests/test_agent.py", "test", Severity.INFO)}
    assert all("--include-tests" in f.message for f in result.findings)


def test_include_tests_judges_them_like_shipped_code(tmp_path: Path) -> None:
    result = scan(_tree(tmp_path), ScanOptions(jobs=1, include_tests=True))
    assert result.verdict is Verdict.PRESENT
    assert ("tests/test_agent.py", 3, Severity.HIGH) in {(f.location.path, f.location.line, f.severity)
                                                          for f in result.findings if f.rule_id == "agent-permission-bypass"}


def test_shipped_sites_come_first(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "z_app.py").write_text(LAUNCH)
    result = scan(tmp_path, ScanOptions(jobs=1))
    assert result.verdict is Verdict.PRESENT
    assert [s.location.path for s in result.launch_sites] == ["z_app.py", "examples/demo.py", "tests/test_agent.py"]
    assert result.findings[0].location.path == "z_app.py"

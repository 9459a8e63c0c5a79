"""The semgrep stage inside a scan: only prefiltered files, merged findings, honest gaps."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixture_harness import spy_semgrep
import scanner.launch.semgrep_runner as runner
from scanner.engine import ScanOptions, scan

ROOT = Path(__file__).resolve().parents[1]
GO = ROOT / "fixtures" / "repos" / "go-codex-danger"


def test_missing_semgrep_makes_the_verdict_unclear(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    repo = tmp_path / "svc"
    shutil.copytree(ROOT / "fixtures" / "repos" / "rust-bwrap-clean-env", repo)
    monkeypatch.setattr(runner, "find_semgrep", lambda: None)
    result = scan(repo, ScanOptions(jobs=1))
    assert result.verdict.value == "unclear"
    assert [(s.path, s.reason) for s in result.coverage.not_analysed] == [("src/main.rs", runner.NOT_INSTALLED)]
    (finding,) = result.findings
    assert (finding.rule_id, finding.location.path, finding.location.line) == ("agent-containment-undecided", "src/main.rs", 12)
    assert "src/main.rs" in finding.needs_context


def test_semgrep_is_not_started_without_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("semgrep must not run")

    monkeypatch.setattr(runner, "run_semgrep", boom)
    result = scan(ROOT / "fixtures" / "repos" / "py-inline-claude", ScanOptions(jobs=1))
    assert result.verdict.value == "present"


def test_only_prefiltered_files_are_targets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = spy_semgrep(monkeypatch)
    repo = tmp_path / "r"
    shutil.copytree(GO, repo)
    (repo / "util.go").write_text("package main\n\nfunc add(a, b int) int { return a + b }\n")
    scan(repo, ScanOptions(jobs=1))
    assert seen == [["internal/fixer/fixer.go"]]


def test_user_rules_are_merged(tmp_path: Path) -> None:
    if runner.find_semgrep() is None:
        pytest.skip("semgrep is not installed")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "mine.yaml").write_text(
        "rules:\n"
        "  - id: no-workdir-env\n"
        "    message: Workspace passed through cmd.Dir. Review it.\n"
        "    severity: WARNING\n"
        "    languages: [go]\n"
        "    pattern: $CMD.Dir = $X\n"
    )
    result = scan(GO, ScanOptions(jobs=1, semgrep_rules=(rules,)))
    mine = [(f.rule_id, f.location.path, f.location.line, f.severity.value) for f in result.findings
            if f.rule_id.startswith("semgrep/")]
    assert mine == [("semgrep/no-workdir-env", "internal/fixer/fixer.go", 16, "medium"),
                    ("semgrep/no-workdir-env", "internal/fixer/fixer.go", 26, "medium")]

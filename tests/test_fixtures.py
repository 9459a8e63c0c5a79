"""One harness for every fixture: per-rule annotated cases and whole scenario repos."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fixture_harness import read_annotations
from scanner.engine import ScanOptions, scan

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RULE_DIRS = sorted(p for p in (FIXTURES / "rules").iterdir() if p.is_dir()) if (FIXTURES / "rules").is_dir() else []
REPOS = sorted(p for p in (FIXTURES / "repos").iterdir() if (p / "expected.yaml").is_file())


def _actual(folder: Path) -> tuple[str, set[tuple[str, str, int]]]:
    result = scan(folder, ScanOptions(jobs=1))
    for finding in result.findings:
        # Evidence quotes the exact line it points at.
        line = (folder / finding.location.path).read_text(encoding="utf-8").split("\n")[finding.location.line - 1]
        assert finding.location.quote == line.strip()[:400], finding
    return result.verdict.value, {(f.rule_id, f.location.path, f.location.line) for f in result.findings}


@pytest.mark.parametrize("folder", RULE_DIRS, ids=[p.name for p in RULE_DIRS])
def test_rule_fixtures(folder: Path) -> None:
    exp = read_annotations(folder)
    assert exp.expected, f"{folder.name}: no ruleid case"
    assert exp.forbidden, f"{folder.name}: no ok case"
    _, actual = _actual(folder)
    annotated = exp.rules
    got = {f for f in actual if f[0] in annotated}
    missing = exp.expected - got
    wrong = exp.forbidden & got
    promoted_missing = exp.todo_missing & got
    promoted_extra = exp.todo_extra - got
    assert not missing, f"false negatives: {sorted(missing)}"
    assert not wrong, f"false positives: {sorted(wrong)}"
    assert not promoted_missing, f"todoruleid cases now found; promote them to ruleid: {sorted(promoted_missing)}"
    assert not promoted_extra, f"todook cases no longer reported; promote them to ok: {sorted(promoted_extra)}"
    # Every finding of the fixture's own rule must be annotated: no silent extras.
    own = {f for f in got if f[0] == folder.name}
    unannotated = own - exp.expected - exp.todo_extra
    assert not unannotated, f"unannotated findings of {folder.name}: {sorted(unannotated)}"


@pytest.mark.parametrize("repo", REPOS, ids=[p.name for p in REPOS])
def test_scenario_repo(repo: Path) -> None:
    expected = yaml.safe_load((repo / "expected.yaml").read_text(encoding="utf-8"))
    verdict, actual = _actual(repo)
    want = {(f["rule"], f["path"], int(f["line"])) for f in expected.get("findings") or ()}
    assert verdict == expected["verdict"]
    assert actual - want == set(), f"unexpected findings: {sorted(actual - want)}"
    assert want - actual == set(), f"missing findings: {sorted(want - actual)}"


def test_enough_scenarios() -> None:
    verdicts = {yaml.safe_load((r / "expected.yaml").read_text())["verdict"] for r in REPOS}
    assert len(REPOS) >= 12
    assert verdicts == {"present", "not present", "unclear"}

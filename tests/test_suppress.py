"""Inline ignores: rule-scoped, reason required, stale ones reported, suppressed findings kept."""

from __future__ import annotations

import json
from pathlib import Path

from scanner.engine import ScanOptions, scan
from scanner.model import Verdict
from scanner.output.json_report import to_dict
from scanner.post.suppress import find_directives, markers_for

IGNORE = "blastwall" + ": ignore"  # split so this file holds no directive of its own


def _scan(tmp_path: Path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return scan(tmp_path, ScanOptions(jobs=1))


def test_markers_follow_the_files_own_syntax() -> None:
    assert markers_for("a.py") == ("#",)
    assert markers_for("ci/.github/workflows/x.yml") == ("#",)
    assert markers_for("Dockerfile") == ("#",)
    assert "//" in markers_for("a.ts") and "/*" in markers_for("a.ts")
    assert markers_for("README.md") == ("<!--",)
    assert markers_for("package.json") == ()


def test_directive_parsing() -> None:
    data = (f"x = 1  # {IGNORE}[a-b, c-d] because: reasons\n"
            f"# {IGNORE}[e-f]\n"
            f"y = '// {IGNORE}[g-h] wrong marker for python'\n").encode()
    first, second = find_directives("m.py", data)
    assert (first.line, first.rule_ids, first.reason, first.own_line) == (1, ("a-b", "c-d"), "because: reasons", False)
    assert (second.line, second.rule_ids, second.reason, second.own_line) == (2, ("e-f",), "", True)
    html = find_directives("doc.md", f"<!-- {IGNORE}[a-b] docs only -->\n".encode())
    assert html[0].reason == "docs only"
    block = find_directives("a.js", f"run(); /* {IGNORE}[a-b] sandboxed */\n".encode())
    assert block[0].reason == "sandboxed"
    assert find_directives("p.json", f'{{"//": "# {IGNORE}[a-b] no"}}\n'.encode()) == ()


def test_suppressed_finding_stays_in_report_and_leaves_verdict(tmp_path: Path) -> None:
    src = (
        "import subprocess\n"
        "\n"
        f"# {IGNORE}[agent-inline-launch, agent-inherits-environment, agent-unbounded-session] demo VM\n"
        "subprocess.run(['claude', '-p', 'hi'])\n"
    )
    result = _scan(tmp_path, {"a.py": src})
    active = [f for f in result.findings if not f.suppressed]
    assert result.findings and not active, active
    assert {f.suppressed for f in result.findings} == {"demo VM"}
    assert result.verdict is Verdict.NOT_PRESENT
    report = to_dict(result)
    assert report["summary"]["suppressed"] == len(result.findings) and report["summary"]["findings"] == 0
    assert all(f["suppressed"] == "demo VM" for f in report["findings"])


def test_trailing_directive_covers_only_its_own_line(tmp_path: Path) -> None:
    src = (
        "#!/bin/sh\n"
        f"echo start  # {IGNORE}[agent-inline-launch] only this line\n"
        "claude -p hi\n"
    )
    result = _scan(tmp_path, {"run.sh": src})
    inline = [f for f in result.findings if f.rule_id == "agent-inline-launch"]
    assert inline and not inline[0].suppressed
    assert [(f.rule_id, f.location.line) for f in result.findings if f.rule_id.startswith("suppression-")] == [
        ("suppression-unused", 2)]
    assert result.verdict is Verdict.PRESENT


def test_missing_reason_does_not_suppress(tmp_path: Path) -> None:
    result = _scan(tmp_path, {"run.sh": f"claude -p hi  # {IGNORE}[agent-inline-launch]\n"})
    assert not any(f.suppressed for f in result.findings)
    assert ("suppression-missing-reason", 1) in {(f.rule_id, f.location.line) for f in result.findings}
    assert result.verdict is Verdict.PRESENT


def test_other_rules_on_the_line_stay_active(tmp_path: Path) -> None:
    result = _scan(tmp_path, {"run.sh": f"claude --dangerously-skip-permissions -p hi  # {IGNORE}[agent-permission-bypass] VM\n"})
    by_rule = {f.rule_id: f for f in result.findings}
    assert by_rule["agent-permission-bypass"].suppressed == "VM"
    assert not by_rule["agent-inline-launch"].suppressed
    assert result.verdict is Verdict.PRESENT


def test_unknown_rule_and_disabled_suppression_rules(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text(f"claude -p hi  # {IGNORE}[no-such-rule] reason\n")
    result = scan(tmp_path, ScanOptions(jobs=1))
    unused = [f for f in result.findings if f.rule_id == "suppression-unused"]
    assert len(unused) == 1 and "not a blastwall rule" in unused[0].message
    quiet = scan(tmp_path, ScanOptions(jobs=1, disabled_rules=("suppression-unused",)))
    assert not any(f.rule_id == "suppression-unused" for f in quiet.findings)


def test_sarif_carries_the_justification(tmp_path: Path) -> None:
    from scanner.catalog import load_catalog
    from scanner.output.sarif import render_sarif

    result = _scan(tmp_path, {"run.sh": f"claude -p hi  # {IGNORE}[agent-inline-launch] reviewed in #12\n"})
    sarif = json.loads(render_sarif(result, load_catalog()))
    sups = [r["suppressions"] for r in sarif["runs"][0]["results"] if "suppressions" in r]
    assert sups == [[{"kind": "inSource", "justification": "reviewed in #12"}]]


def test_markdown_lists_ignore_findings_outside_sites(tmp_path: Path) -> None:
    from scanner.catalog import load_catalog
    from scanner.output.markdown import render_markdown

    result = _scan(tmp_path, {"run.sh": f"echo hi  # {IGNORE}[agent-inline-launch] stale\n"})
    md = render_markdown(result, load_catalog())
    assert "### Ignore comments" in md and "`suppression-unused`" in md

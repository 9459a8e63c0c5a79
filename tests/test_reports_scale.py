"""Reports a reviewer can act on at any scale: a 104-site repository (src/, scripts/, web/, tests/,
examples/) gives a Markdown report under 40 KB with WHY IT MATTERS in its first 200 lines, a
terminal report under 80 lines, and a PR comment that fits GitHub's limit with the verdict, WHY,
FIX and the findings first, cut only between whole blocks."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from test_reports_helpers import ROOT, big_tree, build, cli

ACTION = ROOT / "action"


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("big")
    tree = build(base, big_tree())
    out = base / "out"
    out.mkdir()
    proc = cli("scan", str(tree), "--no-progress", "--fail-on", "never", "--json-output", str(out / "r.json"),
               "--markdown-output", str(out / "r.md"), "--sarif-output", str(out / "r.sarif"))
    assert proc.returncode == 0, proc.stderr
    verbose = cli("scan", str(tree), "--no-progress", "--fail-on", "never", "-v")
    return {"text": proc.stdout, "verbose": verbose.stdout, "md": (out / "r.md").read_text(encoding="utf-8"),
            "json": json.loads((out / "r.json").read_text(encoding="utf-8")), "out": out}


def summary_module() -> Any:
    sys.path.insert(0, str(ACTION))
    try:
        spec = importlib.util.spec_from_file_location("blastwall_action_summary_scale", ACTION / "summary.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ACTION))


def test_the_tree_has_a_hundred_sites(big: dict[str, Any]) -> None:
    assert len(big["json"]["launch_sites"]) >= 100
    assert big["json"]["verdict"] == "present"


def test_markdown_is_small_and_answers_early(big: dict[str, Any]) -> None:
    md = big["md"]
    assert len(md.encode("utf-8")) < 40 * 1024
    lines = md.splitlines()
    why = next(i for i, line in enumerate(lines) if line == "## 3. WHY IT MATTERS")
    assert why < 200
    heads = [md.index(h) for h in ("## 1. VERDICT", "## 2. EVIDENCE", "## 3. WHY IT MATTERS", "## 4. FIX", "## Scope")]
    assert heads == sorted(heads)


def test_markdown_summary_comes_first(big: dict[str, Any]) -> None:
    verdict = big["md"].split("## 2. EVIDENCE", 1)[0]
    assert "104 launch sites" in verdict
    assert re.search(r"\d+ high, \d+ medium, \d+ low, \d+ info", verdict)
    assert "| rule | severity | findings | sites |" in verdict  # counts by rule
    assert "| folder | launch sites | findings |" in verdict  # top folders
    assert "Decided by" in verdict and "`src/pkg0/tool_0.py` line 5" in verdict
    # The deciding sites are shipped code, not tests.
    decided = verdict.split("Decided by", 1)[1].split("\n\n|", 1)[0]
    assert "tests/" not in decided


def test_every_site_is_in_the_evidence_once(big: dict[str, Any]) -> None:
    evidence = big["md"].split("## 2. EVIDENCE", 1)[1].split("## 3. WHY IT MATTERS", 1)[0]
    for site in big["json"]["launch_sites"]:
        where = f"`{site['path']}` line {site['line']}"
        heading = f"### `{site['path']}`"
        assert evidence.count(where) + evidence.count(heading) == 1, where


def test_why_and_fix_once_per_rule_and_one_diagram_per_shape(big: dict[str, Any]) -> None:
    md = big["md"]
    fix = md.split("## 4. FIX", 1)[1].split("## Scope", 1)[0]
    rules = re.findall(r"^### \d+\. .*\(`([a-z-]+)`\)$", fix, re.M)
    assert len(rules) == len(set(rules)) == len(big["json"]["summary"]["by_rule"])
    assert md.count("```mermaid") == 2  # no boundary, and a container with open egress
    assert md.count("## 3. WHY IT MATTERS") == 1


def test_scope_lists_the_tiers(big: dict[str, Any]) -> None:
    scope = big["md"].split("## Scope", 1)[1]
    assert "Shipped code: 60 launch sites" in scope
    assert "Tests: 40 launch sites" in scope and "Examples: 4 launch sites" in scope


def test_terminal_is_short_unless_verbose(big: dict[str, Any]) -> None:
    text = big["text"]
    assert len(text.splitlines()) < 80
    assert len(big["verbose"].splitlines()) > 300
    last = text.splitlines()[-1]
    assert re.fullmatch(r"\d+ findings: \d+ informational, \d+ low, \d+ medium, \d+ high, \d+ critical", last), last
    for section in ("1. VERDICT", "2. EVIDENCE", "3. WHY IT MATTERS", "4. FIX"):
        assert section in text


def _blocks_intact(markdown: str) -> None:
    """Every fence closed, <details> balanced, each Mermaid diagram whole."""
    assert markdown.count("```") % 2 == 0
    assert markdown.count("<details>") == markdown.count("</details>")
    for diagram in re.findall(r"```mermaid\n(.*?)```", markdown, re.S):
        assert diagram.rstrip().endswith('B -. "allow-list or none" .-> N')


@pytest.mark.parametrize("mode", ["comment", "summary"])
def test_pr_comment_and_summary_fit_with_why_and_fix_first(big: dict[str, Any], mode: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    summary = summary_module()
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo-org/project")
    monkeypatch.setenv("GITHUB_RUN_ID", "1234")
    out = tmp_path / "out"
    args = [mode, "--json", str(big["out"] / "r.json"), "--markdown", str(big["out"] / "r.md"), "--output", str(out),
            "--fail-on", "present", "--exit-code", "1", "--artifact", "blastwall-blastwall"]
    assert summary.main(args) == 0
    body = json.loads(out.read_text())["body"] if mode == "comment" else out.read_text()
    assert len(body) <= 65536 if mode == "comment" else len(body.encode()) < 1024 * 1024
    order = [body.index(s) for s in ("## blastwall verdict: **present**", "### Why it matters", "### Fix",
                                     "| Severity |", "The complete report", "<details>")]
    assert order == sorted(order)
    assert "Before (`src/pkg0/tool_0.py` line 5):" in body  # the real rewrite, not only the rule's example
    assert "docs: `https://github.com/blastwall/blastwall/blob/main/docs/rules/agent-inline-launch.md`" in body
    assert "artifact `blastwall-blastwall` of [this run](https://github.com/octo-org/project/actions/runs/1234)" in body
    _blocks_intact(body)


def test_a_comment_over_budget_drops_whole_blocks(big: dict[str, Any], tmp_path: Path) -> None:
    summary = summary_module()
    report = big["json"]
    markdown = big["md"] * 6  # far over the comment limit
    body = summary.render(report, markdown, new_only=False, fail_on="present", note="", exit_code="1", max_rows=50,
                          budget=summary.COMMENT_LIMIT_CHARS, measure=len, header=summary.MARKER)
    assert len(body) <= 65536
    assert "cut here to fit" in body and "none cut in the middle" in body
    _blocks_intact(body)
    inner = body.split("<summary>Full blastwall report</summary>", 1)[1]
    kept = summary.blocks(summary.neutralise_markdown(markdown))
    shown = [b for b in summary.blocks(inner.rsplit("</details>", 1)[0]) if not b.startswith("*The report was cut")]
    assert shown and all(b in kept for b in shown)  # every block whole, none cut inside
    assert "### Why it matters" in body and "### Fix" in body


def test_new_only_comment_shows_only_new_sites(tmp_path: Path) -> None:
    import subprocess

    tree = build(tmp_path, {"old.sh": "#!/bin/sh\nclaude --dangerously-skip-permissions -p old\n"})
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "base"]):
        subprocess.run([*git, *cmd], cwd=tree, env=env, check=True, capture_output=True)
    (tree / "new.sh").write_text("#!/bin/sh\ngemini --yolo -p new\n")
    out = tmp_path / "out"
    out.mkdir()
    proc = cli("scan", str(tree), "--diff-base", "HEAD", "-f", "markdown", "--fail-on", "never", "--no-progress",
               "--json-output", str(out / "r.json"), "--sarif-output", str(out / "r.sarif"))
    assert proc.returncode == 0, proc.stderr
    md = proc.stdout
    evidence = md.split("## 2. EVIDENCE", 1)[1].split("## 3. WHY", 1)[0]
    assert "new.sh" in evidence and "old.sh" not in evidence
    assert "1 other launch site has no new finding and is not shown." in evidence
    data = json.loads((out / "r.json").read_text())
    assert data["summary"]["new_only"] is True and data["summary"]["new_only_base"] == "changes since HEAD"
    # SARIF for code scanning holds the whole scan, each result marked new or unchanged.
    sarif = json.loads((out / "r.sarif").read_text())
    states = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["baselineState"])
              for r in sarif["runs"][0]["results"]}
    assert ("new.sh", "new") in states and ("old.sh", "unchanged") in states

"""Golden reports, and one test per rendering or wording bug the reports had.

The goldens pin whole reports (text, Markdown, GitHub annotations) for a scenario fixture and for
small trees built to show each bug; the named tests below say what each bug was, so a golden that
changes for another reason still keeps them fixed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_reports_helpers import ROOT, UNCLEAR, WORDING, assert_golden, build, cli

from scanner.catalog import load_catalog

SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


@pytest.fixture(scope="module")
def wording(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tree = build(tmp_path_factory.mktemp("wording"), WORDING)
    return _reports(tree)


@pytest.fixture(scope="module")
def unclear(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tree = build(tmp_path_factory.mktemp("unclear"), UNCLEAR)
    return _reports(tree)


@pytest.fixture(scope="module")
def fixture_reports() -> dict[str, str]:
    return _reports(ROOT / "fixtures" / "repos" / "py-inline-claude")


def _reports(tree: Path) -> dict[str, str]:
    out = {}
    for fmt in ("text", "markdown", "github", "json"):  # (and "verbose": text with -v)
        proc = cli("scan", str(tree), "-f", fmt, "--fail-on", "never", "--no-progress")
        assert proc.returncode == 0, proc.stderr
        out[fmt] = proc.stdout
    proc = cli("scan", str(tree), "-v", "--fail-on", "never", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    out["verbose"] = proc.stdout
    return out


# --------------------------------------------------------------------------------------------
# Golden files


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("verbose", "verbose.txt"), ("markdown", "md"),
                                     ("github", "github.txt")])
def test_golden_wording(wording: dict[str, str], fmt: str, ext: str) -> None:
    assert_golden(f"wording.{ext}", wording[fmt])


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("markdown", "md")])
def test_golden_unclear(unclear: dict[str, str], fmt: str, ext: str) -> None:
    assert_golden(f"unclear.{ext}", unclear[fmt])


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("markdown", "md")])
def test_golden_fixture(fixture_reports: dict[str, str], fmt: str, ext: str) -> None:
    assert_golden(f"py-inline-claude.{ext}", fixture_reports[fmt])


# --------------------------------------------------------------------------------------------
# The bugs, one by one


def test_a_trailing_backslash_is_shown_once_in_the_terminal(wording: dict[str, str]) -> None:
    # rich's markup escaping printed `docker run \` as `docker run \\`.
    lines = [line.strip() for line in wording["verbose"].splitlines()]
    assert 'docker run --rm -v `pwd`:/work --network none agent-image claude -p "review" \\' in lines
    assert "\\\\" not in wording["verbose"]


def test_rule_text_is_escaped_once(wording: dict[str, str]) -> None:
    # The WHY of agent-privileged-sandbox quotes `--privileged`; it was shown as \`--privileged\`.
    md = wording["markdown"]
    why = md.split("## 3. WHY IT MATTERS", 1)[1].split("## 4. FIX", 1)[0]
    assert "`--privileged`" in why and "\\`" not in why
    assert "\\`" not in md.split("## 4. FIX", 1)[1].split("## Scope", 1)[0]


def test_a_value_with_backticks_stays_one_code_span(wording: dict[str, str]) -> None:
    # "write the analysed target `` `pwd` ``" came out garbled: the value's own backticks closed
    # the span early.
    md = wording["markdown"]
    assert "the analysed target `` `pwd` `` from inside its sandbox" in md
    assert "target `  `pwd`  `" not in md
    assert "the analysed target `pwd` from inside its sandbox" in wording["verbose"]


def test_findings_inside_a_site_are_sorted_by_severity(wording: dict[str, str]) -> None:
    md = wording["markdown"]
    evidence = md.split("## 2. EVIDENCE", 1)[1].split("## 3. WHY IT MATTERS", 1)[0]
    for block in evidence.split("\n**Line ")[1:]:
        severities = re.findall(r"^- \**(critical|high|medium|low|info)\**", block, re.M)
        assert severities, block
        ranks = [SEVERITY_RANK[s] for s in severities]
        assert ranks == sorted(ranks, reverse=True), block
    text = wording["text"]
    for block in re.split(r"\n   \S+:\d+  ", text.split("2. EVIDENCE", 1)[1].split("3. WHY", 1)[0])[1:]:
        ranks = [SEVERITY_RANK[s] for s in re.findall(r"^     (critical|high|medium|low|info) ", block, re.M)]
        assert ranks == sorted(ranks, reverse=True), block


def test_container_image_is_not_said_twice(wording: dict[str, str]) -> None:
    for body in wording.values():
        assert "container container" not in body
    assert "Today: container image" in wording["markdown"] or "boundary: container image" in wording["markdown"]


def test_counts_agree_with_their_nouns(wording: dict[str, str], unclear: dict[str, str]) -> None:
    for body in (*wording.values(), *unclear.values()):
        assert not re.search(r"\b1 (launch sites|findings|files|sites)\b", body), body[:400]
    assert "1 launch site in 1 file" in unclear["text"]


def test_the_launcher_is_not_repeated_after_the_agent_name(wording: dict[str, str]) -> None:
    for body in wording.values():
        assert "LocalCommandLineCodeExecutor via LocalCommandLineCodeExecutor" not in body
    assert "AutoGen LocalCommandLineCodeExecutor" in wording["markdown"]


def test_a_present_verdict_does_not_ask_for_context_to_decide(wording: dict[str, str]) -> None:
    data = json.loads(wording["json"])
    assert data["verdict"] == "present" and data["needs_context"]
    verdict = wording["markdown"].split("## 2. EVIDENCE", 1)[0]
    assert "Context needed to decide" not in verdict
    assert "does not change the verdict" in verdict
    assert "context needed" not in wording["text"] and "also depends on" in wording["text"]


def test_an_unclear_verdict_explains_the_undecided_site(unclear: dict[str, str]) -> None:
    data = json.loads(unclear["json"])
    assert data["verdict"] == "unclear"
    rules = {f["rule_id"] for f in data["findings"]}
    assert "agent-containment-undecided" in rules and len(rules) > 1  # another rule is there to be picked
    undecided = load_catalog().rule("agent-containment-undecided").why
    assert data["why"] == undecided and data["why_rule"] == "agent-containment-undecided"
    assert undecided in unclear["markdown"].split("## 3. WHY IT MATTERS", 1)[1]
    assert "Context needed to decide" in unclear["markdown"]


def test_each_quote_once_per_site(wording: dict[str, str]) -> None:
    md = wording["markdown"]
    evidence = md.split("## 2. EVIDENCE", 1)[1].split("## 3. WHY IT MATTERS", 1)[0]
    for block in evidence.split("\n**Line ")[1:]:
        site_quote = block.split("\n\n")[1]  # the line after the site's heading
        assert site_quote.startswith("`") and block.count(site_quote) == 1, block
    # Each containment shape is drawn once.
    assert md.count("```mermaid") == len(set(re.findall(r"<summary>(Today: [^<]*)</summary>", md)))

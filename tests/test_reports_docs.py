"""Rule pages are current; the README, the Action docs and the CHANGELOG agree on the release tag
and the repository URL from the project metadata; the Action's new-only default."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from test_reports_helpers import ROOT

from scanner import __version__
from scanner.catalog import load_catalog
from scanner.output.overview import homepage

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOCS = ROOT / "docs" / "rules"


def test_committed_rule_pages_are_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_rule_docs.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr + "\nrun: python scripts/gen_rule_docs.py"


def test_every_rule_has_a_page_in_ruffs_shape() -> None:
    for rule_id, rule in load_catalog().rules.items():
        page = (DOCS / f"{rule_id}.md").read_text(encoding="utf-8")
        for heading in ("## What it finds", "## Why is this bad?", "## How to fix", "## How to suppress"):
            assert heading in page, (rule_id, heading)
        if rule.fix_examples:
            assert "## Example" in page and "Use instead:" in page
        assert f"blastwall: ignore[{rule_id}]" in page and f'disable = ["{rule_id}"]' in page
        assert rule.why in page
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    assert all(f"[{rule_id}]({rule_id}.md)" in index for rule_id in load_catalog().rules)


def test_project_urls_are_the_reports_homepage() -> None:
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    assert homepage() == urls["Repository"].rstrip("/")
    assert urls["Homepage"].startswith("https://")


def test_release_tag_convention_is_used_everywhere() -> None:
    tag = f"v{__version__}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    action_doc = (ROOT / "docs" / "github-action.md").read_text(encoding="utf-8")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"pipx install git+{homepage()}@{tag}" in readme
    assert re.search(rf"^## \[{re.escape(__version__)}\]", changelog, re.M)
    assert "vX.Y.Z" in changelog  # the convention is written down
    owner_repo = homepage().split("github.com/", 1)[1]
    for doc in (readme, action_doc):
        uses = re.findall(rf"uses: {re.escape(owner_repo)}@[^\n]*", doc)
        assert uses and all(line.endswith(f"# {tag}") for line in uses), uses
        assert f"repo: {homepage()}\n    rev: {tag}" in doc
        assert "<owner>" not in doc


def test_action_reports_new_findings_only_on_pull_requests_by_default() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["inputs"]["new-only"]["default"] == "auto"
    (scan,) = [step for step in action["runs"]["steps"] if step.get("id") == "scan"]
    expression = scan["env"]["BLASTWALL_INPUT_NEW_ONLY"]
    assert "inputs.new-only == 'auto'" in expression and "github.event_name == 'pull_request'" in expression
    (artifact,) = [step for step in action["runs"]["steps"] if "upload-artifact" in str(step.get("uses", ""))]
    assert artifact["if"] == "steps.scan.outputs.report-dir != ''"  # every run keeps its reports
    (comment,) = [step for step in action["runs"]["steps"] if step.get("name") == "Comment on the pull request"]
    assert "BLASTWALL_ARTIFACT_NAME" in comment["env"]


def _evaluate(expression: str, inputs: dict[str, str], event: str) -> str:
    """The `a && b || c` subset of GitHub expressions the action uses, evaluated in Python."""
    text = expression.strip()
    assert text.startswith("${{") and text.endswith("}}")
    body = text[3:-2]
    body = body.replace("inputs.new-only", repr(inputs["new-only"])).replace("github.event_name", repr(event))
    body = body.replace("&&", " and ").replace("||", " or ")
    return str(eval(body))  # noqa: S307 - our own action.yml, with literals substituted


def test_new_only_expression_resolves_as_documented() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    (scan,) = [step for step in action["runs"]["steps"] if step.get("id") == "scan"]
    expression = scan["env"]["BLASTWALL_INPUT_NEW_ONLY"]
    cases = {("auto", "pull_request"): "true", ("auto", "pull_request_target"): "true", ("auto", "push"): "false",
             ("true", "push"): "true", ("false", "pull_request"): "false", ("true", "pull_request"): "true"}
    for (value, event), expected in cases.items():
        assert _evaluate(expression, {"new-only": value}, event) == expected, (value, event)


def test_docs_do_not_point_at_pages_that_do_not_exist() -> None:
    for doc in (ROOT / "README.md", ROOT / "docs" / "github-action.md", ROOT / "CHANGELOG.md"):
        for target in re.findall(r"\]\(((?!https?:|#)[^)]+)\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target.split("#")[0]).exists(), (doc.name, target)


def test_rule_pages_exist_for_scan_notices() -> None:
    for notice in ("file-not-analysed", "results-changed-by-configuration"):
        assert (DOCS / f"{notice}.md").is_file()
    assert Path(DOCS / "README.md").is_file()

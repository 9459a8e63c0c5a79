"""Scenario repos for workflows, containers, orchestrators and agent configs: exact findings and verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scanner.analyzers.cfgtree import load_json, load_toml
from scanner.engine import scan

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
SCENARIOS = [
    "workflow-least-privilege-sandbox",
    "workflow-write-token-bypass",
    "workflow-runs-agent-script",
    "compose-internal-proxy",
    "compose-mounts-ssh-docker-socket",
    "compose-builds-dockerfile",
    "devcontainer-firewall-readonly",
    "k8s-job-networkpolicy",
    "k8s-privileged-hostpath",
    "claude-settings-bypass",
    "mcp-forwards-token",
]


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(name: str) -> None:
    root = REPOS / name
    expected = yaml.safe_load((root / "expected.yaml").read_text(encoding="utf-8"))
    result = scan(root)
    got = {(f.rule_id, f.location.path, f.location.line) for f in result.findings}
    want = {(f["rule"], f["path"], f["line"]) for f in expected.get("findings") or []}
    assert got == want
    assert result.verdict.value == expected["verdict"]
    for finding in result.findings:
        assert finding.location.quote == (root / finding.location.path).read_text(encoding="utf-8").split("\n")[
            finding.location.line - 1].strip()[:400]


def test_jsonc_keeps_lines() -> None:
    text = '// comment\n{\n  "a": 1, /* x\n y */\n  "b": {"c": "d // not a comment",},\n}\n'
    doc = load_json(text, [])
    assert doc is not None
    assert doc.get("a").anchor == 3
    assert doc.path("b", "c").text() == "d // not a comment"
    assert doc.get("b").anchor == 5


def test_toml_lines() -> None:
    doc = load_toml('model = "x"\n\n[sandbox_workspace_write]\nnetwork_access = true\n', [])
    assert doc is not None
    assert doc.path("sandbox_workspace_write", "network_access").anchor == 4


def test_hostile_json_does_not_crash() -> None:
    notes: list[str] = []
    assert load_json("[" * 5000, notes) is None
    assert notes

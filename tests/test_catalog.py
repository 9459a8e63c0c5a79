"""Rule data, schemas, fixtures and the catalog agree: one rule, four places, one test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scanner.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"


def test_rule_files_match_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((RULES / "schema" / "rule.schema.json").read_text())
    for path in sorted((RULES / "checks").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_agent_catalog_matches_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((RULES / "schema" / "agents.schema.json").read_text())
    jsonschema.validate(yaml.safe_load((RULES / "agents.yaml").read_text()), schema)


def test_every_rule_has_fixtures_in_both_directions() -> None:
    from fixture_harness import read_annotations

    catalog = load_catalog()
    for rule_id in catalog.rules:
        folder = ROOT / "fixtures" / "rules" / rule_id
        assert folder.is_dir(), f"{rule_id}: no fixtures/rules/{rule_id}/"
        exp = read_annotations(folder)
        assert any(r == rule_id for r, _, _ in exp.expected), f"{rule_id}: no ruleid case"
        assert any(r == rule_id for r, _, _ in exp.forbidden), f"{rule_id}: no ok case"


def test_why_is_two_sentences_and_fix_has_examples() -> None:
    for rule in load_catalog().rules.values():
        assert rule.why.count(". ") >= 1, rule.id
        assert rule.fix and rule.fix_examples, rule.id


def test_framework_alternatives_used_by_the_detectors_exist() -> None:
    import re

    data = yaml.safe_load((RULES / "frameworks.yaml").read_text())["alternatives"]
    used = set(re.findall(r'_alternative\((?:[\w.]+, )?"([a-z0-9-]+)"\)', (ROOT / "scanner" / "launch" / "sdk_python.py").read_text()))
    frameworks = yaml.safe_load((RULES / "frameworks.yaml").read_text())["frameworks"]
    used |= {fw["host_site"]["alternative"] for fw in frameworks.values() if isinstance(fw, dict) and fw.get("host_site")}
    assert used and used <= set(data), sorted(used - set(data))
    assert set(data) <= used, f"unused alternatives: {sorted(set(data) - used)}"


def test_claude_sdk_option_names_are_all_judged() -> None:
    """Every row of `claude_agent_sdk_options` names an option the one judge reads, in both languages."""
    import re

    judge = (ROOT / "scanner" / "launch" / "claude_options.py").read_text()
    asked = set(re.findall(r'opts\.get\("([a-z_]+)"\)', judge)) | set(re.findall(r"\bn\.([a-z_]+)\b", judge))
    table = yaml.safe_load((RULES / "frameworks.yaml").read_text())["claude_agent_sdk_options"]
    assert set(table) == {"python", "javascript"}
    for language, row in table.items():
        assert set(row) - {"written"} <= asked, (language, sorted(set(row) - asked))
        names = load_catalog().claude_sdk_options(language)
        assert names.spell(names.permission_mode, "plan") in ("permission_mode=plan", "permissionMode: plan")


@pytest.mark.parametrize("name", ["permissions", "config_files", "actions", "frameworks", "containment", "mcp_servers"])
def test_knowledge_files_match_their_schemas(name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((RULES / "schema" / f"{name}.schema.json").read_text())
    jsonschema.validate(yaml.safe_load((RULES / f"{name}.yaml").read_text()), schema)


def test_claude_permission_modes_say_what_runs_unasked() -> None:
    catalog = load_catalog()

    def off(mode: str, confined: bool = False) -> bool:
        meaning = catalog.approval_mode("claude-code", mode)
        return meaning is not None and meaning.approvals_off(confined=confined)

    # Nobody is asked: off whatever sandbox the agent has.
    assert all(off(m) and off(m, confined=True) for m in ("bypassPermissions", "auto", "dontAsk"))
    # acceptEdits approves working-directory edits and filesystem commands: off unless Claude's
    # sandbox confines those commands.
    assert off("acceptEdits") and not off("acceptEdits", confined=True)
    assert not any(off(m) for m in ("default", "manual", "plan", "not-a-mode"))
    assert {m for m in ("default", "manual", "plan", "acceptEdits", "auto") if catalog.approval_mode("claude-code", m).asks_first} \
        == {"default", "manual", "plan"}
    assert catalog.approval_mode("claude-code", None) is None


def test_other_agents_approval_and_sandbox_modes() -> None:
    catalog = load_catalog()
    assert catalog.approval_mode("codex", "never").approvals_off()
    assert not any(catalog.approval_mode("codex", p).approvals_off() for p in ("untrusted", "on-failure", "on-request"))
    assert catalog.sandbox_mode_on("codex", "danger-full-access") is False
    assert catalog.sandbox_mode_on("codex", "workspace-write") is True
    assert catalog.sandbox_mode_on("codex", "sideways") is None
    assert all(catalog.approval_mode("gemini-cli", m).approvals_off() for m in ("yolo", "auto_edit", "auto-edit"))
    assert not catalog.approval_mode("gemini-cli", "default").approvals_off()


@pytest.mark.parametrize("rule", ["Bash", "Bash(*)", "Bash(**)", "Bash(:*)", "Bash:*", "*", " Bash( * ) "])
def test_allow_rules_that_approve_every_shell_command(rule: str) -> None:
    assert load_catalog().allows_any_shell("claude-code", rule)


@pytest.mark.parametrize("rule", ["Bash(git status)", "Bash(npm run test:*)", "Read", "Edit(*)", "Bash()"])
def test_allow_rules_that_do_not(rule: str) -> None:
    assert not load_catalog().allows_any_shell("claude-code", rule)


def test_sandbox_wrappers_and_their_egress() -> None:
    from scanner.model import Egress

    catalog = load_catalog()
    assert catalog.sandbox_wrapper(["/usr/bin/docker", "run", "img"]) == "docker"
    assert catalog.sandbox_wrapper(["codex", "sandbox", "--", "x"]) == "codex sandbox"
    assert catalog.sandbox_wrapper(["codex", "mcp-server"]) is None
    assert catalog.sandbox_wrapper(["sbx", "run", "claude"]) == "sbx run"
    assert catalog.sandbox_egress("srt") is Egress.ALLOW_LIST
    assert catalog.sandbox_egress("bwrap") is Egress.OPEN
    assert catalog.sandbox_egress("nsjail") is Egress.NONE
    assert catalog.sandbox_egress("docker") is None
    # Every microVM runner the catalog lists is a wrapper.
    assert all(catalog.sandbox_wrapper(r.split()) == r for r in catalog.containment.list("microvm_runners"))


def test_agent_actions_match_by_repository_and_folder() -> None:
    catalog = load_catalog()
    action = catalog.agent_action("anthropics/claude-code-action")
    assert action is not None and action.agent == "claude-code" and action.checks_actor and action.gated_by_default
    assert catalog.agent_action("sst/opencode/github").agent == "opencode"
    assert catalog.agent_action("anthropics/claude-code-actions") is None

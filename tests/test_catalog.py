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
    used = set(re.findall(r'_alternative\("([a-z0-9-]+)"\)', (ROOT / "scanner" / "analyzers" / "sdk_python.py").read_text()))
    assert used and used <= set(data), sorted(used - set(data))
    assert set(data) <= used, f"unused alternatives: {sorted(set(data) - used)}"

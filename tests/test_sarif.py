"""SARIF validates against the 2.1.0 schema and follows GitHub's ingestion rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.catalog import load_catalog
from scanner.engine import ScanOptions, scan
from scanner.output.sarif import render_sarif

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "tests" / "schemas"


@pytest.fixture(scope="module")
def sarif() -> dict:
    result = scan(ROOT / "fixtures" / "repos" / "py-inline-claude", ScanOptions(jobs=1))
    return json.loads(render_sarif(result, load_catalog()))


def test_schema_valid(sarif: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_file = SCHEMAS / "sarif-schema-2.1.0.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(sarif, schema)


def test_github_rules(sarif: dict) -> None:
    run = sarif["runs"][0]
    assert run["automationDetails"]["id"] == "blastwall/"
    assert run["properties"]["verdict"] == "present"
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["help"]["markdown"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert 0.0 < float(rule["properties"]["security-severity"]) <= 10.0
        assert "security" in rule["properties"]["tags"]
    for result in run["results"]:
        loc = result["locations"][0]["physicalLocation"]
        assert not loc["artifactLocation"]["uri"].startswith("/")
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
        assert "primaryLocationLineHash" not in result["partialFingerprints"]
        assert result["partialFingerprints"]["blastwall/v1"]


def test_fingerprints_survive_line_shifts(tmp_path: Path) -> None:
    src = (ROOT / "fixtures" / "repos" / "py-inline-claude" / "reviewbot" / "review.py").read_text()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "review.py").write_text(src)
    (tmp_path / "b" / "review.py").write_text("# a comment\n\n\n" + src)
    fa = {(f.rule_id, f.fingerprint) for f in scan(tmp_path / "a", ScanOptions(jobs=1)).findings}
    fb = {(f.rule_id, f.fingerprint) for f in scan(tmp_path / "b", ScanOptions(jobs=1)).findings}
    assert fa == fb and fa

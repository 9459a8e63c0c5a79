"""SARIF and JSON: levels from severity, labelled related locations, documentation links, the
project's URL from its metadata, typed new-only fields; still valid SARIF 2.1.0."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_reports_helpers import ROOT, WORDING, build, cli

from scanner.catalog import load_catalog
from scanner.engine import ScanOptions, scan
from scanner.output.json_report import to_dict
from scanner.output.sarif import render_sarif

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    files = dict(WORDING)
    files["tests/test_agent.py"] = 'import subprocess\nsubprocess.run(["claude", "-p", "x"])\n'  # an info finding
    return scan(build(tmp_path_factory.mktemp("machine"), files), ScanOptions(jobs=1))


@pytest.fixture(scope="module")
def sarif(result) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(render_sarif(result, load_catalog()))


def test_sarif_is_schema_valid(sarif: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema)


def test_every_result_has_its_level_from_severity(sarif: dict) -> None:
    results = sarif["runs"][0]["results"]
    severities = {r["properties"]["severity"] for r in results if "properties" in r and "severity" in r["properties"]}
    assert {"critical", "high", "medium", "low", "info"} <= severities
    for r in results:
        if "severity" in r.get("properties", {}):
            assert r["level"] == LEVEL[r["properties"]["severity"]], r
    for rule in sarif["runs"][0]["tool"]["driver"]["rules"]:
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")


def test_related_locations_say_what_they_are(sarif: dict) -> None:
    related = [loc for r in sarif["runs"][0]["results"] for loc in r.get("relatedLocations", [])]
    assert related
    for loc in related:
        assert loc["message"]["text"] and loc["message"]["text"] != "related"
    assert any(loc["message"]["text"].startswith("launch site: ") for loc in related)


def test_rules_link_to_their_documentation_page(sarif: dict) -> None:
    driver = sarif["runs"][0]["tool"]["driver"]
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert driver["informationUri"] == urls["Repository"].rstrip("/")
    for rule in driver["rules"]:
        uri = rule["helpUri"]
        assert uri == f"{urls['Repository'].rstrip('/')}/blob/main/docs/rules/{rule['id']}.md"
        assert (ROOT / "docs" / "rules" / f"{rule['id']}.md").is_file(), rule["id"]


def test_json_summary_is_typed_and_counts(result) -> None:  # type: ignore[no-untyped-def]
    data = to_dict(result)
    summary = data["summary"]
    assert summary["new_only"] is False and summary["new_only_base"] == ""
    assert sum(summary["by_severity"].values()) == summary["findings"]
    assert sum(summary["by_rule"].values()) == summary["findings"]
    assert summary["by_tier"]["test"]["launch_sites"] == 1
    assert summary["line"].endswith("critical")
    assert data["tool"]["information_uri"].startswith("https://")
    for f in data["findings"]:
        assert f["help_uri"].endswith(f"/docs/rules/{f['rule_id']}.md")
    assert data["why"] and data["why_rule"] == "agent-privileged-sandbox"
    first = data["fixes"][0]
    assert first["rule_id"] == "agent-privileged-sandbox" and first["before"] and first["after"]
    assert first["help_uri"].endswith("agent-privileged-sandbox.md")


def test_json_new_only_with_a_baseline(tmp_path: Path) -> None:
    tree = build(tmp_path, {"a.sh": "#!/bin/sh\nclaude --dangerously-skip-permissions -p a\n"})
    base = tmp_path / "base.json"
    assert cli("scan", str(tree), "--json-output", str(base), "--fail-on", "never").returncode == 0
    (tree / "b.sh").write_text("#!/bin/sh\ngemini --yolo -p b\n")
    out = tmp_path / "out"
    out.mkdir()
    proc = cli("scan", str(tree), "--baseline", str(base), "-f", "json", "--fail-on", "never",
               "--sarif-output", str(out / "r.sarif"))
    data = json.loads(proc.stdout)
    assert data["summary"]["new_only"] is True and data["summary"]["new_only_base"] == "baseline"
    assert {f["path"] for f in data["findings"]} == {"b.sh"}
    sarif = json.loads((out / "r.sarif").read_text())
    states = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["baselineState"]
              for r in sarif["runs"][0]["results"]}
    assert states == {"a.sh": "unchanged", "b.sh": "new"}
    assert sarif["runs"][0]["properties"]["newOnly"] == "baseline"

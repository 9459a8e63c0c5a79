"""Every rule has one home, and the finding builder keeps its promises.

A containment rule is a module in scanner/audits/ named after its id; a rule only one surface
can see is listed in SURFACE_RULES with the modules that emit it. Rule data, audit and fixtures
are tied by tests/test_fixtures.py (ruleid:/ok: annotations)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from scanner.audits import CONTAINMENT_AUDITS, SURFACE_RULES, audit_site
from scanner.catalog import load_catalog
from scanner.findings import new_finding, new_site
from scanner.model import Boundary, Containment, Fact, FactKind, Location

ROOT = Path(__file__).resolve().parents[1]
RULE_IDS = sorted(p.stem for p in (ROOT / "rules" / "checks").glob("*.yaml"))


def test_every_rule_has_exactly_one_home() -> None:
    audited = {m.RULE for m in CONTAINMENT_AUDITS}
    assert sorted(audited | set(SURFACE_RULES)) == RULE_IDS
    assert audited.isdisjoint(SURFACE_RULES)


@pytest.mark.parametrize("module", CONTAINMENT_AUDITS, ids=lambda m: m.RULE)
def test_an_audit_module_is_named_after_its_rule(module) -> None:
    assert module.__name__ == "scanner.audits." + module.RULE.replace("-", "_")


@pytest.mark.parametrize("rule", sorted(SURFACE_RULES))
def test_a_surface_rule_is_emitted_where_the_table_says(rule: str) -> None:
    for name in SURFACE_RULES[rule]:
        source = Path(importlib.import_module(name).__file__ or "").read_text(encoding="utf-8")
        assert f'"{rule}"' in source, f"{rule} is not emitted by {name}"


def _loc(line: int = 3, label: str = "") -> Location:
    return Location("run.py", line, quote="subprocess.run(['claude', '-p', task])", label=label)


def test_the_finding_builder_refuses_an_unlabelled_related_location() -> None:
    with pytest.raises(ValueError, match="label"):
        new_finding(load_catalog(), "agent-inline-launch", _loc(), site_id="s", message="m", related=[_loc(5)])
    finding = new_finding(load_catalog(), "agent-inline-launch", _loc(), site_id="s", message="m",
                          related=[_loc(5, "environment")])
    assert [r.label for r in finding.related] == ["environment"]


def test_the_finding_builder_refuses_a_location_without_its_line() -> None:
    with pytest.raises(ValueError, match="primary location"):
        new_finding(load_catalog(), "agent-inline-launch", Location("run.py", 3), site_id="s", message="m")


def test_a_fact_of_an_unknown_kind_is_refused() -> None:
    assert Fact("bypass-flag", "--yolo", _loc()).kind is FactKind.BYPASS_FLAG
    with pytest.raises(ValueError):
        Fact("bypass-flags", "--yolo", _loc())
    assert FactKind.mount("credentials", writable=True) is FactKind.MOUNT_CREDENTIALS_RW
    assert FactKind.MOUNT_TARGET_PART_RW.mount_source == "target-part" and FactKind.MOUNT_TARGET_PART_RW.writable
    assert f"{FactKind.TIMEOUT}" == str(FactKind.TIMEOUT) == "timeout"


def _site(containment: Containment):
    return new_site(agent="claude-code", agent_name="Claude Code", surface="python", launcher="subprocess.run",
                    location=_loc(), command="claude -p task", containment=containment)


def test_a_superseded_rule_is_not_reported_for_that_site() -> None:
    inline = {f.rule_id for f in audit_site(load_catalog(), _site(Containment()))}
    assert {"agent-inline-launch", "agent-inherits-environment", "agent-unbounded-session"} <= inline
    rest = {f.rule_id for f in audit_site(load_catalog(), _site(Containment(superseded=("agent-inline-launch",))))}
    assert rest == inline - {"agent-inline-launch"}


def test_an_undecided_site_is_judged_on_its_unknown_piece_alone() -> None:
    unknown = Fact(FactKind.UNKNOWN, "the runner `./ci/agent.sh`", _loc())
    site = _site(Containment(boundary=Boundary.UNKNOWN, unknowns=(unknown,), undecided=True))
    assert [f.rule_id for f in audit_site(load_catalog(), site)] == ["agent-containment-undecided"]
    # Without the flag the missing timeout would be a finding of its own.
    site = _site(Containment(boundary=Boundary.UNKNOWN, unknowns=(unknown,)))
    assert "agent-unbounded-session" in {f.rule_id for f in audit_site(load_catalog(), site)}


@pytest.mark.parametrize(("script", "egress"), [
    ("nsjail -Mo -- claude -p task", "none"),
    ("minijail0 -u agent claude -p task", "none"),
    ("firejail claude -p task", "open"),
    ("firejail --net=none claude -p task", "none"),
    ("srt claude -p task", "allow-list"),
    ("systemd-run --user -p PrivateNetwork=yes claude -p task", "none"),
    ("systemd-run --user claude -p task", "open"),
    ("sandbox-exec -f agent.sb claude -p task", "unknown"),
])
def test_an_os_sandbox_gives_the_egress_its_rules_row_says(tmp_path: Path, script: str, egress: str) -> None:
    from scanner.engine import ScanOptions, scan

    (tmp_path / "run.sh").write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    sites = scan(tmp_path, ScanOptions(jobs=1)).launch_sites
    assert [(s.containment.boundary.value, s.containment.egress.value) for s in sites] == [("os-sandbox", egress)]

"""The config readers (JSON with comments, TOML) keep lines and survive hostile input.

The scenario repos for workflows, containers, orchestrators and agent configs are checked with
every other repo in test_fixtures.py (exact findings, verdict and quoted lines)."""

from __future__ import annotations

from scanner.parse.cfgtree import load_json, load_toml


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

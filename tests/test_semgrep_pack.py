"""The semgrep rule pack (rules/semgrep) and the runner that maps its results."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from scanner import semgrep_runner
from scanner.semgrep_runner import SEMGREP_LANG_EXTS, run_semgrep

REPO = Path(__file__).resolve().parent.parent
PACK = REPO / "rules" / "semgrep"
RULE_IDS = {
    "agent-inline-launch": "inline-launch",
    "agent-inherits-environment": "inherited-credentials",
    "agent-permission-bypass": "permission-bypass",
}
SEVERITIES = {"critical", "high", "medium", "low", "info"}
LANG_PREFIX = {"go": "go", "java": "java", "kotlin": "kotlin", "ruby": "ruby", "rust": "rust",
               "csharp": "csharp", "php": "php"}
TEST_EXTS = {"go": ".go", "java": ".java", "kotlin": ".kt", "ruby": ".rb", "rust": ".rs",
             "csharp": ".cs", "php": ".php"}


def _semgrep() -> str | None:
    return semgrep_runner.find_semgrep()


needs_semgrep = pytest.mark.skipif(_semgrep() is None, reason="semgrep is not installed (pip install semgrep)")


def _rule_files() -> list[Path]:
    return sorted(PACK.glob("*.yaml"))


def _rules() -> list[tuple[Path, dict]]:
    out = []
    for path in _rule_files():
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for rule in doc["rules"]:
            out.append((path, rule))
    return out


def _regexes(node, found: list[tuple[str, str]]) -> None:
    if isinstance(node, dict):
        if "metavariable-regex" in node:
            mr = node["metavariable-regex"]
            found.append((mr["metavariable"], mr["regex"]))
        for value in node.values():
            _regexes(value, found)
    elif isinstance(node, list):
        for value in node:
            _regexes(value, found)


# (a) semgrep's own test runner over the annotated targets


@needs_semgrep
def test_semgrep_pack_unit_tests_pass():
    proc = subprocess.run(
        [_semgrep(), "--test", "--metrics=off", "--disable-version-check", str(PACK)],
        cwd=REPO, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "All tests passed" in output, output[-4000:]


# (b) metadata contract and pairing


def test_pack_covers_every_semgrep_language():
    langs = {rule["languages"][0] for _, rule in _rules()}
    assert langs == set(SEMGREP_LANG_EXTS.values())


@pytest.mark.parametrize("path,rule", _rules(), ids=lambda v: v["id"] if isinstance(v, dict) else v.name)
def test_rule_has_blastwall_mapping(path, rule):
    meta = rule["metadata"]
    own = meta["blastwall"]
    assert own["rule_id"] in RULE_IDS
    assert own["category"] == RULE_IDS[own["rule_id"]]
    assert own["severity"] in SEVERITIES
    assert meta["confidence"] in {"HIGH", "MEDIUM", "LOW"}
    lang = rule["languages"][0]
    assert rule["id"] == f"{LANG_PREFIX[lang]}-{own['rule_id']}"
    if own["severity"] in {"critical", "high"}:
        assert rule["severity"] == "ERROR"
    assert rule["message"].strip().endswith(".")


@pytest.mark.parametrize("path", _rule_files(), ids=lambda p: p.name)
def test_rule_file_has_annotated_test_target(path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    langs = {rule["languages"][0] for rule in doc["rules"]}
    assert len(langs) == 1, "one language per rule file"
    target = path.with_suffix(TEST_EXTS[langs.pop()])
    assert target.is_file(), f"{path.name} has no paired test file {target.name}"
    text = target.read_text(encoding="utf-8")
    for rule in doc["rules"]:
        assert re.search(rf"\bruleid:[^\n]*\b{re.escape(rule['id'])}\b", text), f"no ruleid: case for {rule['id']}"
        assert re.search(rf"\bok:[^\n]*\b{re.escape(rule['id'])}\b", text), f"no ok: case for {rule['id']}"


def test_single_shared_agent_regex():
    """Every rule names agents with the same regex, and it covers the catalog's specific binaries."""
    agent = set()
    for _, rule in _rules():
        found: list[tuple[str, str]] = []
        _regexes(rule, found)
        agent |= {regex for var, regex in found if var == "$A"}
        assert any(var == "$A" for var, _ in found), rule["id"]
    assert len(agent) == 1, agent
    catalog = REPO / "rules" / "agents.yaml"
    if not catalog.is_file():
        pytest.skip("no agent catalog")
    names = set(re.search(r"\(([^()]*claude[^()]*)\)", agent.pop()).group(1).split("|"))
    for entry in yaml.safe_load(catalog.read_text(encoding="utf-8"))["agents"]:
        generic = set((entry.get("requires_any") or {}).keys())
        for binary in entry.get("binaries", []):
            if binary not in generic:
                assert binary in names, f"{binary} ({entry['id']}) missing from the semgrep agent regex"


# (c) the runner


@needs_semgrep
def test_run_semgrep_maps_exact_hits(tmp_path):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "agent.go").write_text(
        "package svc\n"
        "\n"
        'import "os/exec"\n'
        "\n"
        "func Run(prompt string) error {\n"
        '\tcmd := exec.Command("codex", "exec", "--sandbox", "danger-full-access", prompt)\n'
        "\treturn cmd.Run()\n"
        "}\n"
        "\n"
        "func Contained(prompt string) error {\n"
        '\treturn exec.Command("docker", "run", "--rm", "img", "codex", "exec", "--yolo", prompt).Run()\n'
        "}\n",
        encoding="utf-8",
    )
    outcome = run_semgrep(tmp_path, ["svc/agent.go"], [PACK], timeout=300)
    assert outcome.error == ""
    assert outcome.not_analysed == ()
    assert [(h.rule_id, h.line) for h in outcome.hits] == [
        ("agent-inherits-environment", 6),
        ("agent-inline-launch", 6),
        ("agent-permission-bypass", 6),
    ]
    first = outcome.hits[0]
    assert first.path == "svc/agent.go"
    assert first.category == "inherited-credentials"
    assert first.severity == "high"
    assert first.semgrep_id == "go-agent-inherits-environment"
    assert first.column == 9 and first.end_line == 6
    assert {h.category for h in outcome.hits} == {"inline-launch", "inherited-credentials", "permission-bypass"}


@needs_semgrep
def test_run_semgrep_user_rule_without_mapping(tmp_path):
    rules = tmp_path / "myrules"
    rules.mkdir()
    (rules / "mine.yaml").write_text(
        "rules:\n"
        "  - id: no-aider\n"
        "    languages: [ruby]\n"
        "    severity: WARNING\n"
        "    message: aider is not allowed here\n"
        "    pattern: system(\"aider\", ...)\n",
        encoding="utf-8",
    )
    (tmp_path / "task.rb").write_text('system("aider", "--message", "hi")\n', encoding="utf-8")
    outcome = run_semgrep(tmp_path, ["task.rb"], [rules], timeout=300)
    assert [(h.rule_id, h.category, h.severity, h.line) for h in outcome.hits] == [
        ("semgrep/no-aider", "inline-launch", "medium", 1)
    ]


def test_run_semgrep_without_semgrep(tmp_path, monkeypatch):
    (tmp_path / "a.go").write_text("package a\n", encoding="utf-8")
    (tmp_path / "B.java").write_text("class B {}\n", encoding="utf-8")
    monkeypatch.setattr(semgrep_runner.shutil, "which", lambda *_a, **_k: None)
    monkeypatch.setattr(semgrep_runner.sys, "executable", str(tmp_path / "nowhere" / "python"))
    outcome = run_semgrep(tmp_path, ["B.java", "a.go"], [PACK])
    assert outcome.hits == ()
    assert outcome.not_analysed == (("B.java", "semgrep is not installed"), ("a.go", "semgrep is not installed"))


def test_run_semgrep_no_targets_does_not_start_semgrep(tmp_path, monkeypatch):
    def boom(*_a, **_k):
        raise AssertionError("semgrep started without targets")

    monkeypatch.setattr(semgrep_runner.subprocess, "run", boom)
    assert run_semgrep(tmp_path, [], [PACK]) == semgrep_runner.SemgrepOutcome((), (), "")


def test_run_semgrep_bad_output_and_timeout(tmp_path, monkeypatch):
    (tmp_path / "a.go").write_text("package a\n", encoding="utf-8")
    monkeypatch.setattr(semgrep_runner, "find_semgrep", lambda: "semgrep")
    seen = {}

    def garbage(cmd, **kwargs):
        seen.update(kwargs, cmd=cmd)
        return subprocess.CompletedProcess(cmd, 2, b"not json", b"boom: bad things\n")

    monkeypatch.setattr(semgrep_runner.subprocess, "run", garbage)
    outcome = run_semgrep(tmp_path, ["a.go"], [PACK], timeout=5)
    assert outcome.not_analysed == (("a.go", "semgrep failed (exit 2): boom: bad things"),)
    assert outcome.error
    env = seen["env"]
    assert set(env) == {"PATH", "HOME", "LANG", "SEMGREP_SEND_METRICS", "SEMGREP_ENABLE_VERSION_CHECK"}
    assert env["SEMGREP_SEND_METRICS"] == "off" and env["LANG"] == "C.UTF-8"
    assert seen["stdin"] is subprocess.DEVNULL and seen["timeout"] == 5 and seen["cwd"] == tmp_path
    assert "--metrics=off" in seen["cmd"] and seen["cmd"][-1] == "a.go"

    def slow(cmd, **kwargs):
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])

    monkeypatch.setattr(semgrep_runner.subprocess, "run", slow)
    outcome = run_semgrep(tmp_path, ["a.go"], [PACK], timeout=5)
    assert outcome.not_analysed == (("a.go", "semgrep timed out after 5s"),)


def test_run_semgrep_maps_per_file_errors(tmp_path, monkeypatch):
    for name in ("a.go", "b.go"):
        (tmp_path / name).write_text("package a\n", encoding="utf-8")
    monkeypatch.setattr(semgrep_runner, "find_semgrep", lambda: "semgrep")
    doc = (
        b'{"results": [{"check_id": "x", "path": "./b.go", "start": {"line": 2, "col": 1},'
        b' "end": {"line": 2, "col": 4}, "extra": {"severity": "INFO", "message": "m", "metadata": {}}},'
        b' {"check_id": "broken"}],'
        b' "errors": [{"type": "Syntax error", "level": "warn", "path": "a.go", "message": "bad\\nmore"}]}'
    )
    monkeypatch.setattr(
        semgrep_runner.subprocess, "run",
        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 0, doc, b""),
    )
    outcome = run_semgrep(tmp_path, ["a.go", "b.go", "gone.go"], [PACK])
    assert outcome.not_analysed == (("a.go", "Syntax error: bad"), ("gone.go", "file not found"))
    assert [(h.rule_id, h.path, h.line, h.severity) for h in outcome.hits] == [("semgrep/x", "b.go", 2, "low")]


def test_lang_exts():
    assert SEMGREP_LANG_EXTS[".kts"] == "kotlin" and SEMGREP_LANG_EXTS[".cs"] == "csharp"

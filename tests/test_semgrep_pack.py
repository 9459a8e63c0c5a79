"""The semgrep rule pack (rules/semgrep) and the runner that maps its results."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scanner.launch import semgrep_runner
from scanner.launch.semgrep_runner import SEMGREP_LANG_EXTS, run_semgrep

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
    """Every rule names agents in command position with the same regex, built from the catalog: the
    binaries that need no companion argument, and none of the generic ones (agent, q, goose ...)."""
    agent = set()
    for _, rule in _rules():
        found: list[tuple[str, str]] = []
        _regexes(rule, found)
        agent |= {regex for var, regex in found if var == "$A"}
        assert any(var == "$A" for var, _ in found), rule["id"]
    assert len(agent) == 1, agent
    names = set(re.search(r"\(([^()]*claude[^()]*)\)", agent.pop()).group(1).split("|"))
    terms = GEN.read_terms(CATALOG)
    assert names == {GEN._rx(b) for b in terms.commands}
    assert not names & set(terms.generic)


# (b2) the pack is generated from rules/agents.yaml (scripts/gen_semgrep_pack.py)

GEN_SCRIPT = REPO / "scripts" / "gen_semgrep_pack.py"
CATALOG = REPO / "rules" / "agents.yaml"
TEMPLATES = REPO / "scripts" / "semgrep_templates"


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_semgrep_pack", GEN_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_semgrep_pack", module)
    spec.loader.exec_module(module)
    return module


GEN = _load_generator()


def test_committed_pack_is_current():
    generated = GEN.generate(CATALOG, TEMPLATES)
    assert set(generated) == {p.name for p in _rule_files()}, "a rule file without a template, or the reverse"
    stale = GEN.stale_files(generated, PACK)
    assert not stale, (
        "rules/semgrep is not what rules/agents.yaml and scripts/semgrep_templates/ generate "
        f"({'; '.join(stale)}); regenerate it with: {GEN.COMMAND}"
    )


def test_check_mode_names_the_command(tmp_path, capsys):
    out = tmp_path / "pack"
    assert GEN.main(["--out", str(out)]) == 0
    assert GEN.main(["--out", str(out), "--check"]) == 0
    (out / "go-agent-launch.yaml").write_text("rules: []\n", encoding="utf-8")
    assert GEN.main(["--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "go-agent-launch.yaml: out of date" in err and GEN.COMMAND in err


def test_rule_files_carry_the_generated_header():
    for path in _rule_files():
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# generated by scripts/gen_semgrep_pack.py from rules/agents.yaml; do not edit.", path.name


def test_templates_inline_no_agent_names():
    """Agent names reach the rules only through the placeholders: no template regex spells one."""
    terms = GEN.read_terms(CATALOG)
    names = {*terms.commands, *terms.generic, *terms.packages}
    for template in sorted(TEMPLATES.glob("*.yaml.in")):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
            if "regex:" not in line and "comparison:" not in line:
                continue
            for name in names:
                assert not re.search(rf"[(|]{re.escape(GEN._rx(name))}[|)]", line), (
                    f"{template.name}:{number} spells {name!r}; use a {{{{AGENT_...}}}} placeholder"
                )


def _scratch_catalog(tmp_path: Path, extra_entry: str = "", shuffle: bool = False) -> Path:
    doc = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    if shuffle:
        doc["agents"] = list(reversed(doc["agents"]))
        for entry in doc["agents"]:
            entry["binaries"] = list(reversed(entry.get("binaries") or []))
            entry["packages"] = list(reversed(entry.get("packages") or []))
    if extra_entry:
        doc["agents"].append(yaml.safe_load(extra_entry))
    path = tmp_path / f"agents-{len(list(tmp_path.glob('agents-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_generation_is_deterministic_and_order_free(tmp_path):
    first = GEN.generate(CATALOG, TEMPLATES)
    assert GEN.generate(CATALOG, TEMPLATES) == first
    assert GEN.generate(_scratch_catalog(tmp_path, shuffle=True), TEMPLATES) == first


def test_catalog_terms_reach_every_placeholder(tmp_path):
    catalog = _scratch_catalog(tmp_path, """
        id: acme
        name: Acme Coder
        binaries: [acme, acme-coder, ac]
        requires_any: {ac: [solve, --headless]}
        packages: ["@acme/coder", acme.coder]
    """)
    terms = GEN.read_terms(catalog)
    assert "acme-coder" in terms.commands and "ac" not in terms.commands
    assert terms.generic["ac"] == ("--headless", "solve")
    values = GEN.placeholders(terms)
    assert "acme-coder" in values["AGENT_COMMANDS"].split("|")
    assert "@acme/coder" in values["AGENT_PACKAGES"].split("|") and r"acme\.coder" in values["AGENT_PACKAGES"]
    assert "ac" in values["AGENT_GENERIC_COMMANDS"].split("|")
    assert "solve" in values["AGENT_COMPANIONS"].split("|")
    shell = re.compile(rf"^({values['AGENT_SHELL_COMMANDS']})(\s|$)")
    assert shell.match("acme-coder -p hi") and shell.match("ac --model x solve the bug")
    assert not shell.match("ac --version") and not shell.match("ac list; solve")
    # a longer name is tried before its prefix
    commands = values["AGENT_COMMANDS"].split("|")
    assert commands.index("acme-coder") < commands.index("acme")


def test_empty_lists_match_nothing(tmp_path):
    catalog = tmp_path / "agents.yaml"
    catalog.write_text("agents:\n  - {id: x, name: X, binaries: [xcli]}\n", encoding="utf-8")
    values = GEN.placeholders(GEN.read_terms(catalog))
    for key in ("AGENT_PACKAGES", "AGENT_GENERIC_COMMANDS", "AGENT_COMPANIONS"):
        assert values[key] == "(?!)"
        assert not re.search(rf"^({values[key]})$", "")


def test_bad_catalog_terms_are_refused(tmp_path):
    catalog = _scratch_catalog(tmp_path, "{id: bad, name: Bad, binaries: ['bad name']}")
    with pytest.raises(GEN.PackError, match="not a plain name"):
        GEN.read_terms(catalog)


def test_unknown_or_unquoted_placeholder_is_refused(tmp_path):
    values = GEN.placeholders(GEN.read_terms(CATALOG))
    with pytest.raises(GEN.PackError, match="unknown placeholder"):
        GEN.render("regex: '{{AGENT_NOPE}}'\n", values, "x.yaml.in")
    with pytest.raises(GEN.PackError, match="inside a"):
        GEN.render("regex: {{AGENT_COMMANDS}}\n", values, "x.yaml.in")


# A new catalog entry reaches every language: a scratch catalog with one more agent, the pack
# generated from it into a temp dir, and one launch of the new binary per language.
NEW_AGENT = """
    id: newcoder
    name: New Coder
    binaries: [newcoder-cli]
    packages: ["@newco/coder"]
"""
NEW_AGENT_SNIPPETS = {
    "svc/a.go": 'package svc\n\nimport "os/exec"\n\nfunc Run(p string) error {\n'
                '\treturn exec.Command("newcoder-cli", "-p", p).Run()\n}\n',
    "svc/b.go": 'package svc\n\nimport "os/exec"\n\nfunc Npx(p string) error {\n'
                '\treturn exec.Command("npx", "-y", "@newco/coder@latest", "-p", p).Run()\n}\n',
    "svc/C.java": 'class C {\n  Process run(String p) throws Exception {\n'
                  '    return new ProcessBuilder("newcoder-cli", "-p", p).start();\n  }\n}\n',
    "svc/d.kt": 'fun run(p: String): Process {\n'
                '    return ProcessBuilder(listOf("sh", "-c", "newcoder-cli -p fix")).start()\n}\n',
    "svc/e.rb": 'def run(p)\n  system("newcoder-cli", "-p", p)\nend\n',
    "svc/f.rs": 'use std::process::Command;\nfn run(p: &str) {\n'
                '    let _ = Command::new("newcoder-cli").arg("-p").arg(p).output();\n}\n',
    "svc/G.cs": 'using System.Diagnostics;\nclass G {\n  void Run(string p) {\n'
                '    Process.Start("/opt/bin/newcoder-cli", "-p " + p);\n  }\n}\n',
    "svc/h.php": "<?php\nfunction run(string $p): void {\n"
                 "    proc_close(proc_open(['newcoder-cli', '-p', $p], [], $pipes));\n}\n",
}
NEW_AGENT_LINES = {"svc/a.go": 6, "svc/b.go": 6, "svc/C.java": 3, "svc/d.kt": 2, "svc/e.rb": 2,
                   "svc/f.rs": 3, "svc/G.cs": 4, "svc/h.php": 3}


@needs_semgrep
def test_new_catalog_agent_reaches_every_language(tmp_path):
    pack = tmp_path / "pack"
    assert GEN.main(["--catalog", str(_scratch_catalog(tmp_path, NEW_AGENT)), "--out", str(pack)]) == 0
    src = tmp_path / "src"
    for rel, text in NEW_AGENT_SNIPPETS.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text, encoding="utf-8")
    targets = sorted(NEW_AGENT_SNIPPETS)
    outcome = run_semgrep(src, targets, [pack], timeout=300)
    assert outcome.error == "" and outcome.not_analysed == ()
    launches = {(h.path, h.line) for h in outcome.hits if h.rule_id == "agent-inline-launch"}
    assert launches == set(NEW_AGENT_LINES.items())
    # the committed pack, generated from the real catalog, does not know the new agent
    assert run_semgrep(src, targets, [PACK], timeout=300).hits == ()


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
    assert set(env) == {"PATH", "HOME", "LANG", "SEMGREP_SEND_METRICS", "SEMGREP_ENABLE_VERSION_CHECK",
                        "GIT_DIR", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "GIT_TERMINAL_PROMPT"}
    assert env["GIT_DIR"].startswith(env["HOME"]) and env["GIT_TERMINAL_PROMPT"] == "0"
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

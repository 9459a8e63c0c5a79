"""The FIX part of every report: each rule's before/after is the one tailored to the finding, in
the evidence's own language and surface — not the rule's generic example.

`scanner.remediation.apply.finding_fixes` computes the snippets (once per render, by the caller);
`scanner.output.answer.fix_items` picks one per rule: the finding's own ("site id#rule id"), else
for a rule fixed by the launch call its site's rewrite, else the rule's example. The goldens pin
each scenario's FIX section in Markdown (the after-side of `fix --apply` rewrites scrubbed, as in
every golden); the named tests pin what the after must say.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from test_reports_helpers import ROOT, assert_golden, build, cli

from scanner.catalog import load_catalog
from scanner.engine import ScanOptions, scan
from scanner.output.answer import fix_items
from scanner.output.json_report import to_dict
from scanner.output.markdown import render_markdown
from scanner.output.text import render_text
from scanner.remediation.apply import finding_fixes, fix_snippets
from scanner.remediation.snippets import site_snippets

REPOS = ROOT / "fixtures" / "repos"

SMOLAGENTS = {
    "agents/research.py": ('"""Research agent: runs the model\'s Python."""\n'
                           "from smolagents import CodeAgent, InferenceClientModel\n\n"
                           "model = InferenceClientModel()\n"
                           "agent = CodeAgent(tools=[], model=model)\n"),
}


def _aider(key: str) -> dict[str, str]:
    model = {"OPENAI_API_KEY": "gpt-4o", "ANTHROPIC_API_KEY": "sonnet"}[key]
    return {"scripts/nightly.sh": (
        "#!/bin/sh\n# Nightly fixer: aider in a throwaway container.\n"
        f'timeout 20m docker run --rm --network none -e {key} -v "$PWD:/src:ro" agent@sha256:{"b" * 64} '
        f'aider --model {model} --yes-always --message "fix the failing tests"\n')}


CODEX_SHELL = {"bin/fix.sh": '#!/bin/sh\nset -e\ncodex exec --yolo "fix the failing tests"\n'}


class Scenario:
    """One tree, scanned once, with the snippets computed once and every report rendered from them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.result = scan(root, ScanOptions())
        self.catalog = load_catalog()
        self.fixes = finding_fixes(root, self.result)
        self.markdown = render_markdown(self.result, self.catalog, self.fixes)
        self.json = to_dict(self.result, self.catalog, self.fixes)
        console = Console(file=io.StringIO(), width=400, color_system=None, force_terminal=False)
        render_text(self.result, console, self.catalog, self.fixes, width=400, verbose=True)
        self.text = console.file.getvalue()  # type: ignore[attr-defined]

    def fix(self, rule_id: str) -> dict[str, Any]:
        """The JSON fix of a rule, followed to the rule whose snippet covers it."""
        fixes = {f["rule_id"]: f for f in self.json["fixes"]}
        fix = fixes[rule_id]
        return fixes[fix["covered_by"]] if fix["covered_by"] else fix

    def section(self, rule_id: str) -> str:
        """The Markdown FIX entry of a rule."""
        body = self.markdown.split("## 4. FIX", 1)[1].split("\n## Scope", 1)[0]
        entries = re.split(r"\n(?=### \d+\. )", body)
        (entry,) = [e for e in entries if f"(`{rule_id}`)" in e.split("\n", 1)[0]]
        return entry

    def fix_section(self) -> str:
        body = self.markdown.split("## 4. FIX", 1)[1]
        return "## 4. FIX" + body.split("\n### What crosses", 1)[0].split("\n## Scope", 1)[0]


def _tree(base: Path, files: dict[str, str] | None = None, fixture: str = "") -> Path:
    if fixture:
        tree = base / fixture
        shutil.copytree(REPOS / fixture, tree, ignore=shutil.ignore_patterns("expected.yaml"))
        return tree
    return build(base, files or {})


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return Scenario(_tree(tmp_path_factory.mktemp("compose"), fixture="compose-mounts-ssh-docker-socket"))


@pytest.fixture(scope="module")
def smolagents(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return Scenario(_tree(tmp_path_factory.mktemp("smolagents"), SMOLAGENTS))


@pytest.fixture(scope="module", params=["OPENAI_API_KEY", "ANTHROPIC_API_KEY"])
def aider(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Scenario]:
    return request.param, Scenario(_tree(tmp_path_factory.mktemp("aider"), _aider(request.param)))


@pytest.fixture(scope="module")
def codex_ts(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return Scenario(_tree(tmp_path_factory.mktemp("codex-ts"), fixture="ts-codex-yolo"))


@pytest.fixture(scope="module")
def codex_shell(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return Scenario(_tree(tmp_path_factory.mktemp("codex-sh"), CODEX_SHELL))


# --------------------------------------------------------------------------------------------
# Golden FIX sections


def test_golden_compose(compose: Scenario) -> None:
    assert_golden("fix-compose.md", compose.fix_section())


def test_golden_smolagents(smolagents: Scenario) -> None:
    assert_golden("fix-smolagents.md", smolagents.fix_section())


def test_golden_aider(aider: tuple[str, Scenario]) -> None:
    key, scenario = aider
    assert_golden(f"fix-aider-{key.split('_')[0].lower()}.md", scenario.fix_section())


def test_golden_codex(codex_ts: Scenario, codex_shell: Scenario) -> None:
    assert_golden("fix-codex-ts.md", codex_ts.fix_section())
    assert_golden("fix-codex-shell.md", codex_shell.fix_section())


# --------------------------------------------------------------------------------------------
# What each after says


def test_a_compose_socket_gets_compose_yaml_before_and_after(compose: Scenario) -> None:
    # It showed the rule's `docker run -v /var/run/docker.sock:...` line, in a `sh` fence.
    fix = compose.fix("agent-docker-socket")
    assert fix["rewrite"] is True and fix["applies"] is True and fix["language"] == "yaml"
    assert fix["path"] == "docker-compose.yml"
    assert "/var/run/docker.sock:/var/run/docker.sock" in fix["before"]
    assert "docker.sock" not in fix["after"]
    for side in (fix["before"], fix["after"]):
        assert "docker run" not in side
        assert isinstance(yaml.safe_load(side), (list, dict)), side  # compose YAML, not a command line
    entry = compose.section("agent-docker-socket")
    assert "Before (`docker-compose.yml` line 8):" in entry
    assert entry.count("```yaml\n") == 2 and "```sh" not in entry
    assert "`blastwall fix --apply` writes this change." in entry
    # Operator credentials and the model key: the compose lines themselves, in YAML.
    assert compose.fix("agent-operator-credentials-passed")["language"] == "yaml"
    key = compose.fix("agent-model-key-passed")
    assert key["language"] == "yaml" and "ANTHROPIC_API_KEY" in key["before"] and "ANTHROPIC_API_KEY" in key["after"]
    assert key["applies"] is False
    assert "`blastwall fix --apply` does not write this change: make it by hand." in \
        compose.section("agent-model-key-passed")


def test_a_smolagents_codeagent_gets_its_own_executor(smolagents: Scenario) -> None:
    # It showed AutoGen's LocalCommandLineCodeExecutor -> DockerCommandLineCodeExecutor example.
    fix = smolagents.fix("framework-host-code-execution")
    assert fix["language"] == "python" and fix["rewrite"] is True and fix["applies"] is True
    assert "CodeAgent(" in fix["before"] and "executor_type=" not in fix["before"]
    assert re.search(r"CodeAgent\(.*executor_type=\"docker\"", fix["after"]), fix["after"]
    for side in (fix["before"], fix["after"]):
        assert "CommandLineCodeExecutor" not in side
    entry = smolagents.section("framework-host-code-execution")
    assert "Before (`agents/research.py` line 5):" in entry and entry.count("```python\n") == 2


def test_an_aider_key_fix_names_aider_and_its_own_key(aider: tuple[str, Scenario]) -> None:
    # It showed the rule's `docker run -e ANTHROPIC_API_KEY ... claude` example whatever the key.
    key, scenario = aider
    other = {"OPENAI_API_KEY": "ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY": "OPENAI_API_KEY"}[key]
    fix = scenario.fix("agent-model-key-passed")
    assert fix["language"] == "shell" and fix["rewrite"] is True
    assert key in fix["before"] and key in fix["after"]
    assert "aider" in fix["after"] and "claude" not in fix["after"]
    assert other not in fix["before"] + fix["after"]
    assert re.search(rf"-e {key}=\S*broker", fix["after"]), fix["after"]
    entry = scenario.section("agent-model-key-passed")
    assert "Before (`scripts/nightly.sh` line 3):" in entry and entry.count("```sh\n") == 2


def test_a_codex_yolo_gets_a_codex_after(codex_ts: Scenario, codex_shell: Scenario) -> None:
    # A permission bypass without a snippet of its own takes its launch's rewrite, not `claude ...`.
    for scenario, language in ((codex_ts, "typescript"), (codex_shell, "shell")):
        fix = scenario.fix("agent-permission-bypass")
        assert fix["language"] == language and fix["applies"] is True
        assert "codex" in fix["after"] and "claude" not in fix["after"]
        assert "agent-bwrap.sh" in fix["after"]
    shell = codex_shell.fix("agent-permission-bypass")
    assert shell["before"] == 'codex exec --yolo "fix the failing tests"'
    # bin/fix.sh may be started from any folder: the runner is spelled from the repository root
    assert shell["after"].endswith('"$(git rev-parse --show-toplevel)/sandbox/agent-bwrap.sh" codex exec --yolo '
                                   '"fix the failing tests"')
    assert "```typescript\n" in codex_ts.markdown and "```sh\n" in codex_shell.markdown


# --------------------------------------------------------------------------------------------
# How one snippet per rule is picked and said


def test_the_text_report_says_what_fix_apply_writes(compose: Scenario, smolagents: Scenario) -> None:
    assert "blastwall fix --apply writes this change" in smolagents.text
    assert "blastwall fix --apply does not write this change: make it by hand" in compose.text
    assert "`" not in "".join(line for line in compose.text.splitlines() if "fix --apply" in line)


def test_each_change_is_shown_once(compose: Scenario) -> None:
    # The compose volumes hunk fixes the socket, the ssh folder and the writable target at once.
    shown = [(f["before"], f["after"]) for f in compose.json["fixes"] if f["before"]]
    assert len(shown) == len(set(shown))
    covered = {f["rule_id"]: f["covered_by"] for f in compose.json["fixes"] if f["covered_by"]}
    assert covered.get("agent-credential-files-exposed") == "agent-docker-socket"
    assert covered.get("agent-writable-target") == "agent-docker-socket"
    # A rule is covered only by one shown before it.
    order = [f["rule_id"] for f in compose.json["fixes"]]
    assert all(order.index(by) < order.index(rule) for rule, by in covered.items())


def test_a_declaration_does_not_lend_its_hunk_to_launch_rules(compose: Scenario) -> None:
    # The compose service's first hunk (the volumes) is not a fix for an unbounded session.
    fix = {f["rule_id"]: f for f in compose.json["fixes"]}["agent-unbounded-session"]
    assert fix["rewrite"] is False and fix["covered_by"] == "" and fix["applies"] is None


def test_both_snippet_mappings_give_the_same_fixes(compose: Scenario, smolagents: Scenario,
                                                   codex_ts: Scenario) -> None:
    # The CLI may hand the reports fix_snippets' plain pairs: the same before/after, the language
    # taken from the evidence's file, and no claim about what `fix --apply` writes.
    for scenario in (compose, smolagents, codex_ts):
        plain = site_snippets(scenario.fixes)
        rich_items = fix_items(scenario.result, scenario.catalog, scenario.fixes)
        plain_items = fix_items(scenario.result, scenario.catalog, plain)
        for a, b in zip(rich_items, plain_items, strict=True):
            assert (a.rule_id, a.before, a.after, a.language, a.where, a.covered_by, a.rewrite) == \
                (b.rule_id, b.before, b.after, b.language, b.where, b.covered_by, b.rewrite)
            assert b.applies is None
        assert "fix --apply` writes this change" not in render_markdown(scenario.result, scenario.catalog, plain)


def test_the_reports_compute_no_snippets_themselves(compose: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    # Snippet computation is the caller's, once per render: the renderers only read the mapping.
    import scanner.remediation.apply as apply
    import scanner.remediation.snippets as snippets

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a report planned a rewrite itself")

    for name in ("plan_apply", "finding_fixes", "fix_snippets", "_report_plan"):
        monkeypatch.setattr(apply, name, refuse)
    monkeypatch.setattr(snippets, "fixes_from_plan", refuse)
    render_markdown(compose.result, compose.catalog, compose.fixes)
    to_dict(compose.result, compose.catalog, compose.fixes)
    render_text(compose.result, Console(file=io.StringIO()), compose.catalog, compose.fixes)


def test_shipped_code_gives_the_example(tmp_path: Path) -> None:
    # The same rule in a test and in shipped code: the FIX shows the shipped launch.
    tree = build(tmp_path, {
        "tests/test_agent.py": ('import subprocess\n\ndef test_run():\n'
                                '    subprocess.run(["claude", "-p", "hi"], check=True)\n'),
        "src/agent.py": 'import subprocess\n\ndef run():\n    subprocess.run(["gemini", "-p", "hi"], check=True)\n',
    })
    result = scan(tree, ScanOptions())
    items = {i.rule_id: i for i in fix_items(result, load_catalog(), finding_fixes(tree, result))}
    item = items["agent-inline-launch"]
    assert item.where.path == "src/agent.py" and "gemini" in item.after and item.rewrite


def test_the_cli_shows_the_tailored_snippet_in_its_language(tmp_path: Path) -> None:
    tree = _tree(tmp_path, fixture="compose-mounts-ssh-docker-socket")
    proc = cli("scan", str(tree), "-f", "json", "--fail-on", "never", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    fixes = {f["rule_id"]: f for f in json.loads(proc.stdout)["fixes"]}
    socket = fixes["agent-docker-socket"]
    assert socket["language"] == "yaml" and socket["rewrite"] is True
    assert "/var/run/docker.sock" in socket["before"] and "docker run" not in socket["before"] + socket["after"]
    expected = fix_snippets(tree, scan(tree, ScanOptions()))["docker-compose.yml:2:claude-code#agent-docker-socket"]
    assert (socket["before"], socket["after"]) == expected

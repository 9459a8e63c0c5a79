"""GitHub workflow surfaces: entry points followed into the repository, the CI least-privilege
judgement (gated tools, push scopes, OIDC), string inputs of agent actions and expressions in
run steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixture_harness import read_annotations, write_tree
from scanner.launch.workflow import mask_expressions, unmask
from scanner.catalog import load_catalog
from scanner.launch.cfgjudge import ConfigTools
from scanner.launch.workflow_links import EntryResolver, _make_rules
from scanner.project.files import ProjectFiles
from scanner.project.summaries import python_imports
from scanner.engine import ScanOptions, scan
from scanner.model import Boundary, Severity, Verdict

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
SCENARIOS = ["workflow-gated-agents-readonly", "workflow-agent-tools-bypass", "workflow-runs-python-entry",
             "workflow-runs-npm-make-actions", "workflow-runs-contained-entry"]


def _scan(root: Path):
    return scan(root, ScanOptions(jobs=1))


@pytest.mark.parametrize("name", SCENARIOS)
def test_annotated_lines(name: str) -> None:
    """The `ruleid:` / `ok:` comments in the scenario files agree with the scan."""
    exp = read_annotations(REPOS / name)
    assert exp.expected and exp.forbidden
    got = {(f.rule_id, f.location.path, f.location.line) for f in _scan(REPOS / name).findings}
    assert not exp.expected - got, sorted(exp.expected - got)
    assert not exp.forbidden & got, sorted(exp.forbidden & got)


# -- expressions in run steps ----------------------------------------------------------------

def test_expressions_are_masked_at_the_same_width() -> None:
    script = 'aider --model "${{ inputs.model }}" \\\n  ${{ steps.x.outputs.result }} --yes-always'
    masked, originals = mask_expressions(script)
    assert "${{" not in masked and len(masked) == len(script)
    assert [len(line) for line in masked.split("\n")] == [len(line) for line in script.split("\n")]
    assert unmask(masked, originals) == script


def test_every_launch_in_a_run_block_is_a_site(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".github/workflows/a.yml": (
        "on: workflow_dispatch\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 5\n    steps:\n      - run: |\n"
        "          aider --yes-always --message \"${{ inputs.task }}\"\n"
        "          { echo \"again: ${{ inputs.task }}\"; } > next.md\n"
        "          aider \\\n            --message-file next.md \\\n            --yes-always\n")})
    sites = [s for s in _scan(root).launch_sites if s.agent == "aider"]
    assert [s.location.line for s in sites] == [10, 12]


# -- least privilege --------------------------------------------------------------------------

def _wf(perms: str, with_: str = "", on: str = "pull_request") -> str:
    return (f"on: {on}\npermissions:\n{perms}jobs:\n  a:\n    runs-on: ubuntu-latest\n    timeout-minutes: 5\n"
            "    steps:\n      - uses: actions/checkout@v4\n      - uses: anthropics/claude-code-action@v1\n"
            f"        with:\n          anthropic_api_key: ${{{{ secrets.ANTHROPIC_API_KEY }}}}\n{with_}")


def test_oidc_is_not_a_write_scope_and_default_tools_are_gated(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".github/workflows/a.yml": _wf("  contents: read\n  id-token: write\n")})
    result = _scan(root)
    assert result.verdict is Verdict.NOT_PRESENT
    assert not [f for f in result.findings if f.rule_id == "workflow-agent-write-token"]
    (site,) = result.launch_sites
    assert site.containment.boundary is Boundary.AGENT_SANDBOX


def test_push_scope_is_the_agents_write_path(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".github/workflows/a.yml": _wf("  issues: write\n  contents: write\n")})
    (finding,) = [f for f in _scan(root).findings if f.rule_id == "workflow-agent-write-token"]
    assert (finding.category, finding.severity, finding.location.line) == ("writable-mount", Severity.HIGH, 4)


def test_comment_scopes_are_hardening(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".github/workflows/a.yml": _wf("  contents: read\n  pull-requests: write\n")})
    result = _scan(root)
    (finding,) = [f for f in result.findings if f.rule_id == "workflow-agent-write-token"]
    assert (finding.category, finding.severity) == ("inherited-credentials", Severity.MEDIUM)
    assert result.verdict is Verdict.NOT_PRESENT


def test_bash_allowed_in_claude_args_is_a_bypass(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".github/workflows/a.yml": _wf(
        "  contents: read\n", "          claude_args: --allowedTools Bash\n")})
    result = _scan(root)
    assert result.verdict is Verdict.PRESENT
    assert {f.location.line for f in result.findings if f.rule_id == "agent-permission-bypass"} == {13}


def test_open_trigger_is_high_only_when_the_agent_can_act(tmp_path: Path) -> None:
    gate = '          allowed_non_write_users: "*"\n'
    quiet = write_tree(tmp_path / "quiet", {".github/workflows/a.yml": _wf("  contents: read\n  issues: write\n", gate, "issues")})
    loud = write_tree(tmp_path / "loud", {".github/workflows/a.yml": _wf(
        "  contents: read\n  issues: write\n", gate + "          claude_args: --dangerously-skip-permissions\n", "issues")})
    sev = {name: {f.severity for f in _scan(root).findings if f.rule_id == "workflow-agent-untrusted-trigger"}
           for name, root in (("quiet", quiet), ("loud", loud))}
    assert sev == {"quiet": {Severity.MEDIUM}, "loud": {Severity.HIGH}}


def test_gemini_core_tools(tmp_path: Path) -> None:
    def wf(tools: str) -> str:
        return ("on: issues\npermissions:\n  contents: read\n  issues: write\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                "    timeout-minutes: 5\n    steps:\n      - uses: google-github-actions/run-gemini-cli@v0\n"
                "        with:\n          settings: |\n            {\"coreTools\": [\n"
                f"              {tools}\n            ]}}\n")
    listed = _scan(write_tree(tmp_path / "listed", {".github/workflows/a.yml": wf('"run_shell_command(gh label list)"')}))
    shell = _scan(write_tree(tmp_path / "shell", {".github/workflows/a.yml": wf('"ShellTool", "ReadFileTool"')}))
    assert listed.verdict is Verdict.NOT_PRESENT
    assert [(f.rule_id, f.location.line) for f in shell.findings if f.rule_id == "agent-permission-bypass"] == [
        ("agent-permission-bypass", 14)]


# -- entry points -----------------------------------------------------------------------------

@pytest.fixture()
def resolver(tmp_path: Path) -> EntryResolver:
    paths = {"tools/run.py", "pkg/jobs/main.py", "pkg/jobs/__init__.py", "src/app/cli.py", "scripts/go.sh",
             "web/agent.ts", "web/package.json", "package.json", "Makefile", "sub/Makefile", "bin/agent.mjs"}
    return EntryResolver(ProjectFiles(tmp_path, paths), ConfigTools.of(load_catalog()), paths, {})


@pytest.mark.parametrize(("command", "base", "want"), [
    ("python tools/run.py --x 1", "", [("file", "tools/run.py", "")]),
    ("python3 -u -m pkg.jobs.main", "", [("file", "pkg/jobs/main.py", "")]),
    ("python -m app.cli", "", [("file", "src/app/cli.py", "")]),
    ("uv run --with rich python tools/run.py", "", [("file", "tools/run.py", "")]),
    ("poetry run python -m pkg.jobs.main", "", [("file", "pkg/jobs/main.py", "")]),
    ("env FOO=1 python run.py", "tools", [("file", "tools/run.py", "")]),
    ("node --require ts-node/register web/agent.ts", "", [("file", "web/agent.ts", "")]),
    ("npx tsx web/agent.ts", "", [("file", "web/agent.ts", "")]),
    ("bun run bin/agent.mjs", "", [("file", "bin/agent.mjs", "")]),
    ("deno run --allow-all web/agent.ts", "", [("file", "web/agent.ts", "")]),
    ("bash -eu scripts/go.sh", "", [("file", "scripts/go.sh", "")]),
    ("./scripts/go.sh --fast", "", [("file", "scripts/go.sh", "")]),
    (["${{ github.workspace }}/scripts/go.sh"], "web", [("file", "scripts/go.sh", "")]),
    ("timeout 10m ./scripts/go.sh", "", [("file", "scripts/go.sh", "")]),
    ("npm run review", "web", [("npm", "web/package.json", "review")]),
    ("npm --prefix web run review", "", [("npm", "web/package.json", "review")]),
    ("npm test", "", [("npm", "package.json", "test")]),
    ("yarn review", "", [("npm", "package.json", "review")]),
    ("pnpm run lint", "", [("npm", "package.json", "lint")]),
    ("make -C sub fix", "", [("make", "sub/Makefile", "fix")]),
    ("make", "", [("make", "Makefile", "")]),
    ("sh -c 'python tools/run.py'", "", [("inline", "python tools/run.py", "")]),
    ("docker run img python tools/run.py", "", []),
    ("pytest -q", "", []),
    ("npm ci", "", []),
    ("python -c 'print(1)'", "", []),
    ("python $SCRIPT", "", []),
])
def test_command_targets(resolver: EntryResolver, command: str | list[str], base: str, want: list) -> None:
    import shlex

    words = command if isinstance(command, list) else shlex.split(command)
    assert resolver.targets(words, base) == want


def test_python_imports_follow_src_layout(tmp_path: Path) -> None:
    paths = {"scripts/entry.py", "src/bot/__init__.py", "src/bot/agent.py", "scripts/helpers.py"}
    texts = {"scripts/entry.py": "import os\nfrom bot.agent import go\nimport helpers\nfrom . import nothing\n"}
    res = EntryResolver(ProjectFiles(tmp_path, paths), ConfigTools.of(load_catalog()), paths, {})
    got = res._python_imports("scripts/entry.py", python_imports(texts["scripts/entry.py"]), "")
    assert got == ["src/bot/agent.py", "scripts/helpers.py"]


def test_make_rules() -> None:
    text = ".PHONY: a\nall: build\n\t@echo all\n\nbuild:\n\t./b.sh\n\tcc x.c\nVAR := 1\nclean:\n\trm -rf out\n"
    rules = _make_rules(text)
    assert rules["all"] == (2, 4, ["build"])
    assert rules["build"][:2] == (5, 7)
    assert "VAR" not in rules and ".PHONY" not in rules


def test_scheduled_runs_are_marked_unattended() -> None:
    result = _scan(REPOS / "workflow-runs-python-entry")
    marked = {s.location.path for s in result.launch_sites if s.containment.has("unattended")}
    assert marked == {".github/workflows/nightly-agents.yml", "maintenance/cleanup.py", "src/triage_bot/agent.py"}
    reached = next(s for s in result.launch_sites if s.location.path == "src/triage_bot/agent.py")
    assert reached.containment.has("entry-point") and reached.containment.has("timeout")


def test_step_sites_need_an_agent_launch(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        ".github/workflows/ci.yml": ("on: push\npermissions:\n  contents: write\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
                                     "    steps:\n      - uses: actions/checkout@v4\n      - run: python tools/check.py\n"
                                     "      - run: uv run pytest\n"),
        "tools/check.py": "import json\nprint(json.dumps({'ok': True}))\n",
        "tools/agent_docs.md": "claude -p is documented here\n",
    })
    result = _scan(root)
    assert result.verdict is Verdict.NOT_PRESENT and not result.launch_sites


def test_issue_trigger_needs_a_gate_unless_the_action_checks_the_actor(tmp_path: Path) -> None:
    def wf(uses: str, cond: str = "") -> str:
        return ("on:\n  issues:\n    types: [opened, labeled]\npermissions:\n  contents: read\njobs:\n  a:\n"
                f"    runs-on: ubuntu-latest\n{cond}    timeout-minutes: 5\n    steps:\n      - uses: {uses}\n"
                "        with:\n          prompt: Triage this issue\n")

    def triggers(text: str) -> list[int]:
        root = write_tree(tmp_path / str(len(list(tmp_path.iterdir()))), {".github/workflows/a.yml": text})
        return [f.location.line for f in _scan(root).findings if f.rule_id == "workflow-agent-untrusted-trigger"]

    assert triggers(wf("google-github-actions/run-gemini-cli@v0")) == [2]
    assert triggers(wf("google-github-actions/run-gemini-cli@v0", "    if: github.event.label.name == 'agent'\n")) == []
    assert triggers(wf("anthropics/claude-code-action@v1")) == []


def test_local_javascript_action_entry_is_followed(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        ".github/workflows/a.yml": ("on: push\npermissions:\n  contents: write\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                                    "    timeout-minutes: 5\n    steps:\n      - uses: actions/checkout@v4\n"
                                    "      - uses: ./.github/actions/agent\n"),
        ".github/actions/agent/action.yml": "name: agent\nruns:\n  using: node20\n  main: src/main.js\n",
        ".github/actions/agent/src/main.js": ('const { spawnSync } = require("child_process");\n'
                                              'spawnSync("claude", ["-p", "fix", "--dangerously-skip-permissions"]);\n'),
    })
    result = _scan(root)
    step = [s for s in result.launch_sites if s.location.path == ".github/workflows/a.yml"]
    assert [(s.location.line, s.agent, s.containment.boundary) for s in step] == [(10, "claude-code", Boundary.NONE)]
    assert ("workflow-agent-write-token", 3) in {(f.rule_id, f.location.line) for f in result.findings}

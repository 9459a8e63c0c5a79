"""`blastwall fix --apply` on every surface: what each rewrite writes, that it stays valid where it
lives (workflow and compose schemas, JSON, TOML, Python, JavaScript), that harmless settings
survive, that launches reach the runner from wherever they run, and that what stays manual is
listed once per reason. Before/after snippets parse in their own language."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

import jsonschema
import pytest
import yaml

from fixture_harness import blastwall, plan_for, write_tree
from scanner.engine import ScanOptions, scan
from scanner.remediation import configs
from scanner.remediation.apply import finding_fixes
from scanner.remediation.snippets import parses

ROOT = Path(__file__).resolve().parents[1]
REPOS = ROOT / "fixtures" / "repos"
SCHEMAS = Path(__file__).resolve().parent / "schemas"


# --- snippets --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in REPOS.iterdir() if (p / "expected.yaml").is_file()))
def test_snippets_parse_in_their_language(name: str) -> None:
    root = REPOS / name
    result = scan(root, ScanOptions())
    for (site_id, rule_id), fix in finding_fixes(root, result).items():
        assert parses(fix.language, fix.before), (site_id, rule_id, fix.before)
        assert parses(fix.language, fix.after), (site_id, rule_id, fix.after)


def test_parse_check_is_not_vacuous() -> None:
    assert not parses("python", "f(x")
    assert not parses("yaml", "a: [")
    assert not parses("json", '"a": ')
    assert not parses("javascript", "spawn(")
    assert not parses("shell", 'echo "x')


def test_model_key_snippet_keeps_the_agents_own_key(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"run.sh": '#!/bin/sh\ndocker run --rm -e OPENAI_API_KEY img aider --message hi\n'})
    result = scan(repo, ScanOptions())
    fixes = {rule: fix for (_site, rule), fix in finding_fixes(repo, result).items()}
    fix = fixes["agent-model-key-passed"]
    assert "OPENAI_API_KEY" in fix.before and "OPENAI_API_KEY" in fix.after
    assert "ANTHROPIC" not in fix.after and "broker" in fix.after


def test_framework_snippets_use_the_frameworks_own_safe_option() -> None:
    root = REPOS / "py-framework-approvals"
    fixes = finding_fixes(root, scan(root, ScanOptions()))
    afters = "\n".join(f.after for f in fixes.values())
    assert 'executor_type="docker"' in afters and '"use_docker": True' in afters
    assert "codex" not in afters and "agent-bwrap" not in afters
    root = REPOS / "sdk-mixed-frameworks"
    fixes = finding_fixes(root, scan(root, ScanOptions()))
    autogen = [f for (site, rule), f in fixes.items() if site.startswith("agents/autofix.py")]
    assert autogen and "DockerCommandLineCodeExecutor" in autogen[0].after and autogen[0].rewrite


def test_compose_snippet_is_compose_yaml() -> None:
    root = REPOS / "compose-mounts-ssh-docker-socket"
    fixes = finding_fixes(root, scan(root, ScanOptions()))
    socket = next(f for (_s, rule), f in fixes.items() if rule == "agent-docker-socket")
    assert socket.language == "yaml" and "docker.sock" in socket.before and "docker.sock" not in socket.after
    assert "docker run" not in socket.after


def test_fix_snippets_keeps_its_signature_and_keys() -> None:
    from scanner.remediation.apply import fix_snippets

    root = REPOS / "py-inline-claude"
    result = scan(root, ScanOptions())
    snippets = fix_snippets(root, result)
    site = next(s for s in result.launch_sites)
    before, after = snippets[site.site_id]
    assert "subprocess.run(cmd" in before and "./sandbox/agent-bwrap.sh" in after
    assert any("#" in key for key in snippets)


# --- settings, MCP, workflows, compose, container runs -----------------------------------------------


def test_settings_rewrites_keep_layout_and_parse(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {
        "configs/claude.json": '{\n  // team defaults\n  "permissions": {"defaultMode": "bypassPermissions", '
                               '"allow": ["Bash(*)", "Read"]},\n  "env": {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "8000"}\n}\n',
        ".codex/config.toml": '# mine\napproval_policy = "never"  # fast\nsandbox_mode = "danger-full-access"\n\n'
                              '[sandbox_workspace_write]\nnetwork_access = true\n',
        ".gemini/settings.json": '{"tools": {"autoAccept": true}, "general": {"defaultApprovalMode": "yolo"}}\n',
    })
    claude = configs.rewrite_agent_settings("configs/claude.json", (repo / "configs/claude.json").read_text(),
                                            "claude-code")
    assert "// team defaults" in claude and '"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "8000"' in claude
    from scanner.remediation.jsonedit import loads_lenient

    doc = loads_lenient(claude)
    assert doc["permissions"]["defaultMode"] == "default" and doc["permissions"]["allow"] == ["Read"]
    assert doc["sandbox"] == {"enabled": True, "allowUnsandboxedCommands": False, "failIfUnavailable": True}
    codex = configs.rewrite_agent_settings(".codex/config.toml", (repo / ".codex/config.toml").read_text(), "codex")
    parsed = tomllib.loads(codex)
    assert parsed["approval_policy"] == "on-request" and parsed["sandbox_mode"] == "workspace-write"
    assert parsed["sandbox_workspace_write"]["network_access"] is False and "# fast" in codex
    gemini = json.loads(configs.rewrite_agent_settings(".gemini/settings.json",
                                                       (repo / ".gemini/settings.json").read_text(), "gemini-cli"))
    assert gemini["tools"]["autoAccept"] is False and gemini["general"]["defaultApprovalMode"] == "default"


@pytest.mark.parametrize(("path", "command"), [
    (".mcp.json", "./sandbox/agent-bwrap.sh"),
    ("web/.mcp.json", "../sandbox/agent-bwrap.sh"),
    (".vscode/mcp.json", "${workspaceFolder}/sandbox/agent-bwrap.sh"),
    (".gemini/settings.json", "./sandbox/agent-bwrap.sh"),
])
def test_mcp_server_is_started_through_the_runner_from_its_clients_folder(path: str, command: str) -> None:
    key = "servers" if path.startswith(".vscode") else "mcpServers"
    text = json.dumps({key: {"db": {"command": "npx", "args": ["-y", "@acme/db-mcp"],
                                    "env": {"DB_URL": "${DB_URL}", "LOG": "1"}}}}, indent=2) + "\n"
    new = json.loads(configs.rewrite_mcp_json(path, text, 3, "sandbox/agent-bwrap.sh"))
    server = new[key]["db"]
    assert server["command"] == command and server["args"] == ["npx", "-y", "@acme/db-mcp"]
    assert server["env"]["DB_URL"] == "${DB_URL}" and server["env"]["BLASTWALL_PASS_ENV"] == "DB_URL,LOG"


def test_mcp_config_outside_the_repository_stays_manual() -> None:
    text = json.dumps({"mcpServers": {"db": {"command": "npx", "args": ["x"]}}}, indent=2)
    with pytest.raises(configs.Manual, match="outside the repository"):
        configs.rewrite_mcp_json("claude_desktop_config.json", text, 3, "sandbox/agent-bwrap.sh")


@pytest.mark.parametrize("name", ["workflow-write-token-bypass", "workflow-agent-tools-bypass",
                                  "workflow-runs-python-entry", "workflow-runs-npm-make-actions"])
def test_rewritten_workflows_stay_schema_valid(tmp_path: Path, name: str) -> None:
    schema = json.loads((SCHEMAS / "github-workflow.json").read_text())
    repo = tmp_path / name
    shutil.copytree(REPOS / name, repo)
    _result, plan = plan_for(repo)
    workflows = [p for p in plan.edits if p.startswith(".github/workflows/")]
    assert workflows
    for path in workflows:
        document = yaml.safe_load(plan.edits[path][1])
        if True in document:  # YAML 1.1 reads a bare `on:` key as true
            document["on"] = document.pop(True)
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(document)]
        assert not errors, (path, errors)
        text = plan.edits[path][1]
        assert "contents: write" not in text
        for job in document["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False


def test_agent_action_inputs_lose_bypass_flags_and_shell_tools(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "workflow-agent-tools-bypass", repo)
    _result, plan = plan_for(repo)
    review = plan.edits[".github/workflows/review.yml"][1]
    assert "--allowedTools Bash" not in review and "claude_args: --max-turns 20" in review
    fix = plan.edits[".github/workflows/fix.yml"][1]
    assert '"run_shell_command"' not in fix and '"read_file"' in fix
    assert "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}" not in fix
    assert "gemini_api_key: ${{ secrets.GEMINI_API_KEY }}" in fix  # the agent's own key stays
    cli = plan.edits[".github/workflows/aider-cli.yml"][1]
    assert "./sandbox/agent-bwrap.sh aider" in cli


@pytest.mark.parametrize("name", ["compose-mounts-ssh-docker-socket", "compose-agent-runtime-by-install"])
def test_rewritten_compose_stays_schema_valid(tmp_path: Path, name: str) -> None:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    repo = tmp_path / name
    shutil.copytree(REPOS / name, repo)
    _result, plan = plan_for(repo)
    [(path, (_before, after))] = [(p, e) for p, e in plan.edits.items() if p.endswith((".yml", ".yaml"))]
    document = yaml.safe_load(after)
    assert not list(jsonschema.Draft7Validator(schema).iter_errors(document))
    text = after
    assert "docker.sock" not in text and ".ssh" not in text and "unconfined" not in text
    service = next(s for s in document["services"].values() if "cap_drop" in s)
    assert service["cap_drop"] == ["ALL"] and "no-new-privileges:true" in service["security_opt"]
    assert any(str(v).endswith(":ro") for v in service["volumes"])  # the target stays, read-only


def test_container_run_line_loses_its_escapes_and_gains_the_sandbox_flags() -> None:
    words = configs.shell_words('docker run -it --privileged --network host -v "$HOME/.ssh:/root/.ssh" '
                                '-v "$PWD:/work" -v /var/run/docker.sock:/var/run/docker.sock --env-file .env '
                                '-e GITHUB_TOKEN -e ANTHROPIC_API_KEY --cap-add SYS_ADMIN img claude -p "hi there"')
    new, notes = configs.rewrite_container_run(words, ["ANTHROPIC_API_KEY"])
    line = " ".join(new)
    for gone in ("--privileged", "--network host", ".ssh", "docker.sock", "--env-file", "GITHUB_TOKEN", "SYS_ADMIN"):
        assert gone not in line, gone
    for added in ("--rm", "--read-only", "--cap-drop ALL", "--security-opt no-new-privileges", "--user 10001:10001",
                  "--memory 2g", "--pids-limit 256", '"$PWD:/work:ro"', "-e ANTHROPIC_API_KEY"):
        assert added in line, added
    assert line.endswith('img claude -p "hi there"') and notes


def test_docker_run_script_is_rewritten_and_bounded(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"run.sh": '#!/bin/sh\ndocker run --privileged -v "$HOME:/home/me" -v "$PWD:/w" '
                                               "-e ANTHROPIC_API_KEY img claude --dangerously-skip-permissions -p hi\n"})
    result, plan = plan_for(repo)
    after = plan.edits["run.sh"][1]
    assert after.splitlines()[1].startswith("timeout --kill-after=10 1800 docker run --rm --read-only")
    assert "--privileged" not in after and '"$HOME:/home/me"' not in after
    (repo / "run.sh").write_text(after)
    assert json.loads(blastwall("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)["verdict"] != "present"


# --- code: env kept, runner reached from anywhere -----------------------------------------------------


def test_python_keeps_harmless_env_and_drops_operator_credentials(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"tools/run.py": (
        "import os\nimport subprocess\n\n"
        "def go(task):\n"
        '    subprocess.run(["claude", "-p", task], env={**os.environ, "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "8000", '
        '"MY_FLAG": "1", "GITHUB_TOKEN": os.environ["GITHUB_TOKEN"]})\n')})
    _result, plan = plan_for(repo)
    after = plan.edits["tools/run.py"][1]
    ast.parse(after)
    call = after.split("subprocess.run(", 1)[1]
    assert '"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "8000"' in call and '"MY_FLAG": "1"' in call
    assert "GITHUB_TOKEN" not in call and "**os.environ" not in call
    assert '"BLASTWALL_PASS_ENV": "MY_FLAG"' in call  # a setting the runner does not know hands on by name
    assert 'cwd=os.path.join(os.path.dirname(os.path.realpath(__file__)), "..")' in call


def test_javascript_keeps_harmless_env_and_uses_its_module_system(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {
        "package.json": '{"type": "module"}\n',
        "src/run.js": ('import { spawn } from "node:child_process";\n'
                       'export const go = (task) => spawn("codex", ["exec", "--yolo", task], '
                       '{ env: { ...process.env, NO_COLOR: "1", NPM_TOKEN: process.env.NPM_TOKEN } });\n'),
        "lib/old.cjs": ('const { spawn } = require("child_process");\n'
                        'spawn("claude", ["-p", "x"], { env: { ...process.env } });\n'),
    })
    _result, plan = plan_for(repo)
    esm = plan.edits["src/run.js"][1]
    assert 'cwd: new URL("..", import.meta.url)' in esm and 'NO_COLOR: "1"' in esm and "NPM_TOKEN" not in esm
    assert "...process.env" not in esm
    cjs = plan.edits["lib/old.cjs"][1]
    assert 'cwd: __dirname + "/.."' in cjs
    node = shutil.which("node")
    if node:
        for name in ("src/run.js", "lib/old.cjs"):
            (repo / name).write_text(plan.edits[name][1])
            assert subprocess.run([node, "--check", str(repo / name)], capture_output=True).returncode == 0


@pytest.mark.parametrize(("files", "path", "prefix"), [
    ({"Makefile": "fix:\n\taider --yes-always --message hi\n"}, "Makefile", "\t./sandbox/agent-bwrap.sh aider"),
    ({"sub/Makefile": "fix:\n\taider --yes-always --message hi\n"}, "sub/Makefile",
     '\t"$$(git rev-parse --show-toplevel)/sandbox/agent-bwrap.sh" aider'),
    ({"web/package.json": '{"scripts": {"ai": "claude -p hi --dangerously-skip-permissions"}}\n'}, "web/package.json",
     '"ai": "\\"$(git rev-parse --show-toplevel)/sandbox/agent-bwrap.sh\\" claude'),
    ({"bin/ask.sh": "#!/bin/sh\ngemini --yolo -p hi\n"}, "bin/ask.sh",
     '"$(git rev-parse --show-toplevel)/sandbox/agent-bwrap.sh" gemini'),
    ({"ask.sh": "#!/bin/sh\ngemini --yolo -p hi\n"}, "ask.sh",  # a script may be started from any folder
     '"$(git rev-parse --show-toplevel)/sandbox/agent-bwrap.sh" gemini'),
])
def test_shell_launches_reach_the_runner_from_where_they_run(tmp_path: Path, files: dict, path: str, prefix: str) -> None:
    repo = write_tree(tmp_path / "repo", files)
    _result, plan = plan_for(repo)
    assert prefix in plan.edits[path][1]


def test_workflow_step_with_a_working_directory_reaches_the_runner(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {".github/workflows/a.yml": (
        "on: workflow_dispatch\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    timeout-minutes: 5\n"
        "    steps:\n      - run: claude -p hi --dangerously-skip-permissions\n        working-directory: docs\n"
        "        env:\n          ANTHROPIC_API_KEY: ${{ secrets.ANTHROPIC_API_KEY }}\n")})
    _result, plan = plan_for(repo)
    after = plan.edits[".github/workflows/a.yml"][1]
    assert "- run: $GITHUB_WORKSPACE/sandbox/agent-bwrap.sh claude" in after  # a plain scalar starts unquoted
    assert yaml.safe_load(after)["jobs"]["a"]["steps"][0]["working-directory"] == "docs"
    block = write_tree(tmp_path / "block", {".github/workflows/a.yml": (
        "on: workflow_dispatch\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    timeout-minutes: 5\n"
        "    defaults:\n      run:\n        working-directory: docs\n"
        "    steps:\n      - run: |\n          claude -p hi --dangerously-skip-permissions\n")})
    _result, plan = plan_for(block)
    after = plan.edits[".github/workflows/a.yml"][1]
    assert '\n          "$GITHUB_WORKSPACE/sandbox/agent-bwrap.sh" claude -p hi' in after
    assert yaml.safe_load(after)["jobs"]["a"]["steps"][0]["run"].startswith('"$GITHUB_WORKSPACE/sandbox/')


# --- the summary ---------------------------------------------------------------------------------


def test_manual_sites_are_listed_once_per_reason_with_counts(tmp_path: Path) -> None:
    files = {f"agents/a{i:02}.py": ("from langchain_community.tools import ShellTool\n\n"
                                    "tools = [ShellTool()]\n") for i in range(12)}
    repo = write_tree(tmp_path / "repo", files)
    proc = blastwall("fix", str(repo), "--apply", "--yes")
    assert proc.returncode == 0, proc.stderr
    manual = [line for line in proc.stdout.splitlines() if line.startswith("manual: ")]
    assert len(manual) == 1, proc.stdout
    assert "12 sites in 12 files" in manual[0] and "and 6 more files" in manual[0]
    assert proc.stdout.splitlines()[-1].startswith("summary: 0 launch sites rewritten, 12 left")


def test_an_agent_in_a_multiplexer_pane_is_left_to_the_reader(tmp_path: Path) -> None:
    """A runner in front of `tmux new-session` would hold the tmux client, not the command the pane
    runs, so the launch is listed as manual instead of rewritten wrongly."""
    repo = write_tree(tmp_path / "repo", {
        "start.sh": "#!/bin/sh\ntmux new-session -d -s review \"claude --dangerously-skip-permissions -p 'review'\"\n",
        "workers.py": "import subprocess\nsubprocess.run(['tmux', 'send-keys', '-t', 'w', 'claude -p fix', 'Enter'])\n",
    })
    result, plan = plan_for(repo)
    assert {(s.location.path, s.location.line) for s in result.launch_sites} == {("start.sh", 2), ("workers.py", 2)}
    assert plan.edits == {}
    assert sorted((m.path, m.line) for m in plan.manual) == [("start.sh", 2), ("workers.py", 2)]
    assert all("terminal multiplexer" in m.reason for m in plan.manual)

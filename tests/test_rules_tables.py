"""Every surface reads one table (rules/permissions.yaml, config_files.yaml, actions.yaml,
containment.yaml): where the copies in the analyzers disagreed, these pin the answer chosen.

- `acceptEdits` approves working-directory edits and common filesystem commands: approvals are
  off unless Claude's own sandbox confines those commands — in settings files, workflow settings
  and both Agent SDKs alike (before: always a bypass in settings, never in the SDKs).
- The allow rules that approve every shell command are one list (before: five, of which the SDKs
  knew only `Bash` and `Bash(*)`, and workflow settings not `Bash:*`).
- Gemini's `general.defaultApprovalMode` is read (before: only by remediation).
- Every OS sandbox the command reader knows is a wrapper for MCP servers, with the egress
  containment.yaml gives it (before: `systemd-run` was not, and the SDK readers had their own
  list without it).
"""

from __future__ import annotations

from pathlib import Path

from scanner.engine import ScanOptions, scan
from scanner.model import Boundary, Egress
from fixture_harness import write_tree

BYPASS = "agent-permission-bypass"


def _bypass_lines(root: Path, path: str) -> set[int]:
    result = scan(root, ScanOptions(jobs=1))
    return {f.location.line for f in result.findings if f.rule_id == BYPASS and f.location.path == path}


# -- acceptEdits ---------------------------------------------------------------------------------

SETTINGS = ".claude/settings.json"


def test_accept_edits_in_settings_is_a_bypass_without_claudes_sandbox(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {SETTINGS: '{\n  "permissions": {\n    "defaultMode": "acceptEdits"\n  }\n}\n'})
    assert _bypass_lines(root, SETTINGS) == {3}


def test_accept_edits_in_settings_with_claudes_sandbox_is_not(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {SETTINGS: '{\n  "permissions": {\n    "defaultMode": "acceptEdits"\n  },\n'
                                       '  "sandbox": {"enabled": true}\n}\n'})
    assert _bypass_lines(root, SETTINGS) == set()


def test_bypass_permissions_with_claudes_sandbox_stays_a_bypass(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {SETTINGS: '{\n  "permissions": {\n    "defaultMode": "bypassPermissions"\n  },\n'
                                       '  "sandbox": {"enabled": true}\n}\n'})
    assert _bypass_lines(root, SETTINGS) == {3}


PY_SDK = '''from claude_agent_sdk import ClaudeAgentOptions, query


async def fix(task: str) -> None:
    options = ClaudeAgentOptions(
        permission_mode="acceptEdits",
        env={"PATH": "/usr/bin"},{sandbox}
    )
    async for message in query(prompt=task, options=options):
        print(message)
'''


def test_accept_edits_in_the_python_sdk_without_a_sandbox_is_a_bypass(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"bot.py": PY_SDK.replace("{sandbox}", "")})
    assert _bypass_lines(root, "bot.py") == {6}


def test_accept_edits_in_the_python_sdk_with_claudes_sandbox_is_not(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"bot.py": PY_SDK.replace("{sandbox}", '\n        sandbox={"enabled": True},')})
    assert _bypass_lines(root, "bot.py") == set()


def test_accept_edits_in_the_js_sdk_without_a_sandbox_is_a_bypass(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"bot.ts": 'import { query } from "@anthropic-ai/claude-agent-sdk";\n\n'
                                       'for await (const m of query({\n  prompt: "fix the build",\n'
                                       '  options: { permissionMode: "acceptEdits", env: { PATH: "/usr/bin" } },\n'
                                       '})) {\n  console.log(m);\n}\n'})
    assert _bypass_lines(root, "bot.ts") == {5}


# -- allow rules -----------------------------------------------------------------------------------


def test_the_sdks_know_every_allow_rule_that_approves_any_command(tmp_path: Path) -> None:
    text = PY_SDK.replace('permission_mode="acceptEdits"', 'allowed_tools=["Read", "Bash(**)"]').replace("{sandbox}", "")
    root = write_tree(tmp_path, {"bot.py": text})
    assert _bypass_lines(root, "bot.py") == {6}


WORKFLOW = """on: push
permissions:
  contents: read
jobs:
  fix:
    runs-on: ubuntu-latest
    steps:
      - uses: anthropics/claude-code-action@v1
        with:
          anthropic_api_key: ${{ secrets.ANTHROPIC_API_KEY }}
          settings: |
            {SETTINGS}
"""
WF = ".github/workflows/fix.yml"


def test_workflow_settings_read_the_same_allow_rules(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {WF: WORKFLOW.replace("{SETTINGS}", '{"permissions": {"allow": ["Bash:*"]}}')})
    assert _bypass_lines(root, WF) == {12}


def test_workflow_settings_read_the_same_permission_modes(tmp_path: Path) -> None:
    settings = '{"permissions": {"defaultMode": "acceptEdits"}, "sandbox": {"enabled": true}}'
    root = write_tree(tmp_path, {WF: WORKFLOW.replace("{SETTINGS}", settings)})
    assert _bypass_lines(root, WF) == set()
    root = write_tree(tmp_path / "open", {WF: WORKFLOW.replace("{SETTINGS}", '{"permissions": {"defaultMode": "acceptEdits"}}')})
    assert _bypass_lines(root, WF) == {12}


# -- Gemini ---------------------------------------------------------------------------------------


def test_gemini_default_approval_mode_is_read(tmp_path: Path) -> None:
    text = '{\n  "general": {\n    "defaultApprovalMode": "auto_edit"\n  }\n}\n'
    root = write_tree(tmp_path, {".gemini/settings.json": text, "dotfiles/gemini/settings.json": text})
    assert _bypass_lines(root, ".gemini/settings.json") == {3}
    assert _bypass_lines(root, "dotfiles/gemini/settings.json") == {3}  # recognised by its content


def test_gemini_default_approval_mode_default_is_not_a_bypass(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".gemini/settings.json": '{"general": {"defaultApprovalMode": "default"}}\n'})
    assert _bypass_lines(root, ".gemini/settings.json") == set()


# -- sandbox wrappers -----------------------------------------------------------------------------


def _mcp_site(tmp_path: Path, command: str, args: list[str]):
    import json

    root = write_tree(tmp_path, {".mcp.json": json.dumps({"mcpServers": {"files": {"command": command, "args": args}}})})
    sites = [s for s in scan(root, ScanOptions(jobs=1)).launch_sites if s.location.path == ".mcp.json"]
    assert len(sites) == 1
    return sites[0].containment


def test_every_os_sandbox_is_a_wrapper_for_mcp_servers(tmp_path: Path) -> None:
    c = _mcp_site(tmp_path / "a", "systemd-run", ["--user", "--pipe", "npx", "-y", "some-mcp-server"])
    assert (c.boundary, c.boundary_tool, c.egress) == (Boundary.OS_SANDBOX, "systemd-run", Egress.OPEN)
    c = _mcp_site(tmp_path / "b", "srt", ["npx", "-y", "some-mcp-server"])
    assert (c.boundary, c.egress) == (Boundary.OS_SANDBOX, Egress.ALLOW_LIST)
    c = _mcp_site(tmp_path / "c", "bwrap", ["--ro-bind", "/", "/", "npx", "-y", "some-mcp-server"])
    assert (c.boundary, c.egress) == (Boundary.OS_SANDBOX, Egress.OPEN)
    c = _mcp_site(tmp_path / "d", "npx", ["-y", "some-mcp-server"])
    assert c.boundary is Boundary.NONE


def test_an_sdk_mcp_server_behind_any_wrapper_is_not_handed_the_environment(tmp_path: Path) -> None:
    text = ('import os\n\nfrom mcp import StdioServerParameters\n\n'
            'boxed = StdioServerParameters(command="systemd-run", args=["--user", "--pipe", "npx", "-y", "@acme/mcp"], '
            'env=dict(os.environ))\n'
            'bare = StdioServerParameters(command="npx", args=["-y", "@acme/mcp"], env=dict(os.environ))\n')
    root = write_tree(tmp_path, {"client.py": text})
    result = scan(root, ScanOptions(jobs=1))
    assert {f.location.line for f in result.findings if f.rule_id == "mcp-stdio-forwards-environment"} == {6}

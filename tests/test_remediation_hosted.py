"""A stdio MCP server its provider also hosts is replaced by the hosted entry, in each client's own
dialect (rules/mcp_servers.yaml): the exact text written, the token read from the variable the
file already named and never copied when it was written in the file, anything the table cannot
carry over left to the runner wrap, and the report's FIX section saying why."""

from __future__ import annotations

import json
from pathlib import Path

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

import pytest

from fixture_harness import blastwall, plan_for, write_tree
from scanner.engine import ScanOptions, scan
from scanner.remediation import hosted
from scanner.remediation.apply import finding_fixes

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "ghp_" + "x1" * 18  # a token-shaped literal, written in a config file

CLAUDE = """{
  "mcpServers": {
    "github": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_TOKEN}"
      }
    }
  }
}
"""
CLAUDE_HOSTED = """{
  "mcpServers": {
    "github": {
      "type": "http",
      "url": "https://api.githubcopilot.com/mcp/",
      "headers": {
        "Authorization": "Bearer ${GITHUB_TOKEN}"
      }
    }
  }
}
"""

VSCODE = """{
  "inputs": [
    {"type": "promptString", "id": "github_token", "description": "GitHub Personal Access Token", "password": true}
  ],
  "servers": {
    "github": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
      "env": {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "${input:github_token}"
      }
    }
  }
}
"""
VSCODE_HOSTED = """{
  "inputs": [
    {"type": "promptString", "id": "github_token", "description": "GitHub Personal Access Token", "password": true}
  ],
  "servers": {
    "github": {
      "type": "http",
      "url": "https://api.githubcopilot.com/mcp/"
    }
  }
}
"""

CURSOR = ('{\n\t"mcpServers": {\n'
          '\t\t"github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github@latest"], '
          f'"env": {{"GITHUB_PERSONAL_ACCESS_TOKEN": "{TOKEN}"}}, "disabled": false}}\n'
          '\t}\n}\n')
CURSOR_HOSTED = ('{\n\t"mcpServers": {\n'
                 '\t\t"github": {"url": "https://api.githubcopilot.com/mcp/", '
                 '"headers": {"Authorization": "Bearer ${env:GITHUB_PERSONAL_ACCESS_TOKEN}"}, "disabled": false}\n'
                 '\t}\n}\n')

CODEX = f"""model = "gpt-5-codex"

[mcp_servers.github]
command = "github-mcp-server"
args = [
  "stdio",
]
startup_timeout_sec = 20 # a slow first start

[mcp_servers.github.env]
GITHUB_PERSONAL_ACCESS_TOKEN = "{TOKEN}"

[mcp_servers.context7]
command = "npx"
args = ["-y", "@upstash/context7-mcp"]
"""
CODEX_HOSTED = """model = "gpt-5-codex"

[mcp_servers.github]
url = "https://api.githubcopilot.com/mcp/"
bearer_token_env_var = "GITHUB_PERSONAL_ACCESS_TOKEN"
startup_timeout_sec = 20 # a slow first start

[mcp_servers.context7]
command = "npx"
args = ["-y", "@upstash/context7-mcp"]
"""


def test_claude_code_gets_the_http_entry_with_the_same_variable() -> None:
    swap = hosted.rewrite_json(".mcp.json", CLAUDE, 3)
    assert swap is not None and swap.text == CLAUDE_HOSTED
    assert swap.variable == "GITHUB_TOKEN" and not swap.written_token and swap.manual_step() == ""
    json.loads(swap.text)
    assert hosted.rewrite_json("web/.mcp.json", CLAUDE, 3).text == CLAUDE_HOSTED  # any folder's .mcp.json


def test_vscode_signs_in_with_oauth_and_drops_the_prompted_token() -> None:
    swap = hosted.rewrite_json(".vscode/mcp.json", VSCODE, 6)
    assert swap is not None and swap.text == VSCODE_HOSTED
    assert swap.variable == "" and "OAuth" in swap.explanation()
    json.loads(swap.text)


def test_cursor_keeps_its_one_line_layout_and_own_keys_and_never_copies_a_written_token() -> None:
    swap = hosted.rewrite_json(".cursor/mcp.json", CURSOR, 3)
    assert swap is not None and swap.text == CURSOR_HOSTED
    assert TOKEN not in swap.text and swap.written_token
    assert "GITHUB_PERSONAL_ACCESS_TOKEN" in swap.manual_step() and "revoke" in swap.manual_step()
    json.loads(swap.text)


def test_codex_gets_url_and_bearer_token_env_var_and_loses_the_env_table() -> None:
    swap = hosted.rewrite_toml(".codex/config.toml", CODEX, 3)
    assert swap is not None and swap.text == CODEX_HOSTED
    assert TOKEN not in swap.text and swap.written_token
    assert tomllib.loads(swap.text)["mcp_servers"]["github"] == {
        "url": "https://api.githubcopilot.com/mcp/", "bearer_token_env_var": "GITHUB_PERSONAL_ACCESS_TOKEN",
        "startup_timeout_sec": 20}


def test_codex_reads_the_variable_env_vars_hands_on() -> None:
    text = '[mcp_servers.gh]\ncommand = "docker"\nargs = ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", ' \
           '"ghcr.io/github/github-mcp-server:v0.20.0"]\nenv_vars = ["GITHUB_PERSONAL_ACCESS_TOKEN"]\n'
    swap = hosted.rewrite_toml("dotfiles/codex/config.toml", text, 1)
    assert swap is not None and not swap.written_token
    assert swap.text == '[mcp_servers.gh]\nurl = "https://api.githubcopilot.com/mcp/"\n' \
                       'bearer_token_env_var = "GITHUB_PERSONAL_ACCESS_TOKEN"\n'


def test_crlf_files_stay_crlf() -> None:
    swap = hosted.rewrite_json(".mcp.json", CLAUDE.replace("\n", "\r\n"), 3)
    assert swap is not None and swap.text == CLAUDE_HOSTED.replace("\n", "\r\n")


@pytest.mark.parametrize("value", [TOKEN, f"${{GITHUB_TOKEN:-{TOKEN}}}"])
def test_a_written_token_or_default_is_never_copied(value: str) -> None:
    text = CLAUDE.replace("${GITHUB_TOKEN}", value)
    swap = hosted.rewrite_json(".mcp.json", text, 3)
    assert swap is not None and TOKEN not in swap.text
    header = json.loads(swap.text)["mcpServers"]["github"]["headers"]["Authorization"]
    assert header in ("Bearer ${GITHUB_PERSONAL_ACCESS_TOKEN}", "Bearer ${GITHUB_TOKEN}")
    assert swap.written_token == (value == TOKEN)


@pytest.mark.parametrize(("path", "text", "line"), [
    # not a server the table lists
    (".mcp.json", CLAUDE.replace("@modelcontextprotocol/server-github", "@acme/tickets-mcp"), 3),
    # a setting the hosted server would need another way: an enterprise host, a flag, a tool list
    (".mcp.json", CLAUDE.replace('"${GITHUB_TOKEN}"', '"${GITHUB_TOKEN}", "GITHUB_HOST": "https://ghe.acme.dev"'), 3),
    (".mcp.json", CLAUDE.replace('"@modelcontextprotocol/server-github"', '"@modelcontextprotocol/server-github", "--x"'), 3),
    (".vscode/mcp.json", VSCODE.replace('"-e", "GITHUB_PERSONAL_ACCESS_TOKEN",',
                                        '"-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "-e", "GITHUB_TOOLSETS=repos",'), 6),
    # a token value that is more than a reference
    (".mcp.json", CLAUDE.replace("${GITHUB_TOKEN}", "token ${GITHUB_TOKEN}"), 3),
    # a prompted input only VS Code can ask for, in a client that takes a bearer header
    (".mcp.json", CLAUDE.replace("${GITHUB_TOKEN}", "${input:github_token}"), 3),
    # clients whose remote entry the table does not know (Claude Desktop adds remote servers in the app)
    ("claude_desktop_config.json", CLAUDE, 3),
    (".gemini/settings.json", CLAUDE, 3),
    ("templates/mcp.json.template", CLAUDE, 3),
])
def test_what_the_table_cannot_carry_over_is_left_to_the_runner(path: str, text: str, line: int) -> None:
    assert hosted.rewrite_json(path, text, line) is None


def test_a_server_the_table_does_not_list_is_still_wrapped_in_the_runner(tmp_path: Path) -> None:
    config = json.loads(CLAUDE)
    config["mcpServers"]["tickets"] = {"command": "npx", "args": ["-y", "@acme/tickets-mcp"],
                                       "env": {"TICKETS_URL": "https://tickets.acme.dev"}}
    repo = write_tree(tmp_path / "repo", {".mcp.json": json.dumps(config, indent=2) + "\n"})
    _result, plan = plan_for(repo)
    after = json.loads(plan.edits[".mcp.json"][1])["mcpServers"]
    assert after["github"] == {"type": "http", "url": "https://api.githubcopilot.com/mcp/",
                               "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}}
    assert after["tickets"]["command"] == "./sandbox/agent-bwrap.sh"
    assert after["tickets"]["args"] == ["npx", "-y", "@acme/tickets-mcp"]
    assert after["tickets"]["env"]["BLASTWALL_PASS_ENV"] == "TICKETS_URL"
    assert not plan.manual


def test_a_written_token_is_a_manual_step_that_survives_the_rescan(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {".mcp.json": CLAUDE.replace("${GITHUB_TOKEN}", TOKEN)})
    fix = blastwall("fix", str(repo), "--apply", "--yes")
    assert fix.returncode == 0, fix.stderr
    written = (repo / ".mcp.json").read_text()
    assert TOKEN not in written and "Bearer ${GITHUB_PERSONAL_ACCESS_TOKEN}" in written
    manual = [line for line in fix.stdout.splitlines() if line.startswith("manual: ")]
    assert len(manual) == 1 and "revoke the written token" in manual[0]
    assert not [line for line in fix.stdout.splitlines() if TOKEN in line and not line.startswith("-")]
    assert "summary: 1 launch site rewritten, 1 left to change by hand" in fix.stdout
    after = json.loads(blastwall("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)
    assert after["verdict"] == "not present" and not after["findings"]


def test_fix_shows_the_hosted_entry_and_says_why(tmp_path: Path) -> None:
    repo = ROOT / "fixtures" / "repos" / "mcp-forwards-token"
    result = scan(repo, ScanOptions())
    fixes = {rule: fix for (_site, rule), fix in finding_fixes(repo, result).items()}
    for rule in ("agent-inline-launch", "agent-operator-credentials-passed"):
        fix = fixes[rule]
        assert fix.rewrite and '"url": "https://api.githubcopilot.com/mcp/"' in fix.after
        assert '"Authorization": "Bearer ${GITHUB_TOKEN}"' in fix.after and "agent-bwrap" not in fix.after
        assert "no local process" in fix.summary and "fine-grained" in fix.summary
    report = json.loads(blastwall("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)
    lead = report["fixes"][0]
    assert "api.githubcopilot.com" in lead["after"] and "nothing is downloaded" in lead["summary"]
    # Nothing is left to wrap: `fix` writes no runner for it.
    copy = tmp_path / "repo"
    copy.mkdir()
    (copy / ".mcp.json").write_text((repo / ".mcp.json").read_text())
    assert "wrote" not in blastwall("fix", str(copy)).stdout
    assert not (copy / "sandbox").exists()

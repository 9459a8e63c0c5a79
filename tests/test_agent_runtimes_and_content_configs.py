"""Agent configs recognised by their content, where they sit, and agent runtime containers
(images that install an agent, services and pods recognised by name)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.launch.agent_configs import is_codex_config, is_mcp_file
from scanner.catalog import load_catalog
from scanner.launch.cfgjudge import ConfigTools, config_name
from scanner.parse.cfgtree import load_json, load_toml
from scanner.launch.containers import agent_installs, agent_named, host_kind
from scanner.discover.walk import Candidate
from scanner.engine import ScanOptions, _worker, scan
from scanner.model import Severity
from scanner.launch.filekinds import classify_path
from scanner.discover.tiers import SHIPPED, tier_of

TOOLS = ConfigTools.of(load_catalog())  # the shipped rules, no project configuration
REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
SCENARIOS = [
    "dotfiles-codex-config",
    "codex-config-hardened",
    "mcp-config-by-content",
    "agent-settings-by-content",
    "compose-agent-runtime-by-install",
    "compose-agent-runtime-by-name",
    "compose-agent-runtime-sealed",
    "k8s-agent-container-by-name",
]


def _scan(root: Path):
    return scan(root, ScanOptions(jobs=1))


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_quotes_and_weights(name: str) -> None:
    root = REPOS / name
    expected = yaml.safe_load((root / "expected.yaml").read_text(encoding="utf-8"))
    result = _scan(root)
    assert {(f.rule_id, f.location.path, f.location.line) for f in result.findings} == {
        (f["rule"], f["path"], f["line"]) for f in expected["findings"]}
    assert result.verdict.value == expected["verdict"]
    for finding in result.findings:
        line = (root / finding.location.path).read_text(encoding="utf-8").split("\n")[finding.location.line - 1]
        assert finding.location.quote == line.strip()[:400]
        # Documentation and example folders are listed at info severity and never decide the verdict.
        if tier_of(finding.location.path) != SHIPPED:
            assert finding.severity is Severity.INFO, finding


def _findings(name: str) -> dict[tuple[str, int], set[tuple[str, str]]]:
    out: dict[tuple[str, int], set[tuple[str, str]]] = {}
    for f in _scan(REPOS / name).findings:
        out.setdefault((f.location.path, f.location.line), set()).add((f.rule_id, f.severity.value))
    return out


def test_codex_config_checked_in_as_plain_config_toml() -> None:
    got = _findings("dotfiles-codex-config")
    assert ("agent-permission-bypass", "high") in got[("codex/config.toml", 4)]  # approval_policy = "never"
    assert ("agent-permission-bypass", "high") in got[("codex/config.toml", 5)]  # sandbox_mode = "danger-full-access"
    assert ("agent-permission-bypass", "high") in got[("codex/config.toml", 12)]  # a profile that drops the sandbox
    assert ("agent-operator-credentials-passed", "high") in got[("codex/config.toml", 16)]  # token on an MCP argv
    assert got[("docs/config.toml", 3)] == {("agent-permission-bypass", "info")}
    # A TOML file of MCP snippets without Codex's own keys, and pyproject.toml, are not read as Codex config.
    assert not any(path in ("mcp-servers.toml", "pyproject.toml") for path, _ in got)


def test_mcp_maps_need_a_dedicated_file_and_stdio_commands() -> None:
    got = _findings("mcp-config-by-content")
    assert ("agent-operator-credentials-passed", "high") in got[("claude_desktop_config.json", 11)]
    assert ("agent-docker-socket", "critical") in got[("templates/mcp.json.template", 6)]
    assert ("agent-operator-credentials-passed", "high") in got[("templates/mcp.json.template", 11)]
    assert all(sev == "info" for (path, line), found in got.items() if path.startswith("examples/") for _r, sev in found)
    # An app's `servers` map and another tool's settings with an MCP section are not agent configs.
    assert not any(path.startswith("config/") for path, _ in got)


def test_settings_by_content() -> None:
    got = _findings("agent-settings-by-content")
    assert ("agent-permission-bypass", "high") in got[("claude/settings.json", 5)]  # "Bash:*"
    assert ("agent-permission-bypass", "high") in got[("claude/settings.json", 8)]  # bypassPermissions
    assert ("agent-permission-bypass", "high") in got[("gemini/settings.json", 6)]
    assert ("agent-permission-bypass", "high") in got[("opencode.config.json", 6)]
    # Qwen with its docker sandbox on: the bypass is low, the sandbox is the control.
    assert ("agent-permission-bypass", "low") in got[("qwen/settings.json", 2)]
    assert not any(path in ("deno.json", "extension/manifest.json", "project-template/claude-settings.json")
                   for path, _ in got)


def test_agent_runtime_containers() -> None:
    got = _findings("compose-agent-runtime-by-install")
    assert ("agent-credential-files-exposed", "high") in got[("compose.yaml", 12)]  # ~/.ssh read-only
    assert ("agent-credential-files-exposed", "high") in got[("compose.yaml", 14)]  # /run/user/<uid>
    assert ("agent-writable-host-path", "high") in got[("compose.yaml", 15)]  # part of home
    assert ("agent-privileged-sandbox", "critical") in got[("compose.yaml", 5)]
    assert ("agent-privileged-sandbox", "critical") in got[("compose.yaml", 6)]
    assert ("agent-operator-credentials-passed", "high") in got[("compose.yaml", 8)]
    assert got[("compose.yaml", 11)] == {("agent-writable-target", "medium")}  # ${WORK_DIR:-.}
    assert ("compose.yaml", 13) not in got  # ~/.gitconfig read-only
    assert not any(line > 15 for path, line in got if path == "compose.yaml")  # the database is no agent
    result = _scan(REPOS / "compose-agent-runtime-by-install")
    assert len(result.launch_sites) == 1

    by_name = _scan(REPOS / "compose-agent-runtime-by-name")
    assert [s.launcher for s in by_name.launch_sites] == ["compose service `claude`"]  # not `claude-proxy`

    sealed = _scan(REPOS / "compose-agent-runtime-sealed")
    assert sealed.verdict.value == "not present"
    installed_only = [s for s in sealed.launch_sites if s.location.path == "tools/aider.Dockerfile"]
    assert installed_only and not [f for f in sealed.findings if f.location.path == "tools/aider.Dockerfile"]


@pytest.mark.parametrize("name, agent", [
    ("claude", "claude-code"), ("claude-code", "claude-code"), ("codex_sandbox", "codex"), ("aider-dev", "aider"),
    ("my-gemini-cli", "gemini-cli"), ("opencode", "opencode"), ("qwen-code", "qwen-code"), ("cline", "cline"),
])
def test_agent_named(name: str, agent: str) -> None:
    spec = agent_named(TOOLS.catalog, name)
    assert spec is not None and spec.id == agent


@pytest.mark.parametrize("name", ["claude-proxy", "claude-api", "web", "goose", "agent", "codex-docs-site", "db", "qwen"])
def test_not_agent_named(name: str) -> None:
    assert agent_named(TOOLS.catalog, name) is None


@pytest.mark.parametrize("line, agent", [
    ("npm install -g @anthropic-ai/claude-code@latest", "claude-code"),
    ("npm i -g @openai/codex", "codex"),
    ("pip install --no-cache-dir aider-chat==0.86.1", "aider"),
    ("uv tool install aider-chat", "aider"),
    ("curl -fsSL https://claude.ai/install.sh | bash", "claude-code"),
    ("pnpm add -g @google/gemini-cli", "gemini-cli"),
])
def test_agent_installs(line: str, agent: str) -> None:
    assert [spec.id for spec, _ in agent_installs(TOOLS, line)] == [agent]


@pytest.mark.parametrize("line", ["npm install -g typescript", "pip install anthropic openai", "apt-get install -y git",
                                  "npm ls @anthropic-ai/claude-code"])
def test_not_agent_installs(line: str) -> None:
    assert agent_installs(TOOLS, line) == []


@pytest.mark.parametrize("src, kind", [
    ("${PROJECT_DIR}", "target"), ("${WORKSPACE:-.}", "target"), ("${CODEX_HOME}", "host-path"),
    ("/run/user/1000", "credentials"), ("/run/user/${UID:-1000}", "credentials"), ("${SSH_AUTH_SOCK}", "credentials"),
    ("/run/user/1000/wayland-0", "host-path"), ("${HOME}", "home"), ("/home/me", "home"),
    ("/home/me/src/app", "host-path"), ("${HOME}/.claude", "credentials"), ("${HOME:-/home/me}/.ssh", "credentials"),
])
def test_host_kind(src: str, kind: str) -> None:
    assert host_kind(TOOLS, src) == kind


def test_codex_needs_its_own_keys() -> None:
    assert not is_codex_config(TOOLS.catalog, load_toml('[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "docs-mcp"]\n', []))
    assert not is_codex_config(TOOLS.catalog, load_toml('[tool.black]\nline-length = 100\n', []))
    assert is_codex_config(TOOLS.catalog, load_toml('[profiles.fast]\nsandbox_mode = "danger-full-access"\n', []))
    assert is_codex_config(TOOLS.catalog, load_toml('model_reasoning_effort = "high"\n', []))


def test_mcp_file_shapes() -> None:
    servers = '{"mcpServers": {"x": {"command": "npx", "args": ["-y", "x-mcp"]}}}'
    assert is_mcp_file(TOOLS.catalog, load_json(servers, []), "anything.json")
    assert is_mcp_file(TOOLS.catalog, load_json('{"servers": {"x": {"command": "uvx"}}, "inputs": []}', []), "cfg/tools.json")
    assert is_mcp_file(TOOLS.catalog, load_json('{"mcp": {"servers": {"x": {"command": "uvx"}}}, "editor.fontSize": 13}', []), "settings.json")
    assert not is_mcp_file(TOOLS.catalog, load_json('{"servers": {"x": {"url": "https://mcp.example.com"}}}', []), "mcp.json")
    assert not is_mcp_file(TOOLS.catalog, load_json('{"theme": "dark", ' + servers[1:], []), "settings.json")
    assert is_mcp_file(TOOLS.catalog, load_json('{"theme": "dark", ' + servers[1:], []), "cline_mcp_settings.json")
    assert is_mcp_file(TOOLS.catalog, load_json('{"numStartups": 3, ' + servers[1:], []), "home/.claude.json")  # Claude's user config


@pytest.mark.parametrize("path, kind", [
    ("config.toml", "config-by-content"), ("dotfiles/codex/config.toml.tmpl", "config-by-content"),
    ("claude_desktop_config.json", "config-by-content"), ("template/.rulesync/mcp.json.template", "config-by-content"),
    (".claude/settings.json.example", "claude-settings"), (".mcp.json.template", "mcp-config"),
    ("aider.conf.yml", "aider-config"), ("package.json", "package-json"),
    (".devcontainer/devcontainer.json", "devcontainer"),
])
def test_classification(path: str, kind: str) -> None:
    assert classify_path(path) == kind


@pytest.mark.parametrize("path, name", [
    ("x/mcp.json.template", "mcp.json"), ("dot_codex/config.toml.tmpl", "config.toml"), ("settings.json", "settings.json"),
    (".template", ".template"),
])
def test_config_name(path: str, name: str) -> None:
    assert config_name(path) == name


_SNIFF_PREFIXES = [b'{"mcpServers": {"a": {"command": "npx", "args": [', b'{"permissions": {"allow": [', b'{"tools": {',
                   b'approval_policy = "never"\n', b'[profiles.x]\nsandbox_mode = ', b'{"$schema": "opencode", "permission": ']


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(_SNIFF_PREFIXES), body=st.binary(max_size=1500),
       name=st.sampled_from(["conf.json", "x/settings.json.template", "config.toml", "docs/a.toml.example"]))
def test_sniffers_never_crash(prefix: bytes, body: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(prefix + body)
        result = _worker().analyze(Path(tmp), Candidate(name, classify_path(name) or "", len(prefix + body)))
        assert isinstance(result.skip_reason, str)

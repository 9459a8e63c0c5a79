"""Repo-resident agent configuration: Claude Code settings, MCP server lists, Codex config.toml,
Gemini settings, opencode.json and .aider.conf.yml.

A settings file does not start the agent; it decides how the agent behaves when a developer
or a job starts it here. It becomes a launch site when it widens the agent (approvals off,
blanket tool rules, MCP servers approved wholesale). Every stdio MCP server it lists is a
launch site of its own: its command is read like any command line, so `docker run` or `srt`
wrappers count as boundaries, and its `env` block says which secrets it is handed.
"""

from __future__ import annotations

import posixpath
import re

from scanner.analyzers.base import Analysis
from scanner.analyzers.cfgjudge import agent_by_name, make_site, read, secret_fact
from scanner.analyzers.cfgtree import Node, load_json, load_toml, load_yaml
from scanner.analyzers.containers import docker_option_facts, image_facts
from scanner.catalog import AgentSpec
from scanner.commandline import Invocation, Word, basename
from scanner.model import Boundary, Egress, EnvMode, Fact, Location

_NO_SESSION = "a settings file does not start or bound the session"
_BYPASS_MODES = ("bypassPermissions", "dontAsk", "auto", "acceptEdits")
_BROAD_RULES = ("Bash", "Bash(*)", "Bash(**)", "*", "Bash(:*)")
_OS_SANDBOXES = {"srt": Egress.ALLOW_LIST, "bwrap": Egress.OPEN, "sandbox-exec": Egress.UNKNOWN,
                 "firejail": Egress.OPEN, "nsjail": Egress.NONE, "minijail0": Egress.NONE}


def _config_site(spec: AgentSpec, src, loc: Location, launcher: str, facts: list[Fact],
                 boundary: Boundary = Boundary.UNKNOWN, tool: str = "", egress: Egress = Egress.UNKNOWN,
                 env: EnvMode = EnvMode.MINIMAL):
    facts = [*facts, Fact("timeout", _NO_SESSION, loc)]
    return make_site(agent=spec, location=loc, surface="agent-config", launcher=launcher,
                     command=f"{spec.name} configured by {src.path}", boundary=boundary, tool=tool, env=env,
                     egress=egress, facts=facts)


# -- MCP servers -------------------------------------------------------------------------------


def _server_spec(name: str, program: str) -> AgentSpec:
    return AgentSpec(id="mcp-server", name=f"MCP server `{name}`", binaries=(program,), requires_any={}, packages=(),
                     bypass=(), sandbox_default_on=False, sandbox_enable=(), sandbox_disable=(), endpoints=(), api_keys=())


def mcp_sites(src, servers: Node | None, config_label: str, trust_key: str = "trust"):
    """One site per stdio server in a `{name: {command, args, env}}` mapping."""
    if servers is None or not servers.is_map:
        return
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    for name, server in servers.items():
        if not server.is_map:
            continue
        command = server.get("command")
        if command is None:
            continue  # a remote (url) server runs elsewhere
        args = server.get("args")
        words: list[Word] = []
        if command.is_seq:  # opencode: "command": ["npx", "-y", "pkg"]
            words = [Word(n.text(), loc(n), "$" in n.text()) for n in command.seq()]
        else:
            words = [Word(command.text(), loc(command), "${" in command.text())]
        words += [Word(n.text(), loc(n), "${" in n.text()) for n in (args.seq() if args is not None else [])]
        if not words:
            continue
        facts: list[Fact] = []
        env = server.get("env") or server.get("environment")
        for key, value in (env.items() if env is not None else []):
            ref = re.search(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", value.text())
            refname = (ref.group(1) or ref.group(2)) if ref else ""
            fact = secret_fact(key, loc(value), secret_ref=refname if refname and refname != key else "")
            if fact is None and refname:
                fact = secret_fact(refname, loc(value))
            if fact is None and value.text() and not ref and _looks_secret(key):
                fact = Fact("secret-operator", key, loc(value))
            if fact is not None:
                facts.append(Fact(fact.kind, key, fact.location))
        trust = server.get(trust_key)
        if trust is not None and trust.truthy():
            facts.append(Fact("bypass-flag", f"{trust_key}: true", loc(trust)))
        site_loc = src.loc(server.key_line or server.line)
        found = read(words)
        inv = found[0] if found and isinstance(found[0], Invocation) else None
        if inv is not None:  # an agent serving MCP (claude mcp serve, codex mcp-server)
            yield make_site(agent=inv.agent, location=site_loc, surface="mcp-config", launcher=f"MCP server `{name}` in {config_label}",
                            command=" ".join(w.text for w in inv.all_words), boundary=None, env=EnvMode.MINIMAL,
                            env_detail="an MCP client passes a small default environment plus `env`",
                            facts=[*facts, Fact("timeout", "the MCP client ends the server with the session", site_loc)],
                            invocation=inv), ()
            continue
        boundary, tool, egress, extra = _wrapper(words)
        spec = _server_spec(name, basename(words[0].text))
        yield make_site(agent=spec, location=site_loc, surface="mcp-config", launcher=f"MCP server `{name}` in {config_label}",
                        command=" ".join(w.text for w in words), boundary=boundary, tool=tool, env=EnvMode.MINIMAL,
                        env_detail="an MCP client passes a small default environment plus `env`", egress=egress,
                        facts=[*facts, *extra, Fact("timeout", "the MCP client ends the server with the session", site_loc)]), ()


def _looks_secret(key: str) -> bool:
    return bool(re.search(r"TOKEN|SECRET|PASSWORD|API_KEY|PRIVATE_KEY", key, re.I))


def _wrapper(words: list[Word]) -> tuple[Boundary | None, str, Egress, list[Fact]]:
    head = basename(words[0].text)
    rest = words[1:]
    if head in ("docker", "podman", "nerdctl") and rest and rest[0].text == "run":
        flags: list[Word] = []
        i = 1
        from scanner.analyzers.cfgjudge import tools

        value_flags = tools()[2].run_value_flags
        while i < len(rest) and rest[i].text.startswith("-"):
            flags.append(rest[i])
            flag = rest[i].text.split("=", 1)[0]
            if flag in value_flags and "=" not in rest[i].text and i + 1 < len(rest):
                flags.append(rest[i + 1])
                i += 1
            i += 1
        facts = docker_option_facts(flags) if flags else []
        if i < len(rest):
            facts.extend(image_facts(rest[i].text, rest[i].location))
        if any(f.kind == "network-host" for f in facts):
            egress = Egress.HOST
        elif any(f.kind == "network-none" for f in facts):
            egress = Egress.NONE
        elif any(f.kind == "network-named" for f in facts):
            egress = Egress.UNKNOWN
        else:
            egress = Egress.OPEN
            facts.append(Fact("network-default", "default bridge network", words[0].location))
        if not any(f.text == "--rm" for f in flags):
            facts.append(Fact("ephemeral", "the MCP client stops the server with the session", words[0].location))
        return Boundary.CONTAINER, f"{head} run", egress, facts
    if head in _OS_SANDBOXES:
        return Boundary.OS_SANDBOX, head, _OS_SANDBOXES[head], []
    return None, "", Egress.OPEN, []


# -- Claude Code -------------------------------------------------------------------------------


def analyze_claude_settings(analysis: Analysis):
    src = analysis.source
    doc = load_json(src.text, analysis.notes)
    if doc is None or not doc.is_map:
        return
    spec = agent_by_name("claude-code")
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    facts: list[Fact] = []
    mode = doc.path("permissions", "defaultMode")
    if mode is not None and mode.text() in _BYPASS_MODES:
        facts.append(Fact("bypass-flag", f"defaultMode: {mode.text()}", loc(mode)))
    for rule in (doc.path("permissions", "allow").seq() if doc.path("permissions", "allow") is not None else []):
        if rule.text() in _BROAD_RULES:
            facts.append(Fact("bypass-flag", f"allow {rule.text()}", loc(rule)))
    auto_mcp = doc.get("enableAllProjectMcpServers")
    if auto_mcp is not None and auto_mcp.truthy():
        facts.append(Fact("bypass-flag", "enableAllProjectMcpServers: true", loc(auto_mcp)))
    skip = doc.get("skipDangerousModePermissionPrompt")
    if skip is not None and skip.truthy():
        facts.append(Fact("bypass-flag", "skipDangerousModePermissionPrompt: true", loc(skip)))
    if facts:
        sandbox = doc.path("sandbox", "enabled")
        if sandbox is not None and sandbox.truthy():
            yield _config_site(spec, src, facts[0].location, f"Claude Code settings {src.path}", facts,
                               Boundary.AGENT_SANDBOX, "Claude Code sandbox", Egress.ALLOW_LIST), ()
        else:
            yield _config_site(spec, src, facts[0].location, f"Claude Code settings {src.path}", facts), ()
    yield from mcp_sites(src, doc.get("mcpServers"), src.path)


def analyze_mcp_json(analysis: Analysis):
    src = analysis.source
    doc = load_json(src.text, analysis.notes)
    if doc is None or not doc.is_map:
        return
    yield from mcp_sites(src, doc.get("mcpServers") or doc.get("servers") or doc.get("mcp_servers"), src.path)


# -- Codex -------------------------------------------------------------------------------------


def analyze_codex_config(analysis: Analysis):
    src = analysis.source
    doc = load_toml(src.text, analysis.notes)
    if doc is None or not doc.is_map:
        return
    spec = agent_by_name("codex")
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    facts: list[Fact] = []
    boundary, egress, env = Boundary.AGENT_SANDBOX, Egress.NONE, EnvMode.MINIMAL
    mode = doc.get("sandbox_mode")
    if mode is not None and mode.text() == "danger-full-access":
        facts.append(Fact("bypass-flag", 'sandbox_mode = "danger-full-access"', loc(mode)))
        boundary, egress = Boundary.UNKNOWN, Egress.UNKNOWN
    approval = doc.get("approval_policy")
    if approval is not None and approval.text() == "never":
        facts.append(Fact("bypass-flag", 'approval_policy = "never"', loc(approval)))
    net = doc.path("sandbox_workspace_write", "network_access")
    if net is not None and net.truthy() and boundary is Boundary.AGENT_SANDBOX:
        facts.append(Fact("network-default", "network_access = true", loc(net)))
        egress = Egress.OPEN
    inherit = doc.path("shell_environment_policy", "inherit")
    if inherit is not None and inherit.text() == "all":
        excludes = doc.path("shell_environment_policy", "ignore_default_excludes")
        if excludes is not None and excludes.truthy():
            env = EnvMode.INHERITED
            facts.insert(0, Fact("env-inherited", 'shell_environment_policy inherit = "all" without the default excludes', loc(excludes)))
    if facts:
        first = facts[0].location
        yield _config_site(spec, src, first, f"Codex config {src.path}", facts, boundary, "Codex sandbox", egress, env), ()
    yield from mcp_sites(src, doc.get("mcp_servers"), src.path)


# -- Gemini CLI, OpenCode, Aider ----------------------------------------------------------------


def analyze_gemini_settings(analysis: Analysis):
    src = analysis.source
    doc = load_json(src.text, analysis.notes)
    if doc is None or not doc.is_map:
        return
    spec = agent_by_name("gemini-cli")
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    facts: list[Fact] = []
    for path in (("tools", "autoAccept"), ("autoAccept",), ("general", "approvalMode"), ("approvalMode",)):
        node = doc.path(*path)
        if node is not None and (node.truthy() or node.text() in ("yolo", "auto_edit")):
            facts.append(Fact("bypass-flag", f"{'.'.join(path)}: {node.text()}", loc(node)))
    sandbox = doc.path("tools", "sandbox") or doc.get("sandbox")
    if facts:
        if sandbox is not None and sandbox.text() not in ("", "false"):
            yield _config_site(spec, src, facts[0].location, f"Gemini settings {src.path}", facts,
                               Boundary.CONTAINER if sandbox.text() in ("docker", "podman", "true", "runsc") else Boundary.OS_SANDBOX,
                               f"Gemini CLI sandbox ({sandbox.text()})", Egress.OPEN), ()
        else:
            yield _config_site(spec, src, facts[0].location, f"Gemini settings {src.path}", facts), ()
    yield from mcp_sites(src, doc.get("mcpServers"), src.path)


def analyze_opencode(analysis: Analysis):
    src = analysis.source
    doc = load_json(src.text, analysis.notes)
    if doc is None or not doc.is_map:
        return
    spec = agent_by_name("opencode")
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    facts: list[Fact] = []
    perm = doc.get("permission")
    if perm is None:
        facts.append(Fact("bypass-default", "no `permission` block: OpenCode allows every tool by default", src.loc(doc.line)))
    elif perm.is_scalar and perm.text() == "allow":
        facts.append(Fact("bypass-flag", '"permission": "allow"', loc(perm)))
    elif perm.is_map:
        for key in ("bash", "*"):
            node = perm.get(key)
            if node is not None and node.is_scalar and node.text() == "allow":
                facts.append(Fact("bypass-flag", f'"permission.{key}": "allow"', loc(node)))
    if facts:
        yield _config_site(spec, src, facts[0].location, f"OpenCode config {src.path}", facts), ()
    mcp = doc.get("mcp")
    if mcp is not None and mcp.is_map:
        local = {k: v for k, v in mcp.items() if v.is_map and (v.get("type") is None or v.get("type").text() == "local")}
        yield from mcp_sites(src, Node(local, mcp.line, mcp.key_line), src.path)


def analyze_aider_conf(analysis: Analysis):
    src = analysis.source
    doc = load_yaml(src.text, analysis.notes)
    if doc is None or not doc.is_map:
        return
    spec = agent_by_name("aider")
    node = doc.get("yes-always")
    if node is not None and node.truthy():
        fact = Fact("bypass-flag", "yes-always: true", src.loc(node.anchor))
        yield _config_site(spec, src, fact.location, f"Aider config {src.path}", [fact]), ()


CLAUDE_SETTINGS = re.compile(r"(^|/)\.claude/settings(\.local)?\.json$")
MCP_JSON = re.compile(r"(^|/)(\.mcp\.json|\.cursor/mcp\.json|\.vscode/mcp\.json|\.amazonq/mcp\.json|\.kiro/settings/mcp\.json|\.agents/mcp\.json)$")
CODEX_CONFIG = re.compile(r"(^|/)\.codex/config\.toml$")
GEMINI_SETTINGS = re.compile(r"(^|/)\.(gemini|qwen)/settings\.json$")


def is_opencode(path: str) -> bool:
    return posixpath.basename(path) in ("opencode.json", "opencode.jsonc") or path.endswith("/.opencode/opencode.json")


def is_aider_conf(path: str) -> bool:
    return posixpath.basename(path) in (".aider.conf.yml", ".aider.conf.yaml")

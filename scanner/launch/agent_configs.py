"""Repo-resident agent configuration: Claude Code settings, MCP server lists, Codex config.toml,
Gemini/Qwen settings, opencode.json and .aider.conf.yml — at their usual paths, with a template
suffix (`.template`, `.tmpl`, `.example`), or anywhere a JSON or TOML file's content is one of
them (a dotfiles repo's `config.toml`, a project's `claude_desktop_config.json`).

A settings file does not start the agent; it decides how the agent behaves when a developer
or a job starts it here. It becomes a launch site when it widens the agent (approvals off,
blanket tool rules, MCP servers approved wholesale). Every stdio MCP server it lists is a
launch site of its own: its command is read like any command line, so `docker run` or `srt`
wrappers count as boundaries, and its `env` block and its argv say which secrets it is handed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from functools import lru_cache

from scanner.launch.base import Analysis
from scanner.launch.cfgjudge import ConfigTools, config_name, template_suffixes
from scanner.parse.cfgtree import Node, load_json, load_toml, load_yaml
from scanner.launch.containers import docker_option_facts, image_facts
from scanner.catalog import AgentSpec, Catalog
from scanner.launch.commandline import Invocation, Word, basename
from scanner.containment.reader import network_egress
from scanner.model import Boundary, Egress, EnvMode, Fact, FactKind, Location

_NO_SESSION = "a settings file does not start or bound the session"


def _config_site(tools: ConfigTools, spec: AgentSpec, src, loc: Location, launcher: str, facts: list[Fact],
                 boundary: Boundary = Boundary.UNKNOWN, tool: str = "", egress: Egress = Egress.UNKNOWN,
                 env: EnvMode = EnvMode.MINIMAL):
    facts = [*facts, Fact(FactKind.TIMEOUT, _NO_SESSION, loc)]
    return tools.make_site(agent=spec, location=loc, surface="agent-config", launcher=launcher,
                     command=f"{spec.name} configured by {src.path}", boundary=boundary, tool=tool, env=env,
                     egress=egress, facts=facts)


# -- MCP servers -------------------------------------------------------------------------------


def _server_spec(name: str, program: str) -> AgentSpec:
    return AgentSpec(id="mcp-server", name=f"MCP server `{name}`", binaries=(program,), requires_any={}, packages=(),
                     bypass=(), sandbox_default_on=False, sandbox_enable=(), sandbox_disable=(), endpoints=(), api_keys=())


def mcp_sites(tools: ConfigTools, src, servers: Node | None, config_label: str, trust_key: str = "trust"):
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
            fact = tools.secret_fact(key, loc(value), secret_ref=refname if refname and refname != key else "")
            if fact is None and refname:
                fact = tools.secret_fact(refname, loc(value))
            if fact is None and value.text() and not ref and _looks_secret(key):
                fact = Fact(FactKind.SECRET_OPERATOR, key, loc(value))
            if fact is not None:
                facts.append(Fact(fact.kind, key, fact.location))
        facts.extend(_argv_secrets(tools, words[1:]))
        facts.extend(_engine_control(tools.catalog, words))
        trust = server.get(trust_key)
        if trust is not None and trust.truthy():
            facts.append(Fact(FactKind.BYPASS_FLAG, f"{trust_key}: true", loc(trust)))
        site_loc = src.loc(server.key_line or server.line)
        found = tools.read(words)
        inv = found[0] if found and isinstance(found[0], Invocation) else None
        if inv is not None:  # an agent serving MCP (claude mcp serve, codex mcp-server)
            yield tools.make_site(agent=inv.agent, location=site_loc, surface="mcp-config", launcher=f"the MCP client that reads {config_label}",
                            command=" ".join(w.text for w in inv.all_words), boundary=None, env=EnvMode.MINIMAL,
                            env_detail="an MCP client passes a small default environment plus `env`",
                            facts=[*facts, Fact(FactKind.TIMEOUT, "the MCP client ends the server with the session", site_loc)],
                            invocation=inv), ()
            continue
        spec = _server_spec(name, basename(words[0].text))
        wrapped = _through_runner(tools, words, spec)
        if wrapped is not None:  # a repository script that hands "$@" to a sandbox (a runner)
            yield tools.make_site(agent=spec, location=site_loc, surface="mcp-config", launcher=f"the MCP client that reads {config_label}",
                            command=" ".join(w.text for w in words), boundary=None, env=EnvMode.MINIMAL,
                            env_detail="an MCP client passes a small default environment plus `env`",
                            facts=[*facts, Fact(FactKind.TIMEOUT, "the MCP client ends the server with the session", site_loc)],
                            invocation=wrapped), ()
            continue
        boundary, tool, egress, extra = _wrapper(tools, words)
        yield tools.make_site(agent=spec, location=site_loc, surface="mcp-config", launcher=f"the MCP client that reads {config_label}",
                        command=" ".join(w.text for w in words), boundary=boundary, tool=tool, env=EnvMode.MINIMAL,
                        env_detail="an MCP client passes a small default environment plus `env`", egress=egress,
                        facts=[*facts, *extra, Fact(FactKind.TIMEOUT, "the MCP client ends the server with the session", site_loc)]), ()


def _through_runner(tools: ConfigTools, words: list[Word], spec: AgentSpec) -> Invocation | None:
    """The server read through the repository script it is started by, when that script hands
    its arguments on ("$@"): the wrappers the script puts around it judge it like any launch."""
    if not ("/" in words[0].text or words[0].text.endswith(".sh")):
        return None
    found = tools.reader.read(words, program=spec)
    if isinstance(found, Invocation) and any(layer.tool.startswith("script ") for layer in found.layers):
        return found
    return None


def _looks_secret(key: str) -> bool:
    return bool(re.search(r"TOKEN|SECRET|PASSWORD|API_KEY|PRIVATE_KEY", key, re.I))


def _secret_flag(flag: str) -> bool:
    """`--access-token`, `--api-key`; not `--token-file` or `--api-key-env`, which name where it is."""
    name = flag.lstrip("-").replace("-", "_")
    return _looks_secret(name) and not re.search(r"_(file|path|dir|env|var|name|url|header|helper|command)$", name, re.I)


_REF = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::?[-=?+][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _argv_secrets(tools: ConfigTools, args: list[Word]) -> list[Fact]:
    """Credentials handed to a server on its command line: `--access-token $SENTRY_TOKEN`,
    `--api-key=sk-...`. A token on argv is also readable by every process of the user."""
    facts: list[Fact] = []
    for i, word in enumerate(args):
        text = word.text
        refs = [m.group(1) or m.group(2) for m in _REF.finditer(text)]
        for name in refs:
            fact = tools.secret_fact(name, word.location)
            if fact is not None:
                facts.append(Fact(fact.kind, name, word.location))
        if refs:
            continue
        flag, eq, value = text.partition("=")
        if eq and flag.startswith("-") and value and _secret_flag(flag):
            facts.append(Fact(FactKind.SECRET_OPERATOR, flag, word.location))
        elif i and text and not text.startswith("-") and args[i - 1].text.startswith("-") \
                and "=" not in args[i - 1].text and _secret_flag(args[i - 1].text):
            facts.append(Fact(FactKind.SECRET_OPERATOR, args[i - 1].text, word.location))
    return facts


def _engine_control(cat: Catalog, words: list[Word]) -> list[Fact]:
    """A server that drives the host's container engine holds the equivalent of the docker socket."""
    patterns = cat.containment.list("engine_control_mcp")
    for word in words:
        name = word.text.lower().rsplit("/", 1)[-1].split("@", 1)[0]
        if name and any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(word.text.lower(), p) for p in patterns):
            return [Fact(FactKind.MOUNT_DOCKER_SOCKET_RW, f"the host's container engine, driven by `{word.text}`", word.location)]
    return []


def _wrapper(tools: ConfigTools, words: list[Word]) -> tuple[Boundary | None, str, Egress, list[Fact]]:
    head = basename(words[0].text)
    rest = words[1:]
    cat = tools.catalog
    if head in cat.containment.list("container_engines") and rest and rest[0].text == "run":
        flags: list[Word] = []
        i = 1
        value_flags = tools.judge.run_value_flags
        while i < len(rest) and rest[i].text.startswith("-"):
            flags.append(rest[i])
            flag = rest[i].text.split("=", 1)[0]
            if flag in value_flags and "=" not in rest[i].text and i + 1 < len(rest):
                flags.append(rest[i + 1])
                i += 1
            i += 1
        facts = docker_option_facts(tools, flags) if flags else []
        if i < len(rest):
            facts.extend(image_facts(rest[i].text, rest[i].location))
        egress = network_egress(facts)
        if egress is None:
            egress = Egress.OPEN
            facts.append(Fact(FactKind.NETWORK_DEFAULT, "default bridge network", words[0].location))
        if not any(f.text == "--rm" for f in flags):
            facts.append(Fact(FactKind.EPHEMERAL, "the MCP client stops the server with the session", words[0].location))
        return Boundary.CONTAINER, f"{head} run", egress, facts
    wrapper = cat.sandbox_wrapper([w.text for w in words])
    egress = cat.sandbox_egress(wrapper) if wrapper is not None else None
    if egress is not None:  # an OS sandbox: the egress it gives with no network flag
        return Boundary.OS_SANDBOX, wrapper, egress, []
    return None, "", Egress.OPEN, []


# -- Claude Code -------------------------------------------------------------------------------


def _document(analysis: Analysis, load) -> tuple:  # type: ignore[no-untyped-def]
    """The file and its top-level mapping (None when it is not one; a parse error is noted)."""
    doc = load(analysis.source.text, analysis.notes)
    return analysis.source, doc if doc is not None and doc.is_map else None


def analyze_claude_settings(analysis: Analysis):
    src, doc = _document(analysis, load_json)
    return claude_sites(analysis.tools, src, doc) if doc is not None else ()


def claude_sites(tools: ConfigTools, src, doc: Node):
    spec = tools.agent_by_name("claude-code")
    cat = tools.catalog
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    facts: list[Fact] = []
    sandbox = doc.path("sandbox", "enabled")
    sandboxed = sandbox is not None and sandbox.truthy()
    mode = doc.path("permissions", "defaultMode")
    meaning = cat.approval_mode("claude-code", mode.text()) if mode is not None else None
    if meaning is not None and meaning.approvals_off(confined=sandboxed):
        facts.append(Fact(FactKind.BYPASS_FLAG, f"defaultMode: {mode.text()}", loc(mode)))
    for rule in (doc.path("permissions", "allow").seq() if doc.path("permissions", "allow") is not None else []):
        if rule.is_scalar and cat.allows_any_shell("claude-code", rule.text()):
            facts.append(Fact(FactKind.BYPASS_FLAG, f"allow {rule.text()}", loc(rule)))
    for key in cat.approval_switches("claude-code"):
        switch = doc.get(key)
        if switch is not None and switch.truthy():
            facts.append(Fact(FactKind.BYPASS_FLAG, f"{key}: true", loc(switch)))
    if facts:
        if sandboxed:
            yield _config_site(tools, spec, src, facts[0].location, f"Claude Code settings {src.path}", facts,
                               Boundary.AGENT_SANDBOX, "Claude Code sandbox", Egress.ALLOW_LIST), ()
        else:
            yield _config_site(tools, spec, src, facts[0].location, f"Claude Code settings {src.path}", facts), ()
    yield from mcp_sites(tools, src, doc.get("mcpServers"), src.path)


def analyze_mcp_json(analysis: Analysis):
    src, doc = _document(analysis, load_json)
    return mcp_sites(analysis.tools, src, _server_map(analysis.catalog, doc), src.path) if doc is not None else ()


def _server_map(cat: Catalog, doc: Node) -> Node | None:
    for path in cat.config_files.section("mcp").get("server_maps") or ():
        node = doc.path(*path)
        if node is not None and node.is_map:
            return node
    return None


# -- Codex -------------------------------------------------------------------------------------


def analyze_codex_config(analysis: Analysis):
    src, doc = _document(analysis, load_toml)
    return codex_sites(analysis.tools, src, doc) if doc is not None else ()


def _codex_table(cat: Catalog, src, table: Node) -> tuple[list[Fact], Boundary, Egress, EnvMode]:
    """What one table of Codex settings (the top level or a profile) turns off."""
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    facts: list[Fact] = []
    boundary, egress, env = Boundary.AGENT_SANDBOX, Egress.NONE, EnvMode.MINIMAL
    mode = table.get("sandbox_mode")
    if mode is not None and cat.sandbox_mode_on("codex", mode.text()) is False:
        facts.append(Fact(FactKind.BYPASS_FLAG, f'sandbox_mode = "{mode.text()}"', loc(mode)))
        boundary, egress = Boundary.UNKNOWN, Egress.UNKNOWN
    approval = table.get("approval_policy")
    meaning = cat.approval_mode("codex", approval.text()) if approval is not None else None
    if meaning is not None and meaning.approvals_off():
        facts.append(Fact(FactKind.BYPASS_FLAG, f'approval_policy = "{approval.text()}"', loc(approval)))
    net = table.path("sandbox_workspace_write", "network_access")
    if net is not None and net.truthy() and boundary is Boundary.AGENT_SANDBOX:
        facts.append(Fact(FactKind.NETWORK_DEFAULT, "network_access = true", loc(net)))
        egress = Egress.OPEN
    inherit = table.path("shell_environment_policy", "inherit")
    if inherit is not None and inherit.text() == "all":
        excludes = table.path("shell_environment_policy", "ignore_default_excludes")
        if excludes is not None and excludes.truthy():
            env = EnvMode.INHERITED
            facts.insert(0, Fact(FactKind.ENV_INHERITED, 'shell_environment_policy inherit = "all" without the default excludes', loc(excludes)))
    return facts, boundary, egress, env


def codex_sites(tools: ConfigTools, src, doc: Node):
    spec = tools.agent_by_name("codex")
    facts, boundary, egress, env = _codex_table(tools.catalog, src, doc)
    if facts:
        yield _config_site(tools, spec, src, facts[0].location, f"Codex config {src.path}", facts, boundary, "Codex sandbox", egress, env), ()
    # A profile is a named way to run Codex (`codex --profile NAME`, or `profile = NAME` by default).
    profiles = doc.get("profiles")
    for name, table in (profiles.items() if profiles is not None and profiles.is_map else []):
        if not table.is_map:
            continue
        facts, boundary, egress, env = _codex_table(tools.catalog, src, table)
        if facts:
            yield _config_site(tools, spec, src, facts[0].location, f"Codex profile `{name}` in {src.path}", facts, boundary,
                               "Codex sandbox", egress, env), ()
    yield from mcp_sites(tools, src, doc.get("mcp_servers"), src.path)


# -- Gemini CLI, OpenCode, Aider ----------------------------------------------------------------


def analyze_gemini_settings(analysis: Analysis):
    src, doc = _document(analysis, load_json)
    return gemini_sites(analysis.tools, src, doc) if doc is not None else ()


def gemini_sites(tools: ConfigTools, src, doc: Node):
    spec = tools.agent_by_name("qwen-code" if "qwen" in src.path.lower() else "gemini-cli") or tools.agent_by_name("gemini-cli")
    label = "Qwen Code" if spec.id == "qwen-code" else "Gemini"
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    cat = tools.catalog
    keys = cat.config_files.section("gemini-cli")
    facts: list[Fact] = []
    for path in keys.get("auto_accept_keys") or ():
        node = doc.path(*path)
        if node is not None and node.is_scalar and node.truthy():
            facts.append(Fact(FactKind.BYPASS_FLAG, f"{'.'.join(path)}: {node.text()}", loc(node)))
    for path in keys.get("approval_mode_keys") or ():
        node = doc.path(*path)
        meaning = cat.approval_mode("gemini-cli", node.text()) if node is not None and node.is_scalar else None
        if node is not None and node.is_scalar and (node.truthy() or (meaning is not None and meaning.approvals_off())):
            facts.append(Fact(FactKind.BYPASS_FLAG, f"{'.'.join(path)}: {node.text()}", loc(node)))
    sandbox = doc.path("tools", "sandbox") or doc.get("sandbox")
    if facts:
        if sandbox is not None and sandbox.text() not in ("", "false"):
            yield _config_site(tools, spec, src, facts[0].location, f"{label} settings {src.path}", facts,
                               Boundary.CONTAINER if sandbox.text() in ("docker", "podman", "true", "runsc") else Boundary.OS_SANDBOX,
                               f"{spec.name} sandbox ({sandbox.text()})", Egress.OPEN), ()
        else:
            yield _config_site(tools, spec, src, facts[0].location, f"{label} settings {src.path}", facts), ()
    yield from mcp_sites(tools, src, doc.get("mcpServers"), src.path)


def analyze_opencode(analysis: Analysis):
    src, doc = _document(analysis, load_json)
    return opencode_sites(analysis.tools, src, doc) if doc is not None else ()


def opencode_sites(tools: ConfigTools, src, doc: Node):
    spec = tools.agent_by_name("opencode")
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    facts: list[Fact] = []
    perm = doc.get("permission")
    if perm is None:
        facts.append(Fact(FactKind.BYPASS_DEFAULT, "no `permission` block: OpenCode allows every tool by default", src.loc(doc.line)))
    elif perm.is_scalar and perm.text() == "allow":
        facts.append(Fact(FactKind.BYPASS_FLAG, '"permission": "allow"', loc(perm)))
    elif perm.is_map:
        for key in tools.catalog.allow_rules("opencode").shell_tools:
            node = perm.get(key)
            if node is not None and node.is_scalar and node.text() == "allow":
                facts.append(Fact(FactKind.BYPASS_FLAG, f'"permission.{key}": "allow"', loc(node)))
    if facts:
        yield _config_site(tools, spec, src, facts[0].location, f"OpenCode config {src.path}", facts), ()
    mcp = doc.get("mcp")
    if mcp is not None and mcp.is_map:
        local = {k: v for k, v in mcp.items() if v.is_map and (v.get("type") is None or v.get("type").text() == "local")}
        yield from mcp_sites(tools, src, Node(local, mcp.line, mcp.key_line), src.path)


def analyze_aider_conf(analysis: Analysis):
    src, doc = _document(analysis, load_yaml)
    if doc is None:
        return
    spec = analysis.tools.agent_by_name("aider")
    for key in analysis.catalog.approval_switches("aider"):
        node = doc.get(key)
        if node is not None and node.truthy():
            fact = Fact(FactKind.BYPASS_FLAG, f"{key}: true", src.loc(node.anchor))
            yield _config_site(analysis.tools, spec, src, fact.location, f"Aider config {src.path}", [fact]), ()
            return


# -- configs recognised by their content ---------------------------------------------------------
#
# Dotfiles repos check in `~/.codex/config.toml` as `config.toml`, projects ship
# `claude_desktop_config.json` or `mcp.json.template`: a JSON or TOML file anywhere is read as an
# agent config when its content says so. The test is cheap (a byte search) and precise (the
# agent's own keys, in the agent's own shapes), so ordinary JSON and TOML files cost one search.
# The keys are data: rules/config_files.yaml.


@lru_cache(maxsize=4)
def _keyset(cat: Catalog) -> dict:
    """rules/config_files.yaml as sets, built once per catalog."""
    cfg = cat.config_files
    claude, gemini = cfg.section("claude-code"), cfg.section("gemini-cli")
    codex = frozenset(cfg.section("codex").get("keys") or ())
    return {
        "json_hint": re.compile(rb'"(?:' + "|".join(re.escape(k) for k in cfg.list("json_hint_keys")).encode() + rb')"\s*:'),
        "codex": codex,
        "toml_hint": re.compile(rb"(?m)^\s*\[?\s*(?:profiles\.[^\]]*\.)?(?:" + "|".join(sorted(codex)).encode() + rb")\b"),
        "claude_permissions": frozenset(claude.get("permission_keys") or ()),
        "claude_sandbox": frozenset(claude.get("sandbox_keys") or ()),
        "claude_top": frozenset(claude.get("top_keys") or ()),
        "gemini_top": frozenset(gemini.get("top_keys") or ()),
        "gemini_nested": {k: frozenset(v or ()) for k, v in (gemini.get("nested_keys") or {}).items()},
        "gemini_sandbox": frozenset(str(v) for v in gemini.get("sandbox_values") or ()),
        "opencode_permissions": frozenset(cfg.section("opencode").get("permission_keys") or ()),
        "mcp_file": frozenset(cfg.section("mcp").get("file_keys") or ()),
    }


def _keys(node: Node | None) -> set[str]:
    return {k for k, _v in node.items()} if node is not None and node.is_map else set()


def is_claude_settings(cat: Catalog, doc: Node) -> bool:
    perms = doc.get("permissions")
    keys = _keyset(cat)
    if perms is not None and perms.is_map and _keys(perms) & keys["claude_permissions"]:
        return all(perms.get(k) is None or perms.get(k).is_seq for k in ("allow", "deny", "ask"))
    sandbox = doc.get("sandbox")
    if sandbox is not None and sandbox.is_map and _keys(sandbox) & keys["claude_sandbox"]:
        return True
    return bool(_keys(doc) & keys["claude_top"])


def is_gemini_settings(cat: Catalog, doc: Node) -> bool:
    keys = _keyset(cat)
    if _keys(doc) & keys["gemini_top"]:
        return True
    sandbox = doc.get("sandbox")
    if sandbox is not None and sandbox.is_scalar and sandbox.text() in keys["gemini_sandbox"]:
        return True
    return any(_keys(doc.get(key)) & wanted for key, wanted in keys["gemini_nested"].items())


def is_opencode_config(cat: Catalog, doc: Node) -> bool:
    schema = doc.get("$schema")
    if schema is not None and "opencode" in schema.text():
        return True
    perm = doc.get("permission")
    return perm is not None and perm.is_map and bool(_keys(perm) & _keyset(cat)["opencode_permissions"]) and \
        all(v.is_scalar or v.is_map for _k, v in perm.items())


def stdio_servers(servers: Node | None) -> bool:
    return servers is not None and servers.is_map and any(
        v.is_map and v.get("command") is not None and (v.get("command").is_scalar or v.get("command").is_seq)
        for _k, v in servers.items())


def is_mcp_file(cat: Catalog, doc: Node, path: str) -> bool:
    """A file devoted to MCP servers: its name says so, or the server map is all it holds. (A
    server map inside some other tool's settings runs wherever that tool runs: unknown here.)"""
    servers = _server_map(cat, doc)
    if not stdio_servers(servers):
        return False
    name = config_name(path).lower()
    if "mcp" in name or name.startswith("claude_desktop_config") or name in (".claude.json", "claude.json") \
            or doc.path("mcp", "servers") is servers:
        return True
    return _keys(doc) <= _keyset(cat)["mcp_file"]


def analyze_json_config(analysis: Analysis):
    """Any JSON file: a Claude, Gemini/Qwen or OpenCode settings file, or an MCP server list."""
    src, tools, cat = analysis.source, analysis.tools, analysis.catalog
    if not _keyset(cat)["json_hint"].search(src.data):
        return
    try:  # the C parser decides cheaply; only an agent config pays for the line-keeping one
        quick = json.loads(src.data)
    except (ValueError, RecursionError):
        quick = None  # JSON with comments (or not JSON): the JSONC reader decides
    if quick is not None and (not isinstance(quick, dict) or _json_kind(cat, _shallow(quick), src.path) is None):
        return
    doc = load_json(src.text, [])  # most JSON files are not agent configs: no note when one is not JSON
    if doc is None or not doc.is_map:
        return
    kind = _json_kind(cat, doc, src.path)
    if kind == "claude":
        sites = claude_sites(tools, src, doc)
    elif kind == "gemini":
        sites = gemini_sites(tools, src, doc)
    elif kind == "opencode":
        sites = opencode_sites(tools, src, doc)
    elif kind == "mcp":
        sites = mcp_sites(tools, src, _server_map(cat, doc), src.path)
    else:
        return
    yield from sites


def _json_kind(cat: Catalog, doc: Node, path: str) -> str | None:
    if not doc.is_map:
        return None
    if is_claude_settings(cat, doc):
        return "claude"
    if is_gemini_settings(cat, doc):
        return "gemini"
    if is_opencode_config(cat, doc):
        return "opencode"
    if is_mcp_file(cat, doc, path):
        return "mcp"
    return None


def _shallow(value, depth: int = 0) -> Node:
    """The top of a parsed JSON value as Nodes, deep enough for the shape tests above."""
    if depth > 3:
        return Node(None, 1)
    if isinstance(value, dict):
        return Node({str(k): _shallow(v, depth + 1) for k, v in value.items()}, 1)
    if isinstance(value, list):
        return Node([_shallow(v, depth + 1) for v in value[:64]], 1)
    return Node(value, 1)


def is_codex_config(cat: Catalog, doc: Node) -> bool:
    codex = _keyset(cat)["codex"]
    if _keys(doc) & codex:
        return True
    profiles = doc.get("profiles")
    return any(_keys(p) & codex for _k, p in (profiles.items() if profiles is not None else []))


def analyze_toml_config(analysis: Analysis):
    """Any TOML file with Codex's own keys: a Codex config wherever it is checked in."""
    src = analysis.source
    if not _keyset(analysis.catalog)["toml_hint"].search(src.data):
        return
    doc = load_toml(src.text, [])
    if doc is None or not doc.is_map or not is_codex_config(analysis.catalog, doc):
        return
    yield from codex_sites(analysis.tools, src, doc)


def analyze_config_by_content(analysis: Analysis):
    if is_any_toml(analysis.source.path):
        return analyze_toml_config(analysis)
    return analyze_json_config(analysis)


# -- which paths are which config ----------------------------------------------------------------


@lru_cache(maxsize=1)
def _suffix() -> str:
    return "(?:" + "|".join(re.escape(s) for s in template_suffixes()) + ")?"


def _matcher(pattern: str):
    compiled: list[re.Pattern[str]] = []

    def match(path: str) -> bool:
        if not compiled:
            compiled.append(re.compile(pattern.replace("{SUFFIX}", _suffix())))
        return bool(compiled[0].search(path))

    return match


is_claude_settings_path = _matcher(r"(^|/)\.claude/settings(\.local)?\.json{SUFFIX}$")
is_mcp_json_path = _matcher(r"(^|/)(\.mcp\.json|\.cursor/mcp\.json|\.vscode/mcp\.json|\.amazonq/mcp\.json|"
                            r"\.kiro/settings/mcp\.json|\.agents/mcp\.json|\.gemini/mcp\.json){SUFFIX}$")
is_codex_config_path = _matcher(r"(^|/)\.codex/config\.toml{SUFFIX}$")
is_gemini_settings_path = _matcher(r"(^|/)\.(gemini|qwen)/settings\.json{SUFFIX}$")
is_any_json = _matcher(r"\.(json|jsonc){SUFFIX}$")
is_any_toml = _matcher(r"\.toml{SUFFIX}$")


def is_opencode(path: str) -> bool:
    return config_name(path) in ("opencode.json", "opencode.jsonc")


def is_aider_conf(path: str) -> bool:
    return config_name(path) in (".aider.conf.yml", ".aider.conf.yaml", "aider.conf.yml", "aider.conf.yaml")

"""Rewrites of configuration launch sites: agent settings, MCP server lists, workflow jobs,
compose services and container run lines.

Each rewriter takes a file's text and returns `(new_text, notes)` or raises `Manual(reason)`.
Edits touch only the values they change (JSON and TOML by value range, YAML by line), so
comments and layout survive; the caller parses every result again before writing it.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from scanner.remediation import jsonedit as je

__all__ = ["Manual", "rewrite_agent_settings", "rewrite_mcp_json", "rewrite_mcp_toml", "rewrite_workflow",
           "rewrite_compose_service", "rewrite_container_run", "plan_container_run", "ContainerRunPlan",
           "mcp_runner_command", "MCP_TIMEOUT", "INTERNAL_NETWORK"]

#: an MCP server lives as long as the client session: a working day, not the agent's 30 minutes.
MCP_TIMEOUT = "28800"


class Manual(Exception):
    """This site cannot be rewritten safely; the message says why and what to do instead."""


# --- agent settings ------------------------------------------------------------------------------

_CLAUDE_BYPASS = {"bypassPermissions", "dontAsk", "auto", "acceptEdits"}
_BROAD_RULE = re.compile(r"^\s*(\*|Bash(\(\s*[*:]*\s*\)|:\*+)?)\s*$")


def _json_doc(text: str) -> je.JNode:
    try:
        doc = je.parse(text)
    except je.JSONEditError as exc:
        raise Manual(f"the file is not JSON this rewrite can edit in place ({exc})") from None
    if doc.kind != "object":
        raise Manual("the file is not a JSON object")
    return doc


def _set(text: str, obj: je.JNode, key: str, value_text: str) -> je.Edit:
    node = obj.get(key)
    if node is not None:
        return je.replace(node, value_text)
    return je.insert_member(text, obj, key, value_text)


def _claude(text: str, doc: je.JNode) -> list[je.Edit]:
    edits: list[je.Edit] = []
    perms = doc.get("permissions")
    if perms is not None and perms.kind != "object":
        raise Manual("`permissions` is not an object")
    sandbox = doc.get("sandbox")
    if sandbox is not None and sandbox.kind != "object":
        raise Manual("`sandbox` is not an object")
    if perms is not None:
        mode = perms.get("defaultMode")
        if mode is not None and mode.value in _CLAUDE_BYPASS:
            edits.append(je.replace(mode, '"default"'))
        allow = perms.get("allow")
        if allow is not None and allow.kind == "array":
            for index, item in enumerate(allow.items):
                if item.kind == "string" and _BROAD_RULE.match(item.value):
                    edits.append(je.remove_item(text, allow, index))
        edits.append(_set(text, perms, "disableBypassPermissionsMode", '"disable"'))
    project = doc.get("enableAllProjectMcpServers")
    if project is not None and project.value is True:
        edits.append(je.replace(project, "false"))
    wanted = {"enabled": "true", "allowUnsandboxedCommands": "false", "failIfUnavailable": "true"}
    if sandbox is None:
        body = ",\n    ".join(f'"{k}": {v}' for k, v in wanted.items())
        edits.append(je.insert_member(text, doc, "sandbox", "{\n    " + body + "\n  }"))
    else:
        for key, value in wanted.items():
            current = sandbox.get(key)
            if current is None or json.dumps(current.value) != value:
                edits.append(_set(text, sandbox, key, value))
    if perms is None:
        edits.append(je.insert_member(text, doc, "permissions",
                                      '{\n    "defaultMode": "default",\n    "disableBypassPermissionsMode": "disable"\n  }'))
    return _merge_inserts(edits)


def _merge_inserts(edits: list[je.Edit]) -> list[je.Edit]:
    """Several insertions at one offset become one edit (in order)."""
    out: dict[tuple[int, int], str] = {}
    order: list[tuple[int, int]] = []
    for start, end, new in edits:
        if (start, end) in out and start == end:
            out[(start, end)] += new
        else:
            out[(start, end)] = new
            order.append((start, end))
    return [(s, e, out[(s, e)]) for s, e in order]


def _gemini(text: str, doc: je.JNode, qwen: bool = False) -> list[je.Edit]:
    edits: list[je.Edit] = []
    for path in (("tools", "autoAccept"), ("autoAccept",)):
        node = doc.path(*path)
        if node is not None and node.value is True:
            edits.append(je.replace(node, "false"))
    for path in (("general", "defaultApprovalMode"), ("defaultApprovalMode",), ("tools", "approvalMode"),
                 ("approvalMode",)):
        node = doc.path(*path)
        if node is not None and node.kind == "string" and node.value in ("yolo", "auto_edit", "auto-edit", "auto"):
            edits.append(je.replace(node, '"default"'))
    for container in ("mcpServers",):
        servers = doc.get(container)
        for _name, server, _s, _e in (servers.members if servers is not None and servers.kind == "object" else []):
            trust = server.get("trust") if server.kind == "object" else None
            if trust is not None and trust.value is True:
                edits.append(je.replace(trust, "false"))
    edits.extend(_shell_tools(text, doc))
    return edits


#: tool-list entries that give the agent an unrestricted shell
_SHELL_TOOLS = {"run_shell_command", "ShellTool", "Bash", "Bash(*)", "shell", "terminal"}


def _shell_tools(text: str, doc: je.JNode) -> list[je.Edit]:
    edits: list[je.Edit] = []
    for path in (("coreTools",), ("tools", "core"), ("tools", "allowed"), ("allowedTools",)):
        node = doc.path(*path)
        if node is None or node.kind != "array":
            continue
        for index, item in enumerate(node.items):
            if item.kind == "string" and item.value.strip() in _SHELL_TOOLS:
                edits.append(je.remove_item(text, node, index))
    return edits


def _opencode(text: str, doc: je.JNode) -> list[je.Edit]:
    perm = doc.get("permission")
    if perm is None:
        return [je.insert_member(text, doc, "permission", '{"edit": "ask", "bash": "ask", "webfetch": "ask"}')]
    if perm.kind == "string":
        return [je.replace(perm, '"ask"')] if perm.value == "allow" else []
    edits = []
    if perm.kind == "object":
        for key, value, _s, _e in perm.members:
            if value.kind == "string" and value.value == "allow" and key in ("*", "bash", "edit", "webfetch",
                                                                            "external_directory"):
                edits.append(je.replace(value, '"ask"'))
            elif value.kind == "object" and key == "bash":
                for pattern, rule, _s2, _e2 in value.members:
                    if rule.kind == "string" and rule.value == "allow" and pattern.strip() in ("*", "**"):
                        edits.append(je.replace(rule, '"ask"'))
    return edits


_TOML_FIXES = (
    (re.compile(r'^(\s*approval_policy\s*=\s*)(["\'])never\2(\s*(?:#.*)?)$'), r'\g<1>"on-request"\3'),
    (re.compile(r'^(\s*sandbox_mode\s*=\s*)(["\'])danger-full-access\2(\s*(?:#.*)?)$'), r'\g<1>"workspace-write"\3'),
    (re.compile(r'^(\s*network_access\s*=\s*)true(\s*(?:#.*)?)$'), r"\g<1>false\2"),
    (re.compile(r'^(\s*inherit\s*=\s*)(["\'])all\2(\s*(?:#.*)?)$'), r'\g<1>"core"\3'),
    (re.compile(r'^(\s*ignore_default_excludes\s*=\s*)true(\s*(?:#.*)?)$'), r"\g<1>false\2"),
)


def _codex_toml(text: str) -> str:
    """Codex config.toml: its sandbox back on (workspace-write), approvals on request, network off
    for the commands it runs, core environment only — line by line, comments kept."""
    out = []
    for line in text.split("\n"):
        for pattern, repl in _TOML_FIXES:
            line = pattern.sub(repl, line)
        out.append(line)
    return "\n".join(out)


def _aider_yaml(text: str) -> str:
    return "\n".join(re.sub(r"^(\s*yes(?:-always)?\s*:\s*)(?:true|yes|on)(\s*(?:#.*)?)$", r"\g<1>false\2", line,
                            flags=re.I) for line in text.split("\n"))


def rewrite_agent_settings(path: str, text: str, agent: str) -> str:
    """An agent's own settings file with approvals back on and its own sandbox on."""
    if agent == "codex" or path.endswith(".toml"):
        if agent != "codex":
            raise Manual("only Codex's config.toml is rewritten")
        return _codex_toml(text)
    if agent == "aider" or path.endswith((".yml", ".yaml")):
        if agent != "aider":
            raise Manual("this settings format is not rewritten")
        return _aider_yaml(text)
    doc = _json_doc(text)
    if agent == "claude-code":
        edits = _claude(text, doc)
    elif agent in ("gemini-cli", "qwen-code"):
        edits = _gemini(text, doc, agent == "qwen-code")
    elif agent == "opencode":
        edits = _opencode(text, doc)
    else:
        raise Manual(f"{agent} settings are not rewritten; turn its approvals back on by hand")
    if not edits:
        raise Manual("nothing in the settings can be tightened safely")
    return je.apply(text, edits)


# --- MCP servers ---------------------------------------------------------------------------------

_WORKSPACE_VAR = {".vscode/mcp.json": "${workspaceFolder}", ".cursor/mcp.json": "${workspaceFolder}"}
#: files an MCP client reads from the project folder it runs in (the folder holding them, or the
#: folder above a dot folder): the runner is addressed from there.
_PROJECT_FILES = {".mcp.json", ".gemini/settings.json", ".qwen/settings.json", ".codex/config.toml",
                  ".amazonq/mcp.json", ".kiro/settings/mcp.json", "opencode.json", "opencode.jsonc",
                  ".windsurf/mcp.json", ".roo/mcp.json"}


def mcp_runner_command(config_path: str, runner: str) -> str:
    """How an MCP client that reads `config_path` reaches the runner (`runner` is repo-relative)."""
    for suffix, var in _WORKSPACE_VAR.items():
        if config_path == suffix or config_path.endswith("/" + suffix):
            base = config_path[: -len(suffix)].rstrip("/")
            return f"{var}/" + posixpath.relpath(runner, base or ".")
    for suffix in _PROJECT_FILES:
        if config_path == suffix or config_path.endswith("/" + suffix):
            base = config_path[: -len(suffix)].rstrip("/") or "."
            rel = posixpath.relpath(runner, base)
            return rel if rel.startswith("../") else "./" + rel
    raise Manual("the MCP client that reads this file runs outside the repository (a template or a desktop "
                 "config): wrap each server in agent-bwrap.sh by its absolute path where the file is installed")


def _env_names(server: je.JNode) -> list[str]:
    env = server.get("env") or server.get("environment")
    if env is None or env.kind != "object":
        return []
    return [key for key, _v, _s, _e in env.members if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key)]


def rewrite_mcp_json(path: str, text: str, server_line: int, runner: str) -> str:
    """One stdio server of an MCP JSON config, started through the runner: the command and its
    arguments become the runner's argv; its `env` is kept, named in BLASTWALL_PASS_ENV so the
    runner hands exactly those variables on, by name."""
    doc = _json_doc(text)
    command_text = mcp_runner_command(path, runner)
    line_of = lambda offset: text.count("\n", 0, offset) + 1  # noqa: E731
    found = None
    for container in ("mcpServers", "servers", "mcp"):
        servers = doc.get(container)
        if servers is None or servers.kind != "object":
            continue
        for name, server, start, _ke in servers.members:
            if line_of(start) == server_line and server.kind == "object":
                found = (name, server)
    if found is None:
        raise Manual("could not find the server entry again")
    name, server = found
    command = server.get("command")
    if command is None:
        raise Manual("the server has no command")
    edits: list[je.Edit] = []
    if command.kind == "array":  # opencode: "command": ["npx", "-y", "pkg"]
        if not command.items or command.items[0].kind != "string":
            raise Manual("the server's command is not a list of strings")
        if command.items[0].value.endswith("agent-bwrap.sh"):
            raise Manual("already goes through the runner")
        edits.append((command.items[0].start, command.items[0].start, json.dumps(command_text) + ", "))
        env_key = "environment"
    else:
        if command.kind != "string":
            raise Manual("the server's command is not a string")
        if command.value.endswith("agent-bwrap.sh"):
            raise Manual("already goes through the runner")
        if command.value.split("/")[-1] in ("docker", "podman"):
            raise Manual("the server already runs in a container: tighten its docker run flags instead")
        edits.append(je.replace(command, json.dumps(command_text)))
        args = server.get("args")
        if args is None:
            edits.append(je.insert_member(text, server, "args", json.dumps([command.value])))
        elif args.kind == "array":
            at = args.items[0].start if args.items else args.start + 1
            sep = ", " if args.items else ""
            edits.append((at, at, json.dumps(command.value) + sep))
        else:
            raise Manual("the server's args is not a list")
        env_key = "env"
    names = _env_names(server)
    settings = {"BLASTWALL_TIMEOUT": MCP_TIMEOUT}
    if names:
        settings["BLASTWALL_PASS_ENV"] = ",".join(names)
    env = server.get(env_key) if env_key == "environment" else server.get("env")
    if env is None:
        edits.append(je.insert_member(text, server, env_key, json.dumps(settings)))
    elif env.kind == "object":
        for key, value in settings.items():
            edits.append(_set(text, env, key, json.dumps(value)))
    else:
        raise Manual("the server's env is not an object")
    return je.apply(text, _merge_inserts(edits))


_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=\s*(.*?)\s*$")


def rewrite_mcp_toml(path: str, text: str, server_line: int, runner: str) -> str:
    """A Codex `[mcp_servers.<name>]` table started through the runner (line edits; `env_vars`
    names the variables the runner hands on)."""
    command_text = mcp_runner_command(path, runner) if path.endswith(".codex/config.toml") else None
    if command_text is None:
        raise Manual("this Codex config is installed outside the repository (a dotfiles copy): point each "
                     "server's command at agent-bwrap.sh by its absolute path there")
    lines = text.split("\n")
    i = server_line - 1
    if not (0 <= i < len(lines)) or not lines[i].strip().startswith("[mcp_servers."):
        raise Manual("could not find the server table again")
    end = i + 1
    while end < len(lines) and not lines[end].lstrip().startswith("["):
        end += 1
    body = {}
    for j in range(i + 1, end):
        m = _TOML_KEY.match(lines[j])
        if m:
            body[m.group(1)] = j
    if "command" not in body:
        raise Manual("the server has no command")
    cmd_line = lines[body["command"]]
    m = re.match(r'^(\s*command\s*=\s*)("(?:[^"\\]|\\.)*")\s*$', cmd_line)
    if not m:
        raise Manual("the server's command is not a plain string")
    original = json.loads(m.group(2))
    if original.endswith("agent-bwrap.sh"):
        raise Manual("already goes through the runner")
    lines[body["command"]] = f"{m.group(1)}{json.dumps(command_text)}"
    if "args" in body:
        a = re.match(r"^(\s*args\s*=\s*\[)(.*)$", lines[body["args"]])
        if not a:
            raise Manual("the server's args is not a one-line list")
        rest = a.group(2)
        lines[body["args"]] = a.group(1) + json.dumps(original) + (", " if not rest.lstrip().startswith("]") else "") + rest
    else:
        lines.insert(body["command"] + 1, f"args = [{json.dumps(original)}]")
    return "\n".join(lines)


# --- workflows -----------------------------------------------------------------------------------

_CHECKOUT = re.compile(r"^(\s*)(-\s+)?uses:\s*['\"]?actions/checkout@")
_PERSIST = re.compile(r"^\s*persist-credentials\s*:")
_WRITE_SCOPE = re.compile(r"^(\s*)(contents)\s*:\s*write(\s*(?:#.*)?)$")
_ACTION_BYPASS = re.compile(
    r"(?:(?<=[\s'\"])|^)(?:--dangerously-skip-permissions|--allow-dangerously-skip-permissions|"
    r"--permission-mode[ =](?:bypassPermissions|dontAsk|acceptEdits|auto)|"
    r"--allowed-?[Tt]ools[ =](?:'Bash(?:\(\*\))?'|\"Bash(?:\(\*\))?\"|Bash(?:\(\*\))?)|"
    r"--yes-always|--yes|--yolo|--dangerously-bypass-approvals-and-sandbox|--approval-mode[ =]yolo)"
    r"(?=[\s'\"]|$) ?")
_ACTION_VALUES = (
    (re.compile(r"^(\s*sandbox\s*:\s*)(['\"]?)danger-full-access\2(\s*(?:#.*)?)$"), r"\g<1>workspace-write\3"),
    (re.compile(r"^(\s*safety-strategy\s*:\s*)(['\"]?)unsafe\2(\s*(?:#.*)?)$"), r"\g<1>drop-sudo\3"),
    (re.compile(r"^(\s*approval[-_]mode\s*:\s*)(['\"]?)yolo\2(\s*(?:#.*)?)$"), r"\g<1>default\3"),
)
_SHELL_ITEM = re.compile(r"""^(\s*)(['"])(run_shell_command|ShellTool|Bash)\2\s*,?\s*(?://.*)?$""")


@dataclass
class WorkflowFix:
    text: str
    notes: list[str]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block_end(lines: list[str], i: int) -> int:
    """The index after the YAML block that starts at line i (deeper-indented lines below it)."""
    base = _indent(lines[i])
    j = i + 1
    while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base
                              or (lines[j].lstrip().startswith("#") and _indent(lines[j]) > base)):
        j += 1
    while j > i + 1 and not lines[j - 1].strip():
        j -= 1
    return j


def _key_line(line: str, key: str) -> bool:
    return re.match(rf"^\s*(?:-\s+)?{re.escape(key)}\s*:", line) is not None


def rewrite_workflow(text: str, finding_lines: dict[int, set[str]], *,
                     model_keys: Iterable[str] = ()) -> WorkflowFix:
    """A workflow job that runs an agent, hardened in place: `contents: write` to read, operator
    credentials out of the agent's environment, checkout without a persisted token, a job
    timeout, and the agent action's inputs without bypass flags or an unrestricted shell tool."""
    lines = text.split("\n")
    notes: list[str] = []
    drop: set[int] = set()
    keys = set(model_keys)
    spans = _job_spans(lines)
    agent_jobs = [(a, b) for a, b in spans if any(a < line <= b for line in finding_lines)]
    others = [s for s in spans if s not in agent_jobs]
    job_permissions: list[tuple[int, list[str]]] = []  # (job key index, lines to insert under it)
    for line_no, rules in sorted(finding_lines.items()):
        i = line_no - 1
        if not 0 <= i < len(lines):
            continue
        line = lines[i]
        if "workflow-agent-write-token" in rules and others and _top_level_block(lines, i) == "permissions":
            # The workflow's own scopes serve its other jobs too: the agent's jobs get their own.
            block = _top_block_lines(lines, "permissions")
            scoped = [re.sub(r"^(\s*contents\s*:\s*)write", r"\1read", l) for l in block]
            for a, b in agent_jobs:
                if not any(re.match(r"^\s*permissions\s*:", l) and _indent(l) == _indent(lines[a]) + 2
                           for l in lines[a + 1:b]):
                    job_permissions.append((a, [" " * (_indent(lines[a]) + 2) + "permissions:",
                                                *(" " * (_indent(lines[a]) + 2) + l for l in scoped)]))
            notes.append("the agent's jobs get their own read-only permissions; the workflow's stay for its "
                         "other jobs")
            continue
        if "workflow-agent-write-token" in rules:
            m = _WRITE_SCOPE.match(line)
            if m:
                lines[i] = f"{m.group(1)}{m.group(2)}: read{m.group(3)}"
                notes.append("the job token can now only read the repository; push the agent's changes from a "
                             "separate job that does not run the agent")
        if "agent-operator-credentials-passed" in rules:
            m = re.match(r"^\s*(?:-\s+)?([A-Za-z_][\w-]*)\s*:\s*\$\{\{\s*secrets\.", line)
            if m and m.group(1) not in keys:
                drop.add(i)
                notes.append(f"{m.group(1)} no longer reaches the agent; give a step that needs it its own job")
        if "agent-permission-bypass" in rules and _in_action_inputs(lines, i):
            new = _ACTION_BYPASS.sub("", line)
            for pattern, repl in _ACTION_VALUES:
                new = pattern.sub(repl, new)
            item = _SHELL_ITEM.match(line)
            if item:
                drop.add(i)
            elif new != line:
                new = re.sub(r"(?<=[^\s:]) {2,}", " ", new)
                new = re.sub(r"(:\s*['\"])\s+", r"\1", new, count=1)
                lines[i] = new.rstrip()
                if not lines[i].strip() or re.match(r"^\s*[\w-]+\s*:\s*(''|\"\")?\s*$", lines[i]):
                    drop.add(i)  # an input left with no value goes
    # Bypass flags spread over a block scalar (`claude_args: |` then one flag a line).
    for i, line in enumerate(lines):
        if i in drop:
            continue
        stripped = line.strip()
        if stripped in ("--dangerously-skip-permissions", "--allow-dangerously-skip-permissions", "--yes-always",
                        "--yolo", "--dangerously-bypass-approvals-and-sandbox"):
            if _in_with_block(lines, i) and _in_action_inputs(lines, i):
                drop.add(i)
    # The jobs that hold the agent, by name (line numbers move as lines go).
    names = {lines[a].strip().rstrip(":").strip() for a, b in agent_jobs}
    inserts = dict(job_permissions)
    rebuilt: list[str] = []
    for i, line in enumerate(lines):
        if i in drop:
            continue
        rebuilt.append(line)
        rebuilt.extend(inserts.get(i, []))
    lines = rebuilt
    lines = _empty_keys_dropped(lines)
    spans = [(a, b) for a, b in _job_spans(lines) if lines[a].strip().rstrip(":").strip() in names]
    lines = _checkout_without_token(lines, notes, spans)
    spans = [(a, b) for a, b in _job_spans(lines) if lines[a].strip().rstrip(":").strip() in names]
    lines = _job_timeouts(lines, notes, spans)
    return WorkflowFix("\n".join(lines), notes)


def _top_level_block(lines: list[str], i: int) -> str:
    """The top-level key (column 0) whose block holds line i."""
    for j in range(i, -1, -1):
        m = re.match(r"^([\w-]+)\s*:", lines[j])
        if m:
            return m.group(1)
    return ""


def _top_block_lines(lines: list[str], key: str) -> list[str]:
    """The lines under a top-level `key:` block, de-indented to 2 spaces."""
    start = next((i for i, l in enumerate(lines) if re.match(rf"^{key}\s*:\s*(#.*)?$", l)), None)
    if start is None:
        return []
    end = _block_end(lines, start)
    body = [l for l in lines[start + 1:end] if l.strip()]
    base = min((_indent(l) for l in body), default=0)
    return ["  " + l[base:] for l in body]


def _job_spans(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) line indexes of every job under `jobs:` (end exclusive)."""
    jobs_at = next((i for i, l in enumerate(lines) if re.match(r"^jobs\s*:\s*(#.*)?$", l)), None)
    if jobs_at is None:
        return []
    spans = []
    job_indent = None
    i = jobs_at + 1
    while i < len(lines):
        line = lines[i]
        if line.strip() and not line.lstrip().startswith("#") and _indent(line) == 0:
            break
        if line.strip() and not line.lstrip().startswith("#") and re.match(r"^\s+[\w-]+\s*:\s*(#.*)?$", line):
            if job_indent is None:
                job_indent = _indent(line)
            if _indent(line) == job_indent:
                end = _block_end(lines, i)
                spans.append((i, end))
                i = end
                continue
        i += 1
    return spans


def _in_action_inputs(lines: list[str], i: int) -> bool:
    """Line i belongs to a `with:` block (an action's inputs), not to a `run:` script."""
    indent = _indent(lines[i])
    for j in range(i, -1, -1):
        line = lines[j]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if _indent(line) < indent or j == i:
            if re.match(r"^\s*(?:-\s+)?run\s*:", line) and j != i:
                return False
            if re.match(r"^\s*(?:-\s+)?with\s*:\s*$", line) and j != i:
                return True
            if j != i:
                indent = _indent(line)
            if _indent(line) == 0 and j != i:
                return False
    return False


def _in_with_block(lines: list[str], i: int) -> bool:
    """Line i sits in an action input's block scalar (`with:` ... `key: |`)."""
    indent = _indent(lines[i])
    for j in range(i - 1, -1, -1):
        if not lines[j].strip():
            continue
        if _indent(lines[j]) < indent:
            return bool(re.match(r"^\s*[\w-]+\s*:\s*[|>][-+]?\s*$", lines[j]))
    return False


def _empty_keys_dropped(lines: list[str]) -> list[str]:
    """A mapping key left with nothing below it (`env:` whose only entry went) goes too."""
    out: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.rstrip()
        if re.match(r"^\s*(env|with)\s*:\s*$", stripped):
            nxt = next((l for l in lines[i + 1:] if l.strip() and not l.lstrip().startswith("#")), "")
            if _indent(nxt) <= _indent(line):
                continue
        out.append(line)
    return out


def _checkout_without_token(lines: list[str], notes: list[str], spans: list[tuple[int, int]]) -> list[str]:
    """`persist-credentials: false` on the checkouts of the jobs in `spans` (the agent's jobs:
    another job may push with the token on purpose)."""
    out = list(lines)
    i = 0
    shift = 0  # lines inserted so far: spans were measured before them
    while i < len(out):
        m = _CHECKOUT.match(out[i])
        if not m or not any(a <= i - shift < b for a, b in spans):
            i += 1
            continue
        before = len(out)
        step_indent = _indent(out[i]) + (2 if m.group(2) else 0)
        j = i + 1
        with_line = None
        persist = None
        while j < len(out) and (not out[j].strip() or _indent(out[j]) >= step_indent) and \
                not out[j].lstrip().startswith("- "):
            if re.match(rf"^\s{{{step_indent}}}with\s*:\s*$", out[j]):
                with_line = j
            if _PERSIST.match(out[j]):
                persist = j
            j += 1
        if persist is not None:
            if not re.search(r":\s*['\"]?false['\"]?\s*(#.*)?$", out[persist]):
                out[persist] = re.sub(r":.*$", ": false", out[persist])
                notes.append("actions/checkout no longer leaves the job token in .git/config")
        elif with_line is not None:
            out.insert(with_line + 1, " " * (step_indent + 2) + "persist-credentials: false")
            notes.append("actions/checkout no longer leaves the job token in .git/config")
        else:
            out.insert(i + 1, " " * step_indent + "with:")
            out.insert(i + 2, " " * (step_indent + 2) + "persist-credentials: false")
            notes.append("actions/checkout no longer leaves the job token in .git/config")
        shift += len(out) - before
        i += 1 + (len(out) - before)
    return out


def _job_timeouts(lines: list[str], notes: list[str], spans: list[tuple[int, int]]) -> list[str]:
    """`timeout-minutes: 30` on the agent's jobs that have `steps:` and no timeout of their own."""
    wanted = {a for a, _b in spans}
    jobs_at = next((i for i, l in enumerate(lines) if re.match(r"^jobs\s*:\s*$", l)), None)
    if jobs_at is None:
        return lines
    out = list(lines)
    i = jobs_at + 1
    job_indent = None
    inserts: list[tuple[int, str]] = []
    while i < len(out):
        line = out[i]
        if line.strip() and not line.lstrip().startswith("#") and _indent(line) == 0:
            break
        if line.strip() and not line.lstrip().startswith("#") and re.match(r"^\s+[\w-]+\s*:\s*$", line):
            if job_indent is None:
                job_indent = _indent(line)
            if _indent(line) == job_indent:
                end = _block_end(out, i)
                body = out[i + 1:end]
                own = [l for l in body if l.strip() and _indent(l) == job_indent + 2]
                if i in wanted and any(re.match(r"^\s*steps\s*:", l) for l in own) and \
                        not any(re.match(r"^\s*timeout-minutes\s*:", l) for l in own):
                    inserts.append((i + 1, " " * (job_indent + 2) + "timeout-minutes: 30"))
                i = end
                continue
        i += 1
    for at, new in reversed(inserts):
        out.insert(at, new)
    if inserts:
        notes.append("every job now has a timeout (30 minutes; adjust to the task)")
    return out


# --- compose ------------------------------------------------------------------------------------

_CRED_PATH = re.compile(r"(^|[/~}])\.(ssh|aws|azure|kube|docker|gnupg|netrc|git-credentials|npmrc|pypirc|"
                        r"config/gcloud|config/gh|claude|codex|gemini)(/|:|$)")
_HOME_MOUNT = re.compile(r"^(~|\$\{?HOME\}?|/home/[^/:]+|/Users/[^/:]+|/root)(/[^:]*)?:")
_ESCAPE_CAPS = {"ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "DAC_OVERRIDE", "SYS_RAWIO", "BPF",
                "NET_ADMIN", "NET_RAW"}
_UNCONFINED = re.compile(r"(seccomp|apparmor|label)[:=]\s*(unconfined|disable)")


def engine_socket(spec: str) -> bool:
    """True when a mount spec holds a container engine's socket (docker, podman, containerd), as
    the catalog spells them or by the socket's own name."""
    if re.search(r"(docker|podman|containerd)\.sock\b", spec):
        return True
    from scanner.catalog import load_catalog

    try:
        sockets = load_catalog().containment.list("docker_socket")
    except Exception:  # noqa: BLE001 - a catalog that cannot load: the socket name decides
        return False
    return any(sock in spec for sock in sockets)


def _volume_source(spec: str) -> str:
    """The host side of `SOURCE:TARGET[:MODE]`, where SOURCE may hold `${VAR:-default}`."""
    depth, i = 0, 0
    while i < len(spec):
        if spec.startswith("${", i):
            depth += 1
            i += 2
            continue
        if spec[i] == "}" and depth:
            depth -= 1
        elif spec[i] == ":" and not depth:
            return spec[:i]
        i += 1
    return spec


def rewrite_compose_service(text: str, service_line: int, findings: dict[int, set[str]]) -> tuple[str, list[str]]:
    """A compose service that runs an agent, tightened in place (comments kept): no docker socket,
    credential folders, home folders, privileged mode, host namespaces, unconfined profiles,
    escape capabilities or operator credentials; the target mounted read-only; all capabilities
    dropped, no privilege escalation, process and memory limits."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    try:
        doc = yaml.load(text)
    except YAMLError:
        raise Manual("the compose file does not parse") from None
    services = doc.get("services") if hasattr(doc, "get") else None
    if not hasattr(services, "items"):
        raise Manual("no services mapping")
    target = None
    for name, svc in services.items():
        if not hasattr(svc, "get"):
            continue
        start = services.lc.key(name)[0] + 1
        end = max([start, *(_last_line(svc))])
        if start <= service_line <= end or any(start <= line <= end for line in findings):
            if start <= service_line <= end or target is None:
                target = (name, svc, start, end)
    if target is None:
        raise Manual("could not find the service again")
    name, svc, _start, _end = target
    notes: list[str] = []
    flagged = {line for line, rules in findings.items()}

    def is_flagged(seq, index) -> bool:  # type: ignore[no-untyped-def]
        try:
            return seq.lc.item(index)[0] + 1 in flagged
        except (AttributeError, KeyError, IndexError):
            return False

    volumes = svc.get("volumes")
    if isinstance(volumes, list):
        kept = []
        for index, vol in enumerate(volumes):
            spec = vol if isinstance(vol, str) else (f"{vol.get('source', '')}:{vol.get('target', '')}"
                                                     if hasattr(vol, "get") else "")
            source = _volume_source(str(spec))
            if engine_socket(str(spec)) or _CRED_PATH.search(source + ":") or _HOME_MOUNT.match(source + ":") \
                    or source in ("/", "/run", "/var/run") or source.startswith(("/run/user", "/var/run/")) \
                    or (is_flagged(volumes, index) and not _is_target(source)):
                notes.append(f"dropped the mount {spec}")
                continue
            if _is_target(source) and isinstance(vol, str) and not re.search(r":(ro|readonly)(,|$)", vol) \
                    and ":" in vol[len(source):] and ":" not in vol[len(source) + 1:]:
                vol = type(vol)(vol + ":ro") if not hasattr(vol, "style") else vol + ":ro"
                notes.append(f"mounted {source} read-only")
            elif _is_target(source) and hasattr(vol, "get") and not vol.get("read_only"):
                vol["read_only"] = True
                notes.append(f"mounted {source} read-only")
            kept.append(vol)
        if kept:
            volumes[:] = kept
        else:
            del svc["volumes"]
    for key in ("privileged",):
        if svc.get(key) is True:
            del svc[key]
            notes.append("no longer privileged")
    for key in ("network_mode", "pid", "ipc", "userns_mode", "uts", "cgroup"):
        if str(svc.get(key, "")).strip() == "host":
            del svc[key]
            notes.append(f"{key}: host removed")
    caps = svc.get("cap_add")
    if isinstance(caps, list):
        kept_caps = [c for c in caps if str(c).upper().removeprefix("CAP_") not in _ESCAPE_CAPS]
        if len(kept_caps) != len(caps):
            notes.append("escape capabilities removed")
        if kept_caps:
            caps[:] = kept_caps
        else:
            del svc["cap_add"]
    opts = svc.get("security_opt")
    if isinstance(opts, list):
        kept_opts = [o for o in opts if not _UNCONFINED.search(str(o))]
        if len(kept_opts) != len(opts):
            notes.append("unconfined security profiles removed")
        opts[:] = kept_opts
    else:
        from ruamel.yaml.comments import CommentedSeq

        opts = CommentedSeq()
        svc["security_opt"] = opts
    if not any(str(o).startswith("no-new-privileges") for o in opts):
        opts.append("no-new-privileges:true")
    def operator_line(line: int) -> bool:
        return bool(findings.get(line, set()) & {"agent-operator-credentials-passed", "agent-inherits-environment"})

    env = svc.get("environment")
    if isinstance(env, list):
        def drop_entry(i: int, entry: str) -> bool:
            try:
                line = env.lc.item(i)[0] + 1
            except (AttributeError, KeyError, IndexError):
                return False
            return operator_line(line) and _is_credential_entry(entry)

        kept_env = [e for i, e in enumerate(env) if not drop_entry(i, str(e))]
        if len(kept_env) != len(env):
            notes.append("operator credentials removed from the environment")
        if kept_env:
            env[:] = kept_env
        else:
            del svc["environment"]
    elif hasattr(env, "items"):
        for key in list(env.keys()):
            try:
                line = env.lc.key(key)[0] + 1
            except (AttributeError, KeyError):
                line = 0
            if operator_line(line) and _is_credential_entry(f"{key}="):
                del env[key]
                notes.append(f"{key} removed from the environment")
    if "cap_drop" not in svc:
        svc["cap_drop"] = ["ALL"]
    if "pids_limit" not in svc:
        svc["pids_limit"] = 512
    if "mem_limit" not in svc and "deploy" not in svc:
        svc["mem_limit"] = "4g"
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue(), notes


def _last_line(node) -> list[int]:  # type: ignore[no-untyped-def]
    lines = []
    try:
        for key in node:
            lines.append(node.lc.key(key)[0] + 1)
            value = node[key]
            if hasattr(value, "lc"):
                lines.extend(_last_line(value) if hasattr(value, "keys") else
                             [value.lc.item(i)[0] + 1 for i in range(len(value))] if isinstance(value, list) else [])
    except (AttributeError, KeyError, IndexError, TypeError):
        pass
    return lines


def _is_target(source: str) -> bool:
    """The repository (or a folder of it) as a mount source: `.`, `./src`, `$PWD`, `${WORK_DIR:-.}`."""
    m = re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}(/.*)?", source)
    if m:
        source = m.group(1) + (m.group(2) or "")
    source = source.strip("'\"")
    return source in (".", "./", "$PWD", "${PWD}", "$(pwd)", "${GITHUB_WORKSPACE}", "$GITHUB_WORKSPACE") or \
        source.startswith(("./", "../", "$PWD/", "${PWD}/", "$(pwd)/", "${GITHUB_WORKSPACE}/", "$GITHUB_WORKSPACE/"))


#: a variable name that holds a credential: a whole TOKEN/SECRET/KEY/... part of the name (so
#: `CLAUDE_CODE_MAX_OUTPUT_TOKENS` is a setting, `GITHUB_TOKEN` a credential), or a cloud family
SECRETISH = re.compile(r"(?:^|_)(?:TOKEN|SECRET|PASSWORD|PASSWD|PASS|PAT|APIKEY|KEY|CREDENTIALS?|COOKIE|"
                       r"SESSION|AUTH)(?:$|_)|^(?:AWS|AZURE|GCP|GOOGLE_APPLICATION|KUBECONFIG|SSH_AUTH_SOCK|"
                       r"GIT_ASKPASS|VAULT|NPM_CONFIG__AUTH)", re.I)


def is_operator_credential(name: str) -> bool:
    """True for an environment variable that carries one of the operator's credentials (by its
    name, and by the catalog's credential patterns)."""
    if SECRETISH.search(name):
        return True
    from scanner.catalog import load_catalog

    try:
        return load_catalog().credential_kind(name) == "operator"
    except Exception:  # noqa: BLE001 - a catalog that cannot load: the name pattern decides
        return False


def _is_credential_entry(entry: str) -> bool:
    name = entry.split("=", 1)[0].split(":", 1)[0].strip().lstrip("-").strip().strip("'\"")
    return is_operator_credential(name)


# --- docker / podman run lines ------------------------------------------------------------------

_RUN_VALUE = {"-v", "--volume", "--mount", "-e", "--env", "--env-file", "--network", "--net", "--cap-add", "--cap-drop",
              "--security-opt", "-u", "--user", "--pid", "--ipc", "--uts", "--userns", "-w", "--workdir", "--name",
              "--memory", "-m", "--cpus", "--pids-limit", "--tmpfs", "--device", "-p", "--publish", "--entrypoint",
              "--label", "-l", "--add-host", "--hostname", "-h", "--platform", "--gpus", "--shm-size", "--ulimit",
              "--cgroupns", "--group-add", "--restart", "--log-driver", "--log-opt", "--dns", "--mac-address",
              "--runtime", "--stop-timeout", "--stop-signal", "--health-cmd", "--expose", "--link", "--volumes-from"}


def shell_words(command: str) -> list[str]:
    """A one-line shell command split into its words as written (quotes kept)."""
    words, current, quote, i = [], "", "", 0
    while i < len(command):
        char = command[i]
        if quote:
            current += char
            if char == "\\" and quote == '"' and i + 1 < len(command):
                current += command[i + 1]
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current += char
        elif char == "\\" and i + 1 < len(command):
            current += command[i:i + 2]
            i += 1
        elif char.isspace():
            if current:
                words.append(current)
            current = ""
        else:
            current += char
        i += 1
    if quote:
        raise Manual("the command has an unterminated quote")
    if current:
        words.append(current)
    return words


def _unq(word: str) -> str:
    try:
        parts = shlex.split(word, posix=True)
    except ValueError:
        return word
    return parts[0] if len(parts) == 1 else word


def _append(word: str, suffix: str) -> str:
    """`suffix` added to a shell word's value, inside its closing quote when it has one."""
    if word.endswith(("'", '"')) and len(word) > 1:
        return word[:-1] + suffix + word[-1]
    return word + suffix


#: the container runner's internal network and its allow-list proxy (sandbox/run-agent.sh and
#: compose.sandbox.yaml create them; their header says how)
INTERNAL_NETWORK = "agent-internal"
_ROOT_USERS = {"root", "0", "0:0", "root:root", "0:root", "root:0"}
_SAME_NAME = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)=(?:"?\$\{?\1\}?"?|\$\{?\1\}?)$')


@dataclass
class ContainerRunPlan:
    """What `plan_container_run` changes in a `docker|podman run` command, word by word, so a
    caller can keep the command's own layout (one line, or one flag per continued line)."""

    words: list[str]  # the command as written, from `docker`/`podman`
    add: list[list[str]]  # groups of words to add right after `run`
    replace: dict[int, str | None]  # word index -> its new spelling; None drops it
    notes: list[str]

    def result(self) -> list[str]:
        kept = [self.replace.get(i, w) for i, w in enumerate(self.words)]
        kept = [w for w in kept if w is not None]
        return [kept[0], kept[1], *(w for group in self.add for w in group), *kept[2:]]


def rewrite_container_run(words: list[str], model_keys: Iterable[str] = (), network: str = "") -> tuple[list[str], list[str]]:
    """`docker|podman run FLAGS IMAGE ARGV` (words as written) with its escapes removed and the
    sandbox flags added; see `plan_container_run`."""
    plan = plan_container_run(words, model_keys, network)
    return plan.result(), plan.notes


def plan_container_run(words: list[str], model_keys: Iterable[str] = (), network: str = "") -> ContainerRunPlan:
    """`docker|podman run FLAGS IMAGE ARGV` (words as written): its escapes removed (privileged,
    host namespaces, added capabilities, unconfined profiles, env files, operator credentials,
    the docker socket, credential and home folders, a root user) and the sandbox flags added
    (read-only root, tmpfs /tmp and HOME, all capabilities dropped, no-new-privileges, a non-root
    user, limits); the target mount becomes read-only, a variable handed over as `-e NAME=$NAME`
    goes by name. Every other flag and environment entry is kept as written.

    `network`: "proxy" puts a container with no network of its own on the internal network whose
    only way out is the allow-list proxy, "none" gives it no network, "" leaves it alone."""
    if len(words) < 3 or _unq(words[0]).split("/")[-1] not in ("docker", "podman") or _unq(words[1]) != "run":
        raise Manual("not a docker or podman run line")
    keys = set(model_keys)
    replace: dict[int, str | None] = {}
    notes: list[str] = []
    kept_flags: list[str] = []
    i = 2
    while i < len(words) and _unq(words[i]).startswith("-"):
        raw = words[i]
        name, eq, inline = _unq(raw).partition("=")
        takes_value = name in _RUN_VALUE and not eq
        value = inline if eq else (_unq(words[i + 1]) if takes_value and i + 1 < len(words) else None)
        size = 2 if takes_value and i + 1 < len(words) else 1
        chunk = words[i:i + size]
        new_last: str | None = chunk[-1]
        keep = True
        if name == "--privileged":
            keep = False
        elif name in ("--network", "--net", "--pid", "--ipc", "--uts", "--userns", "--cgroupns") and value == "host":
            keep = False
        elif name == "--cap-add":
            keep = False
        elif name == "--security-opt" and value and _UNCONFINED.search(value.replace("=", ":")):
            keep = False
        elif name == "--env-file":
            keep = False
        elif name in ("-e", "--env") and value is not None:
            env_name = value.split("=", 1)[0]
            if env_name not in keys and is_operator_credential(env_name):
                keep = False
            elif _SAME_NAME.match(value):
                new_last = env_name if size == 2 else f"{name}={env_name}"
                notes.append(f"{env_name} handed over by name (its value stays off the command line)")
        elif name in ("-u", "--user") and value is not None and value in _ROOT_USERS:
            new_last = "10001:10001" if size == 2 else f"{name}=10001:10001"
            notes.append("the container runs as user 10001, not root")
        elif name in ("-v", "--volume") and value is not None:
            source = _volume_source(value)
            if engine_socket(value) or _CRED_PATH.search(source + ":") or _HOME_MOUNT.match(source + ":") \
                    or source == "/":
                keep = False
            elif ":" in value[len(source):] and ":" not in value[len(source) + 1:]:
                new_last = _append(chunk[-1], ":ro")
                notes.append(f"{source} mounted read-only")
        elif name == "--mount" and value is not None:
            if engine_socket(value) or _CRED_PATH.search(value) or \
                    re.search(r"source=(~|\$HOME|\$\{HOME\}|/home/|/Users/|/root)", value):
                keep = False
            elif "type=bind" in value and "readonly" not in value and "ro=true" not in value:
                new_last = _append(chunk[-1], ",readonly")
        if keep:
            if new_last != chunk[-1]:
                replace[i + size - 1] = new_last
            kept_flags.extend([*chunk[:-1], new_last or ""])
        else:
            for j in range(i, i + size):
                replace[j] = None
            notes.append(f"dropped {' '.join(chunk)}")
        i += size
    if i >= len(words):
        raise Manual("no image after the run flags")
    have = {_unq(f).split("=", 1)[0] for f in kept_flags}
    values = {_unq(f) for f in kept_flags}
    envs = {v.split("=", 1)[0] for v in values}
    add: list[list[str]] = []
    if "--rm" not in have:
        add.append(["--rm"])
    if "--read-only" not in have:
        add.append(["--read-only", "--tmpfs", "/tmp"])
    if "--cap-drop" not in have:
        add.append(["--cap-drop", "ALL"])
    if not any(v.startswith("no-new-privileges") or v.endswith("no-new-privileges") for v in values):
        add.append(["--security-opt", "no-new-privileges"])
    if not have & {"-u", "--user"}:
        add.append(["--user", "10001:10001"])
        if "HOME" not in envs:  # that user has no home in the image: a writable one of its own
            add.append(["--tmpfs", "/home/agent", "--env", "HOME=/home/agent"])
    limits = []
    if not have & {"-m", "--memory"}:
        limits += ["--memory", "2g"]
    if "--cpus" not in have:
        limits += ["--cpus", "2"]
    if "--pids-limit" not in have:
        limits += ["--pids-limit", "256"]
    if limits:
        add.append(limits)
    if network and not have & {"--network", "--net"}:
        if network == "none":
            add.append(["--network", "none"])
            notes.append("the container gets no network (--network none)")
        else:
            from scanner.remediation.generate import PROXY_IP, PROXY_PORT

            proxy = f"http://{PROXY_IP}:{PROXY_PORT}"
            add.append(["--network", INTERNAL_NETWORK])
            for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
                if name not in envs:
                    add.append(["--env", f"{name}={proxy}"])
            notes.append(f"the container's only way out is the allow-list proxy on the internal network "
                         f"{INTERNAL_NETWORK} (create both once, as sandbox/run-agent.sh's header shows)")
    return ContainerRunPlan(list(words), [g for g in add if g], replace, notes)


def shell_join(words: list[str]) -> str:
    """Words as written, joined back into a command line."""
    return " ".join(words)

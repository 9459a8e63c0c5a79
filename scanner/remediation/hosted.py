"""MCP stdio servers swapped for the provider's hosted server (rules/mcp_servers.yaml).

A stdio server that is the provider's own (by package, image or binary) and holds nothing but its
launch and its token is replaced, in the client's own dialect, by the entry that reaches the same
server at the provider's URL: no local process holds the token, nothing is downloaded and run at
each start, and the token goes only to the provider's endpoint. The token travels in a bearer
header read from the same variable the file already named (or the client signs in with OAuth);
a token written in the file is never copied: the entry reads a variable and the caller lists the
step of setting it. Anything this cannot carry over (a setting, a flag, a client it does not
know) returns None, and the caller keeps the runner wrap.

    entry = rewrite_json(".mcp.json", text, server_line)  # or rewrite_toml for Codex
    if entry is not None: entry.text, entry.explanation(), entry.manual_step()
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from scanner.catalog import HostedMcpServer, McpClient, load_catalog
from scanner.remediation import jsonedit as je

__all__ = ["Hosted", "rewrite_json", "rewrite_toml"]

#: keys of a stdio entry the hosted entry replaces; every other key is the client's own and stays
_LAUNCH_KEYS = {"command", "args", "env", "type", "cwd", "env_vars"}
#: keys whose meaning the hosted entry could not carry (a file the token may come from)
_REFUSED_KEYS = {"envFile"}
#: a value that is only a variable reference: ${VAR}, ${VAR:-default}, ${env:VAR}, $VAR, {env:VAR}
_REFERENCE = re.compile(r"^(?:\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|"
                        r"\{env:([A-Za-z_][A-Za-z0-9_]*)\})$")
_INPUT = re.compile(r"^\$\{input:[^}]+\}$")  # a VS Code prompt: nothing to carry to another client


@dataclass(frozen=True)
class Hosted:
    """The hosted entry that replaced a stdio server, and what it needs from the user."""

    text: str  # the whole rewritten file
    server: HostedMcpServer
    client: McpClient
    variable: str  # the variable the bearer header reads; "" when the client signs in with OAuth
    written_token: bool  # the stdio entry held the token itself (never copied)

    def _fill(self, key: str) -> str:
        template = str(load_catalog().mcp_servers.section("explain")[key])
        return " ".join(template.format(server=self.server.name, provider=self.server.provider, url=self.server.url,
                                        host=urlparse(self.server.url).hostname or self.server.url,
                                        client=self.client.name, variable=self.variable,
                                        token_advice=self.server.token_advice).split())

    def explanation(self) -> str:
        """Why the entry changed, for the report's FIX section and `fix`'s notes."""
        return self._fill("hosted") + " " + self._fill("bearer" if self.variable else "oauth")

    def manual_step(self) -> str:
        """What is left to do by hand ("" when nothing is): set the variable, revoke a written token."""
        if not self.written_token:
            return ""
        return self._fill("literal" if self.variable else "literal_oauth")


# --- recognising the server ------------------------------------------------------------------------

def _package_name(spec: str) -> str:
    """`@scope/name@1.2.3` -> `@scope/name`; `name@latest` -> `name`."""
    at = spec.find("@", 1)
    return spec[:at] if at > 0 else spec


def _image_name(ref: str) -> str:
    """`ghcr.io/org/img:tag@sha256:…` -> `ghcr.io/org/img`."""
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)
    if ":" in last[-1]:
        ref = ref[: len(ref) - len(last[-1])] + last[-1].split(":", 1)[0]
    return ref


def _recognise(words: list[str]) -> tuple[HostedMcpServer, dict[str, str]] | None:
    """The hosted row a stdio launch starts, and the variables `-e NAME[=VALUE]` hands a container
    (name -> value, "" for one handed over by name); None for any word the row does not explain."""
    catalog = load_catalog()
    launchers = catalog.mcp_servers.section("launchers")
    rows = catalog.hosted_mcp_servers
    if not words:
        return None
    head, rest = words[0].rsplit("/", 1)[-1], list(words[1:])
    passed: dict[str, str] = {}
    runners = launchers.get("package_runners") or {}
    if head in runners:
        runner = runners[head] or {}
        if runner.get("subcommand"):
            if not rest or rest[0] != runner["subcommand"]:
                return None
            rest.pop(0)
        while rest and rest[0] in (runner.get("flags") or ()):
            rest.pop(0)
        if not rest:
            return None
        name = _package_name(rest.pop(0))
        row = next((r for r in rows if name in r.packages), None)
    elif head in (launchers.get("container_engines") or ()):
        if not rest or rest.pop(0) != "run":
            return None
        while rest and rest[0].startswith("-"):
            flag = rest.pop(0)
            if flag in (launchers.get("run_flags") or ()):
                continue
            name, eq, value = flag.partition("=")
            if name not in (launchers.get("env_flags") or ()):
                return None
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            var, _eq, literal = value.partition("=")
            passed[var] = literal
        if not rest:
            return None
        image = _image_name(rest.pop(0))
        row = next((r for r in rows if image in r.images), None)
    else:
        row = next((r for r in rows if head in r.binaries), None)
    if row is None or any(w not in row.arguments for w in rest):
        return None
    if any(name not in row.token_env for name in passed):
        return None  # a setting handed to the container (an enterprise host, a tool list)
    return row, passed


@dataclass(frozen=True)
class _Token:
    variable: str  # the variable the file names for the token ("" when none)
    written: bool  # a token (or a placeholder) written in the file


def _token(row: HostedMcpServer, env: dict[str, str], passed: dict[str, str],
           by_name: list[str]) -> _Token | None:
    """Where the server's token comes from, or None when its entries say something this cannot carry
    over (a setting that is no token, a value that is more than a reference)."""
    if any(name not in row.token_env for name in (*env, *by_name)):
        return None
    variables: list[str] = []
    written = False
    for name in sorted(set(env) | set(passed) | set(by_name), key=row.token_env.index):
        value = env.get(name, passed.get(name, ""))
        if name in env or passed.get(name):
            ref = _REFERENCE.match(value)
            if not value.strip():
                pass  # an empty entry: no token to carry
            elif ref:
                variables.append(next(g for g in ref.groups() if g))
            elif _INPUT.match(value):
                pass  # VS Code asks for it: only its OAuth entry can stand in
            elif "$" in value or "{env:" in value:
                return None
            else:
                written = True
        else:
            variables.append(name)  # handed over by name from the client's environment
    if not variables and written:
        variables.append(next(n for n in row.token_env if n in env or n in passed))
    return _Token(variables[0] if variables else "", written)


def _entry(row: HostedMcpServer, client: McpClient, token: _Token) -> tuple[dict[str, Any], str] | None:
    """The client's entry for the hosted server, and the variable its header reads ("" for OAuth)."""
    if client.oauth and client.id in row.oauth_clients:
        template, variable = client.oauth, ""
    elif client.bearer and token.variable:
        template, variable = client.bearer, token.variable
    else:
        return None

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): fill(v) for k, v in value.items()}
        return str(value).replace("<url>", row.url).replace("<variable>", variable)

    return fill(template), variable


# --- JSON clients ----------------------------------------------------------------------------------

def _render(value: Any, indent: str, unit: str, newline: str) -> str:
    if isinstance(value, dict) and value:
        inner = indent + unit
        members = [f"{inner}{json.dumps(k)}: {_render(v, inner, unit, newline)}" for k, v in value.items()]
        return "{" + newline + ("," + newline).join(members) + newline + indent + "}"
    return json.dumps(value)


def rewrite_json(path: str, text: str, server_line: int) -> Hosted | None:
    """The stdio server whose key is on `server_line`, replaced by its hosted entry; None when the
    client, the server or one of its settings is not one this can carry over."""
    client = load_catalog().mcp_client(path)
    if client is None or not client.map:
        return None
    try:
        doc = je.parse(text)
    except je.JSONEditError:
        return None
    servers = doc.get(client.map) if doc.kind == "object" else None
    if servers is None or servers.kind != "object":
        return None
    line_of = lambda offset: text.count("\n", 0, offset) + 1  # noqa: E731
    found = [(start, server) for _n, server, start, _ke in servers.members if line_of(start) == server_line]
    if len(found) != 1 or found[0][1].kind != "object":
        return None
    member_start, server = found[0]
    plain = server.py()
    if set(plain) & _REFUSED_KEYS or plain.get("type", "stdio") != "stdio":
        return None
    command, args, env = plain.get("command"), plain.get("args") or [], plain.get("env") or {}
    if not isinstance(command, str) or not isinstance(args, list) or not isinstance(env, dict) \
            or not all(isinstance(a, str) for a in args) or not all(isinstance(v, str) for v in env.values()):
        return None
    recognised = _recognise([command, *args])
    if recognised is None:
        return None
    row, passed = recognised
    token = _token(row, env, passed, [])
    made = _entry(row, client, token) if token is not None else None
    if made is None:
        return None
    entry, variable = made
    newline = "\r\n" if "\r\n" in text else "\n"
    kept = [(key, text[start:value.end]) for key, value, start, _ke in server.members if key not in _LAUNCH_KEYS]
    if set(entry) & {key for key, _t in kept}:
        return None  # the client's own key would be set twice
    key_line = text[text.rfind("\n", 0, member_start) + 1: member_start]
    key_indent = key_line[: len(key_line) - len(key_line.lstrip())]
    if "\n" in text[server.start:server.end] and server.members:
        first = server.members[0][2]
        member_indent = text[text.rfind("\n", 0, first) + 1: first]
        if member_indent.strip() or not member_indent.startswith(key_indent) or member_indent == key_indent:
            member_indent = key_indent + "  "
        unit = member_indent[len(key_indent):]
        members = [f"{member_indent}{json.dumps(k)}: {_render(v, member_indent, unit, newline)}" for k, v in entry.items()]
        members += [f"{member_indent}{source}" for _k, source in kept]
        body = "{" + newline + ("," + newline).join(members) + newline + key_indent + "}"
    else:
        members = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in entry.items()] + [source for _k, source in kept]
        body = "{" + ", ".join(members) + "}"
    new = je.apply(text, [je.replace(server, body)])
    try:
        je.parse(new)
    except je.JSONEditError:
        return None
    return Hosted(new, row, client, variable, token.written)


# --- Codex config.toml -----------------------------------------------------------------------------

_HEADER = re.compile(r'^\s*\[\s*mcp_servers\s*\.\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_-]+))\s*\]\s*(?:#.*)?$')
_KEY = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[A-Za-z0-9_-]+)\s*=')


def _value_end(lines: list[str], i: int) -> int:
    """The index after the line where the value that starts on line i ends (arrays and inline
    tables may go on over several lines)."""
    depth, quote, j = 0, "", i
    while j < len(lines):
        line = lines[j]
        k = line.index("=") + 1 if j == i else 0
        while k < len(line):
            char = line[k]
            if quote:
                if char == "\\" and quote == '"':
                    k += 1
                elif char == quote:
                    quote = ""
            elif char in "\"'":
                quote = char
            elif char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
            elif char == "#":
                break
            k += 1
        j += 1
        if depth <= 0 and not quote:
            return j
    return j


def _toml_loads(text: str) -> dict[str, Any] | None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return tomllib.loads(text)
    except Exception:  # noqa: BLE001 - any parse error: not a file this edits
        return None


def rewrite_toml(path: str, text: str, server_line: int) -> Hosted | None:
    """A Codex `[mcp_servers.NAME]` table on `server_line` replaced by its hosted keys (line edits:
    the table's other keys and comments stay; its `env` sub-table goes)."""
    client = load_catalog().mcp_client(path)
    doc = _toml_loads(text)
    if client is None or client.map or doc is None:
        return None
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split("\n")
    i = server_line - 1
    header = _HEADER.match(lines[i].rstrip("\r")) if 0 <= i < len(lines) else None
    if header is None:
        return None
    name = json.loads(f'"{header.group(1)}"') if header.group(1) is not None else header.group(2)
    plain = (doc.get("mcp_servers") or {}).get(name)
    if not isinstance(plain, dict) or set(plain) & _REFUSED_KEYS:
        return None
    command, args = plain.get("command"), plain.get("args") or []
    env, by_name = plain.get("env") or {}, plain.get("env_vars") or []
    if not isinstance(command, str) or not isinstance(args, list) or not isinstance(env, dict) \
            or not isinstance(by_name, list) or not all(isinstance(a, str) for a in [*args, *by_name]) \
            or not all(isinstance(v, str) for v in env.values()) or plain.get("type", "stdio") != "stdio":
        return None
    recognised = _recognise([command, *args])
    if recognised is None:
        return None
    row, passed = recognised
    token = _token(row, env, passed, by_name)
    made = _entry(row, client, token) if token is not None else None
    if made is None:
        return None
    entry, variable = made
    if set(entry) & (set(plain) - _LAUNCH_KEYS) or any(isinstance(v, dict) for v in entry.values()):
        return None
    # The table's body, then any `[mcp_servers.NAME.env]` sub-table (dropped) or other sub-table (kept).
    out = lines[: i + 1]
    j, inserted = i + 1, False
    spelled = [f"{k} = {json.dumps(v)}" + ("\r" if newline == "\r\n" else "") for k, v in entry.items()]
    while j < len(lines) and not lines[j].lstrip().startswith("["):
        key = _KEY.match(lines[j])
        if key and key.group(1).strip('"') in _LAUNCH_KEYS:
            if not inserted:
                out.extend(spelled)
                inserted = True
            j = _value_end(lines, j)
            continue
        out.append(lines[j])
        j += 1
    env_table = re.compile(r'^\s*\[\s*mcp_servers\s*\.\s*(?:"' + re.escape(name) + r'"|' + re.escape(name) + r')\s*\.\s*env\s*\]')
    while j < len(lines):
        if env_table.match(lines[j]):
            j += 1
            while j < len(lines) and not lines[j].lstrip().startswith("["):
                j += 1
            continue
        out.append(lines[j])
        j += 1
    if not inserted:
        return None
    new = "\n".join(out)
    after = _toml_loads(new)
    server = ((after or {}).get("mcp_servers") or {}).get(name)
    if not isinstance(server, dict) or set(server) & {"command", "args", "env", "env_vars"} \
            or any(server.get(k) != v for k, v in entry.items()):
        return None
    return Hosted(new, row, client, variable, token.written)

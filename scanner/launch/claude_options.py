"""One reader of the Claude Agent SDK's options, for every language that starts the SDK.

The Python front end (`ClaudeAgentOptions(...)`) and the JavaScript one (`query({options})`) each
find the options object and hand it here as option name -> value node, with the `ValueReader`
they already are; the names come from rules/frameworks.yaml `claude_agent_sdk_options`. Every
rule about what the options decide (permission mode, the skip-permissions switch, allowed tools,
the sandbox, the OS user, the environment's secrets, an abort signal, a read-only session) is
written once, here, so the two languages cannot judge the same option differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from tree_sitter import Node

from scanner.catalog import Catalog, SdkOptionNames
from scanner.launch.sdk_sites import SiteBuilder
from scanner.model import Boundary, Confidence, FactKind, Location
from scanner.parse.trees import UNSET

AGENT = "claude-code"  # rules/permissions.yaml rows the SDK's values are read against
ROOT_USERS = ("root", "0", 0)


class ValueReader(Protocol):
    """What a front end can see of one value in its own file."""

    def const(self, node: Node | None) -> object:
        """The constant (str, bool, None, int), or UNSET."""
        ...

    def forms(self, node: Node) -> list[Node]:
        """The values an expression can take (names followed, both sides of a choice)."""
        ...

    def mapping(self, node: Node) -> dict[str, Node] | None:
        """A nested object's keys and values; None when it cannot be seen."""
        ...

    def strings(self, node: Node | None) -> list[str | None] | None:
        """A list's items (None for an item that is not a constant string); None when not a list."""
        ...

    def loc(self, node: Node) -> Location: ...

    def short(self, node: Node) -> str:
        """The expression on one short line, for evidence."""
        ...


@dataclass(frozen=True)
class ClaudeOptions:
    """The options of one Claude Agent SDK site as its language wrote them."""

    written: Mapping[str, Node]  # option name as the language spells it -> its value
    values: ValueReader
    names: SdkOptionNames

    def get(self, option: str) -> Node | None:
        """The value of an option, by its key in the rules table (`permission_mode`, ...)."""
        name = getattr(self.names, option)
        return self.written.get(name) if name else None


def judge_options(site: SiteBuilder, opts: ClaudeOptions) -> None:
    """Every rule of the options but the read-only session, which waits until the front end has
    added what it knows besides (the Python reader's callers of a helper)."""
    r, n = opts.values, opts.names
    sandbox = opts.get("sandbox")
    sb = r.mapping(sandbox) if sandbox is not None else None
    enabled = r.const(sb[n.sandbox_enabled]) if sb is not None and n.sandbox_enabled in sb else UNSET
    unasked_bypass = _permission_mode(site, opts, confined=enabled is True)
    skip = opts.get("skip_permissions")
    if skip is not None and r.const(skip) is True:
        site.fact(FactKind.BYPASS_FLAG, n.spell(n.skip_permissions, r.short(skip)), r.loc(skip))
    _allowed_tools(site, opts, unasked_bypass)
    if sandbox is not None:
        if enabled is True:
            site.contain(Boundary.AGENT_SANDBOX, "Claude Code sandbox")
            site.fact(FactKind.AGENT_SANDBOX, "sandbox enabled", r.loc(sandbox))
        elif sb is None or (enabled is UNSET and n.sandbox_enabled in sb):
            site.contain(Boundary.UNKNOWN, "Claude Code sandbox")
            site.unknown(f"whether the sandbox `{r.short(sandbox)}` is enabled", r.loc(sandbox))
    _user(site, opts)
    env = opts.get("env")
    envmap = r.mapping(env) if env is not None else None
    if envmap is not None:
        site.secrets((k, r.loc(v)) for k, v in envmap.items())
    abort = opts.get("abort")
    if abort is not None and any("timeout" in r.short(f) for f in r.forms(abort)):
        site.fact(FactKind.TIMEOUT, "AbortSignal.timeout", r.loc(abort))


def _permission_mode(site: SiteBuilder, opts: ClaudeOptions, confined: bool) -> bool:
    """Judge the permission mode; whether a mode it can take asks nobody at all."""
    cat, r, n = site.catalog, opts.values, opts.names
    mode = opts.get("permission_mode")
    if mode is None:
        return False

    def off(value: object) -> bool:  # the mode approves without a person (rules/permissions.yaml)
        meaning = cat.approval_mode(AGENT, value)
        return meaning is not None and meaning.approvals_off(confined=confined)

    def unasked(value: object) -> bool:  # nobody is asked at all: every tool the rules do not deny runs
        meaning = cat.approval_mode(AGENT, value)
        return meaning is not None and not meaning.asks

    forms = r.forms(mode)
    values: list[object] = []
    for value in (r.const(f) for f in forms) if forms else (UNSET,):
        if value not in values:
            values.append(value)
    bypassing = [v for v in values if off(v)]
    if len(values) == 1 and bypassing:
        site.fact(FactKind.BYPASS_FLAG, n.spell(n.permission_mode, values[0]), r.loc(mode))
        return unasked(values[0])
    if bypassing:
        # Several possible modes, one of them a bypass: judged on that form, less certain.
        at = next((f for f in forms if off(r.const(f))), mode)
        site.report("agent-permission-bypass", r.loc(at),
                    f"{site.agent_name} can run with {n.spell(n.permission_mode, bypassing[0])} (one of the modes "
                    f"`{r.short(mode)}` can take): its approval prompts are then off with no sandbox "
                    "to contain what it does.", confidence=Confidence.MEDIUM)
        return any(unasked(v) for v in bypassing)
    if UNSET in values:
        site.unknown(f"the permission mode `{r.short(mode)}`", r.loc(mode))
    return False


def _allowed_tools(site: SiteBuilder, opts: ClaudeOptions, unasked_bypass: bool) -> None:
    """An allow rule that approves every shell command is a bypass; so is no allow-list at all
    (`None`, `null`) where the mode asks nobody and no other option narrows the tools."""
    r, n = opts.values, opts.names
    tools = opts.get("allowed_tools")
    if tools is None:
        return
    names = r.strings(tools)
    if names and any(site.catalog.allows_any_shell(AGENT, t) for t in names if t):
        site.fact(FactKind.BYPASS_FLAG, n.spell(n.allowed_tools, '["Bash"]'), r.loc(tools))
    elif unasked_bypass and r.const(tools) is None and opts.get("disallowed_tools") is None and opts.get("tools") is None:
        at = next(iter(r.forms(tools)), tools)
        site.fact(FactKind.BYPASS_FLAG, n.spell(n.allowed_tools, r.short(at)) + " under a bypass permission mode: "
                  "every tool, Bash included, runs without a prompt", r.loc(at))


def _user(site: SiteBuilder, opts: ClaudeOptions) -> None:
    """The OS user the SDK starts the claude CLI as: root, or another user (a boundary)."""
    r, n = opts.values, opts.names
    user = opts.get("user")
    if user is None:
        return
    value = r.const(user)
    if value in ROOT_USERS:
        site.fact(FactKind.USER_ROOT, n.spell(n.user, "root"), r.loc(user))
    elif value is not None:
        if site.boundary in (Boundary.NONE, Boundary.AGENT_SANDBOX):
            site.contain(Boundary.OTHER_USER, n.spell(n.user, value if isinstance(value, str) else r.short(user)))
        site.fact(FactKind.OTHER_USER, str(value) if value is not UNSET else r.short(user), r.loc(user))


def judge_session(site: SiteBuilder, opts: ClaudeOptions) -> None:
    """Only reading tools, in a mode that asks first, with no bypass seen: a session that talks
    and reads, not an agent acting as the operator."""
    r, n = opts.values, opts.names
    mode_node, tools_node = opts.get("permission_mode"), opts.get("allowed_tools")
    mode = r.const(mode_node) if mode_node is not None else None
    tools = r.strings(tools_node) if tools_node is not None else None
    if tools_node is None or site.has_bypass() or not passive_session(site.catalog, mode, tools):
        return
    read_only(site, f"{n.spell(n.allowed_tools, tools)} in the {mode or 'default'} permission mode", r.loc(tools_node))


def passive_session(cat: Catalog, mode: object, tools: list[str | None] | None) -> bool:
    """A session whose tools only read (rules/permissions.yaml `read_only_tools`), in a mode that
    asks before anything else (and nobody is there to answer): it can talk and read, not act."""
    meaning = cat.approval_mode(AGENT, mode)
    reads = cat.read_only_tools(AGENT)
    return (mode is None or (meaning is not None and meaning.asks_first)) and tools is not None and all(
        t in reads for t in tools)


def read_only(site: SiteBuilder, what: str, at: Location) -> None:
    """A session that can talk and read but not act: no inline launch of an acting agent, no
    unbounded-session finding; the environment it inherits stays listed, as hardening."""
    site.fact(FactKind.READ_ONLY_SESSION, what, at)
    site.supersede("agent-inline-launch", "agent-inherits-environment", "agent-unbounded-session")
    env = next((f for f in site.facts if f.kind == FactKind.ENV_INHERITED), None)
    if env is not None:
        site.report("agent-inherits-environment", env.location,
                    f"{site.agent_name} receives the operator's whole environment ({env.value}); the session only "
                    f"reads ({what}), so this is hardening, not an agent acting as the operator.", contained=True)

"""Load the rule and agent catalog from `rules/` into typed, immutable views."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any


from scanner.model import CATEGORIES, Confidence, Egress, Severity
from scanner.resources import read_rules_yaml, rules_dir


@dataclass(frozen=True)
class FlagSpec:
    """A flag, optionally restricted to some values or a value pattern."""

    flag: str
    values: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None

    @property
    def takes_value(self) -> bool:
        return bool(self.values) or self.pattern is not None

    def matches_value(self, value: str | None) -> bool:
        if not self.takes_value:
            return True
        if value is None:
            return False
        if self.values and value in self.values:
            return True
        return bool(self.pattern and self.pattern.search(value))

    def spelling(self) -> str:
        if self.values:
            return f"{self.flag} {'|'.join(self.values)}"
        return self.flag


@dataclass(frozen=True)
class AgentSpec:
    id: str
    name: str
    binaries: tuple[str, ...]
    requires_any: dict[str, tuple[str, ...]]
    packages: tuple[str, ...]
    bypass: tuple[FlagSpec, ...]
    sandbox_default_on: bool
    sandbox_enable: tuple[FlagSpec, ...]
    sandbox_disable: tuple[FlagSpec, ...]
    endpoints: tuple[str, ...]
    api_keys: tuple[str, ...]
    default_bypass: str = ""


@dataclass(frozen=True)
class SurfaceFix:
    before: str
    after: str


@dataclass(frozen=True)
class RuleMeta:
    id: str
    title: str
    category: str
    categories: tuple[str, ...]
    severity: Severity
    severity_contained: Severity | None
    confidence: Confidence
    why: str
    fix: str
    fix_examples: dict[str, SurfaceFix]
    references: tuple[str, ...]

    @property
    def security_severity(self) -> str:
        return {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.5"}[
            self.severity.value
        ]


@dataclass(frozen=True)
class RulesFile:
    """One `rules/*.yaml` document, read by key."""

    raw: dict[str, Any]

    def list(self, key: str) -> tuple[str, ...]:
        return tuple(self.raw.get(key) or ())

    def section(self, key: str) -> dict[str, Any]:
        return dict(self.raw.get(key) or {})


class Containment(RulesFile):
    """rules/containment.yaml: wrappers, their arities and egress, the operator's credentials."""


@dataclass(frozen=True)
class ApprovalMode:
    """One value of an agent's approval setting (rules/permissions.yaml `approval_modes`): whether a
    person is asked at all, and what happens to edits and shell commands no allow rule covers."""

    agent: str
    value: str
    asks: bool
    edits: str  # ask | denied | working-directory | sandbox | any
    shell: str  # ask | denied | filesystem | sandbox | any

    def approvals_off(self, confined: bool = False) -> bool:
        """The agent acts without a person approving: nobody is asked, edits or commands are approved
        anywhere, or working-directory edits and filesystem commands are approved with no sandbox of
        the agent's own (`confined`) around those commands."""
        if not self.asks or "any" in (self.edits, self.shell):
            return True
        return not confined and (self.edits == "working-directory" or self.shell == "filesystem")

    @property
    def asks_first(self) -> bool:
        """A person is asked before any edit or command (or they are denied): the session can read
        and talk, nothing more, unless its allow rules say otherwise."""
        return self.asks and self.edits in ("ask", "denied") and self.shell in ("ask", "denied")


@dataclass(frozen=True)
class AllowRules:
    """Which of an agent's allow rules approve every shell command (rules/permissions.yaml)."""

    shell_tools: tuple[str, ...] = ()
    any_command: tuple[str, ...] = ()
    spellings: tuple[str, ...] = ()

    def any_shell(self, rule: str) -> bool:
        text = "".join(str(rule).split())
        if text in self.shell_tools or text in self.spellings:
            return True
        tool, paren, rest = text.partition("(")
        return bool(paren) and tool in self.shell_tools and rest.endswith(")") and rest[:-1] in self.any_command


@dataclass(frozen=True)
class SdkOptionNames:
    """How one language spells the Claude Agent SDK's options (rules/frameworks.yaml
    `claude_agent_sdk_options`); "" for an option the language does not have."""

    language: str
    written: str  # how a set option reads in evidence: "{name}={value}"
    permission_mode: str
    allowed_tools: str
    sandbox: str
    env: str
    skip_permissions: str = ""
    disallowed_tools: str = ""
    tools: str = ""
    sandbox_enabled: str = ""
    user: str = ""
    abort: str = ""

    def spell(self, name: str, value: object) -> str:
        return self.written.format(name=name, value=value)


@dataclass(frozen=True)
class AgentAction:
    """A GitHub Action that runs an agent (rules/actions.yaml `actions`)."""

    repo: str
    agent: str
    checks_actor: bool = False
    gated_by_default: str = ""


@dataclass(frozen=True)
class HostedMcpServer:
    """An MCP stdio server whose provider runs the same server at a URL (rules/mcp_servers.yaml
    `servers`): how its stdio entry is recognised, and which of its env entries are its token."""

    id: str
    name: str
    provider: str
    packages: tuple[str, ...]
    images: tuple[str, ...]
    binaries: tuple[str, ...]
    arguments: tuple[str, ...]  # words after the program that only select the stdio transport
    token_env: tuple[str, ...]
    url: str
    oauth_clients: tuple[str, ...]
    token_advice: str


@dataclass(frozen=True)
class McpClient:
    """An MCP client that names a remote server in its project file (rules/mcp_servers.yaml
    `clients`), with the entry it takes for one: `bearer` (a token from a variable) or `oauth`."""

    id: str
    name: str
    files: tuple[str, ...]
    suffixes: tuple[str, ...]
    map: str  # the key of the server map ("" for TOML)
    bearer: dict[str, Any] | None
    oauth: dict[str, Any] | None

    def reads(self, path: str) -> bool:
        return any(path == f or path.endswith("/" + f) for f in self.files) or path.endswith(self.suffixes)


@dataclass(frozen=True, eq=False)
class Catalog:
    agents: tuple[AgentSpec, ...]
    rules: dict[str, RuleMeta]
    containment: Containment
    sdk_terms: tuple[str, ...] = ()
    non_session_args: frozenset[str] = frozenset()
    permissions: RulesFile = RulesFile({})  # rules/permissions.yaml
    config_files: RulesFile = RulesFile({})  # rules/config_files.yaml
    actions: RulesFile = RulesFile({})  # rules/actions.yaml
    frameworks: RulesFile = RulesFile({})  # rules/frameworks.yaml
    mcp_servers: RulesFile = RulesFile({})  # rules/mcp_servers.yaml
    # Keys of model providers (rules/agents.yaml `model_providers`): what a server or agent calls
    # a model with, whichever agent it is.
    model_keys: frozenset[str] = frozenset()

    @cached_property
    def by_binary(self) -> dict[str, AgentSpec]:
        return {b: spec for spec in self.agents for b in spec.binaries}

    @cached_property
    def by_package(self) -> dict[str, AgentSpec]:
        return {p: spec for spec in self.agents for p in spec.packages}

    def agent(self, agent_id: str) -> AgentSpec:
        for spec in self.agents:
            if spec.id == agent_id:
                return spec
        raise KeyError(agent_id)

    def rule(self, rule_id: str) -> RuleMeta:
        return self.rules[rule_id]

    def credential_kind(self, name: str) -> str:
        """'model-key', 'operator' or '' for an environment variable name."""
        if name in self.model_keys or any(name in a.api_keys for a in self.agents):
            return "model-key"
        groups = self.containment.section("credential_env")
        for patterns in groups.values():
            if any(fnmatch.fnmatchcase(name, p) for p in patterns):
                return "operator"
        return ""

    # -- rules/permissions.yaml ----------------------------------------------------------------

    @cached_property
    def _approval_modes(self) -> dict[tuple[str, str], ApprovalMode]:
        return {(agent, str(value)): ApprovalMode(agent=agent, value=str(value), asks=bool(row["asks"]),
                                                  edits=str(row["edits"]), shell=str(row["shell"]))
                for agent, modes in self.permissions.section("approval_modes").items()
                for value, row in (modes or {}).items()}

    def approval_mode(self, agent_id: str, value: object) -> ApprovalMode | None:
        """What a value of the agent's approval setting means; None for a value it does not take."""
        return self._approval_modes.get((agent_id, value)) if isinstance(value, str) else None

    def sandbox_mode_on(self, agent_id: str, value: object) -> bool | None:
        """Whether a value of the agent's own sandbox setting keeps the sandbox on; None when unknown."""
        row = (self.permissions.section("sandbox_modes").get(agent_id) or {}).get(value) if isinstance(value, str) else None
        return None if row is None else bool(row.get("sandbox"))

    @cached_property
    def _allow_rules(self) -> dict[str, AllowRules]:
        return {agent: AllowRules(shell_tools=tuple(str(t) for t in row.get("shell_tools") or ()),
                                  any_command=tuple(str(t) for t in row.get("any_command") or ()),
                                  spellings=tuple(str(t) for t in row.get("spellings") or ()))
                for agent, row in self.permissions.section("allow_rules").items()}

    def allow_rules(self, agent_id: str) -> AllowRules:
        return self._allow_rules.get(agent_id) or AllowRules()

    def allows_any_shell(self, agent_id: str, rule: object) -> bool:
        """Whether an allow rule (a tool-list entry) of the agent approves every shell command."""
        return isinstance(rule, str) and self.allow_rules(agent_id).any_shell(rule)

    def approval_switches(self, agent_id: str) -> tuple[str, ...]:
        """Settings of the agent that approve without asking when they are true."""
        return tuple(str(k) for k in self.permissions.section("approval_switches").get(agent_id) or ())

    def read_only_tools(self, agent_id: str) -> frozenset[str]:
        return frozenset(str(t) for t in self.permissions.section("read_only_tools").get(agent_id) or ())

    # -- rules/frameworks.yaml ----------------------------------------------------------------------

    @cached_property
    def _sdk_option_names(self) -> dict[str, SdkOptionNames]:
        return {str(language): SdkOptionNames(language=str(language), **{str(k): str(v) for k, v in row.items()})
                for language, row in self.frameworks.section("claude_agent_sdk_options").items()}

    def claude_sdk_options(self, language: str) -> SdkOptionNames:
        """The Claude Agent SDK's option names in `language` (python, javascript)."""
        return self._sdk_option_names[language]

    # -- rules/containment.yaml: wrappers --------------------------------------------------------

    @cached_property
    def _wrappers(self) -> dict[tuple[str, ...], str]:
        c = self.containment
        names = [*c.list("container_engines"), "bwrap", *c.section("os_sandboxes"), *c.list("microvm_runners")]
        return {tuple(str(n).split()): str(n) for n in names}

    def sandbox_wrapper(self, words: list[str] | tuple[str, ...]) -> str | None:
        """The wrapper a command starts with (a container engine, an OS sandbox, a microVM runner),
        by its longest spelling (`codex sandbox`, `sbx run`); None when it starts with none."""
        names = [w.rsplit("/", 1)[-1] if i == 0 else w for i, w in enumerate(words[:3])]
        for n in (3, 2, 1):
            name = self._wrappers.get(tuple(names[:n])) if len(names) >= n else None
            if name is not None:
                return name
        return None

    def sandbox_egress(self, wrapper: str) -> Egress | None:
        """The egress an OS sandbox gives with no network flag (None: not an OS sandbox)."""
        if wrapper == "bwrap":
            value = self.containment.section("bwrap_flags").get("egress")
        else:
            value = (self.containment.section("os_sandboxes").get(wrapper) or {}).get("egress")
        return Egress(value) if value else None

    # -- rules/actions.yaml ----------------------------------------------------------------------

    @cached_property
    def _agent_actions(self) -> tuple[AgentAction, ...]:
        return tuple(AgentAction(repo=str(repo).lower(), agent=str(row["agent"]), checks_actor=bool(row.get("checks_actor")),
                                 gated_by_default=str(row.get("gated_by_default") or ""))
                     for repo, row in self.actions.section("actions").items())

    def agent_action(self, name: str) -> AgentAction | None:
        """The agent action a `uses:` name (lower case, no `@ref`) is, or one of its folders."""
        for action in self._agent_actions:
            if name == action.repo or name.startswith(action.repo + "/"):
                return action
        return None

    # -- rules/mcp_servers.yaml ------------------------------------------------------------------

    @cached_property
    def hosted_mcp_servers(self) -> tuple[HostedMcpServer, ...]:
        def strs(row: dict[str, Any], key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in row.get(key) or ())

        return tuple(HostedMcpServer(id=str(key), name=str(row["name"]), provider=str(row["provider"]),
                                     packages=strs(row, "packages"), images=strs(row, "images"),
                                     binaries=strs(row, "binaries"), arguments=strs(row, "arguments"),
                                     token_env=strs(row, "token_env"), url=str(row["url"]),
                                     oauth_clients=strs(row, "oauth_clients"), token_advice=str(row["token_advice"]))
                     for key, row in self.mcp_servers.section("servers").items())

    @cached_property
    def _mcp_clients(self) -> tuple[McpClient, ...]:
        return tuple(McpClient(id=str(key), name=str(row["name"]), files=tuple(str(f) for f in row.get("files") or ()),
                               suffixes=tuple(str(f) for f in row.get("suffixes") or ()), map=str(row.get("map") or ""),
                               bearer=row.get("bearer"), oauth=row.get("oauth"))
                     for key, row in self.mcp_servers.section("clients").items())

    def mcp_client(self, path: str) -> McpClient | None:
        """The MCP client that reads a config file at `path` (repository-relative), when it is one
        whose remote-server entry is known."""
        return next((c for c in self._mcp_clients if c.reads(path)), None)

    def search_terms(self) -> tuple[str, ...]:
        terms: set[str] = set()
        for spec in self.agents:
            terms.update(b for b in spec.binaries if b not in spec.requires_any)
            terms.update(spec.requires_any)
            terms.update(spec.packages)
        terms.update(self.sdk_terms)
        return tuple(sorted(terms))


def _flags(items: list[dict[str, Any]] | None) -> tuple[FlagSpec, ...]:
    out = []
    for item in items or ():
        pattern = item.get("pattern")
        out.append(
            FlagSpec(
                flag=str(item["flag"]),
                values=tuple(str(v) for v in item.get("values") or ()),
                pattern=re.compile(pattern) if pattern else None,
            )
        )
    return tuple(out)


def _agent(raw: dict[str, Any]) -> AgentSpec:
    sandbox = raw.get("own_sandbox") or {}
    return AgentSpec(
        id=raw["id"],
        name=raw["name"],
        binaries=tuple(raw.get("binaries") or ()),
        requires_any={k: tuple(v) for k, v in (raw.get("requires_any") or {}).items()},
        packages=tuple(raw.get("packages") or ()),
        bypass=_flags(raw.get("bypass")),
        sandbox_default_on=str(sandbox.get("default", "off")) == "on",
        sandbox_enable=_flags(sandbox.get("enable")),
        sandbox_disable=_flags(sandbox.get("disable")),
        endpoints=tuple(raw.get("endpoints") or ()),
        api_keys=tuple(raw.get("api_keys") or ()),
        default_bypass=str(raw.get("default_bypass") or ""),
    )


def _rule(raw: dict[str, Any]) -> RuleMeta:
    categories = tuple(raw.get("categories") or (raw["category"],))
    for category in categories:
        if category not in CATEGORIES:
            raise ValueError(f"rule {raw['id']}: unknown category {category!r}")
    fix = raw.get("fix") or {}
    examples = {
        surface: SurfaceFix(before=str(pair["before"]).rstrip("\n"), after=str(pair["after"]).rstrip("\n"))
        for surface, pair in (fix.get("examples") or {}).items()
    }
    contained = raw.get("severity_contained")
    return RuleMeta(
        id=raw["id"],
        title=raw["title"],
        category=raw["category"],
        categories=categories,
        severity=Severity(raw["severity"]),
        severity_contained=Severity(contained) if contained else None,
        confidence=Confidence(raw.get("confidence", "high")),
        why=" ".join(str(raw["why"]).split()),
        fix=" ".join(str(fix.get("summary", "")).split()),
        fix_examples=examples,
        references=tuple(raw.get("references") or ()),
    )


def _read_yaml(path: Path) -> Any:
    return read_rules_yaml(path)


def load_catalog(root: Path | None = None) -> Catalog:
    base = root or rules_dir()
    return _load_cached(str(base))


@lru_cache(maxsize=4)
def _load_cached(base: str) -> Catalog:
    root = Path(base)
    agents_doc = _read_yaml(root / "agents.yaml")
    agents = tuple(_agent(a) for a in agents_doc["agents"])
    sdk_terms = tuple(str(t) for t in agents_doc.get("sdk_terms") or ())
    non_session = frozenset(str(t) for t in agents_doc.get("non_session_args") or ())
    model_keys = frozenset(str(k) for p in agents_doc.get("model_providers") or () for k in p.get("keys") or ())
    rules = {}
    for path in sorted((root / "checks").glob("*.yaml")):
        meta = _rule(_read_yaml(path))
        if meta.id != path.stem:
            raise ValueError(f"{path.name}: rule id {meta.id!r} does not match its file name")
        rules[meta.id] = meta
    containment = Containment(_read_yaml(root / "containment.yaml"))
    return Catalog(agents=agents, rules=rules, containment=containment, sdk_terms=sdk_terms,
                   non_session_args=non_session, permissions=_rules_file(root / "permissions.yaml"),
                   config_files=_rules_file(root / "config_files.yaml"), actions=_rules_file(root / "actions.yaml"),
                   frameworks=_rules_file(root / "frameworks.yaml"), mcp_servers=_rules_file(root / "mcp_servers.yaml"),
                   model_keys=model_keys)


def _rules_file(path: Path) -> RulesFile:
    return RulesFile(_read_yaml(path) if path.is_file() else {})

"""JavaScript / TypeScript in-process agents: the Claude Agent SDK, the Codex SDK and MCP stdio
clients. Options objects are read through the front end's JsModule (same-file consts, spreads)."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from scanner.analyzers.base import Analysis, LaunchFound
from scanner.analyzers.javascript import import_bindings, js_module
from scanner.analyzers.sdks import SiteBuilder
from scanner.commandline import Word
from scanner.containment import EnvInfo
from scanner.model import Boundary, EnvMode, Location

CLAUDE_PACKAGES = ("@anthropic-ai/claude-agent-sdk", "@anthropic-ai/claude-code")
CODEX_PACKAGES = ("@openai/codex-sdk",)
MCP_STDIO = ("@modelcontextprotocol/sdk/client/stdio.js", "@modelcontextprotocol/sdk/client/stdio")
_PACKAGES = (*CLAUDE_PACKAGES, *CODEX_PACKAGES, *MCP_STDIO)
_BYPASS_MODES = ("bypassPermissions", "dontAsk", "auto")
_WRAPPERS = {"docker", "podman", "nerdctl", "srt", "bwrap", "firejail", "nsjail", "sandbox-exec", "sbx", "minijail0"}
_UNSET = object()


def _package(text: str) -> str | None:
    name = text.strip("'\"`")
    return name if name in _PACKAGES else None


class JsDetector:
    def __init__(self, analysis: Analysis, dialect: str):
        self.src = analysis.source
        self.mod = js_module(analysis, dialect)
        self.root = self.mod.root
        self.imports: dict[str, str] = {}  # local name -> "package.export" (or "package" for namespaces)
        self._imports()
        self.out: list = []

    def text(self, node: Node) -> str:
        return self.src.node_text(node)

    def loc(self, node: Node) -> Location:
        return self.src.node_loc(node)

    def short(self, node: Node) -> str:
        return " ".join(self.text(node).split())[:80]

    def _imports(self) -> None:
        for local, module_text, imported, _node in import_bindings(self.root, self.text):
            pkg = _package(module_text)
            if pkg is None:
                continue
            if imported == "*":
                self.imports[local] = pkg
            else:
                self.imports[local] = f"{pkg}.{imported}"

    def qualified(self, node: Node) -> str:
        text = self.text(node)
        head, _, tail = text.partition(".")
        if head in self.imports:
            base = self.imports[head]
            return f"{base}.{tail}" if tail else base
        return text

    def const(self, node: Node | None, depth: int = 0):
        if node is None or depth > 5:
            return _UNSET
        if node.type in ("as_expression", "satisfies_expression", "parenthesized_expression") and node.named_children:
            return self.const(node.named_children[0], depth + 1)
        if node.type in ("identifier", "shorthand_property_identifier"):
            target = self.mod.resolve(node) if node.type == "identifier" else self._resolve_short(node)
            return self.const(target, depth + 1) if target is not None else _UNSET
        if node.type == "string":
            return self.mod.word(node).text
        if node.type == "template_string":
            w = self.mod.word(node)
            return _UNSET if w.dynamic else w.text
        if node.type == "true":
            return True
        if node.type == "false":
            return False
        if node.type in ("null", "undefined"):
            return None
        return _UNSET

    def _resolve_short(self, node: Node) -> Node | None:
        items = self.mod.consts.get(self.text(node))
        return items[-1][1] if items and len(items) == 1 else None

    def options(self, node: Node | None) -> dict[str, Node] | None:
        """An options object (through consts and spreads); None when it cannot be seen."""
        if node is None:
            return {}
        if node.type in ("as_expression", "satisfies_expression") and node.named_children:
            node = node.named_children[0]
        if node.type == "identifier" and self.mod.resolve(node) is None:
            return None
        if node.type == "shorthand_property_identifier":
            target = self._resolve_short(node)
            return self.options(target) if target is not None else None
        if node.type not in ("object", "identifier"):
            return None
        return self.mod.options(node)

    def strings(self, node: Node | None) -> list[str] | None:
        if node is None:
            return None
        if node.type == "identifier":
            node = self.mod.resolve(node)
        if node is None or node.type != "array":
            return None
        return [v for v in (self.const(c) for c in node.named_children) if isinstance(v, str)]

    def env_opts(self, opts: dict[str, Node]) -> dict[str, Node]:
        """`{ env }` shorthand: hand the env reader the object the name holds."""
        node = opts.get("env")
        if node is not None and node.type == "shorthand_property_identifier":
            target = self._resolve_short(node)
            if target is not None:
                return {**opts, "env": target}
        return opts

    def site(self, call: Node, agent: str, name: str, launcher: str) -> SiteBuilder:
        return SiteBuilder(agent=agent, agent_name=name, surface="javascript", launcher=launcher,
                           location=self.loc(call), command=self.short(call))

    # -- detection -----------------------------------------------------------------------

    def run(self) -> Iterator:
        if not self.imports:
            return iter(())
        stack = [self.root]
        while stack:
            node = stack.pop()
            stack.extend(reversed(node.children))
            if node.type == "call_expression":
                self._call(node)
            elif node.type == "new_expression":
                self._new(node)
        return iter(self.out)

    def _args(self, node: Node) -> list[Node]:
        args = node.child_by_field_name("arguments")
        return [c for c in args.named_children if c.type != "comment"] if args is not None else []

    def _call(self, node: Node) -> None:
        fn = node.child_by_field_name("function")
        if fn is None:
            return
        name = self.qualified(fn)
        pkg, _, export = name.rpartition(".")
        if pkg in CLAUDE_PACKAGES and export == "query":
            self._claude(node)
        elif fn.type == "member_expression":
            prop = fn.child_by_field_name("property")
            obj = fn.child_by_field_name("object")
            if prop is not None and obj is not None and self.text(prop) in ("startThread", "resumeThread"):
                codex = self._codex_instance(obj)
                if codex is not None:
                    self._codex_thread(node, codex, self.text(prop))

    def _new(self, node: Node) -> None:
        ctor = node.child_by_field_name("constructor")
        if ctor is None:
            return
        name = self.qualified(ctor)
        if name.rpartition(".")[0] in MCP_STDIO and name.endswith(".StdioClientTransport"):
            self._mcp(node)

    # Claude Agent SDK ---------------------------------------------------------------------

    def _claude(self, call: Node) -> None:
        args = self._args(call)
        top = self.options(args[0]) if args else {}
        site = self.site(call, "claude-code", "Claude Agent SDK", "query()")
        opts_node = top.get("options") if top is not None else None
        opts = self.options(opts_node) if opts_node is not None else ({} if top is not None else None)
        if opts is None:
            where = opts_node if opts_node is not None else (args[0] if args else call)
            site.set_env(EnvMode.UNKNOWN, f"options `{self.short(where)}`", self.loc(where))
            site.contain(Boundary.UNKNOWN, "Claude Agent SDK options")
            site.unknown(f"the Claude Agent SDK options `{self.short(where)}` (env, permission mode, sandbox)", self.loc(where))
            self.out.append(site.build())
            return
        env = self.mod.env_info(self.env_opts(opts), call, "query()", merges=False)
        if "env" not in opts:
            env = EnvInfo(EnvMode.INHERITED, self.loc(call), "the Agent SDK passes process.env when options.env is not set")
        site.set_env(env.mode, env.detail, env.location)
        site.secrets((w.text, w.location) for w in env.names)
        mode = opts.get("permissionMode")
        if mode is not None:
            value = self.const(mode)
            if value in _BYPASS_MODES:
                site.fact("bypass-flag", f"permissionMode: {value}", self.loc(mode))
            elif value is _UNSET:
                site.unknown(f"the permission mode `{self.short(mode)}`", self.loc(mode))
        skip = opts.get("allowDangerouslySkipPermissions")
        if skip is not None and self.const(skip) is True:
            site.fact("bypass-flag", "allowDangerouslySkipPermissions: true", self.loc(skip))
        tools = self.strings(opts.get("allowedTools"))
        if tools and any(t in ("Bash", "Bash(*)") for t in tools):
            site.fact("bypass-flag", "allowedTools: [\"Bash\"]", self.loc(opts["allowedTools"]))
        sandbox = opts.get("sandbox")
        if sandbox is not None:
            sb = self.options(sandbox)
            enabled = self.const(sb.get("enabled")) if sb is not None and "enabled" in sb else _UNSET
            if enabled is True:
                site.contain(Boundary.AGENT_SANDBOX, "Claude Code sandbox")
                site.fact("agent-sandbox", "sandbox enabled", self.loc(sandbox))
            elif sb is None or enabled is _UNSET and "enabled" in sb:
                site.contain(Boundary.UNKNOWN, "Claude Code sandbox")
                site.unknown(f"whether the sandbox `{self.short(sandbox)}` is enabled", self.loc(sandbox))
        self._timeout(site, call, opts)
        self.out.append(site.build())

    def _timeout(self, site: SiteBuilder, call: Node, opts: dict[str, Node]) -> None:
        signal = opts.get("abortController") or opts.get("signal")
        if signal is not None and "timeout" in self.text(self.mod.resolve(signal) or signal):
            site.fact("timeout", "AbortSignal.timeout", self.loc(signal))

    # Codex SDK ------------------------------------------------------------------------------

    def _codex_instance(self, obj: Node) -> Node | None:
        target = obj
        if obj.type == "identifier":
            target = self.mod.resolve(obj)
        if target is None:
            return None
        if target.type == "await_expression" and target.named_children:
            target = target.named_children[0]
        if target.type == "new_expression":
            ctor = target.child_by_field_name("constructor")
            if ctor is not None and self.qualified(ctor).rpartition(".")[0] in CODEX_PACKAGES:
                return target
        return None

    def _codex_thread(self, call: Node, codex: Node, method: str) -> None:
        args = self._args(call)
        opts_node = args[-1] if args and (method == "startThread" or len(args) > 1) else None
        opts = self.options(opts_node) if opts_node is not None else {}
        ctor_args = self._args(codex)
        ctor = self.options(ctor_args[0]) if ctor_args else {}
        site = self.site(call, "codex", "Codex SDK", f"codex.{method}()")
        if ctor is None:
            site.set_env(EnvMode.UNKNOWN, f"Codex options `{self.short(ctor_args[0])}`", self.loc(ctor_args[0]))
        elif "env" not in ctor:
            site.set_env(EnvMode.INHERITED, "new Codex() without env passes process.env to the codex CLI", self.loc(codex))
        else:
            env = self.mod.env_info(self.env_opts(ctor), codex, "new Codex()", merges=False)
            site.set_env(env.mode, env.detail, env.location)
            site.secrets((w.text, w.location) for w in env.names)
        site.contain(Boundary.AGENT_SANDBOX, "Codex sandbox")
        site.fact("agent-sandbox", "Codex's own sandbox is on by default", self.loc(call))
        if opts is None:
            site.contain(Boundary.UNKNOWN, "Codex thread options")
            site.unknown(f"the thread options `{self.short(opts_node)}` (sandboxMode, approvalPolicy)", self.loc(opts_node))
            self.out.append(site.build())
            return
        mode = opts.get("sandboxMode")
        if mode is not None:
            value = self.const(mode)
            if value == "danger-full-access":
                site.contain(Boundary.NONE, "")
                site.facts = [f for f in site.facts if f.kind != "agent-sandbox"]
                site.fact("bypass-flag", "sandboxMode: danger-full-access", self.loc(mode))
            elif value is _UNSET:
                site.contain(Boundary.UNKNOWN, "Codex sandbox")
                site.unknown(f"the sandbox mode `{self.short(mode)}`", self.loc(mode))
        policy = opts.get("approvalPolicy")
        if policy is not None and self.const(policy) == "never":
            site.fact("bypass-flag", "approvalPolicy: never", self.loc(policy))
        net = opts.get("networkAccessEnabled")
        if net is not None and self.const(net) is True:
            site.fact("network-open", "networkAccessEnabled: true", self.loc(net))
        self.out.append(site.build())

    # MCP stdio ----------------------------------------------------------------------------

    def _mcp(self, node: Node) -> None:
        args = self._args(node)
        opts = self.options(args[0]) if args else None
        if not opts or "command" not in opts:
            return
        words = [self.mod.word(opts["command"])]
        if "args" in opts:
            more = self.mod.words(opts["args"])
            words.extend(more if more is not None else [self.mod._dynamic(opts["args"])])
        if "env" in opts:
            env = self.mod.env_info(self.env_opts(opts), node, "StdioClientTransport", merges=False)
        else:
            env = EnvInfo(EnvMode.MINIMAL, self.loc(node), "the MCP SDK's default allow-list (getDefaultEnvironment)")
        self.out.append(LaunchFound(surface="javascript", launcher="MCP stdio server (StdioClientTransport)",
                                    location=self.loc(node), env=env, words=tuple(words)))
        if env.mode is EnvMode.INHERITED and not _wrapped(words):
            command = " ".join(w.text for w in words)
            site = self.site(node, "mcp-server", f"MCP server `{command[:60]}`", "MCP stdio client")
            site.set_env(EnvMode.INHERITED, env.detail, env.location)
            site.secrets((w.text, w.location) for w in env.names)
            site.report("mcp-stdio-forwards-environment", env.location,
                        f"The MCP stdio server `{command[:60]}` is handed the operator's whole environment ({env.detail}); "
                        "the SDK would otherwise pass only a small allow-list.",
                        replaces=("agent-inline-launch", "agent-inherits-environment", "agent-unbounded-session"))
            self.out.append(site.build())


def _wrapped(words: list[Word]) -> bool:
    return bool(words) and not words[0].dynamic and words[0].text.rsplit("/", 1)[-1] in _WRAPPERS


def detect_javascript(analysis: Analysis, dialect: str) -> Iterator:
    return JsDetector(analysis, dialect).run()

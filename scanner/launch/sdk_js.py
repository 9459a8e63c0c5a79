"""JavaScript / TypeScript in-process agents: the Claude Agent SDK, the Codex SDK and MCP stdio
clients. Options objects are read through the front end's JsModule (same-file consts, spreads)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from tree_sitter import Node

from scanner.launch.base import Analysis, LaunchFound, launch_tables
from scanner.launch.javascript import fresh_budget, import_bindings, js_module
from scanner.launch.claude_options import ClaudeOptions, judge_options, judge_session
from scanner.launch.sdk_sites import JS_STRINGS, SiteBuilder, command_comes_from
from scanner.catalog import Catalog
from scanner.launch.commandline import Word
from scanner.containment.reader import EnvInfo
from scanner.model import Boundary, EnvMode, FactKind, Location
from scanner.parse.trees import JS_READS, UNSET, reads_any



@lru_cache(maxsize=4)
def _sdks(cat: Catalog) -> dict[str, tuple[str, ...]]:
    """rules/frameworks.yaml `javascript`: the SDK packages this detector reads, by role."""
    js = cat.frameworks.section("javascript")
    claude, codex, mcp = js.get("claude_agent_sdk") or {}, js.get("codex_sdk") or {}, js.get("mcp_stdio") or {}
    out = {"claude": tuple(claude.get("packages") or ()), "claude_entry": tuple(claude.get("entry_points") or ()),
           "codex": tuple(codex.get("packages") or ()), "codex_threads": tuple(codex.get("threads") or ()),
           "mcp_stdio": tuple(mcp.get("modules") or ()), "mcp_classes": tuple(mcp.get("classes") or ())}
    out["all"] = (*out["claude"], *out["codex"], *out["mcp_stdio"])
    return out


def _package(cat: Catalog, text: str) -> str | None:
    name = text.strip("'\"`")
    return name if name in _sdks(cat)["all"] else None


class JsDetector:
    def __init__(self, analysis: Analysis, dialect: str):
        self.src = analysis.source
        self.cat = analysis.catalog
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
            pkg = _package(self.cat, module_text)
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
            return UNSET
        if node.type in ("as_expression", "satisfies_expression", "parenthesized_expression") and node.named_children:
            return self.const(node.named_children[0], depth + 1)
        if node.type in ("identifier", "shorthand_property_identifier"):
            target = self.mod.resolve(node) if node.type == "identifier" else self._resolve_short(node)
            return self.const(target, depth + 1) if target is not None else UNSET
        if node.type == "string":
            return self.mod.word(node).text
        if node.type == "template_string":
            w = self.mod.word(node)
            return UNSET if w.dynamic else w.text
        if node.type == "true":
            return True
        if node.type == "false":
            return False
        if node.type in ("null", "undefined"):
            return None
        return UNSET

    def forms(self, node: Node, depth: int = 0) -> list[Node]:
        """The values an expression can take: both sides of `c ? a : b`, `a || b`, `a ?? b`."""
        if depth > 4:
            return []
        if node.type in ("identifier", "shorthand_property_identifier"):
            target = self.mod.resolve(node) if node.type == "identifier" else self._resolve_short(node)
            return self.forms(target, depth + 1) if target is not None else [node]
        alternatives = self.mod.alternatives(node)
        if alternatives is None:
            return [node]
        return [f for a in alternatives for f in self.forms(a, depth + 1)]

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
        if node.type == "call_expression":
            # Options a same-file helper returns; a helper this scan cannot read stays unknown.
            forms = self.mod.call_forms(node) or []
            if not any(module is self.mod and ret.type == "object" for module, ret in forms):
                return None
            return self.mod.options(node)
        if node.type not in ("object", "identifier"):
            return None
        return self.mod.options(node)

    def strings(self, node: Node | None) -> list[str | None] | None:
        """An array's items (None for one that is not a constant string); None when not an array."""
        if node is not None and node.type == "identifier":
            node = self.mod.resolve(node)
        elif node is not None and node.type == "shorthand_property_identifier":
            node = self._resolve_short(node)
        if node is None or node.type != "array":
            return None
        return [v if isinstance(v, str) else None for v in (self.const(c) for c in node.named_children)]

    mapping = options  # the name the language-neutral readers (launch/claude_options.py) ask for

    def env_opts(self, opts: dict[str, Node]) -> dict[str, Node]:
        """`{ env }` shorthand: hand the env reader the object the name holds."""
        node = opts.get("env")
        if node is not None and node.type == "shorthand_property_identifier":
            target = self._resolve_short(node)
            if target is not None:
                return {**opts, "env": target}
        return opts

    def site(self, call: Node, agent: str, name: str, launcher: str) -> SiteBuilder:
        return SiteBuilder(catalog=self.cat, agent=agent, agent_name=name, surface="javascript", launcher=launcher,
                           location=self.loc(call), command=self.short(call))

    # -- detection -----------------------------------------------------------------------

    def run(self) -> Iterator:
        JsToolScan(self).scan()
        if not self.imports:
            return iter(self.out)
        stack = [self.root]
        while stack:
            node = stack.pop()
            stack.extend(reversed(node.children))
            fresh_budget()
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
        sdks = _sdks(self.cat)
        if pkg in sdks["claude"] and export in sdks["claude_entry"]:
            self._claude(node)
        elif fn.type == "member_expression":
            prop = fn.child_by_field_name("property")
            obj = fn.child_by_field_name("object")
            if prop is not None and obj is not None and self.text(prop) in sdks["codex_threads"]:
                codex = self._codex_instance(obj)
                if codex is not None:
                    self._codex_thread(node, codex, self.text(prop))

    def _new(self, node: Node) -> None:
        ctor = node.child_by_field_name("constructor")
        if ctor is None:
            return
        name = self.qualified(ctor)
        module, _, cls = name.rpartition(".")
        if module in _sdks(self.cat)["mcp_stdio"] and cls in _sdks(self.cat)["mcp_classes"]:
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
        options = ClaudeOptions(opts, self, self.cat.claude_sdk_options("javascript"))
        judge_options(site, options)
        judge_session(site, options)
        self.out.append(site.build())

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
            if ctor is not None and self.qualified(ctor).rpartition(".")[0] in _sdks(self.cat)["codex"]:
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
        site.fact(FactKind.AGENT_SANDBOX, "Codex's own sandbox is on by default", self.loc(call))
        if opts is None:
            site.contain(Boundary.UNKNOWN, "Codex thread options")
            site.unknown(f"the thread options `{self.short(opts_node)}` (sandboxMode, approvalPolicy)", self.loc(opts_node))
            self.out.append(site.build())
            return
        mode = opts.get("sandboxMode")
        if mode is not None:
            value = self.const(mode)
            if self.cat.sandbox_mode_on("codex", value) is False:
                site.contain(Boundary.NONE, "")
                site.facts = [f for f in site.facts if f.kind != FactKind.AGENT_SANDBOX]
                site.fact(FactKind.BYPASS_FLAG, f"sandboxMode: {value}", self.loc(mode))
            elif value is UNSET:
                site.contain(Boundary.UNKNOWN, "Codex sandbox")
                site.unknown(f"the sandbox mode `{self.short(mode)}`", self.loc(mode))
        policy = opts.get("approvalPolicy")
        meaning = self.cat.approval_mode("codex", self.const(policy)) if policy is not None else None
        if meaning is not None and meaning.approvals_off():
            site.fact(FactKind.BYPASS_FLAG, f"approvalPolicy: {meaning.value}", self.loc(policy))
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
        if env.mode is EnvMode.INHERITED and not _wrapped(self.cat, words):
            command = " ".join(w.text for w in words)
            site = self.site(node, "mcp-server", f"MCP server `{command[:60]}`", "MCP stdio client")
            site.set_env(EnvMode.INHERITED, env.detail, env.location)
            site.secrets((w.text, w.location) for w in env.names)
            site.report("mcp-stdio-forwards-environment", env.location,
                        f"The MCP stdio server `{command[:60]}` is handed the operator's whole environment ({env.detail}); "
                        "the SDK would otherwise pass only a small allow-list.",
                        replaces=("agent-inline-launch", "agent-inherits-environment", "agent-unbounded-session"))
            self.out.append(site.build())


# -- Agent tools that run host commands ----------------------------------------------------

@lru_cache(maxsize=4)
def _tool_tables(cat: Catalog) -> dict:
    """rules/frameworks.yaml `javascript`: packages whose exports define a tool the model calls —
    factories ((package, export) -> how its function is given), base classes, MCP servers."""
    js = cat.frameworks.section("javascript")
    server = js.get("mcp_server") or {}
    return {
        "factories": {(str(f["package"]), str(f["export"])): str(f["function"]) for f in js.get("tool_factories") or ()},
        "classes": {(str(c["package"]), str(c["export"])) for c in js.get("tool_classes") or ()},
        "methods": tuple(js.get("tool_methods") or ()),
        "servers": tuple(server.get("modules") or ()),
        "server_methods": tuple(server.get("methods") or ()),
    }


@lru_cache(maxsize=4)
def _code_eval(cat: Catalog) -> frozenset[str]:
    """rules/frameworks.yaml `javascript.code_eval`: calls that run their argument as code."""
    return frozenset(str(n) for n in cat.frameworks.section("javascript").get("code_eval") or ())


class JsToolScan:
    """A tool the model calls (`tool({ execute })`, `new DynamicTool({ func })`, an MCP server's
    `server.tool(...)` handler, a StructuredTool subclass) whose body runs its input as a command
    or as code: host code execution chosen by the model."""

    def __init__(self, d: JsDetector):
        self.d = d
        self.mod = d.mod
        self.table = launch_tables()["javascript"]
        self.bindings: dict[str, tuple[str, str]] = {}
        for local, module_text, imported, _node in import_bindings(d.root, d.text):
            self.bindings[local] = (module_text.strip("'\"`"), imported)
        self.reported: set[int] = set()

    def _origin(self, node: Node) -> tuple[str, str] | None:
        text = self.d.text(node)
        head, _, tail = text.partition(".")
        if head not in self.bindings:
            return None
        pkg, export = self.bindings[head]
        return (pkg, tail or export) if export in ("*", "default") else (pkg, export) if not tail else None

    def entries(self) -> Iterator[tuple[Node, str, Node]]:
        """(function, label, registration) for each tool function in the file."""
        d = self.d
        tables = _tool_tables(d.cat)
        servers = {local for local, (pkg, _e) in self.bindings.items() if pkg in tables["servers"]}
        stack = [d.root]
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            if node.type in ("call_expression", "new_expression"):
                callee = node.child_by_field_name("function" if node.type == "call_expression" else "constructor")
                if callee is None:
                    continue
                args = d._args(node)
                origin = self._origin(callee)
                how = tables["factories"].get(origin) if origin is not None else None
                if how == "first" and args:
                    fn = self._function(args[0])
                    if fn is not None:
                        yield fn, f"agent tool defined with {origin[1]}()", node
                elif how is not None and args:
                    opts = d.options(args[0]) or {}
                    fn = self._function(opts.get(how)) if how in opts else None
                    if fn is None and args[0].type == "object":
                        fn = next((m for m in args[0].named_children if m.type == "method_definition"
                                   and d.text(m.child_by_field_name("name")) == how), None)
                    if fn is not None:
                        name = d.const(opts.get("name")) if "name" in opts else None
                        label = f"agent tool `{name}`" if isinstance(name, str) else f"agent tool defined with {origin[1]}"
                        yield fn, label, node
                elif callee.type == "member_expression" and servers and args:
                    prop = callee.child_by_field_name("property")
                    if prop is not None and d.text(prop) in tables["server_methods"]:
                        fn = self._function(args[-1])
                        if fn is not None:
                            name = d.const(args[0])
                            yield fn, f"MCP server tool `{name if isinstance(name, str) else '?'}`", node
            elif node.type == "class_declaration":
                heritage = next((c for c in node.named_children if c.type == "class_heritage"), None)
                base = heritage.named_children[-1] if heritage is not None and heritage.named_children else None
                if base is not None and base.type == "extends_clause" and base.named_children:
                    base = base.named_children[0]
                if base is None or self._origin(base) not in tables["classes"]:
                    continue
                body = node.child_by_field_name("body")
                for m in body.named_children if body is not None else ():
                    if m.type == "method_definition" and d.text(m.child_by_field_name("name")) in tables["methods"]:
                        cname = node.child_by_field_name("name")
                        yield m, f"agent tool {d.text(cname) if cname is not None else ''}", node

    def _function(self, node: Node | None) -> Node | None:
        if node is None:
            return None
        if node.type in ("arrow_function", "function_expression", "function", "method_definition"):
            return node
        if node.type in ("identifier", "shorthand_property_identifier"):
            found = self.mod.functions.get(self.d.text(node), [])
            return found[0] if len(found) == 1 else None
        return None

    def scan(self) -> None:
        # The helper-call budget is per process: each file and each tool starts with a whole one,
        # so what is found does not depend on which files a worker read before.
        fresh_budget()
        for fn, label, registration in self.entries():
            fresh_budget()
            tainted = self._params(fn)
            if not tainted:
                continue
            self._walk(fn, tainted, label, registration)

    def _params(self, fn: Node) -> set[str]:
        params = fn.child_by_field_name("parameters") or fn.child_by_field_name("parameter")
        if params is None:
            return set()
        if params.type == "identifier":
            return {self.d.text(params)}
        return {self.d.text(n) for n in _js_idents(params)}

    def _walk(self, fn: Node, tainted: set[str], label: str, registration: Node) -> None:
        d = self.d
        body = fn.child_by_field_name("body")
        if body is None:
            return
        nodes = list(_js_walk(body))
        for _ in range(2):
            for n in nodes:
                if n.type == "variable_declarator":
                    name, value = n.child_by_field_name("name"), n.child_by_field_name("value")
                elif n.type == "assignment_expression":
                    name, value = n.child_by_field_name("left"), n.child_by_field_name("right")
                else:
                    continue
                if name is not None and value is not None and _js_uses(d, value, tainted):
                    tainted.update(d.text(i) for i in _js_idents(name))
        for n in nodes:
            if n.type not in ("call_expression", "new_expression"):
                continue
            what, opts_node = self._sink(n, tainted)
            if what is not None:
                self._report(n, what, opts_node, label, registration)

    def _sink(self, node: Node, tainted: set[str]) -> tuple[str | None, Node | None]:
        d, mod = self.d, self.mod
        callee = node.child_by_field_name("function" if node.type == "call_expression" else "constructor")
        if callee is None:
            return None, None
        args = d._args(node)
        name = mod.qualified(callee)
        if name in _code_eval(d.cat) or name.rsplit(".", 1)[-1] in ("runInNewContext", "runInThisContext") and name.startswith(("vm", "node:vm")):
            return (f"{name}() of the model's input", None) if args and _js_uses(d, args[0], tainted) else (None, None)
        if name.endswith(".default") and name not in self.table:
            name = name[: -len(".default")]
        spec = self.table.get(name)
        if spec is None or not args:
            return None, None
        if spec.get("template"):
            return None, None
        if "string" in spec:
            opts = args[spec.get("options", 1)] if len(args) > spec.get("options", 1) else None
            return (f"{name} of the model's command", opts) if self._command(args[0], tainted) else (None, None)
        if "argv" in spec:
            items = args[0].named_children if args[0].type == "array" else None
            opts = args[1] if len(args) > 1 else None
            if items is None:
                return (f"{name} of the model's command", opts) if _js_uses(d, args[0], tainted) else (None, None)
            if items and _js_uses(d, items[0], tainted) and self._whole(items[0], tainted):
                return f"{name} of the model's program", opts
            return (f"{name} of the model's command", opts) if self._shell_c(items, tainted) else (None, None)
        opts = next((a for a in args[1:] if a.type == "object" or a.type == "identifier" and d.options(a)), None)
        shell = False
        if opts is not None:
            o = d.options(opts) or {}
            shell = "shell" in o and d.const(o["shell"]) not in (False, None, UNSET)
        if _js_uses(d, args[0], tainted) and (self._whole(args[0], tainted) or shell and self._command(args[0], tainted)):
            return f"{name} of the model's program", opts
        if len(args) > 1 and args[1].type == "array":
            items = [args[0], *args[1].named_children]
            if self._shell_c(items, tainted):
                return f"{name} of the model's command", opts
        return None, None

    def _whole(self, node: Node, tainted: set[str]) -> bool:
        if node.type == "template_string":
            return self._command(node, tainted)
        if node.type == "binary_expression":
            left = node.child_by_field_name("left")
            return left is not None and _js_uses(self.d, left, tainted)
        return True

    def _shell_c(self, items: list[Node], tainted: set[str]) -> bool:
        d = self.d
        if len(items) < 3:
            return False
        head = d.const(items[0])
        if not isinstance(head, str) or head.rsplit("/", 1)[-1] not in ("sh", "bash", "zsh", "dash", "ksh", "pwsh", "powershell", "cmd", "cmd.exe"):
            return False
        for i, item in enumerate(items[1:-1], start=1):
            flag = d.const(item)
            if isinstance(flag, str) and flag.startswith(("-", "/")) and flag.lower().endswith("c"):
                return self._command(items[i + 1], tainted)
        return False

    def _command(self, node: Node, tainted: set[str]) -> bool:
        """A shell string whose command (not just an argument) comes from the model."""
        d = self.d
        found = command_comes_from(node, JS_STRINGS, lambda n: _js_uses(d, n, tainted), d.const, d.text,
                                   lambda n: self._command(n, tainted))
        if found is not None:
            return found
        if node.type == "string":
            return False
        return _js_uses(d, node, tainted)

    def _report(self, call: Node, what: str, opts_node: Node | None, label: str, registration: Node) -> None:
        if call.id in self.reported:
            return
        self.reported.add(call.id)
        d = self.d
        site = SiteBuilder(catalog=d.cat, agent="agent-tool", agent_name=label, surface="javascript", launcher=what.split(" ")[0],
                           location=d.loc(call), command=d.short(call))
        replaces = ["agent-inline-launch", "agent-unbounded-session"]
        opts = (d.options(opts_node) or {}) if opts_node is not None else {}
        if "env" in opts:
            env = self.mod.env_info(d.env_opts(opts), call, "the tool's launcher", merges=False)
            site.set_env(env.mode if env.mode is not EnvMode.UNKNOWN else EnvMode.MINIMAL, env.detail, env.location)
            if env.mode is not EnvMode.INHERITED:
                replaces.append("agent-inherits-environment")
        else:
            site.set_env(EnvMode.INHERITED, "the tool runs in the agent's process and keeps its environment")
            replaces.append("agent-inherits-environment")
        if "timeout" in opts:
            site.fact(FactKind.TIMEOUT, "timeout", d.loc(opts["timeout"]))
        site.report("framework-host-code-execution", site.location,
                    f"The {label} runs {what} on the host, as the operator, with the operator's files, network and "
                    "environment: the model (and any prompt injection it reads) chooses what runs; "
                    f"{_alternative_text(d.cat)}.", replaces=tuple(replaces), related=(d.loc(registration).with_label("where the tool is given to the agent"),))
        d.out.append(site.build())


def _alternative_text(cat: Catalog) -> str:
    from scanner.launch.sdk_python import _alternative

    return _alternative(cat, "agent-tool-host-command")


def _js_walk(body: Node) -> Iterator[Node]:
    """A function body's nodes, nested functions included (callbacks run the same input)."""
    stack = [body]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.named_children))


def _js_idents(node: Node) -> list[Node]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in ("identifier", "shorthand_property_identifier_pattern"):
            out.append(n)
        elif n.type in ("type_annotation", "predefined_type"):
            continue
        elif n.type == "pair_pattern":
            value = n.child_by_field_name("value")
            if value is not None:
                stack.append(value)
        elif n.type in ("assignment_pattern", "object_assignment_pattern"):
            left = n.child_by_field_name("left")
            if left is not None:
                stack.append(left)
        else:
            stack.extend(n.named_children)
    return out


def _js_uses(d: JsDetector, node: Node, names: set[str]) -> bool:
    return reads_any(node, names, d.text, JS_READS)


def _wrapped(cat: Catalog, words: list[Word]) -> bool:
    """The server starts behind a wrapper (rules/containment.yaml: engines, OS sandboxes, microVMs)."""
    return bool(words) and not words[0].dynamic and cat.sandbox_wrapper([w.text for w in words]) is not None


def detect_javascript(analysis: Analysis) -> Iterator:
    return JsDetector(analysis, analysis.kind).run()

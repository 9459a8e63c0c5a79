"""Python in-process agents and code-executing frameworks.

Every detector reads a call by its import-resolved name (`from x import Y as Z` and
`import x as y` both resolve), its keyword and positional arguments, and options objects built
in same-file variables (`opts = {...}; opts["k"] = v`, `o = Options(...); o.k = v`, a constant
parameter default). A value this scan cannot see makes the site undecided, never safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node, Query, QueryCursor

from scanner.analyzers.base import Analysis, LaunchFound, launch_tables
from scanner.analyzers.python_lang import PY_NESTED_SCOPES, PythonModule, _argument_parts, python_module
from scanner.analyzers.sdk_sites import SiteBuilder
from scanner.commandline import Word
from scanner.containment import EnvInfo
from scanner.model import Boundary, Confidence, Egress, EnvMode, Location
from scanner.parsing import language, returned_values

@lru_cache(maxsize=1)
def _FACTS_QUERY() -> Query:  # noqa: N802 - a constant, built once per process
    return Query(language("python"), """
(assignment left: (attribute)) @attr
(assignment left: (subscript)) @key
(function_definition) @func
(call) @call
""")


@lru_cache(maxsize=1)
def _alternatives() -> dict[str, str]:
    import yaml

    from scanner.resources import rules_dir

    with (rules_dir() / "frameworks.yaml").open(encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle)["alternatives"])


def _alternative(key: str) -> str:
    """The contained alternative a finding names, from rules/frameworks.yaml (text is data)."""
    return _alternatives()[key]


_FOLLOW_BUDGET = 200
HOST_EXEC = "framework-host-code-execution"
MCP_ENV = "mcp-stdio-forwards-environment"
BROWSER = "browser-agent-operator-profile"
INLINE = "agent-inline-launch"
_UNSET = object()


class Call:
    """A call with its import-resolved name; its arguments are split only when asked for."""

    def __init__(self, node: Node, name: str, args: Node):
        self.node = node
        self.name = name  # import-resolved dotted name
        self.root = name.split(".", 1)[0]
        self.leaf = name.rsplit(".", 1)[-1]
        self._args = args
        self._parts: tuple[list[Node], dict[str, Node]] | None = None

    def mentions(self, data: bytes, *words: bytes) -> bool:
        """Whether the argument list's source (`data` is the file's) holds one of `words`: a
        cheap test before the arguments are split."""
        region = data[self._args.start_byte : self._args.end_byte]
        return any(w in region for w in words)

    def has_keyword(self, data: bytes, name: str) -> bool:
        """`name=` among the arguments; most calls never get split."""
        return self.mentions(data, name.encode()) and name in self.keywords

    def _split(self) -> tuple[list[Node], dict[str, Node]]:
        if self._parts is None:
            self._parts = _argument_parts(self._args)
        return self._parts

    @property
    def positional(self) -> list[Node]:
        return self._split()[0]

    @property
    def keywords(self) -> dict[str, Node]:
        return self._split()[1]



class PyFacts:
    """Same-file value reading on top of the front end's PythonModule."""

    def __init__(self, mod: PythonModule):
        self.mod = mod
        self.src = mod.src
        self.attr_sets: dict[str, list[tuple[int, str, Node, Node]]] = {}
        self.key_sets: dict[str, list[tuple[int, str, Node, Node]]] = {}
        self.functions: dict[str, list[Node]] = {}
        self.calls: list[Call] = []
        # Parameters bound to a call's arguments while one site is evaluated (function node id ->
        # name -> argument); set by `follow`, cleared by the detector between sites.
        self.bound: dict[int, dict[str, Node]] = {}
        self._following: set[int] = set()
        self._by_id: dict[int, Call] | None = None
        self.budget = _FOLLOW_BUDGET  # helper calls followed per site (bounds hostile input)
        self._index()

    def _index(self) -> None:
        captures = QueryCursor(_FACTS_QUERY()).captures(self.mod.root)
        for n in captures.get("attr", ()):
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            obj, attr = left.child_by_field_name("object"), left.child_by_field_name("attribute")
            if right is not None and obj is not None and attr is not None:
                self.attr_sets.setdefault(self.src.node_text(obj), []).append((n.start_byte, self.src.node_text(attr), right, n))
        for n in captures.get("key", ()):
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            obj, sub = left.child_by_field_name("value"), left.child_by_field_name("subscript")
            key = self.const(sub) if sub is not None else None
            if right is not None and obj is not None and isinstance(key, str):
                self.key_sets.setdefault(self.src.node_text(obj), []).append((n.start_byte, key, right, n))
        for n in captures.get("func", ()):
            name = n.child_by_field_name("name")
            if name is not None:
                self.functions.setdefault(self.src.node_text(name), []).append(n)
        for n in captures.get("call", ()):
            fn, args = n.child_by_field_name("function"), n.child_by_field_name("arguments")
            if fn is not None and args is not None and args.type == "argument_list":
                self.calls.append(Call(n, self.mod.qualified(fn), args))
        for items in (*self.attr_sets.values(), *self.key_sets.values()):
            items.sort(key=lambda item: item[0])
        self.calls.sort(key=lambda c: c.node.start_byte)

    # -- values ------------------------------------------------------------------------

    def loc(self, node: Node) -> Location:
        return self.src.node_loc(node)

    def text(self, node: Node) -> str:
        return " ".join(self.src.node_text(node).split())[:80]

    def deref(self, node: Node | None, depth: int = 0) -> Node | None:
        """Follow a name to the one value it holds in this file; None when it cannot be seen.

        A parameter holds the argument of the call being followed (see `bind`), else its default."""
        while node is not None and node.type in ("parenthesized_expression", "await") and node.named_children:
            node = node.named_children[-1]
        if node is None or depth > 8:
            return None
        if node.type != "identifier":
            return node
        name = self.src.node_text(node)
        scope = self.mod.scope_of(node)
        if scope.type == "function_definition" and name in self.params(scope) and not self._local_sets(scope, name, node):
            value = self._param_value(name, scope)
            return self.deref(value, depth + 1) if value is not None else None
        hist = self.mod.history(name, node)
        if hist and len(hist) == 1 and hist[0].kind == "set":
            return self.deref(hist[0].value, depth + 1)
        return None

    def _local_sets(self, scope: Node, name: str, at: Node) -> bool:
        return any(a.start < at.start_byte for a in self.mod.assigns.get((scope.id, name), ()))

    def params(self, fn: Node) -> list[str]:
        """The parameter names of a function, in order (self/cls included)."""
        out: list[str] = []
        params = fn.child_by_field_name("parameters")
        for p in params.named_children if params is not None else ():
            ident = p if p.type == "identifier" else (p.child_by_field_name("name") or
                                                      next((c for c in p.named_children if c.type == "identifier"), None))
            if ident is not None and ident.type == "identifier":
                out.append(self.src.node_text(ident))
        return out

    def _param_value(self, name: str, fn: Node) -> Node | None:
        bound = self.bound.get(fn.id)
        if bound is not None and name in bound:
            return bound[name]
        return self._default_of(fn, name)

    def _default_of(self, fn: Node, name: str) -> Node | None:
        params = fn.child_by_field_name("parameters")
        for p in params.named_children if params is not None else ():
            if p.type in ("default_parameter", "typed_default_parameter"):
                pname = p.child_by_field_name("name")
                if pname is not None and self.src.node_text(pname) == name:
                    return p.child_by_field_name("value")
        return None

    def _param_default(self, name: str, at: Node) -> Node | None:
        scope = self.mod.scope_of(at)
        if scope.type != "function_definition":
            return None
        return self._default_of(scope, name)

    # -- following calls into same-file functions ---------------------------------------

    def function_of(self, call: Call) -> Node | None:
        """The same-file function a call runs: a module-level `def name` for `name(...)`, a method
        of the enclosing class for `self.name(...)`. None when it is not unambiguous."""
        fn = call.node.child_by_field_name("function")
        if fn is None:
            return None
        if fn.type == "identifier":
            name = self.src.node_text(fn)
            if name in self.mod.aliases:
                return None
            defs = [d for d in self.functions.get(name, ()) if self._top_level(d)]
            return defs[0] if len(defs) == 1 else None
        if fn.type == "attribute":
            obj, attr = fn.child_by_field_name("object"), fn.child_by_field_name("attribute")
            if obj is None or attr is None or self.src.node_text(obj) not in ("self", "cls"):
                return None
            cls = _enclosing(call.node, "class_definition")
            if cls is None:
                return None
            defs = [d for d in self.functions.get(self.src.node_text(attr), ())
                    if (_enclosing(d, "class_definition") or d).id == cls.id]
            return defs[0] if len(defs) == 1 else None
        return None

    def _top_level(self, fn: Node) -> bool:
        parent = fn.parent
        if parent is not None and parent.type == "decorated_definition":
            parent = parent.parent
        return parent is not None and parent.type == "module"

    def bind(self, fn: Node, call: Call) -> dict[str, Node]:
        """The call's arguments by parameter name (positional, then keywords)."""
        names = self.params(fn)
        method = bool(names) and names[0] in ("self", "cls") and _enclosing(fn, "class_definition") is not None
        if method:
            names = names[1:]
        out: dict[str, Node] = {}
        for name, arg in zip(names, call.positional):
            if arg.type in ("list_splat", "dictionary_splat"):
                break
            out[name] = arg
        for key, value in call.keywords.items():
            if key in names:
                out[key] = value
        return out

    def returns(self, fn: Node) -> list[Node]:
        """The values a function returns (its own `return` statements, not nested functions')."""
        return returned_values(fn.child_by_field_name("body"), PY_NESTED_SCOPES)

    def follow(self, call: Call) -> list[Node] | None:
        """The return values of the same-file function `call` runs, its parameters bound to the
        call's arguments for the rest of this evaluation; None when there is no such function."""
        fn = self.function_of(call)
        if fn is None or fn.id in self._following or len(self._following) > 4 or self.budget <= 0:
            return None
        self.budget -= 1
        self.bound.setdefault(fn.id, self.bind(fn, call))
        return self.returns(fn)

    def forms(self, node: Node | None, depth: int = 0) -> list[Node]:
        """The values an expression can take: both sides of `a if c else b` and `a or b`, every
        return of a followed function. Bounded; [] when nothing can be seen."""
        node = self.deref(node)
        if node is None or depth > 4:
            return []
        if node.type == "conditional_expression" and len(node.named_children) >= 3:
            kids = node.named_children
            return self.forms(kids[0], depth + 1) + self.forms(kids[2], depth + 1)
        if node.type == "boolean_operator":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            return self.forms(left, depth + 1) + self.forms(right, depth + 1)
        if node.type == "call":
            call = self.call_at(node)
            if call is not None:
                fn = self.function_of(call)
                returned = self.follow(call) if fn is not None else None
                if returned is not None:
                    self._following.add(fn.id)
                    try:
                        return [f for r in returned for f in self.forms(r, depth + 1)][:8]
                    finally:
                        self._following.discard(fn.id)
        return [node]

    def const_forms(self, node: Node | None) -> list:
        """Every constant value the expression can take (_UNSET for a form that is not one)."""
        out = []
        for form in self.forms(node) or [None]:
            value = self.const(form) if form is not None else _UNSET
            if value not in out:
                out.append(value)
        return out

    def const(self, node: Node | None):
        """A Python constant (str, bool, None, int) or _UNSET when not constant here."""
        node = self.deref(node)
        if node is None:
            return _UNSET
        t = node.type
        if t in ("string", "concatenated_string"):
            value = self.mod.string_value(node)
            return value if value is not None else _UNSET
        if t == "true":
            return True
        if t == "false":
            return False
        if t == "none":
            return None
        if t == "integer":
            try:
                return int(self.src.node_text(node).replace("_", ""), 0)
            except ValueError:
                return _UNSET
        if t == "call":
            call = self.call_at(node)
            if call is not None and call.name in ("os.environ.get", "os.getenv") and len(call.positional) >= 2:
                return _UNSET
        return _UNSET

    def strings(self, node: Node | None) -> list[str | None] | None:
        node = self.deref(node)
        if node is None or node.type not in ("list", "tuple", "set"):
            return None
        out: list[str | None] = []
        for child in node.named_children:
            value = self.const(child)
            out.append(value if isinstance(value, str) else None)
        return out

    def call_at(self, node: Node | None) -> Call | None:
        node = self.deref(node)
        if node is None or node.type != "call":
            return None
        if self._by_id is None:
            self._by_id = {call.node.id: call for call in self.calls}
        return self._by_id.get(node.id)

    def mapping(self, node: Node | None, depth: int = 0) -> dict[str, Node] | None:
        """Keyword arguments of a constructor call, or the string keys of a dict, plus later
        `x.k = v` / `x["k"] = v` on the variable that holds it. None when not visible."""
        if node is None or depth > 4:
            return None
        name = self.src.node_text(node) if node.type == "identifier" else None
        target = self.deref(node)
        if target is None:
            return None
        out: dict[str, Node] = {}
        if target.type == "call":
            call = self.call_at(target)
            if call is None:
                return None
            if not (call.leaf == "dict" or call.leaf[:1].isupper()):
                # A same-file helper that builds the options: read what it returns.
                fn = self.function_of(call)
                returned = self.follow(call) if fn is not None and fn.id not in self._following else None
                if not returned:
                    return None
                self._following.add(fn.id)
                try:
                    found = [m for m in (self.mapping(r, depth + 1) for r in returned) if m is not None]
                finally:
                    self._following.discard(fn.id)
                if not found:
                    return None
                merged: dict[str, Node] = {}
                for m in found:
                    merged.update(m)
                return merged
            for p in call.positional:
                if p.type == "dictionary_splat" and p.named_children:
                    out.update(self.mapping(p.named_children[0], depth + 1) or {})
                elif call.leaf == "dict":
                    out.update(self.mapping(p, depth + 1) or {})
            out.update(call.keywords)
        elif target.type == "dictionary":
            for child in target.named_children:
                if child.type == "pair":
                    key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
                    k = self.const(key) if key is not None else _UNSET
                    if isinstance(k, str) and value is not None:
                        out[k] = value
                elif child.type == "dictionary_splat" and child.named_children:
                    out.update(self.mapping(child.named_children[0], depth + 1) or {})
        else:
            return None
        if name is not None:
            # Later `x.k = v` / `x["k"] = v` on the same name refine it (last one wins).
            for _, attr, value, _ in self.attr_sets.get(name, ()):
                out[attr] = value
            for _, key, value, _ in self.key_sets.get(name, ()):
                out[key] = value
        return out

    def option(self, call: Call, key: str, position: int | None = None) -> Node | None:
        if key in call.keywords:
            return call.keywords[key]
        if position is not None and position < len(call.positional):
            return call.positional[position]
        return None

    def is_environ(self, node: Node | None) -> bool:
        return node is not None and self.mod._is_environ(node)

    def enclosing_timeout(self, node: Node) -> Location | None:
        """An `asyncio.wait_for(..., timeout)` / `asyncio.timeout()` / `anyio.fail_after()` around the site."""
        cur = node.parent
        while cur is not None:
            if cur.type == "call":
                call = self.call_at(cur)
                if call is not None and call.name in ("asyncio.wait_for", "anyio.fail_after", "anyio.move_on_after",
                                                      "trio.fail_after", "async_timeout.timeout", "asyncio.timeout"):
                    return self.loc(cur)
            if cur.type in ("with_statement",):
                for item in cur.named_children:
                    if item.type == "with_clause":
                        for w in item.named_children:
                            val = w.named_children[0] if w.named_children else None
                            call = self.call_at(val) if val is not None and val.type == "call" else None
                            if call is not None and call.name in ("asyncio.timeout", "anyio.fail_after",
                                                                  "async_timeout.timeout", "anyio.move_on_after"):
                                return self.loc(val)
            cur = cur.parent
        return None

    def assigned_name(self, node: Node) -> str | None:
        parent = node.parent
        while parent is not None and parent.type in ("list", "tuple", "parenthesized_expression", "await"):
            parent = parent.parent
        if parent is not None and parent.type == "assignment":
            left = parent.child_by_field_name("left")
            if left is not None and left.type in ("identifier", "attribute"):
                return self.src.node_text(left)
        return None


# ---------------------------------------------------------------------------------------
# Detectors


def _enclosing(node: Node, kind: str) -> Node | None:
    cur = node.parent
    while cur is not None:
        if cur.type == kind:
            return cur
        cur = cur.parent
    return None


def _is(call: Call, roots: tuple[str, ...], *leaves: str, bare: bool = False) -> bool:
    if call.leaf not in leaves:
        return False
    if call.root in roots:
        return True
    return bare and call.name == call.leaf


class PythonDetector:
    def __init__(self, analysis: Analysis):
        self.src = analysis.source
        self.mod = python_module(analysis)
        self.px = PyFacts(self.mod)
        self.out: list = []

    def fresh(self) -> None:
        """A new site is read: no parameter bound, helper calls may be followed again."""
        self.px.bound = {}
        self.px.budget = _FOLLOW_BUDGET
        self.mod.budget = _FOLLOW_BUDGET

    def site(self, call: Call, agent: str, agent_name: str, launcher: str) -> SiteBuilder:
        return SiteBuilder(agent=agent, agent_name=agent_name, surface="python", launcher=launcher,
                           location=self.px.loc(call.node), command=self.px.text(call.node))

    def emit(self, site: SiteBuilder) -> None:
        self.out.append(site.build())

    def run(self) -> Iterator:
        for call in self.px.calls:
            for handler in _HANDLERS:
                self.fresh()
                if handler(self, call):
                    break
        self.fresh()
        _tool_sites(self)
        yield from self.out
        yield from wrapped_launches(self)

    # -- shared shapes -----------------------------------------------------------------

    def host_exec(self, call: Call, *, agent: str, name: str, launcher: str, what: str, fix: str,
                  confidence: Confidence | None = None, timeout: Location | None = None,
                  extra=None) -> SiteBuilder:
        site = self.site(call, agent, name, launcher)
        site.set_env(EnvMode.INHERITED, f"{launcher} runs in the operator's process and keeps its environment")
        if timeout is not None:
            site.fact("timeout", "timeout", timeout)
        handed = self.handed_to_agent(call)
        site.report(HOST_EXEC, site.location,
                    f"{what} on the host, as the operator, with the operator's files, network and environment; {fix}.",
                    replaces=(INLINE, "agent-inherits-environment", "agent-unbounded-session"),
                    confidence=confidence or (Confidence.HIGH if handed or agent not in _TOOL_AGENTS else Confidence.MEDIUM),
                    related=(handed.with_label("where the agent is given it"),) if handed else ())
        if extra:
            extra(site)
        self.emit(site)
        return site

    def contained(self, call: Call, *, agent: str, name: str, launcher: str, boundary: Boundary, tool: str,
                  egress: Egress = Egress.UNKNOWN) -> None:
        site = self.site(call, agent, name, launcher)
        site.contain(boundary, tool, egress)
        site.set_env(EnvMode.MINIMAL, f"{tool} does not pass the operator's environment")
        site.fact("timeout", f"{tool} bounds each execution")
        self.emit(site)

    def undecided(self, call: Call, *, agent: str, name: str, launcher: str, needs: str, at: Node | None = None) -> None:
        site = self.site(call, agent, name, launcher)
        site.contain(Boundary.UNKNOWN, launcher)
        site.set_env(EnvMode.MINIMAL, "decided with the executor")
        site.fact("timeout", "decided with the executor")
        site.unknown(needs, self.px.loc(at) if at is not None else None)
        self.emit(site)

    def handed_to_agent(self, call: Call) -> Location | None:
        """The call that gives this tool/executor to an agent, when the file shows one."""
        name = self.px.assigned_name(call.node)
        for other in self.px.calls:
            if other.leaf not in _AGENT_MAKERS or other.node.id == call.node.id:
                continue
            args = other.node.child_by_field_name("arguments")
            if args is None:
                continue
            if args.start_byte <= call.node.start_byte < args.end_byte:
                return self.px.loc(other.node)
            if name and _mentions(self.src.node_text(args), name):
                return self.px.loc(other.node)
        return None


_TOOL_AGENTS = ("langchain", "openai-agents")
_AGENT_MAKERS = {"create_react_agent", "create_agent", "initialize_agent", "AgentExecutor", "Agent",
                 "CodeExecutorAgent", "AssistantAgent", "UserProxyAgent", "ConversableAgent", "CodeAgent",
                 "ToolCallingAgent", "SandboxAgent", "from_tools", "FunctionAgent", "ReActAgent",
                 "create_tool_calling_agent", "create_openai_tools_agent", "PythonCodeExecutionTool"}


def _mentions(text: str, name: str) -> bool:
    import re

    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text) is not None


# -- Claude Agent SDK ---------------------------------------------------------------------

_CLAUDE_ROOTS = ("claude_agent_sdk", "claude_code_sdk")
_BYPASS_MODES = ("bypassPermissions", "dontAsk", "auto")


def _claude(d: PythonDetector, call: Call) -> bool:
    if not _is(call, _CLAUDE_ROOTS, "query", "ClaudeSDKClient"):
        return False
    px = d.px
    options_node = px.option(call, "options", 0 if call.leaf == "ClaudeSDKClient" else None)
    site = d.site(call, "claude-code", "Claude Agent SDK", f"{call.root}.{call.leaf}")
    site.set_env(EnvMode.INHERITED, "the Python Agent SDK starts the claude CLI with the whole os.environ",
                 px.loc(options_node) if options_node is not None else None)
    timeout = px.enclosing_timeout(call.node)
    if timeout is not None:
        site.fact("timeout", "timeout", timeout)
    opts: dict[str, Node] | None = {}
    if options_node is not None:
        opts = px.mapping(options_node)
    if opts is None:
        site.contain(Boundary.UNKNOWN, "Claude Agent SDK options")
        site.unknown(f"the Claude Agent SDK options `{px.text(options_node)}` (permission mode, sandbox)",
                     px.loc(options_node))
        d.emit(site)
        return True
    _claude_options(site, px, opts)
    _claude_callers(d, call, options_node, site)
    _claude_passive(site, px, opts)
    d.emit(site)
    return True


# Tools that only read (DESIGN §2: a session that can only talk or read is not an agent that acts).
READ_ONLY_TOOLS = frozenset({"Read", "Grep", "Glob", "LS", "NotebookRead", "TodoRead", "TodoWrite"})
_ACTING_MODES = (*_BYPASS_MODES, "acceptEdits")


def passive_session(mode, tools: list[str | None] | None) -> bool:
    """A session whose tools only read, in a mode that asks before anything else (and nobody is
    there to answer): it can talk and read, not act."""
    return mode in (None, "default", "plan", "manual") and tools is not None and all(
        t in READ_ONLY_TOOLS for t in tools)


def _claude_passive(site: SiteBuilder, px: PyFacts, opts: dict[str, Node]) -> None:
    mode_node, tools_node = opts.get("permission_mode"), opts.get("allowed_tools")
    mode = px.const(mode_node) if mode_node is not None else None
    tools = px.strings(tools_node) if tools_node is not None else None
    if site.has_bypass() or not passive_session(mode, tools):
        return
    read_only(site, f"allowed_tools={tools} in the {mode or 'default'} permission mode",
              px.loc(tools_node) if tools_node is not None else site.location)


def read_only(site: SiteBuilder, what: str, at: Location) -> None:
    """A session that can talk and read but not act: no inline launch of an acting agent, no
    unbounded-session finding; the environment it inherits stays listed, as hardening."""
    site.fact("read-only-session", what, at)
    for rule in (INLINE, "agent-inherits-environment", "agent-unbounded-session"):
        site.supersede(rule)
    env = next((f for f in site.facts if f.kind == "env-inherited"), None)
    if env is not None:
        site.report("agent-inherits-environment", env.location,
                    f"{site.agent_name} receives the operator's whole environment ({env.value}); the session only "
                    f"reads ({what}), so this is hardening, not an agent acting as the operator.", contained=True)


_CALLER_FACTS = ("bypass-flag", "user-root")


def _claude_callers(d: PythonDetector, call: Call, options_node: Node | None, site: SiteBuilder) -> None:
    """The query runs inside a same-file helper whose parameters reach its options: each call of
    the helper is another form of the site. What a caller's arguments make worse (a bypass, no tool
    allow-list) is evidence at that caller, added to the site."""
    px = d.px
    fn = _enclosing(call.node, "function_definition")
    if fn is None or options_node is None or not px.params(fn):
        return
    name_node = fn.child_by_field_name("name")
    name = px.src.node_text(name_node) if name_node is not None else ""
    seen = {(f.kind, f.value, f.location) for f in site.facts}
    callers = [c for c in px.calls if c.leaf == name and not (fn.start_byte <= c.node.start_byte < fn.end_byte)]
    for caller in callers[:16]:
        if px.function_of(caller) is None or px.function_of(caller).id != fn.id:
            continue
        px.bound = {fn.id: px.bind(fn, caller)}
        opts = px.mapping(options_node)
        if opts is None:
            continue
        scratch = SiteBuilder(agent=site.agent, agent_name=site.agent_name, surface=site.surface,
                              launcher=site.launcher, location=site.location)
        _claude_options(scratch, px, opts)
        for fact in scratch.facts:
            if fact.kind in _CALLER_FACTS and (fact.kind, fact.value, fact.location) not in seen:
                seen.add((fact.kind, fact.value, fact.location))
                site.facts.append(fact)
        for rule, loc, msg, kw in scratch.extra:
            if all(loc != e[1] or rule != e[0] for e in site.extra):
                site.extra.append((rule, loc, msg, kw))
    px.bound = {}


def _claude_options(site: SiteBuilder, px: PyFacts, opts: dict[str, Node]) -> None:
    mode = opts.get("permission_mode")
    bypass_mode = False
    if mode is not None:
        values = px.const_forms(mode)
        value = values[0] if len(values) == 1 else _UNSET
        bypassing = [v for v in values if v in _BYPASS_MODES]
        if len(values) == 1 and value in _BYPASS_MODES:
            bypass_mode = True
            site.fact("bypass-flag", f"permission_mode={value}", px.loc(mode))
        elif bypassing:
            # Several possible modes, one of them a bypass: judged on that form, less certain.
            bypass_mode = True
            at = next((f for f in px.forms(mode) if px.const(f) in _BYPASS_MODES), mode)
            site.report("agent-permission-bypass", px.loc(at),
                        f"{site.agent_name} can run with permission_mode={bypassing[0]} (one of the modes "
                        f"`{px.text(mode)}` can take): its approval prompts are then off with no sandbox "
                        "to contain what it does.", confidence=Confidence.MEDIUM)
        elif _UNSET in values:
            site.unknown(f"the permission mode `{px.text(mode)}`", px.loc(mode))
    tools = opts.get("allowed_tools")
    if tools is not None:
        names = px.strings(tools)
        target = px.deref(tools)
        if names and any(n in ("Bash", "Bash(*)") for n in names if n):
            site.fact("bypass-flag", "allowed_tools=[\"Bash\"]", px.loc(tools))
        elif bypass_mode and target is not None and target.type == "none" and not (
                {"disallowed_tools", "tools"} & set(opts)):
            site.fact("bypass-flag", "allowed_tools=None under a bypass permission mode: every tool, Bash included, "
                      "runs without a prompt", px.loc(target))
    sandbox = opts.get("sandbox")
    if sandbox is not None:
        sb = px.mapping(sandbox)
        enabled = px.const(sb.get("enabled")) if sb is not None and "enabled" in sb else _UNSET
        if enabled is True:
            site.contain(Boundary.AGENT_SANDBOX, "Claude Code sandbox")
            site.fact("agent-sandbox", "sandbox enabled", px.loc(sandbox))
        elif sb is None or (enabled is _UNSET and "enabled" in sb):
            site.contain(Boundary.UNKNOWN, "Claude Code sandbox")
            site.unknown(f"whether the sandbox `{px.text(sandbox)}` is enabled", px.loc(sandbox))
    user = opts.get("user")
    if user is not None:
        value = px.const(user)
        if value in ("root", "0", 0):
            site.fact("user-root", "user=root", px.loc(user))
        elif value is not None:
            if site.boundary in (Boundary.NONE, Boundary.AGENT_SANDBOX):
                site.contain(Boundary.OTHER_USER, f"user={value if isinstance(value, str) else px.text(user)}")
            site.fact("other-user", str(value) if value is not _UNSET else px.text(user), px.loc(user))
    env = opts.get("env")
    if env is not None:
        envmap = px.mapping(env)
        if envmap is not None:
            site.secrets((k, px.loc(v)) for k, v in envmap.items())


# -- OpenAI Agents SDK --------------------------------------------------------------------

_AGENTS_ROOTS = ("agents",)
_HOSTED_SANDBOXES = ("DockerSandboxClient", "E2BSandboxClient", "ModalSandboxClient", "DaytonaSandboxClient",
                     "BlaxelSandboxClient", "CloudflareSandboxClient", "RunloopSandboxClient", "VercelSandboxClient")


def _openai_agents(d: PythonDetector, call: Call) -> bool:
    px = d.px
    if _is(call, _AGENTS_ROOTS, "LocalShellTool", bare=True):
        d.host_exec(call, agent="openai-agents", name="OpenAI Agents SDK LocalShellTool", launcher="LocalShellTool",
                    what="LocalShellTool runs the model's shell commands through the executor",
                    fix=_alternative("openai-agents-local-shell-tool"),
                    extra=lambda s: _needs_approval(s, px, call))
        return True
    if _is(call, _AGENTS_ROOTS, "ShellTool"):
        env = px.option(call, "environment")
        kind: object = "local"
        if env is not None:
            m = px.mapping(env)
            kind = px.const(m.get("type")) if m is not None and "type" in m else _UNSET
        if kind in ("container_auto", "container_reference"):
            d.contained(call, agent="openai-agents", name="OpenAI Agents SDK ShellTool", launcher="ShellTool",
                        boundary=Boundary.VM, tool=f"hosted {kind} shell")
        elif kind == "local":
            d.host_exec(call, agent="openai-agents", name="OpenAI Agents SDK ShellTool", launcher="ShellTool",
                        what="ShellTool with a local environment runs the model's shell commands through its executor",
                        fix=_alternative("openai-agents-shell-tool-local"),
                        extra=lambda s: _needs_approval(s, px, call))
        else:
            d.undecided(call, agent="openai-agents", name="OpenAI Agents SDK ShellTool", launcher="ShellTool",
                        needs=f"the ShellTool environment `{px.text(env)}` (local runs on the host)", at=env)
        return True
    if _is(call, _AGENTS_ROOTS, "UnixLocalSandboxClient", bare=True):
        d.host_exec(call, agent="openai-agents", name="OpenAI Agents SDK SandboxAgent", launcher="UnixLocalSandboxClient",
                    what="UnixLocalSandboxClient is not a sandbox: the SandboxAgent's commands run on the local filesystem",
                    fix=_alternative("openai-agents-unix-local-sandbox"))
        return True
    if _is(call, _AGENTS_ROOTS, *_HOSTED_SANDBOXES, bare=True):
        boundary = Boundary.CONTAINER if call.leaf == "DockerSandboxClient" else Boundary.VM
        d.contained(call, agent="openai-agents", name="OpenAI Agents SDK SandboxAgent", launcher=call.leaf,
                    boundary=boundary, tool=call.leaf)
        return True
    return False


def _needs_approval(site: SiteBuilder, px: PyFacts, call: Call) -> None:
    node = px.option(call, "needs_approval")
    value = px.const(node) if node is not None else False
    if value is False:
        site.fact("bypass-default" if node is None else "bypass-flag",
                  "needs_approval is off (the default)" if node is None else "needs_approval=False",
                  px.loc(node) if node is not None else None)


# -- LangChain / LangGraph ---------------------------------------------------------------

_LC_ROOTS = ("langchain", "langchain_community", "langchain_experimental", "langchain_core", "langgraph",
             "langchain_classic")


def _langchain(d: PythonDetector, call: Call) -> bool:
    px = d.px
    if _is(call, _LC_ROOTS, "ShellTool", "BashProcess"):
        d.host_exec(call, agent="langchain", name="LangChain ShellTool", launcher=call.leaf,
                    what=f"{call.leaf} runs the model's shell commands",
                    fix=_alternative("langchain-shell-tool"))
        return True
    if _is(call, _LC_ROOTS, "PythonREPLTool", "PythonAstREPLTool", bare=True) or _is(call, _LC_ROOTS, "PythonREPL"):
        d.host_exec(call, agent="langchain", name=f"LangChain {call.leaf}", launcher=call.leaf,
                    what=f"{call.leaf} executes model-written Python in the operator's process",
                    fix=_alternative("langchain-python-repl"))
        return True
    if _is(call, _LC_ROOTS, "ShellToolMiddleware", bare=True):
        policy = px.option(call, "execution_policy")
        target = px.call_at(policy) if policy is not None else None
        if policy is None or (target is not None and target.leaf == "HostExecutionPolicy"):
            d.host_exec(call, agent="langchain", name="LangChain ShellToolMiddleware", launcher="ShellToolMiddleware",
                        what="ShellToolMiddleware with the host execution policy (the default) runs the model's shell commands",
                        fix=_alternative("langchain-shell-middleware-host"),
                        confidence=Confidence.HIGH)
        elif target is not None and target.leaf in ("DockerExecutionPolicy", "CodexSandboxExecutionPolicy"):
            boundary = Boundary.CONTAINER if target.leaf.startswith("Docker") else Boundary.OS_SANDBOX
            net = px.const(px.option(target, "network_enabled"))
            d.contained(call, agent="langchain", name="LangChain ShellToolMiddleware", launcher="ShellToolMiddleware",
                        boundary=boundary, tool=target.leaf, egress=Egress.OPEN if net is True else Egress.NONE)
        else:
            d.undecided(call, agent="langchain", name="LangChain ShellToolMiddleware", launcher="ShellToolMiddleware",
                        needs=f"the execution policy `{px.text(policy)}`", at=policy)
        return True
    if _is(call, _LC_ROOTS, "load_tools"):
        names = px.strings(px.option(call, "tool_names", 0)) or []
        risky = [n for n in names if n in ("terminal", "python_repl")]
        if risky:
            d.host_exec(call, agent="langchain", name="LangChain load_tools", launcher="load_tools",
                        what=f"load_tools({risky}) gives the agent a host {'shell' if 'terminal' in risky else 'Python REPL'}",
                        fix=_alternative("langchain-load-tools"), confidence=Confidence.HIGH)
            return True
    return False


# -- AutoGen ------------------------------------------------------------------------------

_AG_ROOTS = ("autogen_ext", "autogen_agentchat", "autogen_core", "autogen", "ag2")


def _autogen(d: PythonDetector, call: Call) -> bool:
    px = d.px
    if _is(call, _AG_ROOTS, "LocalCommandLineCodeExecutor", bare=True) or _is(call, _AG_ROOTS, "JupyterCodeExecutor"):
        timeout = px.option(call, "timeout")
        d.host_exec(call, agent="autogen", name=f"AutoGen {call.leaf}", launcher=call.leaf,
                    what=f"{call.leaf} runs model-written code",
                    fix=_alternative("autogen-local-executor"),
                    timeout=px.loc(timeout) if timeout is not None else px.loc(call.node))
        return True
    if _is(call, _AG_ROOTS, "DockerCommandLineCodeExecutor", "DockerJupyterCodeExecutor", "ACADynamicSessionsCodeExecutor",
           bare=True):
        boundary = Boundary.VM if call.leaf.startswith("ACA") else Boundary.CONTAINER
        d.contained(call, agent="autogen", name=f"AutoGen {call.leaf}", launcher=call.leaf, boundary=boundary,
                    tool=call.leaf)
        return True
    if _is(call, _AG_ROOTS, "MagenticOne"):
        executor = px.option(call, "code_executor")
        if executor is None:
            d.undecided(call, agent="autogen", name="AutoGen MagenticOne", launcher="MagenticOne",
                        needs="whether Docker is available where MagenticOne runs: without a code_executor it falls back to executing code on the host")
            return True
        return False
    if call.has_keyword(d.src.data, "code_execution_config") and (
            call.root in ("autogen", "ag2") or call.leaf in ("UserProxyAgent", "ConversableAgent", "AssistantAgent")):
        node = call.keywords["code_execution_config"]
        if px.const(node) is False:
            return True
        cfg = px.mapping(node)
        name = f"AutoGen {call.leaf}"
        if cfg is None:
            d.undecided(call, agent="autogen", name=name, launcher="code_execution_config",
                        needs=f"the code_execution_config `{px.text(node)}` (use_docker)", at=node)
            return True
        executor = cfg.get("executor")
        if executor is not None:
            ex_call = px.call_at(executor)
            value = px.const(executor)
            if value == "commandline-local" or (ex_call is not None and ex_call.leaf in ("LocalCommandLineCodeExecutor",
                                                                                          "JupyterCodeExecutor")):
                d.host_exec(call, agent="autogen", name=name, launcher="code_execution_config",
                            what="the agent's code_execution_config runs model-written code with a local executor",
                            fix=_alternative("autogen-commandline-local"),
                            extra=lambda site: _human_input(site, px, call))
            return True
        use_docker = cfg.get("use_docker")
        value = px.const(use_docker) if use_docker is not None else _UNSET
        if use_docker is None:
            env_off = _autogen_env_off(px)
            if env_off is not None:
                d.host_exec(call, agent="autogen", name=name, launcher="code_execution_config",
                            what="AUTOGEN_USE_DOCKER is turned off in this file, so code_execution_config runs model-written code",
                            fix=_alternative("autogen-use-docker-env"),
                            extra=lambda site: _human_input(site, px, call))
            return True
        if value is False or value in ("False", "false", "0", "no"):
            d.host_exec(call, agent="autogen", name=name, launcher="code_execution_config",
                        what="code_execution_config with use_docker False runs model-written code",
                        fix=_alternative("autogen-use-docker-false"),
                        extra=lambda site: _human_input(site, px, call))
        elif value is _UNSET:
            d.undecided(call, agent="autogen", name=name, launcher="code_execution_config",
                        needs=f"the value of use_docker `{px.text(use_docker)}`", at=use_docker)
        return True
    return False


def _human_input(site: SiteBuilder, px: PyFacts, call: Call) -> None:
    """human_input_mode="NEVER": nobody is asked before the model's code runs."""
    node = call.keywords.get("human_input_mode")
    if node is not None and px.const(node) == "NEVER":
        site.fact("bypass-flag", 'human_input_mode="NEVER"', px.loc(node))


def _autogen_env_off(px: PyFacts) -> Node | None:
    for name in ("os.environ",):
        for _, key, value, node in px.key_sets.get(name, ()):
            if key == "AUTOGEN_USE_DOCKER" and str(px.const(value)).lower() in ("0", "false", "no"):
                return node
    return None


# -- CrewAI -------------------------------------------------------------------------------


def _crewai(d: PythonDetector, call: Call) -> bool:
    px = d.px
    if call.root not in ("crewai", "crewai_tools"):
        return False
    if call.leaf == "CodeInterpreterTool":
        unsafe = px.option(call, "unsafe_mode")
        if unsafe is not None and px.const(unsafe) is True:
            d.host_exec(call, agent="crewai", name="CrewAI CodeInterpreterTool", launcher="CodeInterpreterTool",
                        what="CodeInterpreterTool(unsafe_mode=True) runs model-written code",
                        fix=_alternative("crewai-code-interpreter-unsafe"))
            return True
        return False
    if call.leaf == "Agent" and "allow_code_execution" in call.keywords:
        if px.const(call.keywords["allow_code_execution"]) is not True:
            return False
        mode = px.option(call, "code_execution_mode")
        value = px.const(mode) if mode is not None else "safe"
        if value == "unsafe":
            d.host_exec(call, agent="crewai", name="CrewAI Agent", launcher="allow_code_execution",
                        what="an agent with code_execution_mode=\"unsafe\" runs model-written code",
                        fix=_alternative("crewai-unsafe-code-execution"))
        elif value == "safe":
            d.contained(call, agent="crewai", name="CrewAI Agent", launcher="allow_code_execution",
                        boundary=Boundary.CONTAINER, tool="CrewAI safe code execution (Docker)")
        else:
            d.undecided(call, agent="crewai", name="CrewAI Agent", launcher="allow_code_execution",
                        needs=f"the code execution mode `{px.text(mode)}`", at=mode)
        return True
    return False


# -- smolagents ---------------------------------------------------------------------------

_REMOTE_EXECUTORS = {"docker": Boundary.CONTAINER, "e2b": Boundary.VM, "modal": Boundary.VM, "blaxel": Boundary.VM,
                     "wasm": Boundary.OS_SANDBOX}


def _smolagents(d: PythonDetector, call: Call) -> bool:
    px = d.px
    if call.root != "smolagents":
        return False
    if call.leaf == "LocalPythonExecutor":
        d.host_exec(call, agent="smolagents", name="smolagents LocalPythonExecutor", launcher="LocalPythonExecutor",
                    what="LocalPythonExecutor evaluates model-written Python in the operator's process",
                    fix=_alternative("smolagents-local-executor"),
                    extra=lambda s: _star_imports(s, px, call))
        return True
    if call.leaf != "CodeAgent":
        return False
    node = px.option(call, "executor_type")
    value = px.const(node) if node is not None else "local"
    legacy = call.keywords.get("use_e2b_executor")  # the spelling before executor_type
    if node is None and legacy is not None:
        flag = px.const(legacy)
        node, value = legacy, ("e2b" if flag is True else "local" if flag in (False, None) else _UNSET)
    if value == "local":
        d.host_exec(call, agent="smolagents", name="smolagents CodeAgent", launcher="CodeAgent",
                    what=("CodeAgent without executor_type" if node is None else
                          "CodeAgent with " + (px.text(node.parent) if node is legacy else 'executor_type="local"'))
                    + " evaluates model-written Python in the operator's process",
                    fix=_alternative("smolagents-executor-type-local"),
                    extra=lambda s: _star_imports(s, px, call))
    elif isinstance(value, str) and value in _REMOTE_EXECUTORS:
        d.contained(call, agent="smolagents", name="smolagents CodeAgent", launcher="CodeAgent",
                    boundary=_REMOTE_EXECUTORS[value], tool=f"executor_type={value}")
    else:
        d.undecided(call, agent="smolagents", name="smolagents CodeAgent", launcher="CodeAgent",
                    needs=f"the executor type `{px.text(node)}` (local runs on the host)", at=node)
    return True


def _star_imports(site: SiteBuilder, px: PyFacts, call: Call) -> None:
    node = px.option(call, "additional_authorized_imports")
    names = px.strings(node) if node is not None else None
    if names and "*" in names:
        site.fact("bypass-flag", "additional_authorized_imports=[\"*\"]", px.loc(node))


# -- Others -------------------------------------------------------------------------------

_PROFILE_HINTS = ("google-chrome", "google/chrome", "chrome/user data", "chromium", "application support/google",
                  "microsoft edge", "bravesoftware", "mozilla", "firefox", "user data")


def _others(d: PythonDetector, call: Call) -> bool:
    px = d.px
    if call.root == "llama_index" and call.leaf == "CodeInterpreterToolSpec":
        d.host_exec(call, agent="llamaindex", name="LlamaIndex CodeInterpreterToolSpec", launcher="CodeInterpreterToolSpec",
                    what="CodeInterpreterToolSpec runs model-written Python with subprocess",
                    fix=_alternative("llamaindex-code-interpreter"))
        return True
    if call.root == "minisweagent" and call.leaf == "LocalEnvironment":
        d.host_exec(call, agent="swe-agent", name="mini-swe-agent LocalEnvironment", launcher="LocalEnvironment",
                    what="LocalEnvironment runs the agent's shell commands",
                    fix=_alternative("mini-swe-agent-local-environment"))
        return True
    if call.root in ("swerex", "sweagent") and call.leaf in ("LocalDeployment", "LocalDeploymentConfig"):
        d.host_exec(call, agent="swe-agent", name="SWE-agent local deployment", launcher=call.leaf,
                    what=f"{call.leaf} runs the agent's shell commands",
                    fix=_alternative("swe-rex-local-deployment"))
        return True
    if call.root == "openhands" and (call.leaf in ("LocalRuntime", "CLIRuntime") or
                                     px.const(call.keywords.get("runtime")) in ("local", "cli")):
        d.host_exec(call, agent="openhands", name="OpenHands", launcher=call.leaf,
                    what="the OpenHands local/cli runtime runs the agent's commands",
                    fix=_alternative("openhands-local-runtime"), confidence=Confidence.HIGH)
        return True
    if call.root == "browser_use" and call.leaf in ("Browser", "BrowserSession", "BrowserProfile", "BrowserConfig"):
        _browser_use(d, call)
        return True
    if call.leaf in ("StdioServerParameters", "StdioServerParams", "MCPServerStdio", "StdioTransport") and (
        call.root in ("mcp", "agents", "pydantic_ai", "autogen_ext", "fastmcp", "mcp_use", "strands")
    ):
        _mcp_stdio(d, call)
        return True
    return False


def _browser_use(d: PythonDetector, call: Call) -> None:
    px = d.px
    profile = call.keywords.get("user_data_dir")
    cdp = call.keywords.get("cdp_url") or call.keywords.get("wss_url")
    reason = None
    at = None
    if profile is not None:
        value = px.const(profile)
        w = px.mod.word(profile)
        text = (value if isinstance(value, str) else w.text).lower()
        if any(h in text.replace("\\", "/") for h in _PROFILE_HINTS):
            reason, at = f"the operator's real browser profile `{text}`", profile
    if cdp is not None and reason is None:
        value = px.const(cdp)
        text = value if isinstance(value, str) else px.mod.word(cdp).text
        if any(h in text for h in ("localhost", "127.0.0.1", "[::1]", "0.0.0.0")):
            reason, at = f"the operator's running browser at `{text}`", cdp
    if reason is None or at is None:
        return
    site = d.site(call, "browser-use", "browser-use agent", call.leaf)
    site.set_env(EnvMode.INHERITED, "browser-use runs in the operator's process")
    site.report(BROWSER, px.loc(at),
                f"The browser agent drives {reason}: its cookies, saved logins and sessions act as the operator on every site.",
                replaces=(INLINE, "agent-inherits-environment"))
    d.emit(site)


def _mcp_stdio(d: PythonDetector, call: Call) -> None:
    """An MCP stdio server: its command goes through the shared command reader; its env is checked here."""
    px = d.px
    params = call
    if call.leaf == "MCPServerStdio" and call.root == "agents":
        m = px.mapping(px.option(call, "params", 0))
        if m is None:
            return
        command, args, env = m.get("command"), m.get("args"), m.get("env")
    else:
        command = px.option(params, "command", 0)
        args = px.option(params, "args", 1)
        env = px.option(params, "env", 2 if call.leaf != "MCPServerStdio" else None)
    if command is None:
        return
    words = [px.mod.word(command)]
    if args is not None:
        more = px.mod.words(args)
        words.extend(more if more is not None else [px.mod._dynamic(args)])
    env_info = _mcp_env(px, env, call)
    if env is not None and env_info.mode is EnvMode.INHERITED:
        # Anchor at the argument that forwards it; the mapping may be built lines above.
        env_info = EnvInfo(env_info.mode, px.loc(env), env_info.detail, env_info.names)
    d.out.append(LaunchFound(surface="python", launcher=f"MCP stdio server ({call.leaf})", location=px.loc(call.node),
                             env=env_info, words=tuple(words)))
    if env_info.mode is EnvMode.INHERITED and not _wrapped(words):
        _mcp_env_site(d, call, words, env_info)


def _mcp_env(px: PyFacts, env: Node | None, call: Call) -> EnvInfo:
    if env is None or px.const(env) is None:
        return EnvInfo(EnvMode.MINIMAL, px.loc(call.node), "the MCP SDK's default allow-list (HOME, PATH, USER, ...)")
    return px.mod.env_info(env, call.node, call.leaf)


_WRAPPERS = {"docker", "podman", "nerdctl", "srt", "bwrap", "firejail", "nsjail", "sandbox-exec", "sbx", "minijail0"}


def _wrapped(words: list[Word]) -> bool:
    return bool(words) and not words[0].dynamic and words[0].text.rsplit("/", 1)[-1] in _WRAPPERS


def _mcp_env_site(d, call_loc_node, words: list[Word], env_info: EnvInfo, surface: str = "python") -> None:
    loc = d.px.loc(call_loc_node.node) if hasattr(call_loc_node, "node") else call_loc_node
    command = " ".join(w.text for w in words)
    site = SiteBuilder(agent="mcp-server", agent_name=f"MCP server `{command[:60]}`", surface=surface,
                       launcher="MCP stdio client", location=loc, command=command)
    site.set_env(EnvMode.INHERITED, env_info.detail, env_info.location)
    site.secrets((w.text, w.location) for w in env_info.names)
    site.report(MCP_ENV, env_info.location,
                f"The MCP stdio server `{command[:60]}` is handed the operator's whole environment ({env_info.detail}); "
                "the SDK would otherwise pass only a small allow-list.",
                replaces=(INLINE, "agent-inherits-environment", "agent-unbounded-session"))
    d.emit(site)


# -- open-interpreter ---------------------------------------------------------------------


def _oi(d: PythonDetector, call: Call) -> bool:
    """`interpreter.chat(...)` / `OpenInterpreter(...).chat()`: the agent runs in this process."""
    px = d.px
    if call.leaf not in ("chat",) or call.root != "interpreter":
        return False
    fn = call.node.child_by_field_name("function")
    obj = fn.child_by_field_name("object") if fn is not None and fn.type == "attribute" else None
    if obj is None:
        return False
    site = d.site(call, "open-interpreter", "Open Interpreter", "interpreter.chat")
    site.set_env(EnvMode.INHERITED, "Open Interpreter runs code in the operator's process environment")
    obj_text = px.src.node_text(obj)
    sets = [s for s in px.attr_sets.get(obj_text, ()) if s[0] < call.node.start_byte] or px.attr_sets.get(obj_text, [])
    auto = [s for s in sets if s[1] == "auto_run"]
    ctor = px.call_at(obj)
    value_node = auto[-1][2] if auto else (ctor.keywords.get("auto_run") if ctor is not None else None)
    if value_node is not None:
        value = px.const(value_node)
        if value is True:
            site.fact("bypass-flag", "auto_run = True", px.loc(value_node))
        elif value is _UNSET:
            site.unknown(f"whether auto_run `{px.text(value_node)}` is on", px.loc(value_node))
    d.emit(site)
    return True


def _local_factory(d: PythonDetector, call: Call) -> bool:
    """`get_environment(cfg, default_type="local")`: an agent's execution environment picked by
    name, and the name is the host's."""
    px = d.px
    words = _tool_list("factory_words")
    leaf = call.leaf.lower()
    if not any(w in leaf for w in words) or not re.fullmatch(r"(get|make|create|build|load|new|init|setup|select)_?[a-z_]*", leaf):
        return False
    keys = set(_tool_list("factory_keywords"))
    hosts = set(_tool_list("host_values"))
    for key, node in call.keywords.items():
        if key in keys and px.const(node) in hosts:
            d.host_exec(call, agent="agent-environment", name=f"agent environment from {call.leaf}()", launcher=call.leaf,
                        what=f"{call.leaf}() with {key}=\"{px.const(node)}\" picks the host environment, so the agent's "
                             "commands run",
                        fix=_alternative("agent-local-environment-factory"), confidence=Confidence.MEDIUM)
            return True
    return False


_HANDLERS = (_claude, _openai_agents, _langchain, _autogen, _crewai, _smolagents, _oi, _others, _local_factory)


# ---------------------------------------------------------------------------------------
# Agent tools that run host commands: a framework tool class, a `@tool` function or a function
# handed to an agent (`tools=[...]`, `function_map`, `register_function`) whose body runs the
# model's input as a shell command, a program or Python. The execution line is the site; the
# registration is related evidence.


@lru_cache(maxsize=1)
def _tool_data() -> dict:
    import yaml

    from scanner.resources import rules_dir

    with (rules_dir() / "frameworks.yaml").open(encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle).get("agent_tools") or {})


@lru_cache(maxsize=64)
def _tool_list(key: str) -> tuple[str, ...]:
    return tuple(str(v) for v in _tool_data().get(key) or ())


_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "/bin/sh", "/bin/bash", "/usr/bin/bash", "/usr/bin/env",
           "powershell", "pwsh", "cmd", "cmd.exe"}
# Literal text after which an interpolated value is in command position.
_COMMAND_POSITION = re.compile(r"(^\s*$)|([;&|`(]\s*$)|(\b(sh|bash|zsh|dash|ksh|fish|pwsh|powershell|cmd|node|nodejs|deno|bun|perl|ruby|python[0-9.]*|php|osascript)(\.exe)?(\s+-\w+)*\s+(-l?c|-e|-p|--eval|-Command|/c)\s*['\"]?$)|(\beval\s+['\"]?$)|(\$\(\s*$)")
_SKIP_PARAMS = {"self", "cls", "ctx", "context", "run_manager", "config", "callbacks", "tool_context"}


@dataclass
class _Entry:
    fn: Node
    tainted: frozenset[str]
    label: str
    related: Location
    confidence: Confidence


class ToolScan:
    """Entries (where the model's arguments arrive) and the sinks they reach, in one file."""

    def __init__(self, d: PythonDetector):
        self.d = d
        self.px = d.px
        self.src = d.src
        self.table = launch_tables()["python"]
        self.reported: set[int] = set()  # sink call node ids already reported

    # -- entries -------------------------------------------------------------------------

    def entries(self) -> list[_Entry]:
        px = self.px
        out: list[_Entry] = []
        roots = set(_tool_list("roots"))
        bases = set(_tool_list("bases"))
        run_methods = set(_tool_list("run_methods"))
        suffixes = _tool_list("executor_suffixes")
        exec_methods = set(_tool_list("executor_methods"))
        registered = self._registered()
        for cls in _nodes(px.mod.root, "class_definition"):
            name_node = cls.child_by_field_name("name")
            cname = px.src.node_text(name_node) if name_node is not None else ""
            supers = cls.child_by_field_name("superclasses")
            tool_base = None
            for base in supers.named_children if supers is not None else ():
                if base.type not in ("identifier", "attribute"):
                    continue
                qual = px.mod.qualified(base)
                leaf = qual.rsplit(".", 1)[-1]
                if leaf in bases and (qual.split(".", 1)[0] in roots or ".".join(qual.split(".")[:2]) in roots):
                    tool_base = qual
            reg = registered.get(cname)
            methods = [m for m in _methods(cls)]
            if tool_base is not None or reg is not None:
                label = f"agent tool {cname} ({tool_base})" if tool_base else f"agent tool {cname}"
                related = reg or px.loc(cls)
                for m in methods:
                    if _name(px, m) in run_methods:
                        out.append(_Entry(m, self._params(m), label, related, Confidence.HIGH))
            elif cname.endswith(suffixes) and self._agent_module() and \
                    not cname.startswith(("Docker", "Remote", "Modal", "E2B", "Singularity")):
                for m in methods:
                    if _name(px, m) in exec_methods:
                        out.append(_Entry(m, self._params(m), f"agent execution environment {cname}", px.loc(cls),
                                          Confidence.MEDIUM))
        decorators = set(_tool_list("decorators"))
        for fn_list in px.functions.values():
            for fn in fn_list:
                if _enclosing(fn, "class_definition") is not None and fn.parent is not None and fn.parent.type != "decorated_definition":
                    continue
                deco = _tool_decorator(px, fn, decorators)
                fname = _name(px, fn)
                if deco is not None:
                    out.append(_Entry(fn, self._params(fn), f"agent tool {fname}()", deco, Confidence.HIGH))
                elif fname in registered and self.px._top_level(fn):
                    out.append(_Entry(fn, self._params(fn), f"agent tool {fname}()", registered[fname], Confidence.HIGH))
        return out

    def _agent_module(self) -> bool:
        """The file belongs to an agent: it imports an agent framework, an LLM SDK or a module of
        an agent package (a dotted name with `agent` in it)."""
        roots = set(_tool_list("roots")) | set(_tool_list("llm_sdks"))
        for target in self.px.mod.aliases.values():
            head = target.split(".", 1)[0]
            if head in roots or "agent" in target.lower():
                return True
        return False

    def _params(self, fn: Node) -> frozenset[str]:
        return frozenset(p for p in self.px.params(fn) if p not in _SKIP_PARAMS)

    def _registered(self) -> dict[str, Location]:
        """Names handed to an agent in this file: `tools=[f, Cls()]`, `function_map={...: f}`,
        `register_function(f)`, `Tool.from_function(f)`, ..."""
        px = self.px
        keywords = set(_tool_list("registration_keywords"))
        calls = set(_tool_list("registration_calls"))
        out: dict[str, Location] = {}

        def note(node: Node | None, at: Call) -> None:
            if node is None:
                return
            if node.type == "identifier":
                held = px.deref(node)  # `shell = ShellTool(); Agent(tools=[shell])`
                if held is not None and held.type == "call":
                    note(held, at)
            if node.type == "call":
                fn = node.child_by_field_name("function")
                node = fn if fn is not None and fn.type == "identifier" else None
            if node is not None and node.type == "identifier":
                out.setdefault(px.src.node_text(node), px.loc(at.node))

        needles = tuple(k.encode() for k in keywords)
        if not any(n in px.src.data for n in needles):
            needles = ()
        for call in px.calls:
            if not needles or not call.mentions(px.src.data, *needles):
                items: list = []
            else:
                items = list(call.keywords.items())
            for key, value in items:
                if key in keywords:
                    target = px.deref(value) if value.type == "identifier" else value
                    if target is None:
                        continue
                    if target.type in ("list", "tuple"):
                        for item in target.named_children:
                            note(item, call)
                    elif target.type == "dictionary":
                        for pair in target.named_children:
                            if pair.type == "pair":
                                note(pair.child_by_field_name("value"), call)
            if call.leaf in calls:
                note(call.positional[0] if call.positional else None, call)
                for key in ("func", "fn", "f", "function", "coroutine"):
                    note(call.keywords.get(key), call)
        return out

    # -- taint ---------------------------------------------------------------------------

    def tainted_in(self, fn: Node, names: frozenset[str]) -> set[str]:
        """Names in `fn`'s own scope that carry the model's input (assignments, for loops)."""
        px = self.px
        tainted = set(names)
        body = fn.child_by_field_name("body")
        if body is None:
            return tainted
        nodes = [n for n in _own(body) if n.type in ("assignment", "augmented_assignment", "for_statement",
                                                      "named_expression")]
        for _ in range(2):
            for n in nodes:
                if n.type == "for_statement":
                    left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
                elif n.type == "named_expression":
                    left, right = n.child_by_field_name("name"), n.child_by_field_name("value")
                else:
                    left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
                if left is None or right is None or not _uses(px, right, tainted):
                    continue
                for ident in _idents(left):
                    tainted.add(px.src.node_text(ident))
        return tainted

    # -- sinks ---------------------------------------------------------------------------

    def scan(self) -> None:
        for entry in self.entries():
            self.d.fresh()
            self._walk(entry, entry.fn, entry.tainted, {}, 0)

    def _walk(self, entry: _Entry, fn: Node, names: frozenset[str], bound: dict[str, Node], depth: int) -> None:
        px = self.px
        tainted = self.tainted_in(fn, names)
        body = fn.child_by_field_name("body")
        if body is None or not tainted:
            return
        for node in _own(body):
            if node.type != "call":
                continue
            call = px.call_at(node)
            if call is None:
                continue
            what = self._sink(call, tainted, fn)
            if what is not None:
                self._report(entry, call, what, fn, bound)
                continue
            if depth < 2:
                helper = px.function_of(call)
                if helper is None or helper.id == fn.id:
                    continue
                binding = px.bind(helper, call)
                carried = frozenset(p for p, arg in binding.items() if _uses(px, arg, tainted))
                if carried:
                    self._walk(entry, helper, carried, binding, depth + 1)

    def _sink(self, call: Call, tainted: set[str], fn: Node) -> str | None:
        """What the call runs with the model's input in command position, or None."""
        px = self.px
        name = call.name
        if name in ("exec", "eval") and call.positional and _uses(px, call.positional[0], tainted):
            return f"{name}() of the model's input"
        spec = self.table.get(name)
        if spec is None:
            return None
        pos = call.positional
        if "string" in spec:
            idx = spec["string"]
            arg = pos[idx] if idx < len(pos) else None
            return f"{name} of the model's command" if arg is not None and self._command(arg, tainted, fn) else None
        if "varargs" in spec:
            rest = pos[spec["varargs"]:]
            if rest and (rest[0].type == "list_splat" and _uses(px, rest[0], tainted) or
                         rest[0].type != "list_splat" and _uses(px, rest[0], tainted) and self._whole(rest[0], tainted, fn)):
                return f"{name} of the model's command"
            return f"{name} of the model's command" if self._shell_c(rest, tainted, fn) else None
        if "argv" in spec:
            idx = spec["argv"]
            target = pos[idx] if idx < len(pos) else call.keywords.get(spec.get("argv_kw", ""))
            if target is None:
                return None
            shell_kw = call.keywords.get(spec.get("shell_kw", "")) if "shell_kw" in spec else None
            shell = shell_kw is not None and px.const(shell_kw) is True
            if "file" in spec:
                file_arg = pos[spec["file"]] if spec["file"] < len(pos) else None
                if file_arg is not None and _uses(px, file_arg, tainted) and self._whole(file_arg, tainted, fn):
                    return f"{name} of the model's program"
                return None
            if shell:
                return f"{name}(shell=True) of the model's command" if self._command(target, tainted, fn) else None
            items = self._argv_items(target, fn)
            if items is not None:
                if items and _uses(px, items[0], tainted) and self._whole(items[0], tainted, fn):
                    return f"{name} of the model's program"
                return f"{name} of the model's command" if self._shell_c(items, tainted, fn) else None
            if _uses(px, target, tainted):
                return f"{name} of the model's command"
            return None
        if "file" in spec:
            idx = spec["file"]
            arg = pos[idx] if idx < len(pos) else None
            if arg is not None and _uses(px, arg, tainted) and self._whole(arg, tainted, fn):
                return f"{name} of the model's program"
        return None

    def _argv_items(self, node: Node, fn: Node, depth: int = 0) -> list[Node] | None:
        """The element expressions of an argv list, appends and `+` folded in source order; None
        when the list as a whole is not visible (a parameter, a call's result)."""
        px = self.px
        if depth > 4:
            return None
        if node.type in ("list", "tuple"):
            out: list[Node] = []
            for child in node.named_children:
                if child.type == "comment":
                    continue
                if child.type == "list_splat" and child.named_children:
                    inner = self._argv_items(child.named_children[0], fn, depth + 1)
                    out.extend(inner if inner is not None else [child])
                else:
                    out.append(child)
            return out
        if node.type == "binary_operator":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is None or right is None:
                return None
            lhs, rhs = self._argv_items(left, fn, depth + 1), self._argv_items(right, fn, depth + 1)
            return None if lhs is None else lhs + (rhs if rhs is not None else [right])
        if node.type == "attribute" and px.src.node_text(node.child_by_field_name("object") or node) in ("self", "cls"):
            return [node]  # configuration on the object: one opaque, not model-chosen, word
        if node.type != "identifier":
            return None
        items = [a for a in px.mod.assigns.get((fn.id, px.src.node_text(node)), []) if a.start < node.start_byte]
        last_set = max((k for k, a in enumerate(items) if a.kind == "set"), default=None)
        if last_set is None:
            return None
        out = []
        for item in items[last_set:]:
            if item.kind == "append":
                out.append(item.value)
                continue
            got = self._argv_items(item.value, fn, depth + 1)
            if got is None:
                return None if item.kind == "set" else out + [item.value]
            out.extend(got)
        return out

    def _local_value(self, node: Node, fn: Node) -> Node:
        """A local variable's one assigned value in this function (else the node itself)."""
        px = self.px
        if node.type == "identifier":
            items = px.mod.assigns.get((fn.id, px.src.node_text(node)), [])
            sets = [a for a in items if a.start < node.start_byte]
            if len(sets) == 1 and sets[0].kind == "set":
                return sets[0].value
        return node

    def _whole(self, node: Node, tainted: set[str], fn: Node) -> bool:
        """The model's value is the whole word (not text appended to a fixed program name)."""
        value = self._local_value(node, fn)
        if value.type == "string":
            return self._command(value, tainted, fn)
        if value.type == "binary_operator":
            left = value.child_by_field_name("left")
            return left is not None and _uses(self.px, left, tainted)
        return True

    def _shell_c(self, items: list[Node], tainted: set[str], fn: Node) -> bool:
        """`[bash, -c, <model's command>]`."""
        px = self.px
        if len(items) < 3:
            return False
        head = px.const(items[0])
        if not isinstance(head, str) or head.rsplit("/", 1)[-1] not in {s.rsplit("/", 1)[-1] for s in _SHELLS}:
            return False
        for i, item in enumerate(items[1:-1], start=1):
            flag = px.const(item)
            if isinstance(flag, str) and flag.startswith("-") and flag.endswith("c"):
                return self._command(items[i + 1], tainted, fn)
        return False

    def _command(self, node: Node, tainted: set[str], fn: Node, depth: int = 0) -> bool:
        """A shell string whose command (not just an argument) comes from the model."""
        px = self.px
        value = self._local_value(node, fn) if depth < 3 else node
        if value is not node and value.type in ("string", "binary_operator", "call", "concatenated_string"):
            return self._command(value, tainted, fn, depth + 1)
        if value.type == "string":
            prefix = []
            for child in value.named_children:
                if child.type == "string_content":
                    prefix.append(px.src.node_text(child))
                elif child.type == "interpolation":
                    if _uses(px, child, tainted):
                        return bool(_COMMAND_POSITION.search("".join(prefix)))
                    prefix.append("x")
            return False
        if value.type == "binary_operator":
            left, right = value.child_by_field_name("left"), value.child_by_field_name("right")
            if left is None or right is None:
                return False
            if _uses(px, left, tainted):
                return self._command(left, tainted, fn, depth + 1) if left.type in ("string", "binary_operator") else True
            text = px.const(left)
            return isinstance(text, str) and bool(_COMMAND_POSITION.search(text)) and _uses(px, right, tainted)
        if value.type == "call":
            fnode = value.child_by_field_name("function")
            if fnode is not None and fnode.type == "attribute":
                obj = fnode.child_by_field_name("object")
                attr = px.src.node_text(fnode.child_by_field_name("attribute"))
                if attr == "format" and obj is not None and obj.type == "string":
                    template = px.mod.string_value(obj) or ""
                    args = value.child_by_field_name("arguments")
                    return bool(args is not None and _uses(px, args, tainted) and
                                _COMMAND_POSITION.search(template.split("{", 1)[0]))
                if attr == "join" and obj is not None and obj.type == "string":
                    return _uses(px, value, tainted)
            return _uses(px, value, tainted)
        return _uses(px, value, tainted)

    # -- the site ------------------------------------------------------------------------

    def _report(self, entry: _Entry, call: Call, what: str, fn: Node, bound: dict[str, Node]) -> None:
        if call.node.id in self.reported:
            return
        self.reported.add(call.node.id)
        px, d = self.px, self.d
        site = SiteBuilder(agent="agent-tool", agent_name=entry.label, surface="python",
                           launcher=call.name, location=px.loc(call.node), command=px.text(call.node))
        spec = self.table.get(call.name) or {}
        env_node = call.keywords.get(spec["env_kw"]) if "env_kw" in spec else None
        if env_node is None and "env_pos" in spec and spec["env_pos"] < len(call.positional):
            env_node = call.positional[spec["env_pos"]]
        replaces = [INLINE, "agent-unbounded-session"]
        if env_node is not None and env_node.type == "identifier" and px.src.node_text(env_node) in bound:
            env_node = bound[px.src.node_text(env_node)]
        if env_node is not None:
            env = px.mod.env_info(env_node, call.node, call.name)
            if env.mode is EnvMode.INHERITED:
                site.set_env(EnvMode.INHERITED, env.detail, px.loc(env_node))
            else:
                site.set_env(env.mode, env.detail, env.location)
                replaces.append("agent-inherits-environment")
                if env.mode is EnvMode.UNKNOWN:
                    site.env = EnvMode.MINIMAL  # decided with the tool's own environment; not a finding here
        else:
            site.set_env(EnvMode.INHERITED, "the tool runs in the agent's process and keeps its environment")
            replaces.append("agent-inherits-environment")
        timeout = call.keywords.get(spec.get("timeout_kw", "")) if "timeout_kw" in spec else None
        if timeout is not None and timeout.type != "none":
            site.fact("timeout", "timeout", px.loc(timeout))
        fix = _alternative("agent-tool-host-command")
        site.report(HOST_EXEC, site.location,
                    f"The {entry.label} runs {what} on the host, as the operator, with the operator's files, network "
                    f"and environment: the model (and any prompt injection it reads) chooses what runs; {fix}.",
                    replaces=tuple(replaces), confidence=entry.confidence, related=(entry.related.with_label("where the tool is registered"),))
        d.emit(site)


def _nodes(root: Node, kind: str) -> list[Node]:
    from scanner.analyzers.python_lang import _query

    return sorted(QueryCursor(_query(f"({kind}) @n")).captures(root).get("n", []), key=lambda n: n.start_byte)


def _methods(cls: Node) -> list[Node]:
    body = cls.child_by_field_name("body")
    out = []
    for child in body.named_children if body is not None else ():
        if child.type == "decorated_definition":
            child = child.child_by_field_name("definition") or child
        if child.type == "function_definition":
            out.append(child)
    return out


def _name(px: PyFacts, fn: Node) -> str:
    node = fn.child_by_field_name("name")
    return px.src.node_text(node) if node is not None else ""


def _tool_decorator(px: PyFacts, fn: Node, names: set[str]) -> Location | None:
    parent = fn.parent
    if parent is None or parent.type != "decorated_definition":
        return None
    for deco in parent.named_children:
        if deco.type != "decorator" or not deco.named_children:
            continue
        expr = deco.named_children[0]
        if expr.type == "call":
            expr = expr.child_by_field_name("function") or expr
        leaf = px.src.node_text(expr).rsplit(".", 1)[-1]
        if leaf in names:
            return px.loc(deco)
    return None


def _own(node: Node) -> Iterator[Node]:
    """Every node of a function body, not descending into nested functions or classes."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed([c for c in n.named_children
                               if c.type not in ("function_definition", "class_definition", "decorated_definition")]))


def _idents(node: Node) -> list[Node]:
    if node.type == "identifier":
        return [node]
    if node.type in ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list"):
        return [i for c in node.named_children for i in _idents(c)]
    return []


def _uses(px: PyFacts, node: Node, names: set[str] | frozenset[str]) -> bool:
    """Whether an expression reads one of `names` (attribute names and keywords do not count)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            if px.src.node_text(n) in names:
                return True
            continue
        if n.type == "attribute":
            obj = n.child_by_field_name("object")
            if obj is not None:
                stack.append(obj)
            continue
        if n.type == "keyword_argument":
            value = n.child_by_field_name("value")
            if value is not None:
                stack.append(value)
            continue
        if n.type in ("lambda", "function_definition"):
            continue
        stack.extend(n.named_children)
    return False


def _tool_sites(d: PythonDetector) -> None:
    ToolScan(d).scan()


# ---------------------------------------------------------------------------------------
# Same-file helpers that wrap a launcher: `def run_agent(cmd): subprocess.run(cmd)` called with
# ["claude", ...]. The launch is reported at the call site with the argv resolved there.


@dataclass
class _Wrapper:
    fn: Node
    params: list[str]
    is_method: bool
    launcher: str
    spec: dict
    inner: Call
    template: Node  # the argv / string expression inside the helper
    shell: bool


def _wrappers(d: PythonDetector) -> dict[str, list[_Wrapper]]:
    px = d.px
    table = launch_tables()["python"]
    out: dict[str, list[_Wrapper]] = {}
    # Launch calls by the function whose body holds them: one pass, not functions x calls.
    by_scope: dict[int, list[Call]] = {}
    for call in px.calls:
        if call.name in table:
            by_scope.setdefault(px.mod.scope_of(call.node).id, []).append(call)
    if not by_scope:
        return out
    for name, defs in px.functions.items():
        for fn in defs:
            if fn.id not in by_scope:
                continue
            params_node = fn.child_by_field_name("parameters")
            params: list[str] = []
            for p in params_node.named_children if params_node is not None else ():
                ident = p if p.type == "identifier" else (p.child_by_field_name("name") or
                                                          next((c for c in p.named_children if c.type == "identifier"), None))
                if ident is not None and ident.type == "identifier":
                    params.append(px.src.node_text(ident))
            if not params:
                continue
            is_method = params[0] in ("self", "cls")
            for call in by_scope[fn.id]:
                spec = table[call.name]
                template, shell = None, False
                if "argv" in spec:
                    template = call.positional[spec["argv"]] if spec["argv"] < len(call.positional) else call.keywords.get(spec.get("argv_kw", ""))
                    shell_kw = call.keywords.get(spec.get("shell_kw", ""))
                    shell = shell_kw is not None and px.src.node_text(shell_kw) == "True"
                elif "string" in spec:
                    template = call.positional[spec["string"]] if spec["string"] < len(call.positional) else None
                    shell = True
                elif "varargs" in spec:
                    rest = call.positional[spec["varargs"]:]
                    if len(rest) == 1 and rest[0].type == "list_splat":
                        template = rest[0]
                if template is None or not _uses_param(px, template, params):
                    continue
                out.setdefault(name, []).append(_Wrapper(fn, params, is_method, call.name, spec, call, template, shell))
    return out


def _uses_param(px: PyFacts, node: Node, params: list[str]) -> bool:
    if node.type == "identifier":
        return px.src.node_text(node) in params
    if node.type in ("list", "tuple", "list_splat", "binary_operator"):
        return any(_uses_param(px, c, params) for c in node.named_children)
    return False


def wrapped_launches(d: PythonDetector) -> Iterator[LaunchFound]:
    px = d.px
    helpers = _wrappers(d)
    if not helpers:
        return
    for call in px.calls:
        fn = call.node.child_by_field_name("function")
        if fn is None:
            continue
        if fn.type == "identifier":
            name, via_self = px.src.node_text(fn), False
        elif fn.type == "attribute" and px.src.node_text(fn.child_by_field_name("object")) in ("self", "cls"):
            name, via_self = px.src.node_text(fn.child_by_field_name("attribute")), True
        else:
            continue
        for helper in helpers.get(name, ()):
            if helper.fn.start_byte <= call.node.start_byte < helper.fn.end_byte:
                continue  # recursion inside the helper itself
            if helper.is_method != via_self:
                continue
            bound = _bind(helper, call)
            found = _found_at(d, helper, call, bound)
            if found is not None:
                yield found


def _bind(helper: _Wrapper, call: Call) -> dict[str, Node]:
    params = helper.params[1:] if helper.is_method else helper.params
    bound = dict(zip(params, call.positional))
    for key, value in call.keywords.items():
        if key in params:
            bound[key] = value
    return bound


def _found_at(d: PythonDetector, helper: _Wrapper, call: Call, bound: dict[str, Node]) -> LaunchFound | None:
    px, mod = d.px, d.mod

    def expand(node: Node) -> list[Word] | None:
        t = node.type
        if t == "identifier" and px.src.node_text(node) in bound:
            arg = bound[px.src.node_text(node)]
            got = mod.words(arg)
            if got is not None and arg.type != "string":
                return got
            return [mod.word(arg)]
        if t == "identifier" and px.src.node_text(node) in helper.params:
            return None  # a parameter the call site leaves at its default
        if t in ("list", "tuple"):
            out: list[Word] = []
            for child in node.named_children:
                if child.type == "list_splat" and child.named_children:
                    got = expand(child.named_children[0])
                    if got is None:
                        return None
                    out.extend(got)
                elif child.type == "identifier" and px.src.node_text(child) in bound:
                    got = expand(child)
                    if got is None:
                        return None
                    out.extend(got)
                else:
                    out.append(mod.word(child))
            return out
        if t == "list_splat" and node.named_children:
            return expand(node.named_children[0])
        if t == "binary_operator":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is not None and right is not None:
                lw, rw = expand(left), expand(right)
                if lw is not None and rw is not None:
                    return lw + rw
        return None

    words = expand(helper.template)
    if not words:
        return None
    anchored = tuple(words)
    inner = helper.inner
    env_node = inner.keywords.get(helper.spec.get("env_kw", "")) if "env_kw" in helper.spec else None
    if env_node is not None and env_node.type == "identifier" and px.src.node_text(env_node) in bound:
        env = mod.env_info(bound[px.src.node_text(env_node)], call.node, f"{helper.launcher} (via {px.src.node_text(helper.fn.child_by_field_name('name'))})")
    else:
        env = mod.env_info(env_node, inner.node, helper.launcher)
    timeout = None
    tkw = helper.spec.get("timeout_kw")
    if tkw and tkw in inner.keywords and inner.keywords[tkw].type != "none":
        tnode = inner.keywords[tkw]
        if not (tnode.type == "identifier" and px.src.node_text(tnode) in helper.params and px.src.node_text(tnode) not in bound
                and px._param_default(px.src.node_text(tnode), tnode) is None):
            timeout = px.loc(tnode)
    fname = px.src.node_text(helper.fn.child_by_field_name("name"))
    launcher = f"{helper.launcher} (via {fname}())"
    loc = px.loc(call.node)
    if helper.shell:
        if len(anchored) != 1:
            return None
        return LaunchFound(surface="python", launcher=launcher, location=loc, env=env, shell=anchored[0], timeout=timeout)
    return LaunchFound(surface="python", launcher=launcher, location=loc, env=env, words=anchored, timeout=timeout)


def detect_python(analysis: Analysis) -> Iterator:
    return PythonDetector(analysis).run()

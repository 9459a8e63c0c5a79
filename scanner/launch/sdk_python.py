"""Python in-process agents and code-executing frameworks.

Every detector reads a call by its import-resolved name (`from x import Y as Z` and
`import x as y` both resolve), its keyword and positional arguments, and options objects built
in same-file variables (`opts = {...}; opts["k"] = v`, `o = Options(...); o.k = v`, a constant
parameter default). A value this scan cannot see makes the site undecided, never safe.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node

from scanner.launch.base import Analysis, LaunchFound, launch_tables, timeout_unread
from scanner.launch.gates import python_call_names
from scanner.launch.python_lang import python_module
from scanner.project.python_module import (
    FOLLOW_BUDGET,
    UNSET,
    Call,
    PythonModule,
    enclosing,
)
from scanner.launch.claude_options import ClaudeOptions, judge_options, judge_session
from scanner.launch.sdk_sites import COMMAND_POSITION, PY_STRINGS, SiteBuilder, command_comes_from
from scanner.catalog import Catalog
from scanner.launch.commandline import Word
from scanner.containment.reader import EnvInfo
from scanner.model import Boundary, Confidence, Egress, EnvMode, Fact, FactKind, Location
from scanner.parse.trees import PY_READS, reads_any


def _alternative(cat: Catalog, key: str) -> str:
    """The contained alternative a finding names, from rules/frameworks.yaml (text is data)."""
    return cat.frameworks.section("alternatives")[key]


@lru_cache(maxsize=None)  # rows live as long as the process: `_names` keys on their identity
def _fw(cat: Catalog, name: str) -> dict:
    """One framework of rules/frameworks.yaml `frameworks`: its roots, classes and options."""
    return dict(cat.frameworks.section("frameworks").get(name) or {})


def _of(call: Call, fw: dict, *leaves: str) -> bool:
    """`call` is one of the framework's `leaves`: imported from its roots, or called by a
    distinctive name alone."""
    if call.leaf not in leaves:
        return False
    return call.root in (fw.get("roots") or ()) or (call.leaf in (fw.get("distinctive") or ()) and call.name == call.leaf)


def _names(fw: dict, key: str) -> tuple[str, ...]:
    """A list of a framework's rules row as strings; built once per row and key (every call of a
    file is checked against these)."""
    cached = _NAMES.get((id(fw), key))
    if cached is None:
        cached = _NAMES[(id(fw), key)] = tuple(str(v) for v in fw.get(key) or ())
    return cached


# (id of a cached `_fw` row, key) -> its names; the rows live as long as the process.
_NAMES: dict[tuple[int, str], tuple[str, ...]] = {}


# Off only in the test that checks the per-call filter changes nothing.
CALL_FILTER = True


def _offsets(data: bytes, word: bytes) -> Iterator[int]:
    at = data.find(word)
    while at != -1:
        yield at
        at = data.find(word, at + 1)


HOST_EXEC = "framework-host-code-execution"
MCP_ENV = "mcp-stdio-forwards-environment"
BROWSER = "browser-agent-operator-profile"
INLINE = "agent-inline-launch"


# ---------------------------------------------------------------------------------------
# Detectors


class PythonDetector:
    def __init__(self, analysis: Analysis):
        self.src = analysis.source
        self.cat = analysis.catalog
        self.mod = python_module(analysis)
        self.px = self.mod  # one resolver: the front end's module
        self.out: list = []

    def fresh(self) -> None:
        """A new site is read: no parameter bound, helper calls may be followed again."""
        self.px.bound = {}
        self.px.budget = FOLLOW_BUDGET

    def site(self, call: Call, agent: str, agent_name: str, launcher: str) -> SiteBuilder:
        return SiteBuilder(catalog=self.cat, agent=agent, agent_name=agent_name, surface="python", launcher=launcher,
                           location=self.px.loc(call.node), command=self.px.text(call.node))

    def emit(self, site: SiteBuilder) -> None:
        self.out.append(site.build())

    def run(self) -> Iterator:
        called, keywords = python_call_names(self.cat)
        factory = _tool_list(self.cat, "factory_words")
        # Where the file spells one of those keywords (most files: nowhere), and per name whether
        # it is a factory's: each call is then answered by look-ups.
        spelled = sorted(at for word in keywords for at in _offsets(self.src.data, word))
        factories: dict[str, bool] = {}
        for call in self.px.calls:
            # A handler matches a call by its name or a keyword argument (the file's gate, read
            # per call), an environment factory by a word in its name: most calls of a file match
            # none, and are not offered to each handler in turn.
            leaf = call.leaf
            if CALL_FILTER and leaf not in called:
                factory_like = factories.get(leaf)
                if factory_like is None:
                    factory_like = factories[leaf] = any(w in leaf.lower() for w in factory)
                start, end = call.span
                if not factory_like and not (spelled and bisect_left(spelled, start) < bisect_left(spelled, end)):
                    continue
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
            site.fact(FactKind.TIMEOUT, "timeout", timeout)
        handed = self.handed_to_agent(call)
        site.report(HOST_EXEC, site.location,
                    f"{what} on the host, as the operator, with the operator's files, network and environment; {fix}.",
                    replaces=(INLINE, "agent-inherits-environment", "agent-unbounded-session"),
                    confidence=confidence or (Confidence.HIGH if handed or agent not in _tool_list(self.cat, "tool_frameworks")
                                              else Confidence.MEDIUM),
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
        site.fact(FactKind.TIMEOUT, f"{tool} bounds each execution")
        self.emit(site)

    def undecided(self, call: Call, *, agent: str, name: str, launcher: str, needs: str, at: Node | None = None) -> None:
        site = self.site(call, agent, name, launcher)
        site.contain(Boundary.UNKNOWN, launcher)
        site.set_env(EnvMode.MINIMAL, "decided with the executor")
        site.fact(FactKind.TIMEOUT, "decided with the executor")
        site.unknown(needs, self.px.loc(at) if at is not None else None)
        self.emit(site)

    def handed_to_agent(self, call: Call) -> Location | None:
        """The call that gives this tool/executor to an agent, when the file shows one."""
        name = self.px.assigned_name(call.node)
        makers = _tool_list(self.cat, "agent_makers")
        for other in self.px.calls:
            if other.leaf not in makers or other.node.id == call.node.id:
                continue
            args = other.node.child_by_field_name("arguments")
            if args is None:
                continue
            if args.start_byte <= call.node.start_byte < args.end_byte:
                return self.px.loc(other.node)
            if name and _mentions(self.src.node_text(args), name):
                return self.px.loc(other.node)
        return None


def _mentions(text: str, name: str) -> bool:
    import re

    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text) is not None


# -- Claude Agent SDK ---------------------------------------------------------------------

def _claude(d: PythonDetector, call: Call) -> bool:
    fw = _fw(d.cat, "claude-agent-sdk")
    if not _of(call, fw, *_names(fw, "entry_points")):
        return False
    px = d.px
    options_node = px.option(call, "options", 0 if call.leaf == "ClaudeSDKClient" else None)
    site = d.site(call, "claude-code", "Claude Agent SDK", f"{call.root}.{call.leaf}")
    site.set_env(EnvMode.INHERITED, "the Python Agent SDK starts the claude CLI with the whole os.environ",
                 px.loc(options_node) if options_node is not None else None)
    timeout = px.enclosing_timeout(call.node)
    if timeout is not None:
        site.fact(FactKind.TIMEOUT, "timeout", timeout)
    opts: dict[str, Node] | None = {}
    if options_node is not None:
        opts = px.mapping(options_node)
    if opts is None:
        site.contain(Boundary.UNKNOWN, "Claude Agent SDK options")
        site.unknown(f"the Claude Agent SDK options `{px.text(options_node)}` (permission mode, sandbox)",
                     px.loc(options_node))
        d.emit(site)
        return True
    options = _claude_options(site, px, opts)
    _claude_callers(d, call, options_node, site)
    judge_session(site, options)
    d.emit(site)
    return True


_CALLER_FACTS = ("bypass-flag", "user-root")


def _claude_callers(d: PythonDetector, call: Call, options_node: Node | None, site: SiteBuilder) -> None:
    """The query runs inside a same-file helper whose parameters reach its options: each call of
    the helper is another form of the site. What a caller's arguments make worse (a bypass, no tool
    allow-list) is evidence at that caller, added to the site."""
    px = d.px
    fn = enclosing(call.node, "function_definition")
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
        scratch = SiteBuilder(catalog=site.catalog, agent=site.agent, agent_name=site.agent_name, surface=site.surface,
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


def _claude_options(site: SiteBuilder, px: PythonModule, opts: dict[str, Node]) -> ClaudeOptions:
    """Judge `ClaudeAgentOptions` fields by the rules every language shares (claude_options)."""
    options = ClaudeOptions(opts, px, site.catalog.claude_sdk_options("python"))
    judge_options(site, options)
    return options


# -- OpenAI Agents SDK --------------------------------------------------------------------

def _openai_agents(d: PythonDetector, call: Call) -> bool:
    px = d.px
    fw = _fw(d.cat, "openai-agents")
    if _of(call, fw, *_names(fw, "local_shell")):
        d.host_exec(call, agent="openai-agents", name=f"OpenAI Agents SDK {call.leaf}", launcher=call.leaf,
                    what=f"{call.leaf} runs the model's shell commands through the executor",
                    fix=_alternative(d.cat, "openai-agents-local-shell-tool"),
                    extra=lambda s: _needs_approval(s, px, call))
        return True
    if _of(call, fw, *_names(fw, "shell_tool")):
        spec = fw.get("shell_environment") or {}
        env = px.option(call, spec.get("option", ""))
        kind: object = spec.get("default")
        if env is not None:
            m = px.mapping(env)
            kind = px.const(m.get(spec.get("key"))) if m is not None and spec.get("key") in m else UNSET
        contained = spec.get("contained") or {}
        if isinstance(kind, str) and kind in contained:
            d.contained(call, agent="openai-agents", name=f"OpenAI Agents SDK {call.leaf}", launcher=call.leaf,
                        boundary=Boundary(contained[kind]), tool=f"hosted {kind} shell")
        elif isinstance(kind, str) and kind in (spec.get("host") or ()):
            d.host_exec(call, agent="openai-agents", name=f"OpenAI Agents SDK {call.leaf}", launcher=call.leaf,
                        what=f"{call.leaf} with a local environment runs the model's shell commands through its executor",
                        fix=_alternative(d.cat, "openai-agents-shell-tool-local"),
                        extra=lambda s: _needs_approval(s, px, call))
        else:
            d.undecided(call, agent="openai-agents", name=f"OpenAI Agents SDK {call.leaf}", launcher=call.leaf,
                        needs=f"the {call.leaf} environment `{px.text(env)}` (local runs on the host)", at=env)
        return True
    if _of(call, fw, *_names(fw, "local_sandbox")):
        d.host_exec(call, agent="openai-agents", name="OpenAI Agents SDK SandboxAgent", launcher=call.leaf,
                    what=f"{call.leaf} is not a sandbox: the SandboxAgent's commands run on the local filesystem",
                    fix=_alternative(d.cat, "openai-agents-unix-local-sandbox"))
        return True
    clients = fw.get("sandbox_clients") or {}
    if _of(call, fw, *clients):
        d.contained(call, agent="openai-agents", name="OpenAI Agents SDK SandboxAgent", launcher=call.leaf,
                    boundary=Boundary(clients[call.leaf]), tool=call.leaf)
        return True
    return False


def _needs_approval(site: SiteBuilder, px: PythonModule, call: Call) -> None:
    option = str(_fw(site.catalog, "openai-agents").get("approval_option") or "")
    node = px.option(call, option)
    value = px.const(node) if node is not None else False
    if value is False:
        site.fact(FactKind.BYPASS_DEFAULT if node is None else "bypass-flag",
                  f"{option} is off (the default)" if node is None else f"{option}=False",
                  px.loc(node) if node is not None else None)


# -- LangChain / LangGraph ---------------------------------------------------------------

def _langchain(d: PythonDetector, call: Call) -> bool:
    px = d.px
    fw = _fw(d.cat, "langchain")
    if _of(call, fw, *_names(fw, "shell_tools")):
        d.host_exec(call, agent="langchain", name="LangChain ShellTool", launcher=call.leaf,
                    what=f"{call.leaf} runs the model's shell commands",
                    fix=_alternative(d.cat, "langchain-shell-tool"))
        return True
    if _of(call, fw, *_names(fw, "python_repls")):
        d.host_exec(call, agent="langchain", name=f"LangChain {call.leaf}", launcher=call.leaf,
                    what=f"{call.leaf} executes model-written Python in the operator's process",
                    fix=_alternative(d.cat, "langchain-python-repl"))
        return True
    if _of(call, fw, *_names(fw, "shell_middleware")):
        spec = fw.get("execution_policy") or {}
        contained = spec.get("contained") or {}
        policy = px.option(call, spec.get("option", ""))
        target = px.call_at(policy) if policy is not None else None
        if policy is None or (target is not None and target.leaf in (spec.get("host") or ())):
            d.host_exec(call, agent="langchain", name=f"LangChain {call.leaf}", launcher=call.leaf,
                        what=f"{call.leaf} with the host execution policy (the default) runs the model's shell commands",
                        fix=_alternative(d.cat, "langchain-shell-middleware-host"),
                        confidence=Confidence.HIGH)
        elif target is not None and target.leaf in contained:
            net = px.const(px.option(target, spec.get("network_option", "")))
            d.contained(call, agent="langchain", name=f"LangChain {call.leaf}", launcher=call.leaf,
                        boundary=Boundary(contained[target.leaf]), tool=target.leaf,
                        egress=Egress.OPEN if net is True else Egress.NONE)
        else:
            d.undecided(call, agent="langchain", name=f"LangChain {call.leaf}", launcher=call.leaf,
                        needs=f"the execution policy `{px.text(policy)}`", at=policy)
        return True
    spec = fw.get("load_tools") or {}
    if _of(call, fw, *(spec.get("calls") or ())):
        names = px.strings(px.option(call, spec.get("option", ""), 0)) or []
        risky = [n for n in names if n in (spec.get("host") or ())]
        if risky:
            shell = any(n in (spec.get("shell") or ()) for n in risky)
            d.host_exec(call, agent="langchain", name=f"LangChain {call.leaf}", launcher=call.leaf,
                        what=f"{call.leaf}({risky}) gives the agent a host {'shell' if shell else 'Python REPL'}",
                        fix=_alternative(d.cat, "langchain-load-tools"), confidence=Confidence.HIGH)
            return True
    return False


# -- AutoGen ------------------------------------------------------------------------------

def _autogen(d: PythonDetector, call: Call) -> bool:
    px = d.px
    fw = _fw(d.cat, "autogen")
    if _of(call, fw, *_names(fw, "host_executors")):
        timeout = px.option(call, str(fw.get("timeout_option") or ""))
        d.host_exec(call, agent="autogen", name=f"AutoGen {call.leaf}", launcher=call.leaf,
                    what=f"{call.leaf} runs model-written code",
                    fix=_alternative(d.cat, "autogen-local-executor"),
                    timeout=px.loc(timeout) if timeout is not None else px.loc(call.node))
        return True
    contained = fw.get("contained_executors") or {}
    if _of(call, fw, *contained):
        d.contained(call, agent="autogen", name=f"AutoGen {call.leaf}", launcher=call.leaf,
                    boundary=Boundary(contained[call.leaf]), tool=call.leaf)
        return True
    fallback = fw.get("host_fallback") or {}
    if _of(call, fw, *(fallback.get("classes") or ())):
        executor = px.option(call, fallback.get("option", ""))
        if executor is None:
            d.undecided(call, agent="autogen", name=f"AutoGen {call.leaf}", launcher=call.leaf,
                        needs=f"whether Docker is available where {call.leaf} runs: without a {fallback.get('option')} it "
                              "falls back to executing code on the host")
            return True
        return False
    cfg_spec = fw.get("code_execution_config") or {}
    option = str(cfg_spec.get("option") or "")
    if option and call.has_keyword(d.src.data, option) and (
            call.root in (cfg_spec.get("config_roots") or ()) or call.leaf in (cfg_spec.get("agents") or ())):
        node = call.keywords[option]
        if px.const(node) is False:
            return True
        cfg = px.mapping(node)
        name = f"AutoGen {call.leaf}"
        docker = str(cfg_spec.get("docker_option") or "")
        if cfg is None:
            d.undecided(call, agent="autogen", name=name, launcher=option,
                        needs=f"the {option} `{px.text(node)}` ({docker})", at=node)
            return True
        executor = cfg.get(str(cfg_spec.get("executor_key") or ""))
        if executor is not None:
            ex_call = px.call_at(executor)
            value = px.const(executor)
            if value in (cfg_spec.get("host_executors") or ()) or (
                    ex_call is not None and ex_call.leaf in _names(fw, "host_executors")):
                d.host_exec(call, agent="autogen", name=name, launcher=option,
                            what=f"the agent's {option} runs model-written code with a local executor",
                            fix=_alternative(d.cat, "autogen-commandline-local"),
                            extra=lambda site: _human_input(site, px, call))
            return True
        use_docker = cfg.get(docker)
        value = px.const(use_docker) if use_docker is not None else UNSET
        if use_docker is None:
            env_off = _autogen_env_off(d.cat, px)
            if env_off is not None:
                d.host_exec(call, agent="autogen", name=name, launcher=option,
                            what=f"{cfg_spec.get('docker_env')} is turned off in this file, so {option} runs model-written code",
                            fix=_alternative(d.cat, "autogen-use-docker-env"),
                            extra=lambda site: _human_input(site, px, call))
            return True
        if value is False or value in (cfg_spec.get("docker_off") or ()):
            d.host_exec(call, agent="autogen", name=name, launcher=option,
                        what=f"{option} with {docker} False runs model-written code",
                        fix=_alternative(d.cat, "autogen-use-docker-false"),
                        extra=lambda site: _human_input(site, px, call))
        elif value is UNSET:
            d.undecided(call, agent="autogen", name=name, launcher=option,
                        needs=f"the value of {docker} `{px.text(use_docker)}`", at=use_docker)
        return True
    return False


def _human_input(site: SiteBuilder, px: PythonModule, call: Call) -> None:
    """human_input_mode="NEVER": nobody is asked before the model's code runs."""
    spec = _fw(site.catalog, "autogen").get("unattended") or {}
    node = call.keywords.get(spec.get("option", ""))
    value = px.const(node) if node is not None else None
    if node is not None and value in (spec.get("values") or ()):
        site.fact(FactKind.BYPASS_FLAG, f'{spec["option"]}="{value}"', px.loc(node))


def _autogen_env_off(cat: Catalog, px: PythonModule) -> Node | None:
    spec = _fw(cat, "autogen").get("code_execution_config") or {}
    for name in ("os.environ",):
        for _, key, value, node in px.key_sets.get(name, ()):
            if key == spec.get("docker_env") and str(px.const(value)).lower() in (spec.get("env_off") or ()):
                return node
    return None


# -- CrewAI -------------------------------------------------------------------------------


def _crewai(d: PythonDetector, call: Call) -> bool:
    px = d.px
    fw = _fw(d.cat, "crewai")
    if call.root not in (fw.get("roots") or ()):
        return False
    tool = fw.get("code_interpreter") or {}
    if call.leaf in (tool.get("classes") or ()):
        unsafe = px.option(call, tool.get("unsafe_option", ""))
        if unsafe is not None and px.const(unsafe) is True:
            d.host_exec(call, agent="crewai", name=f"CrewAI {call.leaf}", launcher=call.leaf,
                        what=f"{call.leaf}({tool['unsafe_option']}=True) runs model-written code",
                        fix=_alternative(d.cat, "crewai-code-interpreter-unsafe"))
            return True
        return False
    spec = fw.get("agent_code_execution") or {}
    switch = str(spec.get("switch") or "")
    if call.leaf in (spec.get("classes") or ()) and switch in call.keywords:
        if px.const(call.keywords[switch]) is not True:
            return False
        mode = px.option(call, spec.get("option", ""))
        value = px.const(mode) if mode is not None else spec.get("default")
        contained = spec.get("contained") or {}
        if isinstance(value, str) and value in (spec.get("host") or ()):
            d.host_exec(call, agent="crewai", name=f"CrewAI {call.leaf}", launcher=switch,
                        what=f"an agent with {spec['option']}=\"{value}\" runs model-written code",
                        fix=_alternative(d.cat, "crewai-unsafe-code-execution"))
        elif isinstance(value, str) and value in contained:
            d.contained(call, agent="crewai", name=f"CrewAI {call.leaf}", launcher=switch,
                        boundary=Boundary(contained[value]), tool=f"CrewAI {value} code execution (Docker)")
        else:
            d.undecided(call, agent="crewai", name=f"CrewAI {call.leaf}", launcher=switch,
                        needs=f"the code execution mode `{px.text(mode)}`", at=mode)
        return True
    return False


# -- smolagents ---------------------------------------------------------------------------


def _smolagents(d: PythonDetector, call: Call) -> bool:
    px = d.px
    fw = _fw(d.cat, "smolagents")
    if call.root not in (fw.get("roots") or ()):
        return False
    if call.leaf in _names(fw, "host_executors"):
        d.host_exec(call, agent="smolagents", name=f"smolagents {call.leaf}", launcher=call.leaf,
                    what=f"{call.leaf} evaluates model-written Python in the operator's process",
                    fix=_alternative(d.cat, "smolagents-local-executor"),
                    extra=lambda s: _star_imports(s, px, call))
        return True
    spec = fw.get("code_agent") or {}
    if call.leaf not in (spec.get("classes") or ()):
        return False
    option = str(spec.get("option") or "")
    node = px.option(call, option)
    value = px.const(node) if node is not None else spec.get("default")
    legacy = call.keywords.get(str(spec.get("legacy_option") or ""))  # the spelling before executor_type
    if node is None and legacy is not None:
        flag = px.const(legacy)
        node, value = legacy, (spec.get("legacy_on") if flag is True else spec.get("default") if flag in (False, None) else UNSET)
    contained = spec.get("contained") or {}
    if isinstance(value, str) and value in (spec.get("host") or ()):
        d.host_exec(call, agent="smolagents", name=f"smolagents {call.leaf}", launcher=call.leaf,
                    what=(f"{call.leaf} without {option}" if node is None else
                          f"{call.leaf} with " + (px.text(node.parent) if node is legacy else f'{option}="{value}"'))
                    + " evaluates model-written Python in the operator's process",
                    fix=_alternative(d.cat, "smolagents-executor-type-local"),
                    extra=lambda s: _star_imports(s, px, call))
    elif isinstance(value, str) and value in contained:
        d.contained(call, agent="smolagents", name=f"smolagents {call.leaf}", launcher=call.leaf,
                    boundary=Boundary(contained[value]), tool=f"{option}={value}")
    else:
        d.undecided(call, agent="smolagents", name=f"smolagents {call.leaf}", launcher=call.leaf,
                    needs=f"the executor type `{px.text(node)}` (local runs on the host)", at=node)
    return True


def _star_imports(site: SiteBuilder, px: PythonModule, call: Call) -> None:
    option = str((_fw(site.catalog, "smolagents").get("code_agent") or {}).get("imports_option") or "")
    node = px.option(call, option)
    names = px.strings(node) if node is not None else None
    if names and "*" in names:
        site.fact(FactKind.BYPASS_FLAG, f"{option}=[\"*\"]", px.loc(node))


# -- Others -------------------------------------------------------------------------------

_PROFILE_HINTS = ("google-chrome", "google/chrome", "chrome/user data", "chromium", "application support/google",
                  "microsoft edge", "bravesoftware", "mozilla", "firefox", "user data")


def _others(d: PythonDetector, call: Call) -> bool:
    px = d.px
    for name in _host_site_frameworks(d.cat):
        fw = _fw(d.cat, name)
        site = fw["host_site"]
        if _of(call, fw, *_names(fw, "host")):
            d.host_exec(call, agent=site["agent"], name=site["name"].format(leaf=call.leaf), launcher=call.leaf,
                        what=f"{call.leaf} {site['runs']}", fix=_alternative(d.cat, site["alternative"]))
            return True
    fw = _fw(d.cat, "openhands")
    runtime = fw.get("runtime") or {}
    if call.root in _names(fw, "roots") and (call.leaf in _names(fw, "host") or
                                            px.const(call.keywords.get(runtime.get("option", ""))) in (runtime.get("host") or ())):
        d.host_exec(call, agent="openhands", name="OpenHands", launcher=call.leaf,
                    what="the OpenHands local/cli runtime runs the agent's commands",
                    fix=_alternative(d.cat, "openhands-local-runtime"), confidence=Confidence.HIGH)
        return True
    fw = _fw(d.cat, "browser-use")
    if _of(call, fw, *_names(fw, "browsers")):
        _browser_use(d, call)
        return True
    fw = _fw(d.cat, "mcp-stdio")
    if _of(call, fw, *_names(fw, "classes")):
        _mcp_stdio(d, call)
        return True
    return False


@lru_cache(maxsize=1)
def _host_site_frameworks(cat: Catalog) -> tuple[str, ...]:
    """Frameworks whose host classes make a site by their rules data alone (`host_site`)."""
    frameworks = cat.frameworks.section("frameworks")
    return tuple(name for name, fw in frameworks.items() if isinstance(fw, dict) and fw.get("host_site"))


def _browser_use(d: PythonDetector, call: Call) -> None:
    px = d.px
    profile = call.keywords.get("user_data_dir")
    cdp = call.keywords.get("cdp_url") or call.keywords.get("wss_url")
    reason = None
    at = None
    if profile is not None:
        value = px.const(profile)
        w = px.word(profile)
        text = (value if isinstance(value, str) else w.text).lower()
        if any(h in text.replace("\\", "/") for h in _PROFILE_HINTS):
            reason, at = f"the operator's real browser profile `{text}`", profile
    if cdp is not None and reason is None:
        value = px.const(cdp)
        text = value if isinstance(value, str) else px.word(cdp).text
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
    words = [px.word(command)]
    if args is not None:
        more = px.words(args)
        words.extend(more if more is not None else [px.dynamic_word(args)])
    env_info = _mcp_env(px, env, call)
    if env is not None and env_info.mode is EnvMode.INHERITED:
        # Anchor at the argument that forwards it; the mapping may be built lines above.
        env_info = EnvInfo(env_info.mode, px.loc(env), env_info.detail, env_info.names)
    d.out.append(LaunchFound(surface="python", launcher=f"MCP stdio server ({call.leaf})", location=px.loc(call.node),
                             env=env_info, words=tuple(words)))
    if env_info.mode is EnvMode.INHERITED and not _wrapped(d.cat, words):
        _mcp_env_site(d, call, words, env_info)


def _mcp_env(px: PythonModule, env: Node | None, call: Call) -> EnvInfo:
    if env is None or px.const(env) is None:
        return EnvInfo(EnvMode.MINIMAL, px.loc(call.node), "the MCP SDK's default allow-list (HOME, PATH, USER, ...)")
    return px.env_info(env, call.node, call.leaf)


def _wrapped(cat: Catalog, words: list[Word]) -> bool:
    """The server starts behind a wrapper (rules/containment.yaml: engines, OS sandboxes, microVMs)."""
    return bool(words) and not words[0].dynamic and cat.sandbox_wrapper([w.text for w in words]) is not None


def _mcp_env_site(d, call_loc_node, words: list[Word], env_info: EnvInfo, surface: str = "python") -> None:
    loc = d.px.loc(call_loc_node.node) if hasattr(call_loc_node, "node") else call_loc_node
    command = " ".join(w.text for w in words)
    site = SiteBuilder(catalog=d.cat, agent="mcp-server", agent_name=f"MCP server `{command[:60]}`", surface=surface,
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
    fw = _fw(d.cat, "open-interpreter")
    if not _of(call, fw, *_names(fw, "calls")):
        return False
    fn = call.node.child_by_field_name("function")
    obj = fn.child_by_field_name("object") if fn is not None and fn.type == "attribute" else None
    if obj is None:
        return False
    site = d.site(call, "open-interpreter", "Open Interpreter", "interpreter.chat")
    site.set_env(EnvMode.INHERITED, "Open Interpreter runs code in the operator's process environment")
    obj_text = px.src.node_text(obj)
    sets = [s for s in px.attr_sets.get(obj_text, ()) if s[0] < call.node.start_byte] or px.attr_sets.get(obj_text, [])
    switch = str(fw.get("auto_run") or "")
    auto = [s for s in sets if s[1] == switch]
    ctor = px.call_at(obj)
    value_node = auto[-1][2] if auto else (ctor.keywords.get(switch) if ctor is not None else None)
    if value_node is not None:
        value = px.const(value_node)
        if value is True:
            site.fact(FactKind.BYPASS_FLAG, f"{switch} = True", px.loc(value_node))
        elif value is UNSET:
            site.unknown(f"whether auto_run `{px.text(value_node)}` is on", px.loc(value_node))
    d.emit(site)
    return True


def _local_factory(d: PythonDetector, call: Call) -> bool:
    """`get_environment(cfg, default_type="local")`: an agent's execution environment picked by
    name, and the name is the host's."""
    px = d.px
    words = _tool_list(d.cat, "factory_words")
    leaf = call.leaf.lower()
    if not any(w in leaf for w in words) or not _factory_name(d.cat).fullmatch(leaf):
        return False
    keys = set(_tool_list(d.cat, "factory_keywords"))
    hosts = set(_tool_list(d.cat, "host_values"))
    for key, node in call.keywords.items():
        if key in keys and px.const(node) in hosts:
            d.host_exec(call, agent="agent-environment", name=f"agent environment from {call.leaf}()", launcher=call.leaf,
                        what=f"{call.leaf}() with {key}=\"{px.const(node)}\" picks the host environment, so the agent's "
                             "commands run",
                        fix=_alternative(d.cat, "agent-local-environment-factory"), confidence=Confidence.MEDIUM)
            return True
    return False


@lru_cache(maxsize=4)
def _factory_name(cat: Catalog) -> re.Pattern[str]:
    prefixes = "|".join(re.escape(p) for p in _tool_list(cat, "factory_prefixes"))
    return re.compile(rf"(?:{prefixes})_?[a-z_]*")


_HANDLERS = (_claude, _openai_agents, _langchain, _autogen, _crewai, _smolagents, _oi, _others, _local_factory)


# ---------------------------------------------------------------------------------------
# Agent tools that run host commands: a framework tool class, a `@tool` function or a function
# handed to an agent (`tools=[...]`, `function_map`, `register_function`) whose body runs the
# model's input as a shell command, a program or Python. The execution line is the site; the
# registration is related evidence.


@lru_cache(maxsize=64)
def _tool_list(cat: Catalog, key: str) -> tuple[str, ...]:
    """rules/frameworks.yaml `agent_tools`: one list of what makes a function an agent's tool."""
    return tuple(str(v) for v in cat.frameworks.section("agent_tools").get(key) or ())


_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "/bin/sh", "/bin/bash", "/usr/bin/bash", "/usr/bin/env",
           "powershell", "pwsh", "cmd", "cmd.exe"}
# Literal text after which an interpolated value is in command position.
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
        px, cat = self.px, self.d.cat
        out: list[_Entry] = []
        roots = set(_tool_list(cat, "roots"))
        bases = set(_tool_list(cat, "bases"))
        run_methods = set(_tool_list(cat, "run_methods"))
        suffixes = _tool_list(cat, "executor_suffixes")
        exec_methods = set(_tool_list(cat, "executor_methods"))
        registered = self._registered()
        for cls in px.classes:
            name_node = cls.child_by_field_name("name")
            cname = px.src.node_text(name_node) if name_node is not None else ""
            supers = cls.child_by_field_name("superclasses")
            tool_base = None
            for base in supers.named_children if supers is not None else ():
                if base.type not in ("identifier", "attribute"):
                    continue
                qual = px.qualified(base)
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
        decorators = set(_tool_list(cat, "decorators"))
        for fn_list in px.functions.values():
            for fn in fn_list:
                if enclosing(fn, "class_definition") is not None and fn.parent is not None and fn.parent.type != "decorated_definition":
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
        roots = set(_tool_list(self.d.cat, "roots")) | set(_tool_list(self.d.cat, "llm_sdks"))
        for target in self.px.aliases.values():
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
        keywords = set(_tool_list(self.d.cat, "registration_keywords"))
        calls = set(_tool_list(self.d.cat, "registration_calls"))
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
        if name in _tool_list(self.d.cat, "code_eval") and call.positional and _uses(px, call.positional[0], tainted):
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
        items = [a for a in px.assigns.get((fn.id, px.src.node_text(node)), []) if a.start < node.start_byte]
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
            items = px.assigns.get((fn.id, px.src.node_text(node)), [])
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
        found = command_comes_from(value, PY_STRINGS, lambda n: _uses(px, n, tainted), px.const, px.src.node_text,
                                   lambda n: self._command(n, tainted, fn, depth + 1))
        if found is not None:
            return found
        if value.type == "call":
            fnode = value.child_by_field_name("function")
            if fnode is not None and fnode.type == "attribute":
                obj = fnode.child_by_field_name("object")
                attr = px.src.node_text(fnode.child_by_field_name("attribute"))
                if attr == "format" and obj is not None and obj.type == "string":
                    template = px.string_value(obj) or ""
                    args = value.child_by_field_name("arguments")
                    return bool(args is not None and _uses(px, args, tainted) and
                                COMMAND_POSITION.search(template.split("{", 1)[0]))
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
        site = SiteBuilder(catalog=d.cat, agent="agent-tool", agent_name=entry.label, surface="python",
                           launcher=call.name, location=px.loc(call.node), command=px.text(call.node))
        spec = self.table.get(call.name) or {}
        env_node = call.keywords.get(spec["env_kw"]) if "env_kw" in spec else None
        if env_node is None and "env_pos" in spec and spec["env_pos"] < len(call.positional):
            env_node = call.positional[spec["env_pos"]]
        replaces = [INLINE, "agent-unbounded-session"]
        if env_node is not None and env_node.type == "identifier" and px.src.node_text(env_node) in bound:
            env_node = bound[px.src.node_text(env_node)]
        if env_node is not None:
            env = px.env_info(env_node, call.node, call.name)
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
            site.fact(FactKind.TIMEOUT, "timeout", px.loc(timeout))
        fix = _alternative(d.cat, "agent-tool-host-command")
        site.report(HOST_EXEC, site.location,
                    f"The {entry.label} runs {what} on the host, as the operator, with the operator's files, network "
                    f"and environment: the model (and any prompt injection it reads) chooses what runs; {fix}.",
                    replaces=tuple(replaces), confidence=entry.confidence, related=(entry.related.with_label("where the tool is registered"),))
        d.emit(site)


def _methods(cls: Node) -> list[Node]:
    body = cls.child_by_field_name("body")
    out = []
    for child in body.named_children if body is not None else ():
        if child.type == "decorated_definition":
            child = child.child_by_field_name("definition") or child
        if child.type == "function_definition":
            out.append(child)
    return out


def _name(px: PythonModule, fn: Node) -> str:
    node = fn.child_by_field_name("name")
    return px.src.node_text(node) if node is not None else ""


def _tool_decorator(px: PythonModule, fn: Node, names: set[str]) -> Location | None:
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


def _uses(px: PythonModule, node: Node, names: set[str] | frozenset[str]) -> bool:
    """Whether an expression reads one of `names` (attribute names and keywords do not count)."""
    return reads_any(node, names, px.src.node_text, PY_READS)


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
    kwargs: str = ""  # its `**kwargs` parameter, if it has one


def _wrappers(d: PythonDetector) -> dict[str, list[_Wrapper]]:
    px = d.px
    table = launch_tables()["python"]
    out: dict[str, list[_Wrapper]] = {}
    # Launch calls by the function whose body holds them: one pass, not functions x calls.
    by_scope: dict[int, list[Call]] = {}
    for call in px.calls:
        if call.name in table:
            by_scope.setdefault(px.scope_of(call.node).id, []).append(call)
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
            kwargs = next((px.src.node_text(p.named_children[0]) for p in params_node.named_children
                           if p.type == "dictionary_splat_pattern" and p.named_children), "")
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
                out.setdefault(name, []).append(_Wrapper(fn, params, is_method, call.name, spec, call, template, shell, kwargs))
    return out


def _uses_param(px: PythonModule, node: Node, params: list[str]) -> bool:
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
    keywords, unread = mod.launch_keywords(inner)
    if unread is not None and unread.named_children and px.src.node_text(unread.named_children[0]) == helper.kwargs:
        # The helper hands its own `**kwargs` on: the keywords this call passes beyond the parameters.
        extra, unread = mod.launch_keywords(call)
        for key, value in extra.items():
            if key not in helper.params:
                keywords.setdefault(key, value)
    fname = px.src.node_text(helper.fn.child_by_field_name("name"))
    env_node = keywords.get(helper.spec.get("env_kw", "")) if "env_kw" in helper.spec else None
    if env_node is not None and env_node.type == "identifier" and px.src.node_text(env_node) in bound:
        env = mod.env_info(bound[px.src.node_text(env_node)], call.node, f"{helper.launcher} (via {fname})")
    else:
        env = mod.env_info(env_node, inner.node, helper.launcher, unread=unread if "env_kw" in helper.spec else None)
    timeout = None
    unseen: tuple[Fact, ...] = ()
    tkw = helper.spec.get("timeout_kw")
    if tkw and tkw in keywords and keywords[tkw].type != "none":
        tnode = keywords[tkw]
        if not (tnode.type == "identifier" and px.src.node_text(tnode) in helper.params and px.src.node_text(tnode) not in bound
                and px.param_default(px.src.node_text(tnode), tnode) is None):
            timeout = px.loc(tnode)
    elif tkw and tkw not in keywords and unread is not None:
        unseen = (timeout_unread(px.src.node_text(unread), px.loc(unread)),)
    launcher = f"{helper.launcher} (via {fname}())"
    loc = px.loc(call.node)
    if helper.shell:
        if len(anchored) != 1:
            return None
        return LaunchFound(surface="python", launcher=launcher, location=loc, env=env, shell=anchored[0], timeout=timeout,
                           facts=unseen)
    return LaunchFound(surface="python", launcher=launcher, location=loc, env=env, words=anchored, timeout=timeout, facts=unseen)


def detect_python(analysis: Analysis) -> Iterator:
    return PythonDetector(analysis).run()

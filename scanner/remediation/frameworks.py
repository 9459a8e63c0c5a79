"""Rewrites of in-process agent SDK and framework launches, to the framework's own safe option:

- Claude Agent SDK (Python `ClaudeAgentOptions`/`ClaudeCodeOptions`, TypeScript `query({ options })`):
  a bypass `permission_mode`/`permissionMode` back to "default" (a choice between a bypass and
  "default" on a plain condition becomes "default"), `Bash` out of the allowed tools,
  the SDK's own sandbox on (`sandbox={"enabled": True, ...}`), and (TypeScript) `env` by name;
- smolagents `CodeAgent`/`ToolCallingAgent`: `executor_type="docker"` instead of the local one;
- AutoGen 0.2 `code_execution_config`: `"use_docker": True`;
- AutoGen `LocalCommandLineCodeExecutor(...)`: `DockerCommandLineCodeExecutor(...)` with the same
  arguments, started where AutoGen 0.4+ needs it started (see `_autogen_executors`);
- CrewAI `code_execution_mode="safe"`, `CodeInterpreterTool(unsafe_mode=False)`;
- Open Interpreter `auto_run = False`;
- MCP stdio clients: the operator's environment no longer spread into the server's `env`.

Each edit replaces one syntax node's source range (found with libcst positions or tree-sitter), so
the rest of the file is untouched; the caller parses the result again before writing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from scanner.remediation.configs import Manual

__all__ = ["rewrite_python_framework", "rewrite_ts_framework", "PY_SANDBOX", "TS_SANDBOX", "manual_snippet"]

_BYPASS_MODES = {"bypassPermissions", "dontAsk", "acceptEdits", "auto"}
_SHELL_TOOLS = {"Bash", "Bash(*)", "Bash(**)"}
PY_SANDBOX = '{"enabled": True, "allowUnsandboxedCommands": False}'
TS_SANDBOX = "{ enabled: true, allowUnsandboxedCommands: false }"
_OPTION_CLASSES = {"ClaudeAgentOptions", "ClaudeCodeOptions"}
_SMOL_AGENTS = {"CodeAgent", "ToolCallingAgent", "MultiStepAgent"}
_AUTOGEN_AGENTS = {"UserProxyAgent", "AssistantAgent", "ConversableAgent", "GroupChatManager"}
_CREW_AGENT = "Agent"
_CREW_INTERPRETER = "CodeInterpreterTool"
_MCP_CLIENTS = {"StdioServerParameters", "StdioServerParams", "MCPServerStdio"}
_OI_SWITCH = "auto_run"

Edit = tuple[int, int, str]


def _py_positions(text: str) -> tuple[Any, Any, list[int], Any]:
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from scanner.remediation.syntax import too_deep as _too_deep

    if _too_deep(text):
        raise Manual("the file nests too deeply to rewrite safely")
    try:
        wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)  # just parsed: nothing else holds it
        positions = wrapper.resolve(PositionProvider)
    except Exception as exc:  # noqa: BLE001 - libcst.ParserSyntaxError
        raise Manual(f"the file does not parse ({str(exc).splitlines()[0][:80] if str(exc) else 'syntax'})") from None
    starts = [0]
    for line in text.split("\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    return wrapper.module, positions, starts, wrapper


def _span(positions: Any, starts: list[int], node: Any) -> tuple[int, int]:
    pos = positions[node]
    return starts[pos.start.line - 1] + pos.start.column, starts[pos.end.line - 1] + pos.end.column


def _name(func: Any) -> str:
    import libcst as cst

    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


def string_value(node: Any) -> str | None:
    """The value of a libcst string literal, or None for anything else."""
    import libcst as cst

    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001
            return None
        return value if isinstance(value, str) else None
    return None


def _quote_like(node: Any, value: str) -> str:
    """`value` as a string literal in the quotes `node` uses."""
    raw = node.value
    prefix = raw[: len(raw) - len(raw.lstrip("rbuRBUfF"))]
    quote = raw[len(prefix)]
    return f"{quote}{value}{quote}"


def _remove_list_item(text: str, lst: Any, index: int, positions: Any, starts: list[int]) -> Edit:
    elements = list(lst.elements)
    start, end = _span(positions, starts, elements[index].value)
    if index + 1 < len(elements):
        nxt, _ = _span(positions, starts, elements[index + 1].value)
        return (start, nxt, "")
    if index > 0:
        _, prev_end = _span(positions, starts, elements[index - 1].value)
        return (prev_end, end, "")
    return (start, end, "")


def _edits_nothing(text: str) -> bool:
    """Whether the file names none of the calls and attributes the rewrite below edits for a
    launcher other than the Agent SDK's (the SDK's options may be edited by value alone)."""
    names = sorted({*_SMOL_AGENTS, _AG_LOCAL, *_AUTOGEN_AGENTS, _CREW_AGENT, _CREW_INTERPRETER, *_MCP_CLIENTS, _OI_SWITCH})
    return re.search(r"(?<![\w])(?:" + "|".join(names) + r")(?![\w])", text, re.ASCII) is None


def rewrite_python_framework(text: str, site_launcher: str, finding_lines: Iterable[int],
                             model_keys: Iterable[str] = (), *, preview: bool = False) -> tuple[str, list[str]]:
    """The framework's own safe option, set where the scan found the hazard (see the module doc).
    With `preview` (the report's FIX section, which shows edits and not why there is none), a
    file with nothing to edit is not parsed."""
    claude = site_launcher.startswith(("claude_agent_sdk", "claude_code_sdk")) or site_launcher in _OPTION_CLASSES
    if preview and not claude and _edits_nothing(text):
        raise Manual(f"{site_launcher} has no option blastwall can switch to a safe value here")
    import libcst as cst

    module, positions, starts, wrapper = _py_positions(text)
    lines = set(finding_lines)
    edits: list[Edit] = []
    notes: list[str] = []
    sandbox_added = False
    ag_calls: list[Any] = []
    for node in positions:
        pos = positions[node]
        on_finding = any(pos.start.line <= line <= pos.end.line for line in lines)
        if isinstance(node, cst.SimpleString) and claude and string_value(node) in _BYPASS_MODES and pos.start.line in lines:
            ternary = _py_settled_ternary(wrapper, node)
            target = ternary if ternary is not None else node
            edits.append((*_span(positions, starts, target), _quote_like(node, "default")))
            notes.append(f'permission mode "{string_value(node)}" set back to "default"')
        elif isinstance(node, cst.Arg) and node.keyword is not None and claude and on_finding \
                and node.keyword.value == "allowed_tools" and isinstance(node.value, cst.List):
            edits.extend(_drop_bash(text, node.value, positions, starts, notes))
        elif isinstance(node, cst.DictElement) and claude and on_finding and string_value(node.key) == "allowed_tools" \
                and isinstance(node.value, cst.List):
            edits.extend(_drop_bash(text, node.value, positions, starts, notes))
        elif isinstance(node, cst.Call):
            name = _name(node.func)
            keywords = {a.keyword.value: a for a in node.args if a.keyword is not None}
            if claude and name in _OPTION_CLASSES and "sandbox" not in keywords and not any(a.star == "**" and
                                                                                            _dict_has(a.value, "sandbox")
                                                                                            for a in node.args):
                edits.append(_add_kwarg(node, "sandbox", PY_SANDBOX, positions, starts, text))
                sandbox_added = True
            elif name in _SMOL_AGENTS and (site_launcher in _SMOL_AGENTS or on_finding):
                edits.extend(_smol(node, keywords, positions, starts, text, notes))
            elif name == _AG_LOCAL and on_finding:
                ag_calls.append(node)
            elif name in _AUTOGEN_AGENTS and on_finding and "code_execution_config" in keywords:
                edits.extend(_autogen(keywords["code_execution_config"].value, positions, starts, notes))
            elif name == _CREW_AGENT and on_finding and "code_execution_mode" in keywords:
                value = keywords["code_execution_mode"].value
                if string_value(value) in ("unsafe", "unrestricted"):
                    edits.append((*_span(positions, starts, value), _quote_like(value, "safe")))
                    notes.append('CrewAI code_execution_mode="safe" (Docker)')
            elif name == _CREW_AGENT and on_finding and "allow_code_execution" in keywords \
                    and "code_execution_mode" not in keywords:
                edits.append(_add_kwarg(node, "code_execution_mode", '"safe"', positions, starts, text))
                notes.append('CrewAI code_execution_mode="safe" (Docker)')
            elif name == _CREW_INTERPRETER and on_finding and "unsafe_mode" in keywords:
                value = keywords["unsafe_mode"].value
                if isinstance(value, cst.Name) and value.value == "True":
                    edits.append((*_span(positions, starts, value), "False"))
                    notes.append("CodeInterpreterTool runs code in Docker (unsafe_mode=False)")
            elif name in _MCP_CLIENTS and on_finding:
                edits.extend(_mcp_env(node, keywords, positions, starts, notes))
        elif isinstance(node, cst.Assign) and on_finding and len(node.targets) == 1 \
                and isinstance(node.targets[0].target, cst.Attribute) \
                and node.targets[0].target.attr.value == _OI_SWITCH \
                and isinstance(node.value, cst.Name) and node.value.value == "True":
            edits.append((*_span(positions, starts, node.value), "False"))
            notes.append("Open Interpreter asks before running code (auto_run = False)")
    if sandbox_added:
        notes.append("the Agent SDK's own sandbox is on (sandbox enabled, no unsandboxed commands)")
    if ag_calls:
        more, reason = _autogen_executors(text, ag_calls, wrapper, positions, starts, notes)
        edits.extend(more)
        if not edits:
            raise Manual(reason)
    if claude and not sandbox_added and not any(isinstance(n, cst.Call) and _name(n.func) in _OPTION_CLASSES
                                                for n in positions):
        raise Manual("the session's options are built in another module: set permission_mode='default' and "
                     "sandbox={'enabled': True} there")
    if not edits:
        raise Manual(f"{site_launcher} has no option blastwall can switch to a safe value here")
    from scanner.remediation.jsonedit import apply

    return apply(text, _dedupe(edits)), notes


def _py_settled_ternary(wrapper: Any, node: Any) -> Any:
    """`"bypassPermissions" if cond else "default"`: once the bypass branch is "default" too, the
    conditional expression (with a condition that has no effect of its own: a name, an
    attribute, a `not` of one) is replaced whole. None when it is not such an expression."""
    import libcst as cst
    from libcst.metadata import ParentNodeProvider

    parent = wrapper.resolve(ParentNodeProvider).get(node)
    if not isinstance(parent, cst.IfExp) or node not in (parent.body, parent.orelse):
        return None
    test = parent.test
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test = test.expression
    if not isinstance(test, (cst.Name, cst.Attribute)):
        return None
    for branch in (parent.body, parent.orelse):
        value = string_value(branch)
        if value != "default" and value not in _BYPASS_MODES:
            return None
    return parent


def _dedupe(edits: list[Edit]) -> list[Edit]:
    out: list[Edit] = []
    for edit in sorted(set(edits)):
        if out and edit[0] < out[-1][1]:
            continue  # overlapping: keep the first
        out.append(edit)
    return out


def _dict_has(node: Any, key: str) -> bool:
    import libcst as cst

    return isinstance(node, cst.Dict) and any(isinstance(e, cst.DictElement) and string_value(e.key) == key
                                              for e in node.elements)


def _drop_bash(text: str, lst: Any, positions: Any, starts: list[int], notes: list[str]) -> list[Edit]:
    out = []
    for index, element in enumerate(lst.elements):
        if string_value(element.value) in _SHELL_TOOLS:
            out.append(_remove_list_item(text, lst, index, positions, starts))
            notes.append("Bash removed from the allowed tools")
    return out


def _add_kwarg(call: Any, name: str, value: str, positions: Any, starts: list[int], text: str) -> Edit:
    """`name=value` as the call's last argument, in the call's layout."""
    args = list(call.args)
    _, end = _span(positions, starts, call)
    close = end - 1  # the ")"
    if not args:
        return (close, close, f"{name}={value}")
    last_start, last_end = _span(positions, starts, args[-1].value)
    between = text[last_end:close]
    if "," in between:  # a trailing comma: new argument on the line after it, same indent
        comma = last_end + between.index(",") + 1
        line_start = text.rfind("\n", 0, last_start) + 1
        indent = text[line_start:last_start]
        if "\n" in text[comma:close] and not indent.strip():
            return (comma, comma, f"\n{indent}{name}={value},")
        return (comma, comma, f" {name}={value},")
    line_start = text.rfind("\n", 0, last_start) + 1
    indent = text[line_start:last_start]
    if "\n" in text[_span(positions, starts, args[0].value)[0] - 1:last_start] and not indent.strip():
        return (last_end, last_end, f",\n{indent}{name}={value}")
    return (last_end, last_end, f", {name}={value}")


def _smol(call: Any, keywords: dict[str, Any], positions: Any, starts: list[int], text: str,
          notes: list[str]) -> list[Edit]:
    import libcst as cst

    executor = keywords.get("executor_type")
    e2b = keywords.get("use_e2b_executor")
    if executor is not None:
        if string_value(executor.value) == "local":
            notes.append('smolagents runs model-written code in Docker (executor_type="docker")')
            return [(*_span(positions, starts, executor.value), _quote_like(executor.value, "docker"))]
        return []
    if e2b is not None:
        if isinstance(e2b.value, cst.Name) and e2b.value.value == "False":
            notes.append('smolagents runs model-written code in Docker (executor_type="docker")')
            start, _ = _span(positions, starts, e2b)
            _, end = _span(positions, starts, e2b.value)
            return [(start, end, 'executor_type="docker"')]
        return []
    notes.append('smolagents runs model-written code in Docker (executor_type="docker")')
    return [_add_kwarg(call, "executor_type", '"docker"', positions, starts, text)]


def _autogen(config: Any, positions: Any, starts: list[int], notes: list[str]) -> list[Edit]:
    import libcst as cst

    if isinstance(config, cst.Dict):
        for element in config.elements:
            if isinstance(element, cst.DictElement) and string_value(element.key) == "use_docker" \
                    and isinstance(element.value, cst.Name) and element.value.value == "False":
                notes.append('AutoGen runs model-written code in Docker ("use_docker": True)')
                return [(*_span(positions, starts, element.value), "True")]
    return []


# AutoGen's local command-line executor -> its Docker executor. Where the local one was imported
# from says which AutoGen it is: 0.4+ (`autogen_ext`) must start() the Docker executor, 0.2/AG2
# (`autogen.coding`) starts its container in the constructor.
_AG_LOCAL = "LocalCommandLineCodeExecutor"
_AG_DOCKER = "DockerCommandLineCodeExecutor"
_AG_MODULES = {
    "autogen_ext.code_executors.local": ("autogen_ext.code_executors.docker", True),
    "autogen.coding": ("autogen.coding", False),
    "autogen.coding.local_commandline_code_executor": ("autogen.coding", False),
}
#: keywords both executors take with the same meaning (the local-only ones, a virtual env or
#: kept temp files, have no Docker equivalent)
_AG_SHARED_KEYWORDS = {"timeout", "work_dir", "functions", "functions_module"}
AG_STARTED_ON_USE = "DockerCodeExecutorStartedOnUse"
_AG_STARTED_ON_USE_CLASS = (
    f"class {AG_STARTED_ON_USE}({_AG_DOCKER}):\n"
    f'    """Starts its container when it first runs code, as the {_AG_LOCAL} it\n'
    '    replaces needed no start() (written by blastwall fix --apply)."""\n'
    "\n"
    "    _started_on_use = False\n"
    "\n"
    "    async def start(self) -> None:\n"
    "        await super().start()\n"
    "        self._started_on_use = True\n"
    "\n"
    "    async def stop(self) -> None:\n"
    "        self._started_on_use = False\n"
    "        await super().stop()\n"
    "\n"
    "    async def execute_code_blocks(self, code_blocks, cancellation_token):  # type: ignore[no-untyped-def]\n"
    "        if not self._started_on_use:\n"
    "            await self.start()\n"
    "        return await super().execute_code_blocks(code_blocks, cancellation_token)\n"
)


def _dotted_name(node: Any) -> str:
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = _dotted_name(node.value)
        return f"{inner}.{node.attr.value}" if inner else ""
    return ""


def _ag_imports(positions: Any, name: str) -> list[tuple[Any, str]]:
    """(ImportFrom node, module) for every `from M import name` (no alias) in the file."""
    import libcst as cst

    out = []
    for node in positions:
        if isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None \
                and not isinstance(node.names, cst.ImportStar):
            if any(alias.asname is None and _dotted_name(alias.name) == name for alias in node.names):
                out.append((node, _dotted_name(node.module)))
    return sorted(out, key=lambda item: (positions[item[0]].start.line, positions[item[0]].start.column))


def _line_end(text: str, offset: int) -> int:
    """Where the line holding `offset` ends, before its line break."""
    end = text.find("\n", offset)
    if end < 0:
        return len(text)
    return end - 1 if end > 0 and text[end - 1] == "\r" else end


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _parents_of(wrapper: Any, positions: Any, targets: list[Any]) -> dict[Any, Any]:
    """Each target's ancestors, child -> parent, found by walking down from the module through
    the child whose span holds the target: what ParentNodeProvider answers for these nodes,
    without visiting the whole tree (the report's FIX preview runs this on large files)."""
    out: dict[Any, Any] = {}
    children: dict[int, Any] = {}  # a node's children are computed by a visit: once per node
    for target in targets:
        want = positions[target]
        low, high = (want.start.line, want.start.column), (want.end.line, want.end.column)
        node = wrapper.module
        while node is not target:
            step = None
            if id(node) not in children:
                children[id(node)] = node.children
            for child in children[id(node)]:
                pos = positions.get(child)
                if child is target or pos is not None and (pos.start.line, pos.start.column) <= low \
                        and (pos.end.line, pos.end.column) >= high and (pos.start != pos.end):
                    step = child
                    break
            if step is None:  # not found by its span: ask libcst for the whole tree
                from libcst.metadata import ParentNodeProvider

                return dict(wrapper.resolve(ParentNodeProvider))
            out[step] = node
            node = step
    return out


def _autogen_executors(text: str, calls: list[Any], wrapper: Any, positions: Any, starts: list[int],
                       notes: list[str]) -> tuple[list[Edit], str]:
    """`LocalCommandLineCodeExecutor(...)` calls flagged by the scan, switched to AutoGen's
    `DockerCommandLineCodeExecutor` with the same arguments. For AutoGen 0.4+ the container must
    be started: `async with` starts it; an assignment in an `async def` is followed by
    `await executor.start()`; anywhere else (module level, a plain function) the executor is a
    small same-file subclass that starts on its first code block. The import follows. Returns the
    edits and, when none could be made, the reason."""
    import libcst as cst

    imports = _ag_imports(positions, _AG_LOCAL)
    sources = {module for _node, module in imports}
    if len(sources) != 1 or next(iter(sources)) not in _AG_MODULES:
        return [], (f"{_AG_LOCAL} is not imported by name from one AutoGen module here; switch it to "
                    f"{_AG_DOCKER} by hand")
    docker_module, needs_start = _AG_MODULES[next(iter(sources))]
    local_names = [n for n in positions if isinstance(n, cst.Name) and n.value == _AG_LOCAL]
    parents = _parents_of(wrapper, positions, [*calls, *local_names])
    newline = "\r\n" if "\r\n" in text else "\n"
    edits: list[Edit] = []
    reason = ""
    done: list[Any] = []
    lazy_at: list[int] = []
    started = False
    for call in calls:
        if not isinstance(call.func, cst.Name) or call.func.value != _AG_LOCAL:
            reason = f"{_AG_LOCAL} is called through a module attribute; switch it to {_AG_DOCKER} by hand"
            continue
        if any(a.star for a in call.args):
            reason = f"{_AG_LOCAL} gets its arguments by unpacking here; switch it to {_AG_DOCKER} by hand"
            continue
        if any(a.keyword is None for a in call.args):
            reason = f"{_AG_LOCAL} takes positional arguments here; pass them by name and switch to {_AG_DOCKER}"
            continue
        other = sorted(a.keyword.value for a in call.args if a.keyword.value not in _AG_SHARED_KEYWORDS)
        if other:
            reason = f"{_AG_LOCAL} is given {', '.join(other)}, which {_AG_DOCKER} does not take: switch it by hand"
            continue
        name_span = _span(positions, starts, call.func)
        parent = parents.get(call)
        if not needs_start or (isinstance(parent, cst.WithItem) and parent.item is call
                               and parents.get(parent) is not None and parents[parent].asynchronous is not None):
            edits.append((*name_span, _AG_DOCKER))  # started by its constructor, or by `async with`
            done.append(call)
            continue
        scope = parent
        while scope is not None and not isinstance(scope, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
            scope = parents.get(scope)
        line = parents.get(parent) if isinstance(parent, cst.Assign) else None
        if isinstance(scope, cst.FunctionDef) and scope.asynchronous is not None \
                and isinstance(parent, cst.Assign) and parent.value is call and len(parent.targets) == 1 \
                and isinstance(parent.targets[0].target, cst.Name) \
                and isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
            target = parent.targets[0].target.value
            stmt_start, stmt_end = _span(positions, starts, parent)
            indent = text[_line_start(text, stmt_start):stmt_start]
            at = _line_end(text, stmt_end)
            edits.append((*name_span, _AG_DOCKER))
            edits.append((at, at, f"{newline}{indent}await {target}.start()"))
            done.append(call)
            started = True
            continue
        # Anywhere else: the subclass, defined before the top-level statement that holds the call.
        top = call
        while parents.get(top) is not None and not isinstance(parents.get(top), cst.Module):
            top = parents[top]
        at = _line_start(text, _span(positions, starts, top)[0])
        while at > 0:  # above the comments that belong to that statement
            previous = _line_start(text, at - 1)
            if not text[previous:at].lstrip().startswith("#"):
                break
            at = previous
        lazy_at.append(at)
        edits.append((*name_span, AG_STARTED_ON_USE))
        done.append(call)
    if not done:
        return [], reason
    if lazy_at:
        body = _AG_STARTED_ON_USE_CLASS.replace("\n", newline)
        edits.append((min(lazy_at), min(lazy_at), newline + body + newline + newline))
        notes.append(f"AutoGen runs model-written code in Docker ({_AG_DOCKER}; at module level it starts "
                     "on its first code block)")
    if started:
        notes.append(f"AutoGen runs model-written code in Docker ({_AG_DOCKER}, started right after it is made)")
    if not lazy_at and not started:
        notes.append(f"AutoGen runs model-written code in Docker ({_AG_DOCKER})")
    # The import: the local one becomes the Docker one when nothing else uses the local name.
    uses = [n for n in local_names if not isinstance(parents.get(n), cst.ImportAlias)]
    have_docker = bool(_ag_imports(positions, _AG_DOCKER))
    node = imports[0][0]
    start, end = _span(positions, starts, node)
    line_start = _line_start(text, start)
    if len(imports) == 1 and len(node.names) == 1 and len(uses) == len(done) and not have_docker \
            and not text[line_start:start].strip():
        edits.append((start, end, f"from {docker_module} import {_AG_DOCKER}"))
    elif not have_docker:
        at = _line_end(text, end)
        prefix = text[line_start:start]
        indent = prefix[: len(prefix) - len(prefix.lstrip())]
        edits.append((at, at, f"{newline}{indent}from {docker_module} import {_AG_DOCKER}"))
    return edits, ""


def _mcp_env(call: Any, keywords: dict[str, Any], positions: Any, starts: list[int], notes: list[str]) -> list[Edit]:
    """`env={..., **os.environ}`: the spread goes; the MCP client adds its small default environment."""
    import libcst as cst

    env = keywords.get("env")
    if env is None or not isinstance(env.value, cst.Dict):
        return []
    out = []
    elements = list(env.value.elements)
    for index, element in enumerate(elements):
        if isinstance(element, cst.StarredDictElement):
            value = element.value
            code = cst.Module(body=[]).code_for_node(value)
            if code.endswith("environ") or code.endswith("environ.copy()") or code.startswith("dict(os.environ"):
                start, end = _span(positions, starts, element)
                if index + 1 < len(elements):
                    end = _span(positions, starts, elements[index + 1])[0]
                elif index > 0:
                    start = _span(positions, starts, elements[index - 1])[1]
                out.append((start, end, ""))
                notes.append("the MCP server no longer gets the whole environment (the client adds PATH, HOME...)")
    return out


# --- TypeScript / JavaScript ----------------------------------------------------------------


def rewrite_ts_framework(path: str, text: str, site_launcher: str, site_line: int, finding_lines: Iterable[int],
                         model_keys: Iterable[str] = (), site_column: int = 0) -> tuple[str, list[str]]:
    """Claude Agent SDK `query({ options })` and MCP `StdioClientTransport({ env })`, in place."""
    from scanner.parse.trees import parse
    from scanner.remediation.syntax import js_dialect as _js_dialect
    from scanner.remediation.syntax import js_parses as _js_parses
    from scanner.remediation.syntax import js_prop as _js_prop
    from scanner.remediation.syntax import js_prop_key as _js_prop_key

    dialect = _js_dialect(path)
    data = text.encode("utf-8")
    tree = parse(dialect, data)
    if tree.root_node.has_error:
        raise Manual("the file does not parse cleanly")
    src = lambda n: data[n.start_byte:n.end_byte].decode("utf-8")  # noqa: E731
    lines = set(finding_lines) | {site_line}
    edits: list[tuple[int, int, str]] = []
    notes: list[str] = []
    keys = [k for k in model_keys if re.fullmatch(r"[A-Za-z_$][\w$]*", k)]
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        row = node.start_point[0] + 1
        if node.type == "string" and src(node)[1:-1] in _BYPASS_MODES and row in lines:
            parent = node.parent
            while parent is not None and parent.type in ("ternary_expression", "parenthesized_expression",
                                                          "as_expression"):
                parent = parent.parent
            if parent is not None and parent.type == "pair" and \
                    _js_prop_key(data, parent) in ("permissionMode", "permission_mode"):
                quote = src(node)[0]
                ternary = _ts_settled_ternary(data, node)
                target = ternary if ternary is not None else node
                edits.append((target.start_byte, target.end_byte, f"{quote}default{quote}"))
                notes.append(f'permission mode "{src(node)[1:-1]}" set back to "default"')
        elif node.type == "pair" and _js_prop_key(data, node) == "allowedTools" and \
                any(node.start_point[0] + 1 <= line <= node.end_point[0] + 1 for line in lines):
            value = node.child_by_field_name("value")
            if value is not None and value.type == "array":
                items = [c for c in value.named_children if c.type != "comment"]
                for index, item in enumerate(items):
                    if item.type == "string" and src(item)[1:-1] in _SHELL_TOOLS:
                        start = item.start_byte
                        end = items[index + 1].start_byte if index + 1 < len(items) else item.end_byte
                        if index + 1 == len(items) and index > 0:
                            start = items[index - 1].end_byte
                        edits.append((start, end, ""))
                        notes.append("Bash removed from the allowed tools")
        elif node.type == "call_expression" and row == site_line and site_launcher in ("query()", "query",
                                                                                       "claude-agent-sdk query") \
                and (not site_column or len(data[:node.start_byte].decode("utf-8", "replace").rsplit("\n", 1)[-1])
                     == site_column - 1):
            edits.extend(_ts_query(data, node, keys, notes))
        elif node.type == "new_expression" and row in lines and "StdioClientTransport" in src(node)[:40]:
            args = node.child_by_field_name("arguments")
            obj = next((c for c in (args.named_children if args else []) if c.type == "object"), None)
            env = _js_prop(data, obj, "env") if obj is not None else None
            value = env.child_by_field_name("value") if env is not None and env.type == "pair" else None
            if value is not None and value.type == "object":
                for prop in value.named_children:
                    if prop.type == "spread_element" and "process.env" in src(prop):
                        edits.append((prop.start_byte, prop.end_byte,
                                      "PATH: process.env.PATH, HOME: process.env.HOME"))
                        notes.append("the MCP server no longer gets the whole environment")
    if not edits:
        raise Manual(f"{site_launcher}: no option blastwall can switch to a safe value here")
    out = data
    for start, end, new in sorted(set(edits), key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + new.encode("utf-8") + out[end:]
    new_text = out.decode("utf-8")
    if not _js_parses(dialect, new_text):
        raise Manual("the rewrite would not parse back")
    return new_text, notes


def _ts_settled_ternary(data: bytes, node: Any) -> Any:
    """`cond ? "bypassPermissions" : "default"`: once the bypass branch is "default" too, the
    choice is settled, and the ternary (with a condition that has no effect of its own: a name,
    a property, a negation of one) is replaced whole. None when it is not such a ternary."""
    ternary = node.parent
    if ternary is None or ternary.type != "ternary_expression":
        return None
    condition = ternary.child_by_field_name("condition")
    branches = [ternary.child_by_field_name("consequence"), ternary.child_by_field_name("alternative")]
    if condition is None or None in branches or node not in branches:
        return None
    while condition.type in ("parenthesized_expression", "unary_expression"):
        if condition.type == "unary_expression" and data[condition.start_byte:condition.start_byte + 1] != b"!":
            return None
        condition = condition.named_children[-1]
    if condition.type not in ("identifier", "member_expression", "true", "false"):
        return None
    for branch in branches:
        value = data[branch.start_byte + 1:branch.end_byte - 1].decode("utf-8") if branch.type == "string" else None
        if value != "default" and value not in _BYPASS_MODES:
            return None
    return ternary


def _ts_query(data: bytes, call: Any, keys: list[str], notes: list[str]) -> list[tuple[int, int, str]]:
    """`query({ prompt, options: {...} })`: the SDK's sandbox on and `env` by name in the options."""
    from scanner.remediation.syntax import js_append_props as _js_append_props
    from scanner.remediation.syntax import js_prop as _js_prop

    args = call.child_by_field_name("arguments")
    first = next((c for c in (args.named_children if args else []) if c.type != "comment"), None)
    if first is None or first.type != "object":
        raise Manual("query() is not called with an object literal")
    options = _js_prop(data, first, "options")
    value = options.child_by_field_name("value") if options is not None and options.type == "pair" else None
    env_text = "{ " + ", ".join(["PATH: process.env.PATH", *(f"{k}: process.env.{k}" for k in keys)]) + " }"
    wanted = [f"sandbox: {TS_SANDBOX}", f"env: {env_text}"]
    if options is None:
        notes.append("the Agent SDK's own sandbox is on and the CLI gets only PATH and its key")
        props = [c for c in first.named_children if c.type != "comment"]
        return [_js_append_props(data, first, props, ["options: { " + ", ".join(wanted) + " }"])]
    if value is not None and value.type == "call_expression":
        value = _ts_helper_object(data, call, value)
    if value is None or value.type != "object":
        raise Manual("the query's options are built elsewhere: add sandbox: { enabled: true } and env by name there")
    props = [c for c in value.named_children if c.type != "comment"]
    have = {c.child_by_field_name("key") and data[c.child_by_field_name("key").start_byte:
                                                   c.child_by_field_name("key").end_byte].decode()
            for c in props if c.type == "pair"}
    add = [w for w in wanted if w.split(":", 1)[0] not in have]
    if not add:
        return []
    notes.append("the Agent SDK's own sandbox is on and the CLI gets only PATH and its key")
    return [_js_append_props(data, value, props, add)]


def _ts_helper_object(data: bytes, anchor: Any, call: Any) -> Any:
    """The object literal a same-file helper returns (`function opts() { return {...} }`,
    `const opts = () => ({...})`), for options built by `opts(...)`; None otherwise."""
    from scanner.remediation.syntax import js_unwrap as _js_unwrap

    func = call.child_by_field_name("function")
    if func is None or func.type != "identifier":
        return None
    name = data[func.start_byte:func.end_byte]
    root = anchor
    while root.parent is not None:
        root = root.parent
    stack, bodies = [root], []
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        ident = node.child_by_field_name("name")
        if ident is None or data[ident.start_byte:ident.end_byte] != name:
            continue
        if node.type == "function_declaration":
            bodies.append(node.child_by_field_name("body"))
        elif node.type == "variable_declarator":
            value = node.child_by_field_name("value")
            if value is not None and value.type in ("arrow_function", "function_expression", "function"):
                bodies.append(value.child_by_field_name("body"))
    if len(bodies) != 1 or bodies[0] is None:
        return None
    body = bodies[0]
    if body.type != "statement_block":
        obj = _js_unwrap(body)
        return obj if obj.type == "object" else None
    returns = [c for c in body.named_children if c.type == "return_statement"]
    objects = []
    for ret in returns:
        expr = next((c for c in ret.named_children if c.type != "comment"), None)
        if expr is not None and _js_unwrap(expr).type == "object":
            objects.append(_js_unwrap(expr))
    return objects[0] if len(objects) == 1 and len(returns) == 1 else None


def manual_snippet(launcher: str) -> tuple[str, str] | None:
    """Before/after for framework launches blastwall leaves manual, in the framework's own terms."""
    table = {
        "LocalCommandLineCodeExecutor": (
            'executor = LocalCommandLineCodeExecutor(work_dir="scratch")',
            'async with DockerCommandLineCodeExecutor(image="python:3.12-slim@sha256:<digest>", work_dir="scratch",\n'
            '                                          timeout=120) as executor:\n'
            '    runner = CodeExecutorAgent("runner", code_executor=executor)'),
        "JupyterCodeExecutor": (
            "executor = JupyterCodeExecutor()",
            'async with DockerJupyterServer() as server, DockerJupyterCodeExecutor(jupyter_server=server) as executor:\n'
            '    ...'),
        "ShellTool": ("tools = [ShellTool()]",
                      "tools = []  # no host shell: give the agent narrow tools (read a file, run the tests)"),
        "PythonREPLTool": ("tools = [PythonREPLTool()]",
                           'tools = []  # or a remote interpreter: E2B, or smolagents executor_type="docker"'),
        "ShellToolMiddleware": ("ShellToolMiddleware()",
                                "ShellToolMiddleware(execution_policy=DockerExecutionPolicy(image=\"python:3.12-slim\"))"),
        "LocalShellTool": ("tools=[LocalShellTool(executor=run_locally)]",
                           'tools=[ShellTool(environment={"type": "container_auto"})]'),
        "UnixLocalSandboxClient": ("client=UnixLocalSandboxClient()", 'client=DockerSandboxClient(network_mode="none")'),
    }
    for key, value in table.items():
        if key in launcher:
            return value
    return None

"""`blastwall fix --apply` on AutoGen's local command-line executor: it becomes the Docker
executor with the same arguments, and the program still works — the container is started where
AutoGen needs it started (the rewritten code is run here against stand-in AutoGen modules that
record what happens)."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path

import pytest

from scanner.engine import ScanOptions, scan
from scanner.remediation.configs import Manual
from scanner.remediation.frameworks import AG_STARTED_ON_USE, rewrite_python_framework

# Stand-ins for autogen_ext (0.4+: the Docker executor must be started) and autogen.coding
# (0.2/AG2: its constructor starts the container). Each records the calls it gets.
STUBS = {
    "autogen_ext/__init__.py": "",
    "autogen_ext/code_executors/__init__.py": "",
    "autogen_ext/code_executors/local.py": (
        "class LocalCommandLineCodeExecutor:\n"
        "    def __init__(self, timeout=60, work_dir=None, functions=(), functions_module='functions',\n"
        "                 cleanup_temp_files=True, virtual_env_context=None):\n"
        "        self.kwargs = dict(timeout=timeout, work_dir=work_dir)\n"
        "    async def execute_code_blocks(self, code_blocks, cancellation_token):\n"
        "        return 'ran on the host'\n"),
    "autogen_ext/code_executors/docker.py": (
        "EVENTS = []\n"
        "class DockerCommandLineCodeExecutor:\n"
        "    def __init__(self, image='python:3-slim', container_name=None, *, timeout=60, work_dir=None,\n"
        "                 functions=(), functions_module='functions'):\n"
        "        self.kwargs = dict(timeout=timeout, work_dir=work_dir)\n"
        "        self._running = False\n"
        "    async def start(self):\n"
        "        EVENTS.append('start')\n"
        "        self._running = True\n"
        "    async def stop(self):\n"
        "        EVENTS.append('stop')\n"
        "        self._running = False\n"
        "    async def execute_code_blocks(self, code_blocks, cancellation_token):\n"
        "        if not self._running:\n"
        "            raise ValueError('Container is not running. Must first be started')\n"
        "        EVENTS.append('run')\n"
        "        return 'ran in docker'\n"
        "    async def __aenter__(self):\n"
        "        await self.start()\n"
        "        return self\n"
        "    async def __aexit__(self, *exc):\n"
        "        await self.stop()\n"),
    "autogen_agentchat/__init__.py": "",
    "autogen_agentchat/agents.py": (
        "class CodeExecutorAgent:\n"
        "    def __init__(self, name, code_executor):\n"
        "        self.code_executor = code_executor\n"
        "    async def run(self, code):\n"
        "        return await self.code_executor.execute_code_blocks([code], None)\n"
        "class AssistantAgent:\n"
        "    pass\n"),
    "autogen/__init__.py": "",
    "autogen/coding/__init__.py": (
        "EVENTS = []\n"
        "class LocalCommandLineCodeExecutor:\n"
        "    def __init__(self, timeout=60, virtual_env_context=None, work_dir='.', functions=()):\n"
        "        pass\n"
        "class DockerCommandLineCodeExecutor:\n"
        "    def __init__(self, image='python:3-slim', container_name=None, timeout=60, work_dir='.', functions=()):\n"
        "        EVENTS.append('started by the constructor')\n"
        "        self.timeout = timeout\n"),
}

MODULE_LEVEL = '''"""Autofix worker."""
from autogen_agentchat.agents import AssistantAgent, CodeExecutorAgent
from autogen_ext.code_executors.local import LocalCommandLineCodeExecutor

# the executor the runner agent uses
executor = LocalCommandLineCodeExecutor(work_dir="scratch", timeout=300)
runner = CodeExecutorAgent("runner", code_executor=executor)
'''

IN_ASYNC_DEF = '''import asyncio

from autogen_agentchat.agents import CodeExecutorAgent
from autogen_ext.code_executors.local import LocalCommandLineCodeExecutor


async def main(code):
    executor = LocalCommandLineCodeExecutor(work_dir="coding")
    agent = CodeExecutorAgent("coder", code_executor=executor)
    return await agent.run(code)
'''

ASYNC_WITH = '''from autogen_agentchat.agents import CodeExecutorAgent
from autogen_ext.code_executors.local import LocalCommandLineCodeExecutor


async def main(code):
    async with LocalCommandLineCodeExecutor(work_dir="coding") as executor:
        return await CodeExecutorAgent("coder", code_executor=executor).run(code)
'''

AUTOGEN_02 = '''from autogen.coding import LocalCommandLineCodeExecutor

executor = LocalCommandLineCodeExecutor(timeout=60, work_dir="coding")
'''


@pytest.fixture()
def stubs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    for name, text in STUBS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.syspath_prepend(str(root))
    for name in list(sys.modules):
        if name.split(".")[0] in ("autogen_ext", "autogen_agentchat", "autogen", "rewritten"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _load(folder: Path, text: str):  # type: ignore[no-untyped-def]
    (folder / "rewritten.py").write_text(text)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("rewritten")
    finally:
        sys.path.remove(str(folder))


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_module_level_executor_starts_on_its_first_code_block(stubs: Path) -> None:
    after, notes = rewrite_python_framework(MODULE_LEVEL, "LocalCommandLineCodeExecutor",
                                            [_line(MODULE_LEVEL, "LocalCommandLineCodeExecutor(")])
    assert "LocalCommandLineCodeExecutor(" not in after and "import LocalCommandLineCodeExecutor" not in after
    assert "from autogen_ext.code_executors.docker import DockerCommandLineCodeExecutor" in after
    assert f'executor = {AG_STARTED_ON_USE}(work_dir="scratch", timeout=300)' in after  # same arguments
    # the class comes before the statement and its comment, which stay together
    assert after.index(f"class {AG_STARTED_ON_USE}") < after.index("# the executor the runner agent uses") \
        < after.index("executor = ")
    assert any("Docker" in n for n in notes)
    module = _load(stubs, after)
    docker = sys.modules["autogen_ext.code_executors.docker"]
    assert asyncio.run(module.runner.run("print(1)")) == "ran in docker"
    assert asyncio.run(module.runner.run("print(2)")) == "ran in docker"
    assert docker.EVENTS == ["start", "run", "run"]  # started once, on first use
    assert module.executor.kwargs == {"timeout": 300, "work_dir": "scratch"}

    async def explicit() -> None:  # a caller that starts and stops it itself is not started twice
        docker.EVENTS.clear()
        executor = getattr(module, AG_STARTED_ON_USE)(work_dir="x")
        await executor.start()
        await executor.execute_code_blocks(["print(3)"], None)
        await executor.stop()
        await executor.execute_code_blocks(["print(4)"], None)

    asyncio.run(explicit())
    assert docker.EVENTS == ["start", "run", "stop", "start", "run"]


def test_executor_made_in_an_async_def_is_started_right_after(stubs: Path) -> None:
    after, _ = rewrite_python_framework(IN_ASYNC_DEF, "LocalCommandLineCodeExecutor",
                                        [_line(IN_ASYNC_DEF, "LocalCommandLineCodeExecutor(")])
    assert '    executor = DockerCommandLineCodeExecutor(work_dir="coding")\n    await executor.start()\n' in after
    assert AG_STARTED_ON_USE not in after
    module = _load(stubs, after)
    assert asyncio.run(module.main("print(1)")) == "ran in docker"
    assert sys.modules["autogen_ext.code_executors.docker"].EVENTS == ["start", "run"]


def test_async_with_starts_the_docker_executor_itself(stubs: Path) -> None:
    after, _ = rewrite_python_framework(ASYNC_WITH, "LocalCommandLineCodeExecutor",
                                        [_line(ASYNC_WITH, "LocalCommandLineCodeExecutor(")])
    assert 'async with DockerCommandLineCodeExecutor(work_dir="coding") as executor:' in after
    assert "start()" not in after and AG_STARTED_ON_USE not in after
    module = _load(stubs, after)
    assert asyncio.run(module.main("print(1)")) == "ran in docker"
    assert sys.modules["autogen_ext.code_executors.docker"].EVENTS == ["start", "run", "stop"]


def test_autogen_02_executor_is_started_by_its_constructor(stubs: Path) -> None:
    after, _ = rewrite_python_framework(AUTOGEN_02, "LocalCommandLineCodeExecutor",
                                        [_line(AUTOGEN_02, "LocalCommandLineCodeExecutor(")])
    assert after == ('from autogen.coding import DockerCommandLineCodeExecutor\n\n'
                     'executor = DockerCommandLineCodeExecutor(timeout=60, work_dir="coding")\n')
    module = _load(stubs, after)
    assert module.executor.timeout == 60
    assert sys.modules["autogen.coding"].EVENTS == ["started by the constructor"]


def test_local_name_still_used_elsewhere_keeps_its_import() -> None:
    text = MODULE_LEVEL + "\nif isinstance(executor, LocalCommandLineCodeExecutor):\n    pass\n"
    after, _ = rewrite_python_framework(text, "LocalCommandLineCodeExecutor",
                                        [_line(text, "LocalCommandLineCodeExecutor(")])
    assert "from autogen_ext.code_executors.local import LocalCommandLineCodeExecutor\n" \
           "from autogen_ext.code_executors.docker import DockerCommandLineCodeExecutor\n" in after


@pytest.mark.parametrize(("call", "reason"), [
    ('LocalCommandLineCodeExecutor(60, "scratch")', "positional arguments"),
    ('LocalCommandLineCodeExecutor(work_dir="x", virtual_env_context=venv)', "virtual_env_context"),
    ('LocalCommandLineCodeExecutor(**options)', "unpacking"),
])
def test_arguments_the_docker_executor_does_not_take_stay_manual(call: str, reason: str) -> None:
    text = f"from autogen_ext.code_executors.local import LocalCommandLineCodeExecutor\n\nexecutor = {call}\n"
    with pytest.raises(Manual, match=reason):
        rewrite_python_framework(text, "LocalCommandLineCodeExecutor", [3])


def test_rewritten_fixture_scans_clean(tmp_path: Path) -> None:
    """The scenario's AutoGen worker, rewritten, is no longer host code execution."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "sdk-mixed-frameworks", repo)
    path = repo / "agents" / "autofix.py"
    text = path.read_text()
    path.write_text(rewrite_python_framework(text, "LocalCommandLineCodeExecutor",
                                             [_line(text, "LocalCommandLineCodeExecutor(")])[0])
    result = scan(repo, ScanOptions())
    assert not [f for f in result.findings if f.location.path == "agents/autofix.py"], \
        json.dumps([f.rule_id for f in result.findings])


# --- a bypass chosen by a condition: settled once both branches say "default" ------------------


def test_python_bypass_ternary_settles_to_default() -> None:
    text = ('from claude_agent_sdk import ClaudeAgentOptions\n\n'
            'def options(trusted):\n'
            '    return ClaudeAgentOptions(permission_mode="bypassPermissions" if trusted else "default",\n'
            '                              allowed_tools=["Read"])\n')
    after, notes = rewrite_python_framework(text, "ClaudeAgentOptions", [4])
    assert 'permission_mode="default",' in after and " if trusted else " not in after
    assert any("set back" in n for n in notes)
    kept = text.replace("if trusted", "if compute()")  # a condition with effects of its own stays
    after, _ = rewrite_python_framework(kept, "ClaudeAgentOptions", [4])
    assert 'permission_mode="default" if compute() else "default"' in after


def test_typescript_bypass_ternary_settles_to_default(tmp_path: Path) -> None:
    from scanner.remediation.frameworks import rewrite_ts_framework

    text = ('import { query } from "@anthropic-ai/claude-agent-sdk";\n'
            "export async function review(diff: string, trusted: boolean) {\n"
            "  for await (const m of query({\n"
            "    prompt: diff,\n"
            '    options: { permissionMode: trusted ? "bypassPermissions" : "default", allowedTools: ["Read"] },\n'
            "  })) { console.log(m); }\n"
            "}\n")
    after, _ = rewrite_ts_framework("src/agent.ts", text, "query()", 3, [5], ["ANTHROPIC_API_KEY"], 25)
    assert 'permissionMode: "default",' in after and "trusted ?" not in after
    after, _ = rewrite_ts_framework("src/agent.ts", text.replace("trusted ?", "check() ?"), "query()", 3, [5],
                                    ["ANTHROPIC_API_KEY"], 25)
    assert 'permissionMode: check() ? "default" : "default"' in after


# --- a command run through promisify(exec) --------------------------------------------------------

TOOLS_TS = '''import { exec } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(exec);

export async function evaluate(input: string): Promise<string> {
  const { stdout } = await run(`node -e ${JSON.stringify(input)}`);
  return stdout;
}
'''


def test_promisified_exec_goes_through_promisified_execfile(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from scanner.remediation.apply import plan_apply
    from scanner.remediation.tailor import key_names

    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "tools.ts").write_text(
        'import { tool } from "ai";\nimport { z } from "zod";\n' + TOOLS_TS.replace(
            "export async function evaluate(input: string): Promise<string> {\n"
            "  const { stdout } = await run(`node -e ${JSON.stringify(input)}`);\n  return stdout;\n}\n",
            "export const node = tool({\n  description: \"Evaluate a Node.js snippet\",\n"
            "  inputSchema: z.object({ input: z.string() }),\n"
            "  execute: async ({ input }) => {\n"
            "    const { stdout } = await run(`node -e ${JSON.stringify(input)}`);\n    return stdout;\n  },\n});\n"))
    result = scan(repo, ScanOptions())
    assert [f for f in result.findings if f.severity.rank >= 3], "the scenario must start flagged"
    plan = plan_apply(repo, result, "sandbox/agent-bwrap.sh", key_names(result))
    after = plan.edits["src/tools.ts"][1]
    assert 'import { exec, execFile } from "node:child_process";' in after
    assert ('await promisify(execFile)("./sandbox/agent-bwrap.sh", ["sh", "-c", `node -e ${JSON.stringify(input)}`], '
            '{ cwd: ') in after
    (repo / "src" / "tools.ts").write_text(after)
    assert not [f for f in scan(repo, ScanOptions()).findings if f.location.path == "src/tools.ts"]
    node = shutil.which("node", path="/usr/local/bin:/usr/bin:/bin")  # where the rewrite's PATH looks
    if node:  # the same { stdout } comes back, through the runner
        js = after.replace('import { tool } from "ai";\nimport { z } from "zod";\n', "").replace(
            ": string", "").replace("import { exec, execFile } from \"node:child_process\";",
                                    "const { exec, execFile } = require(\"node:child_process\");").replace(
            'import { promisify } from "node:util";', 'const { promisify } = require("node:util");')
        js = js.replace("export const node = tool({", "const node = ({").replace(
            "inputSchema: z.object({ input: z.string() }),", "")
        js += "node.execute({ input: 'console.log(6 * 7)' }).then((out) => process.stdout.write(out));\n"
        (repo / "src" / "check.cjs").write_text(js)
        runner = repo / "sandbox" / "agent-bwrap.sh"
        runner.parent.mkdir(exist_ok=True)
        runner.write_text('#!/bin/sh\nexec "$@"\n')
        runner.chmod(0o755)
        proc = subprocess.run([node, str(repo / "src" / "check.cjs")], capture_output=True, text=True, cwd=tmp_path,
                              env={"PATH": f"{Path(node).parent}:/usr/bin:/bin"})
        assert proc.returncode == 0 and proc.stdout.strip() == "42", proc.stderr


def test_the_report_preview_does_not_parse_a_file_with_nothing_to_edit() -> None:
    """The FIX section shows edits, not why there is none: a file that names none of the calls the
    rewrite edits is left unparsed there (`blastwall fix` still parses it for its reason)."""
    text = "from langchain_community.tools import ShellTool\ntools = [ShellTool()]\nbroken = (\n"
    with pytest.raises(Manual, match="no option"):
        rewrite_python_framework(text, "ShellTool", [2], preview=True)
    with pytest.raises(Manual, match="does not parse"):
        rewrite_python_framework(text, "ShellTool", [2])


def test_the_report_preview_plans_the_same_edits_as_fix() -> None:
    from scanner.remediation.apply import plan_apply
    from scanner.remediation.tailor import key_names

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    folders = [*sorted((fixtures / "repos").iterdir()), *sorted((fixtures / "rules").iterdir())]
    planned = 0
    for folder in (f for f in folders if f.is_dir()):
        result = scan(folder, ScanOptions(jobs=1))
        plans = [plan_apply(folder, result, "./sandbox/agent-bwrap.sh", key_names(result), preview=p) for p in (False, True)]
        assert plans[0].edits == plans[1].edits, folder.name
        assert plans[0].rewritten == plans[1].rewritten, folder.name
        planned += len(plans[0].edits)
    assert planned > 20

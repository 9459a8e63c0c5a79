"""The byte gates before the Python and JavaScript parsers (scanner/launch/gates.py): every file
an analyzer reports something in passes its gate, and a file that only names an agent is not
parsed at all (and still counts as analysed)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from fixture_harness import write_tree
from scanner.catalog import load_catalog
from scanner.discover.walk import read_candidate, walk
from scanner.engine import ScanOptions, scan
from scanner.launch import gates
from scanner.launch.base import Analysis
from scanner.launch.cfgjudge import ConfigTools
from scanner.launch.filekinds import KINDS, kind_from_shebang
from scanner.parse.trees import SourceFile
from scanner.project.files import ProjectFiles

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SOURCE_KINDS = ("python", "javascript", "typescript", "tsx")
GATED = sorted({step.target for kind in SOURCE_KINDS for step in KINDS[kind].steps})


@lru_cache(maxsize=1)
def _yields() -> dict[str, list[tuple[str, bytes, bool]]]:
    """Per analyzer step: (path, bytes, admitted) of every fixture file it reports something in
    when it runs without its gate."""
    out: dict[str, list[tuple[str, bytes, bool]]] = {target: [] for target in GATED}
    walked = walk(FIXTURES)
    project = ProjectFiles(FIXTURES, walked.readable)
    tools = ConfigTools.of(load_catalog())
    for cand in walked.candidates:
        data, _reason = read_candidate(FIXTURES, cand)
        if not data:
            continue
        kind = kind_from_shebang(data.split(b"\n", 1)[0]) if cand.kind == "shebang" else cand.kind
        if kind not in SOURCE_KINDS:
            continue
        analysis = Analysis(SourceFile(cand.path, data), kind, tools, project)
        for step in KINDS[kind].steps:
            if list(step.run(analysis)):
                out[step.target].append((cand.path, data, step.gate is None or step.gate(tools.catalog, data)))
    return out


@pytest.mark.parametrize("target", GATED)
def test_every_fixture_file_an_analyzer_reports_in_passes_its_gate(target: str) -> None:
    found = _yields()[target]
    assert found, f"no fixture exercises {target}"
    assert [path for path, _data, admitted in found if not admitted] == []


def test_the_gates_are_checked_against_many_fixture_files() -> None:
    assert sum(len(v) for v in _yields().values()) >= 50


def test_every_gate_key_names_something_in_the_rules() -> None:
    frameworks = load_catalog().frameworks.section("frameworks")
    for name, keys in {**gates.PY_CALLED, **gates.PY_ALONE}.items():
        for key in keys:
            assert gates._names_at(frameworks[name], key), f"{name}: {key} names nothing"
    # A framework row the detectors read is either mapped or read by the generic host_site handler.
    unmapped = {n for n, row in frameworks.items() if n not in gates.PY_CALLED and not row.get("host_site")}
    assert unmapped == set()


@pytest.mark.parametrize("source,admitted", [
    (b"import subprocess as sp\nsp.run(cmd)\n", True),
    (b"from os import system as s\ns(cmd)\n", True),
    (b"import pexpect\nchild = pexpect.spawn(cmd)\n", True),
    (b"import os\nos.makedirs(path)\n", False),  # the module, but none of its launchers
    (b"from runner import run\nrun(['claude'])\n", False),  # a launcher's name, not its module
    (b"from crewai import Agent\nAgent(role='r', allow_code_execution=True)\n", True),
    (b"from crewai import Agent\nAgent(role='r')\n", False),
    (b"from crewai import Agent\nAgent(role='r',\n      allow_code_execution  # on purpose\n      = True)\n", True),
    (b"from crewai import Agent\nif allow_code_execution == True: Agent()\n", False),  # a comparison
    (b"from openhands.core.setup import create_runtime\ncreate_runtime(config, runtime='cli')\n", True),
    (b"from openhands.core import runtime\nruntime.start()\n", False),  # the word, not the keyword
    (b"from mylib import UserProxyAgent\nUserProxyAgent('u', code_execution_config={})\n", True),
    (b"from autogen_ext.code_executors.local import LocalCommandLineCodeExecutor\n", True),
    (b"LocalCommandLineCodeExecutor(work_dir='.')\n", True),  # distinctive: no import needed
    (b"from openhands.core import LocalRuntime\n", True),
    (b"env = get_environment(cfg, default_type='local')\n", True),
    (b"env = get_environment_2(cfg, type='local')\n", False),  # not a factory's name: a digit in it
    (b"env = get_environment(cfg)\n", False),  # no keyword that picks it
    (b"class T(BaseTool):\n    def _run(self, q):\n        return eval(q)\n", True),
    (b"def helper(cmd):\n    return subprocess.run(cmd)\nimport subprocess\n", True),
])
def test_python_gates(source: bytes, admitted: bool) -> None:
    assert KINDS["python"].admits(load_catalog(), source) is admitted


@pytest.mark.parametrize("source,admitted", [
    (b"const cp = require('node:child_process');\ncp.spawn('claude');\n", True),
    (b"import { execa } from 'execa';\n", True),
    (b"#!/usr/bin/env zx\nawait $`claude -p hi`;\n", True),
    (b"const p = Bun.spawn(['claude']);\n", True),
    (b"export const d = { command: 'npx  -y @anthropic-ai/claude-code' };\n", True),
    (b"export const d = { command: 'pnpm dlx @scope/agent' };\n", True),
    (b"import { query } from '@anthropic-ai/claude-agent-sdk';\n", True),
    (b"import { tool } from 'ai';\nexport const t = tool({ execute: async ({ code }) => eval(code) });\n", True),
    (b"import { tool } from 'ai';\nexport const t = tool({ execute: async () => 'claude' });\n", False),
    (b"import { runAgent } from './agents.js';\nrunAgent('claude');\n", False),
])
def test_javascript_gates(source: bytes, admitted: bool) -> None:
    assert KINDS["javascript"].admits(load_catalog(), source) is admitted


def test_identifiers_are_the_words_a_bytes_pattern_bounds() -> None:
    words = gates.identifiers(b"x=os.system('a')\n\xc3\xa9os_2 r\xe9run")
    assert {b"os", b"system", b"os_2", b"r", b"run"} <= words and b"x" in words


def test_a_file_that_only_names_an_agent_is_not_parsed_but_is_analysed(tmp_path: Path, monkeypatch) -> None:
    import scanner.launch.javascript as javascript
    import scanner.launch.python_lang as python_lang

    parsed: list[bytes] = []
    for module in (python_lang, javascript):
        real = module.parse
        monkeypatch.setattr(module, "parse", lambda name, data, real=real: parsed.append(data) or real(name, data))
    launch = "import subprocess\nsubprocess.run(['claude', '-p', 'hi'])\n"
    root = write_tree(tmp_path / "repo", {
        "names.py": "AGENTS = ['claude', 'codex']\nfrom crewai import Agent\n",
        "names.ts": "export const AGENT = 'claude';\n",
        "launch.py": launch,
    })
    result = scan(root, ScanOptions(jobs=1))
    assert parsed == [launch.encode()]
    # All three matched a search term and were read: the report counts them as before.
    assert result.coverage.files_scanned == result.coverage.files_parsed == 3
    assert result.coverage.not_analysed == ()
    assert {s.location.path for s in result.launch_sites} == {"launch.py"}


def test_the_mention_only_rule_fixtures_are_not_parsed() -> None:
    for rel in ("rules/agent-inline-launch/names_agents_only.py", "rules/agent-inline-launch/names_agents_only.js",
                "rules/framework-host-code-execution/names_framework_only.py"):
        data = (FIXTURES / rel).read_bytes()
        assert not KINDS["javascript" if rel.endswith(".js") else "python"].admits(load_catalog(), data), rel


# Calls matched by a keyword argument or a factory's name alone (their class or function name
# is not one the handlers list).
_BY_KEYWORD = {
    "crew.py": b'from crewai import Agent\nagent = Agent(role="r", goal="g", allow_code_execution=True)\n',
    "proxy.py": b'from autogen import UserProxyAgent\n'
                b'user = UserProxyAgent("user", code_execution_config={"work_dir": "w", "use_docker": False})\n',
    "runtime.py": b'from openhands.core.config import OpenHandsConfig\nconfig = OpenHandsConfig(runtime="local")\n',
    "env.py": b'from agent.envs import get_environment\nenv = get_environment(cfg, environment_class="local")\n',
}


def test_the_per_call_filter_of_the_python_detectors_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python detectors offer a call to their handlers only when its name or a keyword
    argument is one the gate reads (`gates.python_call_names`): over every Python fixture, the
    detectors report the same with and without that filter."""
    from scanner.launch import sdk_python

    walked = walk(FIXTURES)
    project = ProjectFiles(FIXTURES, walked.readable)
    tools = ConfigTools.of(load_catalog())
    sources = [(cand.path, read_candidate(FIXTURES, cand)[0]) for cand in walked.candidates if cand.kind == "python"]
    compared = 0
    for path, data in [*sources, *_BY_KEYWORD.items()]:
        if not data:
            continue
        answers = []
        for on in (True, False):
            monkeypatch.setattr(sdk_python, "CALL_FILTER", on)
            analysis = Analysis(SourceFile(path, data), "python", tools, project)
            answers.append([repr(item) for item in sdk_python.detect_python(analysis)])
        assert answers[0] == answers[1], path
        assert answers[0] or path not in _BY_KEYWORD, path
        compared += bool(answers[1])
    assert compared >= 25  # files in which the detectors report something

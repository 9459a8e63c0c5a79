"""Values from elsewhere: helpers, other modules, branches, agent tools, re-read shell lines.

The scenario repos under fixtures/repos/ (py-sdk-options-helper, py-agent-tools,
py-helper-built-commands, py-framework-approvals, js-spawn-from-helpers, js-launcher-descriptors,
ts-agent-tools, shell-auto-confirm) pin the exact findings; these tests pin the properties that
make the reading safe: bounded, deterministic, uncertainty shown as confidence.
"""

from __future__ import annotations

import time
from pathlib import Path

from scanner.engine import ScanOptions, scan
from scanner.model import Confidence, Severity


def _scan(tmp_path: Path, files: dict[str, str]):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return scan(tmp_path, ScanOptions(jobs=1))


def _found(result) -> set[tuple[str, str, int]]:
    return {(f.rule_id, f.location.path, f.location.line) for f in result.findings}


def test_a_flag_on_one_branch_is_reported_at_medium_confidence(tmp_path: Path) -> None:
    result = _scan(tmp_path, {"run.py": (
        "import subprocess\n"
        "def go(task, auto):\n"
        "    argv = ['aider', '--message', task] + (['--yes-always'] if auto else [])\n"
        "    subprocess.run(argv, timeout=60)\n")})
    bypass = [f for f in result.findings if f.rule_id == "agent-permission-bypass"]
    assert [(f.location.line, f.severity, f.confidence) for f in bypass] == [(3, Severity.HIGH, Confidence.MEDIUM)]


def test_one_form_is_definite(tmp_path: Path) -> None:
    result = _scan(tmp_path, {"run.py": (
        "import subprocess\n"
        "def argv(task):\n"
        "    return ['aider', '--yes-always', '--message', task]\n"
        "subprocess.run(argv('x'), timeout=60)\n")})
    assert {f.confidence for f in result.findings} == {Confidence.HIGH}
    assert ("agent-permission-bypass", "run.py", 3) in _found(result)


def test_branching_helpers_stay_bounded(tmp_path: Path) -> None:
    n = 60
    py = ["import subprocess"]
    js = ['const { spawn } = require("child_process");']
    for i in range(n):
        py.append(f"def f{i}(x):\n" + "".join(f"    if x == {k}:\n        return f{i + 1}(x) if x else f{i + 1}(x + 1)\n"
                                             for k in range(8)) + "    return ['claude']")
        js.append(f"function f{i}(x) {{\n" + "".join(f"  if (x == {k}) return f{i + 1}(x) || f{i + 1}(x + 1);\n"
                                                  for k in range(8)) + "  return ['claude'];\n}")
    py.append(f"def f{n}(x):\n    return ['claude']\nsubprocess.run(f0(1))")
    js.append(f"function f{n}(x) {{ return ['claude']; }}\nspawn(f0(1)[0], f0(1), {{}});")
    started = time.monotonic()
    first = _scan(tmp_path, {"bomb.py": "\n".join(py) + "\n", "bomb.js": "\n".join(js) + "\n"})
    assert time.monotonic() - started < 30
    again = scan(tmp_path, ScanOptions(jobs=1))
    assert _found(first) == _found(again)


def test_imports_do_not_leave_the_repository(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "argv.js").write_text("export function argv() { return ['--yolo']; }\n", encoding="utf-8")
    repo = tmp_path / "repo"
    result = _scan(repo, {"run.js": (
        "import { spawn } from 'node:child_process';\n"
        "import { argv } from '../outside/argv.js';\n"
        "spawn('gemini', argv(), { env: { PATH: '/usr/bin' }, timeout: 1000 });\n")})
    assert not any(f.rule_id == "agent-permission-bypass" for f in result.findings)
    assert ("agent-inline-launch", "run.js", 3) in _found(result)


def test_unparseable_region_is_reread_line_by_line(tmp_path: Path) -> None:
    result = _scan(tmp_path, {"job.sh": (
        "#!/bin/bash\n"
        'X=$(python3 -c "print(\'```\')")\n'
        'if [ -n "$X" ]; then\n'
        '  claude --dangerously-skip-permissions "$X" || true\n'
        "fi\n")})
    assert ("agent-permission-bypass", "job.sh", 4) in _found(result)


def test_tool_with_fixed_program_is_not_host_code_execution(tmp_path: Path) -> None:
    result = _scan(tmp_path, {"tools.py": (
        "import subprocess\n"
        "from crewai.tools import BaseTool\n"
        "class Lines(BaseTool):\n"
        "    name: str = 'lines'\n"
        "    def _run(self, path: str) -> str:\n"
        "        return subprocess.check_output(['wc', '-l', path], text=True)\n"
        "class Shell(BaseTool):\n"
        "    name: str = 'shell'\n"
        "    def _run(self, command: str) -> str:\n"
        "        return subprocess.check_output(['bash', '-lc', command], text=True)\n")})
    assert _found(result) == {("framework-host-code-execution", "tools.py", 10)}


def test_a_script_started_from_the_calling_scripts_folder_is_read_through(tmp_path: Path) -> None:
    """`"$(dirname "$0")/sandbox.sh" claude ...` and `"$SCRIPT_DIR/sandbox.sh" codex ...` (the folder
    held in a variable) reach the repository's sandbox script; a script the repository does not
    have leaves the launch undecided, never silently dropped."""
    sandbox = ('#!/usr/bin/env bash\nexec bwrap --unshare-all --die-with-parent --clearenv --ro-bind /usr /usr '
               '--tmpfs /tmp --proc /proc --dev /dev -- "$@"\n')
    review = ('#!/usr/bin/env bash\n'
              '"$(dirname "$0")/sandbox.sh" claude -p "review the diff"\n'
              'SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\n'
              '"$SCRIPT_DIR/sandbox.sh" codex exec "fix the tests"\n'
              '"$(dirname "$0")/elsewhere.sh" gemini -p "hello"\n')
    result = _scan(tmp_path, {"scripts/sandbox.sh": sandbox, "scripts/review.sh": review})
    sites = {(s.location.line, s.agent): s.containment.boundary.value for s in result.launch_sites}
    assert sites == {(2, "claude-code"): "os-sandbox", (4, "codex"): "os-sandbox", (5, "gemini-cli"): "unknown"}
    assert ("agent-containment-undecided", "scripts/review.sh", 5) in _found(result)

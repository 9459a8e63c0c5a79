"""Shared helpers for tests/test_reports_*.py (no tests here): scenario trees, CLI runs, golden files.

Golden files live in tests/golden/. When a report changes on purpose, regenerate them with

    BLASTWALL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_reports_golden.py

and review the diff like code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("BLASTWALL_UPDATE_GOLDEN") == "1"

# The rendering and wording bugs of the issue, one file each where possible.
WORDING = {
    # `pwd` inside a message's backticks; a quoted line ending in `\`; a privileged sandbox whose
    # rule text quotes `--privileged`.
    "run.sh": ("#!/bin/sh\n"
               "docker run --rm -v `pwd`:/work --network none agent-image claude -p \"review\" \\\n"
               "  --dangerously-skip-permissions\n"
               "docker run --privileged -v \"$(pwd)\":/src agent-image claude -p \"fix\"\n"),
    # A container image whose boundary tool already says "container".
    "Dockerfile": ("FROM node:20\nRUN npm install -g @anthropic-ai/claude-code\n"
                   "ENTRYPOINT [\"claude\", \"--dangerously-skip-permissions\", \"-p\"]\n"),
    # A framework whose launcher is the agent's own name.
    "agents/autofix.py": (ROOT / "fixtures" / "repos" / "sdk-mixed-frameworks" / "agents" / "autofix.py").read_text(),
}

# Unclear: the network comes from a variable, and a medium finding of another rule sits beside it.
UNCLEAR = {
    "scripts/agent.sh": ("#!/bin/sh\n"
                         "timeout 30m docker run --rm --read-only -v \"$PWD\":/work \\\n"
                         "  --network \"$AGENT_NETWORK\" \\\n"
                         "  agent@sha256:" + "a" * 64 + " claude -p \"$TASK\"\n"),
}

PY = ('import os, subprocess\n\ndef run_{n}(task):\n    cmd = ["claude", "--dangerously-skip-permissions", "-p", task]\n'
      '    return subprocess.run(cmd, env=os.environ, check=True)\n')
SH = '#!/bin/sh\nset -e\ndocker run --rm -v "$(pwd)":/work agent-image:{n} \\\n  codex exec --full-auto "fix {n}"\n'
JS = 'const {{ spawn }} = require("child_process");\nspawn("gemini", ["--yolo", "-p", "t{n}"], {{ env: process.env }});\n'
MK = 'review:\n\taider --yes-always --message "review {n}"\n'


def big_tree() -> dict[str, str]:
    """104 launch sites across src/, scripts/, web/, tests/ and examples/."""
    files = {}
    for n in range(30):
        files[f"src/pkg{n % 6}/tool_{n}.py"] = PY.format(n=n)
    for n in range(14):
        files[f"scripts/run_{n}.sh"] = SH.format(n=n)
    for n in range(16):
        files[f"web/{n % 3}/agent{n}.js"] = JS.format(n=n)
    for n in range(40):
        files[f"tests/unit/test_tool_{n}.py"] = PY.format(n=n)
    for n in range(4):
        files[f"examples/demo{n}/Makefile"] = MK.format(n=n)
    return files


def build(base: Path, files: dict[str, str], name: str = "repo") -> Path:
    tree = base / name
    for rel, text in files.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tree


def env(**extra: str) -> dict[str, str]:
    """The environment of a CLI run: no CI, GitHub or colour variables (zizmor's scrubbing)."""
    out = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "CI", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "TERM"))}
    out["PYTHONPATH"] = str(ROOT)
    out.update(extra)
    return out


def cli(*args: str, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env(**extra), timeout=300)


def scrub_rewrites(text: str) -> str:
    """Replace the after-side of `blastwall fix --apply` rewrites (scanner/remediation/apply.py
    owns them and they change with it) with a placeholder; the rule's own examples stay."""
    import re

    # Markdown: "Before (`path` line N):" ... "After:" then one fenced block.
    text = re.sub(r"(Before \([^\n]* line \d+\):\n\n(`{3,})[^\n]*\n.*?\n\2\n\nAfter:\n\n(`{3,})[^\n]*\n).*?(\n\3\n)",
                  r"\1<rewrite by scanner/remediation/apply.py>\4", text, flags=re.S)
    # Text: a "path:line" label, "- before" lines, then "+ after" lines.
    out, in_rewrite = [], False
    for line in text.split("\n"):
        stripped = line.strip()
        if re.fullmatch(r"\S+:\d+", stripped) and line.startswith("      "):
            in_rewrite = True
        elif in_rewrite and stripped.startswith("+ "):
            line = line[: len(line) - len(line.lstrip())] + "+ <rewrite by scanner/remediation/apply.py>"
        elif not stripped.startswith("- "):
            in_rewrite = False
        out.append(line)
    return "\n".join(out)


def assert_golden(name: str, text: str) -> None:
    text = scrub_rewrites(text)
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"{path} is missing; run with BLASTWALL_UPDATE_GOLDEN=1 to write it"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        import difflib

        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), f"golden/{name}",
                                            "now", n=2))
        raise AssertionError(f"{name} differs from its golden file (BLASTWALL_UPDATE_GOLDEN=1 to accept):\n{diff[:6000]}")

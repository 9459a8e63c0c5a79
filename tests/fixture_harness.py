"""Shared test helpers: annotated fixtures (`ruleid:` / `ok:` / `todoruleid:` / `todook:` comments),
repositories written for one test, and a spy on the semgrep runner."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ANNOTATION = re.compile(r"(?:#|//|--|;|<!--)\s*(todoruleid|todook|ruleid|ok):\s*([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)")


@dataclass
class Expectations:
    expected: set[tuple[str, str, int]] = field(default_factory=set)  # must be reported
    forbidden: set[tuple[str, str, int]] = field(default_factory=set)  # must not be reported
    todo_missing: set[tuple[str, str, int]] = field(default_factory=set)  # known false negatives
    todo_extra: set[tuple[str, str, int]] = field(default_factory=set)  # known false positives
    rules: set[str] = field(default_factory=set)


def read_annotations(folder: Path) -> Expectations:
    exp = Expectations()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name == "expected.yaml":
            continue
        rel = path.relative_to(folder).as_posix()
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(lines, start=1):
            match = ANNOTATION.search(line)
            if not match:
                continue
            kind = match.group(1)
            for rule in (r.strip() for r in match.group(2).split(",")):
                key = (rule, rel, number + 1)
                exp.rules.add(rule)
                {"ruleid": exp.expected, "ok": exp.forbidden, "todoruleid": exp.todo_missing,
                 "todook": exp.todo_extra}[kind].add(key)
    sidecar = folder / "expected.yaml"
    if sidecar.is_file():
        data = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
        for item in data.get("findings") or ():
            exp.expected.add((item["rule"], item["path"], int(item["line"])))
            exp.rules.add(item["rule"])
        for item in data.get("ok") or ():
            exp.forbidden.add((item["rule"], item["path"], int(item["line"])))
            exp.rules.add(item["rule"])
    return exp


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write a small repository for one test: relative path -> text."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def spy_semgrep(monkeypatch) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The target lists semgrep is started with during the test (it still runs)."""
    import scanner.launch.semgrep_runner as runner

    seen: list[list[str]] = []
    real = runner.run_semgrep

    def spy(root, targets, dirs, timeout=120.0):  # type: ignore[no-untyped-def]
        seen.append(list(targets))
        return real(root, targets, dirs, timeout)

    monkeypatch.setattr(runner, "run_semgrep", spy)
    return seen


def blastwall(*args: str):  # type: ignore[no-untyped-def]
    """The command line run as a user runs it: a fresh process, a small environment, no stdin."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(root), "HOME": os.environ.get("HOME", "/")}
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, text=True, env=env,
                          timeout=180, stdin=subprocess.DEVNULL)


def plan_for(repo: Path):  # type: ignore[no-untyped-def]
    """What `blastwall fix --apply` plans: the runner hands on the spec's secrets and settings."""
    from scanner.engine import ScanOptions, scan
    from scanner.remediation.apply import plan_apply
    from scanner.remediation.tailor import key_names, tailored_spec

    result = scan(repo, ScanOptions())
    spec = tailored_spec(result)
    runner_env = frozenset((*spec.secrets, *spec.pass_env)) if spec is not None else frozenset()
    return result, plan_apply(repo, result, "sandbox/agent-bwrap.sh", key_names(result), runner_env=runner_env)

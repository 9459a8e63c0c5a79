"""The composite action's scripts, run locally with a simulated GitHub Actions environment.

Each test lays out what a runner provides (GITHUB_ACTION_PATH, GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY, RUNNER_TEMP, an event file) in a temporary folder and runs the step
scripts in order, the way action.yml does, with the inputs in BLASTWALL_INPUT_* variables.

Two blastwalls are used: a stub written by the tests (fixed reports, records its argv), which
checks the action's own logic without the scanner, and the real CLI (`python -m scanner`) on a
scenario fixture, which checks the whole chain. Installation is skipped with
BLASTWALL_SKIP_INSTALL=1 and BLASTWALL_BIN.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACTION_DIR = ROOT / "action"
FIXTURE_REPOS = ROOT / "fixtures" / "repos"
BASE_REPO = "octo-org/project"
BASE_SHA = "a" * 40


# --------------------------------------------------------------------------------------------
# A simulated runner


def _base_env() -> dict[str, str]:
    """A clean environment: nothing from a real runner (tests may run inside one) leaks in."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if key in os.environ}
    env["BLASTWALL_PYTHON"] = sys.executable
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class Runner:
    """One simulated job: the files a runner provides, and the step scripts run in order."""

    def __init__(self, tmp: Path, workspace: Path, event: dict[str, Any] | None, event_name: str) -> None:
        self.tmp = tmp
        self.workspace = workspace
        self.runner_temp = tmp / "runner-temp"
        self.runner_temp.mkdir()
        self.output = tmp / "github-output"
        self.summary = tmp / "step-summary.md"
        self.output.touch()
        self.summary.touch()
        self.event_path = tmp / "event.json"
        self.event_path.write_text(json.dumps(event or {}), encoding="utf-8")
        self.env = _base_env()
        self.env.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_ACTION_PATH": str(ROOT),
                "GITHUB_OUTPUT": str(self.output),
                "GITHUB_STEP_SUMMARY": str(self.summary),
                "GITHUB_WORKSPACE": str(workspace),
                "GITHUB_EVENT_NAME": event_name,
                "GITHUB_EVENT_PATH": str(self.event_path),
                "GITHUB_REPOSITORY": BASE_REPO,
                "GITHUB_ACTOR": "contributor",
                "RUNNER_TEMP": str(self.runner_temp),
                "BLASTWALL_SKIP_INSTALL": "1",
            }
        )

    def step(self, script: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run action/<script>.sh like a composite step: cwd is the workspace, env from `env:`."""
        self.output.write_text("", encoding="utf-8")  # each step gets its own output file
        return subprocess.run(
            ["bash", str(ACTION_DIR / f"{script}.sh")],
            cwd=self.workspace,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def outputs(self) -> dict[str, str]:
        return parse_outputs(self.output.read_text(encoding="utf-8"))

    def run_action(self, bin_command: str, **inputs: str) -> tuple[dict[str, str], list[subprocess.CompletedProcess[str]]]:
        """install → scan → summary → finish, wiring outputs to env like action.yml does."""
        procs = []
        install = self.step("install", BLASTWALL_BIN=bin_command)
        procs.append(install)
        assert install.returncode == 0, install.stdout + install.stderr
        bin_out = self.outputs()["bin"]
        scan_env = {f"BLASTWALL_INPUT_{key.upper()}": value for key, value in inputs.items()}
        scan = self.step("scan", BLASTWALL_BIN=bin_out, **scan_env)
        procs.append(scan)
        if scan.returncode != 0:
            return {}, procs
        out = self.outputs()
        procs.append(
            self.step(
                "summary",
                BLASTWALL_JSON_FILE=out["json-file"],
                BLASTWALL_MARKDOWN_FILE=out["markdown-file"],
                BLASTWALL_INPUT_FAIL_ON=inputs.get("fail_on", "present"),
                BLASTWALL_SCAN_EXIT_CODE=out["exit-code"],
                BLASTWALL_NEW_ONLY=out["new-only"],
                BLASTWALL_PATH_PREFIX=out["path-prefix"],
                BLASTWALL_NOTE=out["note"],
                BLASTWALL_ARTIFACT_NAME=out["artifact-name"],
            )
        )
        procs.append(
            self.step(
                "finish",
                BLASTWALL_SCAN_EXIT_CODE=out["exit-code"],
                BLASTWALL_VERDICT=out["verdict"],
                BLASTWALL_INPUT_FAIL_ON=inputs.get("fail_on", "present"),
            )
        )
        return out, procs


def parse_outputs(text: str) -> dict[str, str]:
    """Read $GITHUB_OUTPUT's `name<<DELIMITER ... DELIMITER` blocks (and plain name=value lines)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
            i += 1
        else:
            i += 1
    return values


def pr_event(head_repo: str | None, number: int = 7) -> dict[str, Any]:
    return {
        "pull_request": {
            "number": number,
            "head": {"sha": "b" * 40, "repo": {"full_name": head_repo} if head_repo else None},
            "base": {"sha": BASE_SHA, "repo": {"full_name": BASE_REPO}},
        }
    }


FORK_EVENT = pr_event("someone-else/project")
SAME_REPO_EVENT = pr_event(BASE_REPO)


# --------------------------------------------------------------------------------------------
# A stub blastwall that honours the CLI contract


STUB = r'''
import json, os, sys
args = sys.argv[1:]
log = os.environ.get("STUB_LOG")
if log:
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(args) + "\n")
def value(flag):
    return args[args.index(flag) + 1] if flag in args else None
verdict = os.environ.get("STUB_VERDICT", "present")
quote = os.environ.get("STUB_QUOTE", "claude --dangerously-skip-permissions -p fix")
findings = [] if verdict == "not present" else [
    {"rule_id": "permission-bypass-flag", "category": "permission-bypass", "severity": "high",
     "confidence": "high", "path": "scripts/agent.sh", "line": 3, "column": 1, "end_line": 3,
     "quote": quote, "fingerprint": "f1", "suppressed": ""},
    {"rule_id": "inherited-environment", "category": "inherited-credentials", "severity": "critical",
     "confidence": "high", "path": "scripts/agent.sh", "line": 3, "column": 1, "end_line": 3,
     "quote": quote, "fingerprint": "f2", "suppressed": ""},
    {"rule_id": "no-timeout", "category": "unbounded-session", "severity": "low",
     "confidence": "medium", "path": "scripts/agent.sh", "line": 3, "column": 1, "end_line": 3,
     "quote": quote, "fingerprint": "f3", "suppressed": "accepted risk"},
]
report = {"schema_version": "1", "tool": {"name": "blastwall"}, "verdict": verdict,
          "findings": findings, "launch_sites": [{"site_id": "s1"}] if findings else [],
          "coverage": {"files_scanned": 1}}
with open(value("--json-output"), "w", encoding="utf-8") as handle:
    json.dump(report, handle)
with open(value("--markdown-output"), "w", encoding="utf-8") as handle:
    handle.write(os.environ.get("STUB_MARKDOWN", "# blastwall report\n\n## 1. VERDICT\n\n" + verdict + "\n\n## 2. EVIDENCE\n\n```sh\n" + quote + "\n```\n"))
sarif = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "blastwall", "rules": []}},
         "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///scanned/"}},
         "results": [{"ruleId": f["rule_id"], "message": {"text": "x"}, "locations": [{"physicalLocation": {
             "artifactLocation": {"uri": f["path"], "uriBaseId": "%SRCROOT%"}, "region": {"startLine": f["line"]}}}]}
             for f in findings]}]}
with open(value("--sarif-output"), "w", encoding="utf-8") as handle:
    json.dump(sarif, handle)
print("stub scan of", args[-1], "->", verdict)
fail_on = value("--fail-on") or "present"
rank = {"not present": 0, "unclear": 1, "present": 2}
sys.exit(0 if fail_on == "never" or rank[verdict] < rank[fail_on] else 1)
'''


@pytest.fixture()
def stub(tmp_path: Path) -> tuple[str, Path]:
    script = tmp_path / "stub_blastwall.py"
    script.write_text(STUB, encoding="utf-8")
    return f"{sys.executable} {script}", tmp_path / "stub-argv.log"


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    (ws / "scripts").mkdir(parents=True)
    (ws / "scripts" / "agent.sh").write_text("#!/bin/sh\n\nclaude --dangerously-skip-permissions -p fix\n")
    return ws


def _logged_argv(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


# --------------------------------------------------------------------------------------------
# The action's own logic, against the stub


def test_fork_pull_request_skips_sarif_upload_and_comment(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, _ = stub
    runner = Runner(tmp_path, workspace, FORK_EVENT, "pull_request")
    out, procs = runner.run_action(bin_command, path=".", fail_on="never", comment="true")
    scan = procs[1]
    assert scan.returncode == 0, scan.stdout + scan.stderr
    assert out["verdict"] == "present"
    assert out["findings"] == "2"  # the suppressed one is not counted
    assert out["exit-code"] == "0"
    assert Path(out["sarif-file"]).is_file() and Path(out["sarif-file"]).is_relative_to(runner.runner_temp)
    assert out["upload-sarif"] == "false"
    assert out["upload-artifact"] == "true"
    assert out["comment"] == "false"
    assert out["note"] == "fork"
    assert out["artifact-name"] == "blastwall-blastwall"
    assert "read-only" in scan.stdout  # a ::notice:: explains why
    summary = runner.summary.read_text(encoding="utf-8")
    assert "fork" in summary and "blastwall-blastwall" in summary
    assert procs[-1].returncode == 0


def test_same_repo_pull_request_uploads_and_may_comment(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, _ = stub
    runner = Runner(tmp_path, workspace, SAME_REPO_EVENT, "pull_request")
    out, procs = runner.run_action(bin_command, fail_on="never", comment="true")
    assert procs[1].returncode == 0, procs[1].stdout + procs[1].stderr
    assert out["upload-sarif"] == "true"
    assert out["upload-artifact"] == "false"
    assert out["comment"] == "true"
    assert out["pr-number"] == "7"


def test_dependabot_gets_the_read_only_treatment(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, _ = stub
    runner = Runner(tmp_path, workspace, SAME_REPO_EVENT, "pull_request")
    runner.env["GITHUB_ACTOR"] = "dependabot[bot]"
    out, _ = runner.run_action(bin_command, fail_on="never")
    assert (out["upload-sarif"], out["upload-artifact"], out["note"]) == ("false", "true", "read-only")


def test_push_event_uploads_without_comment(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, _ = stub
    runner = Runner(tmp_path, workspace, {"ref": "refs/heads/main"}, "push")
    out, procs = runner.run_action(bin_command, fail_on="never", comment="true")
    assert out["upload-sarif"] == "true"
    assert out["comment"] == "false"
    assert "not a pull request" in procs[1].stdout


def test_sarif_false_uploads_nothing(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, _ = stub
    runner = Runner(tmp_path, workspace, FORK_EVENT, "pull_request")
    out, _ = runner.run_action(bin_command, fail_on="never", sarif="false")
    assert (out["upload-sarif"], out["upload-artifact"]) == ("false", "false")


@pytest.mark.parametrize(("fail_on", "verdict", "expected"), [
    ("present", "present", 1),
    ("never", "present", 0),
    ("unclear", "unclear", 1),
    ("present", "unclear", 0),
    ("present", "not present", 0),
])
def test_fail_on_decides_the_final_exit_code(tmp_path: Path, workspace: Path, stub, fail_on, verdict, expected) -> None:
    bin_command, _ = stub
    runner = Runner(tmp_path, workspace, FORK_EVENT, "pull_request")
    runner.env["STUB_VERDICT"] = verdict
    out, procs = runner.run_action(bin_command, fail_on=fail_on)
    scan, summary, finish = procs[1], procs[2], procs[3]
    assert scan.returncode == 0, "the scan step must not fail before the reports are published"
    assert summary.returncode == 0, summary.stderr
    assert out["verdict"] == verdict
    assert out["exit-code"] == str(expected)
    assert finish.returncode == expected
    assert ("The step fails" if expected else "The step passes") in runner.summary.read_text(encoding="utf-8")
    if expected:
        assert "::error" in finish.stdout and fail_on in finish.stdout


def test_scanner_errors_fail_the_scan_step(tmp_path: Path, workspace: Path) -> None:
    broken = tmp_path / "broken_blastwall.py"
    broken.write_text("import sys\nprint('usage error', file=sys.stderr)\nsys.exit(2)\n", encoding="utf-8")
    runner = Runner(tmp_path, workspace, FORK_EVENT, "pull_request")
    out, procs = runner.run_action(f"{sys.executable} {broken}")
    assert out == {}
    assert procs[1].returncode == 2
    assert "::error" in procs[1].stdout


def test_the_scanner_gets_one_run_with_every_format(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, log = stub
    runner = Runner(tmp_path, workspace, FORK_EVENT, "pull_request")
    runner.env["STUB_LOG"] = str(log)
    out, _ = runner.run_action(bin_command, path="scripts", fail_on="unclear", extra_args="--jobs 2 --debug")
    (argv,) = _logged_argv(log)
    assert argv[0] == "scan"
    assert argv[-2:] == ["--", "scripts"]
    for flag, value in (("--sarif-output", out["sarif-file"]), ("--markdown-output", out["markdown-file"]),
                        ("--json-output", out["json-file"]), ("--fail-on", "unclear")):
        assert argv[argv.index(flag) + 1] == value
    assert "--no-progress" in argv
    assert argv[argv.index("--jobs") + 1] == "2"
    assert "--debug" in argv


def test_sarif_paths_are_rebased_onto_the_repository_root(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, _ = stub
    runner = Runner(tmp_path, workspace, FORK_EVENT, "pull_request")
    out, _ = runner.run_action(bin_command, path="scripts", fail_on="never")
    sarif = json.loads(Path(out["sarif-file"]).read_text(encoding="utf-8"))
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"] for loc in r["locations"]}
    assert uris == {"scripts/scripts/agent.sh"}  # the stub reports paths relative to the scanned folder
    assert out["path-prefix"] == "scripts"
    assert "| scripts/scripts/agent.sh:3 |" in runner.summary.read_text(encoding="utf-8")


@pytest.mark.parametrize(("inputs", "message"), [
    ({"fail_on": "high"}, "fail-on"),
    ({"sarif": "yes"}, "sarif"),
    ({"comment": "1"}, "comment"),
    ({"new_only": "maybe"}, "new-only"),
    ({"path": "does/not/exist"}, "does not exist"),
    ({"category": "bad category!"}, "category"),
    ({"baseline": "missing.json"}, "baseline"),
    ({"extra_args": "--output /etc/passwd"}, "--output"),
    ({"extra_args": "--fail-on never"}, "fail-on"),
    ({"extra_args": "--format json"}, "--format"),
    ({"extra_args": "-o report.txt"}, "-o"),
    ({"extra_args": "--jobs=2 --diff-base HEAD~3"}, "new-only"),
    ({"extra_args": "--unknown-flag"}, "not an allowed"),
    ({"extra_args": "$(touch pwned)"}, "may not contain"),
    ({"extra_args": "--jobs `id`"}, "may not contain"),
    ({"extra_args": "--jobs;id"}, "may not contain"),
    ({"extra_args": "--jobs -1"}, "not a valid value for --jobs"),
    ({"extra_args": "--jobs all"}, "not a valid value for --jobs"),
    ({"extra_args": "--jobs"}, "needs a value"),
    ({"extra_args": "--debug=1"}, "takes no value"),
])
def test_bad_inputs_are_rejected_before_scanning(tmp_path: Path, workspace: Path, stub, inputs, message) -> None:
    bin_command, log = stub
    runner = Runner(tmp_path, workspace, FORK_EVENT, "pull_request")
    runner.env["STUB_LOG"] = str(log)
    _, procs = runner.run_action(bin_command, **inputs)
    scan = procs[1]
    assert scan.returncode == 2
    assert scan.stdout.startswith("::error title=blastwall::") and message in scan.stdout, scan.stdout
    assert _logged_argv(log) == [], "the scanner must not run on invalid inputs"
    assert not (workspace / "pwned").exists()


def test_outputs_use_heredoc_delimiters(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, _ = stub
    runner = Runner(tmp_path, workspace, FORK_EVENT, "pull_request")
    runner.step("install", BLASTWALL_BIN=bin_command)
    text = runner.output.read_text(encoding="utf-8")
    assert re.fullmatch(r"bin<<(blastwall_[0-9a-f]{32})\n.*\n\1\n", text), text


# --------------------------------------------------------------------------------------------
# new-only / baseline


def _git(cwd: Path, *args: str) -> str:
    env = {**_base_env(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_new_only_passes_the_pull_request_base_commit(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, log = stub
    _git(workspace, "init", "-q")
    _git(workspace, "add", ".")
    _git(workspace, "commit", "-q", "-m", "base")
    base = _git(workspace, "rev-parse", "HEAD")
    event = pr_event(BASE_REPO)
    event["pull_request"]["base"]["sha"] = base
    runner = Runner(tmp_path, workspace, event, "pull_request")
    runner.env["STUB_LOG"] = str(log)
    out, procs = runner.run_action(bin_command, fail_on="never", new_only="true")
    assert procs[1].returncode == 0, procs[1].stdout + procs[1].stderr
    (argv,) = _logged_argv(log)
    assert argv[argv.index("--diff-base") + 1] == base
    assert out["new-only"] == "true"
    assert "new finding" in runner.summary.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_new_only_without_the_base_commit_says_how_to_fix_it(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, log = stub
    _git(workspace, "init", "-q")
    runner = Runner(tmp_path, workspace, SAME_REPO_EVENT, "pull_request")  # BASE_SHA is not in the repo
    runner.env["STUB_LOG"] = str(log)
    _, procs = runner.run_action(bin_command, new_only="true")
    assert procs[1].returncode == 2
    assert "fetch-depth: 0" in procs[1].stdout
    assert _logged_argv(log) == []


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_defaulted_new_only_without_the_base_commit_scans_in_full(tmp_path: Path, workspace: Path, stub) -> None:
    """new-only left at "auto": a shallow checkout without the PR base is scanned in full, not failed."""
    bin_command, log = stub
    _git(workspace, "init", "-q")
    runner = Runner(tmp_path, workspace, SAME_REPO_EVENT, "pull_request")  # BASE_SHA is not in the repo
    runner.env["STUB_LOG"] = str(log)
    _, procs = runner.run_action(bin_command, fail_on="never", new_only="true", new_only_auto="true")
    assert procs[1].returncode == 0, procs[1].stdout + procs[1].stderr
    (argv,) = _logged_argv(log)
    assert "--diff-base" not in argv
    assert "scanning in full instead" in procs[1].stdout and "fetch-depth: 0" in procs[1].stdout


def test_new_only_on_push_scans_in_full(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, log = stub
    runner = Runner(tmp_path, workspace, {}, "push")
    runner.env["STUB_LOG"] = str(log)
    out, procs = runner.run_action(bin_command, fail_on="never", new_only="true")
    (argv,) = _logged_argv(log)
    assert "--diff-base" not in argv
    assert "scanned in full" in procs[1].stdout


def test_baseline_is_passed_through(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, log = stub
    (workspace / "previous.json").write_text("{}", encoding="utf-8")
    runner = Runner(tmp_path, workspace, FORK_EVENT, "pull_request")
    runner.env["STUB_LOG"] = str(log)
    out, _ = runner.run_action(bin_command, fail_on="never", baseline="previous.json")
    (argv,) = _logged_argv(log)
    assert argv[argv.index("--baseline") + 1] == "previous.json"
    assert out["new-only"] == "true"


# --------------------------------------------------------------------------------------------
# Install step


def test_install_rejects_a_free_form_version(tmp_path: Path, workspace: Path) -> None:
    runner = Runner(tmp_path, workspace, {}, "push")
    runner.env.pop("BLASTWALL_SKIP_INSTALL")
    for version in ("1.0; rm -rf /", "git+https://example.invalid/x", ">=0", "latest"):
        proc = runner.step("install", BLASTWALL_INPUT_VERSION=version)
        assert proc.returncode == 2 and "version" in proc.stdout, (version, proc.stdout)
    assert not list(runner.runner_temp.iterdir()), "no virtualenv is created for a rejected version"


def test_install_skip_switch_needs_a_command(tmp_path: Path, workspace: Path) -> None:
    runner = Runner(tmp_path, workspace, {}, "push")
    proc = runner.step("install")
    assert proc.returncode == 2 and "BLASTWALL_BIN" in proc.stdout


# --------------------------------------------------------------------------------------------
# Summary rendering and escaping


def _summary_module():
    sys.path.insert(0, str(ACTION_DIR))
    try:
        spec = importlib.util.spec_from_file_location("blastwall_action_summary", ACTION_DIR / "summary.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ACTION_DIR))


HOSTILE_QUOTE = "claude -p '<img src=x onerror=alert(1)>' | tee `out` @octocat [x](https://evil.example) <!-- blastwall-report -->"


def test_summary_puts_the_verdict_first_and_escapes_quotes(tmp_path: Path, workspace: Path, stub) -> None:
    bin_command, _ = stub
    runner = Runner(tmp_path, workspace, FORK_EVENT, "pull_request")
    runner.env["STUB_QUOTE"] = HOSTILE_QUOTE
    runner.env["STUB_MARKDOWN"] = "## 1. VERDICT\n\npresent <script>x</script> @octocat\n\n```sh\n<kept in code>\n```\n"
    runner.run_action(bin_command, fail_on="never")
    summary = runner.summary.read_text(encoding="utf-8")
    first = summary.splitlines()[0]
    assert first == "## blastwall verdict: **present**"
    assert "<details>" in summary and "</details>" in summary
    assert summary.index("| Severity |") < summary.index("<details>")
    table = [line for line in summary.splitlines() if line.startswith("| ")]
    assert len(table) == 4  # header, separator, two unsuppressed findings (critical first)
    assert "critical" in table[2] and "high" in table[3]
    row = table[2]
    assert row.count(" | ") == 3, "a quoted | must not add a column"
    assert "<img" not in summary and "&lt;img" in row
    assert "\\`out\\`" in row
    assert "@octocat" not in summary.replace("@\u200b", "")  # every mention defused
    assert "<script>" not in summary
    assert "<kept in code>" in summary  # code blocks are left alone
    assert "<!-- blastwall-report -->" not in summary


def test_escape_cell_cases() -> None:
    summary = _summary_module()
    assert summary.escape_cell("a|b") == "a\\|b"
    assert summary.escape_cell("`x`") == "\\`x\\`"
    assert summary.escape_cell("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert summary.escape_cell("hi @team") == "hi @\u200bteam"
    assert summary.escape_cell("me@example.com") == "me@\u200bexample\\.com"  # GitHub would mailto: it
    assert summary.escape_cell("line1\nline2\x1b[31m") == "line1 line2\\[31m"
    assert len(summary.escape_cell("x" * 1000)) <= summary.MAX_CELL


def test_summary_stays_under_one_mebibyte(tmp_path: Path) -> None:
    summary = _summary_module()
    findings = [
        {"rule_id": f"rule-{i}", "severity": "high", "path": f"src/f{i}.py", "line": i + 1, "quote": "q" * 300}
        for i in range(5000)
    ]
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"verdict": "present", "findings": findings, "launch_sites": []}), encoding="utf-8")
    markdown = tmp_path / "r.md"
    markdown.write_text("## 1. VERDICT\n\n```text\n" + ("evidence line\n" * 200_000) + "```\n", encoding="utf-8")
    out = tmp_path / "summary.md"
    assert summary.main(["summary", "--json", str(report), "--markdown", str(markdown), "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < 1024 * 1024
    assert text.startswith("## blastwall verdict: **present**")
    assert "and 4800 more" in text
    assert "cut here to fit" in text
    body = text[text.index("<details>") :]
    assert body.count("```") % 2 == 0, "a cut inside a code block closes the block"
    assert text.rstrip().endswith("</details>")


def test_comment_body_has_the_marker_and_fits(tmp_path: Path) -> None:
    summary = _summary_module()
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"verdict": "unclear", "findings": []}), encoding="utf-8")
    markdown = tmp_path / "r.md"
    markdown.write_text("## 1. VERDICT\n\n" + "x\n" * 100_000, encoding="utf-8")
    out = tmp_path / "body.json"
    summary.main(["comment", "--json", str(report), "--markdown", str(markdown), "--output", str(out), "--category", "blastwall"])
    body = json.loads(out.read_text(encoding="utf-8"))["body"]
    assert body.startswith("<!-- blastwall-report -->\n<!-- blastwall-category: blastwall -->\n## blastwall verdict: **unclear**")
    assert len(body) <= 65536


def test_unreadable_report_gives_an_unknown_verdict(tmp_path: Path) -> None:
    summary = _summary_module()
    out = tmp_path / "s.md"
    summary.main(["summary", "--json", str(tmp_path / "missing.json"), "--markdown", str(tmp_path / "missing.md"), "--output", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text.startswith("## blastwall verdict: **unknown**")


# --------------------------------------------------------------------------------------------
# PR comment, with a fake `gh`

FAKE_GH = r'''#!/usr/bin/env bash
# Records each call; answers `api user` and the comment listing from canned files.
printf '%s\n' "$*" >>"$FAKE_GH_LOG"
args=("$@")
if [[ "$2" == user ]]; then
  if [[ -n "${FAKE_GH_LOGIN:-}" ]]; then echo "$FAKE_GH_LOGIN"; exit 0; fi
  echo "Resource not accessible by integration" >&2
  exit 1
fi
if [[ "$3" == *"/comments?per_page=100" ]]; then
  jq -r "${args[-1]}" "$FAKE_GH_COMMENTS"  # gh --jq applies the filter like this
  exit 0
fi
for i in "${!args[@]}"; do
  if [[ "${args[i]}" == --input ]]; then cp "${args[i + 1]}" "$FAKE_GH_BODY"; fi
done
'''


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is needed to emulate gh --jq")
@pytest.mark.parametrize(("comments", "expected"), [
    ([], "POST repos/octo-org/project/issues/7/comments"),
    ([{"id": 41, "user": {"login": "github-actions[bot]"}, "body": "<!-- blastwall-report -->\n<!-- blastwall-category: blastwall -->\nold"}],
     "PATCH repos/octo-org/project/issues/comments/41"),
    # Someone else's comment carrying our marker is never edited.
    ([{"id": 42, "user": {"login": "mallory"}, "body": "<!-- blastwall-report -->\n<!-- blastwall-category: blastwall -->\nfake"}],
     "POST repos/octo-org/project/issues/7/comments"),
    # Another category's comment is left alone.
    ([{"id": 43, "user": {"login": "github-actions[bot]"}, "body": "<!-- blastwall-report -->\n<!-- blastwall-category: other -->\nold"}],
     "POST repos/octo-org/project/issues/7/comments"),
])
def test_comment_updates_in_place_or_posts(tmp_path: Path, workspace: Path, stub, comments, expected) -> None:
    bin_command, _ = stub
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH, encoding="utf-8")
    gh.chmod(0o755)
    listing = tmp_path / "comments.json"
    listing.write_text(json.dumps(comments), encoding="utf-8")
    runner = Runner(tmp_path, workspace, SAME_REPO_EVENT, "pull_request")
    out, _ = runner.run_action(bin_command, fail_on="never", comment="true")
    assert out["comment"] == "true"
    log, body = tmp_path / "gh.log", tmp_path / "body.json"
    proc = runner.step(
        "comment",
        PATH=f"{bin_dir}{os.pathsep}{runner.env['PATH']}",
        GH_TOKEN="dummy",
        FAKE_GH_LOG=str(log),
        FAKE_GH_COMMENTS=str(listing),
        FAKE_GH_BODY=str(body),
        BLASTWALL_PR_NUMBER=out["pr-number"],
        BLASTWALL_JSON_FILE=out["json-file"],
        BLASTWALL_MARKDOWN_FILE=out["markdown-file"],
        BLASTWALL_INPUT_CATEGORY="blastwall",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = log.read_text(encoding="utf-8").splitlines()
    writes = [c for c in calls if "--method" in c]
    assert len(writes) == 1 and expected in writes[0].replace("--method ", ""), calls
    posted = json.loads(body.read_text(encoding="utf-8"))["body"]
    assert posted.startswith("<!-- blastwall-report -->")
    assert "## blastwall verdict: **present**" in posted


def test_comment_without_gh_only_warns(tmp_path: Path, workspace: Path) -> None:
    runner = Runner(tmp_path, workspace, SAME_REPO_EVENT, "pull_request")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    bash_dir = str(Path(shutil.which("bash")).parent)
    proc = runner.step(
        "comment", PATH=f"{empty}{os.pathsep}{bash_dir}", GH_TOKEN="x", BLASTWALL_PR_NUMBER="7",
        BLASTWALL_JSON_FILE="r.json", BLASTWALL_MARKDOWN_FILE="r.md",
    )
    if shutil.which("gh", path=bash_dir):
        pytest.skip("gh is installed beside bash")
    assert proc.returncode == 0
    assert "::warning" in proc.stdout


# --------------------------------------------------------------------------------------------
# The scripts themselves


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_are_shellcheck_clean() -> None:
    scripts = sorted(str(p.relative_to(ROOT)) for p in ACTION_DIR.glob("*.sh"))
    proc = subprocess.run(["shellcheck", "-x", *scripts], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_scripts_are_strict_bash() -> None:
    for script in ACTION_DIR.glob("*.sh"):
        text = script.read_text(encoding="utf-8")
        if script.name == "lib.sh":
            continue
        assert text.startswith("#!/usr/bin/env bash\n"), script.name
        assert "set -euo pipefail" in text, script.name
        assert "GITHUB_ENV" not in text and "GITHUB_PATH" not in text, script.name
        assert "eval " not in text, script.name


# --------------------------------------------------------------------------------------------
# The whole chain with the real scanner on a scenario fixture

_HAVE_CLI = importlib.util.find_spec("scanner.cli") is not None if importlib.util.find_spec("scanner") else False


def _fixture(verdict: str) -> Path | None:
    """A scenario fixture whose reviewed expected verdict (expected.yaml) is `verdict`."""
    if not FIXTURE_REPOS.is_dir():
        return None
    yaml = pytest.importorskip("yaml")
    for candidate in sorted(p for p in FIXTURE_REPOS.iterdir() if p.is_dir()):
        manifest = candidate / "expected.yaml"
        if manifest.is_file():
            data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("verdict") == verdict and data.get("findings"):
                return candidate
    return None


needs_cli = pytest.mark.skipif(not _HAVE_CLI, reason="the blastwall CLI (scanner.cli) is not in this checkout yet")


@pytest.fixture()
def present_fixture(tmp_path: Path) -> Path:
    fixture = _fixture("present")
    if fixture is None:
        pytest.skip("no scenario fixture with verdict 'present' under fixtures/repos/")
    return fixture


def _real_runner(tmp_path: Path, fixture: Path) -> tuple[Runner, str]:
    runner = Runner(tmp_path, fixture, FORK_EVENT, "pull_request")
    runner.env["PYTHONPATH"] = str(ROOT)
    return runner, f"{sys.executable} -m scanner"


@needs_cli
def test_real_scan_of_a_present_fixture_on_a_fork_pr(tmp_path: Path, present_fixture: Path) -> None:
    runner, bin_command = _real_runner(tmp_path, present_fixture)
    out, procs = runner.run_action(bin_command, path=".", fail_on="never")
    scan = procs[1]
    assert scan.returncode == 0, scan.stdout + scan.stderr
    assert out["verdict"] == "present"
    assert int(out["findings"]) >= 1
    assert out["exit-code"] == "0"
    sarif = json.loads(Path(out["sarif-file"]).read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert Path(out["markdown-file"]).read_text(encoding="utf-8").count("## 1. VERDICT") == 1
    report = json.loads(Path(out["json-file"]).read_text(encoding="utf-8"))
    assert report["verdict"] == "present"
    assert (out["upload-sarif"], out["upload-artifact"], out["comment"]) == ("false", "true", "false")
    summary = runner.summary.read_text(encoding="utf-8")
    assert summary.splitlines()[0] == "## blastwall verdict: **present**"
    assert "| Severity | Rule | Location | Line |" in summary
    assert "<details>" in summary and "## 1. VERDICT" in summary
    assert procs[-1].returncode == 0


@needs_cli
@pytest.mark.parametrize(("fail_on", "expected"), [("present", 1), ("never", 0)])
def test_real_scan_fail_on(tmp_path: Path, present_fixture: Path, fail_on: str, expected: int) -> None:
    runner, bin_command = _real_runner(tmp_path, present_fixture)
    out, procs = runner.run_action(bin_command, fail_on=fail_on)
    assert procs[1].returncode == 0, procs[1].stdout + procs[1].stderr
    assert out["exit-code"] == str(expected)
    assert procs[-1].returncode == expected


@needs_cli
def test_real_scan_of_a_subfolder_rebases_sarif(tmp_path: Path, present_fixture: Path) -> None:
    runner = Runner(tmp_path, present_fixture.parent, FORK_EVENT, "pull_request")
    runner.env["PYTHONPATH"] = str(ROOT)
    out, procs = runner.run_action(f"{sys.executable} -m scanner", path=present_fixture.name, fail_on="never")
    assert procs[1].returncode == 0, procs[1].stdout + procs[1].stderr
    sarif = json.loads(Path(out["sarif-file"]).read_text(encoding="utf-8"))
    uris = [
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for result in sarif["runs"][0]["results"]
        for loc in result.get("locations", [])
    ]
    assert uris and all(uri.startswith(f"{present_fixture.name}/") for uri in uris), uris

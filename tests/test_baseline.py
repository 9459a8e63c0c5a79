"""New findings only: --baseline (fingerprints) and --diff-base (git), and what the reports say."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.post.baseline import BaselineError, load_baseline
from scanner.catalog import load_catalog
from scanner.engine import ScanOptions, scan
from scanner.post.gitdiff import GitError, changes_since, parse_diff
from scanner.model import Verdict
from scanner.output.json_report import render_json, to_dict
from scanner.output.markdown import render_markdown
from scanner.output.sarif import render_sarif

ROOT = Path(__file__).resolve().parents[1]
IGNORE = "blastwall" + ": ignore"
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

BYPASS = "claude --dangerously-skip-permissions -p review\n"
CONTAINED = "timeout 600 docker run --rm --network none --read-only agent@sha256:" + "a" * 64 + " claude -p hi\n"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=cwd)


def git(repo: Path, *args: str) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(repo), "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main",
                    *args], cwd=repo, env=env, check=True, capture_output=True)


def test_baseline_filters_after_lines_move(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("#!/bin/sh\n" + BYPASS)
    first = scan(tmp_path, ScanOptions(jobs=1))
    report = tmp_path.parent / f"{tmp_path.name}-baseline.json"
    report.write_text(render_json(first))
    assert first.verdict is Verdict.PRESENT

    # Lines move (a header is added) and a new launch appears further down.
    (tmp_path / "run.sh").write_text("#!/bin/sh\n# header\n\nset -eu\n" + BYPASS + "gemini --yolo -p x\n")
    prints = load_baseline(report)
    later = scan(tmp_path, ScanOptions(jobs=1, baseline=prints))
    assert {f.location.path for f in later.findings} == {"run.sh"}
    assert {f.location.line for f in later.findings} == {6}  # only the gemini launch is new
    assert later.filtered_preexisting == len(first.findings)
    assert later.new_only == "baseline"
    assert later.verdict is Verdict.PRESENT  # the new launch alone reaches it

    # Without the new launch, everything is pre-existing: the verdict covers what is left.
    (tmp_path / "run.sh").write_text("#!/bin/sh\n# header\n" + BYPASS)
    quiet = scan(tmp_path, ScanOptions(jobs=1, baseline=prints))
    assert quiet.findings == () and quiet.verdict is Verdict.NOT_PRESENT
    assert quiet.filtered_preexisting == len(first.findings)
    assert to_dict(quiet)["summary"]["filtered_preexisting"] == len(first.findings)
    md = render_markdown(quiet, load_catalog())
    verdict_section = md.split("## 2. EVIDENCE")[0]
    assert f"{len(first.findings)} findings filtered as pre-existing" in verdict_section
    sarif = json.loads(render_sarif(quiet, load_catalog()))
    assert sarif["runs"][0]["properties"]["filteredPreexisting"] == len(first.findings)


def test_baseline_from_sarif_and_bad_baselines(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text(BYPASS)
    first = scan(tmp_path, ScanOptions(jobs=1))
    sarif = tmp_path.parent / f"{tmp_path.name}.sarif"
    sarif.write_text(render_sarif(first, load_catalog()))
    assert load_baseline(sarif) == {f.fingerprint for f in first.findings}
    bad = tmp_path.parent / f"{tmp_path.name}-bad.json"
    for text in ("not json", "[1, 2]", '{"verdict": "present"}'):
        bad.write_text(text)
        with pytest.raises(BaselineError):
            load_baseline(bad)
    proc = run("scan", str(tmp_path), "--baseline", str(bad))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "not a blastwall JSON report" in proc.stderr
    proc = run("scan", str(tmp_path), "--baseline", str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "cannot read baseline" in proc.stderr


def test_parse_diff_hunks_quoted_paths_and_deletions() -> None:
    diff = (
        b"diff --git a/run.sh b/run.sh\n--- a/run.sh\n+++ b/run.sh\n"
        b"@@ -2,0 +3,2 @@\n+added one\n++double plus\n"
        b"@@ -9 +10,0 @@\n-removed line\n"
        b'diff --git "a/sp ace\\303\\251.sh" "b/sp ace\\303\\251.sh"\nnew file mode 100644\n--- /dev/null\n'
        b'+++ "b/sp ace\\303\\251.sh"\n@@ -0,0 +1 @@\n+x\n'
        b"diff --git a/gone.sh b/gone.sh\ndeleted file mode 100644\n--- a/gone.sh\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
    )
    lines, added, removed = parse_diff(diff)
    assert lines == {"run.sh": {3, 4, 10, 11}, "sp aceé.sh": {1}}
    assert added["run.sh"] == [(3, "added one"), (4, "+double plus")]
    assert removed["run.sh"] == [(10, "removed line")]


@needs_git
def test_diff_base_keeps_changed_lines_and_untracked_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "old.sh").write_text("#!/bin/sh\n" + BYPASS + "echo one\n")
    (repo / "moved.sh").write_text(BYPASS)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    # Edit: a new launch in old.sh, a rename, an untracked file, an ignore and a config change.
    (repo / "old.sh").write_text("#!/bin/sh\n" + BYPASS + "echo one\ngemini --yolo -p x  # " + IGNORE
                                 + "[agent-permission-bypass] sandboxed runner\n")
    git(repo, "mv", "moved.sh", "renamed.sh")
    (repo / "new.sh").write_text(CONTAINED)
    (repo / ".blastwall.toml").write_text('disable = ["agent-unpinned-image"]\n')

    proc = run("scan", str(repo), "--diff-base", "HEAD", "-f", "json", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    got = {(f["path"], f["line"]) for f in report["findings"]}
    assert ("old.sh", 2) not in got  # unchanged line: pre-existing
    assert ("old.sh", 4) in got and ("renamed.sh", 1) in got
    assert all(path in ("old.sh", "renamed.sh", "new.sh") for path, _ in got)
    assert report["summary"]["filtered_preexisting"] > 0
    assert report["summary"]["new_only"] is True and report["summary"]["new_only_base"] == "changes since HEAD"
    notes = {(n["path"], n["line"]) for n in report["review_notes"]}
    assert notes == {("old.sh", 4), (".blastwall.toml", 1)}
    assert report["verdict"] == "present"  # renamed.sh counts as changed and holds a bypass

    md = run("scan", str(repo), "--diff-base", "HEAD", "-f", "markdown", "--fail-on", "never").stdout
    verdict_section = md.split("## 2. EVIDENCE")[0]
    assert "Changes to blastwall's own configuration in this diff:" in verdict_section
    assert "`.blastwall.toml` line 1: `disable = [\"agent-unpinned-image\"]`" in verdict_section
    assert "filtered as pre-existing" in verdict_section


@needs_git
def test_diff_base_pyproject_table_and_single_file(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (repo / "run.sh").write_text(BYPASS)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n\n[tool.blastwall]\nexclude = ["x/"]\n')
    report = json.loads(run("scan", str(repo), "--diff-base", "HEAD", "-f", "json", "--fail-on", "never").stdout)
    assert [(n["path"], n["line"], n["text"]) for n in report["review_notes"]] == [
        ("pyproject.toml", 5, "[tool.blastwall]"), ("pyproject.toml", 6, 'exclude = ["x/"]')]
    assert report["findings"] == [] and report["verdict"] == "not present"
    single = json.loads(run("scan", str(repo / "run.sh"), "--diff-base", "HEAD", "-f", "json", "--fail-on", "never").stdout)
    assert single["findings"] == [] and single["summary"]["filtered_preexisting"] > 0


@needs_git
def test_diff_base_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text(BYPASS)
    proc = run("scan", str(tmp_path), "--diff-base", "HEAD")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "not inside one" in proc.stderr
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    for ref in ("no-such-branch", "--output=/tmp/x", ""):
        proc = run("scan", str(tmp_path), "--diff-base", ref)
        assert proc.returncode == 2, ref
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    with pytest.raises(GitError, match="unknown git revision"):
        changes_since(tmp_path, "HEAD~5")


@needs_git
def test_git_runs_with_a_minimal_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.post import gitdiff

    seen: dict[str, object] = {}
    real = subprocess.run

    def spy(cmd, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(kwargs, cmd=cmd)
        return real(cmd, **kwargs)

    monkeypatch.setenv("GIT_DIR", "/nonexistent")
    monkeypatch.setattr(gitdiff.subprocess, "run", spy)
    git(tmp_path, "init", "-q")
    gitdiff.git(tmp_path, "rev-parse", "--is-inside-work-tree")
    env = seen["env"]
    assert isinstance(env, dict) and set(env) == {"PATH", "HOME", "LANG", "LC_ALL", "GIT_CONFIG_NOSYSTEM",
                                                  "GIT_CONFIG_GLOBAL", "GIT_TERMINAL_PROMPT", "GIT_OPTIONAL_LOCKS"}
    assert seen["stdin"] is subprocess.DEVNULL and seen["timeout"]
    assert "core.quotepath=off" in seen["cmd"]  # type: ignore[operator]


def test_action_summary_lists_review_notes() -> None:
    import importlib.util

    action = ROOT / "action"
    sys.path.insert(0, str(action))
    try:
        spec = importlib.util.spec_from_file_location("blastwall_action_summary", action / "summary.py")
        assert spec and spec.loader
        summary = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(summary)
    finally:
        sys.path.remove(str(action))
    report = {"verdict": "not present", "findings": [], "launch_sites": [],
              "review_notes": [{"path": ".blastwall.toml", "line": 2, "text": 'disable = ["agent-open-egress"] <b>@x'}]}
    text = summary.render(report, "", new_only=True, fail_on="present", note="", path_prefix="sub", max_rows=10,
                          budget=100_000, measure=len)
    assert "Changes to blastwall's own configuration in this diff" in text
    assert "sub/.blastwall.toml:2" in text and "<b>" not in text and "&lt;b&gt;" in text

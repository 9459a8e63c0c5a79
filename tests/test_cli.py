"""The CLI end to end: formats, exit codes, bad input, and no writes into the scanned repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRESENT = ROOT / "fixtures" / "repos" / "py-inline-claude"
CLEAN = ROOT / "fixtures" / "repos" / "docker-sandboxed"
UNCLEAR = ROOT / "fixtures" / "repos" / "unclear-network-var"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=120)


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("blastwall ")


@pytest.mark.parametrize(("repo", "fail_on", "code"), [
    (PRESENT, "present", 1), (PRESENT, "never", 0), (CLEAN, "present", 0),
    (UNCLEAR, "present", 0), (UNCLEAR, "unclear", 1),
])
def test_exit_codes(repo: Path, fail_on: str, code: int) -> None:
    assert run("scan", str(repo), "--fail-on", fail_on).returncode == code


def test_all_formats_in_one_run(tmp_path: Path) -> None:
    proc = run("scan", str(PRESENT), "--format", "markdown", "--json-output", str(tmp_path / "r.json"),
               "--sarif-output", str(tmp_path / "r.sarif"), "--fail-on", "never")
    assert proc.returncode == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["schema_version"] == "1" and report["verdict"] == "present"
    sarif = json.loads((tmp_path / "r.sarif").read_text())
    assert sarif["runs"][0]["properties"]["verdict"] == "present"
    md = proc.stdout
    heads = [md.index(h) for h in ("## 1. VERDICT", "## 2. EVIDENCE", "## 3. WHY IT MATTERS", "## 4. FIX")]
    assert heads == sorted(heads)
    # The real quoted lines are in the evidence.
    assert "`cmd.append(\"--dangerously-skip-permissions\")`" in md
    assert "`proc = subprocess.run(cmd, input=diff, capture_output=True, text=True, env=env)`" in md


def test_output_file_and_determinism(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run("scan", str(PRESENT), "-f", "sarif", "-o", str(tmp_path / name), "--fail-on", "never").returncode == 0
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    text = (tmp_path / "a").read_text()
    assert str(ROOT) not in text  # no machine paths


def test_single_file_path() -> None:
    proc = run("scan", str(PRESENT / "reviewbot" / "review.py"), "-f", "json", "--fail-on", "never")
    data = json.loads(proc.stdout)
    assert data["verdict"] == "present"
    assert {f["path"] for f in data["findings"]} == {"review.py"}


@pytest.mark.parametrize("args", [("scan", "does/not/exist"), ("scan", ".", "--format", "xml"), ("explain", "no-such-rule")])
def test_usage_errors_exit_2_without_traceback(args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_unreadable_and_fifo(tmp_path: Path) -> None:
    (tmp_path / "ok.sh").write_text("claude -p hi\n")
    os.mkfifo(tmp_path / "pipe.sh")
    secret = tmp_path / "locked.sh"
    secret.write_text("codex exec --yolo x\n")
    secret.chmod(0)
    (tmp_path / "bad.py").write_bytes(b"import subprocess\nsubprocess.run(['claude', '\xff\xfe'])\n")
    (tmp_path / "nul.js").write_bytes(b"spawn('claude')\0\0\0")
    proc = run("scan", str(tmp_path), "-f", "json", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["coverage"]["skipped"].get("not a regular file") == 1
    assert data["coverage"]["skipped"].get("binary") == 1
    if os.geteuid() != 0:
        assert any("unreadable" in k for k in data["coverage"]["skipped"])
    assert {f["path"] for f in data["findings"] if f["rule_id"] == "agent-inline-launch"} >= {"ok.sh", "bad.py"}


def test_unreadable_root(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        proc = run("scan", str(locked))
        assert proc.returncode == 2 and "permission denied" in proc.stderr
    finally:
        locked.chmod(0o755)


def test_scan_never_writes_into_repo(tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(PRESENT, repo)
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    run("scan", str(repo), "-f", "markdown")
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before


def test_rules_and_explain() -> None:
    listing = run("rules").stdout
    assert "agent-inline-launch" in listing and "agent-permission-bypass" in listing
    text = run("explain", "agent-inline-launch").stdout
    assert "WHY IT MATTERS" in text and "after:" in text

"""No write lands outside the target or over what the user has.

`blastwall fix` writes only into real folders inside PATH (or a folder named explicitly with --out),
never through a symlink; `--apply` never edits through a symlink; `blastwall scan -o` never replaces
a scanned file with its report.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from scanner.model import LaunchSite, Location, ScanResult, Severity
from scanner.remediation.apply import ApplyPlan, plan_apply, write_plan
from scanner.remediation.write import UnsafePathError, resolve_out_dir, safe_write, write_configs

from fixture_harness import blastwall

ROOT = Path(__file__).resolve().parents[1]
REPOS = ROOT / "fixtures" / "repos"
PY_REPO = REPOS / "py-inline-claude"
SH_REPO = REPOS / "shell-gemini-yolo"

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs POSIX symlinks")


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (symlinks as their target text), for before/after comparisons."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            out[path.relative_to(folder).as_posix()] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            out[path.relative_to(folder).as_posix()] = path.read_bytes()
    return out


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("blastwall: error: "), proc.stderr
    return lines[0]


@pytest.fixture
def repo_and_elsewhere(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "repo"
    shutil.copytree(PY_REPO, repo)
    (repo / "expected.yaml").unlink()
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / ".claude").mkdir(parents=True)
    (elsewhere / ".claude" / "settings.json").write_text('{"mine": true}\n')
    return repo, elsewhere


# --- fix: the output folder ------------------------------------------------------------------


@pytest.mark.parametrize("flags", [(), ("--force",), ("--apply", "--yes"), ("--force", "--apply", "--yes")])
def test_fix_refuses_a_symlinked_output_folder(repo_and_elsewhere: tuple[Path, Path], flags: tuple[str, ...]) -> None:
    repo, elsewhere = repo_and_elsewhere
    (repo / "sandbox").symlink_to("../elsewhere", target_is_directory=True)
    before_out, before_repo = tree(elsewhere), tree(repo)
    proc = blastwall("fix", str(repo), *flags)
    assert "sandbox is a symlink" in one_error_line(proc)
    assert "wrote" not in proc.stdout and "rewrote" not in proc.stdout
    assert tree(elsewhere) == before_out and tree(repo) == before_repo


def test_fix_refuses_a_symlinked_parent_below_path(repo_and_elsewhere: tuple[Path, Path]) -> None:
    repo, elsewhere = repo_and_elsewhere
    (repo / "gen").symlink_to("../elsewhere", target_is_directory=True)
    before = tree(elsewhere)
    proc = blastwall("fix", str(repo), "--out", "gen/sandbox", "--force")
    assert "gen is a symlink" in one_error_line(proc)
    assert tree(elsewhere) == before


def test_fix_refuses_a_symlinked_parent_even_when_spelled_with_dotdot(repo_and_elsewhere: tuple[Path, Path]) -> None:
    repo, elsewhere = repo_and_elsewhere
    (repo / "gen").symlink_to("../elsewhere", target_is_directory=True)
    before = tree(elsewhere)
    # `gen/../sandbox` reads as repo/sandbox, but the OS would resolve it through the link.
    assert "gen is a symlink" in one_error_line(blastwall("fix", str(repo), "--out", "gen/../sandbox"))
    assert tree(elsewhere) == before


def test_fix_refuses_a_symlinked_file_in_the_output_folder(repo_and_elsewhere: tuple[Path, Path]) -> None:
    repo, elsewhere = repo_and_elsewhere
    (repo / "sandbox" / ".claude").mkdir(parents=True)
    (repo / "sandbox" / ".claude" / "settings.json").symlink_to(elsewhere / ".claude" / "settings.json")
    proc = blastwall("fix", str(repo), "--force")
    assert "symlink" in one_error_line(proc)
    assert (elsewhere / ".claude" / "settings.json").read_text() == '{"mine": true}\n'


def test_fix_writes_to_an_explicit_folder_outside_path(repo_and_elsewhere: tuple[Path, Path], tmp_path: Path) -> None:
    repo, _ = repo_and_elsewhere
    proc = blastwall("fix", str(repo), "--out", "../elsewhere")
    assert proc.returncode == 0, proc.stderr
    assert "wrote ../elsewhere/agent-bwrap.sh" in proc.stdout
    assert "kept existing ../elsewhere/.claude/settings.json" in proc.stdout
    assert (tmp_path / "elsewhere" / "agent-bwrap.sh").is_file()
    absolute = tmp_path / "abs-out"
    assert blastwall("fix", str(repo), "--out", str(absolute)).returncode == 0
    assert (absolute / "agent-bwrap.sh").is_file()
    assert not (repo / "sandbox").exists()


def test_explicit_folder_outside_path_still_has_no_symlinks_below_it(repo_and_elsewhere: tuple[Path, Path],
                                                                      tmp_path: Path) -> None:
    repo, elsewhere = repo_and_elsewhere
    out = tmp_path / "out"
    out.mkdir()
    (out / "k8s").symlink_to(elsewhere, target_is_directory=True)
    before = tree(elsewhere)
    proc = blastwall("fix", str(repo), "--out", str(out), "--force")
    assert "symlink" in one_error_line(proc)
    assert tree(elsewhere) == before
    assert not (out / "agent-bwrap.sh").exists()  # nothing written when any path is unsafe


def test_fix_apply_still_works_with_a_real_folder(repo_and_elsewhere: tuple[Path, Path]) -> None:
    repo, _ = repo_and_elsewhere
    proc = blastwall("fix", str(repo), "--apply", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "wrote sandbox/agent-bwrap.sh" in proc.stdout and "rewrote reviewbot/review.py" in proc.stdout
    assert os.access(repo / "sandbox" / "agent-bwrap.sh", os.X_OK)


def test_resolve_out_dir_rules(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "a" / "b").mkdir(parents=True)
    assert resolve_out_dir(repo, Path("sandbox")) == (Path(os.path.abspath(repo)) / "sandbox", "sandbox")
    assert resolve_out_dir(repo, Path("a/b/c"))[1] == "a/b/c"
    assert resolve_out_dir(repo, Path("a/../x"))[1] == "x"
    assert resolve_out_dir(repo, Path(".."))[1] == ""  # outside, named explicitly
    assert resolve_out_dir(repo, Path("../repo/a/gen"))[1] == "a/gen"  # leaves and comes back: inside
    assert resolve_out_dir(repo, tmp_path / "other")[1] == ""
    assert resolve_out_dir(repo, repo.resolve() / "a" / "gen")[1] == "a/gen"  # absolute but inside
    (repo / "a" / "link").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="a/link is a symlink"):
        resolve_out_dir(repo, Path("a/link/gen"))
    with pytest.raises(UnsafePathError):
        resolve_out_dir(repo, repo / "a" / "link")
    with pytest.raises(UnsafePathError):
        resolve_out_dir(repo, Path("../repo/a/link"))
    (repo / "file").write_text("x")
    with pytest.raises(UnsafePathError, match="not a folder"):
        resolve_out_dir(repo, Path("file/gen"))


# --- the writer ------------------------------------------------------------------------------


def test_safe_write_never_follows_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("keep\n")
    base = tmp_path / "base"
    base.mkdir()
    (base / "link.txt").symlink_to(outside / "victim")
    (base / "dir").symlink_to(outside, target_is_directory=True)
    for relative in ("link.txt", "dir/victim", "dir/new"):
        with pytest.raises(UnsafePathError):
            safe_write(base, relative, "evil\n", overwrite=True)
    assert (outside / "victim").read_text() == "keep\n" and not (outside / "new").exists()
    assert sorted(p.name for p in base.iterdir()) == ["dir", "link.txt"]  # no temporary file left behind


def test_safe_write_replaces_a_hard_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("keep\n")
    base = tmp_path / "base"
    base.mkdir()
    os.link(outside, base / "linked")
    assert safe_write(base, "linked", "new\n", overwrite=True)
    assert (base / "linked").read_text() == "new\n" and outside.read_text() == "keep\n"


def test_safe_write_keeps_mode_and_respects_overwrite(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("old\n")
    script.chmod(0o750)
    assert not safe_write(tmp_path, "run.sh", "new\n", overwrite=False)
    assert script.read_text() == "old\n"
    assert safe_write(tmp_path, "run.sh", "new\n", overwrite=True)
    assert script.read_text() == "new\n" and stat.S_IMODE(script.stat().st_mode) == 0o750
    assert safe_write(tmp_path, "deep/er/x.sh", "#!/bin/sh\n", overwrite=False, executable=True)
    assert os.access(tmp_path / "deep" / "er" / "x.sh", os.X_OK)


def test_write_configs_refuses_a_symlinked_file(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("mine\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "settings.json").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        write_configs(out, {"a.txt": "a", "settings.json": "theirs"}, force=True)
    assert outside.read_text() == "mine\n" and not (out / "a.txt").exists()


def test_write_configs_within_path_never_follows_a_folder_swapped_for_a_symlink(tmp_path: Path) -> None:
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    elsewhere.mkdir()
    out_dir, rel = resolve_out_dir(repo, Path("gen/sandbox"))
    assert rel == "gen/sandbox"
    (repo / "gen").symlink_to(elsewhere, target_is_directory=True)  # after the check, before the write
    with pytest.raises(UnsafePathError):
        write_configs(out_dir, {"a.txt": "a", "k8s/b.yaml": "b"}, within=repo)
    assert list(elsewhere.iterdir()) == []
    (repo / "gen").unlink()
    report = write_configs(out_dir, {"a.txt": "a", "k8s/b.yaml": "b"}, within=repo)
    assert report.written == ("a.txt", "k8s/b.yaml") and (repo / "gen" / "sandbox" / "k8s" / "b.yaml").is_file()


# --- apply: the files it edits ---------------------------------------------------------------


def _site(path: str, line: int = 3, column: int = 1) -> LaunchSite:
    return LaunchSite("s1", "claude-code", "Claude Code", "python", "subprocess.run", Location(path, line, column),
                      "claude -p hi")


def _result(site: LaunchSite) -> ScanResult:
    """What plan_apply reads of a scan: the sites and one blocking finding for each."""
    finding = SimpleNamespace(site_id=site.site_id, suppressed="", severity=Severity.HIGH, rule_id="agent-inline-launch",
                              location=site.location)
    return SimpleNamespace(launch_sites=(site,), findings=(finding,))  # type: ignore[return-value]


LAUNCH = 'import subprocess\n\nsubprocess.run(["claude", "-p", "hi"])\n'


@pytest.mark.parametrize("layout", ["file-link", "dir-link"])
def test_apply_never_edits_through_a_symlink(tmp_path: Path, layout: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "run.py").write_text(LAUNCH)
    repo = tmp_path / "repo"
    repo.mkdir()
    if layout == "file-link":
        (repo / "run.py").symlink_to(outside / "run.py")
        path = "run.py"
    else:
        (repo / "tools").symlink_to(outside, target_is_directory=True)
        path = "tools/run.py"
    plan = plan_apply(repo, _result(_site(path)), "./sandbox/agent-bwrap.sh", {"claude-code": ("ANTHROPIC_API_KEY",)})
    assert plan.edits == {} and len(plan.manual) == 1 and "symlink" in plan.manual[0].reason
    assert (outside / "run.py").read_text() == LAUNCH


def test_write_plan_refuses_a_file_swapped_for_a_symlink(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "run.py").write_text(LAUNCH)
    plan = plan_apply(repo, _result(_site("run.py")), "./sandbox/agent-bwrap.sh", {"claude-code": ()})
    assert list(plan.edits) == ["run.py"] and not plan.manual
    victim = tmp_path / "victim.py"
    victim.write_text("keep\n")
    (repo / "run.py").unlink()
    (repo / "run.py").symlink_to(victim)  # swapped between the plan and the write
    with pytest.raises(UnsafePathError):
        write_plan(repo, plan)
    assert victim.read_text() == "keep\n"


def test_write_plan_keeps_the_mode_of_an_edited_script(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(SH_REPO, repo)
    script = repo / "scripts" / "triage.sh"
    script.chmod(0o755)
    proc = blastwall("fix", str(repo), "--apply", "--yes")
    assert proc.returncode == 0 and "rewrote scripts/triage.sh" in proc.stdout, proc.stdout + proc.stderr
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert "./sandbox/agent-bwrap.sh" in script.read_text()


def test_write_plan_on_empty_plan_writes_nothing(tmp_path: Path) -> None:
    assert write_plan(tmp_path, ApplyPlan()) == []


# --- scan: report paths ----------------------------------------------------------------------


@pytest.fixture
def scanned(tmp_path: Path) -> Path:
    repo = tmp_path / "r"
    shutil.copytree(PY_REPO, repo)
    return repo


@pytest.mark.parametrize("flag", ["-o", "--json-output", "--sarif-output", "--markdown-output"])
def test_scan_never_replaces_a_scanned_file(scanned: Path, flag: str) -> None:
    before = tree(scanned)
    proc = blastwall("scan", str(scanned), flag, str(scanned / "reviewbot" / "review.py"), "--fail-on", "never")
    assert "refusing to overwrite" in one_error_line(proc)
    assert tree(scanned) == before


def test_scan_of_one_file_never_replaces_it(scanned: Path) -> None:
    target = scanned / "reviewbot" / "review.py"
    before = target.read_bytes()
    one_error_line(blastwall("scan", str(target), "-o", str(target)))
    assert target.read_bytes() == before


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown"])
def test_scan_may_write_a_new_report_inside_and_replace_it_later(scanned: Path, fmt: str) -> None:
    report = scanned / f"report.{fmt}"
    for _ in range(2):  # first a new file, then over the earlier report
        proc = blastwall("scan", str(scanned), "-f", fmt, "-o", str(report), "--fail-on", "never")
        assert proc.returncode == 0, proc.stderr
    assert report.stat().st_size > 0
    if fmt in ("json", "sarif"):
        json.loads(report.read_text())


def test_scan_refuses_a_symlinked_report_path_inside_the_target(scanned: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    link = scanned / "report.txt"  # planted by the repository: it must not redirect the report
    link.symlink_to(victim)
    assert "symlink" in one_error_line(blastwall("scan", str(scanned), "-o", str(link)))
    dangling = scanned / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    assert "symlink" in one_error_line(blastwall("scan", str(scanned), "--json-output", str(dangling)))
    assert victim.read_text() == "keep\n" and not (tmp_path / "nowhere.json").exists()


def test_scan_follows_the_users_own_links_outside_the_target(scanned: Path, tmp_path: Path) -> None:
    report = tmp_path / "real.json"
    link = tmp_path / "latest.json"  # the user's own link, outside the scanned folder
    link.symlink_to(report)
    assert blastwall("scan", str(scanned), "--json-output", str(link), "--fail-on", "never").returncode == 0
    assert report.read_text().startswith("{")
    assert blastwall("scan", str(scanned), "-o", os.devnull, "--fail-on", "never").returncode == 0


def test_scan_refuses_two_reports_in_one_file(scanned: Path, tmp_path: Path) -> None:
    out = tmp_path / "both"
    assert "same file" in one_error_line(blastwall("scan", str(scanned), "-o", str(out), "--json-output", str(out)))
    assert not out.exists()


def test_scan_still_writes_outside_and_over_an_outside_file(scanned: Path, tmp_path: Path) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("anything\n")  # outside PATH: the user named it
    assert blastwall("scan", str(scanned), "-o", str(out), "--fail-on", "never").returncode == 0
    assert out.read_text().startswith("1. VERDICT")

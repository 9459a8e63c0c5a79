"""--timings (and BLASTWALL_TIMINGS=1) prints one table of per-stage seconds to stderr; the
engine fills it; `--version` answers without importing the command-line framework. Shapes only:
no figure is compared with a time limit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from scanner.engine import ScanOptions, scan

ROOT = Path(__file__).resolve().parents[1]
REPO = ROOT / "fixtures" / "repos" / "py-inline-claude"
STAGES = ("discovery", "prefilter", "analysis", "semgrep", "links", "verdict", "output", "total")
_ROW = re.compile(r"^  (?P<stage>[a-z]+) +(?P<wall>\d+\.\d\d|-) +(?P<cpu>\d+\.\d\d|-)  \S")


def _blastwall(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=300, check=False)


def _table(stderr: str) -> dict[str, tuple[str, str]]:
    lines = stderr.splitlines()
    start = lines.index("blastwall timings (seconds)")
    assert re.fullmatch(r"  stage +wall +cpu", lines[start + 1])
    rows = {}
    for line in lines[start + 2 : start + 2 + len(STAGES)]:
        match = _ROW.match(line)
        assert match, line
        rows[match["stage"]] = (match["wall"], match["cpu"])
    return rows


def test_timings_table_on_stderr(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = _blastwall("scan", str(REPO), "-f", "json", "-o", str(out), "--timings", "--no-progress")
    assert proc.returncode == 1, proc.stderr  # the sample's verdict is present
    rows = _table(proc.stderr)
    assert tuple(rows) == STAGES
    for stage in ("discovery", "analysis", "links", "verdict", "output", "total"):
        assert rows[stage][0] != "-" and rows[stage][1] != "-", stage
    assert out.read_text().startswith("{")  # the report itself is untouched


def test_timings_from_the_environment_and_not_by_default(tmp_path: Path) -> None:
    with_env = _blastwall("scan", str(REPO), "-q", "--no-progress", env={"BLASTWALL_TIMINGS": "1"})
    assert tuple(_table(with_env.stderr)) == STAGES
    plain = _blastwall("scan", str(REPO), "-q", "--no-progress", env={"BLASTWALL_TIMINGS": ""})
    assert "timings" not in plain.stderr and plain.stdout == with_env.stdout


def test_the_engine_fills_the_stages() -> None:
    times: dict[str, float] = {}
    scan(REPO, ScanOptions(jobs=1, timings=times))
    for key in ("discovery.wall", "discovery.cpu", "analysis.wall", "analysis.files-cpu", "links.wall", "verdict.wall"):
        assert key in times and times[key] >= 0.0, key
    assert "semgrep.wall" not in times  # no Go, Java, ... file here: semgrep never started
    assert scan(REPO, ScanOptions(jobs=1)).verdict == scan(REPO, ScanOptions(jobs=1, timings={})).verdict


def test_version_imports_no_command_line_framework() -> None:
    code = ("import sys; sys.argv = ['blastwall', '--version']; from scanner.cli import main; main(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click', 'rich')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    from scanner import __version__

    assert proc.stdout.splitlines() == [f"blastwall {__version__}", "[]"]
    assert _blastwall("--version").stdout == f"blastwall {__version__}\n"

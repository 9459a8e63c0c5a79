"""The same input gives byte-identical JSON, SARIF and Markdown: across runs, whatever order the
file system lists the files in, and whether one process or a pool reads them (DESIGN §5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.engine import PARALLEL_THRESHOLD

ROOT = Path(__file__).resolve().parents[1]

PY = 'import subprocess\nsubprocess.run(["claude", "--dangerously-skip-permissions", "-p", "task {n}"])\n'
SH = "#!/bin/sh\ncodex exec --full-auto 'fix {n}'\n"
JS = 'const {{ spawn }} = require("child_process");\nspawn("gemini", ["--yolo", "-p", "t{n}"]);\n'
WF = ("on: pull_request_target\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
      "      - uses: actions/checkout@v4\n      - run: claude -p 'review {n}' --dangerously-skip-permissions\n")


def _files() -> dict[str, str]:
    files = {}
    for n in range(40):
        files[f"pkg{n % 5}/tool_{n}.py"] = PY.format(n=n)
        files[f"scripts/run_{n}.sh"] = SH.format(n=n)
        files[f"web/{n % 3}/agent{n}.js"] = JS.format(n=n)
    for n in range(3):
        files[f".github/workflows/review{n}.yml"] = WF.format(n=n)
    files["README.md"] = "claude docs\n"
    return files


def _build(base: Path, order: list[str], files: dict[str, str]) -> Path:
    tree = base / "repo"  # the same folder name: the report names the scanned folder
    for rel in order:
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[rel], encoding="utf-8")
    return tree


def _reports(tree: Path, out: Path, jobs: int) -> dict[str, bytes]:
    out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI"))}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "scanner", "scan", str(tree), "-f", "json", "-o", str(out / "r.json"),
                           "--sarif-output", str(out / "r.sarif"), "--markdown-output", str(out / "r.md"),
                           "--fail-on", "never", "--no-progress", "-j", str(jobs)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return {name: (out / f"r.{name}").read_bytes() for name in ("json", "sarif", "md")}


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    files = _files()
    names = sorted(files)
    forward = _build(tmp_path_factory.mktemp("forward"), names, files)
    backward = _build(tmp_path_factory.mktemp("backward"), list(reversed(names)), files)
    return forward, backward


def test_enough_candidates_for_the_pool(trees: tuple[Path, Path]) -> None:
    from scanner.discover.walk import walk

    assert len(walk(trees[0]).candidates) >= PARALLEL_THRESHOLD


def test_identical_across_runs_orders_and_workers(trees: tuple[Path, Path], tmp_path: Path) -> None:
    forward, backward = trees
    first = _reports(forward, tmp_path / "a", jobs=2)
    assert b"claude" in first["json"] and b'"present"' in first["json"]
    assert first == _reports(forward, tmp_path / "b", jobs=2), "two runs differ"
    assert first == _reports(backward, tmp_path / "c", jobs=2), "file-system order changes the reports"
    assert first == _reports(forward, tmp_path / "d", jobs=1), "-j 1 and -j 2 differ"


def test_no_machine_path_in_reports(trees: tuple[Path, Path], tmp_path: Path) -> None:
    reports = _reports(trees[0], tmp_path / "r", jobs=1)
    for body in reports.values():
        assert str(trees[0]).encode() not in body

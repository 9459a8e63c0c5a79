"""The scan's project: the one reader of repository files for cross-file questions.

It reads only files discovery kept, each once, bounded; it keeps the parses and per-file
summaries analysis made, so the link stage reads none of those files again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import scanner.engine as engine
import scanner.project.files as files
from fixture_harness import write_tree
from scanner.project.files import MAX_LINKED_BYTES, ProjectFiles

ROOT = Path(__file__).resolve().parents[1]


def test_reads_only_discovered_files_each_once(tmp_path: Path) -> None:
    write_tree(tmp_path, {"run.sh": "claude -p hi\n", "other.sh": "echo\n"})
    project = ProjectFiles(tmp_path, {"run.sh"})
    assert project.source("run.sh") is not None
    assert project.source("./run.sh") is project.source("run.sh")
    assert project.reads == 1
    assert project.source("other.sh") is None  # on disk, but not a file discovery kept
    assert project.source("../etc/passwd") is None
    assert project.reads == 1


def test_refuses_large_binary_and_swapped_in_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {"secret.sh": "claude --dangerously-skip-permissions\n"})
    repo = write_tree(tmp_path / "repo", {"big.sh": "x" * (MAX_LINKED_BYTES + 1), "lib/run.sh": "echo\n"})
    (repo / "bin.sh").write_bytes(b"\0ELF")
    project = ProjectFiles(repo, {"big.sh", "bin.sh", "lib/run.sh", "link/secret.sh"})
    assert project.source("big.sh") is None
    assert project.source("bin.sh") is None
    # A folder replaced by a symlink after discovery listed a file in it.
    os.symlink(outside, repo / "link")
    assert project.source("link/secret.sh") is None


def test_a_single_file_scan_reads_nothing_beyond_it(tmp_path: Path) -> None:
    path = write_tree(tmp_path, {"run.py": "x = 1\n"}) / "run.py"
    project = ProjectFiles(path, {"run.py"})
    assert project.root is None
    assert project.source("run.py") is None


def test_seeded_files_and_kept_summaries_are_not_read_again(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "import b\n"})
    project = ProjectFiles(tmp_path, {"a.py"})
    project.seed("a.py", b"import b\n")
    project.keep("a.py", "imports", (("", "", "", "b"),))
    assert project.parsed("a.py", "imports", lambda src: pytest.fail("parsed again")) == (("", "", "", "b"),)
    assert project.source("a.py") is not None
    assert project.reads == 0


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("scenario", ["workflow-runs-python-entry", "workflow-runs-agent-script",
                                      "workflow-runs-npm-make-actions", "workflow-runs-contained-entry"])
def test_the_link_stage_reads_no_file_analysis_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    scenario: str, jobs: int) -> None:
    repo = tmp_path / scenario
    shutil.copytree(ROOT / "fixtures" / "repos" / scenario, repo)
    # Enough files that the pool is used when jobs=2: source files go there, the rest stay here.
    for i in range(engine.PARALLEL_THRESHOLD):
        write_tree(repo, {f"pad/m{i}.py": f"VALUE = {i}\n"})
    analysed: set[str] = set()
    linked: list[str] = []
    read_candidate = engine.read_candidate

    def spy_analysis(root, cand):  # type: ignore[no-untyped-def]
        analysed.add(cand.path)
        return read_candidate(root, cand)

    original = files.ProjectFiles._read

    def spy_link(self, rel):  # type: ignore[no-untyped-def]
        linked.append(rel)
        return original(self, rel)

    monkeypatch.setattr(engine, "read_candidate", spy_analysis)
    monkeypatch.setattr(files.ProjectFiles, "_read", spy_link)
    result = engine.scan(repo, engine.ScanOptions(jobs=jobs))
    assert result.launch_sites
    if jobs == 1:  # the pool's reads are in other processes: only this one is spied on
        assert analysed, "nothing analysed in this process"
        assert sorted(set(linked) & analysed) == []
    # Files read for links are read once, whichever question asked.
    assert len(linked) == len(set(linked))


def test_the_fast_import_reader_agrees_with_the_whole_text_search() -> None:
    from scanner.project.summaries import _PY_IMPORT, python_imports

    samples = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(ROOT.rglob("*.py"))
               if ".venv" not in p.parts and p.is_file()]
    samples.append("import os\nimportant = 1\nfrom . import (a,\n  b)\n\tfrom ..x.y import z as w  # c\r\nimport a.b, c\n")
    assert len(samples) > 100
    for text in samples:
        assert list(python_imports(text)) == _PY_IMPORT.findall(text)

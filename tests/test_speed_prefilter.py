"""The native prefilter (ripgrep over the discovered files) selects exactly the files the Python
prefilter selects, reads nothing else, and falls back to Python when ripgrep is not there."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest

from scanner.catalog import load_catalog
from scanner.discover.walk import Candidate, read_candidate, walk
from scanner.discover.native_search import find_rg, native_search
from scanner.engine import (
    _UNREAD_SCRIPT_CALL,
    _UNREAD_SCRIPT_NATIVE,
    NATIVE_MIN_FILES,
    ScanOptions,
    _Clock,
    _native_prefilter,
    _prefilter,
    native_pattern,
    scan,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"

needs_rg = pytest.mark.skipif(find_rg() is None, reason="ripgrep is not installed (pip install ripgrep==14.1.0)")


def _python_sets(root: Path, paths: list[str]) -> tuple[set[str], set[str]]:
    """What the Python prefilter selects among the files it reads (binary and minified files are
    never searched, so they are left out of both sides)."""
    pattern = _prefilter(load_catalog())
    terms, calls = set(), set()
    for path in paths:
        data, _reason = read_candidate(root, Candidate(path, "python", 0))
        if data is None:
            continue
        if pattern.search(data):
            terms.add(path)
        if (b"sh " in data or b"sh\t" in data) and _UNREAD_SCRIPT_CALL.search(data):
            calls.add(path)
    return terms, calls


def _compare(root: Path, paths: list[str]) -> tuple[set[str], set[str]]:
    found = native_search(root, paths, (native_pattern(load_catalog()), _UNREAD_SCRIPT_NATIVE))
    assert found is not None, "ripgrep failed"
    readable = {p for p in paths if read_candidate(root, Candidate(p, "python", 0))[0] is not None}
    native_terms, native_calls = (s & readable for s in found)
    terms, calls = _python_sets(root, paths)
    assert native_terms == terms, {"only ripgrep": sorted(native_terms - terms), "only Python": sorted(terms - native_terms)}
    assert calls <= native_calls, sorted(calls - native_calls)  # a superset, checked again in Python
    return terms, calls


@needs_rg
def test_ripgrep_and_python_select_the_same_fixture_files() -> None:
    paths = [c.path for c in walk(FIXTURES).candidates]
    terms, _calls = _compare(FIXTURES, paths)
    assert len(paths) > 200 and len(terms) > 100  # the comparison has something to compare


# Pieces of text around the catalog's terms: every boundary the pattern cares about.
_TERMS = ["claude", "codex", "gemini", "aider", "langchain", "@anthropic-ai/claude-code", "claude-code",
          "open-interpreter", '"ai"', "'ai'", "agent", "amp", "goose", "kiro-cli", "q", "cn", "droid", "mini",
          "LocalCommandLineCodeExecutor", "StdioServerParameters", "sh run.txt", "bash -x job.cfg", "sh a.sh",
          "zsh ./x.bash", "ksh tool.py", "dash -e s.sh2"]
_GLUE = ["", " ", "\t", "\n", "\r\n", "-", "_", ".", "/", "x", "9", "é".encode().decode(), "\u00a0", "@", "(", "'",
         '"', "--print", " -p", " --yolo", " chat", " exec", " run", " session", " -x", " --task", "\x00", "=",
         " " * 61 + "--print", "\\", "$", ":"]


def _random_texts(count: int) -> list[bytes]:
    rng = random.Random(16)
    texts = []
    for _ in range(count):
        parts = [rng.choice(_GLUE + _TERMS) for _ in range(rng.randint(1, 6))]
        raw = "".join(parts).encode("utf-8", "surrogateescape")
        if rng.random() < 0.1:
            raw = raw.replace(b"e", b"\xe9")  # not UTF-8
        texts.append(raw)
    return texts


@needs_rg
def test_ripgrep_and_python_agree_on_every_boundary(tmp_path: Path) -> None:
    paths = []
    for i, text in enumerate(_random_texts(1500)):
        name = f"-f{i}.py" if i % 7 == 0 else f"case {i}.py"  # names that look like options, with spaces
        (tmp_path / name).write_bytes(text)
        paths.append(name)
    (tmp_path / "bom.py").write_bytes(b"\xff\xfe" + "claude\n".encode("utf-16-le"))  # never transcoded
    (tmp_path / "late-nul.py").write_bytes(b"x" * 9000 + b"\x00 claude\n")  # searched past a NUL
    (tmp_path / "no-newline.py").write_bytes(b"import claude_agent_sdk")
    paths += ["bom.py", "late-nul.py", "no-newline.py"]
    terms, _calls = _compare(tmp_path, paths)
    assert "late-nul.py" in terms and "no-newline.py" in terms and "bom.py" not in terms
    assert 100 < len(terms) < len(paths) - 100


@needs_rg
def test_ripgrep_reads_only_the_files_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "inside.py").write_text("claude\n")
    (tmp_path / "--files").write_text("claude\n")
    (tmp_path / "plain.py").write_text("nothing here\n")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.py"
    outside.write_text("claude\n")
    (tmp_path / "link.py").symlink_to(outside)
    # A configuration file ripgrep would read if asked: it would turn every answer around.
    config = tmp_path.parent / f"{tmp_path.name}-rgrc"
    config.write_text("--files-without-match\n")
    monkeypatch.setenv("RIPGREP_CONFIG_PATH", str(config))
    found = native_search(tmp_path, ["folder", "--files", "plain.py"], (native_pattern(load_catalog()),))
    assert found == [{"--files"}]  # a folder is not walked, a name like an option is a name
    candidates = [c.path for c in walk(tmp_path).candidates]
    assert "link.py" not in candidates  # symlinks never reach ripgrep: discovery does not keep them


def test_without_ripgrep_the_python_prefilter_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLASTWALL_NO_RG", "1")
    assert find_rg() is None
    candidates = walk(FIXTURES).candidates
    assert _native_prefilter(FIXTURES, candidates, load_catalog(), _Clock(None)) == candidates
    assert all(c.agent_terms is None and c.script_call is None for c in candidates)


def _answer(root: Path, timings: dict[str, float]) -> str:
    result = scan(root, ScanOptions(jobs=1, timings=timings))
    return json.dumps(asdict(result), sort_keys=True, default=str)


@needs_rg
@pytest.mark.parametrize("batch", [2000, 37])
def test_a_scan_answers_the_same_with_and_without_ripgrep(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          batch: int) -> None:
    """With small batches, most of ripgrep's searches start while discovery is still walking."""
    repo = tmp_path / "repos"
    shutil.copytree(FIXTURES / "repos", repo, symlinks=True)
    assert len(walk(repo).candidates) >= NATIVE_MIN_FILES
    monkeypatch.setattr("scanner.discover.native_search.RG_BATCH_FILES", batch)
    native_times: dict[str, float] = {}
    native = _answer(repo, native_times)
    assert native_times.get("prefilter.native") == 1.0  # ripgrep did select the files
    monkeypatch.setenv("BLASTWALL_NO_RG", "1")
    python_times: dict[str, float] = {}
    assert _answer(repo, python_times) == native
    assert "prefilter.native" not in python_times


@pytest.mark.parametrize("native", [True, False])
def test_files_too_large_or_dense_to_analyse_are_searched_whole(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                native: bool) -> None:
    """Files skipped for their name or size are searched for agent names (by ripgrep when it is
    there, as one batch): one that names an agent, however deep in it, makes the verdict unclear."""
    if native and find_rg() is None:
        pytest.skip("ripgrep is not installed")
    if native:  # ripgrep answers for the whole batch: the per-file Python search is never asked
        monkeypatch.setattr("scanner.engine._Worker.mentions", lambda *a: pytest.fail("searched in Python"))
    if not native:
        monkeypatch.setenv("BLASTWALL_NO_RG", "1")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "player.min.js").write_text("var a=1;" * 3000 + 'spawn("claude",["-p"]);\n')
    (tmp_path / "web" / "plain.min.js").write_text("var a=1;" * 3000 + "\n")
    (tmp_path / "docs.json").write_text('{"x": "' + "a" * (3 * 1024 * 1024) + '", "run": "codex exec"}\n')
    (tmp_path / "data.json").write_text('{"x": "' + "a" * (3 * 1024 * 1024) + '"}\n')
    (tmp_path / "api_pb2.py").write_text("DESCRIPTOR = None\n")
    result = scan(tmp_path, ScanOptions(jobs=1))
    assert {(s.path, s.reason) for s in result.coverage.not_analysed} == {
        ("docs.json", "too large (over 2 MiB)"), ("web/player.min.js", "generated or minified")}
    assert result.verdict.value == "unclear"

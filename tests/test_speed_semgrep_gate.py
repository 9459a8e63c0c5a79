"""The semgrep gate: only files that contain a launch call of their language (read from the
pack's own patterns) are sent to semgrep, and no match of the pack is lost by it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixture_harness import spy_semgrep
import scanner.launch.semgrep_runner as runner
from scanner.discover.walk import Candidate
from scanner.engine import ScanOptions, _worker, scan
from scanner.launch.semgrep_runner import SEMGREP_LANG_EXTS
from scanner.launch.semgrep_stage import _pattern_words, _regex_words, _word_search, gate, launch_words

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "rules" / "semgrep"
GO = ROOT / "fixtures" / "repos" / "go-codex-danger"
# Mentions an agent (so it passes the prefilter) but starts nothing.
MODELS_GO = 'package main\n\n// Models this service can ask for.\nvar models = []string{"claude-sonnet-4", "gemini-2.5-pro"}\n'


def test_every_language_of_the_pack_has_a_gate() -> None:
    words = launch_words(PACK)
    assert set(words) == set(SEMGREP_LANG_EXTS.values())
    assert all(words[lang] for lang in words), words  # no language falls back to "send everything"
    assert words["csharp"] >= {"ProcessStartInfo"} and words["go"] >= {"Command"}


def test_words_come_from_the_patterns() -> None:
    assert _pattern_words("exec.CommandContext($CTX, $A, ...)") == {"CommandContext"}
    assert _pattern_words("Runtime.getRuntime().exec($S, ...)") == {"getRuntime"}
    assert _pattern_words("$RT.exec(new String[]{$A, ...}, ...)") == {"exec"}
    assert _pattern_words("new ProcessStartInfo { ..., FileName = $A, ... }") == {"ProcessStartInfo"}
    assert _pattern_words("$S") is None
    assert _regex_words(r"^(%x.|`)\s*\w+") == {"%x", "`"}
    assert _regex_words(r"^(%x.|`)\s*claude") == {"claude"}  # the more telling of the two
    assert _regex_words(r"^[@r$#]*.*") is None


def test_every_match_of_the_pack_contains_a_launch_word(tmp_path: Path) -> None:
    """Each case of the pack's own tests, as semgrep reports it, holds a word of its language's
    gate: a file with that match is always sent."""
    if runner.find_semgrep() is None:
        pytest.skip("semgrep is not installed")
    tests = sorted(p.name for p in PACK.iterdir() if p.suffix in SEMGREP_LANG_EXTS)
    for name in tests:
        shutil.copy(PACK / name, tmp_path / name)
    outcome = runner.run_semgrep(tmp_path, tests, [PACK], timeout=600)
    assert not outcome.not_analysed and not outcome.error
    searches = _word_search(PACK)
    assert len({h.path for h in outcome.hits}) == len(tests) and len(outcome.hits) > 50
    for hit in outcome.hits:
        lines = (tmp_path / hit.path).read_bytes().split(b"\n")[hit.line - 1 : hit.end_line]
        search = searches[SEMGREP_LANG_EXTS[Path(hit.path).suffix]]
        assert search is not None and search.search(b"\n".join(lines)), (hit.path, hit.line, hit.semgrep_id)
    assert gate(tmp_path, tests, PACK) == tests


def test_a_file_without_a_launch_call_is_not_sent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    repo = tmp_path / "r"
    shutil.copytree(GO, repo)
    (repo / "models.go").write_text(MODELS_GO)
    assert _worker().analyze(repo, Candidate("models.go", "semgrep", 0)).external  # it passes the prefilter
    seen = spy_semgrep(monkeypatch)
    result = scan(repo, ScanOptions(jobs=1))
    assert seen == [["internal/fixer/fixer.go"]]
    assert result.verdict.value == "present"


def test_no_launch_call_anywhere_starts_no_semgrep(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("semgrep must not run")

    monkeypatch.setattr(runner, "run_semgrep", boom)
    (tmp_path / "models.go").write_text(MODELS_GO)
    (tmp_path / "Models.cs").write_text('// process the reply\nclass Models { string Name = "claude"; }\n')
    result = scan(tmp_path, ScanOptions(jobs=1))
    assert result.verdict.value == "not present" and not result.coverage.not_analysed


def test_php_names_are_gated_in_any_case(tmp_path: Path) -> None:
    (tmp_path / "a.php").write_text('<?php\nSYSTEM("claude -p hi");\n')
    (tmp_path / "b.php").write_text('<?php\n$model = "claude";\n')
    assert gate(tmp_path, ["a.php", "b.php"], PACK) == ["a.php"]


def test_user_rules_see_every_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(runner, "find_semgrep", lambda: None)  # nothing runs; the targets are what counts
    seen = spy_semgrep(monkeypatch)
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "models.go").write_text(MODELS_GO)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "mine.yaml").write_text("rules: []\n")
    scan(repo, ScanOptions(jobs=1, semgrep_rules=(rules,)))
    assert seen == [["models.go"]]

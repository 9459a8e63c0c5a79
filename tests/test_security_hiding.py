"""Nothing a pull request adds may hide a launch silently.

Each test plants one hiding trick beside a real `claude … --dangerously-skip-permissions`
launch and asserts that the launch is still found, or that the verdict is at least `unclear`
and the file is listed by path in every format, or that the setting that hid it is listed with
its file and line in every format.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scanner import engine
from scanner.catalog import load_catalog
from scanner.cli import _project_options
from scanner.engine import ScanOptions, scan
from scanner.model import ScanResult, Verdict
from scanner.output.json_report import render_json
from scanner.output.markdown import render_markdown
from scanner.output.sarif import render_sarif

LAUNCH_PY = 'import subprocess\n\nsubprocess.run(["claude", "-p", "fix it", "--dangerously-skip-permissions"])\n'
LAUNCH_SH = '#!/bin/sh\nclaude -p "$1" --dangerously-skip-permissions\n'
GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")


def _commit(root: Path) -> None:
    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": str(root), "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "-A", "-f"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run([GIT or "git", *args], cwd=root, check=True, env=env, capture_output=True)


def _scan(root: Path, **options: object) -> ScanResult:
    project = _project_options(root, None, None, None)
    project.update(options)
    return scan(root, ScanOptions(jobs=1, **project))  # type: ignore[arg-type]


def _launches(result: ScanResult) -> set[tuple[str, int]]:
    return {(f.location.path, f.location.line) for f in result.findings if f.rule_id == "agent-permission-bypass"}


def _listed_everywhere(result: ScanResult, needle: str) -> None:
    """`needle` (a path or a config line) shows in the Markdown, JSON and SARIF reports."""
    catalog = load_catalog()
    assert needle in render_markdown(result, catalog)
    assert needle in render_json(result)
    sarif = json.loads(render_sarif(result, catalog))
    notes = [r for r in sarif["runs"][0]["results"] if r["level"] == "note"
             and r["ruleId"] in ("file-not-analysed", "results-changed-by-configuration")]
    assert any(needle in r["message"]["text"] or needle == r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
               for r in notes)


# --- configuration is read once, applied and listed in every mode ---------------------------

@pytest.mark.parametrize("pyproject", [
    'tool.blastwall.exclude = ["src/**"]\n\n[project]\nname = "x"\n',  # dotted key at the top level
    '[tool]\n"blastwall".exclude = ["src/**"]\n',  # quoted table name
    '[tool]\nblastwall = { exclude = ["src/**"] }\n',  # inline table
    '[tool.blastwall]\nexclude = ["src/**"]\n',
])
def test_every_spelling_of_the_pyproject_table_is_applied_and_listed(tmp_path: Path, pyproject: str) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "run.py").write_text(LAUNCH_PY)
    (tmp_path / "pyproject.toml").write_text(pyproject)
    result = _scan(tmp_path)
    assert _launches(result) == set()  # the exclusion applies, as the owner asked ...
    line = next(n for n, text in enumerate(pyproject.split("\n"), 1) if "src/**" in text)
    assert [(s.path, s.line) for s in result.silencers] == [("pyproject.toml", line)]
    assert "src/run.py" in result.silencers[0].effect  # ... and says what it hid
    _listed_everywhere(result, "src/run.py")


def test_new_config_file_and_inline_ignore_are_listed_without_diff_base(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(LAUNCH_PY.replace("])\n", "])  # blastwall: ignore[agent-permission-bypass] reviewed\n"))
    (tmp_path / ".blastwall.toml").write_text('disable = ["agent-inline-launch"]\n')
    result = _scan(tmp_path)
    effects = {(s.path, s.line): s.effect for s in result.silencers}
    assert effects == {
        (".blastwall.toml", 1): "rule agent-inline-launch not run (1 finding(s) dropped)",
        ("a.py", 3): "inline ignore silenced agent-permission-bypass (high)",
    }
    _listed_everywhere(result, "reviewed")
    _listed_everywhere(result, "agent-inline-launch not run")


# --- tracked files: .gitignore and look-alike folder names hide nothing ---------------------

@needs_git
def test_gitignore_does_not_hide_a_tracked_file(tmp_path: Path) -> None:
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "run.py").write_text(LAUNCH_PY)
    (tmp_path / ".gitignore").write_text("tools/\n*.py\n")
    _commit(tmp_path)
    result = _scan(tmp_path)
    assert _launches(result) == {("tools/run.py", 3)}
    assert result.verdict is Verdict.PRESENT


def test_gitignore_still_hides_untracked_files(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run.py").write_text(LAUNCH_PY)
    (tmp_path / ".gitignore").write_text("out/\n")
    result = _scan(tmp_path)
    assert _launches(result) == set() and result.verdict is Verdict.NOT_PRESENT


def test_a_deeper_gitignore_re_includes_what_a_shallower_one_ignores(tmp_path: Path) -> None:
    """git: patterns of a deeper .gitignore override those of its parents' files."""
    (tmp_path / "tools").mkdir()
    (tmp_path / ".gitignore").write_text("*.py\n")
    (tmp_path / "tools" / ".gitignore").write_text("!run.py\n")
    (tmp_path / "tools" / "run.py").write_text(LAUNCH_PY)
    (tmp_path / "tools" / "other.py").write_text(LAUNCH_PY)
    result = _scan(tmp_path)
    assert _launches(result) == {("tools/run.py", 3)}
    assert ("tools/other.py", "ignored (.gitignore, no git data to tell tracked files apart)") in {
        (s.path, s.reason) for s in result.coverage.skipped_files}


@needs_git
def test_untracked_file_in_an_ignored_tracked_folder_stays_ignored(tmp_path: Path) -> None:
    """A folder git ignores is walked for its tracked files only: git cannot re-include what is
    inside an ignored folder, so a new file there is ignored whatever its name."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "run.py").write_text(LAUNCH_PY)
    (tmp_path / ".gitignore").write_text("tools/\n")
    _commit(tmp_path)
    (tmp_path / "tools" / "new.py").write_text(LAUNCH_PY)
    (tmp_path / "tools" / "sub").mkdir()
    (tmp_path / "tools" / "sub" / "deep.py").write_text(LAUNCH_PY)
    result = _scan(tmp_path)
    assert _launches(result) == {("tools/run.py", 3)}
    assert {(s.path, s.reason) for s in result.coverage.skipped_files} >= {
        ("tools/new.py", "ignored (.gitignore)"), ("tools/sub/", "ignored (.gitignore)")}


_PATTERNS = ["*.py", "!keep.py", "build/", "/top.txt", "docs/*.md", "**/gen/**", "a/**/b.py", "!docs/keep.md",
             "*.log", "!/x/*.log", "lib*/", "cache", "\\#hash", "name\\ ", "?.cfg", "[ab].ini", "!build/keep/",
             "deep/one/", "/anchored/dir/", "*~", "tmp/*", "!tmp/keep", "**/", "!*.sh", "/", "/ ", "**", "x/**",
             "!x/y/", "sub/", "*.txt", "!important.txt", "a/b/", "**/logs", "logs/**/*.log", " lead", "trail  ",
             "dir/*/", "!/"]
_PATHS = ["keep.py", "run.py", "x/keep.py", "build/x.sh", "src/build/y.sh", "top.txt", "x/top.txt", "docs/a.md",
          "docs/keep.md", "x/docs/a.md", "gen/a.sh", "x/gen/y/z.sh", "a/b.py", "a/x/y/b.py", "b.py", "x.log",
          "x/y.log", "y/x/z.log", "lib1/a.sh", "libx", "cache", "x/cache/y.sh", "#hash", "name ", "a.cfg", "ab.cfg",
          "a.ini", "c.ini", "build/keep/a.sh", "deep/one/f.sh", "x/deep/one/f.sh", "anchored/dir/f.sh",
          "x/anchored/dir/f.sh", "f.sh~", "tmp/a.sh", "tmp/keep", "tmp/keep2/a.sh", "plain.sh", "x/y/z.sh",
          "sub/a.sh", "q/sub/a.sh", "important.txt", "a/b/c.sh", "logs/a.log", "q/logs/x.sh", " lead", "trail",
          "dir/q/f.sh", "x/y/important.txt"]


def _git_ignores(repo: Path, lines: list[str]) -> set[str]:
    """What git itself ignores among `_PATHS` (a path under an ignored folder included)."""
    (repo / ".gitignore").write_text("\n".join(lines) + "\n")
    asked = sorted({"/".join(p.split("/")[:i]) for p in _PATHS for i in range(1, p.count("/") + 2)})
    out = subprocess.run([GIT or "git", "check-ignore", "--no-index", "-z", "--stdin"], cwd=repo, input="\0".join(asked),
                         capture_output=True, text=True, env={"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
                                                             "HOME": str(repo), "PATH": "/usr/bin:/bin"})
    hit = set(out.stdout.split("\0"))
    return {p for p in _PATHS if any("/".join(p.split("/")[:i]) in hit for i in range(1, p.count("/") + 2))}


@needs_git
def test_gitignore_decisions_agree_with_git(tmp_path: Path) -> None:
    """The walk's compiled .gitignore (names tried alone, runs last to first, an ignored folder's
    contents ignored) decides as `git check-ignore` does, for one pattern at a time and for
    mixtures of them in either order."""
    import random

    from scanner.discover.walk import _compile_rules, _Ignores

    repo = tmp_path / "repo"
    for path in _PATHS:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("x\n")
    subprocess.run([GIT or "git", "init", "-q"], cwd=repo, check=True, capture_output=True)
    pick = random.Random(7)
    for lines in [[p] for p in _PATTERNS] + [_PATTERNS, _PATTERNS[::-1]] + [pick.sample(_PATTERNS, 6) for _ in range(40)]:
        ignores = _Ignores()
        ignores.specs[""] = _compile_rules(lines)
        chain = ignores.chain("")
        ours = {p for p in _PATHS
                if any(ignores.ignored_by(chain, "/".join(p.split("/")[:i]), True) for i in range(1, p.count("/") + 1))
                or ignores.ignored_by(chain, p, False)}
        assert ours == _git_ignores(repo, lines), lines


def test_gitignore_without_git_data_says_so(tmp_path: Path) -> None:
    """Outside a checkout .gitignore hides every file it names: the reason and the text report say
    that a tracked file would have been scanned in a checkout."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run.py").write_text(LAUNCH_PY)
    (tmp_path / ".gitignore").write_text("out/\n")
    assert _scan(tmp_path).coverage.skipped["ignored (.gitignore, no git data to tell tracked files apart)"] == 1
    out = subprocess.run([sys.executable, "-m", "scanner", "scan", str(tmp_path)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}, timeout=120)
    assert "(1 by .gitignore with no git data: in a checkout, tracked ones are scanned)" in out.stdout, out.stdout


@needs_git
@pytest.mark.parametrize("folder", ["vendor", "node_modules", "third_party", "dist", "build", "target",
                                    "generated", "coverage"])
def test_tracked_hand_written_folder_named_like_a_dependency_is_scanned(tmp_path: Path, folder: str) -> None:
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "agent.py").write_text(LAUNCH_PY)
    _commit(tmp_path)
    assert _launches(_scan(tmp_path)) == {(f"{folder}/agent.py", 3)}


@needs_git
def test_tracked_dependency_folder_with_installed_packages_is_skipped(tmp_path: Path) -> None:
    pkg = tmp_path / "node_modules" / "some-sdk"
    pkg.mkdir(parents=True)
    (pkg / "package.json").write_text('{"name": "some-sdk"}\n')
    (pkg / "index.js").write_text('const { spawn } = require("child_process");\nspawn("claude", ["--dangerously-skip-permissions"]);\n')
    _commit(tmp_path)
    result = _scan(tmp_path)
    assert result.findings == () and result.verdict is Verdict.NOT_PRESENT
    assert ("node_modules/", "dependency folder") in {(s.path, s.reason) for s in result.coverage.skipped_files}


def test_untracked_dependency_folder_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "agent.py").write_text(LAUNCH_PY)
    assert _scan(tmp_path).verdict is Verdict.NOT_PRESENT  # no git: nothing says it was written here


# --- files skipped for their name, size or shape are searched and listed --------------------

@pytest.mark.parametrize(("name", "body", "reason"), [
    ("launch_pb2.py", LAUNCH_PY, "generated or minified"),
    ("app.min.js", 'require("child_process").spawn("claude",["--dangerously-skip-permissions"]);\n', "generated or minified"),
    ("big.py", LAUNCH_PY + "#" + "x" * (2 * 1024 * 1024) + "\n", "too large (over 2 MiB)"),
    ("dense.js", "var a=1;" * 3000 + 'require("child_process").spawn("claude");' + "var b=2;" * 3000 + "\n",
     "generated or minified"),
])
def test_skipped_file_naming_an_agent_makes_the_verdict_unclear(tmp_path: Path, name: str, body: str, reason: str) -> None:
    (tmp_path / name).write_text(body)
    result = _scan(tmp_path)
    assert result.verdict is Verdict.UNCLEAR
    assert [(s.path, s.reason) for s in result.coverage.not_analysed] == [(name, reason)]
    assert any(name in n for n in result.needs_context)
    _listed_everywhere(result, name)


def test_skipped_file_without_agent_terms_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "lib.min.js").write_text("var a=1;\n")
    (tmp_path / "big.py").write_text("#" + "x" * (2 * 1024 * 1024) + "\n")
    result = _scan(tmp_path)
    assert result.verdict is Verdict.NOT_PRESENT and result.coverage.not_analysed == ()


@pytest.mark.parametrize(("name", "body"), [
    (".mcp.json", '{"mcpServers": {"x": {"command": "claude", "args": ' + "[" * 5000 + "]" * 5000 + "}}}\n"),
    ("package.json", '{"scripts": {"go": "claude --dangerously-skip-permissions"}, "x": ' + "[" * 5000 + "]" * 5000 + "}\n"),
    (".github/workflows/agent.yml", "on: push\njobs:\n  a:\n    steps:\n      - run: claude -p x\n        with: "
     + "[" * 600 + "]" * 600 + "\n"),
])
def test_deeply_nested_config_naming_an_agent_is_listed(tmp_path: Path, name: str, body: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    result = _scan(tmp_path)
    assert result.verdict is not Verdict.NOT_PRESENT
    if result.verdict is Verdict.UNCLEAR:
        assert [s.path for s in result.coverage.not_analysed] == [name]
        _listed_everywhere(result, name)


def test_yaml_nested_500_levels_is_listed(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  agent:\n    command: claude --dangerously-skip-permissions\n    x: " + "[" * 500 + "]" * 500 + "\n")
    result = _scan(tmp_path)
    assert result.verdict is Verdict.UNCLEAR
    assert [s.path for s in result.coverage.not_analysed] == ["docker-compose.yml"]


def test_file_over_the_time_budget_is_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "FILE_BUDGET_SECONDS", 1e-9)
    (tmp_path / "run.sh").write_text(LAUNCH_SH * 50)
    result = _scan(tmp_path)
    assert result.verdict is Verdict.UNCLEAR
    assert [(s.path, s.reason) for s in result.coverage.not_analysed] == [("run.sh", engine.OVER_BUDGET)]


# --- resource bounds -----------------------------------------------------------------------

def test_long_gitignore_line_is_dropped_and_listed(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*" * 200_000 + "x\nnothing\n")
    (tmp_path / "run.py").write_text(LAUNCH_PY)
    result = _scan(tmp_path)
    assert _launches(result) == {("run.py", 3)}  # a .gitignore read in part ignores less, never more
    assert (".gitignore", "read in part: 1 over-long or surplus lines not read") in {
        (s.path, s.reason) for s in result.coverage.skipped_files}


def test_findings_are_capped_per_file_and_rule_without_changing_the_verdict(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("".join(f"t{i}:\n\tclaude -p go{i} --dangerously-skip-permissions\n"
                                               for i in range(engine.MAX_FINDINGS_PER_FILE_RULE + 20)))
    result = _scan(tmp_path)
    assert result.verdict is Verdict.PRESENT
    assert len(_launches(result)) == engine.MAX_FINDINGS_PER_FILE_RULE
    assert {(c.path, c.rule_id, c.count) for c in result.capped} >= {("Makefile", "agent-permission-bypass", 20)}


def test_more_launch_sites_than_the_bound_make_the_file_not_analysed(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("#!/bin/sh\n" + "timeout 60 env -i claude -p x\n" * (engine.MAX_SITES_PER_FILE + 5))
    result = _scan(tmp_path)
    assert [s.path for s in result.coverage.not_analysed] == ["run.sh"]
    assert len(result.launch_sites) == engine.MAX_SITES_PER_FILE


def test_script_with_an_unread_extension_run_by_a_shell_is_read(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("agent:\n\tsh tools/run.txt\n")
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "run.txt").write_text('cd "$(dirname "$0")"\nclaude -p "triage" --dangerously-skip-permissions\n')
    result = _scan(tmp_path)
    assert _launches(result) == {("tools/run.txt", 2)}  # the flag, where it is written
    assert ("agent-inline-launch", "Makefile", 2) in {(f.rule_id, f.location.path, f.location.line) for f in result.findings}
    assert result.verdict is Verdict.PRESENT


@needs_git
@pytest.mark.parametrize(("name", "head", "listed"), [
    ("dist/main.js", '"use strict";\nvar __commonJS = (cb, mod) => 0;\n', False),  # a bundler's output
    ("dist/main.js", '"use strict";\n', True),  # no bundler's signature: searched
    ("src/main.js", '"use strict";\nvar __commonJS = (cb, mod) => 0;\n', True),  # not a build-output folder
])
def test_large_generated_bundle_is_told_from_a_padded_file(tmp_path: Path, name: str, head: str, listed: bool) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True)
    path.write_text(head + "var pad = 0;\n" * 200_000 + 'require("child_process").spawn("claude", ["-p", "x"]);\n')
    _commit(tmp_path)  # tracked: a `dist/` folder git tracks is walked
    result = _scan(tmp_path)
    assert [s.path for s in result.coverage.not_analysed] == ([name] if listed else [])
    assert result.verdict is (Verdict.UNCLEAR if listed else Verdict.NOT_PRESENT)


def test_peak_memory_stays_bounded_on_a_finding_bomb(tmp_path: Path) -> None:
    """Four 2 MB Makefiles of agent recipes (150k launches): peak RSS of the scan under 500 MB."""
    import sys

    recipe = "t{0}:\n\tclaude -p go{0} --dangerously-skip-permissions\n"
    body = "".join(recipe.format(i) for i in range(40_000))[: 2 * 1024 * 1024 - 1]
    for n in range(4):
        (tmp_path / f"m{n}").mkdir()
        (tmp_path / f"m{n}" / "Makefile").write_text(body[: body.rfind("\n") + 1])
    probe = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True); "
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "scanner", "scan", str(tmp_path),
                          "-f", "json", "--fail-on", "never", "--no-progress"],
                         capture_output=True, text=True, check=True, timeout=300).stdout.split()
    assert out[0] == "0" and int(out[1]) < 500, out

"""Hostile repositories: every scan completes with a full report in all four formats, no
traceback, no hang, and nothing from the repo is injected into the reports (DESIGN §5)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import scanner.engine as engine
from scanner.engine import ScanOptions, scan
from scanner.parse.trees import OverBudget, file_budget, parse
from scanner.launch.filekinds import ANALYZERS

ROOT = Path(__file__).resolve().parents[1]

LAUNCH = b'import subprocess\nsubprocess.run(["claude", "--dangerously-skip-permissions", "-p", "fix it"])\n'
# A launch whose quoted line carries HTML, a mention, a link, a bidi override and ANSI escapes.
HOSTILE_LINE = (b'import subprocess\nsubprocess.run(["claude", "--dangerously-skip-permissions"])'
                b'  # <img src=x onerror=alert(1)> @octocat [ping](https://example.com/p) \xe2\x80\xae \x1b[2J\x1b]8;;x\x07\n')
# A file name with a newline, backticks, Markdown, HTML, a mention and ANSI escapes.
EVIL_NAME = "evil\n`x` *b* [l](https:example.com) <b>@team \x1b[31mred\x1b[0m.py"


def run_cli(*args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI"))}
    env["PYTHONPATH"] = str(ROOT)
    env["BLASTWALL_FILE_BUDGET"] = "2"  # deep_sub.py runs past it; keeps the suite quick
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


def all_reports(tree: Path, out: Path, *extra: str) -> dict[str, str]:
    """One CLI scan writing text, Markdown, SARIF and JSON; asserts a clean, complete run."""
    out.mkdir(parents=True, exist_ok=True)
    proc = run_cli("scan", str(tree), "-f", "text", "-o", str(out / "report.txt"), "--fail-on", "never", "--no-progress",
                   "--json-output", str(out / "report.json"), "--sarif-output", str(out / "report.sarif"),
                   "--markdown-output", str(out / "report.md"), *extra)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    reports = {name: (out / f"report.{name}").read_text(encoding="utf-8") for name in ("txt", "md", "sarif", "json")}
    data = json.loads(reports["json"])
    assert data["verdict"] in ("present", "unclear", "not present")
    json.loads(reports["sarif"])
    assert "1. VERDICT" in reports["md"] and "4. FIX" in reports["md"]
    return reports


def assert_not_injected(reports: dict[str, str]) -> None:
    text, md, sarif = reports["txt"], reports["md"], reports["sarif"]
    for name, body in (("text", text), ("markdown", md)):
        assert "\x1b" not in body, f"escape sequence in the {name} report"
        assert "\u202e" not in body, f"bidi override in the {name} report"
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", body.replace("\r", "")), f"control character in {name}"
    # Markdown: outside code spans and fences, no raw HTML, no live @mention, no link that pings.
    prose = _without_code(md)
    assert not re.search(r"<(img|b|script)\b", prose, re.I)
    assert not re.search(r"@(octocat|team)\b", prose), "live @mention"
    assert not re.search(r"(?<!\\)\]\(https:", prose), "live link"
    # SARIF: message texts and URIs carry no escapes, newlines or raw HTML.
    doc = json.loads(sarif)
    texts = []
    for run in doc["runs"]:
        for res in run.get("results", []):
            texts.append(res["message"]["text"])
            for loc in res.get("locations", []):
                texts.append(loc["physicalLocation"]["artifactLocation"]["uri"])
    assert texts
    for value in texts:
        assert "\x1b" not in value and "\n" not in value and not re.search(r"<(img|b|script)\b", value, re.I), value


def _without_code(md: str) -> str:
    """Markdown with fenced blocks and inline code spans removed (GitHub renders them literally)."""
    md = re.sub(r"^(`{3,})[^\n]*\n.*?^\1[ \t]*$", "", md, flags=re.M | re.S)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", md, flags=re.S)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str]]:
    base = tmp_path_factory.mktemp("hostile")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret_agent.py").write_bytes(LAUNCH)
    tree = base / "repo"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "real.py").write_bytes(LAUNCH)
    # Symlink loops and links out of the target.
    os.symlink(".", tree / "loop")
    (tree / "a").mkdir()
    os.symlink("../a", tree / "a" / "again")
    os.symlink(outside, tree / "escape")
    os.symlink(outside / "secret_agent.py", tree / "linked_agent.py")
    os.symlink("/", tree / "host_root")
    # A 200 MB file (sparse) and a 10 MB single-line package.json.
    with open(tree / "huge.py", "wb") as handle:
        handle.truncate(200 * 1024 * 1024)
    (tree / "package.json").write_bytes(b'{"scripts": {"x": "claude --dangerously-skip-permissions"}, "pad": "'
                                        + b"a" * (10 * 1024 * 1024) + b'"}')
    # Binary files with agent names inside.
    (tree / "tool.py").write_bytes(b"\x00\x01ELF" + LAUNCH * 3 + bytes(range(256)))
    (tree / "run-agent").write_bytes(b"#!/bin/sh\n\x00claude --yolo\n")
    # Invalid UTF-8 and UTF-16.
    (tree / "bad_utf8.py").write_bytes(b"\xff\xfe\xc3\x28 = 1\n" + LAUNCH + b"\xed\xa0\x80\n")
    (tree / "utf16.py").write_bytes(LAUNCH.decode().encode("utf-16"))
    (tree / "latin1.sh").write_bytes(b"# caf\xe9\nclaude --dangerously-skip-permissions -p \xff\n")
    # 50k-deep nested expressions, Python and JavaScript.
    depth = 50_000
    # (Line breaks keep them from looking minified, so they really are parsed.)
    (tree / "deep.py").write_bytes(b"import subprocess  # claude\nx = " + b"(\n" * depth + b"1" + b")\n" * depth + LAUNCH)
    (tree / "deep.js").write_bytes(b"// claude\nconst x = " + b"[\n" * depth + b"]\n" * depth + b";\n"
                                   + b'require("child_process").spawnSync("claude", ["--dangerously-skip-permissions"]);\n')
    (tree / "deep_call.js").write_bytes(b"// claude\n" + b"f(\n" * depth + b")\n" * depth + b";\n")
    (tree / "deep_sub.py").write_bytes(b"import subprocess\n" + b"subprocess.run(\n" * depth + b'["claude"]' + b")\n" * depth)
    # A YAML billion laughs in a workflow file, and a small alias fan-out that is allowed.
    wf = tree / ".github" / "workflows"
    wf.mkdir(parents=True)
    laughs = ['lol0: &l0 ["claude --yolo"]'] + [f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    (wf / "bomb.yml").write_text("on: push\n" + "\n".join(laughs) + "\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                                 "    steps:\n      - run: claude --dangerously-skip-permissions\n        env: *l9\n")
    small = ['x0: &x0 "claude"'] + [f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 5) + "]" for i in range(1, 6)]
    (wf / "small_bomb.yml").write_text("on: push\n" + "\n".join(small) + "\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                                       "    env:\n      X: *x5\n    steps:\n      - run: claude -p hi --dangerously-skip-permissions\n")
    # Crafted file names and quoted lines.
    (tree / EVIL_NAME).write_bytes(LAUNCH)
    (tree / "quoted.py").write_bytes(HOSTILE_LINE)
    (tree / "`whoami`.sh").write_bytes(b"claude --dangerously-skip-permissions -p '<script>x</script>'\n")
    # A FIFO (must not block) and an unreadable file.
    os.mkfifo(tree / "pipe.sh")
    os.mkfifo(tree / "agent-pipe")
    locked = tree / "locked.py"
    locked.write_bytes(LAUNCH)
    locked.chmod(0)
    start = time.monotonic()
    reports = all_reports(tree, base / "out")
    assert time.monotonic() - start < 120
    engine.FILE_BUDGET_SECONDS, budget = 2.0, engine.FILE_BUDGET_SECONDS
    try:
        result = scan(tree, ScanOptions(jobs=1))  # the per-file skip reasons the reports count
    finally:
        engine.FILE_BUDGET_SECONDS = budget
    return tree, reports, {s.path: s.reason for s in result.coverage.skipped_files}


def _json(reports: dict[str, str]) -> dict:
    return json.loads(reports["json"])


def test_symlinks_are_not_followed(hostile: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    reports = hostile[1]
    paths = {f["path"] for f in _json(reports)["findings"]}
    assert not any(p.startswith(("loop/", "escape/", "host_root/", "a/again/")) or p == "linked_agent.py" for p in paths)
    skipped = hostile[2]
    for link in ("loop", "escape", "linked_agent.py", "host_root", "a/again"):
        assert skipped.get(link) == "symlink (not followed)"
    assert "secret_agent" not in reports["md"] + reports["sarif"] + reports["txt"]


def test_huge_and_binary_files_are_skipped_and_counted(hostile: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    reports = hostile[1]
    skipped = hostile[2]
    assert skipped["huge.py"].startswith("too large")
    assert skipped["package.json"].startswith("too large")
    assert skipped["tool.py"] == "binary"
    assert skipped["run-agent"] == "binary"
    assert skipped["utf16.py"] == "binary"  # UTF-16 text has NUL bytes: not read as source
    assert not any(f["path"] in ("tool.py", "huge.py", "package.json", "utf16.py") for f in _json(reports)["findings"])


def test_invalid_utf8_is_still_read(hostile: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    findings = _json(hostile[1])["findings"]
    assert any(f["path"] == "bad_utf8.py" for f in findings)
    assert any(f["path"] == "latin1.sh" for f in findings)


def test_deep_nesting_completes(hostile: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    skipped = hostile[2]
    for name in ("deep.py", "deep.js", "deep_call.js", "deep_sub.py"):
        # Either analysed, or skipped with a stated reason: never a crash.
        assert name not in skipped or skipped[name] in ("too deeply nested to analyse", engine.OVER_BUDGET)


def test_yaml_bomb_is_refused(hostile: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    findings = _json(hostile[1])["findings"]
    assert all(len(f["quote"]) <= 400 for f in findings)
    assert any(f["path"] == ".github/workflows/small_bomb.yml" for f in findings)


def test_fifo_and_unreadable_do_not_block(hostile: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    skipped = hostile[2]
    assert skipped["pipe.sh"] == "not a regular file"
    assert skipped["agent-pipe"] == "not a regular file"
    if os.geteuid() != 0:  # root reads mode-000 files
        assert skipped["locked.py"].startswith("unreadable file")


def test_crafted_names_and_lines_are_not_injected(hostile: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    reports = hostile[1]
    findings = _json(reports)["findings"]
    paths = {f["path"] for f in findings}
    assert EVIL_NAME in paths and "quoted.py" in paths and "`whoami`.sh" in paths
    assert any("<img" in f["quote"] for f in findings)  # the JSON keeps the exact line, escaped as JSON
    assert_not_injected(reports)
    # The names are shown, made visible rather than dropped.
    assert "evil\\n" in reports["md"] and "evil\\n" in reports["txt"]


def test_terminal_text_has_no_escapes_on_stdout(hostile: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    proc = run_cli("scan", str(hostile[0]), "--fail-on", "never", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\u202e" not in proc.stdout
    assert "Traceback" not in proc.stderr


def test_many_empty_files(tmp_path: Path) -> None:
    tree = tmp_path / "empty"
    for d in range(100):
        sub = tree / f"d{d:03}"
        sub.mkdir(parents=True)
        for i in range(1000):
            (sub / f"f{i}.py").touch()
    data = json.loads(all_reports(tree, tmp_path / "out")["json"])
    assert data["coverage"]["files_scanned"] == 100_000
    assert data["verdict"] == "not present"


# -- the per-file budget ---------------------------------------------------------------------

def _one_file_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / "slow.py").write_bytes(LAUNCH)
    (tree / "fine.sh").write_bytes(b"claude --dangerously-skip-permissions -p hi\n")
    return tree


def _spin(analysis):  # a Python loop that never yields: the timer interrupts it
    while True:
        pass
    yield  # pragma: no cover


def _trickle(analysis):  # sleeps in a loop that swallows exceptions, like a careless analyzer
    while True:
        try:
            time.sleep(0.01)
        except Exception:
            pass
        yield from ()
        if False:  # pragma: no cover
            yield


@pytest.mark.parametrize("analyzer", [_spin, _trickle])
def test_over_budget_file_is_skipped_with_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, analyzer) -> None:
    monkeypatch.setitem(ANALYZERS, "python", analyzer)
    monkeypatch.setattr(engine, "FILE_BUDGET_SECONDS", 0.3)
    start = time.monotonic()
    result = scan(_one_file_tree(tmp_path), ScanOptions(jobs=1))
    assert time.monotonic() - start < 10
    reasons = {s.path: s.reason for s in result.coverage.skipped_files}
    assert reasons["slow.py"] == "over the per-file time budget"
    assert result.coverage.skipped["over the per-file time budget"] == 1
    assert any(f.location.path == "fine.sh" for f in result.findings)  # the rest of the scan goes on


def test_tree_sitter_parse_is_cancelled_at_the_deadline() -> None:
    source = b"x = [" + b"1, " * 2_000_000 + b"]\n"
    with pytest.raises(OverBudget):
        with file_budget(5):
            import scanner.parse.trees as parsing

            parsing._deadline = time.monotonic() - 1  # already past: the next parse step cancels
            parse("python", source)
    assert parse("python", b"x = 1\n").root_node.type == "module"  # the parser is usable afterwards


def test_budget_restores_the_previous_alarm_handler() -> None:
    import signal

    before = signal.getsignal(signal.SIGALRM)
    with file_budget(5):
        pass
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)

"""The `scan` command behaves like the tools people already use: --min-severity, --min-confidence,
--quiet, -v, --color, --format github, a closing summary line, the terminal's real width (and no
wrapping when piped), flags shown as flags in --help, a documentation URL per rule."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
from test_reports_helpers import ROOT, WORDING, build, cli, env

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("cli"), WORDING)


def test_min_severity_and_confidence_filter_every_format_but_not_the_verdict(tree: Path) -> None:
    full = json.loads(cli("scan", str(tree), "-f", "json", "--fail-on", "never").stdout)
    high = json.loads(cli("scan", str(tree), "-f", "json", "--fail-on", "never", "--min-severity", "high").stdout)
    assert {f["severity"] for f in high["findings"]} <= {"high", "critical"}
    assert high["verdict"] == full["verdict"] == "present"
    assert high["summary"]["below_threshold"] == len(full["findings"]) - len(high["findings"]) > 0
    sure = json.loads(cli("scan", str(tree), "-f", "json", "--fail-on", "never", "--min-confidence", "high").stdout)
    assert all(f["confidence"] == "high" for f in sure["findings"]) and len(sure["findings"]) < len(full["findings"])
    text = cli("scan", str(tree), "--fail-on", "never", "--min-severity", "high").stdout
    assert "below the severity or confidence shown" in text.splitlines()[-1]
    sarif = json.loads(cli("scan", str(tree), "-f", "sarif", "--fail-on", "never", "--min-severity", "critical").stdout)
    assert {r["level"] for r in sarif["runs"][0]["results"] if r["ruleId"].startswith("agent-")} == {"error"}
    # The exit code follows the verdict, which counts every finding.
    assert cli("scan", str(tree), "--min-severity", "critical", "--min-confidence", "high").returncode == 1


def test_bad_threshold_is_a_usage_error(tree: Path) -> None:
    proc = cli("scan", str(tree), "--min-severity", "severe")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_quiet_prints_the_verdict_and_the_closing_line(tree: Path) -> None:
    proc = cli("scan", str(tree), "-q", "--fail-on", "never")
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, proc.stdout
    assert lines[0].startswith("1. VERDICT  present")
    assert re.fullmatch(r"15 findings: 0 informational, 8 low, 5 medium, 1 high, 1 critical", lines[1]), lines[1]
    both = cli("scan", str(tree), "-q", "-v")
    assert both.returncode == 2 and "--quiet and --verbose" in both.stderr


def test_verbose_shows_every_site_and_fix(tree: Path) -> None:
    default = cli("scan", str(tree), "--fail-on", "never").stdout
    verbose = cli("scan", str(tree), "--fail-on", "never", "-v").stdout
    assert "more launch site" in default and "more launch site" not in verbose
    assert "-v shows them" in default and "-v shows them" not in verbose
    assert verbose.count("docs: https://") == 9  # one per rule


def test_closing_line_like_zizmor(tree: Path) -> None:
    last = cli("scan", str(tree), "--fail-on", "never").stdout.splitlines()[-1]
    assert last == "15 findings: 0 informational, 8 low, 5 medium, 1 high, 1 critical"


def test_no_colour_when_piped_colour_with_always(tree: Path) -> None:
    piped = cli("scan", str(tree), "--fail-on", "never").stdout
    assert not ANSI.search(piped)
    forced = cli("scan", str(tree), "--fail-on", "never", "--color", "always").stdout
    assert ANSI.search(forced)
    assert ANSI.sub("", forced) == piped  # the same text, only coloured
    assert not ANSI.search(cli("scan", str(tree), "--fail-on", "never", "--color", "never").stdout)


def test_piped_output_is_never_wrapped(tree: Path) -> None:
    text = cli("scan", str(tree), "--fail-on", "never", COLUMNS="40").stdout
    why = text.split("3. WHY IT MATTERS\n", 1)[1].splitlines()[0]
    assert len(why) > 200 and why.startswith("   `--privileged`")  # one line, whatever the width


def _on_a_terminal(args: list[str], columns: int, **extra: str) -> str:
    """Run the CLI with stdout on a pseudo-terminal of `columns` columns."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "scanner", *args], stdout=slave, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, cwd=ROOT, env=env(TERM="xterm-256color", **extra))
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.parametrize("columns", [80, 100])
def test_terminal_width_and_colour_on_a_tty(tree: Path, columns: int) -> None:
    out = _on_a_terminal(["scan", str(tree), "--fail-on", "never", "--no-progress"], columns)
    assert ANSI.search(out)
    plain = ANSI.sub("", out)
    why = plain.split("3. WHY IT MATTERS\n", 1)[1].split("4. FIX", 1)[0].splitlines()
    assert len(why) > 1 and all(len(line) <= columns for line in why)
    assert all(line.startswith("   ") for line in why)  # wrapped prose keeps its indent
    no_color = _on_a_terminal(["scan", str(tree), "--fail-on", "never", "--no-progress"], columns, NO_COLOR="1")
    assert not ANSI.search(no_color)


def test_github_format_annotations_are_escaped(tmp_path: Path) -> None:
    name = "odd,name:100%.sh"
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / name).write_text("#!/bin/sh\nclaude --dangerously-skip-permissions -p '%0A::error::x'\n")
    proc = cli("scan", str(tmp_path / "repo"), "-f", "github", "--fail-on", "never")
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("blastwall verdict: present. ")
    annotations = [line for line in lines if line.startswith("::")]
    assert annotations and all(re.match(r"::(error|warning|notice) file=", a) for a in annotations)
    first = next(a for a in annotations if "agent-permission-bypass" in a)
    assert "file=odd%2Cname%3A100%25.sh," in first and ",line=2," in first
    assert "title=blastwall agent-permission-bypass (high)::" in first
    assert all(a.count("::") == 2 for a in annotations)  # nothing in a message opens another command
    levels = {re.match(r"::(\w+)", a).group(1) for a in annotations}
    assert "error" in levels


def test_flags_are_shown_as_flags_in_help() -> None:
    for command in ("scan", "fix"):
        proc = cli(command, "--help", COLUMNS="160")
        assert proc.returncode == 0
        assert "<bool>" not in proc.stdout, proc.stdout
        assert "--force" in proc.stdout or command == "scan"
    scan = cli("scan", "--help", COLUMNS="160").stdout
    for flag in ("--min-severity", "--min-confidence", "--quiet", "--verbose", "--color", "github"):
        assert flag in scan


def test_explain_names_the_rule_page() -> None:
    out = cli("explain", "agent-inline-launch").stdout
    assert "docs: https://github.com/blastwall/blastwall/blob/main/docs/rules/agent-inline-launch.md" in out


def test_text_report_file_is_recognised_as_an_earlier_report(tree: Path) -> None:
    out = tree / "report.txt"
    assert cli("scan", str(tree), "-o", str(out), "--fail-on", "never").returncode == 0
    assert out.read_text().startswith("1. VERDICT  present")
    assert cli("scan", str(tree), "-o", str(out), "--fail-on", "never").returncode == 0  # may be overwritten
    out.unlink()


def test_rule_counts_keep_lower_severity_findings_apart(tmp_path: Path) -> None:
    """A rule shown as `high` counts its high findings; the informational ones in tests are
    counted apart, so the summary never reads as 3 high findings when 2 are test code."""
    launch = "import subprocess\nsubprocess.run(['claude', '-p', 'x', '--dangerously-skip-permissions'])\n"
    repo = build(tmp_path, {"src/fixer.py": launch, "tests/test_a.py": launch, "tests/test_b.py": launch})
    out = cli("scan", str(repo), "--fail-on", "never").stdout
    rules = next(line for line in out.splitlines() if line.strip().startswith("rules:"))
    assert "high agent-permission-bypass 1 (+2 lower)" in rules, rules
    markdown = cli("scan", str(repo), "-f", "markdown", "--fail-on", "never").stdout
    assert "| `agent-permission-bypass` | **high** | 1 (+2 lower) | 3 |" in markdown, markdown

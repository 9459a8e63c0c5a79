"""Unattended runs: crontab lines, launchd jobs, systemd services and crontab lines a script
installs are entry points with no person in the loop. They are followed to the repository files
they run (by repository path, or by path suffix for a path written on another machine), and
judged by the launch they reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixture_harness import read_annotations, write_tree
from scanner.project.files import ProjectFiles
from scanner.catalog import load_catalog
from scanner.launch.cfgjudge import ConfigTools
from scanner.launch import schedulers
from scanner.launch.shell import ShellText, script_path_expr
from scanner.launch.workflow_links import EntryResolver
from scanner.engine import ScanOptions, scan
from scanner.model import Boundary, Confidence, Severity, Verdict
from scanner.parse.trees import SourceFile

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
SCENARIOS = ["scheduled-launchd-agent", "scheduled-launchd-backup", "scheduled-systemd-timer-agent",
             "scheduled-cron-installer-agent", "scheduled-cron-sandboxed-agent"]
AGENT_SCRIPT = "#!/bin/bash\nclaude -p \"triage the inbox\" --dangerously-skip-permissions\n"


def _scan(root: Path):
    return scan(root, ScanOptions(jobs=1))


def _plist(*args: str, extra: str = "<key>StartInterval</key>\n  <integer>900</integer>\n") -> str:
    strings = "".join(f"    <string>{a}</string>\n" for a in args)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n'
            "  <key>Label</key>\n  <string>test.job</string>\n  <key>ProgramArguments</key>\n  <array>\n"
            f"{strings}  </array>\n  {extra}</dict>\n</plist>\n")


def _scheduled(result):
    return [s for s in result.launch_sites if s.surface == "scheduler"]


def _at(result, path: str, rule: str = "agent-inline-launch"):
    return [f for f in result.findings if f.location.path == path and f.rule_id == rule]


# -- the scenarios ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", SCENARIOS)
def test_annotated_lines(name: str) -> None:
    """The `ruleid:` / `ok:` comments in the scenario files agree with the scan."""
    exp = read_annotations(REPOS / name)
    assert exp.expected or exp.forbidden
    got = {(f.rule_id, f.location.path, f.location.line) for f in _scan(REPOS / name).findings}
    assert not exp.expected - got, sorted(exp.expected - got)
    assert not exp.forbidden & got, sorted(exp.forbidden & got)


def test_launchd_job_reaches_an_agent_through_a_path_from_another_machine() -> None:
    result = _scan(REPOS / "scheduled-launchd-agent")
    (site,) = _scheduled(result)
    assert site.location.path == "launchd/dev.dana.issue-triage.plist" and site.location.line == 11
    assert site.containment.boundary is Boundary.NONE and site.agent == "gemini-cli"
    assert site.containment.has("unattended")
    (finding,) = _at(result, site.location.path)
    assert finding.severity is Severity.HIGH and finding.category == "inline-launch"
    assert finding.confidence is Confidence.MEDIUM  # matched by path suffix
    assert [(r.path, r.line, r.label) for r in finding.related] == [
        ("bin/lib/label-issues.sh", 6, "the Gemini CLI launch it starts")]
    reached = next(s for s in result.launch_sites if s.location.path == "bin/lib/label-issues.sh")
    assert {f.kind for f in reached.containment.facts} >= {"entry-point", "unattended"}


def test_systemd_timer_schedule_is_named_at_the_service_line() -> None:
    result = _scan(REPOS / "scheduled-systemd-timer-agent")
    (site,) = _scheduled(result)
    assert (site.location.path, site.location.line) == ("deploy/systemd/repo-gardener.service", 9)
    (fact,) = site.containment.of_kind("unattended")
    assert "repo-gardener.timer: OnCalendar=Mon..Fri 07:00" in fact.value


def test_sandboxed_runner_keeps_its_boundary() -> None:
    result = _scan(REPOS / "scheduled-cron-sandboxed-agent")
    (site,) = _scheduled(result)
    assert site.containment.boundary is Boundary.OS_SANDBOX and site.containment.has("unattended")
    assert result.verdict is Verdict.NOT_PRESENT


def test_scheduler_reaching_no_agent_is_nothing() -> None:
    result = _scan(REPOS / "scheduled-launchd-backup")
    assert not _scheduled(result)
    assert result.verdict is Verdict.NOT_PRESENT


# -- what counts as reaching an agent ----------------------------------------------------------

def test_repo_relative_path_is_high_confidence(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"scripts/run.sh": AGENT_SCRIPT,
                             "ops/jobs.cron": "# nightly\n0 3 * * * cd /srv/app && ./scripts/run.sh >> /tmp/log 2>&1\n"})
    result = _scan(root)
    (finding,) = _at(result, "ops/jobs.cron")
    assert finding.location.line == 2 and finding.confidence is Confidence.HIGH


def test_sh_c_in_program_arguments_with_cd_to_home(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"scripts/run.sh": AGENT_SCRIPT,
                             "agent.plist": _plist("/bin/sh", "-c", "cd ~/src/app &amp;&amp; ./scripts/run.sh")})
    assert _at(_scan(root), "agent.plist")


def test_ambiguous_suffix_links_nothing(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"a/run.sh": AGENT_SCRIPT, "b/run.sh": AGENT_SCRIPT,
                             "job.plist": _plist("/Users/kim/proj/run.sh")})
    assert not _scheduled(_scan(root))


def test_longest_unique_suffix(tmp_path: Path) -> None:
    paths = {"a/run.sh", "b/run.sh", "scripts/auto.sh", "tools/x/auto.sh", "lib/deep/auto.sh", "bin/tool"}
    resolver = EntryResolver(ProjectFiles(tmp_path, paths), ConfigTools.of(load_catalog()), paths, {}, foreign=True)
    assert resolver.foreign_file("/Users/kim/proj/scripts/auto.sh") == "scripts/auto.sh"
    assert resolver.foreign_file("/home/kim/proj/a/run.sh") == "a/run.sh"
    assert resolver.foreign_file("/home/kim/proj/run.sh") is None  # two files end in run.sh
    assert resolver.foreign_file("~/proj/tools/x/auto.sh") == "tools/x/auto.sh"
    assert resolver.foreign_file("$HOME/proj/lib/deep/auto.sh") == "lib/deep/auto.sh"
    assert resolver.foreign_file("/usr/bin/tool") is None  # a program in a system folder
    assert resolver.foreign_file("/tmp/scripts/auto.sh") is None  # scratch space is never a checkout
    assert resolver.foreign_dir("/srv/app/tools/x") == "tools/x"
    assert resolver.foreign_dir("/srv/app") == ""  # the checkout itself
    plain = EntryResolver(ProjectFiles(tmp_path, paths), ConfigTools.of(load_catalog()), paths, {})
    assert plain.resolve("/Users/kim/proj/scripts/auto.sh", "") is None  # workflows: not matched


def test_entry_running_as_another_account_is_not_inline(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"scripts/run.sh": AGENT_SCRIPT,
                             "deploy/agent.service": "[Service]\nUser=agentbot\nExecStart=/opt/app/scripts/run.sh\n",
                             "deploy/root.service": "[Service]\nExecStart=/opt/app/scripts/run.sh\n"
                                                    "[Install]\nWantedBy=multi-user.target\n"})
    result = _scan(root)
    sites = {s.location.path: s for s in _scheduled(result)}
    assert sites["deploy/agent.service"].containment.boundary is Boundary.OTHER_USER
    assert not _at(result, "deploy/agent.service")
    assert _at(result, "deploy/root.service")


def test_contained_reach_through_a_sandbox_runner(tmp_path: Path) -> None:
    runner = ("#!/bin/sh\nexec timeout 10m docker run --rm --network none --read-only --cap-drop ALL "
              "--user 1000:1000 --memory 1g --pids-limit 64 -v \"$PWD\":/w:ro -e ANTHROPIC_API_KEY "
              "ghcr.io/acme/agent@sha256:" + "a" * 64 + " claude -p \"review /w\"\n")
    root = write_tree(tmp_path, {"bin/review.sh": runner, "crontab": "@hourly /home/ci/app/bin/review.sh\n"})
    result = _scan(root)
    (site,) = _scheduled(result)
    assert site.containment.boundary is Boundary.CONTAINER
    assert not _at(result, "crontab") and result.verdict is Verdict.NOT_PRESENT


# -- schedulers that start an agent themselves -------------------------------------------------

def test_direct_agent_in_crontab_plist_service_and_installer(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "jobs.cron": 'MAILTO=""\n@daily claude -p "summarise" --dangerously-skip-permissions > /tmp/out\n',
        "agent.plist": _plist("/usr/local/bin/codex", "exec", "--dangerously-bypass-approvals-and-sandbox", "fix"),
        "agent.service": "[Service]\nExecStart=/usr/bin/env gemini --yolo \\\n  -p 'tidy'\n",
        "install.sh": "#!/bin/sh\necho \"0 * * * * aider --yes-always --message 'lint'\" | crontab -\n",
    })
    result = _scan(root)
    lines = {(s.location.path, s.location.line, s.agent) for s in _scheduled(result)}
    assert lines == {("jobs.cron", 2, "claude-code"), ("agent.plist", 8, "codex"),
                     ("agent.service", 2, "gemini-cli"), ("install.sh", 2, "aider")}
    for site in _scheduled(result):
        assert site.containment.has("unattended")
        assert _at(result, site.location.path)
        assert _at(result, site.location.path, "agent-permission-bypass")


# -- reading the files -------------------------------------------------------------------------

def test_crontab_lines() -> None:
    src = SourceFile("cron.d/jobs", (
        "SHELL=/bin/bash\n# 0 * * * * commented out\n"
        "*/5 * * * * root /opt/app/run.sh\n"
        "0 9 * * mon-fri deploy cd /srv/app && ./go.sh\n"
        "30 2 1,15 * * /opt/app/report.sh --to=ops 50% done\n"
        "@reboot ~/bin/start.sh\n"
        "1 2 3 4 5\n").encode())
    found = schedulers.crontab_entries(ConfigTools.of(load_catalog()), src)
    assert [(e.location.line, e.user, e.shell) for e in found] == [
        (3, "root", "/opt/app/run.sh"), (4, "deploy", "cd /srv/app && ./go.sh"),
        (5, "", "/opt/app/report.sh --to=ops 50"), (6, "", "~/bin/start.sh")]
    assert found[3].schedule == "at boot"


def test_installer_lines_need_a_crontab_and_a_leading_schedule() -> None:
    script = ('#!/bin/bash\nDIR="$(cd "$(dirname "$0")" && pwd)"\nRUN="$DIR/agent.sh"\n'
              'echo "*/30 * * * * $RUN" >> /tmp/cron.new\n'
              'echo "Add this line: 0 * * * * $RUN"\n'
              'echo "  0 * * * * $RUN   (example)"\n'
              '# echo "0 * * * * $RUN"\n'
              'crontab - <<EOF\n@weekly $DIR/weekly.sh\nEOF\n'
              'crontab /tmp/cron.new\n')
    src = SourceFile("ops/install.sh", script.encode())
    found = schedulers.installer_entries(src)
    assert [(e.location.line, e.shell) for e in found] == [
        (4, "${BLASTWALL_REPO_ROOT}/ops/agent.sh"), (9, "${BLASTWALL_REPO_ROOT}/ops/weekly.sh")]
    assert not schedulers.installer_entries(SourceFile("x.sh", b'#!/bin/sh\necho "*/30 * * * * ./agent.sh"\n'))


def test_launchd_keys() -> None:
    text = _plist("/bin/zsh", "/Users/a/p/run.sh",
                  extra="<key>StartCalendarInterval</key>\n  <dict><key>Hour</key><integer>3</integer></dict>\n"
                        "  <key>RunAtLoad</key>\n  <true/>\n  <key>WorkingDirectory</key>\n  <string>/Users/a/p</string>\n")
    (entry,) = schedulers.launchd_entries(SourceFile("x.plist", text.encode()))
    assert [w.text for w in entry.words] == ["/bin/zsh", "/Users/a/p/run.sh"]
    assert [w.location.line for w in entry.words] == [8, 9]
    assert entry.schedule == "on a calendar schedule, at load" and entry.workdir == "/Users/a/p"


def test_only_scheduler_looking_files_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not schedulers.looks_scheduled("launchd", b"<plist><dict><key>CFBundleName</key></dict></plist>")
    assert not schedulers.looks_scheduled("systemd", b"[D-BUS Service]\nExec=/usr/bin/claude\n")
    assert not schedulers.looks_scheduled("crontab", b"# nothing scheduled here\n")
    assert not schedulers.looks_scheduled("script", b"#!/bin/sh\necho '0 * * * * x'\n")  # never installs it
    assert schedulers.looks_scheduled("script", b"#!/bin/sh\necho '0 * * * * x' | crontab -\n")

    def boom(*_args):  # pragma: no cover - must not be reached
        raise AssertionError("parsed a file that does not look like a scheduler")

    monkeypatch.setattr(schedulers, "launchd_entries", boom)
    from scanner.launch.base import Analysis

    info = SourceFile("Info.plist", b"<plist><dict><key>CFBundleName</key><string>claude</string></dict></plist>")
    assert list(schedulers.analyze_scheduler(Analysis(info, "scheduler", ConfigTools.of(load_catalog())))) == []


# -- scripts that find their own folder --------------------------------------------------------

@pytest.mark.parametrize(("spelled", "expected"), [
    ('"$(cd "$(dirname "$0")" && pwd)"', "."),
    ('"$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" &> /dev/null && pwd -P)"', "."),
    ('$(dirname "$(readlink -f "$0")")', "."),
    ("${0%/*}", "."),
    ('"$(dirname "$0")/.."', ".."),
    ('$(cd "$(dirname "$0")/.." && pwd)', ".."),
    ("$(pwd)", None),
    ("'$0'", None),
])
def test_script_dir_idioms(spelled: str, expected: str | None) -> None:
    assert script_path_expr(spelled, {}) == expected


def test_script_relative_paths() -> None:
    script = ('#!/bin/bash\nHERE="$(cd "$(dirname "$0")" && pwd)"\nROOT="$HERE/.."\nRUN="${ROOT}/bin/run.sh"\n'
              'OTHER=/opt/x\nOTHER=/opt/y\n')
    text = ShellText(SourceFile("tools/ci/setup.sh", script.encode()), script.encode())
    assert text.script_paths() == {"HERE": ".", "ROOT": "..", "RUN": "../bin/run.sh"}
    assert text.script_relative("$RUN") == "tools/bin/run.sh"
    assert text.script_relative('"$HERE/../../x.sh"') == "x.sh"
    assert text.script_relative("$HERE/../../../x.sh") is None  # outside the repository
    assert text.expand_known("0 * * * * $RUN --once") == "0 * * * * ${BLASTWALL_REPO_ROOT}/tools/bin/run.sh --once"


def test_script_that_installs_itself(tmp_path: Path) -> None:
    script = ('#!/bin/bash\nSELF="$(cd "$(dirname "$0")" && pwd)/nightly.sh"\n'
              'if [ "${1:-}" = "--install" ]; then\n'
              '  (crontab -l; echo "0 1 * * * $SELF") | crontab -\n  exit 0\nfi\n'
              'claude -p "nightly chores" --dangerously-skip-permissions\n')
    result = _scan(write_tree(tmp_path, {"ops/nightly.sh": script}))
    (finding,) = [f for f in _at(result, "ops/nightly.sh") if f.location.line == 4]  # the crontab line
    assert [(r.path, r.line) for r in finding.related] == [("ops/nightly.sh", 7)]


def test_inline_shell_follows_cd(tmp_path: Path) -> None:
    """`bash -c "cd tools && ./agent.sh"` in a workflow step runs tools/agent.sh."""
    root = write_tree(tmp_path, {
        "tools/agent.sh": AGENT_SCRIPT,
        ".github/workflows/a.yml": ("on: workflow_dispatch\npermissions:\n  contents: read\njobs:\n  a:\n"
                                    "    runs-on: ubuntu-latest\n    timeout-minutes: 5\n    steps:\n"
                                    "      - run: bash -c \"cd tools && ./agent.sh\"\n")})
    sites = [s for s in _scan(root).launch_sites if s.location.path == ".github/workflows/a.yml"]
    assert [s.location.line for s in sites] == [9]


@pytest.mark.parametrize("command", ["flock -n /tmp/agent.lock /srv/app/scripts/run.sh",
                                     "flock -w 5 /tmp/agent.lock -c 'cd /srv/app && ./scripts/run.sh'",
                                     "cronic run-one /srv/app/scripts/run.sh"])
def test_cron_wrappers_are_looked_through(tmp_path: Path, command: str) -> None:
    root = write_tree(tmp_path, {"scripts/run.sh": AGENT_SCRIPT, "agent.cron": f"*/15 * * * * {command}\n"})
    assert _at(_scan(root), "agent.cron")


def test_cron_wrappers_in_front_of_an_agent(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"agent.cron": "0 * * * * cronic run-one codex exec --yolo 'triage'\n"})
    assert {f.rule_id for f in _at(_scan(root), "agent.cron", "agent-permission-bypass")} == {"agent-permission-bypass"}


def test_interpreter_installed_anywhere(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"bot/agent.js": 'const cp = require("child_process");\ncp.spawnSync("claude", ["-p", "x"]);\n',
                             "job.plist": _plist("/Users/kim/.nvm/versions/node/v20.11.0/bin/node",
                                                 "/Users/kim/src/bot/bot/agent.js")})
    (site,) = _scheduled(_scan(root))
    assert site.location.line == 9  # the script's line, not the interpreter's

"""Project configuration: .blastwall.toml, [tool.blastwall], --config; bad input is a usage error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.config import Config, ConfigError, ExtraAgent, Origin, apply_severity_overrides, catalog_for, load_config
from scanner.engine import ScanOptions, scan
from scanner.model import Severity, Verdict

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, text=True, env=env, timeout=120)


FULL = """
exclude = ["docs/**"]
disable = ["agent-unpinned-image"]
allowed-egress = ["api.internal.example", "*.example.org:8443"]
agents = [{ name = "Acme Agent", binaries = ["acme-agent"] }]

[severity]
agent-unbounded-session = "info"
"""


def test_full_file(tmp_path: Path) -> None:
    (tmp_path / ".blastwall.toml").write_text(FULL)
    cfg = load_config(tmp_path)
    assert cfg == Config(source=".blastwall.toml", exclude=("docs/**",), disable=("agent-unpinned-image",),
                         severity=(("agent-unbounded-session", Severity.INFO),),
                         allowed_egress=("api.internal.example", "*.example.org:8443"),
                         agents=(ExtraAgent("Acme Agent", ("acme-agent",)),),
                         origins=(Origin("exclude", "docs/**", 2, 'exclude = ["docs/**"]'),
                                  Origin("disable", "agent-unpinned-image", 3, 'disable = ["agent-unpinned-image"]'),
                                  Origin("severity", "agent-unbounded-session = info", 8, 'agent-unbounded-session = "info"'),
                                  Origin("agents", "Acme Agent", 5,
                                         'agents = [{ name = "Acme Agent", binaries = ["acme-agent"] }]')))


def test_pyproject_table_and_precedence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.blastwall]\ndisable = ["agent-open-egress"]\n')
    cfg = load_config(tmp_path)
    assert cfg.disable == ("agent-open-egress",) and cfg.in_pyproject
    (tmp_path / ".blastwall.toml").write_text('exclude = ["x/"]\n')
    assert load_config(tmp_path) == Config(source=".blastwall.toml", exclude=("x/",),
                                           origins=(Origin("exclude", "x/", 1, 'exclude = ["x/"]'),))
    (tmp_path / "empty").mkdir()
    assert load_config(tmp_path / "empty") == Config()  # no file at all: empty


def test_pyproject_without_table_is_no_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_config(tmp_path) == Config()


@pytest.mark.parametrize(("text", "message"), [
    ('colour = "red"\n', "unknown key 'colour'"),
    ('disable = ["no-such-rule"]\n', "unknown rule 'no-such-rule'"),
    ('disable = "agent-open-egress"\n', "must be a list"),
    ('[severity]\nagent-open-egress = "urgent"\n', "must be one of"),
    ('allowed-egress = ["http://x.example/path"]\n', "not a host name"),
    ('agents = [{ name = "A", binaries = ["claude"] }]\n', "already known"),
    ('agents = [{ name = "A", binaries = ["a b"] }]\n', "not a command name"),
    ('agents = [{ name = "A", binaries = ["a"], flags = ["--x"] }]\n', "unknown key 'flags'"),
    ("exclude = [\n", "not valid TOML"),
])
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / ".blastwall.toml").write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(tmp_path)


def test_bad_config_exits_2_in_one_line(tmp_path: Path) -> None:
    (tmp_path / ".blastwall.toml").write_text('colour = "red"\n')
    proc = run("scan", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown key 'colour'" in proc.stderr and "Traceback" not in proc.stderr


def test_severity_override_is_applied_once_and_said(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("claude --dangerously-skip-permissions -p hi\n")
    base = scan(tmp_path, ScanOptions(jobs=1))
    bypass = next(f for f in base.findings if f.rule_id == "agent-permission-bypass")
    (changed,) = apply_severity_overrides([bypass], [("agent-permission-bypass", "low")])
    assert changed.severity is Severity.LOW
    assert changed.message.endswith("Severity set to low by the project's blastwall configuration (rule default: high).")
    assert apply_severity_overrides([bypass], [("agent-permission-bypass", "high")]) == [bypass]


def test_config_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("claude -p hi\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "demo.sh").write_text("claude -p hi\n")
    (tmp_path / "tools.sh").write_text("acme-agent --task fix\n")
    (tmp_path / ".blastwall.toml").write_text(
        'exclude = ["docs/"]\ndisable = ["agent-inherits-environment"]\n'
        'agents = [{ name = "Acme Agent", binaries = ["acme-agent"] }]\n'
        '[severity]\nagent-inline-launch = "medium"\n')
    import json

    proc = run("scan", str(tmp_path), "-f", "json", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    paths = {f["path"] for f in report["findings"]}
    assert paths == {"run.sh", "tools.sh"}  # docs/ excluded; the extra agent is found
    assert "agent-inherits-environment" not in {f["rule_id"] for f in report["findings"]}
    assert "agent-inherits-environment" not in report["coverage"]["rules_run"]
    inline = [f for f in report["findings"] if f["rule_id"] == "agent-inline-launch"]
    assert {f["severity"] for f in inline} == {"medium"}
    assert all("by the project's blastwall configuration" in f["message"] for f in inline)
    assert report["verdict"] == "not present"  # nothing at high or above once the override applies
    assert {s["agent_name"] for s in report["launch_sites"]} == {"Claude Code", "Acme Agent"}
    # --config points elsewhere; the file at the root is then not read.
    other = tmp_path.parent / f"{tmp_path.name}-other.toml"
    other.write_text("")
    proc = run("scan", str(tmp_path), "-f", "json", "--fail-on", "never", "--config", str(other))
    assert {f["path"] for f in json.loads(proc.stdout)["findings"]} == {"docs/demo.sh", "run.sh"}
    proc = run("scan", str(tmp_path), "--config", str(tmp_path / "missing.toml"))
    assert proc.returncode == 2 and "cannot read missing.toml" in proc.stderr


def test_extra_agents_extend_the_catalog() -> None:
    extra = (ExtraAgent("Acme Agent", ("acme-agent",)),)
    catalog = catalog_for(extra)
    assert catalog is catalog_for(extra)  # cached: workers and the prefilter see one object
    spec = catalog.by_binary["acme-agent"]
    assert (spec.id, spec.name, spec.bypass) == ("config-acme-agent", "Acme Agent", ())
    assert "acme-agent" in catalog.search_terms()
    assert "acme-agent" not in catalog_for().by_binary


def test_extra_agent_found_by_parallel_workers(tmp_path: Path) -> None:
    for i in range(70):  # above the parallel threshold
        (tmp_path / f"s{i}.sh").write_text("echo nothing\n")
    (tmp_path / "z.sh").write_text("acme-agent --task fix\n")
    extra = (ExtraAgent("Acme Agent", ("acme-agent",)),)
    result = scan(tmp_path, ScanOptions(jobs=2, extra_agents=extra))
    assert [s.agent for s in result.launch_sites] == ["config-acme-agent"]
    assert result.verdict is Verdict.PRESENT


def test_configured_agents_reach_every_analyzer_and_keep_the_catalog(tmp_path: Path) -> None:
    """With `agents = [...]` configured, housekeeping like `claude --version` is still no session,
    and the new agent is found by the Dockerfile and MCP analyzers too, not only in commands."""
    from scanner.cli import _project_options
    from scanner.engine import ScanOptions, scan

    (tmp_path / ".blastwall.toml").write_text('agents = [{ name = "Acme Agent", binaries = ["acme-agent"] }]\n')
    (tmp_path / "Makefile").write_text("versions:\n\tclaude --version\n\tacme-agent -p triage\n")
    (tmp_path / "Dockerfile").write_text('FROM node:20@sha256:' + "a" * 64 + '\nUSER node\nCMD ["acme-agent", "serve"]\n')
    (tmp_path / ".mcp.json").write_text('{"mcpServers": {"acme": {"command": "acme-agent", "args": ["mcp"]}}}\n')
    result = scan(tmp_path, ScanOptions(jobs=1, **_project_options(tmp_path, None, None, None)))
    assert sorted((s.location.path, s.location.line) for s in result.launch_sites) == [
        (".mcp.json", 1), ("Dockerfile", 3), ("Makefile", 3)]
    assert {s.agent for s in result.launch_sites if s.location.path != ".mcp.json"} == {"config-acme-agent"}
    assert not [f for f in result.findings if f.location.path == "Makefile" and f.location.line == 2]


def test_configured_agent_reaches_every_config_surface_and_the_link_stage(tmp_path: Path) -> None:
    """A configured agent is read with the scan's own catalog wherever a config file starts it:
    a Dockerfile CMD, a compose command, a Kubernetes pod, an MCP server, a workflow run step; and
    the link stage sees it too (a workflow step running a script that starts it, a compose service
    built from the Dockerfile). Without the configuration none of them is that agent."""
    from scanner.cli import _project_options

    files = {
        ".blastwall.toml": 'agents = [{ name = "Hexa Agent", binaries = ["hexa-agent"] }]\n',
        "Dockerfile": 'FROM node:20\nUSER node\nCMD ["hexa-agent", "--task", "triage"]\n',
        "compose.yaml": ("services:\n  worker:\n    image: node:20\n    command: [\"hexa-agent\", \"--task\", \"triage\"]\n"
                         "  app:\n    build: .\n"),
        "k8s/pod.yaml": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: triage\nspec:\n  containers:\n    - name: main\n"
                         "      image: node:20\n      command: [\"hexa-agent\", \"--task\", \"triage\"]\n"),
        ".mcp.json": '{\n  "mcpServers": {\n    "hexa": {"command": "hexa-agent", "args": ["--task", "triage"]}\n  }\n}\n',
        ".github/workflows/triage.yml": ("on: push\njobs:\n  triage:\n    runs-on: ubuntu-latest\n    steps:\n"
                                         "      - run: hexa-agent --task triage\n      - run: ./scripts/triage.sh\n"),
        "scripts/triage.sh": "#!/bin/sh\nhexa-agent --task nightly\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)

    result = scan(tmp_path, ScanOptions(jobs=1, **_project_options(tmp_path, None, None, None)))
    hexa = {(s.location.path, s.location.line): s for s in result.launch_sites if s.agent == "config-hexa-agent"}
    assert sorted(hexa) == [
        (".github/workflows/triage.yml", 6),  # run step
        (".github/workflows/triage.yml", 7),  # link stage: the step runs a script that starts it
        (".mcp.json", 3),
        ("Dockerfile", 3),  # link stage: run by the compose service built from it
        ("compose.yaml", 2),
        ("k8s/pod.yaml", 9),
        ("scripts/triage.sh", 2),
    ]
    assert [s.surface for s in result.launch_sites if s.agent != "config-hexa-agent"] == []
    assert hexa[("Dockerfile", 3)].launcher == "compose service `app` (compose.yaml)"

    (tmp_path / ".blastwall.toml").unlink()
    plain = scan(tmp_path, ScanOptions(jobs=1, **_project_options(tmp_path, None, None, None)))
    assert [s.agent for s in plain.launch_sites] == ["mcp-server"]  # a program, not an agent, without the config

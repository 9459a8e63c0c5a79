"""`blastwall fix --apply --yes` then `blastwall scan`: the verdict must flip to `not present`.

Every present scenario either flips, or is listed below with the reason it cannot, which `fix`
must print (once, grouped, with its files) so the gap stays visible rather than silently skipped:

- MANUAL: the verdict stays `present`, for a reason a reviewer would defend (a credential the
  server needs, a config installed outside the repository, code whose safe form needs more than
  a mechanical rewrite, a third-party action whose tools cannot be seen);
- STAYS_UNCLEAR: no high finding is left, but containment depends on something outside the
  repository (the launcher that runs a command string), so the verdict is `unclear`.

Before this list was shrunk it held 16 scenarios; blastwall now rewrites configs found by
content, SDK and framework options (AutoGen's local executor included: it becomes the Docker one,
started where AutoGen needs it started), helper-built and shell-string commands, `docker run`
commands continued over several lines, calls through `promisify(exec)`, compose services, agent
actions and workflow jobs, and reaches an MCP server its provider hosts at the provider's URL
(rules/mcp_servers.yaml: the GitHub server's token then goes only to GitHub), so 4 + 1 remain.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from fixture_harness import blastwall

ROOT = Path(__file__).resolve().parents[1]
REPOS = ROOT / "fixtures" / "repos"
PRESENT = sorted(p.name for p in REPOS.iterdir()
                 if (p / "expected.yaml").is_file() and yaml.safe_load((p / "expected.yaml").read_text())["verdict"] == "present")
MANUAL = {
    # A Claude Desktop config and a template are installed outside the repository, where a
    # relative runner path means nothing; one server drives the Docker daemon, two hold tokens.
    "mcp-config-by-content": "runs outside the repository",
    # A dotfiles copy of ~/.codex/config.toml: its settings are rewritten, but its MCP server
    # (with an API key on its command line) runs from the user's home.
    "dotfiles-codex-config": "installed outside the repository",
    # A calculator tool that eval()s the model's text, and an environment factory whose Docker
    # branch needs its own configuration: no mechanical rewrite keeps them working.
    "py-agent-tools": "no option blastwall can switch to a safe value",
    # A third-party aider action: its inputs are cleaned, but nothing shows which tools it gives.
    "workflow-agent-tools-bypass": "agent actions whose tools blastwall cannot see",
    # Agents started through a method their base class shares with other callers (git, eslint):
    # the environment is the base class's, so routing one call through the runner is not enough.
    "js-launch-through-base-class": "is not a shape blastwall rewrites",
}
STAYS_UNCLEAR = {
    # Pinokio-style launcher descriptors: the gemini command now runs in Gemini's own sandbox,
    # but the launcher that runs the string, and its environment, are outside the repository.
    "js-launcher-descriptors": "the environment of the launcher",
}


@pytest.mark.parametrize("name", PRESENT)
def test_fix_apply_flips_the_verdict(tmp_path: Path, name: str) -> None:
    repo = tmp_path / name
    shutil.copytree(REPOS / name, repo)
    (repo / "expected.yaml").unlink()
    fix = blastwall("fix", str(repo), "--apply", "--yes")
    assert fix.returncode == 0, fix.stderr
    assert "wrote sandbox/agent-bwrap.sh" in fix.stdout or "rewrote " in fix.stdout, fix.stdout
    manual = [line for line in fix.stdout.splitlines() if line.startswith("manual: ")]
    assert len(manual) == len(set(manual)), "a manual reason is listed more than once"
    assert any(line.startswith("summary: ") for line in fix.stdout.splitlines())
    report = json.loads(blastwall("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)
    verdict = report["verdict"]
    if name in MANUAL:
        assert any(MANUAL[name] in line for line in manual), fix.stdout
        assert verdict == "present"
    elif name in STAYS_UNCLEAR:
        assert verdict == "unclear"
        assert not [f for f in report["findings"] if f["severity"] in ("high", "critical")]
        assert any(STAYS_UNCLEAR[name] in json.dumps(f) for f in report["findings"])
    else:
        assert verdict == "not present", fix.stdout


def test_the_github_mcp_server_is_reached_at_githubs_endpoint(tmp_path: Path) -> None:
    """The scenario that stayed manual while the server ran locally with the operator's token: its
    entry becomes GitHub's hosted server, the header reading the variable the file already named,
    and nothing the scan reads as a launch is left."""
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "mcp-forwards-token", repo)
    (repo / "expected.yaml").unlink()
    fix = blastwall("fix", str(repo), "--apply", "--yes")
    assert "manual: " not in fix.stdout and "rewrote .mcp.json" in fix.stdout
    server = json.loads((repo / ".mcp.json").read_text())["mcpServers"]["github"]
    assert server == {"type": "http", "url": "https://api.githubcopilot.com/mcp/",
                      "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}}
    report = json.loads(blastwall("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)
    assert report["verdict"] == "not present" and not report["launch_sites"] and not report["findings"]


def test_a_wrapped_mcp_server_without_credentials_is_read_through_the_runner(tmp_path: Path) -> None:
    """A stdio server that is no agent of the catalog, moved into the runner by --apply, is judged
    by the sandbox the runner script puts around it; before, it is an inline launch."""
    repo = tmp_path / "tools-repo"
    repo.mkdir()
    (repo / "notes_server.py").write_text("import sys\nfor line in sys.stdin:\n    print(line)\n", encoding="utf-8")
    config = {"mcpServers": {"notes": {"command": "python3", "args": ["notes_server.py", "--root", "docs"]}}}
    (repo / ".mcp.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    before = json.loads(blastwall("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)
    assert before["verdict"] == "present"
    assert {f["rule_id"] for f in before["findings"]} >= {"agent-inline-launch"}
    assert blastwall("fix", str(repo), "--apply", "--yes").returncode == 0
    after = json.loads(blastwall("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)
    assert after["verdict"] == "not present", after["findings"]
    (site,) = [s for s in after["launch_sites"] if s["path"] == ".mcp.json"]
    assert site["containment"]["boundary"] == "os-sandbox"


def test_manual_table_is_current() -> None:
    """Every listed scenario still exists and is still present before the fix."""
    assert set(MANUAL) | set(STAYS_UNCLEAR) <= set(PRESENT)


def test_rewritten_python_reaches_the_runner_from_any_folder(tmp_path: Path) -> None:
    """The rewritten launch starts the runner by its path from the repository root, with the
    repository root as its working folder, and hands over the folder the program ran in."""
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "py-inline-claude", repo)
    assert blastwall("fix", str(repo), "--apply", "--yes").returncode == 0
    source = (repo / "reviewbot" / "review.py").read_text()
    ast.parse(source)
    calls: list[tuple[tuple, dict]] = []
    fake = type(sys)("subprocess")
    fake.run = lambda *a, **k: (calls.append((a, k)), type("P", (), {"stdout": "", "check_returncode": lambda s: None})())[1]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    namespace = {"__name__": "review", "__file__": str(repo / "reviewbot" / "review.py")}
    old = os.getcwd()
    os.environ.setdefault("ANTHROPIC_API_KEY", "test")
    try:
        os.chdir(elsewhere)
        sys.modules["subprocess"], real = fake, sys.modules["subprocess"]
        try:
            exec(compile(source, "review.py", "exec"), namespace)  # noqa: S102 - our own rewritten fixture
            entry = next(v for k, v in namespace.items() if callable(v) and getattr(v, "__module__", "") == "review"
                         and k not in ("main",))
            try:
                entry("diff")
            except TypeError:
                entry()
        finally:
            sys.modules["subprocess"] = real
    finally:
        os.chdir(old)
    (args, kwargs), = calls
    argv = args[0]
    assert argv[0] == "./sandbox/agent-bwrap.sh"
    assert os.path.realpath(kwargs["cwd"]) == os.path.realpath(repo)
    assert (Path(kwargs["cwd"]) / argv[0]).is_file()
    assert kwargs["env"]["BLASTWALL_TARGET"] == str(elsewhere)
    assert kwargs["env"]["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "8000"  # a harmless entry is kept


def test_generated_workflow_works_where_its_readme_puts_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "makefile-aider", repo)
    assert blastwall("fix", str(repo)).returncode == 0
    job = yaml.safe_load((repo / "sandbox" / "github-actions-job.yml").read_text())
    steps = job["jobs"]["agent"]["steps"]
    run = steps[-1]["run"]
    runner = run.split()[0]
    # A step runs in $GITHUB_WORKSPACE, the repository root, whatever folder the workflow file is in.
    assert (repo / runner).is_file() and runner == "./sandbox/agent-bwrap.sh"
    installs = [s["run"] for s in steps if s.get("name", "").startswith("Install")]
    assert installs and all("npm" not in i for i in installs) and "pipx install aider-chat" in installs[0]


def test_apply_asks_before_rewriting(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "py-inline-claude", repo)
    before = (repo / "reviewbot" / "review.py").read_text()
    proc = blastwall("fix", str(repo), "--apply")
    assert proc.returncode == 2 and "--yes" in proc.stderr
    assert "+++ b/reviewbot/review.py" in proc.stdout  # the diff is shown first
    assert (repo / "reviewbot" / "review.py").read_text() == before


def test_fix_never_overwrites_without_force(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "shell-gemini-yolo", repo)
    (repo / "sandbox").mkdir()
    (repo / "sandbox" / "agent-bwrap.sh").write_text("# mine\n")
    proc = blastwall("fix", str(repo))
    assert "kept existing sandbox/agent-bwrap.sh" in proc.stdout
    assert (repo / "sandbox" / "agent-bwrap.sh").read_text() == "# mine\n"
    blastwall("fix", str(repo), "--force")
    assert (repo / "sandbox" / "agent-bwrap.sh").read_text() != "# mine\n"


def test_fix_adds_the_projects_allowed_egress(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "shell-gemini-yolo", repo)
    (repo / ".blastwall.toml").write_text('allowed-egress = ["pypi.org"]\n')
    assert blastwall("fix", str(repo)).returncode == 0
    squid = (repo / "sandbox" / "egress-proxy" / "squid.conf").read_text()
    assert "pypi.org" in squid and "generativelanguage.googleapis.com" in squid


def test_rewritten_kubernetes_manifest_is_still_valid(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_file = ROOT / "tests" / "schemas" / "kubernetes-definitions.json"
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "k8s-privileged-hostpath", repo)
    assert blastwall("fix", str(repo), "--apply", "--yes").returncode == 0
    manifest = yaml.safe_load((repo / "k8s" / "agent.yaml").read_text())
    pod = manifest["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is False and pod["automountServiceAccountToken"] is False
    assert "volumes" not in pod and pod["containers"][0]["securityContext"]["privileged"] is False
    definitions = json.loads(schema_file.read_text())
    schema = {**definitions, "$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}
    jsonschema.validate(manifest, schema)

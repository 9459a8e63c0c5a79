"""`blastwall fix --apply` on shell command lines: `docker|podman run` commands on one line or
continued over several (scripts, workflow `run:` blocks) keep their layout and every harmless flag
and variable while losing their escapes; launches reach the runner by its path from the repository
root, from whatever folder they are started in. The rewritten commands are run here, with
stand-ins for `docker` and the runner, to show what they really execute."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from scanner.remediation import configs
from scanner.remediation.apply import write_plan
from fixture_harness import blastwall, plan_for, write_tree

ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")

REVIEW_SH = """#!/usr/bin/env bash
set -euo pipefail
# Review the current branch with Claude in a container.
docker run -it \\
    --privileged \\
    --network host \\
    -v "$HOME/.ssh:/root/.ssh" \\
    -v /var/run/docker.sock:/var/run/docker.sock \\
    -v "$PWD:/work" -w /work \\
    --env-file .env \\
    -e GITHUB_TOKEN \\
    -e ANTHROPIC_API_KEY="$ANTHROPIC_API_KEY" \\
    -e CLAUDE_CODE_MAX_OUTPUT_TOKENS=8000 \\
    --cap-add SYS_ADMIN \\
    --user root \\
    ghcr.io/acme/claude-runner:1.4 \\
    claude --dangerously-skip-permissions -p "review the diff"  # nightly
echo done
"""

WORKFLOW = """name: review
on: pull_request
permissions:
  contents: read
jobs:
  review:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - name: Review
        env:
          ANTHROPIC_API_KEY: ${{ secrets.ANTHROPIC_API_KEY }}
          LOG_LEVEL: debug
        run: |
          docker run --rm \\
            --network=host \\
            -v "$GITHUB_WORKSPACE:/work" \\
            -v /var/run/docker.sock:/var/run/docker.sock \\
            -e ANTHROPIC_API_KEY -e LOG_LEVEL \\
            ghcr.io/acme/claude-runner@sha256:{digest} \\
            claude -p "review"
""".replace("{digest}", "0" * 64)


def fake_docker(folder: Path) -> Path:
    """A `docker` that prints the argv it was given, one JSON list, and a `timeout` that runs it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "docker").write_text('#!/bin/sh\nexec python3 -c \'import json, sys; print(json.dumps(sys.argv[1:]))\' "$@"\n')
    (folder / "timeout").write_text('#!/bin/sh\nwhile [ "${1#-}" != "$1" ]; do shift; done\nshift\nexec "$@"\n')
    for name in ("docker", "timeout"):
        (folder / name).chmod(0o755)
    return folder


# --- docker run over several lines -----------------------------------------------------------------


def test_continued_docker_run_keeps_its_layout_and_harmless_flags(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"scripts/review.sh": REVIEW_SH})
    _result, plan = plan_for(repo)
    after = plan.edits["scripts/review.sh"][1]
    lines = after.splitlines()
    for gone in ("--privileged", "--network host", ".ssh", "docker.sock", "--env-file", "GITHUB_TOKEN", "SYS_ADMIN",
                 "--user root", '="$ANTHROPIC_API_KEY"'):
        assert gone not in after, gone
    # every harmless flag and variable stays, on its own line as written
    for kept in ('    -v "$PWD:/work:ro" -w /work \\', "    -e ANTHROPIC_API_KEY \\",
                 "    -e CLAUDE_CODE_MAX_OUTPUT_TOKENS=8000 \\", "    --user 10001:10001 \\",
                 "    ghcr.io/acme/claude-runner:1.4 \\",
                 '    claude --dangerously-skip-permissions -p "review the diff"  # nightly', "echo done"):
        assert kept in lines, kept
    assert lines[3] == "timeout --kill-after=10 1800 docker run -it \\"
    added = " ".join(lines[4:lines.index('    -v "$PWD:/work:ro" -w /work \\')])
    for flag in ("--rm", "--read-only", "--tmpfs /tmp", "--cap-drop ALL", "--security-opt no-new-privileges",
                 "--memory 2g", "--cpus 2", "--pids-limit 256", f"--network {configs.INTERNAL_NETWORK}",
                 "--env HTTPS_PROXY=http://"):
        assert flag in added, flag
    assert "--user 10001:10001" not in added  # the root user was replaced where it stood
    assert all(line.endswith(" \\") for line in lines[3:lines.index('    claude --dangerously-skip-permissions '
                                                                      '-p "review the diff"  # nightly')])
    if BASH:
        assert subprocess.run([BASH, "-n"], input=after, text=True).returncode == 0
    write_plan(repo, plan)
    report = json.loads(blastwall("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)
    assert report["verdict"] == "not present", [f["rule_id"] for f in report["findings"]]


@pytest.mark.skipif(BASH is None or shutil.which("python3") is None, reason="needs bash and python3")
def test_continued_docker_run_runs_the_argv_it_shows(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"scripts/review.sh": REVIEW_SH})
    _result, plan = plan_for(repo)
    write_plan(repo, plan)
    bin_dir = fake_docker(tmp_path / "bin")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "ANTHROPIC_API_KEY": "k"}
    proc = subprocess.run([BASH, str(repo / "scripts" / "review.sh")], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    argv = json.loads(proc.stdout.splitlines()[0])
    image = argv.index("ghcr.io/acme/claude-runner:1.4")
    assert argv[:2] == ["run", "-it"]
    assert argv[image + 1:] == ["claude", "--dangerously-skip-permissions", "-p", "review the diff"]
    flags = argv[:image]
    assert flags[flags.index("-v") + 1] == f"{repo}:/work:ro" and flags[flags.index("-w") + 1] == "/work"
    assert "CLAUDE_CODE_MAX_OUTPUT_TOKENS=8000" in flags and "ANTHROPIC_API_KEY" in flags
    assert flags[flags.index("--user") + 1] == "10001:10001" and flags.count("--user") == 1
    assert proc.stdout.splitlines()[1] == "done"


def test_continued_docker_run_in_a_workflow_block(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {".github/workflows/review.yml": WORKFLOW})
    _result, plan = plan_for(repo)
    after = plan.edits[".github/workflows/review.yml"][1]
    run = yaml.safe_load(after)["jobs"]["review"]["steps"][1]["run"]
    assert run.startswith("timeout --kill-after=10 1800 docker run --rm \\\n  --read-only")
    assert "--network=host" not in run and "docker.sock" not in run
    assert '-v "$GITHUB_WORKSPACE:/work:ro" \\\n' in run and "-e ANTHROPIC_API_KEY -e LOG_LEVEL \\\n" in run
    assert run.rstrip().endswith('claude -p "review"')
    if BASH:
        assert subprocess.run([BASH, "-n"], input=run, text=True).returncode == 0
    write_plan(repo, plan)
    report = json.loads(blastwall("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)
    assert report["verdict"] == "not present", [f["rule_id"] for f in report["findings"]]


@pytest.mark.parametrize(("command", "reason"), [
    ('docker run --privileged \\\n  -v `pwd`:/w img claude -p hi\n', "other commands"),
    ('docker run --privileged \\\n  img claude -p hi | tee out.txt\n', "other commands"),
    ('docker run --privileged -e "A=one\ntwo" \\\n  img claude -p hi\n', "spans lines"),
    ('docker run --privileged \\\n  -v $(git rev-parse --show-toplevel):/w img claude -p hi\n', "other commands"),
])
def test_container_commands_it_cannot_read_stay_manual(tmp_path: Path, command: str, reason: str) -> None:
    repo = write_tree(tmp_path / "repo", {"run.sh": "#!/bin/sh\n" + command})
    _result, plan = plan_for(repo)
    assert "run.sh" not in plan.edits
    assert any(reason in m.reason for m in plan.manual), [m.reason for m in plan.manual]


def test_the_network_follows_what_the_agent_needs() -> None:
    words = configs.shell_words("docker run --network host img claude -p hi")
    proxied = " ".join(configs.rewrite_container_run(words, ["ANTHROPIC_API_KEY"], "proxy")[0])
    assert f"--network {configs.INTERNAL_NETWORK}" in proxied and "--network host" not in proxied
    assert "--env HTTPS_PROXY=http://" in proxied
    offline = " ".join(configs.rewrite_container_run(words, (), "none")[0])
    assert "--network none" in offline and "HTTPS_PROXY" not in offline
    named = configs.shell_words("docker run --network team-net -e HTTPS_PROXY=http://p:3128 img claude -p hi")
    kept = " ".join(configs.rewrite_container_run(named, (), "proxy")[0])
    assert "--network team-net" in kept and configs.INTERNAL_NETWORK not in kept  # its own network stays


def test_environment_entries_by_name_and_harmless_ones_kept() -> None:
    words = configs.shell_words('docker run -e OPENAI_API_KEY=$OPENAI_API_KEY -e "NO_COLOR=1" '
                                '--env AIDER_MODEL=gpt-4o -e GH_TOKEN -e NPM_TOKEN=abc -e MAX_TOKENS=9 img aider')
    new, notes = configs.rewrite_container_run(words, ["OPENAI_API_KEY"])
    line = " ".join(new)
    assert "-e OPENAI_API_KEY " in line and "$OPENAI_API_KEY" not in line
    assert '-e "NO_COLOR=1"' in line and "--env AIDER_MODEL=gpt-4o" in line and "-e MAX_TOKENS=9" in line
    assert "GH_TOKEN" not in line and "NPM_TOKEN" not in line
    assert any("by name" in n for n in notes)


# --- runners addressed from the repository root ------------------------------------------------------


@pytest.mark.skipif(BASH is None or shutil.which("git") is None, reason="needs bash and git")
@pytest.mark.parametrize("script", [
    "#!/bin/sh\ngemini --yolo -p \"$1\"\n",  # runs wherever it is started
    '#!/bin/sh\ncd "$(dirname "$0")/.."\ngemini --yolo -p "$1"\n',  # moves to the root itself
])
def test_rewritten_script_reaches_the_runner_from_any_folder(tmp_path: Path, script: str) -> None:
    repo = write_tree(tmp_path / "repo", {"bin/ask.sh": script, "docs/README": "docs\n"})
    _result, plan = plan_for(repo)
    after = plan.edits["bin/ask.sh"][1]
    moved = "cd " in script
    assert ("./sandbox/agent-bwrap.sh gemini" if moved else
            '"$(git rev-parse --show-toplevel)/sandbox/agent-bwrap.sh" gemini') in after
    write_plan(repo, plan)
    runner = repo / "sandbox" / "agent-bwrap.sh"
    runner.parent.mkdir(exist_ok=True)
    runner.write_text('#!/bin/sh\necho "RUNNER pwd=$PWD argv=$*"\n')
    runner.chmod(runner.stat().st_mode | stat.S_IXUSR)
    git_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=git_env)
    proc = subprocess.run([BASH, str(repo / "bin" / "ask.sh"), "label issues"], cwd=repo / "docs", env=git_env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # the runner is found from docs/, and mounts the folder the launch ran in
    folder = repo if moved else repo / "docs"
    assert proc.stdout.strip() == f"RUNNER pwd={folder} argv=gemini --yolo -p label issues"

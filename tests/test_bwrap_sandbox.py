"""The proof: a stand-in agent run inside the generated agent-bwrap.sh cannot reach what it can
reach outside it (the target for writing, planted credential files, a planted secret variable,
a TCP server on 127.0.0.1, capabilities), and is killed at the timeout."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from scanner.remediation import render_configs, spec_from_catalog, write_configs

SSH_MARKER = "planted-ssh-private-key-7c1d"
AWS_MARKER = "planted-aws-secret-93fe"
ENV_MARKER = "planted-operator-env-secret-5ab2"
NAMED_MARKER = "named-agent-key-e40f"
SLEEP_SECONDS = 37  # distinctive, so a surviving process can be found by its command line

STAND_IN = r"""#!/usr/bin/env bash
# Stand-in agent: tries what a hijacked agent would try and reports one KEY=VALUE per line.
mode="$1"
planted_home="$2"
port="$3"
if [ "$mode" = sleep ]; then
  echo STARTED=1
  sleep "$port"
  echo SLEPT=1
  exit 0
fi
yes_no() { if "$@"; then echo yes; else echo no; fi; }
can_write() { (: >./agent-was-here) 2>/dev/null && rm -f ./agent-was-here; }
read_marker() {
  local file
  for file in "$HOME/$1" "$planted_home/$1"; do
    grep -qs "$2" "$file" && return 0
  done
  return 1
}
can_connect() {
  (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'hello\n' >&3) 2>/dev/null
}
echo "WRITE_TARGET=$(yes_no can_write)"
echo "READ_SSH=$(yes_no read_marker .ssh/id_rsa SSH_MARKER)"
echo "READ_AWS=$(yes_no read_marker .aws/credentials AWS_MARKER)"
echo "ENV_PLANTED=$(yes_no [ -n "${AWS_SECRET_ACCESS_KEY:-}" ])"
echo "ENV_NAMED=$(yes_no [ "${ANTHROPIC_API_KEY:-}" = NAMED_MARKER ])"
echo "CONNECT=$(yes_no can_connect)"
echo "CAPEFF=$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
echo "WRITE_HOME=$(yes_no touch "$HOME/scratch")"
echo "WRITE_TMP=$(yes_no touch /tmp/scratch)"
echo "DONE=1"
""".replace("SSH_MARKER", SSH_MARKER).replace("AWS_MARKER", AWS_MARKER).replace("NAMED_MARKER", NAMED_MARKER)


def _bwrap_unavailable() -> str | None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    for probe in ([bwrap, "--ro-bind", "/", "/", "true"],
                  [bwrap, "--unshare-all", "--unshare-user", "--ro-bind", "/", "/", "true"]):
        try:
            result = subprocess.run(probe, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap cannot run here: {exc}"
        if result.returncode != 0:
            return f"user namespaces are unavailable to bwrap: {result.stderr.strip()[:200]}"
    return None


pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="bubblewrap is Linux-only"),
    pytest.mark.skipif(bool(_bwrap_unavailable()), reason=str(_bwrap_unavailable())),
]


class _Server:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def world(tmp_path):
    """A target repo with the stand-in, a planted home, a planted env, and the generated profile."""
    target = tmp_path / "target"
    target.mkdir()
    (target / "standin.sh").write_text(STAND_IN)
    (target / "README").write_text("the analysed repository\n")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SSH_MARKER + "\n")
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(f"[default]\naws_secret_access_key = {AWS_MARKER}\n")
    configs = tmp_path / "configs"
    spec = spec_from_catalog(["claude-code"], ["claude", "-p", "review"])
    write_configs(configs, render_configs(spec))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BLASTWALL_") and key not in ("AWS_SECRET_ACCESS_KEY", "ANTHROPIC_API_KEY")
    }
    env.update(
        HOME=str(home),
        AWS_SECRET_ACCESS_KEY=ENV_MARKER,
        ANTHROPIC_API_KEY=NAMED_MARKER,
        BLASTWALL_TARGET=str(target),
        BLASTWALL_TIMEOUT="30",
    )
    server = _Server()
    yield {"target": target, "home": home, "script": configs / "agent-bwrap.sh", "env": env, "server": server}
    server.close()


def _report(stdout: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in stdout.splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def _probe(world, sandboxed: bool) -> dict[str, str]:
    argv = ["bash", "standin.sh", "probe", str(world["home"]), str(world["server"].port)]
    if sandboxed:
        argv = [str(world["script"]), *argv]
    result = subprocess.run(argv, cwd=world["target"], env=world["env"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = _report(result.stdout)
    assert report.get("DONE") == "1", result.stdout + result.stderr
    return report


def test_control_outside_the_sandbox_reaches_everything(world):
    report = _probe(world, sandboxed=False)
    assert report["WRITE_TARGET"] == "yes"
    assert report["READ_SSH"] == "yes"
    assert report["READ_AWS"] == "yes"
    assert report["ENV_PLANTED"] == "yes"
    assert report["ENV_NAMED"] == "yes"
    assert report["CONNECT"] == "yes"
    assert world["server"].accepted >= 1 or _wait_for(lambda: world["server"].accepted >= 1)
    if os.geteuid() == 0:
        assert int(report["CAPEFF"], 16) != 0


def test_sandbox_blocks_what_the_control_reaches(world):
    before = sorted(p.name for p in world["target"].iterdir())
    report = _probe(world, sandboxed=True)
    assert report["WRITE_TARGET"] == "no"
    assert report["READ_SSH"] == "no"
    assert report["READ_AWS"] == "no"
    assert report["ENV_PLANTED"] == "no"
    assert report["CONNECT"] == "no"
    assert int(report["CAPEFF"], 16) == 0
    time.sleep(0.5)
    assert world["server"].accepted == 0
    assert sorted(p.name for p in world["target"].iterdir()) == before
    # ...while the sandbox stays usable: the named secret arrives, HOME and /tmp are writable.
    assert report["ENV_NAMED"] == "yes"
    assert report["WRITE_HOME"] == "yes"
    assert report["WRITE_TMP"] == "yes"
    assert not (world["home"] / "scratch").exists()


def test_sandbox_is_killed_at_the_timeout(world):
    env = dict(world["env"], BLASTWALL_TIMEOUT="2")
    argv = [str(world["script"]), "bash", "standin.sh", "sleep", str(world["home"]), str(SLEEP_SECONDS)]
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=world["target"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.strip() == "STARTED=1"
        # While it runs, the secret value is on no process's command line.
        assert not _cmdlines_containing(NAMED_MARKER)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    elapsed = time.monotonic() - started
    assert proc.returncode in (124, 137), (proc.returncode, stderr)
    assert "SLEPT=1" not in stdout
    assert 1.5 <= elapsed < 15, elapsed
    # Nothing from the sandbox outlives it.
    assert _wait_for(lambda: not _cmdlines_matching(["sleep", str(SLEEP_SECONDS)]))


def test_profile_refuses_the_home_directory_as_target(world):
    env = dict(world["env"], BLASTWALL_TARGET=str(world["home"].parent))
    result = subprocess.run([str(world["script"]), "true"], cwd=world["target"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "holds your home directory" in result.stderr


def _wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _cmdlines() -> list[list[str]]:
    lines = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        lines.append([part.decode("utf-8", "replace") for part in raw.split(b"\0") if part])
    return lines


def _cmdlines_containing(needle: str) -> list[list[str]]:
    return [argv for argv in _cmdlines() if any(needle in part for part in argv)]


def _cmdlines_matching(argv: list[str]) -> list[list[str]]:
    return [line for line in _cmdlines() if line == argv]


# --- an MCP stdio server wrapped by `blastwall fix --apply` ----------------------------------------

MCP_SERVER = r"""import json, os, socket, sys
# A stand-in stdio MCP server: answers one request line with what it could reach.
request = json.loads(sys.stdin.readline())
home = request["home"]
def can_read(path):
    for base in (os.path.expanduser("~"), home):
        try:
            with open(os.path.join(base, path)) as handle:
                if "SSH_MARKER" in handle.read():
                    return True
        except OSError:
            pass
    return False
def can_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
        return True
    except OSError:
        return False
print(json.dumps({
    "id": request["id"],
    "read_ssh": can_read(".ssh/id_rsa"),
    "env_planted": bool(os.environ.get("AWS_SECRET_ACCESS_KEY")),
    "env_named": os.environ.get("NOTES_TOKEN") == "NAMED_MARKER",
    "connect": can_connect(request["port"]),
}), flush=True)
""".replace("SSH_MARKER", SSH_MARKER).replace("NAMED_MARKER", NAMED_MARKER)


def _client_start(repo: Path, server: dict, env: dict) -> subprocess.Popen:
    """Start a server the way an MCP client does: in the project folder, its `env` block (with
    ${VAR} taken from the client's environment) on top of the client's environment."""
    expand = lambda v: re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), v)  # noqa: E731
    block = {k: expand(v) for k, v in (server.get("env") or {}).items()}
    return subprocess.Popen([server["command"], *server.get("args", [])], cwd=repo, env={**env, **block},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ask(proc: subprocess.Popen, home: Path, port: int) -> dict:
    out, err = proc.communicate(json.dumps({"id": 1, "home": str(home), "port": port}) + "\n", timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_wrapped_mcp_server_cannot_reach_what_it_could_before(tmp_path, world):
    repo = tmp_path / "mcp-repo"
    repo.mkdir()
    (repo / "server.py").write_text(MCP_SERVER)
    config = {"mcpServers": {"notes": {"command": "python3", "args": ["server.py"],
                                       "env": {"NOTES_TOKEN": "${NOTES_TOKEN}"}}}}
    (repo / ".mcp.json").write_text(json.dumps(config, indent=2) + "\n")
    env = dict(world["env"], NOTES_TOKEN=NAMED_MARKER)
    env.pop("BLASTWALL_TARGET", None)
    python3 = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    if python3 is None:
        pytest.skip("the stand-in server needs python3 under /usr")
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin:" + env.get("PATH", "")
    root = Path(__file__).resolve().parents[1]
    fix = subprocess.run([sys.executable, "-m", "scanner", "fix", str(repo), "--apply", "--yes"],
                         capture_output=True, text=True, timeout=180,
                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(root)})
    assert fix.returncode == 0, fix.stderr
    wrapped = json.loads((repo / ".mcp.json").read_text())["mcpServers"]["notes"]
    assert wrapped["command"] == "./sandbox/agent-bwrap.sh" and wrapped["args"] == ["python3", "server.py"]
    assert wrapped["env"]["BLASTWALL_PASS_ENV"] == "NOTES_TOKEN"
    server = world["server"]

    before = server.accepted
    control = _ask(_client_start(repo, config["mcpServers"]["notes"], env), world["home"], server.port)
    assert control == {"id": 1, "read_ssh": True, "env_planted": True, "env_named": True, "connect": True}
    # The client's connect returns once the kernel queues it; wait for the server to count it.
    deadline = time.monotonic() + 5
    while server.accepted == before and time.monotonic() < deadline:
        time.sleep(0.05)
    accepted = server.accepted

    inside = _ask(_client_start(repo, wrapped, env), world["home"], server.port)
    assert inside["read_ssh"] is False
    assert inside["env_planted"] is False
    assert inside["connect"] is False
    assert inside["env_named"] is True  # the variable it is configured with arrives, by name
    time.sleep(0.5)
    assert server.accepted == accepted

"""The proof: a stand-in agent run inside the generated agent-bwrap.sh cannot reach what it can
reach outside it (the target for writing, planted credential files, a planted secret variable,
a TCP server on 127.0.0.1, capabilities), and is killed at the timeout."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
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

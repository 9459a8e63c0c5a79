"""No git command blastwall runs may start a program that the scanned repository configures.

Each case plants one way a repository can name a program (filter drivers, textconv, external
diff, merge drivers, fsmonitor, hooks, pager, upload-pack, ssh command, credential helper,
transport helpers, includes, a `.git` file or symlink leading elsewhere, and a committed folder
that looks like a bare repository) whose command touches a marker file. Where plain git has a
command that runs it, the test first proves the plant is live. Then the CLI (`python -m scanner
scan --diff-base HEAD`, and a plain scan, which asks git for the tracked files) and the Action's
scan step (action/scan.sh with new-only, in a simulated GitHub Actions environment, with the real
CLI) must not create the marker, and must either finish or stop with exit 2 and one line, never
a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scanner.discover import gitsafe

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

BYPASS = "claude --dangerously-skip-permissions -p review\n"
NEW_LAUNCH = "gemini --yolo -p x\n"
MISSING_SHA = "f" * 40


# --------------------------------------------------------------------------------------------
# A repository to plant things in


def plain_git(cwd: Path, *args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """git as a user would run it: the repository's own config is honoured."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_TERMINAL_PROMPT": "0", "LANG": "C"}
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                           "-c", "init.defaultBranch=main", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=check)


@dataclass
class Lab:
    """A workspace repository with one commit, then a change (a new launch on a new line)."""

    tmp: Path
    http_url: str

    def __post_init__(self) -> None:
        self.home = self.tmp / "home"
        self.home.mkdir()
        self.ws = self.tmp / "workspace"
        self.ws.mkdir()
        self.marker = self.tmp / "marker"
        self.target = self.ws  # what is scanned
        self.git("init", "-q")
        (self.ws / ".gitattributes").write_text("* filter=evil diff=evil merge=evil\n*.x diff=foo\n")
        (self.ws / "run.sh").write_text("#!/bin/sh\n" + BYPASS)
        (self.ws / "other.txt").write_text("other\n")
        (self.ws / "a.x").write_text("one\n")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "base")
        self.base = self.git("rev-parse", "HEAD").stdout.strip()
        self.change(self.ws)

    def change(self, folder: Path) -> None:
        with (folder / "run.sh").open("a") as handle:
            handle.write(NEW_LAUNCH)
        with (folder / "a.x").open("a") as handle:
            handle.write("two\n")

    def git(self, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return plain_git(cwd or self.ws, *args, home=self.home, check=check)

    def config(self, key: str, value: str, git_dir: Path | None = None) -> None:
        self.git(f"--git-dir={git_dir or self.ws / '.git'}", "config", "--add", key, value)

    def cmd(self, body: str = "") -> str:
        """A shell command that touches the marker (then runs `body`)."""
        return f"sh -c 'touch {self.marker}{'; ' + body if body else ''}'"

    def script(self, name: str) -> Path:
        path = self.tmp / name
        path.write_text(f"#!/bin/sh\ntouch {self.marker}\n")
        path.chmod(0o755)
        return path

    def upstream(self) -> Path:
        """A second repository to fetch from."""
        up = self.tmp / "upstream"
        plain_git(self.tmp, "clone", "-q", "--bare", str(self.ws), str(up), home=self.home)
        return up


# --------------------------------------------------------------------------------------------
# The plants


def filter_clean(lab: Lab) -> None:
    lab.config("filter.evil.clean", lab.cmd("cat"))


def filter_process(lab: Lab) -> None:
    lab.config("filter.evil.process", lab.cmd())


def filter_smudge(lab: Lab) -> None:
    lab.config("filter.evil.smudge", lab.cmd("cat"))


def diff_textconv(lab: Lab) -> None:
    lab.config("diff.foo.textconv", lab.cmd('cat "$0"'))


def diff_external(lab: Lab) -> None:
    lab.config("diff.external", lab.cmd())
    lab.config("diff.evil.command", lab.cmd())


def merge_driver(lab: Lab) -> None:
    lab.config("merge.evil.driver", lab.cmd())


def fsmonitor(lab: Lab) -> None:
    lab.config("core.fsmonitor", str(lab.script("fsmonitor-hook")))


HOOKS = ("post-checkout", "reference-transaction", "pre-auto-gc", "post-index-change", "post-merge",
         "pre-commit", "post-commit", "post-rewrite", "fsmonitor-watchman", "push-to-checkout")


def hooks(lab: Lab) -> None:
    folder = lab.ws / ".git" / "hooks"
    for name in HOOKS:
        shutil.copy(lab.script("hook"), folder / name)


def hooks_path(lab: Lab) -> None:
    folder = lab.tmp / "hooks"
    folder.mkdir()
    for name in HOOKS:
        shutil.copy(lab.script("hook"), folder / name)
    lab.config("core.hooksPath", str(folder))


def pager(lab: Lab) -> None:
    lab.config("core.pager", lab.cmd())
    lab.config("pager.diff", lab.cmd())


def uploadpack(lab: Lab) -> None:
    lab.config("remote.origin.url", str(lab.upstream()))
    lab.config("remote.origin.uploadpack", lab.cmd("exit 1"))


def ssh_command(lab: Lab) -> None:
    lab.config("remote.origin.url", "ssh://git.example.invalid/project.git")
    lab.config("core.sshCommand", lab.cmd("exit 1"))


def credential_helper(lab: Lab) -> None:
    lab.config("remote.origin.url", lab.http_url)
    lab.config("credential.helper", "!" + lab.cmd())


def transport_helper(lab: Lab) -> None:
    lab.config("remote.origin.url", f"ext::sh -c touch% {lab.marker}")
    lab.config("protocol.ext.allow", "always")


def include_path(lab: Lab) -> None:
    extra = lab.tmp / "included.gitconfig"
    lab.git("config", "--file", str(extra), "filter.evil.clean", lab.cmd("cat"))
    lab.config("include.path", str(extra))


def include_if(lab: Lab) -> None:
    extra = lab.tmp / "conditional.gitconfig"
    lab.git("config", "--file", str(extra), "filter.evil.clean", lab.cmd("cat"))
    lab.config(f"includeIf.gitdir:{os.path.realpath(lab.ws / '.git')}.path", str(extra))


def gitdir_file(lab: Lab) -> None:
    elsewhere = lab.tmp / "elsewhere.git"
    (lab.ws / ".git").rename(elsewhere)
    (lab.ws / ".git").write_text(f"gitdir: {elsewhere}\n")
    lab.config("filter.evil.clean", lab.cmd("cat"), git_dir=elsewhere)


def symlinked_git(lab: Lab) -> None:
    real = lab.tmp / "real.git"
    (lab.ws / ".git").rename(real)
    (lab.ws / ".git").symlink_to(real)
    lab.config("filter.evil.clean", lab.cmd("cat"), git_dir=real)


def nested_bare(lab: Lab) -> None:
    """A pull request commits `evil/`, a folder laid out like a bare repository whose config
    points its work tree at itself and names a filter and an upload-pack command."""
    evil = lab.ws / "evil"
    lab.git("init", "-q", "--bare", str(evil))
    lab.git("config", "core.bare", "false", cwd=evil)
    lab.git("config", "core.worktree", ".", cwd=evil)
    (evil / ".gitattributes").write_text("* filter=evil\n")
    (evil / "run.sh").write_text("#!/bin/sh\n" + BYPASS)
    (evil / "a.x").write_text("one\n")
    lab.git("add", "-A", cwd=evil)
    lab.git("commit", "-q", "-m", "inner", cwd=evil)
    lab.git("config", "filter.evil.clean", lab.cmd("cat"), cwd=evil)
    lab.git("config", "remote.origin.url", str(lab.upstream()), cwd=evil)
    lab.git("config", "remote.origin.uploadpack", lab.cmd("exit 1"), cwd=evil)
    lab.git("add", "-A")  # the outer repository has no filter config: nothing runs here
    lab.git("commit", "-q", "-m", "a pull request adds evil/")
    lab.base = lab.git("rev-parse", "HEAD").stdout.strip()
    lab.change(evil)
    lab.target = evil


@dataclass(frozen=True)
class Case:
    name: str
    plant: Callable[[Lab], None]
    trigger: tuple[str, ...] | None  # plain git, run in the target, that runs the plant: proof it is live
    refused: bool  # blastwall refuses this repository (exit 2) rather than scanning it
    fetch: bool = False  # the Action must fetch the base commit, so its fetch path runs


CASES = (
    Case("filter-clean", filter_clean, ("diff", "HEAD", "--"), True),
    Case("filter-process", filter_process, ("diff", "HEAD", "--"), True),
    Case("filter-smudge", filter_smudge, ("cat-file", "--filters", "HEAD:other.txt"), True),
    Case("diff-textconv", diff_textconv, ("diff", "HEAD", "--", "a.x"), True),
    Case("diff-external", diff_external, ("diff", "HEAD", "--"), True),
    Case("merge-driver", merge_driver, None, True),
    Case("fsmonitor", fsmonitor, ("status",), False),
    Case("hooks", hooks, ("checkout", "-q", "-b", "topic"), False),
    Case("hooks-path", hooks_path, ("checkout", "-q", "-b", "topic"), False),
    Case("core-pager", pager, None, True),
    Case("uploadpack", uploadpack, ("fetch", "-q", "origin"), True, fetch=True),
    Case("ssh-command", ssh_command, ("fetch", "-q", "origin"), True, fetch=True),
    Case("credential-helper", credential_helper, ("fetch", "-q", "origin"), True, fetch=True),
    Case("transport-helper", transport_helper, ("fetch", "-q", "origin"), True, fetch=True),
    Case("include-path", include_path, ("diff", "HEAD", "--"), True),
    Case("include-if-gitdir", include_if, ("diff", "HEAD", "--"), True),
    Case("gitdir-file", gitdir_file, ("diff", "HEAD", "--"), True),
    Case("symlinked-git", symlinked_git, ("diff", "HEAD", "--"), True),
    Case("nested-bare-filter", nested_bare, ("diff", "HEAD", "--"), False),
    Case("nested-bare-uploadpack", nested_bare, ("fetch", "-q", "origin"), False, fetch=True),
)


class _Unauthorized(BaseHTTPRequestHandler):
    """Answers every request with 401, so git asks its credential helper."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="blastwall-test"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/project.git"
    server.shutdown()
    server.server_close()


def planted(tmp_path: Path, http_url: str, case: Case) -> Lab:
    lab = Lab(tmp_path, http_url)
    case.plant(lab)
    if case.trigger is not None:
        lab.git(*case.trigger, cwd=lab.target, check=False)
        assert lab.marker.exists(), f"the {case.name} plant did not run under plain git: the test proves nothing"
        lab.marker.unlink()
    return lab


# --------------------------------------------------------------------------------------------
# Running blastwall


def cli(target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI", "GIT_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "scanner", "scan", str(target), *args], capture_output=True,
                          text=True, env=env, timeout=120, cwd=target.parent)


def action_scan(lab: Lab, base: str) -> subprocess.CompletedProcess[str]:
    """action/scan.sh as a pull_request step: new-only, the real CLI, the runner's environment."""
    runner = lab.tmp / "runner"
    (runner / "temp").mkdir(parents=True)
    event = runner / "event.json"
    event.write_text(json.dumps({"pull_request": {
        "number": 7, "head": {"sha": "b" * 40, "repo": {"full_name": "octo-org/project"}},
        "base": {"sha": base, "repo": {"full_name": "octo-org/project"}}}}))
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update({
        "BLASTWALL_PYTHON": sys.executable, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
        "GITHUB_ACTIONS": "true", "GITHUB_ACTION_PATH": str(ROOT), "GITHUB_OUTPUT": str(runner / "output"),
        "GITHUB_WORKSPACE": str(lab.ws), "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo-org/project", "GITHUB_ACTOR": "contributor", "RUNNER_TEMP": str(runner / "temp"),
        "BLASTWALL_BIN": f"{sys.executable} -m scanner", "BLASTWALL_INPUT_PATH": os.path.relpath(lab.target, lab.ws),
        "BLASTWALL_INPUT_NEW_ONLY": "true", "BLASTWALL_INPUT_FAIL_ON": "never",
        # A runner's environment as the old unhardened git calls would have passed it on.
        "GIT_CONFIG_PARAMETERS": "'protocol.file.allow'='always'", "GITHUB_TOKEN": "ghs_not-a-real-token",
    })
    return subprocess.run(["bash", str(ROOT / "action" / "scan.sh")], cwd=lab.ws, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def assert_no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


# --------------------------------------------------------------------------------------------
# The cases


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_diff_base_runs_nothing_the_repository_names(tmp_path: Path, http_url: str, case: Case) -> None:
    lab = planted(tmp_path, http_url, case)
    proc = cli(lab.target, "--diff-base", "HEAD", "-f", "json", "--fail-on", "never")
    assert not lab.marker.exists(), f"blastwall scan --diff-base ran the planted {case.name} program"
    assert_no_traceback(proc)
    if case.refused:
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert proc.stderr.startswith("blastwall: ") and proc.stderr.count("\n") == 1, proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        found = {(f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"]}
        assert found and all(line == 3 for _, line in found), found  # only the new launch
    # A plain scan asks git which files are tracked (gitsafe.tracked_files): that runs nothing either.
    full = cli(lab.target, "-f", "json", "--fail-on", "never")
    assert not lab.marker.exists(), f"blastwall scan ran the planted {case.name} program"
    assert_no_traceback(full)
    assert full.returncode == 0, full.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_action_new_only_runs_nothing_the_repository_names(tmp_path: Path, http_url: str, case: Case) -> None:
    lab = planted(tmp_path, http_url, case)
    proc = action_scan(lab, MISSING_SHA if case.fetch else lab.base)
    assert not lab.marker.exists(), f"the Action's scan step ran the planted {case.name} program"
    assert_no_traceback(proc)
    if case.refused or case.fetch:
        assert proc.returncode == 2, proc.stdout + proc.stderr
        errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
        assert len(errors) == 1 and ("new-only" in errors[0]), proc.stdout
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "--diff-base" not in proc.stderr


# --------------------------------------------------------------------------------------------
# What still works


def test_clean_repository_diff_base_reports_changed_lines(tmp_path: Path, http_url: str) -> None:
    lab = Lab(tmp_path, http_url)
    (lab.ws / "sub").mkdir()
    (lab.ws / "sub" / "later.sh").write_text("echo hi\n" + BYPASS)  # untracked: every line counts
    proc = cli(lab.ws, "--diff-base", "HEAD", "-f", "json", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    found = {(f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"]}
    assert ("run.sh", 3) in found and ("sub/later.sh", 2) in found
    assert ("run.sh", 2) not in found  # unchanged since HEAD

    out = action_scan(lab, lab.base)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = (tmp_path / "runner" / "output").read_text().split("\n")
    outputs = {line.split("<<")[0]: lines[i + 1] for i, line in enumerate(lines) if "<<" in line}
    assert outputs["new-only"] == "true"
    report = json.loads(Path(outputs["json-file"]).read_text())
    found = {(f["path"], f["line"]) for f in report["findings"]}
    assert ("run.sh", 3) in found and ("run.sh", 2) not in found


def test_tracked_files(tmp_path: Path, http_url: str) -> None:
    lab = Lab(tmp_path, http_url)
    (lab.ws / "sub").mkdir()
    (lab.ws / "sub" / "t.sh").write_text("x\n")
    (lab.ws / "sub" / "untracked.sh").write_text("x\n")
    lab.git("add", "sub/t.sh")
    assert gitsafe.tracked_files(lab.ws) == {".gitattributes", "run.sh", "other.txt", "a.x", "sub/t.sh"}
    assert gitsafe.tracked_files(lab.ws / "sub") == {"t.sh"}
    assert gitsafe.tracked_files(lab.ws / "run.sh") == {"run.sh"}
    assert gitsafe.tracked_files(lab.ws / "sub" / "untracked.sh") == frozenset()
    outside = tmp_path / "outside"
    outside.mkdir()
    assert gitsafe.tracked_files(outside) is None
    filter_clean(lab)
    assert gitsafe.tracked_files(lab.ws) is None  # refused
    assert not lab.marker.exists()


def test_submodule_style_gitdir_file_is_followed(tmp_path: Path, http_url: str) -> None:
    lab = Lab(tmp_path, http_url)
    inner = lab.ws / "inner"
    modules = lab.ws / ".git" / "modules" / "inner"
    modules.parent.mkdir()
    lab.git("init", "-q", f"--separate-git-dir={modules}", str(inner))
    (inner / "x.sh").write_text("x\n")
    lab.git("add", "x.sh", cwd=inner)
    lab.config("core.worktree", "../../../inner", git_dir=modules)  # as `git submodule absorbgitdirs` writes it
    assert (inner / ".git").is_file()
    assert gitsafe.find_top(inner) == (inner, modules)
    assert gitsafe.open_repo(inner / "x.sh") == gitsafe.Repo(inner, modules, "sha1")
    assert gitsafe.tracked_files(inner) == {"x.sh"}


def test_git_runs_hardened(tmp_path: Path, http_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = Lab(tmp_path, http_url)
    seen: list[tuple[list[str], dict[str, object]]] = []
    real = subprocess.run

    def spy(cmd, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((list(cmd), kwargs))
        return real(cmd, **kwargs)

    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("PATH", "." + os.pathsep + os.environ["PATH"])
    monkeypatch.setattr(gitsafe.subprocess, "run", spy)
    assert gitsafe.tracked_files(lab.ws)
    cmd, kwargs = seen[-1]
    env = kwargs["env"]
    assert isinstance(env, dict)
    assert not {k for k in env if k.startswith("GIT_")} - {"GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL",
                                                          "GIT_TERMINAL_PROMPT", "GIT_OPTIONAL_LOCKS"}
    assert env["GIT_CONFIG_GLOBAL"] == os.devnull and env["HOME"] != os.environ.get("HOME")
    assert all(os.path.isabs(p) for p in str(env["PATH"]).split(os.pathsep))
    assert kwargs["stdin"] is subprocess.DEVNULL and kwargs["timeout"]
    assert f"--git-dir={lab.ws / '.git'}" in cmd and f"--work-tree={lab.ws}" in cmd
    for switch in ("core.fsmonitor=false", f"core.hooksPath={os.devnull}", "safe.bareRepository=explicit",
                   "protocol.allow=never", "credential.helper=", "diff.external="):
        assert switch in cmd


def test_refusal_names_the_key_on_one_line(tmp_path: Path, http_url: str) -> None:
    lab = Lab(tmp_path, http_url)
    core_worktree = tmp_path / "other"
    core_worktree.mkdir()
    lab.config("core.worktree", str(core_worktree))
    with pytest.raises(gitsafe.Refused, match=r"core\.worktree") as info:
        gitsafe.open_repo(lab.ws)
    assert "\n" not in str(info.value)

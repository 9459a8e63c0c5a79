"""Every git command blastwall runs, hardened so the scanned repository cannot make git run a program.

blastwall reads repositories it does not trust. git lets a repository name programs in many places
(filter drivers, textconv, external diff, merge drivers, fsmonitor, hooks, pager, ssh command,
credential helpers, upload-pack, proxies and transport helpers, and `include`d files that add more
of the same), so each git command here runs under these rules:

* **The repository is found by us, once, and named explicitly** (`--git-dir`, `--work-tree`). We
  walk up from the scanned folder to the first `.git` that is a real directory (`lstat`, never a
  symlink), stop at a filesystem boundary as git does, and never let git discover a repository
  itself: a committed folder that merely looks like a bare repository (`HEAD`, `objects/`, `refs/`,
  a `config` with `core.worktree` and a filter) is just a folder to us, and
  `-c safe.bareRepository=explicit` also keeps any git child process from discovering it. A
  symlinked `.git` is refused. A `.git` FILE (`gitdir: …`) is followed only when it points inside
  the `.git` directory of an enclosing repository further up the same walk (how submodules are laid
  out); anything else, including a linked worktree elsewhere, is refused. The work tree and git
  directory must belong to the current user, like git's own `safe.directory` check (which git skips
  for an explicit `--git-dir`).
* **No configuration but the repository's own, and that is vetted first.** `GIT_CONFIG_NOSYSTEM=1`,
  `GIT_CONFIG_GLOBAL=/dev/null` and a throwaway `HOME` (so `XDG_CONFIG_HOME`, left unset, falls back
  to it: no user config, attributes or ignore files). The repository's config is then listed with
  git itself (`git config --list --includes --show-scope`: reading config runs nothing), following
  `include.path`/`includeIf` — actions/checkout v6 keeps its credentials in an `includeIf`d file —
  and every entry, wherever it came from, is checked. We **refuse** (`Refused`, one line, naming
  the key) when any entry names a program git could run: a non-empty `filter.*` (git-lfs's too),
  `diff.external`, `diff.*.command|textconv`, `merge.*.driver`,
  `core.sshCommand|gitProxy|askPass|pager|editor|alternateRefsCommand`, `credential[.<url>].helper`,
  any `protocol.*`, `remote.*.uploadpack|receivepack|vcs`, transport-helper URLs (`foo::…`, also
  as `url.<base>.insteadOf` bases), `submodule.*.update=!…`, `gpg[.<fmt>].program`, a non-boolean
  `pager.*`, editors, browsers and tool commands, and a `core.worktree` other than the top level
  we found. Refusing is simpler to prove than sanitising: config that could name a program never
  reaches git, whichever command reads it. Two are allowed because the command line below
  overrides them and command-line config wins: `core.hooksPath` (husky sets it) and
  `core.fsmonitor` (`true` is common).
* **Every driver switched off on the command line as well** (`-c`, which outranks the repository's
  config and is passed on to any git child process): `core.fsmonitor=false`,
  `core.hooksPath=/dev/null`, `core.pager=cat`, `core.askPass=`, `core.alternateRefsCommand=`,
  `core.attributesFile=/dev/null`, `diff.external=`, `credential.helper=` (empties the helper
  list), `protocol.allow=never` with only `https`/`http` allowed (so no `ext::`, `fd::`, `file`,
  `ssh` or `git` transport, hence no upload-pack, ssh or proxy command), `submodule.recurse=false`,
  `fetch.recurseSubmodules=false`, `gc.auto=0`, `maintenance.auto=false`,
  `safe.bareRepository=explicit`. With git >= 2.40 attributes are also read from the empty tree
  (`--attr-source`); git 2.39 has no such switch, which is why filter/diff/merge config is refused.
* **Only commands that never run a driver.** Callers use `rev-parse`, `ls-files`, `ls-tree`,
  `cat-file --batch` (no `--filters`/`--textconv`), `config --list` and, in the Action, `fetch`
  and `cat-file -e`. Nothing here compares the work tree through git (`git diff` against the work
  tree runs the clean filter on stat-dirty files): `scanner.post.gitdiff` reads work-tree files itself
  and diffs them against blobs.
* **A minimal process**: the environment is built from scratch (absolute `PATH` entries only,
  `HOME` = a fresh temporary folder, `LANG`/`LC_ALL=C`, the two config switches,
  `GIT_TERMINAL_PROMPT=0`, `GIT_OPTIONAL_LOCKS=0`; no inherited `GIT_*`; `fetch` alone also gets
  the proxy variables), stdin is closed (or our own bytes), and every command has a timeout.

Left open: a partial clone may still fetch a missing object lazily from its promisor remote
(over https only, no helpers; git < 2.44 has no switch for that), and the config is vetted just
before use, not atomically with it.

Run as a script (`python -I gitsafe.py check DIR` / `run DIR GIT-ARGS…`) it is the Action's
`safe_git` (action/lib.sh): the same rules, one implementation. It uses the standard library only.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 120.0
GITLINK = "160000"
EMPTY_TREE = {"sha1": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
              "sha256": "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"}
OVERRIDES: tuple[str, ...] = (
    "core.quotepath=off", "core.fsmonitor=false", "core.hooksPath=" + os.devnull, "core.pager=cat",
    "core.askPass=", "core.alternateRefsCommand=", "core.attributesFile=" + os.devnull, "diff.external=",
    "credential.helper=", "protocol.allow=never", "protocol.https.allow=always", "protocol.http.allow=always",
    "protocol.file.allow=never", "protocol.ext.allow=never", "protocol.fd.allow=never",
    "protocol.ssh.allow=never", "protocol.git.allow=never", "submodule.recurse=false",
    "fetch.recurseSubmodules=false", "gc.auto=0", "maintenance.auto=false", "safe.bareRepository=explicit",
)
# Config keys (lower-cased) that name a program git could run: their presence makes us refuse.
_PROGRAM_KEYS = re.compile(r"""
    filter\..+
  | diff\.external | diff\..+\.(?:command|textconv)
  | merge\..+\.driver
  | core\.(?:sshcommand|gitproxy|askpass|pager|editor|alternaterefscommand)
  | credential\.(?:.+\.)?helper
  | remote\..+\.(?:uploadpack|receivepack|vcs)
  | uploadpack\.packobjectshook
  | gpg\.(?:.+\.)?program
  | sequence\.editor | pager\..+ | web\.browser | instaweb\..+
  | (?:browser|man|difftool|mergetool)\..+\.(?:cmd|path)
  | trailer\..+\.(?:command|cmd)
  | sendemail\.(?:.+\.)?(?:smtpserver|sendmailcmd|tocmd|cccmd|headercmd)
""", re.X)
_HELPER_URL = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9+.-]*::")  # `<transport>::<address>`
_BOOLEANS = ("true", "false", "yes", "no", "on", "off", "1", "0")
_PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "http_proxy", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY")


class GitError(Exception):
    """git could not answer: not installed, not a work tree, refused, unknown revision, timeout."""


class NotARepository(GitError):
    """The folder is not inside a git work tree."""


class Refused(GitError):
    """The repository's layout or configuration could make git run a program; we do not run git there."""


@dataclass(frozen=True)
class Repo:
    """A vetted work tree: its top level and git directory, both resolved."""

    top: Path
    git_dir: Path
    object_format: str | None = None  # known once the config is vetted

    def call(self, *args: str, cwd: Path | None = None, stdin: bytes | None = None, timeout: float = TIMEOUT,
             network: bool = False) -> subprocess.CompletedProcess[bytes]:
        """Run `git ARGS` hardened; the completed process, whatever its exit status."""
        exe = _git_exe()
        cmd = [exe, "--git-dir=" + str(self.git_dir), "--work-tree=" + str(self.top)]
        for item in OVERRIDES:
            cmd += ["-c", item]
        if self.object_format in EMPTY_TREE and _version(exe) >= (2, 40):
            cmd.append("--attr-source=" + EMPTY_TREE[self.object_format])
        return _exec([*cmd, *args], cwd or self.top, stdin, timeout, network)

    def run(self, *args: str, cwd: Path | None = None, stdin: bytes | None = None, timeout: float = TIMEOUT,
            network: bool = False) -> bytes:
        """Run `git ARGS` hardened; its stdout, or GitError with git's first line of stderr."""
        proc = self.call(*args, cwd=cwd, stdin=stdin, timeout=timeout, network=network)
        if proc.returncode != 0:
            first = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[0]
            raise GitError(f"git {args[0]} failed: {_one_line(first)}")
        return proc.stdout


def _one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]", "?", text)


def _search_path() -> str:
    """PATH without relative entries, so `git` is never looked up in the scanned folder."""
    parts = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return os.pathsep.join(p for p in parts if os.path.isabs(p))


def _git_exe() -> str:
    exe = shutil.which("git", path=_search_path())
    if exe is None:
        raise GitError("git is not installed or not on PATH")
    return exe


def _env(home: str, network: bool) -> dict[str, str]:
    env = {
        "PATH": _search_path(),
        "HOME": home,
        "LANG": "C",
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",  # reading must not write the index of the repository it reads
    }
    if network:
        env.update({k: os.environ[k] for k in _PROXY_VARS if os.environ.get(k)})
    return env


def _exec(cmd: list[str], cwd: Path, stdin: bytes | None, timeout: float,
          network: bool = False) -> subprocess.CompletedProcess[bytes]:
    name = next((a for a in cmd[1:] if not a.startswith("-") and "=" not in a), "git")
    with tempfile.TemporaryDirectory(prefix="blastwall-git-") as home:
        try:
            return subprocess.run(cmd, cwd=cwd, env=_env(home, network), stdin=subprocess.DEVNULL if stdin is None else None,
                                  input=stdin, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise GitError(f"git {name} did not finish within {timeout:.0f} seconds") from None
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from None


@functools.lru_cache(maxsize=4)
def _version(exe: str) -> tuple[int, int]:
    with tempfile.TemporaryDirectory(prefix="blastwall-git-") as empty:
        proc = _exec([exe, "version"], Path(empty), None, 30)
    match = re.search(rb"(\d+)\.(\d+)", proc.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


# --------------------------------------------------------------------------------------------
# Finding and vetting the repository


def _owned(*paths: Path) -> None:
    """git's safe.directory rule: the repository must belong to us (git skips it for --git-dir)."""
    if not hasattr(os, "geteuid"):
        return
    euid = os.geteuid()
    sudo = os.environ.get("SUDO_UID", "")
    for path in paths:
        uid = os.lstat(path).st_uid
        if uid != euid and not (euid == 0 and sudo.isdigit() and uid == int(sudo)):
            raise Refused(f"detected dubious ownership in repository at '{path}' (owner uid {uid}, you are {euid});"
                          " blastwall does not run git there")


def _follow_gitdir_file(dot: Path, above: list[Path]) -> Path:
    """A `.git` file's target, accepted only inside an enclosing repository's real `.git` folder."""
    try:
        head = dot.read_bytes()[:4096].decode("utf-8", "surrogateescape").splitlines()
    except OSError as exc:
        raise Refused(f"cannot read {dot}: {exc.strerror or exc}") from None
    if not head or not head[0].startswith("gitdir:"):
        raise Refused(f"{dot} is a file but not a 'gitdir:' pointer")
    target = Path(os.path.realpath(dot.parent / head[0][len("gitdir:"):].strip()))
    for folder in above:
        outer = folder / ".git"
        try:
            if not stat.S_ISDIR(os.lstat(outer).st_mode):
                continue
        except OSError:
            continue
        real = Path(os.path.realpath(outer))
        if target != real and real in target.parents and target.is_dir():
            return target
    raise Refused(f"{dot} points at {_one_line(str(target))}, outside the .git folder of every enclosing repository;"
                  " blastwall follows a .git file only into an enclosing repository (as submodules use it), so"
                  " scan from the main work tree instead")


def find_top(path: Path) -> tuple[Path, Path]:
    """(work-tree top level, git directory) for `path`, found without letting git discover anything."""
    try:
        start = Path(os.path.realpath(path))
        if not start.is_dir():
            start = start.parent
        device = os.stat(start).st_dev
    except OSError as exc:
        raise NotARepository(f"{path} is not inside a git work tree ({exc.strerror or exc})") from None
    chain = [start, *start.parents]
    for i, folder in enumerate(chain):
        try:
            if os.stat(folder).st_dev != device:
                break  # git stops at a filesystem boundary too
            mode = os.lstat(folder / ".git").st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise Refused(f"cannot inspect {folder / '.git'}: {exc.strerror or exc}") from None
        dot = folder / ".git"
        if stat.S_ISLNK(mode):
            raise Refused(f"{dot} is a symbolic link; blastwall does not follow it")
        if stat.S_ISDIR(mode):
            git_dir = dot
        elif stat.S_ISREG(mode):
            git_dir = _follow_gitdir_file(dot, chain[i + 1:])
        else:
            raise Refused(f"{dot} is neither a folder nor a file")
        if start == git_dir or git_dir in start.parents:
            break  # inside the .git folder itself: not a work tree
        _owned(folder, dot, git_dir)
        return folder, git_dir
    raise NotARepository(f"{path} is not inside a git work tree")


def _refusal(key: str, value: str | None, top: Path, git_dir: Path) -> str | None:
    """Why this config entry is refused, or None when it cannot make git run a program."""
    low = key.lower()
    section, name = low.partition(".")[0], low.rpartition(".")[2]
    text = (value or "").strip()
    if section == "protocol":
        return "changes which transports (some run programs) git may use"
    if _PROGRAM_KEYS.fullmatch(low) and text and not (section == "pager" and text.lower() in _BOOLEANS):
        return "names a program git could run"
    if low == "core.worktree":
        if value is None or Path(os.path.realpath(git_dir / value)) != top:
            return "moves the work tree away from the folder that holds .git"
    elif section == "submodule" and name == "update" and (value or "").lstrip().startswith("!"):
        return "runs a command on submodule update"
    elif section == "remote" and name in ("url", "pushurl") and _HELPER_URL.match(value or ""):
        return "uses a transport helper, which runs a program"
    elif section == "url" and name in ("insteadof", "pushinsteadof") and _HELPER_URL.match(key[4:]):
        return "rewrites URLs to a transport helper, which runs a program"
    return None


def open_repo(path: Path) -> Repo:
    """The vetted repository whose work tree holds `path` (a folder or a file)."""
    top, git_dir = find_top(path)
    probe = Repo(top, git_dir)
    listing = probe.run("config", "--list", "--includes", "--show-scope", "-z")
    fields = listing.split(b"\0")
    object_format = "sha1"
    for scope, entry in zip(fields[0::2], fields[1::2]):
        if scope == b"command":  # ours
            continue
        raw_key, newline, raw_value = entry.partition(b"\n")
        key = raw_key.decode("utf-8", "replace")
        value = raw_value.decode("utf-8", "surrogateescape") if newline else None
        why = _refusal(key, value, top, git_dir)
        if why:
            raise Refused(f"refusing to run git in {top}: its git config ({scope.decode('ascii', 'replace')}) sets"
                          f" {_one_line(key)}, which {why}; blastwall never runs git on such a repository")
        if key.lower() == "extensions.objectformat" and value:
            object_format = value.strip().lower()
    return Repo(top, git_dir, object_format)


def tracked_files(root: Path) -> frozenset[str] | None:
    """Files git tracks below `root` (POSIX, relative to root; a single file: its name if tracked).

    None when root is not inside a git work tree, git is missing, or the repository is refused.
    """
    try:
        base = root if root.is_dir() else root.parent
        repo = open_repo(base)
        spec = () if root.is_dir() else ("--", ":(literal)" + root.name)
        out = repo.run("ls-files", "-z", "-s", *spec, cwd=base)
    except (GitError, OSError):
        return None
    files = set()
    for record in out.split(b"\0"):
        meta, tab, path = record.partition(b"\t")
        if tab and not meta.startswith(GITLINK.encode()):
            files.add(path.decode("utf-8", "surrogateescape"))
    return frozenset(files)


# --------------------------------------------------------------------------------------------
# The Action's safe_git (action/lib.sh)


def main(argv: list[str]) -> int:
    """`check DIR`: vet only. `run DIR GIT-ARGS…`: vet, then run git and pass its output and status on."""
    if len(argv) < 2 or argv[0] not in ("check", "run") or (argv[0] == "run" and len(argv) < 3):
        print("usage: gitsafe.py check DIR | gitsafe.py run DIR GIT-ARGS...", file=sys.stderr)
        return 2
    try:
        repo = open_repo(Path(argv[1]))
        if argv[0] == "check":
            return 0
        proc = repo.call(*argv[2:], network=argv[2] == "fetch")
    except GitError as exc:
        print(_one_line(str(exc)), file=sys.stderr)
        return 2
    sys.stdout.buffer.write(proc.stdout)
    sys.stderr.buffer.write(proc.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

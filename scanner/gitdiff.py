"""What changed since a git revision: the lines `--diff-base REF` keeps findings on.

git runs as a subprocess with a minimal environment (no user or system config, no prompts, a
throwaway HOME), stdin closed and a timeout, and with the repository-config hooks that could run
a program (external diff, textconv, fsmonitor) switched off. A missing git, a folder outside a
work tree or an unknown revision raise `GitError`, a usage error for the command line.

Changed means: lines added or modified in `git diff --unified=0 REF` (the work tree against REF),
the lines on either side of a deletion, and every line of a file git does not track yet. Renames
are diffed as a deletion plus an addition, so every line of a renamed file counts as changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from scanner.model import ReviewNote

TIMEOUT = 120
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
IGNORE_MARK = re.compile(r"blastwall:\s*ignore\b")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


class GitError(Exception):
    """git could not answer: not installed, not a work tree, unknown revision, timeout."""


@dataclass(frozen=True)
class Changes:
    """Changed lines per path, relative to the scanned root (POSIX)."""

    ref: str
    lines: dict[str, frozenset[int]] = field(default_factory=dict)
    whole: frozenset[str] = frozenset()  # untracked files: every line counts as changed
    added: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    removed: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)

    def touches(self, path: str, first: int, last: int = 0) -> bool:
        if path in self.whole:
            return True
        lines = self.lines.get(path)
        if not lines:
            return False
        return any(n in lines for n in range(first, max(first, last) + 1))


def _env(home: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": home,
        "LANG": "C",
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",  # a diff must not write the index of the repository it reads
    }


def git(cwd: Path, *args: str, timeout: float = TIMEOUT) -> bytes:
    exe = shutil.which("git")
    if exe is None:
        raise GitError("--diff-base needs git, which is not installed or not on PATH")
    cmd = [exe, "-c", "core.quotepath=off", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=" + os.devnull,
           "-c", "diff.external=", *args]
    with tempfile.TemporaryDirectory(prefix="blastwall-git-") as home:
        try:
            proc = subprocess.run(cmd, cwd=cwd, env=_env(home), stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} did not finish within {timeout:.0f} seconds") from None
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        first = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[0]
        raise GitError(f"git {args[0]} failed: {first}")
    return proc.stdout


def _unquote(raw: bytes) -> str:
    """A path as git prints it: C-quoted when it holds special characters."""
    text = raw.decode("utf-8", "surrogateescape")
    if not (len(text) >= 2 and text[0] == '"' and text[-1] == '"'):
        return text
    out = bytearray()
    body = text[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and re.match(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, ord(nxt) if ord(nxt) < 128 else 63))
            i += 2
            continue
        out += ch.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape")


def parse_diff(output: bytes) -> tuple[dict[str, set[int]], dict[str, list[tuple[int, str]]], dict[str, list[tuple[int, str]]]]:
    """Changed line numbers, added lines and removed lines (at their new-file position) per path."""
    lines: dict[str, set[int]] = {}
    added: dict[str, list[tuple[int, str]]] = {}
    removed: dict[str, list[tuple[int, str]]] = {}
    path = ""
    header = True
    new_line = 0
    for raw in output.split(b"\n"):
        if raw.startswith(b"diff --git "):
            header, path = True, ""
            continue
        if header:
            if raw.startswith(b"+++ "):
                target = raw[4:].rstrip(b"\r")
                path = "" if target == b"/dev/null" else _unquote(target)
                if path.startswith("b/"):
                    path = path[2:]
                continue
            match = _HUNK.match(raw)
            if not match:
                continue
            header = False
        match = _HUNK.match(raw)
        if match:
            start, count = int(match.group(1)), int(match.group(2) if match.group(2) is not None else 1)
            new_line = start
            if path and count == 0:  # a pure deletion after line `start`: both neighbours changed
                lines.setdefault(path, set()).update({max(1, start), start + 1})
            continue
        if not path:
            continue
        if raw.startswith(b"+"):
            lines.setdefault(path, set()).add(new_line)
            added.setdefault(path, []).append((new_line, raw[1:].decode("utf-8", "replace").rstrip("\r")))
            new_line += 1
        elif raw.startswith(b"-"):
            removed.setdefault(path, []).append((max(1, new_line), raw[1:].decode("utf-8", "replace").rstrip("\r")))
    return lines, added, removed


def changes_since(root: Path, ref: str) -> Changes:
    """The changes in the scanned folder (or single file's folder) since `ref`."""
    if not ref.strip() or ref.startswith("-") or any(c in ref for c in "\0\n\r"):
        raise GitError(f"--diff-base: {ref!r} is not a git revision")
    cwd = root if root.is_dir() else root.parent
    try:
        inside = git(cwd, "rev-parse", "--is-inside-work-tree").strip()
    except GitError as exc:
        if "dubious ownership" in str(exc):
            raise
        inside = b""
    if inside != b"true":
        raise GitError(f"--diff-base needs a git work tree, and {root} is not inside one")
    try:
        sha = git(cwd, "rev-parse", "--verify", "--quiet", ref + "^{commit}").decode().strip()
    except GitError:
        raise GitError(f"--diff-base: unknown git revision {ref!r} (is it fetched? use fetch-depth: 0)") from None
    diff = git(cwd, "diff", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
               "--relative", "--src-prefix=a/", "--dst-prefix=b/", sha, "--")
    lines, added, removed = parse_diff(diff)
    untracked = git(cwd, "ls-files", "--others", "--exclude-standard", "-z")
    whole = frozenset(p.decode("utf-8", "surrogateescape") for p in untracked.split(b"\0") if p)
    if not root.is_dir():  # a single file: paths are its name, as in the scan
        keep = {root.name}
        lines = {p: v for p, v in lines.items() if p in keep}
        whole = frozenset(p for p in whole if p in keep)
    return Changes(
        ref=ref,
        lines={p: frozenset(v) for p, v in lines.items()},
        whole=whole,
        added={p: tuple(v) for p, v in added.items()},
        removed={p: tuple(v) for p, v in removed.items()},
    )


def _tool_table_lines(text: str) -> set[int]:
    """Line numbers inside `[tool.blastwall]` (and its sub-tables) of a pyproject.toml."""
    inside, out = False, set()
    for number, line in enumerate(text.split("\n"), start=1):
        head = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
        if head:
            name = head.group(1).replace('"', "").replace("'", "").replace(" ", "")
            inside = name == "tool.blastwall" or name.startswith("tool.blastwall.")
        if inside or re.match(r"^\s*blastwall\s*[.=]", line):
            out.add(number)
    return out


def review_notes(changes: Changes, root: Path, directives: list[tuple[str, int, str]],
                 config_files: tuple[str, ...] = (".blastwall.toml",), pyproject: str = "pyproject.toml") -> tuple[ReviewNote, ...]:
    """Lines a reviewer should see: new ignores and changes to blastwall's own configuration.

    `directives` are (path, line, text) of the ignore comments the scan read, used for files git
    does not track yet (the diff has no text for them).
    """
    notes: dict[tuple[str, int, str], ReviewNote] = {}

    def add(path: str, line: int, text: str) -> None:
        text = text.strip()
        if text:
            notes.setdefault((path, line, text), ReviewNote(path, line, text))

    for path, items in changes.added.items():
        for line, text in items:
            if IGNORE_MARK.search(text) or path in config_files:
                add(path, line, text)
    for path, line, text in directives:
        if path in changes.whole:
            add(path, line, text)
    for path in config_files:
        for line, text in changes.removed.get(path, ()):
            add(path, line, f"(removed) {text.strip()}")
        if path in changes.whole:
            file = root / path if root.is_dir() else root.parent / path
            try:
                content = file.read_text(encoding="utf-8", errors="replace")[:200_000] if file.is_file() else ""
            except OSError:
                content = ""
            for number, text in enumerate(content.split("\n"), start=1):
                add(path, number, text)
    if pyproject in changes.added or pyproject in changes.whole:
        file = root / pyproject if root.is_dir() else root.parent / pyproject
        try:
            content = file.read_text(encoding="utf-8", errors="replace")[:2_000_000] if file.is_file() else ""
        except OSError:
            content = ""
        inside = _tool_table_lines(content)
        current = content.split("\n")
        if pyproject in changes.whole:
            candidates = [(n, current[n - 1]) for n in sorted(inside)]
        else:
            candidates = [(n, t) for n, t in changes.added.get(pyproject, ()) if n in inside]
        for line, text in candidates:
            add(pyproject, line, text)
    return tuple(sorted(notes.values(), key=lambda n: (n.path, n.line, n.text)))

"""What changed since a git revision: the lines `--diff-base REF` keeps findings on.

Every git command goes through `scanner.discover.gitsafe` (explicit top level, vetted repository config,
every program-naming setting off, minimal environment, stdin closed, a timeout). A missing git, a
folder outside a work tree, a refused repository or an unknown revision raise `GitError`, a usage
error for the command line.

Changed means: lines added or modified between REF and the work tree, the lines on either side of
a deletion, and every line of a file git does not track yet. Renames count as a deletion plus an
addition, so every line of a renamed file counts as changed. git never looks at the work tree
here (`git diff REF` would run the repository's clean filter on stat-dirty files): the tracked
paths come from `ls-tree REF` and `ls-files`, REF's blobs from `cat-file --batch`, and the work-tree
side is read from disk and diffed line by line in Python. Line ending differences are ignored;
a file with a NUL byte in its first 8000 bytes is binary and has no changed lines, as in git.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
import subprocess  # noqa: F401 - kept importable as gitdiff.subprocess (tests spy on subprocess.run here)
from dataclasses import dataclass, field
from pathlib import Path

from scanner.discover import gitsafe
from scanner.discover.gitsafe import GITLINK, GitError, Repo
from scanner.model import ReviewNote

__all__ = ["Changes", "GitError", "changes_since", "git", "parse_diff", "review_notes"]

TIMEOUT = gitsafe.TIMEOUT
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
IGNORE_MARK = re.compile(r"blastwall:\s*ignore\b")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
_MAX_PAIRS = 10_000_000  # line pairs a diff may weigh; beyond that the changed middle counts as replaced


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


def git(cwd: Path, *args: str, timeout: float = TIMEOUT) -> bytes:
    """Run a git command on the work tree holding `cwd`, through `scanner.discover.gitsafe`."""
    return gitsafe.open_repo(cwd).run(*args, cwd=cwd, timeout=timeout)


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
    cwd = Path(os.path.realpath(root if root.is_dir() else root.parent))
    try:
        repo = gitsafe.open_repo(cwd)
    except gitsafe.NotARepository:
        raise GitError(f"--diff-base needs a git work tree, and {root} is not inside one") from None
    try:
        sha = repo.run("rev-parse", "--verify", "--quiet", ref + "^{commit}", cwd=cwd).decode().strip()
    except GitError:
        raise GitError(f"--diff-base: unknown git revision {ref!r} (is it fetched? use fetch-depth: 0)") from None
    lines, added, removed = _worktree_diff(repo, sha, cwd)
    untracked = repo.run("ls-files", "--others", "--exclude-standard", "-z", cwd=cwd)
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


@dataclass(frozen=True)
class _Entry:
    mode: str
    oid: str
    skip_worktree: bool = False  # sparse checkout: git compares the index entry, not the file


def _entries(out: bytes, ls_files: bool) -> dict[str, _Entry]:
    """`ls-tree -r -z` ("mode type oid\tpath") or `ls-files -z -s -t` ("T mode oid stage\tpath") records."""
    entries: dict[str, _Entry] = {}
    for record in out.split(b"\0"):
        meta, tab, path = record.partition(b"\t")
        parts = meta.decode("ascii", "replace").split()
        if not tab or len(parts) != (4 if ls_files else 3):
            continue
        if ls_files:
            entries[path.decode("utf-8", "surrogateescape")] = _Entry(parts[1], parts[2], parts[0] == "S")
        else:
            entries[path.decode("utf-8", "surrogateescape")] = _Entry(parts[0], parts[2])
    return entries


def _read_worktree(cwd: Path, path: str, plain: dict[str, bool]) -> bytes | None:
    """The content git would see for `path`: a file's bytes, a symlink's target; None when absent."""
    parent = path.rpartition("/")[0]
    if parent:
        if parent not in plain:  # a symlinked folder on the way: git sees the file as gone
            plain[parent] = os.path.realpath(cwd / parent) == str(cwd / parent)
        if not plain[parent]:
            return None
    full = cwd / path
    try:
        mode = os.lstat(full).st_mode
        if stat.S_ISLNK(mode):
            return os.fsencode(os.readlink(full))
        if stat.S_ISREG(mode):
            with open(full, "rb") as handle:
                return handle.read()
    except OSError:
        pass
    return None


def _blob_id(data: bytes, object_format: str) -> str:
    return hashlib.new(object_format, b"blob %d\0" % len(data) + data).hexdigest()


def _blobs(repo: Repo, oids: set[str], cwd: Path) -> dict[str, bytes]:
    """Blob contents by id, from one `git cat-file --batch` (which never runs a filter or textconv)."""
    if not oids:
        return {}
    out = repo.run("cat-file", "--batch", cwd=cwd, stdin="".join(f"{oid}\n" for oid in sorted(oids)).encode())
    blobs: dict[str, bytes] = {}
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3:
            size = int(header[2])
            blobs[header[0].decode()] = out[pos:pos + size]
            pos += size + 1
    return blobs


def _split_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.rstrip(b"\r") for line in lines]


def _opcodes(old: list[bytes], new: list[bytes]) -> list[tuple[int, int, int, int]]:
    """(i1, i2, j1, j2) for each changed block: old[i1:i2] became new[j1:j2]."""
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    a, b = old[head:len(old) - tail], new[head:len(new) - tail]
    if not a and not b:
        return []
    if len(a) * len(b) > _MAX_PAIRS:
        return [(head, head + len(a), head, head + len(b))]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [(i1 + head, i2 + head, j1 + head, j2 + head)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _worktree_diff(repo: Repo, sha: str, cwd: Path) -> tuple[
        dict[str, set[int]], dict[str, list[tuple[int, str]]], dict[str, list[tuple[int, str]]]]:
    """What `git diff --unified=0 --relative SHA` would report, without git reading the work tree.

    Same shape as `parse_diff`: changed new-file line numbers, added lines, and removed lines at
    their new-file position, per path relative to `cwd`.
    """
    fmt = repo.object_format or "sha1"
    old = _entries(repo.run("ls-tree", "-r", "-z", sha, cwd=cwd), ls_files=False)
    index = _entries(repo.run("ls-files", "-z", "-s", "-t", cwd=cwd), ls_files=True)
    plain: dict[str, bool] = {}
    pending: list[tuple[str, str | None, bytes | str | None]] = []  # path, old oid, new content or index oid
    for path in sorted(old.keys() | index.keys()):
        before, now = old.get(path), index.get(path)
        if GITLINK in (before.mode if before else "", now.mode if now else ""):
            continue  # a submodule: its own repository, never entered
        after: bytes | str | None
        if now is None:
            after = None  # removed from the index
        elif now.skip_worktree:
            after = now.oid
        else:
            after = _read_worktree(cwd, path, plain)
        if before is not None and after == before.oid:
            continue
        if before is not None and isinstance(after, bytes) and _blob_id(after, fmt) == before.oid:
            continue
        if before is None and after is None:
            continue
        pending.append((path, before.oid if before else None, after))
    blobs = _blobs(repo, {oid for _, oid, _ in pending if oid} | {a for _, _, a in pending if isinstance(a, str)}, cwd)
    lines: dict[str, set[int]] = {}
    added: dict[str, list[tuple[int, str]]] = {}
    removed: dict[str, list[tuple[int, str]]] = {}
    for path, old_oid, after in pending:
        a = blobs.get(old_oid, b"") if old_oid else b""
        b = blobs.get(after, b"") if isinstance(after, str) else (after or b"")
        if b"\0" in a[:8000] or b"\0" in b[:8000]:
            continue  # binary: git shows no lines either
        old_lines, new_lines = _split_lines(a), _split_lines(b)
        for i1, i2, j1, j2 in _opcodes(old_lines, new_lines):
            changed = lines.setdefault(path, set())
            if j1 == j2:  # a pure deletion after new line j1: both neighbours changed
                changed.update({max(1, j1), j1 + 1})
            at = max(1, j1) if j1 == j2 else j1 + 1
            if i1 < i2:
                removed.setdefault(path, []).extend((at, t.decode("utf-8", "replace")) for t in old_lines[i1:i2])
            for n in range(j1, j2):
                changed.add(n + 1)
                added.setdefault(path, []).append((n + 1, new_lines[n].decode("utf-8", "replace")))
    return lines, added, removed


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

"""Walk the target: honour .gitignore, skip vendored/generated/binary/huge files, never follow links."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pathspec

SKIP_DIRS = {
    "node_modules": "dependency folder",
    "bower_components": "dependency folder",
    "jspm_packages": "dependency folder",
    "vendor": "vendored folder",
    "third_party": "vendored folder",
    "third-party": "vendored folder",
    "Pods": "vendored folder",
    ".venv": "virtualenv",
    "venv": "virtualenv",
    "site-packages": "virtualenv",
    ".tox": "tool cache",
    ".nox": "tool cache",
    ".mypy_cache": "tool cache",
    ".pytest_cache": "tool cache",
    ".ruff_cache": "tool cache",
    "__pycache__": "tool cache",
    ".git": "version control",
    ".hg": "version control",
    ".svn": "version control",
    "dist": "build output",
    "build": "build output",
    "target": "build output",
    ".next": "build output",
    ".nuxt": "build output",
    "coverage": "build output",
    ".gradle": "build output",
    ".terraform": "tool cache",
    "generated": "generated code",
    "__generated__": "generated code",
}

DOC_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ".adoc", ".asciidoc", ".rdoc", ".textile", ".org"}
GENERATED_NAMES = {"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Cargo.lock",
                   "uv.lock", "Pipfile.lock", "composer.lock", "Gemfile.lock", "go.sum", "bun.lockb"}
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", ".pb.go", ".generated.ts", ".generated.js", ".g.dart",
                      ".min.js", ".min.mjs", ".min.css", ".bundle.js", ".map")
MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Candidate:
    path: str  # relative POSIX
    kind: str
    size: int


@dataclass
class Walk:
    candidates: list[Candidate]
    skipped: dict[str, int]
    skipped_files: list[tuple[str, str]]
    files_seen: int


def classify(rel: str) -> str | None:
    """The analyzer kind for a path, or None when nothing of ours reads it."""
    from scanner.registry import classify_path

    return classify_path(rel)


class _Ignores:
    """The .gitignore files met so far, each compiled once into a few regexes.

    Consecutive patterns of the same sign are joined into one alternation and the groups are
    tried last to first, so the last matching pattern still decides (gitignore semantics) at
    the cost of one or two regex matches per path instead of one per pattern."""

    def __init__(self) -> None:
        self.specs: dict[str, list[tuple[bool, Callable[[str], object]]]] = {}

    def load(self, base: str, file: Path) -> None:
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()[:5000]
        except OSError:
            return
        spec = pathspec.PathSpec.from_lines("gitwildmatch", lines)
        self.specs[base] = _compile_spec(spec)

    def ignored(self, rel: str, is_dir: bool) -> bool:
        if not self.specs:
            return False
        path = rel + ("/" if is_dir else "")
        parts = rel.split("/")
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            groups = self.specs.get(base)
            if groups is None:
                continue
            sub = path[len(base) + 1 :] if base else path
            for include, match in groups:
                if match(sub):
                    if include:
                        return True
                    break
        return False


def _compile_spec(spec: pathspec.PathSpec) -> list[tuple[bool, Callable[[str], object]]]:
    runs: list[tuple[bool, list[str]]] = []
    for pattern in spec.patterns:
        include = getattr(pattern, "include", None)
        if include is None:
            continue
        regex = getattr(pattern, "regex", None)
        if regex is None or not hasattr(regex, "pattern"):  # not a regex pattern: let pathspec decide
            return [(True, spec.match_file)]
        source = re.sub(r"\(\?P<\w+>", "(?:", regex.pattern)
        if runs and runs[-1][0] == include:
            runs[-1][1].append(source)
        else:
            runs.append((include, [source]))
    return [(include, re.compile("|".join(f"(?:{s})" for s in sources)).match) for include, sources in reversed(runs)]


def walk(root: Path, extra_excludes: tuple[str, ...] = ()) -> Walk:
    skipped: dict[str, int] = {}
    skipped_files: list[tuple[str, str]] = []
    candidates: list[Candidate] = []
    seen = 0
    excludes = pathspec.PathSpec.from_lines("gitwildmatch", extra_excludes) if extra_excludes else None

    def skip(rel: str, reason: str, count: int = 1) -> None:
        skipped[reason] = skipped.get(reason, 0) + count
        if len(skipped_files) < 10000:
            skipped_files.append((rel, reason))

    if root.is_file():
        rel = root.name
        kind = classify(rel)
        seen = 1
        if kind is None:
            skip(rel, "not a file kind blastwall reads")
        else:
            candidates.append(Candidate(rel, kind, root.stat().st_size))
        return Walk(candidates, skipped, skipped_files, seen)

    ignores = _Ignores()
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        directory, rel_dir = stack.pop()
        gitignore = directory / ".gitignore"
        if gitignore.is_file() and not gitignore.is_symlink():
            ignores.load(rel_dir, gitignore)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            skip(rel_dir or ".", f"unreadable folder ({exc.strerror or 'error'})")
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_symlink():
                    seen += 1
                    skip(rel, "symlink (not followed)")
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                seen += 1
                skip(rel, "unreadable file")
                continue
            if stat.S_ISDIR(st.st_mode):
                reason = SKIP_DIRS.get(entry.name)
                if reason is None and entry.name.endswith(".egg-info"):
                    reason = "build output"
                if reason is not None:
                    skip(rel + "/", reason)
                    continue
                if ignores.ignored(rel, True) or (excludes and excludes.match_file(rel + "/")):
                    skip(rel + "/", "ignored (.gitignore or config)")
                    continue
                subdirs.append((Path(entry.path), rel))
                continue
            seen += 1
            if not stat.S_ISREG(st.st_mode):
                skip(rel, "not a regular file")
                continue
            if ignores.ignored(rel, False) or (excludes and excludes.match_file(rel)):
                skip(rel, "ignored (.gitignore or config)")
                continue
            name = entry.name
            lower = name.lower()
            suffix = os.path.splitext(lower)[1]
            if suffix in DOC_SUFFIXES:
                skip(rel, "documentation")
                continue
            if name in GENERATED_NAMES or lower.endswith(GENERATED_SUFFIXES):
                skip(rel, "generated or minified")
                continue
            kind = classify(rel)
            if kind is None:
                skip(rel, "not a file kind blastwall reads")
                continue
            if st.st_size > MAX_BYTES:
                skip(rel, "too large (over 2 MiB)")
                continue
            candidates.append(Candidate(rel, kind, st.st_size))
        stack.extend(reversed(subdirs))
    candidates.sort(key=lambda c: c.path)
    skipped_files.sort()
    return Walk(candidates, skipped, skipped_files, seen)


@lru_cache(maxsize=64)
def _is_dir(path: str) -> bool:
    return os.path.isdir(path)  # asked once per scan root, not once per file


def read_candidate(root: Path, cand: Candidate) -> tuple[bytes | None, str]:
    """Read a file without following a final symlink and without blocking on FIFOs."""
    base = os.fspath(root)
    path = os.path.join(base, cand.path) if _is_dir(base) else base
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return None, f"unreadable file ({exc.strerror or 'error'})"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file"
        chunks = []
        remaining = MAX_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        return None, f"unreadable file ({exc.strerror or 'error'})"
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        return None, "too large (over 2 MiB)"
    if b"\0" in data[:8192]:
        return None, "binary"
    if _looks_minified(data):
        return None, "generated or minified"
    return data, ""


def _looks_minified(data: bytes) -> bool:
    if len(data) < 20000:
        return False
    lines = data.count(b"\n") + 1
    return len(data) / lines > 1000


def iter_paths(walk_result: Walk) -> Iterator[str]:
    for cand in walk_result.candidates:
        yield cand.path

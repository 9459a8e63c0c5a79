"""Walk the target: honour .gitignore, skip dependency/generated/binary/huge files, never follow links.

What a pull request cannot use to hide a file (the repository's tracked files, from git):

- In a git checkout every tracked file is walked: `.gitignore` only hides untracked files.
- A folder *named* like a dependency or build folder is not trusted by its name alone. It is
  skipped as a dependency folder when git does not track anything in it (it was installed or
  built, not written), or when it holds installed-package evidence: a package manifest or
  install record directly in it or one or two levels below (`node_modules/x/package.json`,
  `vendor/modules.txt`, `site-packages/x.dist-info`, `pyvenv.cfg`, ...). A tracked folder named
  `vendor/`, `build/` or `generated/` that holds hand-written files is walked like any other.
- Version-control metadata and tool caches are always skipped.
- Files skipped for their name (minified, generated suffixes) or size are still searched for the
  catalog's terms by the engine; a hit puts them in the verdict as not analysed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pathspec

from scanner.discover.bounded import read_bounded

# Skipped whatever they hold: never hand-written, never where an agent is launched from.
ALWAYS_SKIP_DIRS = {
    ".git": "version control",
    ".hg": "version control",
    ".svn": "version control",
    ".tox": "tool cache",
    ".nox": "tool cache",
    ".mypy_cache": "tool cache",
    ".pytest_cache": "tool cache",
    ".ruff_cache": "tool cache",
    "__pycache__": "tool cache",
    ".terraform": "tool cache",
}
# Skipped when untracked or holding installed-package evidence (see the module docstring).
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
    "dist": "build output",
    "build": "build output",
    "target": "build output",
    ".next": "build output",
    ".nuxt": "build output",
    "coverage": "build output",
    ".gradle": "build output",
    "generated": "generated code",
    "__generated__": "generated code",
}

DOC_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ".adoc", ".asciidoc", ".rdoc", ".textile", ".org"}
GENERATED_NAMES = {"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Cargo.lock",
                   "uv.lock", "Pipfile.lock", "composer.lock", "Gemfile.lock", "go.sum", "bun.lockb"}
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", ".pb.go", ".generated.ts", ".generated.js", ".g.dart",
                      ".min.js", ".min.mjs", ".min.css", ".bundle.js", ".map")
MAX_BYTES = 2 * 1024 * 1024
# Installed-package evidence: files a package manager writes into what it installs.
PACKAGE_EVIDENCE = frozenset({
    "package.json", "bower.json", ".package-lock.json", ".yarn-integrity", ".modules.yaml", "modules.txt",
    "pyvenv.cfg", "setup.py", "setup.cfg", "pyproject.toml", "PKG-INFO", "METADATA", "RECORD", "go.mod",
    "Cargo.toml", "composer.json", "installed.json", "autoload.php", "Manifest.lock", "Podfile.lock", "gemspec",
})
# .gitignore and similar files: read this much, and ignore longer lines (pattern matching is
# super-linear in a line's length); what was cut is listed.
MAX_IGNORE_BYTES = 256 * 1024
MAX_IGNORE_LINE = 1024


@dataclass(frozen=True)
class Candidate:
    path: str  # relative POSIX
    kind: str
    size: int
    # What a native search (ripgrep, `native_search`) already found in the file; None = not
    # searched, so the engine searches the bytes it reads itself.
    agent_terms: bool | None = None  # names a catalog term (exact: the same set as the Python prefilter)
    script_call: bool | None = None  # may hand a script to a shell (`sh run.txt`); True is checked again


@dataclass
class Walk:
    candidates: list[Candidate]
    skipped: dict[str, int]
    skipped_files: list[tuple[str, str]]
    files_seen: int
    # Tracked files skipped for their name or size: the engine searches them for agent terms.
    to_search: list[tuple[str, str]] = field(default_factory=list)
    # Files the project's configuration excluded, with the pattern that did it.
    excluded: list[tuple[str, str]] = field(default_factory=list)
    # Configuration-like files read only in part (too large, over-long lines).
    truncated: list[tuple[str, str]] = field(default_factory=list)
    # Every regular file neither ignored nor excluded: what a cross-file question may read (a
    # script run as `sh run.txt` is not a candidate of its own).
    readable: list[str] = field(default_factory=list)


def classify(rel: str) -> str | None:
    """The analyzer kind for a path, or None when nothing of ours reads it."""
    from scanner.launch.filekinds import classify_path

    return classify_path(rel)


class _Rules:
    """One .gitignore, compiled. Consecutive patterns of the same sign are joined into one
    alternation and the runs are tried last to first, so the last matching pattern still decides
    (gitignore semantics) at the cost of a match or two per entry instead of one per pattern.

    A pattern without a slash matches an entry's name at any depth: it is compiled anchored and
    tried on the name alone, whose answer is remembered (names repeat across folders). Only
    patterns with a slash are tried on the path below the .gitignore's folder. What lies under
    an ignored folder is ignored by the walk itself (git cannot re-include it)."""

    def __init__(self, runs: list[tuple[bool, Callable[[str], object] | None, Callable[[str], object] | None]]):
        self.runs = runs
        self.names: dict[str, tuple[bool, ...]] = {}  # name -> whether each run's name patterns match it

    def decide(self, name: str, sub: str) -> bool | None:
        """True: ignored, False: re-included (`!`), None: no pattern of this file matches."""
        hits = self.names.get(name)
        if hits is None:
            hits = tuple(by_name is not None and by_name(name) is not None for _, by_name, _ in self.runs)
            if len(self.names) < 50_000:
                self.names[name] = hits
        for hit, (include, _by_name, by_path) in zip(hits, self.runs):
            if hit or (by_path is not None and by_path(sub)):
                return include
        return None


class _Ignores:
    """The .gitignore files met so far, each compiled once (`_Rules`)."""

    def __init__(self) -> None:
        self.specs: dict[str, _Rules] = {}

    def load(self, base: str, file: Path) -> str:
        """Read one .gitignore; the reason it was read only in part, or ""."""
        data, cut = read_bounded(file, MAX_IGNORE_BYTES)
        lines = data.decode("utf-8", "replace").splitlines()
        kept = [line for line in lines[:5000] if len(line) <= MAX_IGNORE_LINE]
        if len(kept) < len(lines):
            cut = cut or f"{len(lines) - len(kept)} over-long or surplus lines not read"
        try:
            self.specs[base] = _compile_rules(kept)
        except (ValueError, TypeError, re.error) as exc:  # pathspec rejects some malformed patterns
            return f"not read: {str(exc)[:80]}"
        return cut

    def chain(self, rel_dir: str) -> list[tuple[str, _Rules]]:
        """The .gitignore files loaded so far that apply to the entries of `rel_dir`, innermost
        first: looked up once per folder, then `ignored_by` for each entry."""
        parts = rel_dir.split("/") if rel_dir else []
        bases = ["", *("/".join(parts[:depth]) for depth in range(1, len(parts) + 1))]
        return [(base, self.specs[base]) for base in reversed(bases) if base in self.specs]

    @staticmethod
    def ignored_by(chain: list[tuple[str, _Rules]], rel: str, is_dir: bool) -> bool:
        """Whether git ignores an entry of the folder whose `chain` this is: a deeper .gitignore
        overrides a shallower one, and within a file the last matching pattern decides (a `!`
        pattern re-includes)."""
        path = rel + "/" if is_dir else rel
        name = path.rpartition("/")[2] if not is_dir else rel.rpartition("/")[2] + "/"
        for base, rules in chain:
            decided = rules.decide(name, path[len(base) + 1 :] if base else path)
            if decided is not None:
                return decided
        return False


def _installed_packages(directory: str) -> bool:
    """Installed-package evidence directly in `directory` or one or two levels below."""
    level = [directory]
    for _depth in range(3):
        below = []
        for folder in level[:200]:
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        name = entry.name
                        if name in PACKAGE_EVIDENCE or name.endswith((".dist-info", ".egg-info", ".gemspec")):
                            return True
                        if entry.is_dir(follow_symlinks=False):
                            below.append(entry.path)
            except OSError:
                continue
        level = below
    return False


GITIGNORED_WITHOUT_GIT = "ignored (.gitignore, no git data to tell tracked files apart)"


def _gitignore_pattern() -> str:
    """pathspec's name for git's own matching: `gitignore` from 1.0 on (`gitwildmatch`, its old
    name, is deprecated there), `gitwildmatch` before."""
    try:
        pathspec.util.lookup_pattern("gitignore")
    except KeyError:
        return "gitwildmatch"
    return "gitignore"


_GITIGNORE = _gitignore_pattern()


_PATTERN = pathspec.util.lookup_pattern(_GITIGNORE)


def _compile_rules(lines: list[str]) -> _Rules:
    runs: list[tuple[bool, list[str], list[str]]] = []
    for line in lines:
        # pathspec's translation to a regular expression, compiled here once per run of patterns.
        regex, include = _PATTERN.pattern_to_regex(line)
        if include is None:  # blank or comment
            continue
        negated = line.startswith("!")
        body = line[1:] if negated else line
        stem = body.rstrip().rstrip("/")
        if not stem.strip():  # "/" alone: git matches nothing with it
            continue
        by_name = "/" not in stem
        if by_name and not stem.strip("*"):  # "**/" is every folder ("*" and "**": every entry)
            regex = "[^/]+/" if body.rstrip().endswith("/") else "."
        elif by_name:  # the same pattern anchored: tried on the entry's name alone
            regex, include = _PATTERN.pattern_to_regex(("!" if negated else "") + "/" + body)
        if not isinstance(regex, str) or include is None:
            raise ValueError(f"pattern {line[:40]!r} has no regular expression")
        source = re.sub(r"\(\?P<\w+>", "(?:", regex)
        if not runs or runs[-1][0] != include:
            runs.append((include, [], []))
        runs[-1][1 if by_name else 2].append(source)

    def joined(sources: list[str]) -> Callable[[str], object] | None:
        return re.compile("|".join(f"(?:{s})" for s in sources)).match if sources else None

    return _Rules([(include, joined(names), joined(paths)) for include, names, paths in reversed(runs)])


def _tracked_dirs(tracked: frozenset[str]) -> frozenset[str]:
    dirs: set[str] = set()
    for path in tracked:
        head = path.rpartition("/")[0]
        while head and head not in dirs:
            dirs.add(head)
            head = head.rpartition("/")[0]
    return frozenset(dirs)


def walk(root: Path, extra_excludes: tuple[str, ...] = (), tracked: frozenset[str] | None = None,
         kept: Callable[[str], None] | None = None) -> Walk:
    """The files to analyse under `root`. `tracked` is git's list of tracked files (relative
    POSIX paths), or None outside a git checkout: tracked files are never hidden by .gitignore
    or by a folder's name alone. `kept` is told each candidate's path as soon as it is found
    (a search can start on them while the walk goes on)."""
    out = Walk([], {}, [], 0)
    excludes = pathspec.PathSpec.from_lines(_GITIGNORE, extra_excludes) if extra_excludes else None
    tracked_dirs = _tracked_dirs(tracked) if tracked is not None else frozenset()
    # Without git data a tracked file cannot be told from an ignored one: the reason says so.
    gitignored = "ignored (.gitignore)" if tracked is not None else GITIGNORED_WITHOUT_GIT

    def skip(rel: str, reason: str, count: int = 1) -> None:
        out.skipped[reason] = out.skipped.get(reason, 0) + count
        if len(out.skipped_files) < 10000:
            out.skipped_files.append((rel, reason))

    def excluded(rel: str) -> str:
        if excludes is None:
            return ""
        for pattern in excludes.patterns:
            if getattr(pattern, "include", None) and pattern.match_file(rel):
                return getattr(pattern, "pattern", "") or "exclude"
        return ""

    if root.is_file():
        rel = root.name
        kind = classify(rel)
        out.files_seen = 1
        if kind is None:
            skip(rel, "not a file kind blastwall reads")
        else:
            out.candidates.append(Candidate(rel, kind, root.stat().st_size))
        return out

    from scanner.launch.filekinds import classify_entry

    ignores = _Ignores()
    # (folder, its path, whether git ignores it): a tracked folder that git ignores is walked for
    # its tracked files, and everything untracked in it stays ignored.
    stack: list[tuple[str, str, bool]] = [(os.fspath(root), "", False)]
    while stack:
        directory, rel_dir, inside_ignored = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            entries = None
            error = exc
        # The folder's own .gitignore (a regular file, not a symlink) applies to its entries.
        if entries is None:
            gitignore = Path(directory, ".gitignore")
            has_gitignore = gitignore.is_file() and not gitignore.is_symlink()
        else:
            has_gitignore = any(e.name == ".gitignore" and _regular(e) for e in entries)
        if has_gitignore:
            cut = ignores.load(rel_dir, Path(directory, ".gitignore"))
            if cut:
                out.truncated.append((f"{rel_dir}/.gitignore" if rel_dir else ".gitignore", cut))
        if entries is None:
            skip(rel_dir or ".", f"unreadable folder ({error.strerror or 'error'})")
            continue
        chain = ignores.chain(rel_dir)
        in_hidden = any(part.startswith(".") for part in rel_dir.split("/")) if rel_dir else False
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_symlink():
                    out.files_seen += 1
                    skip(rel, "symlink (not followed)")
                    continue
                # The folder listing's own type field: no system call per entry (only a
                # candidate's size is asked for, below).
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file(follow_symlinks=False)
            except OSError:
                out.files_seen += 1
                skip(rel, "unreadable file")
                continue
            if is_dir:
                reason = ALWAYS_SKIP_DIRS.get(entry.name)
                if reason is None:
                    reason = SKIP_DIRS.get(entry.name)
                    if reason is None and entry.name.endswith(".egg-info"):
                        reason = "build output"
                    if reason is not None and rel in tracked_dirs and not _installed_packages(entry.path):
                        reason = None  # tracked, hand-written: a name alone hides nothing
                if reason is not None:
                    skip(rel + "/", reason)
                    continue
                pattern = excluded(rel + "/")
                if pattern:
                    out.excluded.append((rel + "/", pattern))
                    skip(rel + "/", "excluded by configuration")
                    continue
                ignored = inside_ignored or bool(chain) and ignores.ignored_by(chain, rel, True)
                if ignored and rel not in tracked_dirs:
                    skip(rel + "/", gitignored)
                    continue
                subdirs.append((entry.path, rel, ignored))
                continue
            out.files_seen += 1
            if not is_file:
                skip(rel, "not a regular file")
                continue
            is_tracked = tracked is not None and rel in tracked
            pattern = excluded(rel)
            if pattern:
                out.excluded.append((rel, pattern))
                skip(rel, "excluded by configuration")
                continue
            if not is_tracked and (inside_ignored or bool(chain) and ignores.ignored_by(chain, rel, False)):
                skip(rel, gitignored)
                continue
            out.readable.append(rel)
            name = entry.name
            lower = name.lower()
            suffix = os.path.splitext(lower)[1]
            if suffix in DOC_SUFFIXES:
                skip(rel, "documentation")
                continue
            if name in GENERATED_NAMES:
                skip(rel, "lock file")
                continue
            kind = classify_entry(rel, name, bool(rel_dir), in_hidden)
            if lower.endswith(GENERATED_SUFFIXES):
                skip(rel, "generated or minified")
                out.to_search.append((rel, "generated or minified"))
                continue
            if kind is None:
                skip(rel, "not a file kind blastwall reads")
                continue
            try:
                size = entry.stat(follow_symlinks=False).st_size
            except OSError:
                skip(rel, "unreadable file")
                continue
            if size > MAX_BYTES:
                skip(rel, "too large (over 2 MiB)")
                out.to_search.append((rel, "too large (over 2 MiB)"))
                continue
            out.candidates.append(Candidate(rel, kind, size))
            if kept is not None:
                kept(rel)
        stack.extend(reversed(subdirs))
    out.candidates.sort(key=lambda c: c.path)
    out.skipped_files.sort()
    out.excluded.sort()
    out.to_search.sort()
    return out


def _regular(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


@lru_cache(maxsize=64)
def _is_dir(path: str) -> bool:
    return os.path.isdir(path)  # asked once per scan root, not once per file


def read_candidate(root: Path, cand: Candidate) -> tuple[bytes | None, str]:
    """Read a file without following a final symlink and without blocking on FIFOs."""
    base = os.fspath(root)
    data, cut = read_bounded(Path(os.path.join(base, cand.path) if _is_dir(base) else base), MAX_BYTES)
    if cut.startswith("unreadable"):
        return None, "unreadable file" + cut[len("unreadable"):]
    if cut:
        return None, "not a regular file" if cut == "not a regular file" else "too large (over 2 MiB)"
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

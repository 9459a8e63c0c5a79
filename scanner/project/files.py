"""The scan's one reader of repository files, and the memo of what each was parsed into.

Analyzers see their own file; a question that crosses files (the module a Python or JS file
imports, the script a workflow step or a wrapper runs, the Dockerfile a compose service builds,
a NetworkPolicy elsewhere in the repo) goes through a `ProjectFiles`. It reads only files that
discovery kept (no path outside the root, no symlink, nothing ignored or excluded), each at most
once per process, bounded in size; and it keeps each parsed form (`parsed`) so a file read by
several questions is parsed once. The engine seeds the main process's instance with the files
the workers already read, so the link stage reads none of those again.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from scanner.discover.bounded import read_bounded
from scanner.parse.trees import SourceFile

T = TypeVar("T")

# A file read for a cross-file question is at most this large (scripts, modules, manifests).
MAX_LINKED_BYTES = 1024 * 1024


class ProjectFiles:
    """Files of one scanned folder, read on demand and kept for the rest of the scan."""

    def __init__(self, root: Path | None, paths: Iterable[str] | None = None) -> None:
        # None: a single-file scan or a synthetic analysis: nothing beyond the file is read.
        self.root = root if root is not None and os.path.isdir(root) else None
        self.paths: frozenset[str] = frozenset(paths) if paths is not None else frozenset()
        self._sources: dict[str, SourceFile | None] = {}
        self._parsed: dict[tuple[str, str], Any] = {}
        self.reads = 0  # files read from disk by this instance (seeded ones are not counted)
        self._real_root = os.path.join(os.path.realpath(self.root), "") if self.root is not None else ""

    def __contains__(self, rel: str) -> bool:
        return rel in self.paths

    def seed(self, rel: str, data: bytes) -> None:
        """A file an analyzer already read: later questions are answered from these bytes."""
        if rel not in self._sources and len(data) <= MAX_LINKED_BYTES:
            self._sources[rel] = SourceFile(rel, data)

    def source(self, rel: str) -> SourceFile | None:
        """The file at a root-relative path, or None when it is not a scanned file, is too large,
        binary or unreadable."""
        rel = posixpath.normpath(rel)
        if rel in self._sources:
            return self._sources[rel]
        found = self._read(rel)
        self._sources[rel] = found
        return found

    def parsed(self, rel: str, form: str, make: Callable[[SourceFile], T]) -> T | None:
        """The file parsed into `form` by `make`, once per file and form."""
        key = (posixpath.normpath(rel), form)
        if key not in self._parsed:
            src = self.source(key[0])
            self._parsed[key] = make(src) if src is not None else None
        return self._parsed[key]  # type: ignore[no-any-return]

    def keep(self, rel: str, form: str, value: Any) -> None:
        """A summary another process made of a file (its imports, say): answered from it."""
        self._parsed.setdefault((rel, form), value)

    def remember(self, rel: str, form: str, make: Callable[[], T]) -> T:
        """A parse an analyzer makes of its own file, kept for later cross-file questions (and
        taken from there when one already made it)."""
        if self.root is None:
            return make()
        key = (rel, form)
        if key not in self._parsed:
            self._parsed[key] = make()
        return self._parsed[key]  # type: ignore[no-any-return]

    def _read(self, rel: str) -> SourceFile | None:
        if self.root is None or rel not in self.paths:
            return None
        full = os.path.join(self.root, rel)
        # Discovery never descends a symlinked folder; one swapped in since is refused here.
        if not os.path.realpath(full).startswith(self._real_root):
            return None
        data, cut = read_bounded(Path(full), MAX_LINKED_BYTES)
        self.reads += 1
        if cut or b"\0" in data[:8192]:
            return None
        return SourceFile(rel, data)


NO_PROJECT = ProjectFiles(None)

__all__ = ["MAX_LINKED_BYTES", "NO_PROJECT", "ProjectFiles"]

"""Native search: ripgrep over the files discovery kept.

Discovery itself stays in Python: the tracked-file rule, the dependency-folder rule and every
counted, listed skip are decided there, entry by entry, and `rg --files` would have to reproduce
each of them; what ripgrep does faster is reading the kept files and matching the catalog's
terms. Any failure returns None and the caller searches in Python: a failure costs time, never
a file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from scanner.discover.walk import MAX_BYTES

RG_BATCH_FILES = 2000  # files per ripgrep call (argv stays far below the kernel's limits)
RG_BATCH_BYTES = 128 * 1024
RG_TIMEOUT = 120.0
# Each option is there for a reason: no configuration file or environment is read, no ignore
# file either (the file list is already decided), a path is searched only as the regular file
# discovery saw (never a folder walked, never a symlink followed while walking), and the bytes
# are matched as they are (no BOM transcoding, no binary-file cut-off), as the Python prefilter
# matches them.
RG_OPTIONS = ("--no-config", "--no-ignore", "--hidden", "--no-follow", "--max-depth", "0",
              "--text", "--encoding", "none", "--no-messages",
              "--color", "never", "--files-with-matches", "--null")


def find_rg() -> str | None:
    """ripgrep: the `ripgrep` wheel's binary installed beside this interpreter, else `rg` on
    PATH; None when there is none that answers as ripgrep, or when BLASTWALL_NO_RG is set."""
    if os.environ.get("BLASTWALL_NO_RG", "") not in ("", "0"):
        return None
    return _find_rg()


@lru_cache(maxsize=1)
def _find_rg() -> str | None:
    import shutil
    import subprocess
    import sys
    import sysconfig

    name = "rg.exe" if os.name == "nt" else "rg"
    places = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    candidates = [os.path.join(p, name) for p in places if p] + [shutil.which("rg") or ""]
    for exe in dict.fromkeys(c for c in candidates if c):
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            continue
        try:
            out = subprocess.run([exe, "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                                 timeout=10, env=_rg_env(), check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.startswith(b"ripgrep "):
            return exe
    return None


def _rg_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C"}


def native_search(root: Path, paths: list[str], patterns: tuple[str, ...],
                  max_bytes: int = MAX_BYTES) -> list[set[str]] | None:
    """For each pattern (ripgrep's default regex syntax), the files among `paths` (relative to
    the folder `root`) whose bytes match it. None when ripgrep is missing or any call failed:
    the caller then searches in Python, so a failure costs time, never a file.

    ripgrep gets exactly these files as arguments, in batches, after `--` (a name starting with
    `-` is a name) and runs in `root`, so what it prints is one of the names it was given. A
    file over `max_bytes` is not read (it is in no set)."""
    search = NativeSearch.start(root, patterns, max_bytes)
    if search is None:
        return None
    for path in paths:
        search.add(path)
    return search.finish()


class NativeSearch:
    """ripgrep over files handed in one by one: each full batch is searched in a thread while
    the caller goes on (discovery keeps walking; ripgrep is a subprocess, so the GIL is free)."""

    def __init__(self, root: Path, patterns: tuple[str, ...], max_bytes: int = MAX_BYTES):
        from concurrent.futures import ThreadPoolExecutor

        self.root, self.patterns = root, patterns
        self.options = (*RG_OPTIONS, "--max-filesize", str(max_bytes))
        self.exe: str | None = None  # looked up with the first batch: a small scan never starts ripgrep
        self.threads = ThreadPoolExecutor(max_workers=1)
        self.jobs: list = []
        self.batch: list[str] = []
        self.size = 0
        self.count = 0

    @classmethod
    def start(cls, root: Path, patterns: tuple[str, ...], max_bytes: int = MAX_BYTES) -> NativeSearch | None:
        """None when ripgrep is switched off; whether it is installed is asked at the first batch."""
        return None if os.environ.get("BLASTWALL_NO_RG", "") not in ("", "0") else cls(root, patterns, max_bytes)

    def add(self, path: str) -> None:
        if self.batch and (len(self.batch) >= RG_BATCH_FILES or self.size + len(path) + 1 > RG_BATCH_BYTES):
            self._submit()
        self.batch.append(path)
        self.size += len(path) + 1
        self.count += 1

    def _submit(self) -> None:
        self.exe = self.exe or find_rg()
        self.jobs.append(self.threads.submit(self._search, self.batch))
        self.batch, self.size = [], 0

    def finish(self) -> list[set[str]] | None:
        """Per pattern, the files that match; None when any call failed."""
        if self.batch:
            self._submit()
        try:
            answers = [job.result() for job in self.jobs]
        finally:
            self.threads.shutdown(wait=True)
        if any(a is None for a in answers):
            return None
        return [set().union(*(a[i] for a in answers if a is not None)) for i in range(len(self.patterns))]

    def cancel(self) -> None:
        """Not needed after all: what was started runs out, its answer is dropped."""
        self.threads.shutdown(wait=True, cancel_futures=True)

    def _search(self, batch: list[str]) -> list[set[str]] | None:
        import subprocess

        if self.exe is None:
            return None
        wanted = set(batch)
        found: list[set[str]] = []
        for pattern in self.patterns:
            try:
                proc = subprocess.run([self.exe, *self.options, "--regexp", pattern, "--", *batch], cwd=self.root,
                                      env=_rg_env(), stdin=subprocess.DEVNULL, capture_output=True,
                                      timeout=RG_TIMEOUT, check=False)
            except (OSError, subprocess.SubprocessError):
                return None
            if proc.returncode not in (0, 1):  # 2: an error (unreadable file, bad pattern)
                return None
            names = {os.fsdecode(n) for n in proc.stdout.split(b"\0") if n}
            if not names <= wanted:
                return None  # not an answer about the files it was given
            found.append(names)
        return found

"""Native search: ripgrep over the files discovery kept.

Discovery itself stays in Python: the tracked-file rule, the dependency-folder rule and every
counted, listed skip are decided there, entry by entry, and `rg --files` would have to reproduce
each of them; what ripgrep does faster is reading the kept files and matching the catalog's
terms. Any failure returns None and the caller searches in Python: a failure costs time, never
a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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
              "--max-filesize", str(MAX_BYTES), "--text", "--encoding", "none", "--no-messages",
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


def _batches(paths: list[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for path in paths:
        if batch and (len(batch) >= RG_BATCH_FILES or size + len(path) + 1 > RG_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += len(path) + 1
    if batch:
        yield batch


def native_search(root: Path, paths: list[str], patterns: tuple[str, ...]) -> list[set[str]] | None:
    """For each pattern (ripgrep's default regex syntax), the files among `paths` (relative to
    the folder `root`) whose bytes match it. None when ripgrep is missing or any call failed:
    the caller then searches in Python, so a failure costs time, never a file.

    ripgrep gets exactly these files as arguments, in batches, after `--` (a name starting with
    `-` is a name) and runs in `root`, so what it prints is one of the names it was given."""
    exe = find_rg()
    if exe is None:
        return None
    import subprocess

    wanted = set(paths)
    found: list[set[str]] = []
    for pattern in patterns:
        hits: set[str] = set()
        for batch in _batches(paths):
            try:
                proc = subprocess.run([exe, *RG_OPTIONS, "--regexp", pattern, "--", *batch], cwd=root,
                                      env=_rg_env(), stdin=subprocess.DEVNULL, capture_output=True,
                                      timeout=RG_TIMEOUT, check=False)
            except (OSError, subprocess.SubprocessError):
                return None
            if proc.returncode not in (0, 1):  # 2: an error (unreadable file, bad pattern)
                return None
            names = {os.fsdecode(n) for n in proc.stdout.split(b"\0") if n}
            if not names <= wanted:
                return None  # not an answer about the files it was given
            hits |= names
        found.append(hits)
    return found

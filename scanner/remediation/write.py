"""Write generated configs into a folder without losing anything the user already has."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["UnsafePathError", "WriteReport", "write_configs"]


class UnsafePathError(ValueError):
    """An output path that is absolute, climbs out of the output folder, or passes a symlink."""


@dataclass(frozen=True)
class WriteReport:
    """What `write_configs` did, as output-relative POSIX paths in sorted order."""

    out_dir: Path
    written: tuple[str, ...]
    skipped: tuple[str, ...]  # existed already and force was not given

    @property
    def ok(self) -> bool:
        return not self.skipped


def _destination(root: Path, relative: str) -> Path:
    if not isinstance(relative, str) or not relative or "\x00" in relative or "\\" in relative:
        raise UnsafePathError(f"unsafe output path {relative!r}")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or pure.parts[0] == ".":
        raise UnsafePathError(f"output path {relative!r} must stay inside the output folder")
    target = root.joinpath(*pure.parts)
    # Refuse to follow a symlink anywhere below root: it could point outside.
    current = root
    for part in pure.parts:
        current = current / part
        if current.is_symlink():
            raise UnsafePathError(f"output path {relative!r} goes through a symlink ({current.name})")
    if os.path.commonpath([root, target.resolve()]) != str(root):
        raise UnsafePathError(f"output path {relative!r} escapes the output folder")
    return target


def write_configs(out_dir: Path, files: Mapping[str, str], force: bool = False) -> WriteReport:
    """Write `files` (relative path -> text) under `out_dir`.

    Existing files are left alone and reported as skipped unless `force` is true. Paths that are
    absolute, contain `..`, or pass through a symlink raise `UnsafePathError` before anything is
    written. Folders are created as needed; `*.sh` files are made executable.
    """
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()

    plan = [(relative, _destination(root, relative)) for relative in sorted(files)]
    written: list[str] = []
    skipped: list[str] = []
    for relative, target in plan:
        if target.exists() and not force:
            skipped.append(relative)
            continue
        if target.exists() and not target.is_file():
            raise IsADirectoryError(f"{relative} exists and is not a regular file")
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(files[relative])
        if relative.endswith(".sh"):
            mode = target.stat().st_mode
            target.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        written.append(relative)
    return WriteReport(out_dir=root, written=tuple(written), skipped=tuple(skipped))

"""Write generated configs into a folder without losing anything the user already has.

Nothing here writes through a symlink. Every file is written next to its destination under a
temporary name and renamed over it, with each folder on the way opened relative to the one above
it with `O_NOFOLLOW` where the platform allows, so a symlink (or a hard link) planted in the tree
can neither redirect a write nor have its target overwritten.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["UnsafePathError", "WriteReport", "resolve_out_dir", "safe_write", "unsafe_reason", "write_configs"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# openat()-style writes need dir_fd support for open, mkdir, stat, rename and unlink.
_AT = (_NOFOLLOW and _DIRECTORY and {os.open, os.mkdir, os.stat, os.rename, os.unlink} <= os.supports_dir_fd)


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


def _is_inside(path: Path, base: Path) -> bool:
    try:
        path.relative_to(base)
    except ValueError:
        return False
    return True


def resolve_out_dir(root: Path, out: Path) -> tuple[Path, str]:
    """The folder `blastwall fix` writes into, and its POSIX path relative to `root` ("" when outside).

    A relative `out` is taken inside `root`. The rule: every folder from `root` down to the output
    folder that already exists must be a real folder, not a symlink, so that the files land where
    the report says they do, inside `root`. An `out` that leaves `root` by its own spelling (an
    absolute path elsewhere, or `..`) is allowed: the user named that folder explicitly (one that
    leaves only to come back in is inside). Raises `UnsafePathError` (one line) otherwise.
    """
    root_abs = Path(os.path.abspath(root))
    parts: tuple[str, ...] | None = None
    if not out.is_absolute():
        parts = out.parts
    else:
        for base in dict.fromkeys((root_abs, Path(os.path.realpath(root)))):
            if out.parts[: len(base.parts)] == base.parts:
                root_abs, parts = base, out.parts[len(base.parts):]
                break
    if parts is None:
        return out, ""  # an explicit folder outside root
    current, depth, stack = root_abs, 0, []
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if depth == 0:  # leaves root by its own spelling; unless it only comes back in again
                named = Path(os.path.normpath(root_abs / out))
                if named != root_abs and root_abs in named.parents:
                    return resolve_out_dir(root, named.relative_to(root_abs))
                return root / out if not out.is_absolute() else out, ""
            current, depth = current.parent, depth - 1
            stack.pop()
            continue
        current, depth = current / part, depth + 1
        stack.append(part)
        shown = "/".join(stack)
        if current.is_symlink():
            try:
                target = os.readlink(current)
            except OSError:
                target = "?"
            raise UnsafePathError(f"{shown} is a symlink (to {target}); blastwall fix writes only into real folders "
                                  "inside PATH: remove the link, or name the destination folder itself with --out")
        if current.exists() and not current.is_dir():
            raise UnsafePathError(f"{shown} exists and is not a folder")
    return current, "/".join(stack) or "."


def unsafe_reason(root: Path, relative: str) -> str:
    """"" when `root/relative` is reached without passing a symlink and stays inside `root`; else why not."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts):
        return "the path leaves the scanned folder"
    current = root
    for depth, part in enumerate(pure.parts, 1):
        current = current / part
        if current.is_symlink():
            what = "is a symlink" if depth == len(pure.parts) else f"is reached through a symlink ({part})"
            return f"{relative} {what}; blastwall does not edit through symlinks"
    try:
        if not _is_inside(current.resolve(), root.resolve()):
            return f"{relative} resolves outside the scanned folder"
    except OSError as exc:
        return f"cannot resolve {relative}: {exc.strerror or exc}"
    return ""


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


def _symlink_error(relative: str, part: str) -> UnsafePathError:
    return UnsafePathError(f"{relative}: {part} is a symlink; blastwall does not write through symlinks")


def safe_write(base: Path, relative: str, text: str, *, overwrite: bool, executable: bool = False) -> bool:
    """Write `text` to `base/relative` without following a symlink below `base`.

    Missing folders are created. An existing file is replaced (keeping its permission bits) only
    when `overwrite` is true; the write goes to a temporary file in the same folder that is then
    renamed over the destination, so a reader never sees half a file and a symlink or hard link at
    the destination is replaced, never written through. Returns False when the file existed and
    `overwrite` was false. Raises `UnsafePathError` for a symlink or a non-file in the way.
    """
    pure = PurePosixPath(relative)
    if pure.is_absolute() or not pure.parts or any(part in ("..", "", ".") for part in pure.parts):
        raise UnsafePathError(f"unsafe path {relative!r}")
    data = text.encode("utf-8")
    *folders, name = pure.parts
    if not _AT:
        return _safe_write_by_path(base, folders, name, relative, data, overwrite, executable)
    fd = os.open(base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        for part in folders:
            try:
                child = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(part, 0o777, dir_fd=fd)
                child = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                    if stat.S_ISLNK(st.st_mode):
                        raise _symlink_error(relative, part) from None
                    raise UnsafePathError(f"{relative}: {part} is not a folder") from None
                raise
            os.close(fd)
            fd = child
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISLNK(st.st_mode):
                raise _symlink_error(relative, name)
            if not stat.S_ISREG(st.st_mode):
                raise IsADirectoryError(f"{relative} exists and is not a regular file")
            if not overwrite:
                return False
        tmp = f".{name}.{secrets.token_hex(6)}.blastwall-tmp"
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666, dir_fd=fd)
        try:
            try:
                _write_all(out, data)
                _set_mode(out, st, executable)
            finally:
                os.close(out)
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=fd)
            except OSError:
                pass
            raise
        return True
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _set_mode(fd: int, st: os.stat_result | None, executable: bool) -> None:
    if st is not None:
        mode = stat.S_IMODE(st.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    if executable:
        mode |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)


def _safe_write_by_path(base: Path, folders: list[str], name: str, relative: str, data: bytes, overwrite: bool,
                        executable: bool) -> bool:
    """The same without dir_fd support: check each step with lstat, then write and rename."""
    current = base
    for part in folders:
        current = current / part
        if current.is_symlink():
            raise _symlink_error(relative, part)
        if current.exists() and not current.is_dir():
            raise UnsafePathError(f"{relative}: {part} is not a folder")
        current.mkdir(exist_ok=True)
    target = current / name
    st = None
    if target.is_symlink():
        raise _symlink_error(relative, name)
    if target.exists():
        if not target.is_file():
            raise IsADirectoryError(f"{relative} exists and is not a regular file")
        if not overwrite:
            return False
        st = target.stat()
    tmp = current / f".{name}.{secrets.token_hex(6)}.blastwall-tmp"
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            _write_all(out, data)
        finally:
            os.close(out)
        mode = stat.S_IMODE(st.st_mode) if st is not None else None
        if mode is not None:
            os.chmod(tmp, mode)
        if executable:
            os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True


def write_configs(out_dir: Path, files: Mapping[str, str], force: bool = False, within: Path | None = None) -> WriteReport:
    """Write `files` (relative path -> text) under `out_dir`.

    Existing files are left alone and reported as skipped unless `force` is true. Paths that are
    absolute, contain `..`, or pass through a symlink raise `UnsafePathError` before anything is
    written; each write also refuses to follow a symlink (see `safe_write`). Folders are created as
    needed; `*.sh` files are made executable. Where `out_dir` lies is the caller's decision (see
    `resolve_out_dir`); with `within` (a folder holding `out_dir`), every folder from `within`
    down is opened without following symlinks too, so none swapped in meanwhile is followed.
    """
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root} exists and is not a folder")
    base, prefix = None, ""
    if within is not None:
        rel = os.path.relpath(os.path.abspath(root), os.path.abspath(within))
        if rel != ".." and not rel.startswith(".." + os.sep) and not os.path.isabs(rel):
            base, prefix = Path(os.path.abspath(within)), ("" if rel == "." else PurePosixPath(*Path(rel).parts).as_posix())
    if base is None:
        root.mkdir(parents=True, exist_ok=True)
        base = root.resolve()
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
        if safe_write(base, f"{prefix}/{relative}" if prefix else relative, files[relative], overwrite=force,
                      executable=relative.endswith(".sh")):
            written.append(relative)
        else:
            skipped.append(relative)
    return WriteReport(out_dir=root, written=tuple(written), skipped=tuple(skipped))

"""Reading a file without following a final symlink, without blocking on a FIFO, and no more
than a bound: the one way blastwall reads a repository file."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_bounded(path: Path, limit: int) -> tuple[bytes, str]:
    """At most `limit` bytes of a regular file (no symlink, no FIFO), and why it was cut or ""."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return b"", f"unreadable ({exc.strerror or 'error'})"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"", "not a regular file"
        chunks, remaining = [], limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        return b"", f"unreadable ({exc.strerror or 'error'})"
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        return data[:limit], f"larger than {limit // 1024} KiB, read in part"
    return data, ""


__all__ = ["read_bounded"]

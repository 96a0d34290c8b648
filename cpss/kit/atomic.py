"""Atomic, durable file writes: a temporary file in the target's folder, ``fsync``, a rename.

A crash leaves the old file or the new one, never a torn one. Used by the run folders
(:mod:`cpss.runs.runio`) and the visitor logs (:mod:`cpss.data.schema`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk; a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Create or replace ``path`` with what ``write(tmp_path)`` writes, atomically and durably.

    Args:
        path: The file to create or replace (its folder is created).
        write: Writes the whole content to the temporary path it is given.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)

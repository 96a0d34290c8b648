"""Run folders written atomically, and the provenance they record.

A run is assembled in a hidden temporary folder next to its destination and renamed into
place only when complete, so an interrupted run never leaves a folder that looks finished.
Single files are written the same way (temp file + ``os.replace``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cpss.kit.config import ConfigError

PACKAGES = ("cpss-sim", "mesa", "numpy", "networkx", "pettingzoo", "gymnasium", "torch", "pandas", "pydantic")


def versions() -> dict[str, str]:
    """Installed versions of the packages that determine a run's results."""
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: Path, data: Any) -> None:
    """Atomically write JSON (sorted keys, indented)."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def default_out(kind: str, name: str) -> Path:
    """``runs/<kind>-<name>-<timestamp>`` under the current directory."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{kind}-{name}-{stamp}"


def check_out(out: Path) -> None:
    """Refuse to write into an existing non-empty folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out}: already exists and is not empty; choose another folder")


@contextlib.contextmanager
def run_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``out`` only if the block completes.

    Args:
        out: The final run folder (must not exist, or be empty).

    Yields:
        The temporary folder to write into.
    """
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    try:
        yield tmp
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

"""Run folders written atomically, and the provenance they record.

A run is assembled in a hidden temporary folder next to its destination and renamed into
place only when complete, so an interrupted run never leaves a folder that looks finished.
Single files are written the same way (temp file, ``fsync``, ``os.replace``, ``fsync`` of the
folder), so a crash leaves the old file or the new one, never a torn one.

A temporary folder (``.NAME.<random>.partial``) records the process that owns it; the next run
into the same parent folder removes the ones whose process is gone (and says so on stderr).
A training run's ``status.json`` records its process the same way, so :func:`read_status`
reports a run whose process died as ``stale`` instead of ``running`` forever.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cpss.kit.atomic import atomic_write, fsync_dir
from cpss.kit.config import ConfigError, file_error

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
    """Write ``text`` to ``path`` through a temporary file, ``fsync`` and a rename."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def read_json(path: Path, required: tuple[str, ...] = (), what: str = "") -> dict[str, Any]:
    """Read a JSON object from a run folder, raising one-line :class:`ConfigError` naming the file.

    Args:
        path: The file.
        required: Keys the object must have.
        what: What the file should be, for the missing-key message (e.g. "a training run").

    Raises:
        ConfigError: Missing or unreadable file, not UTF-8, not JSON, nested too deeply, not an
            object, or a required key missing.
    """
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ConfigError(f"{path}: invalid JSON: nested too deeply") from None
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise file_error(path, exc, "JSON") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(data).__name__}")
    missing = [key for key in required if key not in data]
    if missing:
        tail = f" (not {what}?)" if what else ""
        raise ConfigError(f"{path}: missing key {missing[0]!r}{tail}")
    return data


def _owner() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def process_gone(owner: dict[str, Any]) -> bool:
    """Whether the process recorded in ``owner`` (pid and host) has ended; unknown hosts count as alive."""
    pid = owner.get("pid")
    if owner.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def write_status(folder: Path, state: str, **fields: Any) -> None:
    """Write a training run's ``status.json``: its state, the owning process and ``fields``."""
    write_json(folder / "status.json", {"state": state, **fields, **(_owner() if state == "running" else {})})


def read_status(folder: Path) -> dict[str, Any]:
    """A run's ``status.json``, with ``state`` set to ``stale`` when its process has died while running."""
    path = folder / "status.json"
    if not path.is_file():
        return {"state": "unknown"}
    status = read_json(path)
    if status.get("state") == "running" and process_gone(status):
        status["state"] = "stale"
    return status


def write_json(path: Path, data: Any) -> None:
    """Atomically write JSON (sorted keys, indented)."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def default_out(kind: str, name: str) -> Path:
    """``runs/<kind>-<name>-<timestamp>`` under the current directory."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{kind}-{name}-{stamp}"


def check_out(out: Path, option: str = "--out") -> None:
    """Refuse an output folder that cannot be written, before any work is done.

    Refused: a symbolic link (the final rename would replace the link, not fill its target), an
    existing file or non-empty folder, and a folder whose nearest existing ancestor is not a
    writable folder.
    """
    if out.is_symlink():
        raise ConfigError(f"{option} {out}: is a symbolic link; give the real folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{option} {out}: already exists and is not empty; choose another folder")
    parent = out.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{option} {out}: {parent} is not a folder")
    try:  # os.access says yes to root on read-only and pseudo file systems: try it
        os.rmdir(tempfile.mkdtemp(dir=parent, prefix=".cpss-probe-"))
    except OSError as exc:
        raise ConfigError(f"{option} {out}: cannot create a folder in {parent}: {exc.strerror or exc}") from None


OWNER = ".owner.json"


def clean_stale_partials(parent: Path) -> list[Path]:
    """Remove the ``.partial`` folders in ``parent`` whose owning process has died.

    Returns:
        The folders removed (each also named on stderr).
    """
    removed = []
    for tmp in parent.glob(".*.partial"):
        owner_file = tmp / OWNER
        try:
            owner = json.loads(owner_file.read_text())
        except (OSError, ValueError):
            continue  # not ours, or being created right now
        if isinstance(owner, dict) and process_gone(owner):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
            sys.stderr.write(f"note: removed {tmp}, left by an interrupted run (process {owner['pid']})\n")
    return removed


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                fd = os.open(os.path.join(root, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        fsync_dir(Path(root))


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
    clean_stale_partials(out.parent)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    try:
        (tmp / OWNER).write_text(json.dumps(_owner()))
        yield tmp
        (tmp / OWNER).unlink()
        _fsync_tree(tmp)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

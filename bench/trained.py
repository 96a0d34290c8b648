"""What the learned-vs-heuristic scripts share: launching trainings and writing a results page.

``bench/results.py``, ``bench/learned.py`` and ``bench/learned_workshop.py`` train one run folder
per (config, seed) with ``cpss train`` subprocesses, a few at a time, keep finished folders, and
write a docs page with its JSON and figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def launch(runs: list[tuple[Path, list[str]]], parallel: int) -> None:
    """Run ``cpss ARGS --out FOLDER`` for every ``(folder, args)`` not finished yet, ``parallel`` at a time.

    A folder holding ``summary.json`` is a finished run and is skipped.
    """
    running: list[subprocess.Popen] = []
    for folder, args in runs:
        if (folder / "summary.json").is_file():
            continue
        cmd = [sys.executable, "-m", "cpss", *args, "--out", str(folder)]
        print(" ".join(cmd[2:]), flush=True)
        running.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        while len(running) >= parallel:
            time.sleep(5)
            running = [p for p in running if p.poll() is None]
    for p in running:
        p.wait()


def write_page(folder: Path, stem: str, intro: str, text: str, report: dict, draw: Callable[[Path], None]) -> str:
    """Write ``folder/STEM.md`` (``intro`` + ``text``), ``STEM.json`` (``report``) and ``STEM-curves.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    draw(folder / f"{stem}-curves.png")
    (folder / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (folder / f"{stem}.md").write_text(intro + text)
    return text

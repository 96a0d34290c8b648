"""Small helpers shared by the tutorial scripts: the command line and Markdown tables."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import torch

OUTPUTS = Path(__file__).parent / "outputs"
"""Where the full budgets write the figures and tables the docs embed."""


def parse(doc: str, budgets: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any], Path]:
    """Parse ``--budget`` and ``--out``; return the budget's name, its settings and the output folder.

    The full budget writes to ``docs/tutorials/outputs``; the tiny one to a temporary folder
    unless ``--out`` is given, so a smoke run never overwrites the committed outputs.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--budget",
        choices=sorted(budgets),
        default="full",
        help="tiny: a smoke run of seconds; full: the run behind the docs",
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    args = parser.parse_args()
    out = args.out or (OUTPUTS if args.budget == "full" else Path(tempfile.mkdtemp(prefix="tutorial-")))
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # small networks: one thread is fastest and reproducible
    return args.budget, budgets[args.budget], out


def markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a Markdown table (numbers right-aligned, floats with ``digits`` decimals)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value)

    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    lines = [
        "| " + " | ".join(map(str, frame.columns)) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"

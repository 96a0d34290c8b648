"""Tables for docs/results.md from ``cpss batch`` run folders (learners vs heuristics on paired days).

Usage::

    python bench/batched_results.py HEURISTICS_RUN LEARNER_RUN [LEARNER_RUN ...] --out docs/results/batched

``HEURISTICS_RUN`` is a ``cpss batch`` folder with the heuristics; each ``LEARNER_RUN`` is a
``cpss batch --checkpoint`` folder of one trained run (same days: same ``--seed`` and
``--days``). Writes ``summary.csv`` (mean ± 95% CI over days, per policy and training seed) and
``paired.csv`` (per learner run: mean difference to ``--baseline`` over the same days, with its
95% CI), and prints both as Markdown.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cpss.kit.stats import mean_ci

METRICS = ("return", "mean_satisfaction", "congestion_minutes", "mean_wait", "acceptance_rate", "top_interest_coverage")


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table (no extra dependency)."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    """Read the runs, write the two CSVs, print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("heuristics", type=Path)
    parser.add_argument("learners", type=Path, nargs="+")
    parser.add_argument("--baseline", default="crowd_aware")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    heur = pd.read_csv(args.heuristics / "days.csv")
    runs = {path.name: pd.read_csv(path / "days.csv") for path in args.learners}
    base = heur[heur.policy == args.baseline].set_index("seed")
    rows, paired = [], []
    for name, frame in [*((p, g) for p, g in heur.groupby("policy", sort=False)), *runs.items()]:
        row = {"policy": name, "days": len(frame)}
        for m in METRICS:
            mean, half = mean_ci(frame[m].to_numpy(float))
            row[m] = f"{mean:.3f} ± {half:.3f}"
        rows.append(row)
    for name, frame in runs.items():
        f = frame.set_index("seed")
        if not f.index.equals(base.index):
            raise SystemExit(f"{name}: its days differ from the heuristics' (use the same --seed and --days)")
        row = {"run": name, "vs": args.baseline}
        for m in METRICS:
            mean, half = mean_ci((f[m] - base[m]).to_numpy(float))
            row[m] = f"{mean:+.3f} ± {half:.3f}"
        paired.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    summary, diffs = pd.DataFrame(rows), pd.DataFrame(paired)
    summary.to_csv(args.out / "summary.csv", index=False)
    diffs.to_csv(args.out / "paired.csv", index=False)
    print(markdown(summary))
    print()
    print(markdown(diffs))


if __name__ == "__main__":
    main()

"""Paired differences between guide policies at each share of guided visitors, from a sweep's results.

Reads the ``results.csv`` of the guide-share sweep (docs/experiments.md, "A worked experiment"):
policies ``interest``, ``crowd_aware`` and ``crowd_coordinated`` at each ``guides.device_share``,
the same seeds (days) in every cell. For each share and each pair of policies it takes the
per-day difference of a metric (the seed fixes the day, so the two arms see the same visitors)
and gives its mean with the half-width of the 95% Student-t interval
(:func:`cpss.kit.stats.mean_ci`).

Writes ``OUT/paired.csv`` (one row per share, pair and metric) and ``OUT/paired.png`` (crowded
visitor-minutes and mean satisfaction against the share, each pair with its 95% band), and
prints the Markdown tables quoted in docs/experiments.md.

Usage: ``python docs/experiments/guide-share/paired.py RESULTS_CSV [--out FOLDER]`` (a few
seconds; FOLDER defaults to the folder of this script).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent.parent))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cpss.kit.stats import mean_ci  # noqa: E402

SHARE = "guides.device_share"
PAIRS = (("crowd_aware", "interest"), ("crowd_coordinated", "interest"), ("crowd_coordinated", "crowd_aware"))
METRICS = (
    "crowded_minutes",
    "congestion_minutes",
    "entry_queue_minutes",
    "mean_wait",
    "peak_occupancy_ratio",
    "mean_satisfaction",
    "sat_unguided",
    "welfare_total",
)
DIGITS = {"crowded_minutes": 0, "congestion_minutes": 0, "entry_queue_minutes": 0, "welfare_total": 0, "mean_wait": 3}


def paired(results: pd.DataFrame) -> pd.DataFrame:
    """Per-day differences of every pair in ``PAIRS``, summarised per share and metric.

    Args:
        results: A sweep's rows (columns ``policy``, ``guides.device_share``, ``seed`` and the metrics).

    Returns:
        One row per share, pair and metric: ``share, pair, metric, n, mean, half_width``. Days where a
        metric is undefined (``sat_unguided`` when every visitor is guided) are left out.
    """
    rows = []
    for metric in METRICS:
        table = results.pivot_table(index=[SHARE, "seed"], columns="policy", values=metric, dropna=False)
        for a, b in PAIRS:
            for share, diff in (table[a] - table[b]).groupby(level=0):
                diff = diff.dropna()
                if diff.empty:
                    continue
                mean, half = mean_ci(diff)
                pair = f"{a} - {b}"
                rows.append(
                    {"share": share, "pair": pair, "metric": metric, "n": len(diff), "mean": mean, "half_width": half}
                )
    return pd.DataFrame(rows)


def cell(frame: pd.DataFrame, share: float, pair: str, metric: str) -> str:
    """One ``mean ± half-width`` cell, rounded by the metric's scale."""
    row = frame[(frame.share == share) & (frame.pair == pair) & (frame.metric == metric)]
    if row.empty:
        return "—"
    digits = DIGITS.get(metric, 2)
    return f"{row['mean'].iloc[0]:+.{digits}f} ± {row['half_width'].iloc[0]:.{digits}f}".replace("-", "−")


def markdown(frame: pd.DataFrame, metrics: tuple[str, ...]) -> str:
    """A Markdown table: one line per share, one column per pair and metric."""
    heads = [f"{m}, {p.replace(' - ', ' − ')}" for m in metrics for p in (f"{a} - {b}" for a, b in PAIRS)]
    lines = ["| share | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for share in sorted(s for s in frame.share.unique() if s > 0):
        cells = [cell(frame, share, f"{a} - {b}", m) for m in metrics for a, b in PAIRS]
        lines.append(f"| {share:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(frame: pd.DataFrame, path: Path) -> None:
    """Crowded visitor-minutes and mean satisfaction: each pair's difference against the share."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric, label in zip(
        axes, ("crowded_minutes", "mean_satisfaction"), ("crowded visitor-minutes", "mean satisfaction"), strict=True
    ):
        for a, b in PAIRS:
            rows = frame[(frame.pair == f"{a} - {b}") & (frame.metric == metric)].sort_values("share")
            line = ax.plot(rows.share, rows["mean"], marker="o", label=f"{a} − {b}")[0]
            low, high = rows["mean"] - rows.half_width, rows["mean"] + rows.half_width
            ax.fill_between(rows.share, low, high, color=line.get_color(), alpha=0.15)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xlabel("share of groups whose leader carries a guide (guides.device_share)")
        ax.set_ylabel(f"paired difference, {label}")
    axes[0].legend(fontsize=8)
    n = int(frame.n.max())
    fig.suptitle(f"museum-small, 40 guide slots: paired differences over {n} days, 95% CI")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    """Read the sweep, write ``paired.csv`` and ``paired.png``, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the sweep's results.csv")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for paired.csv and paired.png")
    args = parser.parse_args()
    results = pd.read_csv(args.results)
    results = results[results.status == "done"]
    frame = paired(results)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "paired.csv", index=False, float_format="%.6g", quoting=csv.QUOTE_MINIMAL)
    figure(frame, args.out / "paired.png")
    print(markdown(frame, ("crowded_minutes",)))
    print()
    print(markdown(frame, ("mean_satisfaction",)))
    print()
    print(markdown(frame, ("mean_wait", "sat_unguided")))


if __name__ == "__main__":
    main()

"""``cpss demo``: crowd-blind vs crowd-aware guides over many paired days, with 95% CIs.

Both policies (``interest``, the crowd-blind guide, and ``crowd_aware``, or the heuristic named
by ``--compare``, e.g. ``crowd_coordinated``) run the same days in
the batched torch engine (:mod:`cpss.runs.batch`; day ``i`` has the visitors of seed
``seed + i``), and every metric is reported as both policies' means and the mean of the per-day
paired differences (``compared - interest``) with its 95% Student-t interval
(:func:`cpss.kit.stats.mean_ci`). A metric that is undefined on some days (the externality
metrics' means over an empty set of visitors are NaN, docs/metrics.md) is averaged over the days
where it is defined under both policies, and the table says over how many.

By default it runs museum-small (the everyday museum) and museum-busy (a peak day, where
crowding is the main problem); ``--config`` runs one config. The run folder holds one folder per
config with what ``cpss batch`` writes (``days.csv``, ``summary.csv``, ``config.json``) plus
``paired.csv`` (metric, both means, difference, ci95, days) and ``paired_differences.png`` (the
spread of single-day differences against their mean and CI). One day's minute-by-minute figures
come from ``cpss simulate museum --policy POLICY --seed S``, not from the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from cpss.kit.config import ConfigError
from cpss.kit.render import plt
from cpss.kit.stats import mean_ci

DEFAULT_CONFIGS = ("museum-small", "museum-busy")
"""What ``cpss demo`` runs without ``--config``: the everyday museum and its peak day."""

BASE = "interest"
"""The crowd-blind baseline every comparison is against (differences are ``compared - interest``)."""
COMPARED = "crowd_aware"
"""The policy compared by default (``cpss demo --compare`` picks another, e.g. ``crowd_coordinated``)."""

HEADLINE = (
    "mean_satisfaction",
    "crowded_minutes",
    "congestion_minutes",
    "entry_queue_minutes",
    "mean_wait",
    "peak_occupancy_ratio",
    "acceptance_rate",
)
"""The day's headline metrics, printed first."""

SHOWN_FAIRNESS = (
    "sat_guided",
    "sat_unguided",
    "wait_guided",
    "wait_unguided",
    "welfare_total",
    "welfare_guided",
    "welfare_unguided",
    "gini_views",
)
"""The externality metrics printed after the headline ones (then satisfaction per style and group size)."""

FIGURE = ("crowded_minutes", "mean_wait", "mean_satisfaction", "sat_unguided")
"""Metrics whose single-day differences ``paired_differences.png`` shows."""


def paired(days: pd.DataFrame, base: str, other: str) -> pd.DataFrame:
    """Per metric: both policies' means and the paired difference ``other - base`` with its 95% CI.

    Days pair by ``seed``; a metric is averaged over the days where it is defined (not NaN) under
    both policies, and ``days`` counts them.

    Args:
        days: One row per (policy, day): ``policy``, ``seed`` and numeric metric columns.
        base: The baseline policy.
        other: The compared policy.

    Returns:
        Columns ``metric``, ``<base>``, ``<other>``, ``difference``, ``ci95``, ``days``.
    """
    a = days[days["policy"] == base].set_index("seed")
    b = days[days["policy"] == other].set_index("seed").reindex(a.index)
    rows = []
    for metric in (c for c in a.columns if c != "policy"):
        x, y = a[metric].to_numpy(dtype=float), b[metric].to_numpy(dtype=float)
        both = ~(np.isnan(x) | np.isnan(y))
        if not both.any():
            nan = float("nan")
            rows.append({"metric": metric, base: nan, other: nan, "difference": nan, "ci95": nan, "days": 0})
            continue
        diff, half = mean_ci(y[both] - x[both])
        rows.append(
            {
                "metric": metric,
                base: float(x[both].mean()),
                other: float(y[both].mean()),
                "difference": float(diff),
                "ci95": float(half),
                "days": int(both.sum()),
            }
        )
    return pd.DataFrame(rows)


def shown_metrics(table: pd.DataFrame) -> list[str]:
    """The metrics the console table shows, in order: headline, externality, per style and group size."""
    present = list(table["metric"])
    styles = [m for m in present if m.startswith(("sat_style_", "sat_group_"))]
    return [m for m in (*HEADLINE, *SHOWN_FAIRNESS, *styles) if m in present]


def spread(days: pd.DataFrame, base: str, other: str, metric: str) -> np.ndarray:
    """The per-day differences ``other - base`` of ``metric`` (days where both are defined)."""
    a = days[days["policy"] == base].set_index("seed")[metric]
    b = days[days["policy"] == other].set_index("seed")[metric].reindex(a.index)
    d = (b - a).to_numpy(dtype=float)
    return d[~np.isnan(d)]


def plot_differences(days: pd.DataFrame, table: pd.DataFrame, base: str, other: str, path: Path) -> None:
    """Histograms of single-day differences with the mean's 95% CI and the first day marked."""
    metrics = [m for m in FIGURE if m in set(table["metric"])]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics), 3.4), dpi=100, squeeze=False)
    first = days["seed"].min()
    for ax, metric in zip(axes[0], metrics, strict=True):
        d = spread(days, base, other, metric)
        row = table.set_index("metric").loc[metric]
        ax.hist(d, bins=min(30, max(5, d.size // 4)), color="0.75")
        ax.axvline(0.0, color="k", lw=0.8)
        ax.axvspan(row["difference"] - row["ci95"], row["difference"] + row["ci95"], color="C0", alpha=0.35)
        ax.axvline(row["difference"], color="C0", lw=1.5, label=f"mean ± 95% CI ({int(row['days'])} days)")
        one = spread(days[days["seed"] == first], base, other, metric)
        if one.size:
            ax.axvline(one[0], color="C3", ls="--", lw=1.2, label=f"one day (seed {first})")
        ax.set_title(metric.replace("_", " "), fontsize=9)
        ax.set_xlabel(f"{other} − {base}, per day", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _num(x: float, scale: float | None = None) -> str:
    """``x`` with 1 decimal when it (or ``scale``, the size of the quantity it belongs to) is >= 100, else 3."""
    big = abs(x if scale is None else scale) >= 100
    return "n/a" if not np.isfinite(x) else (f"{x:.1f}" if big else f"{x:.3f}")


def caveat(days: pd.DataFrame, base: str, other: str, metric: str = "crowded_minutes") -> str:
    """One sentence on what a single day can and cannot show, with this run's spread of one-day differences."""
    d = spread(days, base, other, metric)
    lo, hi = np.percentile(d, [5, 95]) if d.size else (np.nan, np.nan)
    return (
        f"One day is one draw: its difference mixes the policies' effect with that day's luck (here a single "
        f"day's {metric.replace('_', ' ')} difference ranges from {_num(lo)} to {_num(hi)}, 5th to 95th "
        f"percentile), so only the mean over paired days with its CI says which policy is better, and a CI "
        f"that contains 0 means these days cannot tell the policies apart."
    )


def run_config(
    scenario: Any,
    config_name: str,
    seed: int,
    days: int,
    device: str,
    folder: Path,
    progress: Callable[[], Any],
    other: str = COMPARED,
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """``interest`` and ``other`` on ``days`` paired days of one config; write its files into ``folder``.

    Returns:
        The per-day rows, the :func:`paired` table and the wall seconds.
    """
    import scenarios
    from cpss.runs.batch import heuristic_actor, run_days, summarise, write

    base, policies = BASE, (BASE, other)
    env_cls = scenarios.batched_env_class(scenario.name, "demo")
    actors = {p: heuristic_actor(p, scenario.heuristic_policies) for p in policies}
    with progress() as bar:
        task = bar.add_task(f"{config_name}: {days} days x {len(policies)} policies", total=days * len(policies))
        frame, wall = run_days(
            env_cls, scenario.config, actors, days, seed, device, on_progress=lambda n: bar.update(task, completed=n)
        )
    table = paired(frame, base, other)
    meta = {"scenario": scenario.name, "config_name": config_name, "policies": list(policies), "days": days}
    meta |= {"first_seed": seed, "device": device, "wall_seconds": wall, "difference": f"{other} - {base}"}
    folder.mkdir(parents=True, exist_ok=True)
    write(folder, frame, summarise(frame), scenario.config, meta)
    table.to_csv(folder / "paired.csv", index=False)
    plot_differences(frame, table, base, other, folder / "paired_differences.png")
    return frame, table, wall


def print_table(
    console: Any, config_name: str, table: pd.DataFrame, days: int, seed: int, other: str = COMPARED
) -> None:
    """The console table of one config: both means, the paired difference with its CI, the days."""
    from rich.table import Table

    base = BASE
    seeds = f"seeds {seed}..{seed + days - 1}"
    view = Table(title=f"{config_name}: {base} vs {other} guides on {days} paired days ({seeds})")
    for col in ("metric", base, other, f"{other} − {base} (95% CI)", "days"):
        view.add_column(col, justify="left" if col == "metric" else "right")
    rows = table.set_index("metric")
    for metric in shown_metrics(table):
        r = rows.loc[metric]
        scale = np.nanmax([abs(r[base]), abs(r[other]), 0.0])
        diff = _num(r["difference"], scale) + (f" ± {_num(r['ci95'], scale)}" if r["days"] > 1 else "")
        view.add_row(metric, _num(r[base]), _num(r[other]), diff, str(int(r["days"])))
    console.print(view)


def demo_command(
    configs: list[tuple[str, Any, int]],
    days: int,
    device: str,
    out: Path | None,
    progress: Callable[[], Any],
    console: Any,
    compare: str = COMPARED,
) -> dict[str, pd.DataFrame]:
    """The body of ``cpss demo``: per (config name, scenario, first seed), run, write ``out/<config>/``, print.

    ``compare`` is the heuristic compared with ``interest`` (default ``crowd_aware``).

    Returns:
        Config name -> its :func:`paired` table.
    """
    from cpss.runs.batch import check_device
    from cpss.runs.runio import default_out, run_folder

    check_device(device)
    base, other = BASE, compare
    choices = [p for p in configs[0][1].heuristic_policies if p != base] if configs else []
    if other not in choices:
        raise ConfigError(
            f"--compare: {other!r} is not a heuristic to compare with {base}; choose from {', '.join(choices)}"
        )
    out = out or default_out("demo", "museum")
    tables, lines = {}, []
    threads = torch.get_num_threads()
    if torch.device(device).type == "cpu":  # small tensors: one thread is as fast, and robust on a busy machine
        torch.set_num_threads(1)
    try:
        with run_folder(out) as tmp:
            for name, scenario, seed in configs:
                frame, tables[name], wall = run_config(scenario, name, seed, days, device, tmp / name, progress, other)
                print_table(console, name, tables[name], days, seed, other)
                console.print(caveat(frame, base, other), highlight=False)
                lines.append(f"{name}: {days * 2} days in {wall:.1f} s")
    finally:
        torch.set_num_threads(threads)
    console.print(f"{'; '.join(lines)} on {device}; run folder: {out}", highlight=False)
    return tables

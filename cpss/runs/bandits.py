"""Comparing a scenario's bandit policies over many seeds: regret curves with 95% confidence bands.

Used by ``cpss bandits`` (and ``make bandits``) and by docs/tutorials/01_bandits_ads.py. Each
policy of ``scenario.learner_policies`` learns online (:func:`cpss.runs.simulation.run_learner`) once
per seed; learners with the same seed meet the same users and the same click draws (their
days have the seeds ``agents.episode_seed(seed, i)``), so the policies are compared on equal
terms. A comparison folder holds:

* ``regret_curves.csv`` — tidy: ``policy, seed, pull, cumulative_regret, cumulative_reward``
  at ``points`` evenly spaced pulls;
* ``runs.csv`` — one row per (policy, seed): ``cumulative_regret``, ``revenue`` (payments
  earned by the learning agent), ``revenue_per_pull``, ``click_rate`` (share of pulls that
  paid), ``best_ad_share`` (share of pulls with zero regret);
* ``summary.csv`` / ``summary.md`` — mean and 95% Student-t half-width of each over seeds;
* ``regret.png`` — mean cumulative regret per policy with its 95% confidence band;
* ``config.json`` — scenario config, policies, seeds, pulls and versions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpss.kit.render import plt
from cpss.kit.scenario import Scenario
from cpss.kit.stats import mean_ci, t_quantile
from cpss.runs.runio import atomic_write_text, versions, write_json
from cpss.runs.simulation import day_ticks

METRICS = ("cumulative_regret", "revenue", "revenue_per_pull", "click_rate", "best_ad_share")
"""Columns of ``runs.csv`` summarised over seeds."""


def run_policy(
    scenario: Scenario, policy: str, seed: int, pulls: int | None = None, points: int = 200
) -> tuple[pd.DataFrame, dict[str, float]]:
    """One learning run: its regret curve at ``points`` pulls and its final metrics.

    Args:
        scenario: The scenario with its config.
        policy: One of ``scenario.learner_policies``.
        seed: The learner's root seed.
        pulls: Total pulls (default: one day).
        points: Number of evenly spaced pulls kept in the curve.

    Returns:
        ``(curve, finals)``: the curve has ``pull, cumulative_regret, cumulative_reward``.
    """
    from cpss.runs.simulation import run_learner

    _, learner = run_learner(scenario, policy, seed, pulls)
    regret = np.cumsum(np.asarray(learner.regrets, dtype=float))
    reward = np.asarray(learner.rewards, dtype=float)
    n = reward.size
    keep = np.unique(np.linspace(1, n, min(points, n)).round().astype(int))
    curve = pd.DataFrame(
        {"pull": keep, "cumulative_regret": regret[keep - 1], "cumulative_reward": np.cumsum(reward)[keep - 1]}
    )
    finals = {
        "cumulative_regret": float(regret[-1]),
        "revenue": float(reward.sum()),
        "revenue_per_pull": float(reward.mean()),
        "click_rate": float((reward > 0).mean()),
        "best_ad_share": float((np.asarray(learner.regrets) <= 1e-12).mean()),
    }
    return curve, finals


def compare(
    scenario: Scenario,
    policies: Sequence[str],
    seeds: Sequence[int],
    pulls: int | None = None,
    points: int = 200,
    on_run: Callable[[str, int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every policy with every seed.

    Args:
        scenario: The scenario with its config.
        policies: Names from ``scenario.learner_policies``.
        seeds: Learner seeds.
        pulls: Pulls per run (default: one day).
        points: Points per regret curve.
        on_run: Called with (policy, seed) after each run.

    Returns:
        ``(curves, runs)``: the tidy curves and one row of final metrics per run.
    """
    unknown = [p for p in policies if p not in scenario.learner_policies]
    if unknown:
        raise ValueError(
            f"--policy: unknown learning policy {unknown[0]!r} for {scenario.name}; choose from "
            f"{', '.join(scenario.learner_policies)}"
        )
    curves, runs = [], []
    for policy in policies:
        for seed in seeds:
            curve, finals = run_policy(scenario, policy, seed, pulls, points)
            curves.append(curve.assign(policy=policy, seed=seed))
            runs.append({"policy": policy, "seed": seed, **finals})
            if on_run is not None:
                on_run(policy, seed)
    curves_df = pd.concat(curves, ignore_index=True)[
        ["policy", "seed", "pull", "cumulative_regret", "cumulative_reward"]
    ]
    return curves_df, pd.DataFrame(runs)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI half-width over seeds of every metric, one row per policy (input order)."""
    rows = []
    for policy, group in runs.groupby("policy", sort=False):
        row: dict[str, Any] = {"policy": policy, "seeds": len(group)}
        for metric in METRICS:
            mean, half = mean_ci(group[metric].to_numpy(dtype=float))
            row[metric], row[f"{metric}_ci95"] = mean, half
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table of ``mean ± 95% CI`` cells."""
    head = "| policy | " + " | ".join(m.replace("_", " ") for m in METRICS) + " |"
    lines = [head, "|---|" + "---:|" * len(METRICS)]
    for _, row in summary.iterrows():
        cells = []
        for metric in METRICS:
            digits = 1 if metric in ("cumulative_regret", "revenue") else 3
            half = row[f"{metric}_ci95"]
            cells.append(
                f"{row[metric]:.{digits}f} ± {half:.{digits}f}" if np.isfinite(half) else f"{row[metric]:.{digits}f}"
            )
        lines.append(f"| {row['policy']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_regret(curves: pd.DataFrame, path: Path, title: str) -> None:
    """Mean cumulative regret per policy over pulls, with its 95% Student-t confidence band."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for policy, group in curves.groupby("policy", sort=False):
        table = group.pivot_table(index="pull", columns="seed", values="cumulative_regret")
        mean = table.mean(axis=1)
        n = table.shape[1]
        half = t_quantile(0.95, n - 1) * table.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else 0.0 * mean
        ax.plot(mean.index, mean, label=policy)
        ax.fill_between(mean.index, mean - half, mean + half, alpha=0.2)
    ax.set_xlabel("pulls (users served)")
    ax.set_ylabel("cumulative regret")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_comparison(
    folder: Path,
    scenario: Scenario,
    curves: pd.DataFrame,
    runs: pd.DataFrame,
    *,
    pulls: int | None,
    command: list[str] | None = None,
) -> pd.DataFrame:
    """Write the comparison folder (see the module docstring) and return the summary."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarise(runs)
    seeds = sorted(runs["seed"].unique().tolist())
    write_json(
        folder / "config.json",
        {
            "scenario": scenario.name,
            "policies": {p: scenario.learner_policies[p] for p in summary["policy"]},
            "seeds": seeds,
            "pulls": pulls or day_ticks(scenario, 0),
            "config": scenario.config.model_dump(mode="json"),
            "versions": versions(),
            "command": command if command is not None else sys.argv,
        },
    )
    atomic_write_text(folder / "regret_curves.csv", curves.to_csv(index=False))
    atomic_write_text(folder / "runs.csv", runs.to_csv(index=False))
    atomic_write_text(folder / "summary.csv", summary.to_csv(index=False))
    atomic_write_text(folder / "summary.md", markdown_table(summary))
    plot_regret(
        curves, folder / "regret.png", f"{scenario.name}: mean cumulative regret, 95% CI over {len(seeds)} seeds"
    )
    return summary


def bandits_command(
    scen: Scenario, policies: list[str], seeds: int, pulls: int | None, out: Path | None, progress: Any, console: Any
) -> None:
    """The body of ``cpss bandits``: run every policy over ``seeds`` seeds, write the folder, print the table."""
    from rich.table import Table

    from cpss.runs.runio import default_out, run_folder

    out = out or default_out("bandits", "ads")
    with run_folder(out) as tmp:
        with progress() as bar:
            task = bar.add_task("ads bandits", total=len(policies) * seeds)
            curves, runs = compare(
                scen,
                policies,
                range(seeds),
                pulls,
                on_run=lambda p, s: bar.update(task, advance=1, description=f"ads / {p}"),
            )
        summary = write_comparison(tmp, scen, curves, runs, pulls=pulls)
    table = Table(title=f"ads: {seeds} seeds, mean ± 95% CI at the last pull")
    for col in ("policy", "cumulative regret", "revenue", "best-ad share"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for _, row in summary.iterrows():
        table.add_row(
            row["policy"],
            *(
                f"{row[m]:.{d}f} ± {row[m + '_ci95']:.{d}f}"
                for m, d in (("cumulative_regret", 1), ("revenue", 1), ("best_ad_share", 3))
            ),
        )
    console.print(table)
    console.print(f"run folder: {out}")

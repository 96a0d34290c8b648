"""``cpss eval``: a trained learner against every heuristic on the same days, mean and 95% CI per metric.

The learner of a training run (native, or an RLlib run's weights-only export) and each of the
scenario's heuristics play the same seeded days (:func:`cpss.runs.training.evaluate_policies`).
:func:`ci_table` reduces the per-episode rows to a mean and a 95% Student-t half-width per policy
and metric, over the episodes where the metric is defined (a mean over nobody is NaN, see
docs/metrics.md); the run folder gets ``evaluation.csv`` and the console a table of the
scenario's headline metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from cpss.kit.stats import mean_ci


def ci_table(results: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """Mean and 95% CI half-width of every numeric column, per policy, and the episodes it is over.

    An episode where a metric is undefined (NaN: a mean over nobody, docs/metrics.md) is left out
    of that metric's mean and CI, and ``episodes`` says how many were left.
    """
    rows = []
    for policy, episodes in results.items():
        frame = pd.DataFrame(episodes).drop(columns=["episode"], errors="ignore")
        for column in frame.select_dtypes("number").columns:
            values = frame[column].to_numpy(dtype=float)
            values = values[~np.isnan(values)]
            mean, half = mean_ci(values) if values.size else (float("nan"), float("nan"))
            rows.append({"policy": policy, "metric": column, "mean": mean, "ci95": half, "episodes": int(values.size)})
    return pd.DataFrame(rows)


def cell(table: pd.DataFrame, policy: str, metric: str, episodes: int) -> str:
    """``mean ± ci95`` of one policy and metric; ``(n=k)`` when only k of the episodes define it."""
    row = table[(table.policy == policy) & (table.metric == metric)]
    if not len(row):
        return "-"
    n = int(row["episodes"].iloc[0])
    if n == 0:
        return "n/a"
    text = f"{row['mean'].iloc[0]:.3f} ± {row['ci95'].iloc[0]:.3f}"
    return text if n == episodes else f"{text} (n={n})"


def eval_command(target: Path, episodes: int, seed: int, trust: bool, console: Any, status: Any) -> pd.DataFrame:
    """The body of ``cpss eval``: evaluate, write ``evaluation.csv`` beside the checkpoints, print the table.

    Args:
        target: A training run folder or checkpoint file.
        episodes: Evaluation days per policy.
        seed: Seed of the first day (day ``i`` is ``seed + i`` for every policy).
        trust: Load an RLlib run's raw checkpoint (``--trust-checkpoint``: runs code from the folder).
        console: Where the table goes.
        status: The console that shows the progress status (stderr).

    Returns:
        The :func:`ci_table` of every policy.
    """
    from cpss.runs.common import scenario_from_cli
    from cpss.runs.learners import load_learner
    from cpss.runs.runio import atomic_write_text
    from cpss.runs.training import evaluate_policies, locate_checkpoint, make_env

    ckpt, saved = locate_checkpoint(target)
    scen, _ = scenario_from_cli(saved["scenario"], None, None, None)
    scen = type(scen)(type(scen.config).model_validate(saved["config"]))
    env = make_env(scen, saved["multi_agent"], saved.get("others"))
    learner = load_learner(ckpt, env, saved, trust=trust)
    with status.status(f"evaluating {learner.name} and {len(scen.heuristic_policies)} heuristics"):
        results = evaluate_policies(scen, env, learner, episodes, seed, scen.heuristic_policies)
    table = ci_table(results)
    atomic_write_text(ckpt.parent.parent / "evaluation.csv", table.to_csv(index=False))
    metrics = ["return", *scen.headline_metrics]
    wide = Table(title=f"{scen.name}: {episodes} evaluation days from seed {seed} (mean ± 95% CI)")
    wide.add_column("policy")
    for metric in metrics:
        wide.add_column(metric.replace("_", " "), justify="right")
    for policy in results:
        wide.add_row(policy.replace("heuristic:", ""), *(cell(table, policy, m, episodes) for m in metrics))
    console.print(wide)
    console.print(f"all metrics: {ckpt.parent.parent / 'evaluation.csv'}")
    return table

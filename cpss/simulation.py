"""Running scenarios with heuristic personalisers and writing run folders.

Used by ``cpss simulate`` and ``cpss demo``; importable for scripts and tests.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from cpss.env import CPSSParallelEnv
from cpss.render import plot_heatmap, plot_series
from cpss.runio import atomic_write_text, versions, write_json
from cpss.scenario import Scenario


def run_heuristic(scenario: Scenario, policy: str, seed: int, steps: int | None = None,
                  on_step: Callable[[int], None] | None = None) -> CPSSParallelEnv:
    """Simulate one day with every personaliser following ``policy``.

    Args:
        scenario: The scenario (with its config).
        policy: One of ``scenario.heuristic_policies``.
        seed: Root seed of the day.
        steps: Optional cap on ticks (default: the whole day).
        on_step: Called with the tick number after each tick (progress bars).

    Returns:
        The env after the day, with its model (``env.model``) for analysis.
    """
    if policy not in scenario.heuristic_policies:
        raise ValueError(f"--policy: unknown policy {policy!r} for {scenario.name}; choose from "
                         f"{', '.join(scenario.heuristic_policies)}")
    env = CPSSParallelEnv(scenario, max_cycles=steps)
    env.reset(seed=seed)
    while not env.day_over:
        env.step(env.heuristic_actions(policy))
        if on_step is not None:
            on_step(env.t)
    return env


def write_run(folder: Path, scenario: Scenario, env: CPSSParallelEnv, *, policy: str, seed: int,
              command: list[str] | None = None) -> dict[str, float]:
    """Write config.json, metrics.csv, summary.json and PNG plots of one run into ``folder``.

    Returns:
        The summary metrics.
    """
    folder.mkdir(parents=True, exist_ok=True)
    model = env.model
    write_json(folder / "config.json", {
        "scenario": scenario.name, "policy": policy, "seed": seed, "ticks": env.t,
        "config": scenario.config.model_dump(mode="json"), "versions": versions(),
        "command": command if command is not None else sys.argv})
    frame = scenario.metrics_frame(model)
    atomic_write_text(folder / "metrics.csv", frame.to_csv(index_label="tick"))
    summary = scenario.summary(model)
    write_json(folder / "summary.json", summary)
    for column in scenario.plot_metrics:
        plot_series({policy: frame}, column, folder / f"{column}.png", column.replace("_", " "))
    occ = scenario.occupancy(model)
    if occ is not None:
        plot_heatmap(occ[0], occ[1], folder / "occupancy_heatmap.png", model.dt)
    return summary


def compare_plots(folder: Path, scenario: Scenario, frames: dict[str, pd.DataFrame]) -> None:
    """One PNG per plotted metric with a line per run."""
    for column in scenario.plot_metrics:
        plot_series(frames, column, folder / f"compare_{column}.png", column.replace("_", " "))


def comparison_table(summaries: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Metrics (rows) x runs (columns)."""
    return pd.DataFrame(summaries)

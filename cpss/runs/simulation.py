"""Running scenarios with heuristic or learning personalisers and writing run folders.

Used by ``cpss simulate``; importable for scripts and tests. A scenario's
``learner_policies`` (e.g. the ads bandits) name learners of ``agents`` that learn online while
the day is simulated: agent 0 learns through the Gymnasium view, the other slots follow the
scenario's first heuristic. ``agents`` is imported lazily, inside the functions that need it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd

from cpss.kit.env import CPSSGymEnv, CPSSParallelEnv
from cpss.kit.render import plot_heatmap, plot_series, plt
from cpss.kit.scenario import Scenario
from cpss.runs.runio import atomic_write_text, versions, write_json


def day_ticks(scenario: Any, seed: int) -> int:
    """Ticks in one day of ``scenario`` (a probe world is built, read and released)."""
    from cpss.kit.model import release

    world = scenario.build_world(seed)
    try:
        return int(world.horizon)
    finally:
        release(world)


def run_heuristic(
    scenario: Scenario, policy: str, seed: int, steps: int | None = None, on_step: Callable[[int], None] | None = None
) -> CPSSParallelEnv:
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
        raise ValueError(
            f"--policy: unknown policy {policy!r} for {scenario.name}; choose from "
            f"{', '.join((*scenario.heuristic_policies, *scenario.learner_policies))}"
        )
    env = CPSSParallelEnv(scenario, max_cycles=steps)
    env.reset(seed=seed)
    while not env.day_over:
        env.step(env.heuristic_actions(policy))
        if on_step is not None:
            on_step(env.t)
    return env


def run_learner(
    scenario: Scenario, policy: str, seed: int, steps: int | None = None, on_step: Callable[[int], None] | None = None
) -> tuple[CPSSGymEnv, Any]:
    """Let agent 0 learn online with one of ``scenario.learner_policies``.

    The learner (``agents.make(name, env, seed=seed, **hyperparams)``) plays whole days of the
    Gymnasium view until it has made at least ``steps`` steps (default: one day; fewer than a
    day caps the day at ``steps`` ticks). Its day ``i`` has the seed
    ``agents.episode_seed(seed, i)``, so learners run with the same seed meet the same days.

    Args:
        scenario: The scenario (with its config).
        policy: One of ``scenario.learner_policies``.
        seed: Root seed of the learner and of its days.
        steps: Total env steps (default: one day).
        on_step: Called with the number of steps made so far after each step.

    Returns:
        The Gymnasium env (after the last day, with ``env.model``) and the trained learner.
    """
    import agents

    if policy not in scenario.learner_policies:
        raise ValueError(
            f"--policy: unknown learning policy {policy!r} for {scenario.name}; choose from "
            f"{', '.join(scenario.learner_policies)}"
        )
    algo, hyperparams = scenario.learner_policies[policy]
    horizon = day_ticks(scenario, seed)
    total = steps or horizon
    parallel = CPSSParallelEnv(scenario, max_cycles=total if total < horizon else None)
    env = CPSSGymEnv(parallel, others=scenario.heuristic_policies[0])
    learner = agents.make(algo, _Progress(env, on_step) if on_step else env, seed=seed, **hyperparams)
    learner.learn(total)
    return env, learner


class _Progress(gym.Wrapper):
    """Reports the number of steps made after each step (for progress bars)."""

    def __init__(self, env: CPSSGymEnv, on_step: Callable[[int], None]) -> None:
        super().__init__(env)
        self._on_step, self._steps = on_step, 0

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        """Step the wrapped env, then report."""
        out = self.env.step(action)
        self._steps += 1
        self._on_step(self._steps)
        return out


def write_learner_run(
    folder: Path,
    scenario: Scenario,
    env: CPSSGymEnv,
    learner: Any,
    *,
    policy: str,
    seed: int,
    command: list[str] | None = None,
) -> dict[str, float]:
    """A run folder for :func:`run_learner`: :func:`write_run` of the last day, plus the learner.

    For a bandit learner (one with per-pull ``rewards`` and ``regrets`` traces) it adds
    ``learner_trace.csv`` (one row per pull over all days: reward, regret, cumulative regret),
    ``learner_regret.png`` and, in summary.json, the learner's totals over all days.

    Returns:
        The summary metrics.
    """
    import agents

    algo, hyperparams = scenario.learner_policies[policy]
    days = [agents.episode_seed(seed, i) for i in range(learner.episodes)]
    extra = {
        "learner": {
            "algo": algo,
            "hyperparams": hyperparams,
            "env_steps": learner.env_steps,
            "day_seeds": days,
            "others": env.others,
        }
    }
    summary = write_run(folder, scenario, env.parallel, policy=policy, seed=seed, command=command, extra=extra)
    if not hasattr(learner, "regrets"):
        return summary
    trace = pd.DataFrame({"reward": learner.rewards, "regret": learner.regrets})
    trace.insert(0, "pull", range(1, len(trace) + 1))
    trace["cumulative_regret"] = trace["regret"].cumsum()
    atomic_write_text(folder / "learner_trace.csv", trace.to_csv(index=False))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(trace["pull"], trace["cumulative_regret"], label=f"{policy} ({algo})")
    ax.set_xlabel("pulls (users served)")
    ax.set_ylabel("cumulative regret")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "learner_regret.png")
    plt.close(fig)
    summary.update(
        learner_pulls=float(learner.env_steps),
        learner_reward=float(sum(learner.rewards)),
        learner_cumulative_regret=float(learner.cumulative_regret),
    )
    write_json(folder / "summary.json", summary)
    return summary


def _plot(frames: dict[str, pd.DataFrame], column: str, path: Path) -> None:
    """One metric over time: over minutes (venues) or over pulls (frames with a ``pull`` column)."""
    if not all("pull" in df for df in frames.values()):
        plot_series(frames, column, path, column.replace("_", " "))
        return
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for label, df in frames.items():
        ax.plot(df["pull"], df[column], label=label)
    ax.set_xlabel("pulls (users served)")
    ax.set_ylabel(column.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_run(
    folder: Path,
    scenario: Scenario,
    env: CPSSParallelEnv,
    *,
    policy: str,
    seed: int,
    command: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Write config.json, metrics.csv, summary.json and PNG plots of one run into ``folder``.

    Args:
        folder: The run folder.
        scenario: The scenario (with its config).
        env: The env after the run (its ``model`` is the day to report).
        policy: The policy's name.
        seed: The run's root seed.
        command: The command line recorded in config.json (default: ``sys.argv``).
        extra: More entries for config.json.

    Returns:
        The summary metrics.
    """
    folder.mkdir(parents=True, exist_ok=True)
    model = env.model
    write_json(
        folder / "config.json",
        {
            "scenario": scenario.name,
            "policy": policy,
            "seed": seed,
            "ticks": env.t,
            "config": scenario.config.model_dump(mode="json"),
            "versions": versions(),
            "command": command if command is not None else sys.argv,
            **(extra or {}),
        },
    )
    frame = scenario.metrics_frame(model)
    atomic_write_text(folder / "metrics.csv", frame.to_csv(index_label="tick"))
    summary = scenario.summary(model)
    write_json(folder / "summary.json", summary)
    for column in scenario.plot_metrics:
        _plot({policy: frame}, column, folder / f"{column}.png")
    occ = scenario.occupancy(model)
    if occ is not None:
        plot_heatmap(occ[0], occ[1], folder / "occupancy_heatmap.png", model.dt)
    return summary

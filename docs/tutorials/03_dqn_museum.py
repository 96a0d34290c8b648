"""Tutorial 3: DQN on the museum's single-agent view.

A Q-table needs a row per state; the museum guide's observation has 99 numbers in [0, 1] (the
visitor's room, time left, fatigue, estimated interests, exhibits seen, the sensed crowd, the
context), far too many states for a table. DQN replaces the table by a network
``Q(s, a; theta)`` trained to satisfy the Bellman equation on replayed transitions, with a
target network and an epsilon-greedy behaviour policy that honours the action mask.

``scenarios.make_gym("museum", others="crowd_aware")`` is the single-agent view: ``guide_0``
learns which exhibit (or none) to recommend to its visitor; the other 7 guides follow the
crowd-aware heuristic. The reward is the satisfaction its visitor gains. After training we
compare the greedy DQN guide with heuristic guides on the same evaluation days.

Run (from the repository root)::

    .venv/bin/python docs/tutorials/03_dqn_museum.py              # full: 30 000 steps (125 days)
    .venv/bin/python docs/tutorials/03_dqn_museum.py --budget tiny

The full budget writes ``outputs/03_dqn_museum.md`` and ``outputs/03_dqn_museum.png``.
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tutorial_utils import markdown, parse

import agents
import scenarios
from agents.evaluate import evaluate
from cpss.kit.stats import mean_ci

BUDGETS = {
    "tiny": {
        "steps": 300,
        "eval_days": 1,
        "max_cycles": 60,
        "hp": {"learning_starts": 100, "batch_size": 32, "epsilon_decay_steps": 200},
    },
    "full": {
        "steps": 30_000,
        "eval_days": 5,
        "max_cycles": None,
        "hp": {"learning_starts": 1_000, "epsilon_decay_steps": 15_000, "target_update_interval": 500},
    },
}
"""Env steps of training, evaluation days, optional cap on ticks per day, DQN hyperparameters."""

HEURISTICS = ("none", "random", "interest", "crowd_aware")
"""Heuristic guides on guide_0's slot for comparison (the other guides stay crowd-aware)."""

METRICS = ("return", "mean_satisfaction", "acceptance_rate")


def make_env(max_cycles: int | None):
    """guide_0 learns, the other guides follow the crowd-aware heuristic."""
    return scenarios.make_gym("museum", config="museum-small", others="crowd_aware", max_cycles=max_cycles)


def table(results: dict[str, list[dict]]) -> pd.DataFrame:
    """Mean ± 95% CI of each metric per policy."""
    rows = []
    for policy, episodes in results.items():
        row = {"policy": policy}
        for metric in METRICS:
            mean, half = mean_ci([e[metric] for e in episodes])
            row[metric.replace("_", " ")] = f"{mean:.3f}" + (f" ± {half:.3f}" if np.isfinite(half) else "")
        rows.append(row)
    return pd.DataFrame(rows)


def plot(history: list[dict], baselines: dict[str, float], path) -> None:
    """Training returns per day (and their running mean) with the heuristics' evaluation returns."""
    frame = pd.DataFrame(history)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(frame["env_steps"], frame["return"], alpha=0.3, label="DQN, training day")
    ax.plot(frame["env_steps"], frame["return"].rolling(10, min_periods=1).mean(), label="DQN, mean of 10 days")
    for (name, value), colour in zip(baselines.items(), ("0.2", "0.4", "0.6", "0.8"), strict=False):
        ax.axhline(value, ls="--", lw=1, color=colour, label=f"{name} (evaluation)")
    ax.set_xlabel("env steps (minutes of museum time)")
    ax.set_ylabel("guide_0's return per day")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    """Train DQN, then evaluate it and the heuristics on the same days."""
    name, budget, out = parse(__doc__, BUDGETS)
    t0 = time.perf_counter()
    env = make_env(budget["max_cycles"])
    learner = agents.make("dqn", env, seed=0, **budget["hp"])
    history = learner.learn(budget["steps"])
    train_s = time.perf_counter() - t0

    eval_env = make_env(budget["max_cycles"])
    results = {"DQN (greedy)": evaluate(eval_env, learner, budget["eval_days"], seed=10_000)}
    for policy in HEURISTICS:
        guide = agents.make("heuristic", eval_env, policy=policy)
        results[f"heuristic: {policy}"] = evaluate(eval_env, guide, budget["eval_days"], seed=10_000)
    frame = table(results)
    baselines = {k: float(np.mean([e["return"] for e in v])) for k, v in results.items() if k.startswith("heur")}
    plot(history, baselines, out / "03_dqn_museum.png")
    text = (
        "\n".join(
            [
                f"## guide_0 on museum-small, {budget['eval_days']} evaluation days (mean ± 95% CI)",
                "",
                markdown(frame),
                "`return` is guide_0's summed reward (its visitors' satisfaction gains); `mean satisfaction` "
                "and `acceptance rate` are museum-wide (all 8 guides).",
                "",
                f"Budget: {name}: {learner.env_steps} training steps ({learner.episodes} days) in {train_s:.0f} s "
                f"on one CPU thread, DQN hyperparameters {budget['hp']}.",
            ]
        )
        + "\n"
    )
    (out / "03_dqn_museum.md").write_text(text)
    print(text)
    print(f"figure: {out / '03_dqn_museum.png'}")


if __name__ == "__main__":
    main()

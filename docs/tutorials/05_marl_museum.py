"""Tutorial 5: MADDPG and MAPPO, several guides learning against crowd influence.

In the museum every guide's recommendation moves visitors, and visitors are the crowd every
other guide has to work around: a room one guide fills is a room another guide's visitor
queues in. Single-agent learners see the other guides as part of a moving environment.
Multi-agent actor-critic methods train with a critic that sees more than one guide:

* **MADDPG** (Lowe et al. 2017): one actor per guide on its own observation, and per guide a
  centralised critic on all guides' observations and actions (Gumbel-softmax for the discrete
  recommendations);
* **MAPPO** (Yu et al. 2022): one shared actor (with a one-hot guide id) and a centralised
  value function on the global state ``env.state()`` (true occupancy of every room).

All 8 guides of ``museum-small`` learn on the PettingZoo ParallelEnv ``scenarios.make("museum")``
(actions masked by ``infos[agent]["action_mask"]``). We compare them with crowd-blind heuristic
guides (``interest``: best match; ``nearest``; ``popular``) and the crowd-aware heuristic on the
same evaluation days.

Run (from the repository root)::

    .venv/bin/python docs/tutorials/05_marl_museum.py              # full: a short training
    .venv/bin/python docs/tutorials/05_marl_museum.py --budget tiny

The full budget is deliberately short (about three minutes on one CPU thread: 40 days of MAPPO,
20 days of MADDPG); it shows the workflow and the comparison, not converged policies. It
writes ``outputs/05_marl_museum.md`` and ``outputs/05_marl_museum.png``.
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

DAY = 240
"""Ticks (minutes) in a museum-small day."""

BUDGETS = {
    "tiny": {
        "max_cycles": 30,
        "eval_days": 1,
        "learners": {"mappo": (60, {"rollout_steps": 30}), "maddpg": (60, {"learning_starts": 30, "batch_size": 16})},
    },
    "full": {
        "max_cycles": None,
        "eval_days": 5,
        "learners": {
            "mappo": (40 * DAY, {"rollout_steps": 480}),
            "maddpg": (20 * DAY, {"learning_starts": 2 * DAY, "batch_size": 128}),
        },
    },
}
"""Optional cap on ticks per day, evaluation days, and per learner (env steps, hyperparameters)."""

HEURISTICS = ("interest", "nearest", "popular", "crowd_aware")
"""The first three ignore the crowd; crowd_aware weighs sensed congestion and walking."""

METRICS = ("return", "mean_satisfaction", "congestion_minutes", "peak_occupancy_ratio", "mean_wait")


def make_env(max_cycles: int | None):
    """All guides of museum-small as a PettingZoo ParallelEnv."""
    return scenarios.make("museum", config="museum-small", max_cycles=max_cycles)


def summary_table(results: dict[str, list[dict]]) -> pd.DataFrame:
    """Mean ± 95% CI of each metric per policy."""
    rows = []
    for policy, episodes in results.items():
        row = {"policy": policy}
        for metric in METRICS:
            mean, half = mean_ci([e[metric] for e in episodes])
            row[metric.replace("_", " ")] = f"{mean:.2f}" + (f" ± {half:.2f}" if np.isfinite(half) else "")
        rows.append(row)
    return pd.DataFrame(rows)


def plot(histories: dict[str, list[dict]], baselines: dict[str, float], path) -> None:
    """Training return (mean over guides) per logged row, with the heuristics' evaluation returns."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for label, history in histories.items():
        frame = pd.DataFrame(history)
        ax.plot(frame["env_steps"], frame["return"].rolling(5, min_periods=1).mean(), label=f"{label} (mean of 5)")
    for (label, value), colour in zip(baselines.items(), ("0.15", "0.35", "0.55", "0.75"), strict=False):
        ax.axhline(value, ls="--", lw=1, color=colour, label=f"{label} (evaluation)")
    ax.set_xlabel("env steps (minutes of museum time)")
    ax.set_ylabel("return per day, mean over guides")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    """Train MAPPO and MADDPG, then evaluate them and the heuristics on the same days."""
    name, budget, out = parse(__doc__, BUDGETS)
    eval_env = make_env(budget["max_cycles"])
    results, histories, notes = {}, {}, []
    for algo, (steps, hp) in budget["learners"].items():
        t0 = time.perf_counter()
        learner = agents.make(algo, make_env(budget["max_cycles"]), seed=0, **hp)
        histories[algo] = learner.learn(steps)
        notes.append(f"{algo}: {learner.env_steps} steps in {time.perf_counter() - t0:.0f} s, hyperparameters {hp}")
        results[f"{algo} (deterministic)"] = evaluate(eval_env, learner, budget["eval_days"], seed=10_000)
    for policy in HEURISTICS:
        guides = agents.make("heuristic", eval_env, policy=policy)
        results[f"heuristic: {policy}"] = evaluate(eval_env, guides, budget["eval_days"], seed=10_000)
    baselines = {k: float(np.mean([e["return"] for e in v])) for k, v in results.items() if k.startswith("heur")}
    plot(histories, baselines, out / "05_marl_museum.png")
    text = (
        "\n".join(
            [
                f"## 8 guides on museum-small, {budget['eval_days']} evaluation day(s) (mean ± 95% CI)",
                "",
                markdown(summary_table(results)),
                "`return` is the mean over guides of each guide's summed reward (its visitors' satisfaction "
                "gains); the other columns are museum-wide: mean visitor satisfaction, visitor-minutes in "
                "congestion, peak occupancy / comfortable capacity, mean queueing minutes per view.",
                "",
                f"Budget: {name} (one CPU thread). " + "; ".join(notes) + ".",
            ]
        )
        + "\n"
    )
    (out / "05_marl_museum.md").write_text(text)
    print(text)
    print(f"figure: {out / '05_marl_museum.png'}")


if __name__ == "__main__":
    main()

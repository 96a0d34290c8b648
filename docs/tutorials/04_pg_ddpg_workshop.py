"""Tutorial 4: policy gradient with Gaussian actions, then DDPG, on the workshop's cobot control.

Q-learning and DQN need a finite list of actions to take the argmax over. A cobot's setting is
continuous: ``[speed, assistance, focus]`` in ``[0, 1]^3`` (speed x v_max is the tool speed,
assistance the share of each job the cobot offers to take over, focus which sub-tasks it takes
first). Two answers from the seed lecture:

1. **Policy gradient** (REINFORCE): the network outputs the mean (and a learned variance) of a
   Gaussian ``p(a | s)``; actions followed by a high return become more likely.
2. **DDPG** (actor-critic): a deterministic actor ``mu(s)`` and a critic ``Q(s, a)`` trained
   like DQN; the actor climbs the critic.

``scenarios.make_gym("workshop", others="preference")``: ``cobot_0`` learns; the other cobots
follow the workers' stated preferences. The reward mixes the jobs the station finishes, the
worker's well-being and fatigue, and a penalty per safety violation. We compare both learners
with the heuristic cobots on the same evaluation shifts.

Run (from the repository root)::

    .venv/bin/python docs/tutorials/04_pg_ddpg_workshop.py              # full: 48 + 24 shifts
    .venv/bin/python docs/tutorials/04_pg_ddpg_workshop.py --budget tiny

The full budget writes ``outputs/04_pg_ddpg_workshop.md`` and ``outputs/04_pg_ddpg_workshop.png``.
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

SHIFT = 480
"""Ticks (minutes) in a workshop-small shift."""

BUDGETS = {
    "tiny": {
        "max_cycles": 60,
        "eval_shifts": 1,
        "learners": {"reinforce": (120, {}), "ddpg": (120, {"learning_starts": 60, "batch_size": 32})},
    },
    "full": {
        "max_cycles": None,
        "eval_shifts": 5,
        "learners": {"reinforce": (48 * SHIFT, {}), "ddpg": (24 * SHIFT, {"learning_starts": 2 * SHIFT})},
    },
}
"""Optional cap on ticks per shift, evaluation shifts, and per learner (env steps, hyperparameters)."""

HEURISTICS = ("fixed", "preference", "fatigue_adaptive")
METRICS = ("return", "throughput", "mean_fatigue", "safety_violations", "comfort_mismatch")


def make_env(max_cycles: int | None):
    """cobot_0 learns; the other cobots follow their workers' stated preferences."""
    return scenarios.make_gym("workshop", config="workshop-small", others="preference", max_cycles=max_cycles)


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
    """Training return per shift of each learner with the heuristics' evaluation returns."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for label, history in histories.items():
        frame = pd.DataFrame(history)
        ax.plot(frame["episode"], frame["return"].rolling(5, min_periods=1).mean(), label=f"{label} (mean of 5)")
    for (label, value), colour in zip(baselines.items(), ("0.2", "0.45", "0.7"), strict=False):
        ax.axhline(value, ls="--", lw=1, color=colour, label=f"{label} (evaluation)")
    ax.set_xlabel("training shift")
    ax.set_ylabel("cobot_0's return per shift")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    """Train REINFORCE and DDPG, then evaluate them and the heuristics on the same shifts."""
    name, budget, out = parse(__doc__, BUDGETS)
    eval_env = make_env(budget["max_cycles"])
    results, histories, notes = {}, {}, []
    for algo, (steps, hp) in budget["learners"].items():
        t0 = time.perf_counter()
        learner = agents.make(algo, make_env(budget["max_cycles"]), seed=0, **hp)
        histories[algo] = learner.learn(steps)
        notes.append(
            f"{algo}: {learner.env_steps} steps ({learner.episodes} shifts) in "
            f"{time.perf_counter() - t0:.0f} s, hyperparameters {hp or 'defaults'}"
        )
        results[f"{algo} (deterministic)"] = evaluate(eval_env, learner, budget["eval_shifts"], seed=10_000)
    for policy in HEURISTICS:
        cobot = agents.make("heuristic", eval_env, policy=policy)
        results[f"heuristic: {policy}"] = evaluate(eval_env, cobot, budget["eval_shifts"], seed=10_000)
    baselines = {k: float(np.mean([e["return"] for e in v])) for k, v in results.items() if k.startswith("heur")}
    plot(histories, baselines, out / "04_pg_ddpg_workshop.png")
    text = (
        "\n".join(
            [
                f"## cobot_0 on workshop-small, {budget['eval_shifts']} evaluation shift(s) (mean ± 95% CI)",
                "",
                markdown(summary_table(results)),
                "`return` is cobot_0's summed reward; the other columns are shop-wide metrics of the shift "
                "(jobs finished, mean worker fatigue, safety violations, comfort mismatch).",
                "",
                f"Budget: {name} (one CPU thread). " + "; ".join(notes) + ".",
            ]
        )
        + "\n"
    )
    (out / "04_pg_ddpg_workshop.md").write_text(text)
    print(text)
    print(f"figure: {out / '04_pg_ddpg_workshop.png'}")


if __name__ == "__main__":
    main()

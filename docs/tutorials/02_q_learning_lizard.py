"""Tutorial 2: Q-learning on the lizard grid, the seed lecture's worked example.

The lizard starts on ``Empty 5`` (bottom-left of a 3x3 grid), wants the five crickets
(bottom-right, +10) and must avoid the bird (centre, -10); an empty tile costs -1, the single
cricket pays +1. The Q-table starts at zero; with learning rate alpha = 0.7 and discount
gamma = 0.99 (the slide's values), the first move *right* from ``Empty 5`` gives

    Q(Empty 5, right) = (1 - 0.7) * 0 + 0.7 * (-1 + 0.99 * max_a Q(Empty 6, a)) = -0.7

The script prints the Q-table after that first update, then after learning, and the greedy
path the learned table follows.

Run (from the repository root)::

    .venv/bin/python docs/tutorials/02_q_learning_lizard.py              # full: 5 000 moves
    .venv/bin/python docs/tutorials/02_q_learning_lizard.py --budget tiny

The full budget writes ``outputs/02_q_learning_lizard.md`` and ``outputs/02_q_learning_lizard.png``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tutorial_utils import markdown, parse

import agents
import scenarios
from agents.evaluate import evaluate
from scenarios.lizard import ACTION_NAMES, TILE_NAMES, LizardEnv

BUDGETS = {"tiny": {"moves": 300}, "full": {"moves": 5_000}}
"""Moves (env steps) of learning after the first update."""

RIGHT = ACTION_NAMES.index("right")


def q_table(q: np.ndarray) -> str:
    """The Q-table in the slide's layout: one row per tile, one column per action."""

    def fmt(v: float) -> str:
        return f"{v:.2f}".rstrip("0").rstrip(".") if v != 0 else "0"

    frame = pd.DataFrame({"state": TILE_NAMES})
    for a, name in enumerate(ACTION_NAMES):
        frame[name.capitalize()] = [fmt(v) for v in q[:, a]]
    return markdown(frame)


def draw(q: np.ndarray, path) -> None:
    """The grid with each tile's best Q-value and the greedy action as an arrow."""
    arrows = {0: (-0.3, 0), 1: (0.3, 0), 2: (0, 0.3), 3: (0, -0.3)}
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    best = q.max(axis=1)
    best[[4, 8]] = -10.0, 10.0  # the bird and the five crickets end the episode: colour them by reward
    ax.imshow(best.reshape(3, 3), cmap="RdYlGn", vmin=-10, vmax=10)
    for tile, name in enumerate(TILE_NAMES):
        row, col = divmod(tile, 3)
        ax.text(col, row - 0.3, name, ha="center", fontsize=9)
        if tile in (4, 8):
            ax.text(col, row + 0.35, f"{best[tile]:+g}, end", ha="center", fontsize=8)
            continue
        ax.text(col, row + 0.35, f"{q[tile].max():.2f}", ha="center", fontsize=8)
        dx, dy = arrows[int(np.argmax(q[tile]))]
        ax.arrow(col - dx / 2, row + dy / 2, dx, -dy, head_width=0.08, color="k")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("greedy action and max Q per tile")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    """First update, learning, greedy path."""
    name, budget, out = parse(__doc__, BUDGETS)
    env = scenarios.make_gym("lizard")  # the Gymnasium env scenarios/lizard/__init__.py (LizardEnv)
    learner = agents.make("q_learning", env, seed=0, epsilon=0.2)  # alpha 0.7, gamma 0.99 by default
    lines = [
        f"alpha = {learner.config.alpha}, gamma = {learner.config.gamma}, epsilon = {learner.config.epsilon}",
        "",
        "## The Q-table at the start",
        "",
        q_table(learner.q_table),
    ]

    # ---- the slide's first update: move right from Empty 5 ----
    state, _ = env.reset(seed=0)
    next_state, reward, terminated, _, _ = env.step(RIGHT)
    future = learner.q_table[next_state].max()
    value = learner.update(state, RIGHT, reward, next_state, terminated)
    lines += [
        f"## After the first update: {TILE_NAMES[state]} --right--> {TILE_NAMES[next_state]}, reward {reward:g}",
        "",
        f"Q_new = (1 - 0.7) * 0 + 0.7 * ({reward:g} + 0.99 * {future:g}) = {value:g}",
        "",
        q_table(learner.q_table),
    ]

    # ---- learning: epsilon-greedy episodes, the update after every move ----
    history = learner.learn(budget["moves"])
    path = LizardEnv.greedy_path(learner.q_table)
    score = np.mean([row["return"] for row in evaluate(LizardEnv(), learner, episodes=5)])
    lines += [
        f"## After learning for {learner.env_steps} moves ({len(history)} episodes)",
        "",
        q_table(learner.q_table),
        "## The greedy path",
        "",
        " -> ".join(path),
        "",
        f"Greedy return: {score:g} (the best possible is -1 + 10 = 9). Budget: {name}.",
    ]
    text = "\n".join(lines) + "\n"
    (out / "02_q_learning_lizard.md").write_text(text)
    draw(learner.q_table, out / "02_q_learning_lizard.png")
    print(text)
    print(f"figure: {out / '02_q_learning_lizard.png'}")


if __name__ == "__main__":
    main()

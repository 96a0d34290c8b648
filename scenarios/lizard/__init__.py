"""Lizard grid: the seed lecture's tabular Q-learning example as a Gymnasium env.

The lizard wants to eat as many crickets as possible in the least amount of time without
stumbling across the bird, which will, itself, eat the lizard.

## Grid

Tiles are numbered row by row; the numbers are the observations and the rows of the Q-table,
in the slide's order::

    +-------------+-------------+-------------+
    | 0 1 cricket | 1 Empty 1   | 2 Empty 2   |
    +-------------+-------------+-------------+
    | 3 Empty 3   | 4 Bird      | 5 Empty 4   |
    +-------------+-------------+-------------+
    | 6 Empty 5   | 7 Empty 6   | 8 5 crickets|
    +-------------+-------------+-------------+

The lizard starts on ``Empty 5`` (bottom-left).

## Action space

``Discrete(4)``: 0 left, 1 right, 2 up, 3 down. Moving into a wall leaves the lizard where it
is.

## Observation space

``Discrete(9)``: the index of the lizard's tile. Names: ``TILE_NAMES[obs]``.

## Rewards

The reward is that of the tile the lizard is on after the move:

| tile         | reward | ends the episode |
|--------------|--------|------------------|
| 5 crickets   | +10    | yes (terminated) |
| Bird         | -10    | yes (terminated) |
| 1 cricket    | +1     | no               |
| empty tile   | -1     | no               |

Bumping into a wall costs -1 (as an empty tile), wherever the lizard stands. Entering the
``1 cricket`` tile pays +1 every time: a new cricket is there each time the lizard comes back.
This keeps the observation Markov (the tile alone is the state, as in the slide's 9-row
Q-table), and farming it is never worth it, since every way out of the tile costs -1. The
best path is therefore right, right (return -1 + 10 = 9). Episodes are truncated after
``max_steps`` moves (default 50).

## The worked example

From a zero Q-table with alpha = 0.7 and gamma = 0.99, the first update after moving *right*
from ``Empty 5`` to ``Empty 6`` (reward -1) is

    Q(Empty 5, right) = (1 - 0.7) * 0 + 0.7 * (-1 + 0.99 * max_a Q(Empty 6, a))
                      = 0.7 * (-1 + 0.99 * 0) = -0.7,

and moving right from ``Empty 6`` reaches the five crickets (+10), the entry the slide marks
in the Q-table. ``tests/test_learners_single.py`` checks both with :mod:`agents.q_learning`.

## Arguments

``LizardEnv(max_steps=50, render_mode=None)``; ``render_mode="ansi"`` returns the grid as
text with the lizard drawn as ``L``.

## Version history

* v0: initial version.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

TILE_NAMES: tuple[str, ...] = (
    "1 cricket",
    "Empty 1",
    "Empty 2",
    "Empty 3",
    "Bird",
    "Empty 4",
    "Empty 5",
    "Empty 6",
    "5 crickets",
)
"""Name of each tile, indexed by observation (row-major 3x3 grid)."""

ACTION_NAMES: tuple[str, ...] = ("left", "right", "up", "down")
"""Name of each action."""

START_TILE = TILE_NAMES.index("Empty 5")
"""Where every episode starts (bottom-left)."""

TILE_REWARDS: tuple[float, ...] = (1.0, -1.0, -1.0, -1.0, -10.0, -1.0, -1.0, -1.0, 10.0)
"""Reward for moving onto each tile."""

TERMINAL_TILES: frozenset[int] = frozenset({TILE_NAMES.index("Bird"), TILE_NAMES.index("5 crickets")})
"""Tiles that end the episode."""

WALL_REWARD = -1.0
"""Reward for bumping into a wall (the lizard stays put)."""

_MOVES = ((0, -1), (0, 1), (-1, 0), (1, 0))  # (d_row, d_col) for left, right, up, down
_SYMBOLS = ("c", ".", ".", ".", "B", ".", ".", ".", "C")


class LizardEnv(gym.Env):
    """The 3x3 lizard grid of the seed lecture (see the module docstring).

    Args:
        max_steps: Moves before the episode is truncated.
        render_mode: None or ``"ansi"``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, max_steps: int = 50, render_mode: str | None = None) -> None:
        if max_steps < 1:
            raise ValueError(f"LizardEnv: max_steps must be >= 1, got {max_steps}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"LizardEnv: render_mode must be None or 'ansi', got {render_mode!r}")
        self.max_steps = max_steps
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(len(TILE_NAMES))
        self.action_space = spaces.Discrete(len(ACTION_NAMES))
        self.tile = START_TILE
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Put the lizard back on ``Empty 5``.

        The grid is deterministic; ``seed`` only seeds ``np_random`` (Gymnasium convention).
        """
        super().reset(seed=seed)
        self.tile, self.steps = START_TILE, 0
        return self.tile, {"tile": TILE_NAMES[self.tile]}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Move one tile (or bump into a wall) and collect the tile's reward."""
        if not self.action_space.contains(action):
            raise ValueError(f"LizardEnv: invalid action {action!r}, expected 0..3")
        row, col = divmod(self.tile, 3)
        d_row, d_col = _MOVES[int(action)]
        new_row, new_col = row + d_row, col + d_col
        if 0 <= new_row < 3 and 0 <= new_col < 3:
            self.tile = new_row * 3 + new_col
            reward = TILE_REWARDS[self.tile]
        else:
            reward = WALL_REWARD
        self.steps += 1
        terminated = self.tile in TERMINAL_TILES
        truncated = not terminated and self.steps >= self.max_steps
        return self.tile, reward, terminated, truncated, {"tile": TILE_NAMES[self.tile]}

    def render(self) -> str | None:
        """The grid as text (``L`` = lizard, ``c`` = cricket, ``B`` = bird, ``C`` = 5 crickets)."""
        if self.render_mode != "ansi":
            return None
        rows = []
        for r in range(3):
            cells = ["L" if 3 * r + c == self.tile else _SYMBOLS[3 * r + c] for c in range(3)]
            rows.append(" ".join(cells))
        return "\n".join(rows) + "\n"

    @staticmethod
    def greedy_path(q_table: np.ndarray, max_steps: int = 20) -> list[str]:
        """Tile names visited by the greedy policy of ``q_table`` from the start tile.

        Args:
            q_table: A 9 x 4 array of action values.
            max_steps: Stop after this many moves if no terminal tile is reached.

        Returns:
            The names of the visited tiles, starting with ``"Empty 5"``.
        """
        env = LizardEnv(max_steps=max_steps)
        tile, _ = env.reset()
        path = [TILE_NAMES[tile]]
        done = False
        while not done:
            tile, _, terminated, truncated, _ = env.step(int(np.argmax(q_table[tile])))
            path.append(TILE_NAMES[tile])
            done = terminated or truncated
        return path

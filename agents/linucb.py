"""LinUCB: a contextual bandit with one ridge regression per arm (Li, Chu, Langford, Schapire 2010).

The seed lecture's ad-placement bandit ignores who is looking at the ad. In personalisation the
payoff of an arm depends on the user and the context, so LinUCB models the expected payoff of
arm ``a`` as linear in a context vector ``x`` (here: the flattened observation, plus a
constant 1 when ``add_bias``):

    E[r | x, a] = theta_a . x

Each arm keeps ``A_a = ridge * I + sum x x^T`` and ``b_a = sum r x``; then
``theta_a = A_a^-1 b_a`` and the arm pulled is the argmax of the upper confidence bound

    theta_a . x + alpha * sqrt(x^T A_a^-1 x).

``A_a^-1`` is kept directly and updated with the Sherman-Morrison formula, so a pull costs
O(K d^2). This is the "disjoint" model of the paper (no features shared between arms).
The pull loop, regret bookkeeping and checkpointing come from
:class:`agents.bandits.BanditLearner`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from agents.bandits import BanditLearner


@dataclasses.dataclass(frozen=True, kw_only=True)
class LinUCBConfig:
    """Hyperparameters of :class:`LinUCB`."""

    alpha: float = 1.0
    """Width of the confidence bonus (0 = greedy ridge regression)."""
    ridge: float = 1.0
    """Ridge regulariser: each ``A_a`` starts as ``ridge * I``."""
    add_bias: bool = True
    """Append a constant 1 to the context so each arm also learns an intercept."""

    def __post_init__(self) -> None:
        if self.alpha < 0 or self.ridge <= 0:
            raise ValueError(f"linucb: need alpha >= 0 and ridge > 0, got {self.alpha}, {self.ridge}")


class LinUCB(BanditLearner):
    """Disjoint LinUCB on the observation vector as context."""

    name = "linucb"
    config_cls = LinUCBConfig
    contextual = True

    def __init__(self, env: Any, config: LinUCBConfig, seed: int = 0) -> None:
        super().__init__(env, config, seed)
        self.dim = spaces.flatdim(env.observation_space) + int(config.add_bias)
        self.A_inv_KDD = np.tile(np.eye(self.dim) / config.ridge, (self.n_arms, 1, 1))
        """Inverse design matrix of each arm."""
        self.b_KD = np.zeros((self.n_arms, self.dim))
        """Reward-weighted context sum of each arm."""

    def _features(self, context: np.ndarray | None) -> np.ndarray:
        x = np.asarray(context, dtype=np.float64).reshape(-1)
        return np.append(x, 1.0) if self.config.add_bias else x

    def _scores(self, context: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Estimated payoff and confidence width of every arm for this context."""
        x_D = self._features(context)
        theta_KD = np.einsum("kij,kj->ki", self.A_inv_KDD, self.b_KD)
        width_K = np.sqrt(np.einsum("i,kij,j->k", x_D, self.A_inv_KDD, x_D))
        return theta_KD @ x_D, width_K

    def select(self, context: np.ndarray | None, mask: np.ndarray | None) -> int:
        """Argmax of the upper confidence bound."""
        mean_K, width_K = self._scores(context)
        return self._argmax(mean_K + self.config.alpha * width_K, mask)

    def greedy(self, context: np.ndarray | None, mask: np.ndarray | None) -> int:
        """Argmax of the estimated payoff."""
        mean_K, _ = self._scores(context)
        return self._argmax(mean_K, mask, tie_break=False)

    def update(self, context: np.ndarray | None, arm: int, reward: float) -> None:
        """Rank-one update of the pulled arm's regression (Sherman-Morrison)."""
        super().update(context, arm, reward)
        x_D = self._features(context)
        Ax_D = self.A_inv_KDD[arm] @ x_D
        self.A_inv_KDD[arm] -= np.outer(Ax_D, Ax_D) / (1.0 + x_D @ Ax_D)
        self.b_KD[arm] += reward * x_D

    def extra_state(self) -> dict[str, Any]:
        """The per-arm regressions."""
        return {
            "A_inv": torch.from_numpy(self.A_inv_KDD.copy()),
            "b": torch.from_numpy(self.b_KD.copy()),
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore the per-arm regressions."""
        self.A_inv_KDD = state["A_inv"].numpy().copy()
        self.b_KD = state["b"].numpy().copy()

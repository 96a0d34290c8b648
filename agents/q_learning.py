"""Tabular Q-learning, exactly as the seed lecture writes it (Watkins 1989).

The Q-table has one row per state and one column per action and starts at zero ("at the
beginning the lizard has no idea of how good any action is at any given state"). After each
move the visited entry is pulled towards the Bellman target:

    Q_new(s, a) = (1 - alpha) * Q(s, a) + alpha * (r + gamma * max_a' Q(s', a'))

with learning rate alpha = 0.7 and discount gamma = 0.99 as on the slide. The bootstrap term is
dropped when ``s'`` is terminal. Actions are chosen epsilon-greedily, in the slide's words::

    if random_num > epsilon:
        # choose action via exploitation (Q-table look-up; ties broken at random)
    else:
        # choose action via exploration (uniformly random action)

``epsilon`` may decay multiplicatively after every episode down to ``epsilon_min``.

States: a ``Discrete(n)`` observation is its own row. A ``Box`` observation with finite
bounds is discretised: each dimension is cut into ``bins`` equal intervals between its bounds
(values outside are clipped into the edge bins) and the bin indices are combined row-major
into one row index, so the table has ``bins ** dims`` rows.

Action masks in ``info["action_mask"]`` are honoured when choosing actions, and during
``learn`` the bootstrap max runs over the actions allowed in ``s'`` (the mask of the step's
info); :meth:`QLearning.update` called by hand maxes over all actions unless given one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from agents.base import Callback, Capabilities, Learner, episode_seed
from agents.networks import info_action_mask

MAX_TABLE_ROWS = 1_000_000
"""Refuse discretisations with more rows than this."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class QLearningConfig:
    """Hyperparameters of :class:`QLearning` (defaults: the seed lecture's slide)."""

    alpha: float = 0.7
    """Learning rate: weight of the new estimate in the update."""
    gamma: float = 0.99
    """Discount factor of future rewards."""
    epsilon: float = 0.1
    """Probability of exploring (a random action) at the start."""
    epsilon_decay: float = 1.0
    """Factor applied to epsilon after every episode (1 = fixed epsilon)."""
    epsilon_min: float = 0.0
    """Floor of the decayed epsilon."""
    bins: int = 10
    """Bins per dimension when discretising a Box observation space."""

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"q_learning: alpha must lie in (0, 1], got {self.alpha}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"q_learning: gamma must lie in [0, 1], got {self.gamma}")
        if not (0.0 <= self.epsilon <= 1.0 and 0.0 <= self.epsilon_min <= 1.0):
            raise ValueError("q_learning: epsilon and epsilon_min must lie in [0, 1]")
        if not 0.0 < self.epsilon_decay <= 1.0:
            raise ValueError(f"q_learning: epsilon_decay must lie in (0, 1], got {self.epsilon_decay}")
        if self.bins < 1:
            raise ValueError(f"q_learning: bins must be >= 1, got {self.bins}")


class QLearning(Learner):
    """Tabular Q-learning with an epsilon-greedy behaviour policy.

    Attributes:
        q_table: ``n_states x n_actions`` array of action values.
        epsilon: Current exploration probability.
    """

    name = "q_learning"
    config_cls = QLearningConfig
    capabilities = Capabilities(discrete_actions=True, continuous_actions=False, multi_agent=False)

    def __init__(self, env: Any, config: QLearningConfig, seed: int = 0) -> None:
        super().__init__(env, config, seed)
        obs_space, act_space = env.observation_space, env.action_space
        if not isinstance(act_space, spaces.Discrete):
            raise ValueError(f"q_learning needs a Discrete action space, got {act_space}")
        if isinstance(obs_space, spaces.Discrete):
            n_states = int(obs_space.n)
        elif isinstance(obs_space, spaces.Box):
            if not (np.all(np.isfinite(obs_space.low)) and np.all(np.isfinite(obs_space.high))):
                raise ValueError("q_learning discretises Box observations and needs finite bounds")
            n_states = config.bins ** int(np.prod(obs_space.shape))
            if n_states > MAX_TABLE_ROWS:
                raise ValueError(
                    f"q_learning: {config.bins} bins over {obs_space.shape} gives {n_states} "
                    f"table rows (max {MAX_TABLE_ROWS}); lower `bins`"
                )
        else:
            raise ValueError(f"q_learning needs a Discrete or Box observation space, got {obs_space}")
        self.n_actions = int(act_space.n)
        self.q_table = np.zeros((n_states, self.n_actions))
        self.epsilon = config.epsilon

    # ---- the seed's two rules ---------------------------------------------------------------
    def state_index(self, obs: Any) -> int:
        """The Q-table row of an observation (discretising Box observations)."""
        space = self.env.observation_space
        if isinstance(space, spaces.Discrete):
            return int(obs) - int(space.start)
        low, high = space.low.reshape(-1), space.high.reshape(-1)
        frac = (np.asarray(obs, dtype=np.float64).reshape(-1) - low) / np.maximum(high - low, 1e-12)
        idx = np.clip((frac * self.config.bins).astype(np.int64), 0, self.config.bins - 1)
        return int(np.ravel_multi_index(tuple(idx), (self.config.bins,) * len(idx)))

    def update(
        self,
        state: int,
        action: int,
        reward: float,
        next_state: int,
        terminated: bool,
        next_mask: np.ndarray | None = None,
    ) -> float:
        """Apply one Q-learning update to ``q_table[state, action]`` and return the new value.

        Args:
            state: Row of the state the action was taken in.
            action: The action.
            reward: The reward received.
            next_state: Row of the state reached.
            terminated: Whether ``next_state`` is terminal (no bootstrap).
            next_mask: Allowed actions in ``next_state`` (max over all actions if None).
        """
        next_values = self.q_table[next_state]
        if next_mask is not None and next_mask.any():
            next_values = next_values[next_mask > 0]
        future = 0.0 if terminated else float(next_values.max())
        learned = reward + self.config.gamma * future
        alpha = self.config.alpha
        self.q_table[state, action] = (1 - alpha) * self.q_table[state, action] + alpha * learned
        return float(self.q_table[state, action])

    def choose(self, state: int, mask: np.ndarray | None, explore: bool = True) -> int:
        """Epsilon-greedy action: ``if random_num > epsilon`` exploit, else explore."""
        allowed = np.arange(self.n_actions)
        if mask is not None and mask.any():
            allowed = np.flatnonzero(mask)
        if explore and self.rng.random() <= self.epsilon:
            return int(self.rng.choice(allowed))
        values = self.q_table[state, allowed]
        best = allowed[values == values.max()]
        return int(self.rng.choice(best)) if explore and len(best) > 1 else int(best[0])

    # ---- Learner API ------------------------------------------------------------------------
    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Run whole episodes until ``env_steps >= total_steps``, updating after every move."""
        history: list[dict[str, Any]] = []
        while self.env_steps < total_steps:
            obs, info = self.env.reset(seed=episode_seed(self.seed, self.episodes))
            state = self.state_index(obs)
            ep_return, length, done = 0.0, 0, False
            while not done:
                action = self.choose(state, info_action_mask(info, self.n_actions))
                obs, reward, terminated, truncated, info = self.env.step(action)
                next_state = self.state_index(obs)
                next_mask = info_action_mask(info, self.n_actions)
                self.update(state, action, float(reward), next_state, bool(terminated), next_mask)
                state = next_state
                ep_return += float(reward)
                length += 1
                self.env_steps += 1
                done = bool(terminated or truncated)
            row = {
                "env_steps": self.env_steps,
                "episode": self.episodes,
                "return": ep_return,
                "length": length,
                "epsilon": self.epsilon,
            }
            self.episodes += 1
            self.epsilon = max(self.config.epsilon_min, self.epsilon * self.config.epsilon_decay)
            history.append(row)
            if callback is not None and callback(self, row) is False:
                break
        return history

    def act(self, observations: Any, infos: Any = None, deterministic: bool = True) -> int:
        """Greedy action (``deterministic``, ties -> lowest index) or epsilon-greedy."""
        mask = info_action_mask(infos, self.n_actions)
        return self.choose(self.state_index(observations), mask, explore=not deterministic)

    def state_dict(self) -> dict[str, Any]:
        """Q-table, epsilon, counters and RNG."""
        return {
            **self.base_state(),
            "q_table": torch.from_numpy(self.q_table.copy()),
            "epsilon": self.epsilon,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.load_base_state(state)
        self.q_table = state["q_table"].numpy().copy()
        self.epsilon = float(state["epsilon"])

"""Tiny envs on which the single-agent learners must show that they learn.

Each is small enough that a learner solves it in a few seconds on one CPU core. All randomness
comes from ``self.np_random`` (seeded by ``reset(seed=...)``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv


class BernoulliBanditEnv(gym.Env):
    """K Bernoulli arms; one episode is ``horizon`` pulls; the observation is a constant."""

    def __init__(self, probs: tuple[float, ...], horizon: int = 1000) -> None:
        self.probs = np.asarray(probs, dtype=np.float64)
        self.horizon = horizon
        self.observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Discrete(len(probs))
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: int):
        reward = float(self.np_random.random() < self.probs[action])
        self.t += 1
        info = {"expected_rewards": self.probs.copy()}
        return np.zeros(1, np.float32), reward, False, self.t >= self.horizon, info


class LinearBanditEnv(gym.Env):
    """Contextual bandit: context x ~ U[-1, 1]^d, expected payoff of arm a is theta_a . x.

    The step info carries the expected payoffs of the context the pull was made in; the next
    context is in the returned observation.
    """

    def __init__(self, n_arms: int = 4, dim: int = 3, horizon: int = 1000, noise: float = 0.1):
        self.theta = np.random.default_rng(12345).normal(size=(n_arms, dim))
        self.horizon, self.noise = horizon, noise
        self.observation_space = spaces.Box(-1.0, 1.0, (dim,), np.float32)
        self.action_space = spaces.Discrete(n_arms)
        self.t = 0
        self.x = np.zeros(dim)

    def _draw(self) -> np.ndarray:
        self.x = self.np_random.uniform(-1.0, 1.0, self.theta.shape[1])
        return self.x.astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        return self._draw(), {}

    def step(self, action: int):
        expected = self.theta @ self.x
        reward = float(expected[action] + self.noise * self.np_random.normal())
        self.t += 1
        return self._draw(), reward, False, self.t >= self.horizon, {"expected_rewards": expected}


class IdentityEnv(gym.Env):
    """Repeat the symbol you see: obs is a one-hot of a random symbol, reward 1 if matched.

    With ``masked=True`` the info carries an action mask allowing the right symbol and one
    other, and a masked-out action raises. The env offers the rule-based policies ``"copy"``
    and ``"zero"`` (the Gymnasium side of the heuristic contract) and an episode summary.
    """

    def __init__(self, n: int = 4, length: int = 10, masked: bool = False) -> None:
        self.n, self.length, self.masked = n, length, masked
        self.observation_space = spaces.Box(0.0, 1.0, (n,), np.float32)
        self.action_space = spaces.Discrete(n)
        self.heuristic_policies = ("copy", "zero")
        self.t = 0
        self.symbol = 0
        self.mask = np.ones(n, np.int8)

    def _obs(self) -> tuple[np.ndarray, dict[str, Any]]:
        self.symbol = int(self.np_random.integers(self.n))
        info: dict[str, Any] = {}
        if self.masked:
            other = int((self.symbol + 1 + self.np_random.integers(self.n - 1)) % self.n)
            mask = np.zeros(self.n, np.int8)
            mask[[self.symbol, other]] = 1
            info["action_mask"] = self.mask = mask
        return np.eye(self.n, dtype=np.float32)[self.symbol], info

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs()

    def step(self, action: int):
        if self.masked and not self.mask[int(action)]:
            raise ValueError(f"IdentityEnv: action {action} is masked out")
        reward = float(int(action) == self.symbol)
        self.t += 1
        obs, info = self._obs()
        return obs, reward, False, self.t >= self.length, info

    def heuristic_action(self, policy: str) -> int:
        return self.symbol if policy == "copy" else 0

    def episode_summary(self) -> dict[str, float]:
        return {"steps": float(self.t)}


class Reach1DEnv(gym.Env):
    """Move a point on [-1, 1] to a target: x += 0.25 * a, reward -|x - target| per step.

    The observation is (x, target, fraction of the episode elapsed).
    """

    def __init__(self, length: int = 20, action_scale: float = 1.0) -> None:
        self.length = length
        self.observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Box(-action_scale, action_scale, (1,), np.float32)
        self.action_scale = action_scale
        self.t, self.x, self.target = 0, 0.0, 0.0

    def _obs(self) -> np.ndarray:
        return np.array([self.x, self.target, self.t / self.length], np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        self.x = float(self.np_random.uniform(-1.0, 1.0))
        self.target = float(self.np_random.uniform(-0.8, 0.8))
        return self._obs(), {}

    def step(self, action: np.ndarray):
        a = float(np.clip(action, -self.action_scale, self.action_scale)[0]) / self.action_scale
        self.x = float(np.clip(self.x + 0.25 * a, -1.0, 1.0))
        self.t += 1
        return self._obs(), -abs(self.x - self.target), False, self.t >= self.length, {}


class CopyParallelEnv(ParallelEnv):
    """Two agents each see a symbol and are rewarded for repeating it (a ParallelEnv).

    Offers the rule-based policies ``"copy"`` and ``"zero"`` and an episode summary.
    """

    metadata = {"name": "copy_parallel_v0"}  # noqa: RUF012

    def __init__(self, n: int = 3, length: int = 5) -> None:
        self.n, self.length = n, length
        self.possible_agents = ["a_0", "a_1"]
        self.agents: list[str] = []
        self.heuristic_policies = ("copy", "zero")
        self._obs_space = spaces.Discrete(n)
        self._act_space = spaces.Discrete(n)
        self.rng = np.random.default_rng()
        self.symbols: dict[str, int] = {}
        self.t = 0
        self.hits = 0

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def _draw(self) -> dict[str, int]:
        self.symbols = {a: int(self.rng.integers(self.n)) for a in self.agents}
        return dict(self.symbols)

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.t, self.hits = 0, 0
        return self._draw(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, int]):
        rewards = {a: float(actions[a] == self.symbols[a]) for a in self.agents}
        self.hits += int(sum(rewards.values()))
        self.t += 1
        done = self.t >= self.length
        terms = {a: False for a in self.agents}
        truncs = {a: done for a in self.agents}
        infos = {a: {} for a in self.agents}
        obs = self._draw()
        if done:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def heuristic_actions(self, policy: str) -> dict[str, int]:
        return {a: (s if policy == "copy" else 0) for a, s in self.symbols.items()}

    def episode_summary(self) -> dict[str, float]:
        return {"hit_rate": self.hits / (2 * self.length), "return": -1.0}

"""Tiny two-agent cooperative ParallelEnvs for the multi-agent learner tests.

``MeetEnv`` (Discrete actions): each step a cue marks one of ``n_targets`` targets. Both agents
see the cue, the partner's previous choice and the time. The shared reward is 1 when both pick
the cued target (they meet there), 0 otherwise. Independent uniformly random play earns
``1 / K**2`` per step (0.0625 for K = 4), coordinated play 1.
Options: ``masked`` closes one random non-cued target per step (shown in the observation and in
``infos[agent]["action_mask"]``) and counts masked choices in ``masked_choices``;
``leave_at`` terminates ``agent_1`` after that many steps while ``agent_0`` plays on.

``ContinuousMeetEnv`` (Box actions in ``[0, 2]``): each step a cue ``c`` in ``[0.5, 1.5]``; the
shared reward is ``1 - ((a0 - c)^2 + (a1 - c)^2) / 2 - (a0 - a1)^2 / 2``. Uniform random play
earns about 0.33 per step on average, meeting at the cue earns 1.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

AGENTS = ["agent_0", "agent_1"]


class MeetEnv(ParallelEnv):
    """Two agents must meet at the cued target (see module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "meet_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }

    def __init__(self, n_targets: int = 4, max_cycles: int = 4, masked: bool = False, leave_at: int = 0) -> None:
        self.possible_agents = list(AGENTS)
        self.n_targets, self.max_cycles = n_targets, max_cycles
        self.masked, self.leave_at = masked, leave_at
        self.render_mode = None
        self.masked_choices = 0
        self.state_space = spaces.Box(0.0, 1.0, (4 * n_targets + 1,), np.float32)
        self.np_random = np.random.default_rng()

    @functools.cache  # noqa: B019 - spaces must be the same object every call
    def observation_space(self, agent: str) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (3 * self.n_targets + 1,), np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Discrete:
        return spaces.Discrete(self.n_targets)

    def _new_cue(self) -> None:
        self.cue = int(self.np_random.integers(self.n_targets))
        others = [k for k in range(self.n_targets) if k != self.cue]
        self.closed = int(self.np_random.choice(others)) if self.masked else -1

    def _one_hot(self, k: int) -> np.ndarray:
        out = np.zeros(self.n_targets, np.float32)
        if k >= 0:
            out[k] = 1.0
        return out

    def _obs(self, agent: str) -> np.ndarray:
        partner = self.last_choice[1 - AGENTS.index(agent)]
        parts = [self._one_hot(self.cue), self._one_hot(partner), self._one_hot(self.closed)]
        return np.concatenate([*parts, [self.t / self.max_cycles]]).astype(np.float32)

    def _infos(self) -> dict[str, dict[str, Any]]:
        if not self.masked:
            return {a: {} for a in self.agents}
        mask = np.ones(self.n_targets, np.int8)
        mask[self.closed] = 0
        return {a: {"action_mask": mask.copy()} for a in self.agents}

    def state(self) -> np.ndarray:
        choices = [self._one_hot(c) for c in self.last_choice]
        parts = [self._one_hot(self.cue), *choices, self._one_hot(self.closed)]
        return np.concatenate([*parts, [self.t / self.max_cycles]]).astype(np.float32)

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.t, self.last_choice = 0, [-1, -1]
        self._new_cue()
        return {a: self._obs(a) for a in self.agents}, self._infos()

    def step(self, actions: dict[str, int]):
        choices = [int(actions[a]) if a in actions else -1 for a in AGENTS]
        self.masked_choices += sum(c == self.closed and c >= 0 for c in choices)
        reward = float(choices[0] == choices[1] == self.cue)
        self.t += 1
        self.last_choice = choices
        self._new_cue()
        acting = list(self.agents)
        rewards = {a: reward for a in acting}
        terms = {a: a == "agent_1" and 0 < self.leave_at <= self.t for a in acting}
        truncs = {a: self.t >= self.max_cycles for a in acting}
        self.agents = [a for a in acting if not (terms[a] or truncs[a])]
        obs = {a: self._obs(a) for a in acting}
        infos = self._infos() | {a: {} for a in acting if a not in self.agents}
        return obs, rewards, terms, truncs, infos


class ContinuousMeetEnv(ParallelEnv):
    """Two agents with Box actions must meet at a cued point (see module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "continuous_meet_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }

    def __init__(self, max_cycles: int = 5) -> None:
        self.possible_agents = list(AGENTS)
        self.max_cycles = max_cycles
        self.render_mode = None
        self.state_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.np_random = np.random.default_rng()

    @functools.cache  # noqa: B019
    def observation_space(self, agent: str) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (2,), np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Box:
        return spaces.Box(0.0, 2.0, (1,), np.float32)

    def _obs(self) -> np.ndarray:
        return np.array([self.cue - 1.0, self.t / self.max_cycles], np.float32)

    def state(self) -> np.ndarray:
        return self._obs()

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        self.agents, self.t = list(self.possible_agents), 0
        self.cue = float(self.np_random.uniform(0.5, 1.5))
        return {a: self._obs() for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]):
        a0, a1 = (float(np.asarray(actions[a]).reshape(-1)[0]) for a in AGENTS)
        reward = 1.0 - ((a0 - self.cue) ** 2 + (a1 - self.cue) ** 2) / 2 - (a0 - a1) ** 2 / 2
        self.t += 1
        self.cue = float(self.np_random.uniform(0.5, 1.5))
        acting = list(self.agents)
        truncs = {a: self.t >= self.max_cycles for a in acting}
        self.agents = [a for a in acting if not truncs[a]]
        obs = {a: self._obs() for a in acting}
        return (
            obs,
            {a: reward for a in acting},
            {a: False for a in acting},
            truncs,
            {a: {} for a in acting},
        )


def random_return(env: ParallelEnv, episodes: int = 200, seed: int = 0) -> float:
    """Mean episode return (mean over agents) of independent uniformly random play."""
    rng = np.random.default_rng(seed)
    totals = []
    for ep in range(episodes):
        _, infos = env.reset(seed=seed + ep)
        total = dict.fromkeys(env.possible_agents, 0.0)
        while env.agents:
            actions = {}
            for a in env.agents:
                space = env.action_space(a)
                if isinstance(space, spaces.Discrete):
                    valid = np.flatnonzero(infos.get(a, {}).get("action_mask", np.ones(space.n)))
                    actions[a] = int(rng.choice(valid))
                else:
                    actions[a] = rng.uniform(space.low, space.high).astype(np.float32)
            _, rewards, _, _, infos = env.step(actions)
            for a, r in rewards.items():
                total[a] += r
        totals.append(np.mean(list(total.values())))
    return float(np.mean(totals))

"""Deep Q-Network (Mnih et al. 2015, "Human-level control through deep reinforcement learning").

The seed lecture's answer to "the Q-table is not scalable": replace the table by a network
``Q(s, a; theta) ~ Q*(s, a)`` whose forward pass minimises the error of the Bellman equation
and whose greedy action is the policy ``pi*(s) = argmax_a Q(s, a)``. Two tricks make it stable:

* a **replay buffer**: updates use random minibatches of past transitions, not the last one;
* a **target network**: the Bellman target ``r + gamma * max_a' Q_target(s', a')`` uses a
  copy of the network that is refreshed only every ``target_update_interval`` steps.

With ``double_dqn`` (van Hasselt et al. 2016) the online network picks ``a'`` and the target
network evaluates it, which removes most of the max-operator's overestimation. Exploration is
epsilon-greedy with epsilon decreasing linearly from ``epsilon_start`` to ``epsilon_end`` over
the first ``epsilon_decay_steps`` env steps (an absolute schedule, so a resumed run follows
the same one). Action masks in ``info["action_mask"]`` restrict both the chosen action and the
bootstrap max. Observations are flattened (``Discrete`` becomes one-hot).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from agents.base import Callback, Capabilities, Learner, episode_seed
from agents.buffers import ReplayBuffer
from agents.networks import flatten_obs, info_action_mask, masked_logits, mlp


@dataclasses.dataclass(frozen=True, kw_only=True)
class DQNConfig:
    """Hyperparameters of :class:`DQN`."""

    learning_rate: float = 1e-3
    """Adam step size."""
    buffer_size: int = 50_000
    """Transitions kept in the replay buffer."""
    batch_size: int = 64
    """Transitions per gradient step."""
    gamma: float = 0.99
    """Discount factor."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of the Q-network."""
    learning_starts: int = 500
    """Env steps collected before the first gradient step."""
    train_frequency: int = 1
    """Env steps between gradient steps."""
    target_update_interval: int = 250
    """Env steps between target-network updates."""
    tau: float = 1.0
    """Target update weight: 1 copies the online network, < 1 is a Polyak average."""
    double_dqn: bool = True
    """Use the double-DQN target (online network selects, target network evaluates)."""
    epsilon_start: float = 1.0
    """Exploration probability at step 0."""
    epsilon_end: float = 0.05
    """Exploration probability after the decay."""
    epsilon_decay_steps: int = 5_000
    """Env steps over which epsilon decreases linearly."""
    max_grad_norm: float = 10.0
    """Gradient-norm clip."""

    def __post_init__(self) -> None:
        if min(self.buffer_size, self.batch_size, self.train_frequency) < 1:
            raise ValueError("dqn: buffer_size, batch_size, train_frequency must be >= 1")
        if self.target_update_interval < 1 or self.epsilon_decay_steps < 1:
            raise ValueError("dqn: target_update_interval and epsilon_decay_steps must be >= 1")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"dqn: tau must lie in (0, 1], got {self.tau}")


class DQN(Learner):
    """DQN / double DQN for Discrete actions on any flattenable observation space."""

    name = "dqn"
    config_cls = DQNConfig
    capabilities = Capabilities(discrete_actions=True, continuous_actions=False, multi_agent=False)

    def __init__(self, env: Any, config: DQNConfig, seed: int = 0) -> None:
        super().__init__(env, config, seed)
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(f"dqn needs a Discrete action space, got {env.action_space}")
        self.n_actions = int(env.action_space.n)
        obs_dim = spaces.flatdim(env.observation_space)
        self.q_net = mlp(obs_dim, self.n_actions, config.hidden, activation=nn.ReLU)
        self.target_net = mlp(obs_dim, self.n_actions, config.hidden, activation=nn.ReLU)
        self.target_net.load_state_dict(self.q_net.state_dict())
        self.optimizer = torch.optim.Adam(self.q_net.parameters(), lr=config.learning_rate)
        self.buffer = ReplayBuffer(
            config.buffer_size,
            {
                "obs": ((obs_dim,), torch.float32),
                "action": ((), torch.int64),
                "reward": ((), torch.float32),
                "next_obs": ((obs_dim,), torch.float32),
                "terminated": ((), torch.float32),
                "next_mask": ((self.n_actions,), torch.float32),
            },
        )

    @property
    def epsilon(self) -> float:
        """Exploration probability at the current env step (linear schedule)."""
        cfg = self.config
        frac = min(1.0, self.env_steps / cfg.epsilon_decay_steps)
        return cfg.epsilon_start + frac * (cfg.epsilon_end - cfg.epsilon_start)

    def _obs(self, obs: Any) -> np.ndarray:
        return flatten_obs(self.env.observation_space, obs)

    def _choose(self, x: np.ndarray, mask: np.ndarray | None, epsilon: float) -> int:
        """Epsilon-greedy: exploit if the uniform draw exceeds epsilon, else a random action.

        With ``epsilon == 0`` no random number is drawn, so greedy acting leaves the RNG alone.
        """
        if epsilon > 0.0 and not self.rng.random() > epsilon:
            if mask is None or not mask.any():
                return int(self.rng.integers(self.n_actions))
            return int(self.rng.choice(np.flatnonzero(mask)))
        with torch.no_grad():
            q_1A = self.q_net(torch.as_tensor(x)[None])
            mask_1A = None if mask is None else torch.as_tensor(mask)[None]
            return int(masked_logits(q_1A, mask_1A).argmax(-1).item())

    # ALGO LOGIC: one gradient step on a replay minibatch
    def _train_step(self) -> float:
        cfg = self.config
        batch = self.buffer.sample(cfg.batch_size, self.rng)
        with torch.no_grad():
            next_q_target_BA = self.target_net(batch["next_obs"])
            if cfg.double_dqn:
                next_q_online_BA = masked_logits(self.q_net(batch["next_obs"]), batch["next_mask"])
                next_action_B = next_q_online_BA.argmax(-1, keepdim=True)
                next_value_B = next_q_target_BA.gather(1, next_action_B).squeeze(1)
            else:
                next_value_B = masked_logits(next_q_target_BA, batch["next_mask"]).max(-1).values
            target_B = batch["reward"] + cfg.gamma * (1.0 - batch["terminated"]) * next_value_B
        q_B = self.q_net(batch["obs"]).gather(1, batch["action"][:, None]).squeeze(1)
        loss = F.smooth_l1_loss(q_B, target_B)
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.q_net.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        return float(loss.item())

    def _update_target(self) -> None:
        with torch.no_grad():
            for target, online in zip(self.target_net.parameters(), self.q_net.parameters(), strict=True):
                target.lerp_(online, self.config.tau)

    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Run whole episodes until ``env_steps >= total_steps``, training as it goes."""
        cfg = self.config
        history: list[dict[str, Any]] = []
        all_valid = np.ones(self.n_actions, dtype=np.float32)
        while self.env_steps < total_steps:
            obs, info = self.env.reset(seed=episode_seed(self.seed, self.episodes))
            x, mask = self._obs(obs), info_action_mask(info, self.n_actions)
            ep_return, length, losses, done = 0.0, 0, [], False
            while not done:
                action = self._choose(x, mask, self.epsilon)
                obs, reward, terminated, truncated, info = self.env.step(action)
                next_x, next_mask = self._obs(obs), info_action_mask(info, self.n_actions)
                self.buffer.add(
                    obs=x,
                    action=action,
                    reward=float(reward),
                    next_obs=next_x,
                    terminated=float(terminated),
                    next_mask=all_valid if next_mask is None else next_mask,
                )
                x, mask = next_x, next_mask
                ep_return += float(reward)
                length += 1
                self.env_steps += 1
                done = bool(terminated or truncated)
                if self.env_steps > cfg.learning_starts and self.env_steps % cfg.train_frequency == 0:
                    losses.append(self._train_step())
                if self.env_steps % cfg.target_update_interval == 0:
                    self._update_target()
            row = {
                "env_steps": self.env_steps,
                "episode": self.episodes,
                "return": ep_return,
                "length": length,
                "epsilon": self.epsilon,
                "loss": float(np.mean(losses)) if losses else float("nan"),
            }
            self.episodes += 1
            history.append(row)
            if callback is not None and callback(self, row) is False:
                break
        return history

    def act(self, observations: Any, infos: Any = None, deterministic: bool = True) -> int:
        """Greedy action (``deterministic``) or epsilon-greedy at the current epsilon."""
        mask = info_action_mask(infos, self.n_actions)
        return self._choose(self._obs(observations), mask, 0.0 if deterministic else self.epsilon)

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimiser, replay buffer, counters and RNG."""
        return {
            **self.base_state(),
            "q_net": self.q_net.state_dict(),
            "target_net": self.target_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "buffer": self.buffer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.load_base_state(state)
        self.q_net.load_state_dict(state["q_net"])
        self.target_net.load_state_dict(state["target_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.buffer.load_state_dict(state["buffer"])

"""Advantage actor-critic, n-step and synchronous (A2C; Mnih et al. 2016, single-env form).

The seed lecture's actor-critic idea with a *state-value* critic: the **actor** ``pi(a | s)``
(categorical for Discrete actions, Gaussian mean + log-std for Box actions) is pushed towards
actions whose **advantage** is positive, and the **critic** ``V(s)`` supplies the baseline
the advantage is measured against. Unlike REINFORCE it does not wait for the episode to end:
every ``n_steps`` env steps (or at the end of the episode, whichever comes first) it forms the
n-step returns

    R_t = r_t + gamma * r_{t+1} + ... + gamma^(k-1) * r_{t+k-1} + gamma^k * V(s_{t+k}),

where the bootstrap ``V(s_{t+k})`` is dropped when ``s_{t+k}`` is terminal (kept on time-limit
truncation), and takes one gradient step on

    loss = -mean(log pi(a_t | s_t) * A_t) + value_coef * mean((R_t - V(s_t))^2)
           - entropy_coef * mean(H(pi(. | s_t))),      A_t = R_t - V(s_t) (no gradient).

Rollouts never span two episodes, so every episode boundary is also an update boundary and a
checkpoint taken there holds no half-filled rollout. Discrete actions honour
``info["action_mask"]``; Gaussian actions are sampled in normalised units and mapped onto the
``Box`` bounds with :func:`agents.networks.scale_action`; with finite bounds the mean is
squashed by ``tanh`` into the action range (see :class:`agents.networks.StochasticPolicy`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from agents.base import Callback, Capabilities, Learner, episode_seed
from agents.networks import (
    StochasticPolicy,
    flatten_obs,
    has_finite_bounds,
    info_action_mask,
    mlp,
    scale_action,
    stack_masks,
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class A2CConfig:
    """Hyperparameters of :class:`A2C`."""

    learning_rate: float = 1e-3
    """Adam step size (actor and critic share one optimiser)."""
    n_steps: int = 8
    """Env steps per rollout (fewer at the end of an episode)."""
    gamma: float = 0.99
    """Discount factor."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of the actor and of the critic."""
    value_coef: float = 0.5
    """Weight of the critic's squared error."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus."""
    normalize_advantages: bool = False
    """Standardise the advantages of each rollout (only when it has more than one step)."""
    state_dependent_std: bool = False
    """Gaussian policy: predict the log-std from the state (else a learned constant vector)."""
    init_log_std: float = -0.5
    """Gaussian policy: initial log-std, in normalised action units."""
    max_grad_norm: float = 0.5
    """Gradient-norm clip."""

    def __post_init__(self) -> None:
        if self.n_steps < 1:
            raise ValueError(f"a2c: n_steps must be >= 1, got {self.n_steps}")


class A2C(Learner):
    """n-step advantage actor-critic for Discrete or Box actions."""

    name = "a2c"
    config_cls = A2CConfig
    capabilities = Capabilities(discrete_actions=True, continuous_actions=True, multi_agent=False)

    def __init__(self, env: Any, config: A2CConfig, seed: int = 0) -> None:
        super().__init__(env, config, seed)
        space = env.action_space
        if not isinstance(space, (spaces.Discrete, spaces.Box)):
            raise ValueError(f"a2c needs a Discrete or Box action space, got {space}")
        obs_dim = spaces.flatdim(env.observation_space)
        self.actor = StochasticPolicy(
            obs_dim,
            space,
            config.hidden,
            config.state_dependent_std,
            config.init_log_std,
            bounded_mean=has_finite_bounds(space),
        )
        self.critic = mlp(obs_dim, 1, config.hidden)
        self.params = [*self.actor.parameters(), *self.critic.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=config.learning_rate)
        self.n_actions = int(space.n) if self.actor.discrete else 0

    def _mask(self, info: Any) -> np.ndarray | None:
        return info_action_mask(info, self.n_actions) if self.actor.discrete else None

    def _sample(self, x: np.ndarray, mask: np.ndarray | None, deterministic: bool) -> np.ndarray:
        """One action in policy units (an index, or a normalised vector)."""
        with torch.no_grad():
            mask_1A = None if mask is None else torch.as_tensor(mask, dtype=torch.float32)[None]
            dist = self.actor.distribution(torch.as_tensor(x)[None], mask_1A)
            return self.actor.sample(dist, self.torch_gen, deterministic)[0].numpy()

    def _to_env(self, action: np.ndarray) -> Any:
        return int(action) if self.actor.discrete else scale_action(self.env.action_space, action)

    # ALGO LOGIC: one update on a rollout of at most n_steps transitions
    def _update(self, rollout: dict[str, list], next_x: np.ndarray, terminated: bool) -> dict:
        cfg = self.config
        obs_TO = torch.as_tensor(np.stack(rollout["obs"]))
        actions_T = torch.as_tensor(np.stack(rollout["actions"]))
        with torch.no_grad():
            bootstrap = 0.0 if terminated else float(self.critic(torch.as_tensor(next_x)[None]))
        returns = np.zeros(len(rollout["rewards"]), dtype=np.float32)
        running = bootstrap
        for t in reversed(range(len(returns))):
            running = rollout["rewards"][t] + cfg.gamma * running
            returns[t] = running
        returns_T = torch.as_tensor(returns)
        values_T = self.critic(obs_TO)[:, 0]
        advantages_T = returns_T - values_T.detach()
        if cfg.normalize_advantages and len(returns) > 1:
            advantages_T = (advantages_T - advantages_T.mean()) / (advantages_T.std() + 1e-8)
        dist = self.actor.distribution(obs_TO, stack_masks(rollout["masks"], self.n_actions))
        policy_loss = -(self.actor.log_prob(dist, actions_T) * advantages_T).mean()
        value_loss = (returns_T - values_T).pow(2).mean()
        entropy = self.actor.entropy(dist).mean()
        loss = policy_loss + cfg.value_coef * value_loss - cfg.entropy_coef * entropy
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.optimizer.step()
        return {
            "policy_loss": float(policy_loss.item()),
            "value_loss": float(value_loss.item()),
            "entropy": float(entropy.item()),
        }

    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Run whole episodes until ``env_steps >= total_steps``, updating every n steps."""
        history: list[dict[str, Any]] = []
        while self.env_steps < total_steps:
            obs, info = self.env.reset(seed=episode_seed(self.seed, self.episodes))
            x, mask = flatten_obs(self.env.observation_space, obs), self._mask(info)
            ep_return, length, updates, done = 0.0, 0, [], False
            rollout: dict[str, list] = {"obs": [], "actions": [], "rewards": [], "masks": []}
            while not done:
                action = self._sample(x, mask, deterministic=False)
                obs, reward, terminated, truncated, info = self.env.step(self._to_env(action))
                for key, value in zip(rollout, (x, action, float(reward), mask), strict=True):
                    rollout[key].append(value)
                x, mask = flatten_obs(self.env.observation_space, obs), self._mask(info)
                ep_return += float(reward)
                length += 1
                self.env_steps += 1
                done = bool(terminated or truncated)
                if done or len(rollout["rewards"]) == self.config.n_steps:
                    updates.append(self._update(rollout, x, bool(terminated)))
                    rollout = {key: [] for key in rollout}
            row = {
                "env_steps": self.env_steps,
                "episode": self.episodes,
                "return": ep_return,
                "length": length,
                **{key: float(np.mean([u[key] for u in updates])) for key in updates[0]},
            }
            self.episodes += 1
            history.append(row)
            if callback is not None and callback(self, row) is False:
                break
        return history

    def act(self, observations: Any, infos: Any = None, deterministic: bool = True) -> Any:
        """The policy's mode (``deterministic``) or a sample, in the env's action format."""
        x = flatten_obs(self.env.observation_space, observations)
        return self._to_env(self._sample(x, self._mask(infos), deterministic))

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimiser, counters and RNG."""
        return {
            **self.base_state(),
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.load_base_state(state)
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])

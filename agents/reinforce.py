"""REINFORCE: Monte-Carlo policy gradient (Williams 1992).

The seed lecture's "policy learning" column: instead of finding ``Q(s, a)`` and taking its
argmax, learn the policy ``pi(a | s)`` directly and sample from it. For a continuous action
the network outputs the **mean and the variance** of a Gaussian ``p(a | s)`` (the slide's
"0.8 m/s" example); for a discrete action it outputs one logit per action.

After each episode the return-to-go ``G_t = sum_k gamma^k r_{t+k}`` of every step is known and
the policy takes one gradient step on

    loss = -mean_t( log pi(a_t | s_t) * (G_t - b_t) ) - entropy_coef * mean_t H(pi(. | s_t)),

which makes actions followed by a high return more likely. The baseline ``b_t`` reduces the
variance without biasing the gradient; it is either a learned value network ``V(s_t)``
(``baseline=True``) or nothing. ``normalize_returns`` additionally standardises the
advantages within the episode. Discrete actions honour ``info["action_mask"]``; Gaussian
actions are sampled in normalised units and mapped onto the ``Box`` bounds with
:func:`agents.networks.scale_action` (the log-probability is that of the unclipped sample);
with finite bounds the mean is squashed by ``tanh`` into the action range, so it cannot drift
to where every sample is clipped and the gradient carries no signal. Sampling uses the
learner's own torch generator, so runs are reproducible and resumable.
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
class ReinforceConfig:
    """Hyperparameters of :class:`Reinforce`."""

    learning_rate: float = 3e-3
    """Adam step size of the policy (and of the baseline)."""
    gamma: float = 0.99
    """Discount factor of the returns."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of the policy (and baseline) network."""
    baseline: bool = True
    """Subtract a learned state value V(s) from the returns."""
    normalize_returns: bool = True
    """Standardise the advantages of each episode to zero mean and unit variance."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus."""
    state_dependent_std: bool = False
    """Gaussian policy: predict the log-std from the state (else a learned constant vector)."""
    init_log_std: float = -0.5
    """Gaussian policy: initial log-std, in normalised action units."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip."""


class Reinforce(Learner):
    """REINFORCE with a categorical (Discrete) or Gaussian (Box) policy."""

    name = "reinforce"
    config_cls = ReinforceConfig
    capabilities = Capabilities(discrete_actions=True, continuous_actions=True, multi_agent=False)

    def __init__(self, env: Any, config: ReinforceConfig, seed: int = 0) -> None:
        super().__init__(env, config, seed)
        space = env.action_space
        if not isinstance(space, (spaces.Discrete, spaces.Box)):
            raise ValueError(f"reinforce needs a Discrete or Box action space, got {space}")
        obs_dim = spaces.flatdim(env.observation_space)
        self.policy = StochasticPolicy(
            obs_dim,
            space,
            config.hidden,
            config.state_dependent_std,
            config.init_log_std,
            bounded_mean=has_finite_bounds(space),
        )
        self.value = mlp(obs_dim, 1, config.hidden) if config.baseline else None
        self.params = list(self.policy.parameters())
        if self.value is not None:
            self.params += list(self.value.parameters())
        self.optimizer = torch.optim.Adam(self.params, lr=config.learning_rate)
        self.n_actions = int(space.n) if self.policy.discrete else 0

    def _mask(self, info: Any) -> np.ndarray | None:
        return info_action_mask(info, self.n_actions) if self.policy.discrete else None

    def _sample(self, x: np.ndarray, mask: np.ndarray | None, deterministic: bool) -> np.ndarray:
        """One action in policy units (an index, or a normalised vector)."""
        with torch.no_grad():
            mask_1A = None if mask is None else torch.as_tensor(mask, dtype=torch.float32)[None]
            dist = self.policy.distribution(torch.as_tensor(x)[None], mask_1A)
            return self.policy.sample(dist, self.torch_gen, deterministic)[0].numpy()

    def _to_env(self, action: np.ndarray) -> Any:
        if self.policy.discrete:
            return int(action)
        return scale_action(self.env.action_space, action)

    # ALGO LOGIC: one policy-gradient step on a finished episode
    def _update(
        self,
        obs: list[np.ndarray],
        actions: list[np.ndarray],
        rewards: list[float],
        masks: list[np.ndarray | None],
    ) -> dict[str, float]:
        cfg = self.config
        returns = np.zeros(len(rewards))
        running = 0.0
        for t in reversed(range(len(rewards))):
            running = rewards[t] + cfg.gamma * running
            returns[t] = running
        obs_TO = torch.as_tensor(np.stack(obs))
        actions_T = torch.as_tensor(np.stack(actions))
        returns_T = torch.as_tensor(returns, dtype=torch.float32)
        mask_TA = stack_masks(masks, self.n_actions)
        dist = self.policy.distribution(obs_TO, mask_TA)
        logp_T = self.policy.log_prob(dist, actions_T)
        advantages_T = returns_T
        value_loss = torch.zeros(())
        if self.value is not None:
            values_T = self.value(obs_TO)[:, 0]
            value_loss = 0.5 * (returns_T - values_T).pow(2).mean()
            advantages_T = returns_T - values_T.detach()
        if cfg.normalize_returns and len(rewards) > 1:
            advantages_T = (advantages_T - advantages_T.mean()) / (advantages_T.std() + 1e-8)
        entropy = self.policy.entropy(dist).mean()
        policy_loss = -(logp_T * advantages_T).mean() - cfg.entropy_coef * entropy
        self.optimizer.zero_grad()
        (policy_loss + value_loss).backward()
        nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.optimizer.step()
        return {
            "policy_loss": float(policy_loss.item()),
            "value_loss": float(value_loss.item()),
            "entropy": float(entropy.item()),
        }

    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Run whole episodes until ``env_steps >= total_steps``; one update per episode."""
        history: list[dict[str, Any]] = []
        while self.env_steps < total_steps:
            obs, info = self.env.reset(seed=episode_seed(self.seed, self.episodes))
            traj_obs, traj_actions, traj_rewards, traj_masks = [], [], [], []
            done = False
            while not done:
                x, mask = flatten_obs(self.env.observation_space, obs), self._mask(info)
                action = self._sample(x, mask, deterministic=False)
                obs, reward, terminated, truncated, info = self.env.step(self._to_env(action))
                traj_obs.append(x)
                traj_actions.append(action)
                traj_rewards.append(float(reward))
                traj_masks.append(mask)
                self.env_steps += 1
                done = bool(terminated or truncated)
            stats = self._update(traj_obs, traj_actions, traj_rewards, traj_masks)
            row = {
                "env_steps": self.env_steps,
                "episode": self.episodes,
                "return": float(sum(traj_rewards)),
                "length": len(traj_rewards),
                **stats,
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
        state = {
            **self.base_state(),
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }
        if self.value is not None:
            state["value"] = self.value.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.load_base_state(state)
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.value is not None:
            self.value.load_state_dict(state["value"])

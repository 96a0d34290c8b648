"""Deep Deterministic Policy Gradient (Lillicrap et al. 2016, "Continuous control with deep RL").

The seed lecture's actor-critic slide ("combining DDPG and DQN"): the **actor** ``mu(s)``
outputs a deterministic continuous action, the **critic** ``Q(s, a)`` scores it, "child as an
actor and parent as a critic". DDPG is DQN carried over to continuous actions:

* the critic regresses on ``r + gamma * Q_target(s', mu_target(s'))`` from replay minibatches;
* the actor climbs the critic: it minimises ``-Q(s, mu(s))``;
* both have target copies that trail them by Polyak averaging with weight ``tau``;
* exploration adds Gaussian or Ornstein-Uhlenbeck noise to the actor's action, and the first
  ``learning_starts`` steps use uniformly random actions.

The actor ends in ``tanh``, so actions live in ``[-1, 1]`` per dimension and are mapped onto the
env's ``Box`` bounds (which must be finite) by :func:`agents.networks.scale_action`; the
replay buffer stores the normalised actions. Noise is drawn from the learner's numpy
generator, and the OU state is part of the checkpoint.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from agents.base import Callback, Capabilities, Learner, episode_seed
from agents.buffers import ReplayBuffer
from agents.networks import flatten_obs, has_finite_bounds, mlp, scale_action


@dataclasses.dataclass(frozen=True, kw_only=True)
class DDPGConfig:
    """Hyperparameters of :class:`DDPG`."""

    actor_lr: float = 1e-3
    """Adam step size of the actor."""
    critic_lr: float = 1e-3
    """Adam step size of the critic."""
    buffer_size: int = 100_000
    """Transitions kept in the replay buffer."""
    batch_size: int = 64
    """Transitions per gradient step."""
    gamma: float = 0.99
    """Discount factor."""
    tau: float = 0.005
    """Polyak weight of the target-network updates."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of actor and critic."""
    learning_starts: int = 1_000
    """Env steps with uniformly random actions before training starts."""
    train_frequency: int = 1
    """Env steps between gradient steps (one critic and one actor step each)."""
    noise: Literal["gaussian", "ou"] = "gaussian"
    """Exploration noise: independent Gaussian or Ornstein-Uhlenbeck (temporally correlated)."""
    noise_std: float = 0.1
    """Standard deviation of the noise, in normalised action units."""
    ou_theta: float = 0.15
    """Mean-reversion rate of the OU noise."""

    def __post_init__(self) -> None:
        if self.noise not in ("gaussian", "ou"):
            raise ValueError(f"ddpg: noise must be 'gaussian' or 'ou', got {self.noise!r}")
        if min(self.buffer_size, self.batch_size, self.train_frequency) < 1:
            raise ValueError("ddpg: buffer_size, batch_size, train_frequency must be >= 1")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"ddpg: tau must lie in (0, 1], got {self.tau}")


class DDPG(Learner):
    """DDPG for Box actions with finite bounds."""

    name = "ddpg"
    config_cls = DDPGConfig
    capabilities = Capabilities(discrete_actions=False, continuous_actions=True, multi_agent=False)

    def __init__(self, env: Any, config: DDPGConfig, seed: int = 0) -> None:
        super().__init__(env, config, seed)
        space = env.action_space
        if not isinstance(space, spaces.Box):
            raise ValueError(f"ddpg needs a Box action space, got {space}")
        if not has_finite_bounds(space):
            raise ValueError(f"ddpg needs finite action bounds, got {space}")
        obs_dim = spaces.flatdim(env.observation_space)
        self.act_dim = int(np.prod(space.shape))
        hidden = config.hidden

        def actor() -> nn.Module:
            return nn.Sequential(mlp(obs_dim, self.act_dim, hidden, nn.ReLU, out_std=0.01), nn.Tanh())

        def critic() -> nn.Module:
            return mlp(obs_dim + self.act_dim, 1, hidden, nn.ReLU)

        self.actor, self.actor_target = actor(), actor()
        self.critic, self.critic_target = critic(), critic()
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=config.actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=config.critic_lr)
        self.buffer = ReplayBuffer(
            config.buffer_size,
            {
                "obs": ((obs_dim,), torch.float32),
                "action": ((self.act_dim,), torch.float32),
                "reward": ((), torch.float32),
                "next_obs": ((obs_dim,), torch.float32),
                "terminated": ((), torch.float32),
            },
        )
        self.ou_state = np.zeros(self.act_dim)
        """Current value of the Ornstein-Uhlenbeck process (reset every episode)."""

    def _obs(self, obs: Any) -> np.ndarray:
        return flatten_obs(self.env.observation_space, obs)

    def _policy(self, x: np.ndarray) -> np.ndarray:
        """The actor's normalised action for one flat observation."""
        with torch.no_grad():
            return self.actor(torch.as_tensor(x)[None])[0].numpy().astype(np.float64)

    def _explore(self, x: np.ndarray) -> np.ndarray:
        """Behaviour action in [-1, 1]: random during warm-up, else actor + noise."""
        cfg = self.config
        if self.env_steps < cfg.learning_starts:
            return self.rng.uniform(-1.0, 1.0, self.act_dim)
        if cfg.noise == "ou":
            self.ou_state += -cfg.ou_theta * self.ou_state + cfg.noise_std * self.rng.normal(size=self.act_dim)
            noise = self.ou_state
        else:
            noise = self.rng.normal(0.0, cfg.noise_std, self.act_dim)
        return np.clip(self._policy(x) + noise, -1.0, 1.0)

    # ALGO LOGIC: one critic step and one actor step on a replay minibatch
    def _train_step(self) -> tuple[float, float]:
        cfg = self.config
        batch = self.buffer.sample(cfg.batch_size, self.rng)
        with torch.no_grad():
            next_action_BA = self.actor_target(batch["next_obs"])
            next_q_B = self.critic_target(torch.cat([batch["next_obs"], next_action_BA], 1))[:, 0]
            target_B = batch["reward"] + cfg.gamma * (1.0 - batch["terminated"]) * next_q_B
        q_B = self.critic(torch.cat([batch["obs"], batch["action"]], 1))[:, 0]
        critic_loss = F.mse_loss(q_B, target_B)
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()

        actor_loss = -self.critic(torch.cat([batch["obs"], self.actor(batch["obs"])], 1)).mean()
        self.actor_optimizer.zero_grad()
        actor_loss.backward()
        self.actor_optimizer.step()

        with torch.no_grad():
            for net, target in ((self.actor, self.actor_target), (self.critic, self.critic_target)):
                for p, p_target in zip(net.parameters(), target.parameters(), strict=True):
                    p_target.lerp_(p, cfg.tau)
        return float(critic_loss.item()), float(actor_loss.item())

    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Run whole episodes until ``env_steps >= total_steps``, training as it goes."""
        cfg = self.config
        history: list[dict[str, Any]] = []
        while self.env_steps < total_steps:
            obs, _ = self.env.reset(seed=episode_seed(self.seed, self.episodes))
            x = self._obs(obs)
            self.ou_state = np.zeros(self.act_dim)
            ep_return, length, losses, done = 0.0, 0, [], False
            while not done:
                action = self._explore(x)
                obs, reward, terminated, truncated, _ = self.env.step(scale_action(self.env.action_space, action))
                next_x = self._obs(obs)
                self.buffer.add(
                    obs=x,
                    action=action,
                    reward=float(reward),
                    next_obs=next_x,
                    terminated=float(terminated),
                )
                x = next_x
                ep_return += float(reward)
                length += 1
                self.env_steps += 1
                done = bool(terminated or truncated)
                if self.env_steps > cfg.learning_starts and self.env_steps % cfg.train_frequency == 0:
                    losses.append(self._train_step())
            row = {
                "env_steps": self.env_steps,
                "episode": self.episodes,
                "return": ep_return,
                "length": length,
                "critic_loss": float(np.mean([c for c, _ in losses])) if losses else float("nan"),
                "actor_loss": float(np.mean([a for _, a in losses])) if losses else float("nan"),
            }
            self.episodes += 1
            history.append(row)
            if callback is not None and callback(self, row) is False:
                break
        return history

    def act(self, observations: Any, infos: Any = None, deterministic: bool = True) -> np.ndarray:
        """The actor's action (``deterministic``) or actor + exploration noise, in env units."""
        x = self._obs(observations)
        action = self._policy(x) if deterministic else self._explore(x)
        return scale_action(self.env.action_space, action)

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, replay buffer, OU state, counters and RNG."""
        return {
            **self.base_state(),
            "actor": self.actor.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critic": self.critic.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "buffer": self.buffer.state_dict(),
            "ou_state": torch.from_numpy(self.ou_state.copy()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.load_base_state(state)
        for name in ("actor", "actor_target", "critic", "critic_target"):
            getattr(self, name).load_state_dict(state[name])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.buffer.load_state_dict(state["buffer"])
        self.ou_state = state["ou_state"].numpy().copy()

"""MAPPO and IPPO: PPO with one actor shared by all agents (Yu et al., 2022; de Witt et al., 2020).

Every agent acts with the same actor network on its own observation with a one-hot agent id
appended. The value function is also shared and also gets the one-hot id; it differs between
the two learners:

* ``MAPPO`` (centralised critic): the value input is the global ``env.state()``.
* ``IPPO`` (decentralised critic): the value input is the agent's own observation.

Rollouts are whole episodes (at least ``rollout_steps`` joint env steps), so every update ends
at an episode boundary and a checkpoint taken between updates resumes exactly. Each agent's
trajectory gets GAE(lambda) advantages: an agent that terminates bootstraps with 0, one that is
truncated bootstraps with the value of its last observation (or state). Discrete actions use a
masked categorical (``infos[agent_id]["action_mask"]``); Box actions a diagonal Gaussian in
``[-1, 1]`` units, clipped and rescaled to the space bounds when stepping.

Shape suffixes: B batch (agent-steps), N agents, O observation, S value input, A action features.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from agents.base import Callback, Capabilities, Learner, episode_seed
from agents.multi_agent import joint_obs_NO, masks_NA, multi_agent_spec
from agents.networks import StochasticPolicy, mlp


@dataclasses.dataclass(frozen=True, kw_only=True)
class MAPPOConfig:
    """Hyperparameters of :class:`MAPPO` and :class:`IPPO`."""

    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of the actor and the value network."""
    actor_lr: float = 5e-4
    """Adam learning rate of the shared actor."""
    critic_lr: float = 1e-3
    """Adam learning rate of the shared value network."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE(lambda) parameter."""
    rollout_steps: int = 400
    """Minimum joint env steps per update; the rollout is extended to the end of the episode."""
    update_epochs: int = 5
    """Passes over the rollout per update."""
    num_minibatches: int = 4
    """Minibatches per pass (over agent-steps)."""
    clip_coef: float = 0.2
    """PPO ratio clip, also the value clip when ``clip_value_loss``."""
    clip_value_loss: bool = False
    """Clip the value update around the rollout's values."""
    ent_coef: float = 0.01
    """Entropy bonus weight."""
    max_grad_norm: float = 0.5
    """Gradient-norm clip for actor and value network."""
    init_log_std: float = -0.5
    """Initial log std of the Gaussian policy (Box actions), in ``[-1, 1]`` action units."""

    def __post_init__(self) -> None:
        if min(self.rollout_steps, self.update_epochs, self.num_minibatches) < 1:
            raise ValueError("MAPPOConfig: rollout_steps, update_epochs, num_minibatches >= 1")
        if not (0.0 <= self.gamma <= 1.0 and 0.0 <= self.gae_lambda <= 1.0):
            raise ValueError("MAPPOConfig: gamma and gae_lambda must lie in [0, 1]")


def clipped_surrogate(logp_B: torch.Tensor, old_logp_B: torch.Tensor, adv_B: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's clipped-surrogate loss (Schulman et al. 2017) with per-minibatch advantage normalisation."""
    adv_B = (adv_B - adv_B.mean()) / (adv_B.std(unbiased=False) + 1e-8)
    ratio_B = (logp_B - old_logp_B).exp()
    clipped_B = ratio_B.clamp(1 - clip, 1 + clip)
    return -torch.min(ratio_B * adv_B, clipped_B * adv_B).mean()


class MAPPO(Learner):
    """Multi-agent PPO: shared actor + one-hot agent id, centralised value on ``env.state()``.

    Args:
        env: A ParallelEnv whose agents share Box observations and Discrete/Box actions;
            ``MAPPO`` also needs ``env.state()``.
        config: Hyperparameters (defaults if None).
        seed: Root seed.
    """

    name: ClassVar[str] = "mappo"
    config_cls: ClassVar[type] = MAPPOConfig
    capabilities: ClassVar[Capabilities] = Capabilities(
        discrete_actions=True, continuous_actions=True, multi_agent=True, needs_global_state=True
    )
    centralised_value: ClassVar[bool] = True
    """Value on ``env.state()`` (MAPPO) or on the agent's own observation (IPPO)."""

    def __init__(self, env: Any, config: MAPPOConfig | None = None, seed: int = 0) -> None:
        super().__init__(env, config or MAPPOConfig(), seed)
        cfg, self.spec = self.config, multi_agent_spec(env, self.name)
        n = len(self.spec.agent_ids)
        self.eye_NN = torch.eye(n)
        value_dim = self._state_dim() if self.centralised_value else self.spec.obs_dim
        self.actor = StochasticPolicy(
            self.spec.obs_dim + n, self.spec.action_space, cfg.hidden, init_log_std=cfg.init_log_std
        )
        self.critic = mlp(value_dim + n, 1, cfg.hidden, out_std=1.0)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr, eps=1e-5)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr, eps=1e-5)
        self.updates = 0

    def _state_dim(self) -> int:
        """Size of ``env.state()``, from ``env.state_space`` or a probe after a seeded reset."""
        space = getattr(self.env, "state_space", None)
        if space is not None:
            return int(np.prod(space.shape))
        self.env.reset(seed=episode_seed(self.seed, 0))
        try:
            return int(np.asarray(self.env.state()).size)
        except NotImplementedError as err:
            raise ValueError(f"{self.name}: env.state() is not implemented; use IPPO") from err

    # ==== Policy inputs ====

    def _actor_in(self, idx: list[int], observations: dict[str, Any]) -> torch.Tensor:
        """Actor inputs ``[B, O + N]`` (observation + one-hot id) of the agents ``idx``."""
        obs_BO = torch.as_tensor(joint_obs_NO(self.spec, observations)[idx])
        return torch.cat([obs_BO, self.eye_NN[idx]], 1)

    def _value_in(self, idx: list[int], observations: dict[str, Any]) -> torch.Tensor:
        """Value inputs ``[B, S + N]``: ``env.state()`` (MAPPO) or the observation (IPPO) + id.

        ``env.state()`` is read at call time, so call this right after ``reset``/``step``.
        """
        if self.centralised_value:
            state_S = torch.as_tensor(np.asarray(self.env.state(), np.float32).reshape(-1))
            value_BS = state_S.expand(len(idx), -1)
        else:
            value_BS = torch.as_tensor(joint_obs_NO(self.spec, observations)[idx])
        return torch.cat([value_BS, self.eye_NN[idx]], 1)

    def act(
        self,
        observations: dict[str, Any],
        infos: dict[str, Any] | None = None,
        deterministic: bool = True,
    ) -> dict[str, int | np.ndarray]:
        """Map ``{agent_id: obs}`` to ``{agent_id: action}``, honouring action masks."""
        unknown = set(observations) - set(self.spec.agent_ids)
        if unknown:
            raise ValueError(f"{self.name}: unknown agent ids {sorted(unknown)}")
        idx = [i for i, agent in enumerate(self.spec.agent_ids) if agent in observations]
        if not idx:
            return {}
        mask_BA = torch.as_tensor(masks_NA(self.spec, infos)[idx])
        with torch.no_grad():
            dist = self.actor.distribution(self._actor_in(idx, observations), mask_BA)
            action_B = self.actor.sample(dist, self.torch_gen, deterministic).numpy()
        return {self.spec.agent_ids[i]: self.spec.to_env(action_B[k]) for k, i in enumerate(idx)}

    # ==== Rollouts ====

    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Alternate whole-episode rollouts and PPO updates until ``env_steps >= total_steps``."""
        history: list[dict[str, Any]] = []
        while self.env_steps < total_steps:
            batch, returns, lengths = self._collect()
            row = {
                "env_steps": self.env_steps,
                "episode": self.episodes,
                "return": float(np.mean(returns)),
                "length": float(np.mean(lengths)),
                **self._update(batch),
            }
            history.append(row)
            if callback is not None and callback(self, row) is False:
                break
        return history

    @torch.no_grad()
    def _collect(self) -> tuple[dict[str, torch.Tensor], list[float], list[int]]:
        """Play whole episodes until ``rollout_steps`` joint steps; return the flat batch."""
        env, ids = self.env, self.spec.agent_ids
        fields = ("actor_in", "value_in", "action", "mask", "logp", "value", "adv")
        batch: dict[str, list] = {key: [] for key in fields}
        returns, lengths, steps = [], [], 0
        while steps < self.config.rollout_steps:
            observations, infos = env.reset(seed=episode_seed(self.seed, self.episodes))
            if not env.agents:
                raise ValueError(f"{self.name}: env.reset() returned no agents")
            traj = {a: {key: [] for key in (*fields, "reward")} for a in ids}
            length = 0
            while env.agents:
                idx = [i for i, agent in enumerate(ids) if agent in env.agents]
                actor_in_BI, value_in_BS = self._actor_in(idx, observations), self._value_in(idx, observations)
                mask_BA = torch.as_tensor(masks_NA(self.spec, infos)[idx])
                dist = self.actor.distribution(actor_in_BI, mask_BA)
                action_B = self.actor.sample(dist, self.torch_gen)
                logp_B = self.actor.log_prob(dist, action_B)
                value_B = self.critic(value_in_BS)[:, 0]
                observations, rewards, terms, _, infos = env.step(
                    {ids[i]: self.spec.to_env(action_B[k].numpy()) for k, i in enumerate(idx)}
                )
                length += 1
                step_values = (actor_in_BI, value_in_BS, action_B, mask_BA, logp_B, value_B)
                for k, i in enumerate(idx):
                    t = traj[ids[i]]
                    for key, values in zip(fields[:-1], step_values, strict=True):
                        t[key].append(values[k])
                    t["reward"].append(float(rewards.get(ids[i], 0.0)))
                    if ids[i] not in env.agents:  # trajectory ends: bootstrap unless terminated
                        bootstrap = 0.0
                        if not terms.get(ids[i], False):
                            bootstrap = float(self.critic(self._value_in([i], observations))[0, 0])
                        self._gae(t, bootstrap)
            self.episodes += 1
            self.env_steps += length
            steps += length
            lengths.append(length)
            played = [a for a in ids if traj[a]["reward"]]
            ep_returns = [sum(traj[a]["reward"]) for a in played]
            returns.append(float(np.mean(ep_returns)) if played else 0.0)
            for a in played:
                for key in fields:
                    batch[key] += traj[a][key]
        stacked = {key: torch.stack([torch.as_tensor(v) for v in vals]) for key, vals in batch.items()}
        return stacked, returns, lengths

    def _gae(self, traj: dict[str, list], bootstrap: float) -> None:
        """Store the GAE(lambda) advantages of one agent's finished trajectory in ``traj["adv"]``."""
        cfg = self.config
        values = [float(v) for v in traj["value"]] + [bootstrap]
        adv, last = [0.0] * len(traj["reward"]), 0.0
        for t in reversed(range(len(adv))):
            delta = traj["reward"][t] + cfg.gamma * values[t + 1] - values[t]
            last = delta + cfg.gamma * cfg.gae_lambda * last
            adv[t] = last
        traj["adv"] = list(torch.tensor(adv, dtype=torch.float32))

    # ==== PPO update ====

    def _update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Clipped-surrogate epochs over shuffled minibatches of agent-steps."""
        cfg = self.config
        returns_B = batch["adv"] + batch["value"]
        size = len(returns_B)
        mb_size = max(1, size // cfg.num_minibatches)
        stats: dict[str, list[float]] = {"policy_loss": [], "value_loss": [], "entropy": []}
        for _ in range(cfg.update_epochs):
            perm = torch.randperm(size, generator=self.torch_gen)
            for start in range(0, size, mb_size):
                mb = perm[start : start + mb_size]
                dist = self.actor.distribution(batch["actor_in"][mb], batch["mask"][mb])
                logp_B = self.actor.log_prob(dist, batch["action"][mb])
                entropy_B = self.actor.entropy(dist)
                policy_loss = clipped_surrogate(logp_B, batch["logp"][mb], batch["adv"][mb], cfg.clip_coef)
                actor_loss = policy_loss - cfg.ent_coef * entropy_B.mean()
                self.actor_opt.zero_grad()
                actor_loss.backward()
                nn.utils.clip_grad_norm_(self.actor.parameters(), cfg.max_grad_norm)
                self.actor_opt.step()

                value_B = self.critic(batch["value_in"][mb])[:, 0]
                value_loss_B = (value_B - returns_B[mb]) ** 2
                if cfg.clip_value_loss:
                    old_B = batch["value"][mb]
                    value_clipped_B = old_B + (value_B - old_B).clamp(-cfg.clip_coef, cfg.clip_coef)
                    value_loss_B = torch.max(value_loss_B, (value_clipped_B - returns_B[mb]) ** 2)
                value_loss = 0.5 * value_loss_B.mean()
                self.critic_opt.zero_grad()
                value_loss.backward()
                nn.utils.clip_grad_norm_(self.critic.parameters(), cfg.max_grad_norm)
                self.critic_opt.step()
                stats["policy_loss"].append(policy_loss.item())
                stats["value_loss"].append(value_loss.item())
                stats["entropy"].append(entropy_B.mean().item())
        self.updates += 1
        return {"updates": self.updates, **{k: float(np.mean(v)) for k, v in stats.items()}}

    # ==== Checkpointing ====

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, counters and RNG states."""
        return {
            **self.base_state(),
            "updates": self.updates,
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.load_base_state(state)
        self.updates = int(state["updates"])
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])


class IPPO(MAPPO):
    """Independent PPO: :class:`MAPPO` with the value on the agent's own observation."""

    name: ClassVar[str] = "ippo"
    capabilities: ClassVar[Capabilities] = Capabilities(
        discrete_actions=True, continuous_actions=True, multi_agent=True, needs_global_state=False
    )
    centralised_value: ClassVar[bool] = False

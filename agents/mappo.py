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
from agents.multi_agent import masks_NA, multi_agent_spec
from agents.networks import masked_logits, mlp


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
        n, a = len(self.spec.agent_ids), self.spec.act_dim
        self.eye_NN = torch.eye(n)
        value_dim = self._state_dim() if self.centralised_value else self.spec.obs_dim
        self.actor = mlp(self.spec.obs_dim + n, a, cfg.hidden, out_std=0.01)
        self.log_std = nn.Parameter(torch.full((a,), cfg.init_log_std), requires_grad=True)
        self.critic = mlp(value_dim + n, 1, cfg.hidden, out_std=1.0)
        actor_params = [*self.actor.parameters(), *([] if self.spec.discrete else [self.log_std])]
        self.actor_opt = torch.optim.Adam(actor_params, lr=cfg.actor_lr, eps=1e-5)
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

    # ==== Policy ====

    def _inputs(
        self, agents: list[str], observations: dict[str, Any], value: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Actor inputs ``[B, O + N]`` and value inputs ``[B, S + N]`` (if ``value``).

        MAPPO's value input is ``env.state()`` at the time of the call, so call it right after
        ``reset`` / ``step`` returned ``observations``.
        """
        ids_BN = self.eye_NN[[self.spec.agent_ids.index(agent) for agent in agents]]
        obs_BO = torch.as_tensor(
            np.stack([np.asarray(observations[a], np.float32).reshape(-1) for a in agents])
        )
        if not value:
            return torch.cat([obs_BO, ids_BN], 1), None
        if self.centralised_value:
            state_S = torch.as_tensor(np.asarray(self.env.state(), np.float32).reshape(-1))
            value_BS = state_S.expand(len(agents), -1)
        else:
            value_BS = obs_BO
        return torch.cat([obs_BO, ids_BN], 1), torch.cat([value_BS, ids_BN], 1)

    def _dist(self, actor_in_BI: torch.Tensor, mask_BA: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Policy parameters: masked logits (Discrete) or mean and std (Box)."""
        out_BA = self.actor(actor_in_BI)
        if self.spec.discrete:
            return (masked_logits(out_BA, mask_BA),)
        return out_BA, self.log_std.exp().expand_as(out_BA)

    def _log_prob_entropy(
        self, params: tuple[torch.Tensor, ...], action_BA: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability of ``action_BA`` (one-hot or raw Gaussian sample) and entropy."""
        if self.spec.discrete:
            logp_BA = torch.log_softmax(params[0], -1)
            return (logp_BA * action_BA).sum(-1), -(logp_BA.exp() * logp_BA).sum(-1)
        normal = torch.distributions.Normal(*params)
        return normal.log_prob(action_BA).sum(-1), normal.entropy().sum(-1)

    @torch.no_grad()
    def _sample(self, params: tuple[torch.Tensor, ...], deterministic: bool) -> torch.Tensor:
        """One-hot (Discrete) or raw ``[-1, 1]``-unit (Box) actions, from ``torch_gen``."""
        if self.spec.discrete:
            logits_BA = params[0]
            if deterministic:
                choice_B = logits_BA.argmax(-1)
            else:
                probs_BA = torch.softmax(logits_BA, -1)
                choice_B = torch.multinomial(probs_BA, 1, generator=self.torch_gen)[:, 0]
            return nn.functional.one_hot(choice_B, self.spec.act_dim).float()
        mean_BA, std_BA = params
        if deterministic:
            return mean_BA
        return mean_BA + std_BA * torch.randn(mean_BA.shape, generator=self.torch_gen)

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
        agents = [a for a in self.spec.agent_ids if a in observations]
        if not agents:
            return {}
        actor_in_BI, _ = self._inputs(agents, observations, value=False)
        mask_BA = torch.as_tensor(masks_NA(infos, tuple(agents), self.spec.act_dim))
        with torch.no_grad():
            action_BA = self._sample(self._dist(actor_in_BI, mask_BA), deterministic).numpy()
        return {a: self.spec.to_env(action_BA[k]) for k, a in enumerate(agents)}

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
        env, ids, n_act = self.env, self.spec.agent_ids, self.spec.act_dim
        fields = ("actor_in", "value_in", "action", "mask", "logp", "value", "adv")
        batch: dict[str, list] = {key: [] for key in fields}
        returns, lengths, steps = [], [], 0
        while steps < self.config.rollout_steps:
            observations, infos = env.reset(seed=episode_seed(self.seed, self.episodes))
            traj: dict[str, dict[str, list]] = {
                a: {k: [] for k in (*fields, "reward")} for a in ids
            }
            ep_return = dict.fromkeys(ids, 0.0)
            length = 0
            while env.agents:
                agents = [a for a in ids if a in env.agents]
                actor_in_BI, value_in_BS = self._inputs(agents, observations)
                mask_BA = torch.as_tensor(masks_NA(infos, tuple(agents), n_act))
                params = self._dist(actor_in_BI, mask_BA)
                action_BA = self._sample(params, deterministic=False)
                logp_B, _ = self._log_prob_entropy(params, action_BA)
                value_B = self.critic(value_in_BS)[:, 0]
                observations, rewards, terms, _, infos = env.step(
                    {a: self.spec.to_env(action_BA[k].numpy()) for k, a in enumerate(agents)}
                )
                length += 1
                step_values = (actor_in_BI, value_in_BS, action_BA, mask_BA, logp_B, value_B)
                for k, a in enumerate(agents):
                    t = traj[a]
                    for key, values in zip(fields[:-1], step_values, strict=True):
                        t[key].append(values[k])
                    t["reward"].append(float(rewards.get(a, 0.0)))
                    ep_return[a] += t["reward"][-1]
                    if a not in env.agents:  # trajectory ends: bootstrap unless terminated
                        bootstrap = 0.0
                        if not terms.get(a, False):
                            _, last_in_1S = self._inputs([a], observations)
                            bootstrap = float(self.critic(last_in_1S)[0, 0])
                        self._gae(t, bootstrap)
            self.episodes += 1
            self.env_steps += length
            steps += length
            lengths.append(length)
            played = [a for a in ids if traj[a]["reward"]]
            returns.append(float(np.mean([ep_return[a] for a in played])) if played else 0.0)
            for a in played:
                for key in fields:
                    batch[key] += traj[a][key]
        stacked = {
            key: torch.stack([torch.as_tensor(v) for v in vals]) for key, vals in batch.items()
        }
        return stacked, returns, lengths

    def _gae(self, traj: dict[str, list], bootstrap: float) -> None:
        """Append GAE(lambda) advantages of one agent's finished trajectory to ``traj["adv"]``."""
        cfg = self.config
        values = [float(v) for v in traj["value"]] + [bootstrap]
        adv, last = [0.0] * len(traj["reward"]), 0.0
        for t in reversed(range(len(adv))):
            delta = traj["reward"][t] + cfg.gamma * values[t + 1] - values[t]
            last = delta + cfg.gamma * cfg.gae_lambda * last
            adv[t] = last
        traj["adv"] = adv

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
                params = self._dist(batch["actor_in"][mb], batch["mask"][mb])
                logp_B, entropy_B = self._log_prob_entropy(params, batch["action"][mb])
                adv_B = batch["adv"][mb]
                adv_B = (adv_B - adv_B.mean()) / (adv_B.std(unbiased=False) + 1e-8)
                ratio_B = (logp_B - batch["logp"][mb]).exp()
                clipped_B = ratio_B.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)
                policy_loss = -torch.min(ratio_B * adv_B, clipped_B * adv_B).mean()
                actor_loss = policy_loss - cfg.ent_coef * entropy_B.mean()
                self.actor_opt.zero_grad()
                actor_loss.backward()
                nn.utils.clip_grad_norm_(
                    self.actor_opt.param_groups[0]["params"], cfg.max_grad_norm
                )
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
            "log_std": self.log_std.detach().clone(),
            "critic": self.critic.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.load_base_state(state)
        self.updates = int(state["updates"])
        self.actor.load_state_dict(state["actor"])
        with torch.no_grad():
            self.log_std.copy_(state["log_std"])
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

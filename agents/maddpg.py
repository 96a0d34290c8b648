"""MADDPG: decentralised actors, one centralised critic per agent (Lowe et al., 2017).

Each agent id has its own deterministic actor on its own observation. Each agent also has a
critic ``Q_i(o_1..o_N, a_1..a_N)`` on the joint observations and joint actions, used only in
training, so every actor learns against a critic that sees what the other agents did.

* Discrete actions: the actor outputs logits; training samples a one-hot action with the
  straight-through Gumbel-softmax, ``act(deterministic=True)`` takes the masked argmax, and
  target actions are the greedy one-hot of the target actor.
* Box actions: the actor outputs ``tanh`` values in ``[-1, 1]`` that are rescaled to the
  space bounds; exploration adds Gaussian noise in the normalised units.
* Action masks in ``infos[agent_id]["action_mask"]`` mask the logits; the buffer stores the
  masks of both steps so that target actions respect the next-step masks.
* One joint replay buffer (:class:`agents.buffers.ReplayBuffer` with ``[N, ...]`` fields)
  holds all agents' parts of a transition in one row, and one index set drawn from the
  learner's seeded generator serves every agent. Agents that are not in ``env.agents`` are
  stored as zeros with ``alive = 0`` and left out of their own losses.

Shape suffixes: B batch, N agents, O observation, A action features (number of actions for
Discrete, action size for Box).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from agents.base import Callback, Capabilities, Learner, episode_seed
from agents.buffers import ReplayBuffer
from agents.multi_agent import joint_obs_NO, masks_NA, multi_agent_spec
from agents.networks import masked_logits, mlp


@dataclasses.dataclass(frozen=True, kw_only=True)
class MADDPGConfig:
    """Hyperparameters of :class:`MADDPG`."""

    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of actors and critics."""
    actor_lr: float = 1e-3
    """Adam learning rate of the actors."""
    critic_lr: float = 1e-3
    """Adam learning rate of the critics."""
    gamma: float = 0.95
    """Discount factor."""
    tau: float = 0.01
    """Polyak factor of the target networks (1 = copy)."""
    buffer_size: int = 100_000
    """Capacity of the joint replay buffer, in joint transitions."""
    batch_size: int = 256
    """Joint transitions per gradient step."""
    learning_starts: int = 1_000
    """Joint transitions stored before the first update."""
    train_every: int = 4
    """Joint env steps between updates."""
    gradient_steps: int = 1
    """Gradient steps per update."""
    gumbel_temperature: float = 1.0
    """Temperature of the Gumbel-softmax (Discrete actions)."""
    exploration_noise: float = 0.1
    """Std of the Gaussian exploration noise in ``[-1, 1]`` action units (Box actions)."""
    logit_penalty: float = 1e-3
    """Weight of the squared pre-activation penalty in the actor loss (as in the paper's code)."""
    max_grad_norm: float = 0.5
    """Gradient-norm clip for actors and critics."""

    def __post_init__(self) -> None:
        if not 0.0 < self.tau <= 1.0 or not 0.0 <= self.gamma <= 1.0:
            raise ValueError("MADDPGConfig: need 0 < tau <= 1 and 0 <= gamma <= 1")
        if min(self.batch_size, self.buffer_size, self.train_every, self.gradient_steps) < 1:
            raise ValueError("MADDPGConfig: sizes and step counts must be >= 1")


def gumbel_softmax_st(logits_BA: torch.Tensor, temperature: float, generator: torch.Generator) -> torch.Tensor:
    """One-hot Gumbel-softmax sample with straight-through gradients, from ``generator``."""
    u_BA = torch.rand(logits_BA.shape, generator=generator).clamp_(1e-10, 1.0 - 1e-10)
    soft_BA = torch.softmax((logits_BA - torch.log(-torch.log(u_BA))) / temperature, dim=-1)
    hard_BA = nn.functional.one_hot(soft_BA.argmax(-1), logits_BA.shape[-1]).to(soft_BA.dtype)
    return hard_BA + soft_BA - soft_BA.detach()


class MADDPG(Learner):
    """Multi-agent DDPG with centralised critics for PettingZoo ParallelEnvs.

    Args:
        env: A ParallelEnv whose agents share Box observations and Discrete/Box actions.
        config: Hyperparameters (defaults if None).
        seed: Root seed.
    """

    name: ClassVar[str] = "maddpg"
    config_cls: ClassVar[type] = MADDPGConfig
    capabilities: ClassVar[Capabilities] = Capabilities(
        discrete_actions=True, continuous_actions=True, multi_agent=True
    )

    def __init__(self, env: Any, config: MADDPGConfig | None = None, seed: int = 0) -> None:
        super().__init__(env, config or MADDPGConfig(), seed)
        cfg, self.spec = self.config, multi_agent_spec(env, self.name)
        n, o, a = len(self.spec.agent_ids), self.spec.obs_dim, self.spec.act_dim
        self.actors = nn.ModuleList(mlp(o, a, cfg.hidden, nn.ReLU, out_std=0.01) for _ in range(n))
        self.critics = nn.ModuleList(mlp(n * (o + a), 1, cfg.hidden, nn.ReLU) for _ in range(n))
        self.target_actors = copy.deepcopy(self.actors).requires_grad_(False)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actors.parameters(), lr=cfg.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critics.parameters(), lr=cfg.critic_lr)
        shapes = {"obs": (n, o), "action": (n, a), "reward": (n,), "next_obs": (n, o),
                  "done": (n,), "alive": (n,), "mask": (n, a), "next_mask": (n, a)}  # fmt: skip
        self.buffer = ReplayBuffer(cfg.buffer_size, {k: (v, torch.float32) for k, v in shapes.items()})
        self.updates = 0

    # ==== Acting ====

    def _policy(
        self, i: int, obs_BO: torch.Tensor, mask_BA: torch.Tensor, explore: bool, target: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Agent ``i``'s action (one-hot or ``[-1, 1]`` units) and its pre-activation."""
        raw_BA = (self.target_actors if target else self.actors)[i](obs_BO)
        if self.spec.discrete:
            logits_BA = masked_logits(raw_BA, mask_BA)
            if explore:
                temp = self.config.gumbel_temperature
                return gumbel_softmax_st(logits_BA, temp, self.torch_gen), raw_BA
            return nn.functional.one_hot(logits_BA.argmax(-1), self.spec.act_dim).float(), raw_BA
        act_BA = torch.tanh(raw_BA)
        if explore:
            noise_BA = torch.randn(act_BA.shape, generator=self.torch_gen)
            act_BA = (act_BA + self.config.exploration_noise * noise_BA).clamp(-1.0, 1.0)
        return act_BA, raw_BA

    @torch.no_grad()
    def _select(self, live: list[int], obs_NO: np.ndarray, mask_NA: np.ndarray, explore: bool) -> np.ndarray:
        """Actions ``[N, A]`` of the agents in ``live`` (zeros for the others)."""
        act_NA = np.zeros((len(self.spec.agent_ids), self.spec.act_dim), np.float32)
        for i in live:
            obs_1O, mask_1A = torch.from_numpy(obs_NO[i, None]), torch.from_numpy(mask_NA[i, None])
            act_NA[i] = self._policy(i, obs_1O, mask_1A, explore, target=False)[0][0].numpy()
        return act_NA

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
        live = [i for i, agent in enumerate(self.spec.agent_ids) if agent in observations]
        obs_NO, mask_NA = joint_obs_NO(self.spec, observations), masks_NA(self.spec, infos)
        act_NA = self._select(live, obs_NO, mask_NA, explore=not deterministic)
        return {self.spec.agent_ids[i]: self.spec.to_env(act_NA[i]) for i in live}

    # ==== Training ====

    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Train whole episodes until ``env_steps >= total_steps``; one history row per episode."""
        history: list[dict[str, Any]] = []
        while self.env_steps < total_steps:
            row = self._run_episode()
            history.append(row)
            if callback is not None and callback(self, row) is False:
                break
        return history

    def _run_episode(self) -> dict[str, Any]:
        """Play one exploring episode, storing transitions and updating on schedule."""
        cfg, ids, env = self.config, self.spec.agent_ids, self.env
        observations, infos = env.reset(seed=episode_seed(self.seed, self.episodes))
        returns_N, seen_N = np.zeros(len(ids)), np.zeros(len(ids), bool)
        length, losses = 0, []
        if not env.agents:
            raise ValueError(f"{self.name}: env.reset() returned no agents")
        while env.agents:
            live = [i for i, agent in enumerate(ids) if agent in env.agents]
            alive_N = np.isin(np.arange(len(ids)), live).astype(np.float32)
            obs_NO = joint_obs_NO(self.spec, observations) * alive_N[:, None]  # zeros if gone
            mask_NA = masks_NA(self.spec, infos)
            act_NA = self._select(live, obs_NO, mask_NA, explore=True)
            observations, rewards, terms, _, infos = env.step({ids[i]: self.spec.to_env(act_NA[i]) for i in live})
            rew_N = np.array([float(rewards.get(a, 0.0)) for a in ids], np.float32) * alive_N
            done_N = np.array([float(bool(terms.get(a, False))) for a in ids], np.float32)
            next_obs_NO = joint_obs_NO(self.spec, observations) * alive_N[:, None]
            self.buffer.add(
                obs=obs_NO, action=act_NA, reward=rew_N, next_obs=next_obs_NO, done=done_N,
                alive=alive_N, mask=mask_NA, next_mask=masks_NA(self.spec, infos),
            )  # fmt: skip
            returns_N += rew_N
            seen_N |= alive_N > 0
            self.env_steps += 1
            length += 1
            if self.buffer.size >= cfg.learning_starts and self.env_steps % cfg.train_every == 0:
                losses += [self._update() for _ in range(cfg.gradient_steps)]
        self.episodes += 1
        row: dict[str, Any] = {
            "env_steps": self.env_steps,
            "episode": self.episodes,
            "return": float(returns_N[seen_N].mean()) if seen_N.any() else 0.0,
            "length": length,
            "updates": self.updates,
        }
        if losses:
            row["critic_loss"] = float(np.mean([c for c, _ in losses]))
            row["actor_loss"] = float(np.mean([a for _, a in losses]))
        return row

    def _update(self) -> tuple[float, float]:
        """One gradient step of every critic and actor on one shared minibatch."""
        cfg, n = self.config, len(self.spec.agent_ids)
        b = self.buffer.sample(cfg.batch_size, self.rng)  # one index set for all agents
        obs_BNO, act_BNA, alive_BN = b["obs"], b["action"], b["alive"]
        weight_B = [alive_BN[:, i] / alive_BN[:, i].sum().clamp(min=1.0) for i in range(n)]

        # ---- critics: y_i = r_i + gamma * (1 - done_i) * Q'_i(o', mu'(o')) ----
        with torch.no_grad():
            next_obs_BNO, next_mask_BNA = b["next_obs"], b["next_mask"]
            next_act_BNA = torch.stack(
                [self._policy(j, next_obs_BNO[:, j], next_mask_BNA[:, j], False, True)[0]
                 for j in range(n)],
                dim=1,
            ) * alive_BN.unsqueeze(-1)  # fmt: skip
            next_in_BI = torch.cat([next_obs_BNO.flatten(1), next_act_BNA.flatten(1)], dim=1)
            q_next_BN = torch.cat([critic(next_in_BI) for critic in self.target_critics], dim=1)
            y_BN = b["reward"] + cfg.gamma * (1.0 - b["done"]) * q_next_BN
        in_BI = torch.cat([obs_BNO.flatten(1), act_BNA.flatten(1)], dim=1)
        q_BN = torch.cat([critic(in_BI) for critic in self.critics], dim=1)
        critic_loss = sum(((q_BN[:, i] - y_BN[:, i]) ** 2 * weight_B[i]).sum() for i in range(n))
        self.critic_opt.zero_grad()
        critic_loss.backward()
        nn.utils.clip_grad_norm_(self.critics.parameters(), cfg.max_grad_norm)
        self.critic_opt.step()

        # ---- actors: maximise Q_i with agent i's action replaced by its current policy ----
        self.critics.requires_grad_(False)
        actor_loss = torch.zeros(())
        for i in range(n):
            act_i_BA, raw_BA = self._policy(i, obs_BNO[:, i], b["mask"][:, i], True, False)
            joint_BNA = torch.cat([act_BNA[:, :i], act_i_BA.unsqueeze(1), act_BNA[:, i + 1 :]], 1)
            q_B = self.critics[i](torch.cat([obs_BNO.flatten(1), joint_BNA.flatten(1)], 1))[:, 0]
            penalty = cfg.logit_penalty * (raw_BA**2).mean()
            actor_loss = actor_loss - (q_B * weight_B[i]).sum() + penalty
        self.critics.requires_grad_(True)
        self.actor_opt.zero_grad()
        actor_loss.backward()
        nn.utils.clip_grad_norm_(self.actors.parameters(), cfg.max_grad_norm)
        self.actor_opt.step()

        # ---- targets ----
        with torch.no_grad():
            pairs = ((self.actors, self.target_actors), (self.critics, self.target_critics))
            for net, target in pairs:
                for p, tp in zip(net.parameters(), target.parameters(), strict=True):
                    tp.lerp_(p, cfg.tau)
        self.updates += 1
        return critic_loss.item() / n, actor_loss.item() / n

    # ==== Checkpointing ====

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, replay buffer, counters and RNG states."""
        return {
            **self.base_state(),
            "updates": self.updates,
            "actors": self.actors.state_dict(),
            "critics": self.critics.state_dict(),
            "target_actors": self.target_actors.state_dict(),
            "target_critics": self.target_critics.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "buffer": self.buffer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.load_base_state(state)
        self.updates = int(state["updates"])
        for key in ("actors", "critics", "target_actors", "target_critics"):
            getattr(self, key).load_state_dict(state[key])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.buffer.load_state_dict(state["buffer"])

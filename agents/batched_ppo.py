"""PPO on a batched multi-agent env: thousands of days stepped together, all on tensors.

The env speaks ``(B, K, ...)`` tensors for ``B`` days and ``K`` agents (the batched museum,
``scenarios.museum.batched.BatchedMuseumEnv``): ``reset(seed) -> (obs, infos)``,
``step(actions) -> (obs, rewards, terminations, truncations, infos)`` with
``infos["action_mask"]`` (B, K, A) and ``state() -> (B, S)``; all days end together.

One update of :func:`learn_batched`:

1. **Rollout.** ``B`` whole days. Every tick the critic values every agent (cheap: pooled
   inputs), and the actor samples only where the mask leaves a choice (a *decision*: more than
   one valid action); elsewhere the action is the only valid one (0), whose log-probability is 0
   whatever the policy, so it carries no gradient and is not stored.
2. **GAE.** Per day and agent over the whole day: ``delta_t = r_t + gamma V_{t+1} - V_t``, the
   day's last value bootstrapped from its final observation (truncation at closing time).
3. **Update.** Clipped-surrogate epochs over the decisions (advantages normalised per
   minibatch) and value regression on every agent-tick.

``learner`` is an :class:`agents.item_ppo.ItemMAPPO` (its actor, critic, optimisers, generator
and counters); ``env_steps`` counts joint env steps, i.e. ``B`` per tick.

Shape suffixes: T ticks, B days, K agents, N = B·K slots, D observation, A actions, C critic input.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from agents.base import Callback
from agents.mappo import clipped_surrogate

if TYPE_CHECKING:
    from agents.item_ppo import ItemMAPPO

TRAIN_SEED_BASE = 1_000_000
"""Training days are drawn from seeds ``TRAIN_SEED_BASE · (1 + learner seed) + episode`` (far from evaluation seeds)."""


def train_seed(learner: ItemMAPPO) -> int:
    """Seed of the next rollout's first day."""
    return TRAIN_SEED_BASE * (1 + learner.seed) + learner.episodes


@torch.no_grad()
def rollout(learner: ItemMAPPO, env: Any) -> dict[str, Any]:
    """Play ``env.num_days`` whole days; return decisions, values, rewards and advantages."""
    obs_BKD, infos = env.reset(seed=train_seed(learner))
    B, K, D = obs_BKD.shape
    dev, env_dev = learner.device, obs_BKD.device
    n_actions = infos["action_mask"].shape[-1]
    dec_obs, dec_mask, dec_act, dec_logp, dec_at = [], [], [], [], []
    values, rewards, critic_in = [], [], []
    t = 0
    while True:
        obs_ND = obs_BKD.reshape(B * K, D).float().to(dev)
        mask_NA = infos["action_mask"].reshape(B * K, -1).bool().to(dev)
        state_NS = env.state().float().to(dev).repeat_interleave(K, dim=0)
        value_in_NC = learner.value_input(obs_ND, state_NS)
        values.append(learner.critic(value_in_NC)[:, 0])
        critic_in.append(value_in_NC)
        actions_N = torch.zeros(B * K, dtype=torch.long, device=dev)
        decide = torch.nonzero(mask_NA.sum(dim=1) > 1).flatten()
        if decide.numel():
            dist = learner.actor.distribution(obs_ND[decide], mask_NA[decide])
            act = learner.actor.sample(dist, learner.torch_gen).to(dev)
            actions_N[decide] = act
            dec_obs.append(obs_ND[decide])
            dec_mask.append(mask_NA[decide])
            dec_act.append(act)
            dec_logp.append(learner.actor.log_prob(dist, act))
            dec_at.append(t * B * K + decide)
        obs_BKD, rew_BK, _, trunc_BK, infos = env.step(actions_N.view(B, K).to(env_dev))
        rewards.append(rew_BK.reshape(-1).float().to(dev))
        t += 1
        if bool(trunc_BK.all()):
            break
    state_NS = env.state().float().to(dev).repeat_interleave(K, dim=0)
    last = learner.critic(learner.value_input(obs_BKD.reshape(B * K, D).float().to(dev), state_NS))[:, 0]
    values_TN, rewards_TN = torch.stack(values), torch.stack(rewards)
    adv_TN = gae(rewards_TN, values_TN, last, learner.config.gamma, learner.config.gae_lambda)
    flat_at = torch.cat(dec_at) if dec_at else torch.zeros(0, dtype=torch.long, device=dev)
    learner.episodes += B
    learner.env_steps += B * t
    return {
        "obs": torch.cat(dec_obs) if dec_obs else torch.zeros(0, D, device=dev),
        "mask": torch.cat(dec_mask) if dec_mask else torch.zeros(0, n_actions, dtype=torch.bool, device=dev),
        "action": torch.cat(dec_act) if dec_act else torch.zeros(0, dtype=torch.long, device=dev),
        "logp": torch.cat(dec_logp) if dec_logp else torch.zeros(0, device=dev),
        "adv": adv_TN.reshape(-1)[flat_at],
        "value_in": torch.cat(critic_in),
        "returns": (adv_TN + values_TN).reshape(-1),
        "day_return": float(rewards_TN.sum(dim=0).mean()),
        "ticks": t,
    }


def gae(
    rewards_TN: torch.Tensor, values_TN: torch.Tensor, last_N: torch.Tensor, gamma: float, lam: float
) -> torch.Tensor:
    """GAE(lambda) advantages ``[T, N]`` of ``N`` trajectories bootstrapped with ``last_N``."""
    adv_TN = torch.zeros_like(rewards_TN)
    running_N = torch.zeros_like(last_N)
    next_N = last_N
    for t in range(len(rewards_TN) - 1, -1, -1):
        delta_N = rewards_TN[t] + gamma * next_N - values_TN[t]
        running_N = delta_N + gamma * lam * running_N
        adv_TN[t] = running_N
        next_N = values_TN[t]
    return adv_TN


def update(learner: ItemMAPPO, batch: dict[str, Any]) -> dict[str, float]:
    """PPO epochs: the clipped surrogate on the decisions, value regression on every agent-tick."""
    cfg = learner.config
    stats: dict[str, list[float]] = {"policy_loss": [], "value_loss": [], "entropy": []}
    n_dec, n_all = len(batch["action"]), len(batch["returns"])
    for _ in range(cfg.update_epochs):
        perm_dec = torch.randperm(n_dec, generator=learner.torch_gen)
        perm_all = torch.randperm(n_all, generator=learner.torch_gen)
        for i in range(cfg.num_minibatches):
            mb = perm_dec[i * n_dec // cfg.num_minibatches : (i + 1) * n_dec // cfg.num_minibatches]
            if len(mb) > 1:
                dist = learner.actor.distribution(batch["obs"][mb], batch["mask"][mb])
                logp_B = learner.actor.log_prob(dist, batch["action"][mb])
                entropy_B = learner.actor.entropy(dist)
                policy_loss = clipped_surrogate(logp_B, batch["logp"][mb], batch["adv"][mb], cfg.clip_coef)
                learner.actor_opt.zero_grad()
                (policy_loss - cfg.ent_coef * entropy_B.mean()).backward()
                nn.utils.clip_grad_norm_(learner.actor.parameters(), cfg.max_grad_norm)
                learner.actor_opt.step()
                stats["policy_loss"].append(policy_loss.item())
                stats["entropy"].append(entropy_B.mean().item())
            vb = perm_all[i * n_all // cfg.num_minibatches : (i + 1) * n_all // cfg.num_minibatches]
            value_loss = 0.5 * ((learner.critic(batch["value_in"][vb])[:, 0] - batch["returns"][vb]) ** 2).mean()
            learner.critic_opt.zero_grad()
            value_loss.backward()
            nn.utils.clip_grad_norm_(learner.critic.parameters(), cfg.max_grad_norm)
            learner.critic_opt.step()
            stats["value_loss"].append(value_loss.item())
    learner.updates += 1
    return {"updates": learner.updates, **{k: float(np.mean(v)) if v else 0.0 for k, v in stats.items()}}


def learn_batched(
    learner: ItemMAPPO, env: Any, total_steps: int, callback: Callback | None = None
) -> list[dict[str, Any]]:
    """Alternate batched rollouts of ``env.num_days`` days and PPO updates until ``env_steps >= total_steps``.

    Args:
        learner: The item-scoring MAPPO learner (trained in place).
        env: A batched multi-agent env (module docstring).
        total_steps: Target of ``learner.env_steps`` (joint env steps: days x ticks).
        callback: Called with each update's history row; return False to stop.

    Returns:
        One row per update: env steps, days, mean return per agent-day, decisions, losses,
        wall-clock seconds and env steps per second (learner included).
    """
    history: list[dict[str, Any]] = []
    start = time.perf_counter()
    while learner.env_steps < total_steps:
        tick = time.perf_counter()
        batch = rollout(learner, env)
        stats = update(learner, batch)
        now = time.perf_counter()
        row = {
            "env_steps": learner.env_steps,
            "episode": learner.episodes,
            "return": batch["day_return"],
            "decisions": len(batch["action"]),
            **stats,
            "wall_s": now - start,
            "steps_per_s": env.num_days * batch["ticks"] / max(now - tick, 1e-9),
        }
        history.append(row)
        if callback is not None and callback(learner, row) is False:
            break
    return history

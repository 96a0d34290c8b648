"""Item-scoring MAPPO: a per-item actor with shared weights and a pooled centralised critic.

For envs whose observation is an *agent block* of ``agent_dim`` features followed by ``M``
*item rows* of ``item_dim`` features, and whose ``Discrete(M + 1)`` action is 0 = "none" or
``j + 1`` = item ``j`` (the museum's items mode, ``scenarios.museum.items``). The actor scores
every row with one network, so it knows what each action means, works for any ``M`` and any
number of agents, and a checkpoint trained on one floor plan runs on another:

* **score** ``s_j = beta · (x_j[prior] + g([x_j, a]))``: one prior column of the row holding a
  heuristic's score, corrected by an MLP ``g`` of the row and the agent block, at a learned
  inverse temperature ``beta`` (a *residual policy*: with ``g`` initialised near zero and
  ``beta`` large, the untrained policy is that heuristic, and PPO learns the correction in the
  prior's units); with ``prior_feature = -1`` (from scratch) ``s_j = g([x_j, a])``;
* **none** ``s_0 = beta · (c + h(a))`` (``h(a)`` alone from scratch): a learned offset ``c`` and
  an MLP of the agent block;
* actions are drawn from the masked softmax over ``[s_0, s_1 … s_M]`` (argmax when
  deterministic).

The critic is centralised and pooled, so it too is size-free: its input is the agent block,
the mean and the max of the valid item rows, and ``env.state()`` (a fixed-size pooled global
state in the museum's items mode). ``ItemMAPPO`` trains on the PettingZoo env with
:class:`agents.mappo.MAPPO`'s whole-episode rollouts, and on a batched tensor env with
:func:`agents.batched_ppo.learn_batched`.

Shape suffixes: B batch, M items, I item features, A actions (M + 1).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

from agents.base import Callback, Capabilities
from agents.mappo import MAPPO, MAPPOConfig
from agents.multi_agent import joint_obs_NO
from agents.networks import masked_logits, mlp


@dataclasses.dataclass(frozen=True, kw_only=True)
class ItemMAPPOConfig(MAPPOConfig):
    """Hyperparameters of :class:`ItemMAPPO` (the PPO ones as in :class:`MAPPOConfig`)."""

    hidden: tuple[int, ...] = (32,)
    """Hidden widths of the item scorer, the "none" head and the critic (small: they run per item)."""
    update_epochs: int = 3
    agent_dim: int = 10
    """Features of the agent block that starts each observation."""
    item_dim: int = 13
    """Features of each item row."""
    prior_feature: int = -1
    """Column of the item row holding a heuristic's score (the residual prior); -1 = none."""
    prior_scale: float = 20.0
    """Initial ``beta``: the inverse temperature of the prior's softmax."""
    actor_lr: float = 3e-4
    ent_coef: float = 0.0
    device: str = "cpu"
    """Torch device of the networks and of batched training (``cuda`` falls back to the CPU where
    there is none, so a GPU-trained checkpoint evaluates anywhere)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.agent_dim < 0 or self.item_dim < 1:
            raise ValueError("ItemMAPPOConfig: agent_dim >= 0 and item_dim >= 1")
        if not -1 <= self.prior_feature < self.item_dim:
            raise ValueError("ItemMAPPOConfig: prior_feature must be -1 or a column of the item row")


class ItemActor(nn.Module):
    """Scores item rows with shared weights; the policy is the masked softmax of the scores.

    Args:
        cfg: The learner's configuration (dims, prior, hidden widths).
    """

    def __init__(self, cfg: ItemMAPPOConfig) -> None:
        super().__init__()
        self.agent_dim, self.item_dim, self.prior = cfg.agent_dim, cfg.item_dim, cfg.prior_feature
        self.score = mlp(cfg.item_dim + cfg.agent_dim, 1, cfg.hidden, out_std=0.01)
        self.none = mlp(max(cfg.agent_dim, 1), 1, cfg.hidden, out_std=0.01)
        has_prior = self.prior >= 0
        self.beta = nn.Parameter(torch.tensor(cfg.prior_scale if has_prior else 0.0), requires_grad=has_prior)
        self.none_offset = nn.Parameter(torch.tensor(-1.0 if has_prior else 0.0))

    def split(self, obs_BO: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(agent block [B, agent_dim], item rows [B, M, item_dim])`` of flat observations."""
        n_items = (obs_BO.shape[1] - self.agent_dim) // self.item_dim
        if self.agent_dim + n_items * self.item_dim != obs_BO.shape[1]:
            raise ValueError(
                f"item_mappo: observation size {obs_BO.shape[1]} is not agent_dim {self.agent_dim} "
                f"+ M x item_dim {self.item_dim}"
            )
        return obs_BO[:, : self.agent_dim], obs_BO[:, self.agent_dim :].reshape(len(obs_BO), n_items, self.item_dim)

    def logits(self, obs_BO: torch.Tensor) -> torch.Tensor:
        """Unmasked scores ``[B, M + 1]``: column 0 is "none"."""
        agent_BX, items_BMI = self.split(obs_BO)
        paired = torch.cat([items_BMI, agent_BX[:, None, :].expand(-1, items_BMI.shape[1], -1)], dim=2)
        scores_BM = self.score(paired)[..., 0]
        none_in = agent_BX if self.agent_dim else obs_BO.new_zeros(len(obs_BO), 1)
        none_B = self.none(none_in)[:, 0] + self.none_offset
        if self.prior >= 0:  # the correction is in the prior's units; beta is the inverse temperature
            scores_BM = scores_BM + items_BMI[..., self.prior]
            return self.beta * torch.cat([none_B[:, None], scores_BM], dim=1)
        return torch.cat([none_B[:, None], scores_BM], dim=1)

    def distribution(self, obs_BO: torch.Tensor, mask_BA: torch.Tensor | None = None) -> Categorical:
        """The masked categorical over ``[none, item 0 … item M-1]``."""
        return Categorical(logits=masked_logits(self.logits(obs_BO), mask_BA))

    def log_prob(self, dist: Categorical, actions_B: torch.Tensor) -> torch.Tensor:
        """Log-probability of each row's action."""
        return dist.log_prob(actions_B.long().to(dist.logits.device))

    def entropy(self, dist: Categorical) -> torch.Tensor:
        """Entropy of each row's distribution."""
        return dist.entropy()

    def sample(self, dist: Categorical, generator: torch.Generator, deterministic: bool = False) -> torch.Tensor:
        """Draw with the learner's (CPU) generator, or take the most likely action; on the CPU."""
        if deterministic:
            return dist.probs.argmax(-1).cpu()
        return torch.multinomial(dist.probs.cpu(), 1, generator=generator).squeeze(-1)


def pooled(actor: ItemActor, obs_BO: torch.Tensor) -> torch.Tensor:
    """``[B, agent_dim + 2 item_dim]``: the agent block, the mean and the max of the valid rows.

    Column 0 of an item row is its validity (1 = may be chosen); a row with no valid item pools
    to zeros.
    """
    agent_BX, items_BMI = actor.split(obs_BO)
    valid_BM1 = (items_BMI[..., :1] > 0.5).to(items_BMI.dtype)
    count_B1 = valid_BM1.sum(dim=1).clamp(min=1.0)
    mean_BI = (items_BMI * valid_BM1).sum(dim=1) / count_B1
    masked = torch.where(valid_BM1 > 0, items_BMI, torch.full_like(items_BMI, -1.0))
    max_BI = torch.where(valid_BM1.sum(dim=1) > 0, masked.amax(dim=1), torch.zeros_like(mean_BI))
    return torch.cat([agent_BX, mean_BI, max_BI], dim=1)


class ItemMAPPO(MAPPO):
    """MAPPO with the item-scoring actor and the pooled centralised critic (module docstring).

    Args:
        env: A ParallelEnv with the item-row observation layout and ``Discrete(M + 1)`` actions
            (``env.state()`` feeds the critic).
        config: Hyperparameters (defaults if None).
        seed: Root seed.
    """

    name: ClassVar[str] = "item_mappo"
    config_cls: ClassVar[type] = ItemMAPPOConfig
    capabilities: ClassVar[Capabilities] = Capabilities(
        discrete_actions=True, continuous_actions=False, multi_agent=True, needs_global_state=True
    )

    def __init__(self, env: Any, config: ItemMAPPOConfig | None = None, seed: int = 0) -> None:
        super().__init__(env, config or ItemMAPPOConfig(), seed)
        cfg = self.config
        if not self.spec.discrete:
            raise ValueError("item_mappo: needs Discrete(M + 1) actions")
        wanted = torch.device(cfg.device)
        self.device = wanted if wanted.type == "cpu" or torch.cuda.is_available() else torch.device("cpu")
        self.actor = ItemActor(cfg).to(self.device)
        self.state_dim = self._state_dim()
        self.critic = mlp(cfg.agent_dim + 2 * cfg.item_dim + self.state_dim, 1, cfg.hidden, out_std=1.0).to(self.device)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr, eps=1e-5)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr, eps=1e-5)

    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Train on the PettingZoo env (:meth:`MAPPO.learn`; on the CPU only)."""
        if self.device.type != "cpu":
            raise ValueError("item_mappo: device cuda trains on a batched env only (learn_batched)")
        return super().learn(total_steps, callback)

    def _actor_in(self, idx: list[int], observations: dict[str, Any]) -> torch.Tensor:
        """The agents' own observations (no agent id: the actor is the same for every guide)."""
        return torch.as_tensor(joint_obs_NO(self.spec, observations)[idx]).to(self.device)

    def _value_in(self, idx: list[int], observations: dict[str, Any]) -> torch.Tensor:
        """Pooled own observation + ``env.state()`` (read at call time)."""
        state_S = torch.as_tensor(np.asarray(self.env.state(), np.float32).reshape(-1)).to(self.device)
        return self.value_input(self._actor_in(idx, observations), state_S.expand(len(idx), -1))

    def value_input(self, obs_BO: torch.Tensor, state_BS: torch.Tensor) -> torch.Tensor:
        """Critic input of a batch of observations and their days' states."""
        return torch.cat([pooled(self.actor, obs_BO), state_BS], dim=1)

    def act_tensor(self, obs_BO: torch.Tensor, mask_BA: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        """Actions ``[B]`` for a batch of observations and boolean masks (the batched engines' path).

        The actions are on the observations' device.
        """
        with torch.no_grad():
            dist = self.actor.distribution(obs_BO.float().to(self.device), mask_BA.to(self.device))
            return self.actor.sample(dist, self.torch_gen, deterministic).to(obs_BO.device)

    def state_dict(self) -> dict[str, Any]:
        """As :meth:`MAPPO.state_dict`, with every tensor on the CPU (loadable without a GPU)."""
        return _to_cpu(super().state_dict())

    def learn_batched(self, env: Any, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Train on a batched tensor env (:func:`agents.batched_ppo.learn_batched`)."""
        from agents.batched_ppo import learn_batched

        return learn_batched(self, env, total_steps, callback)


def _to_cpu(value: Any) -> Any:
    """``value`` with every tensor inside (dicts, lists, tuples) moved to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_cpu(v) for v in value)
    return value

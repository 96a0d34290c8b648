"""The batched museum as a TorchRL ``EnvBase``, in the multi-agent layout of TorchRL and BenchMARL.

:class:`MuseumTorchRLEnv` wraps :class:`scenarios.museum.batched.BatchedMuseumEnv` (``B`` days
side by side, ``K`` guides each) so that TorchRL collectors, losses and BenchMARL algorithms run
on it unchanged. ``scenarios.make_torchrl("museum-small", num_days=B)`` builds one. Its
tensordicts follow the layout of TorchRL's VMAS wrapper: ``batch_size=(B,)``, one agent group
``"guides"`` whose entries have shape ``(B, K, ...)``, and the done keys at the root:

| key | shape | spec |
| --- | --- | --- |
| `("guides", "observation")` | (B, K, D) float32 | `Unbounded`: the PettingZoo museum observation (flat or per-item) |
| `("guides", "action_mask")` | (B, K, M + 1) bool | valid actions (0 = no recommendation, always valid) |
| `("guides", "action")` | (B, K) int64 | `Categorical(M + 1)`, its mask updated every step |
| `("guides", "reward")` | (B, K, 1) float32 | the museum reward (``rewards.cooperation`` mix) |
| `"state"` | (B, S) float32 | `Unbounded`: the global state for centralised critics |
| `"done"`, `"terminated"`, `"truncated"` | (B, 1) bool | a day ends by truncation at closing time |

```python
import scenarios
from torchrl.envs.utils import check_env_specs

env = scenarios.make_torchrl("museum-small", num_days=32, seed=0)
check_env_specs(env)
data = env.rollout(240, policy=lambda td: td.set(("guides", "action"), env.heuristic_actions("crowd_aware")))
print(data["next", "guides", "reward"].sum(dim=(1, 2, 3)) / env.base.world.K)  # return per guide-day
```

Every day ends at the same tick, so a reset (after a day, or with any ``"_reset"`` entry) starts
the next ``B`` days for all of them, with the seeds of :meth:`BatchedMuseumEnv.reset`:
``set_seed(s)`` makes the next reset run days ``s .. s + B - 1``; later resets continue with
``s + B``, ``s + 2B`` and so on. A masked action taken anyway is ignored and counted by the
wrapped env (``env.base.infos()["invalid_action"]``), as in the PettingZoo env.

The observation and state specs take their sizes from the batched env, so they follow its
layout (``guides.observation``: flat or per-item) and are ``Unbounded``, as in VMAS. More
per-guide entries are one item of :data:`GROUP_FIELDS` each: a reader of the batched env giving
``(B, K, ...)`` tensors, with bounds where they are known; the specs are built from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from cpss.venue.config import VenueConfig
from scenarios.museum.batched import BatchedMuseumEnv

GROUP = "guides"
"""The agent group's key in the tensordicts (BenchMARL's group map: ``{"guides": [guide ids]}``)."""


@dataclass(frozen=True)
class GroupField:
    """One per-guide entry of the group: how to read it from the batched env and its bounds.

    Attributes:
        read: The batched env -> a ``(B, K, ...)`` tensor.
        low: Lower bound of every value (None: unbounded).
        high: Upper bound of every value (None: unbounded).
    """

    read: Callable[[BatchedMuseumEnv], torch.Tensor]
    low: float | None = None
    high: float | None = None


GROUP_FIELDS: dict[str, GroupField] = {
    "observation": GroupField(BatchedMuseumEnv.observe),
}
"""The group's observation entries (besides ``action_mask``), read after every reset and step."""


def _spec(field: GroupField, value: torch.Tensor, device: torch.device) -> Any:
    if field.low is None or field.high is None:
        return Unbounded(shape=value.shape, dtype=value.dtype, device=device)
    return Bounded(low=field.low, high=field.high, shape=value.shape, dtype=value.dtype, device=device)


class MuseumTorchRLEnv(EnvBase):
    """``num_days`` museum days as one TorchRL env with batch size ``(num_days,)`` (see the module docstring).

    Args:
        config: A shipped museum config name, a TOML path, or a validated config.
        num_days: Days run side by side (the batch size ``B``).
        seed: Root seed of the first reset (day ``b`` gets the visitors of seed ``seed + b``).
        device: Torch device of the world and of every tensordict.
        **overrides: Config overrides as for ``scenarios.make`` (``visitors={"count": 50}``).
    """

    def __init__(
        self,
        config: str | Path | VenueConfig = "museum-small",
        num_days: int = 64,
        seed: int = 0,
        device: str | torch.device = "cpu",
        **overrides: Any,
    ) -> None:
        base = BatchedMuseumEnv(config, num_days=num_days, seed=seed, device=device, **overrides)
        super().__init__(device=base.device, batch_size=torch.Size([base.num_days]))
        self.base = base
        self.group_map = {GROUP: list(base.possible_agents)}
        self._next_seed: int | None = None
        w = base.world
        B, K, n, dev = w.B, w.K, base.n_actions, base.device
        group = {name: _spec(field, field.read(base), dev) for name, field in GROUP_FIELDS.items()}
        group["action_mask"] = Categorical(n=2, shape=(B, K, n), dtype=torch.bool, device=dev)
        self.full_observation_spec = Composite(
            {
                GROUP: Composite(group, shape=(B, K), device=dev),
                "state": Unbounded(shape=(B, base.state_dim), dtype=torch.float32, device=dev),
            },
            shape=(B,),
            device=dev,
        )
        action = Categorical(n=n, shape=(B, K), dtype=torch.int64, device=dev)
        self.full_action_spec = Composite(
            {GROUP: Composite({"action": action}, shape=(B, K), device=dev)}, shape=(B,), device=dev
        )
        reward = Unbounded(shape=(B, K, 1), dtype=torch.float32, device=dev)
        self.full_reward_spec = Composite(
            {GROUP: Composite({"reward": reward}, shape=(B, K), device=dev)}, shape=(B,), device=dev
        )
        flag = Categorical(n=2, shape=(B, 1), dtype=torch.bool, device=dev)
        self.full_done_spec = Composite(
            {"done": flag.clone(), "terminated": flag.clone(), "truncated": flag.clone()}, shape=(B,), device=dev
        )

    # ------------------------------------------------------------------ EnvBase hooks
    def _set_seed(self, seed: int | None) -> None:
        """The next reset runs days ``seed .. seed + B - 1`` (None: keep counting on)."""
        self._next_seed = None if seed is None else int(seed)

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        """Start the next ``B`` days (all of them: every day ends at the same tick)."""
        seed, self._next_seed = self._next_seed, None
        _, infos = self.base.reset(seed=seed)
        done = torch.zeros(self.batch_size[0], 1, dtype=torch.bool, device=self.device)
        return self._output(infos["action_mask"], {"done": done, "terminated": done.clone(), "truncated": done.clone()})

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        """Apply ``("guides", "action")`` and advance every day one tick."""
        actions = tensordict.get((GROUP, "action"))
        _, rewards, terminations, truncations, infos = self.base.step(actions)
        terminated, truncated = terminations.all(dim=1, keepdim=True), truncations.all(dim=1, keepdim=True)
        return self._output(
            infos["action_mask"],
            {"done": terminated | truncated, "terminated": terminated, "truncated": truncated},
            rewards=rewards.unsqueeze(-1),
        )

    # ------------------------------------------------------------------ views
    def _output(
        self, mask: torch.Tensor, flags: dict[str, torch.Tensor], rewards: torch.Tensor | None = None
    ) -> TensorDictBase:
        """The tensordict of the current tick: group fields, the (B, K, M + 1) mask, state, flags (and rewards)."""
        base = self.base
        group = {name: field.read(base) for name, field in GROUP_FIELDS.items()}
        group["action_mask"] = mask
        if rewards is not None:
            group["reward"] = rewards
        self.full_action_spec[GROUP, "action"].update_mask(mask.clone())
        shape = (base.num_days, len(base.possible_agents))
        return TensorDict(
            {GROUP: TensorDict(group, batch_size=shape, device=self.device), "state": base.state(), **flags},
            batch_size=self.batch_size,
            device=self.device,
        )

    def heuristic_actions(self, policy: str) -> torch.Tensor:
        """(B, K) actions of a heuristic guide policy for the current tick (``BatchedMuseumEnv.heuristic_actions``)."""
        return self.base.heuristic_actions(policy)

    def max_steps(self) -> int:
        """Ticks in one day (every day of the batch has the same number)."""
        w = self.base.world
        return round(w.day_minutes / w.dt)

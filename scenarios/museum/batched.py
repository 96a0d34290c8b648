"""The museum as a batched multi-agent env: thousands of days in one torch program.

:class:`BatchedMuseumEnv` runs ``num_days`` museum days side by side on CPU or CUDA
(:class:`cpss.batched.venue.BatchedVenue`) and speaks tensors: every call takes and returns
``(B, K, ...)`` tensors for ``B`` days and ``K`` guides, with the same observation layout,
action space, mask and reward as the PettingZoo museum env (:mod:`scenarios.museum`), so a
policy trained on one runs on the other. All days share the clock: they end together (by
truncation at closing time), and :meth:`BatchedMuseumEnv.reset` starts the next ``B`` days.

```python
import torch
from scenarios.museum.batched import BatchedMuseumEnv

env = BatchedMuseumEnv("museum-small", num_days=64, seed=0, device="cpu")
obs, infos = env.reset()                    # obs (64, 8, 99) float32
actions = env.heuristic_actions("crowd_aware")
obs, rewards, terminations, truncations, infos = env.step(actions)
print(obs.shape, rewards.shape, infos["action_mask"].shape)
```

Day ``b`` after ``reset(seed=s)`` has the visitors of the numpy day ``VenueModel(seed=s + b)``;
the dynamics draw from one torch generator seeded with ``s`` and agree with the numpy path in
distribution (docs/performance.md, "Scale beyond one core").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from cpss.batched.decisions import decision_view, heuristic
from cpss.batched.io import summary
from cpss.batched.venue import BatchedVenue
from cpss.kit.config import ConfigError
from cpss.venue.config import POLICIES, VenueConfig
from cpss.venue.equations import attention_torch
from cpss.venue.users import Activity
from scenarios.museum import OCC_SCALE, items

A = Activity


class BatchedMuseumEnv:
    """``num_days`` museum days as one batched multi-agent env (see the module docstring).

    Args:
        config: A shipped museum config name, a TOML path, or a validated config.
        num_days: Days run side by side (B).
        seed: Root seed of the first reset (day ``b`` gets the visitors of seed ``seed + b``).
        device: Torch device.
        dtype: Float dtype of the world state (observations are always float32).
        **overrides: Config overrides as for ``scenarios.make`` (``visitors={"count": 50}``).
    """

    def __init__(
        self,
        config: str | Path | VenueConfig = "museum-small",
        num_days: int = 1024,
        seed: int = 0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        **overrides: Any,
    ) -> None:
        if not isinstance(config, VenueConfig):
            from scenarios import load_config

            config = load_config("museum", config, overrides)
        elif overrides:
            raise ConfigError("overrides: give them with a config name or path, not with a config object")
        self.world = BatchedVenue(config, num_days, seed=seed, device=device, dtype=dtype)
        w = self.world
        self.num_days, self.device = w.B, w.device
        self.possible_agents = [f"guide_{k}" for k in range(w.K)]
        self.observation_mode = config.guides.observation
        self.n_actions = w.M + 1
        if self.observation_mode == "items":
            self.observation_dim, self.state_dim = items.A_DIM + w.M * items.I_DIM, items.S_DIM
        else:
            self.observation_dim = 4 * w.N + w.T + w.M + 5
            self.state_dim = w.N + w.K * (w.N + 4 + w.T + w.M) + 1 + 2 * w.N
        self._next_seed = int(seed) + w.B
        self._invalid = torch.zeros(w.B, w.K, dtype=torch.long, device=w.device)
        self._fresh = True

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Start ``B`` new days (seeds ``seed .. seed + B - 1``; without ``seed``, the next ``B``)."""
        if seed is not None and seed < 0:
            raise ValueError(f"seed: must be >= 0 (got {seed})")
        if not self._fresh or seed is not None:
            seed = self._next_seed if seed is None else int(seed)
            self.world.reset(seed)
            self._next_seed = seed + self.num_days
        self._fresh = False
        self._invalid.zero_()
        return self.observe(), self.infos()

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        """Apply ``(B, K)`` actions (0 = none, ``j + 1`` = exhibit ``j``) and advance every day one tick.

        Returns:
            ``(obs (B, K, D), rewards (B, K), terminations (B, K), truncations (B, K), infos)``;
            infos holds ``action_mask`` (B, K, M + 1), ``invalid_action`` (B, K) counts and
            ``idle`` (B, K).
        """
        w = self.world
        if not w.running:
            raise RuntimeError("step() called after the day ended; call reset()")
        acts = torch.as_tensor(actions, device=self.device).long()
        if acts.shape != (w.B, w.K):
            raise ValueError(f"actions: shape {tuple(acts.shape)} != (num_days, guides) = {(w.B, w.K)}")
        if acts.numel() and (int(acts.min()) < 0 or int(acts.max()) >= self.n_actions):
            raise ValueError(f"actions: values must be in [0, {self.n_actions - 1}]")
        self._fresh = False
        flat = acts.reshape(-1)
        ok = self.action_masks().reshape(-1, self.n_actions).gather(1, flat[:, None])[:, 0]
        idle = w.guides.visitor < 0
        w.set_recommendations(torch.where(ok & ~idle, flat - 1, torch.full_like(flat, -1)))
        self._invalid += (~ok & ~idle).view(w.B, w.K)
        w.step()
        rewards = self.rewards()
        done = torch.full((w.B, w.K), not w.running, dtype=torch.bool, device=self.device)
        return self.observe(), rewards, torch.zeros_like(done), done, self.infos()

    # ------------------------------------------------------------------ views
    def _visitor_block(self) -> tuple[torch.Tensor, ...]:
        w = self.world
        p, rows = w.pop, w.slot_rows()
        idle = w.guides.visitor < 0
        live = (~idle).to(w.dtype)
        zone = torch.nn.functional.one_hot(p.zone[rows].clamp(min=0), w.N).to(w.dtype) * live[:, None]
        entered = p.entered[rows]
        elapsed = torch.where(torch.isnan(entered), torch.zeros_like(entered), w.minute - entered)
        budget = p.budget[rows].clamp(min=1e-9)
        time_left = ((budget - elapsed) / budget).clamp(0.0, 1.0) * live
        att = attention_torch(elapsed, p.walked[rows], w.params.fatigue)
        fatigue = torch.where(idle, torch.zeros_like(att), 1.0 - att)
        deciding = ((p.state[rows] == A.DECIDING) & ~idle).to(w.dtype)
        return idle, live, zone, time_left, fatigue, deciding

    def _context(self) -> torch.Tensor:
        """(B, 1 + 2N): time of day, closed rooms, noise."""
        w = self.world
        day = torch.full((w.B, 1), min(1.0, w.minute / w.day_minutes), dtype=w.dtype, device=self.device)
        return torch.cat([day, w.zone_closed.expand(w.B, w.N), w.noise], dim=1)

    def observe(self) -> torch.Tensor:
        """(B, K, D) float32 observations, laid out as in :mod:`scenarios.museum` (or :mod:`~scenarios.museum.items`)."""
        w = self.world
        if self.observation_mode == "items":
            return self._item_observe()
        idle, live, zone, time_left, fatigue, deciding = self._visitor_block()
        sensed = (w.sensed / w.comfort / OCC_SCALE).clamp(0.0, 1.0)
        per_day = torch.cat([sensed, self._context()], dim=1).repeat_interleave(w.K, dim=0)
        obs = torch.cat(
            [
                zone,
                time_left[:, None],
                fatigue[:, None],
                w.guides.estimate * live[:, None],
                w.pop.visited[w.slot_rows()].to(w.dtype) * live[:, None],
                deciding[:, None],
                per_day,
                idle[:, None].to(w.dtype),
            ],
            dim=1,
        )
        return obs.clamp(0.0, 1.0).to(torch.float32).view(w.B, w.K, self.observation_dim)

    def _item_observe(self) -> torch.Tensor:
        """(B, K, A + M·I) per-item observations (:mod:`scenarios.museum.items`)."""
        w = self.world
        idle, _, _, time_left, fatigue, deciding = self._visitor_block()
        view, rows = decision_view(w), w.slot_rows()
        user_zone = w.pop.zone[rows].clamp(min=0)
        party = torch.where(idle, torch.ones_like(time_left), w.board.group_size[rows])
        on = torch.nonzero(view.active).flatten()  # rows are filled only for slots that decide now
        load = w.board.load().repeat_interleave(w.K, dim=0)
        rows_items = torch.zeros(w.B * w.K, w.M, items.I_DIM, dtype=w.dtype, device=self.device)
        rows_items[on] = items.item_rows(
            mask=view.mask[on], match=view.match[on], novelty=view.novelty[on], walk=view.walk[on],
            crowd_density=view.crowd_density[on], attraction=w.attraction, popularity=view.popularity[on],
            load=load[on], area=w.area, item_zone=w.item_zone, user_zone=user_zone[on], party=party[on],
            guide=w.params.guide, f=w.params.f,
        )  # fmt: skip
        sensed = (w.sensed / w.comfort / OCC_SCALE).clamp(0.0, 1.0).repeat_interleave(w.K, dim=0)
        agents = items.agent_rows(
            time_left=time_left, fatigue=fatigue, deciding=deciding, idle=idle,
            time_of_day=torch.full_like(time_left, min(1.0, w.minute / w.day_minutes)), party=party,
            sensed_ratio=sensed, user_zone=user_zone, mask=view.mask,
        )  # fmt: skip
        return items.observations(agents, rows_items).view(w.B, w.K, self.observation_dim)

    def state(self) -> torch.Tensor:
        """(B, S) float32 global state per day, laid out as ``MuseumScenario.state`` (or pooled in items mode)."""
        w = self.world
        if self.observation_mode == "items":
            idle = (w.guides.visitor < 0).view(w.B, w.K)
            deciding = self._visitor_block()[5].view(w.B, w.K) > 0
            return items.pooled_state(
                occupancy_ratio=w.occupancy.to(w.dtype) / w.comfort,
                time_of_day=torch.full((w.B,), min(1.0, w.minute / w.day_minutes), dtype=w.dtype, device=self.device),
                present=w.present.view(w.B, w.V).to(w.dtype).mean(dim=1)
                if w.V
                else torch.zeros(w.B, device=self.device),
                idle=idle,
                deciding=deciding,
            )
        idle, live, zone, time_left, fatigue, deciding = self._visitor_block()
        rows = w.slot_rows()
        slots = torch.cat(
            [
                zone,
                time_left[:, None],
                fatigue[:, None],
                deciding[:, None],
                idle[:, None].to(w.dtype),
                w.pop.interest[rows] * live[:, None],
                w.pop.visited[rows].to(w.dtype) * live[:, None],
            ],
            dim=1,
        ).view(w.B, w.K * (w.N + 4 + w.T + w.M))
        occ = (w.occupancy.to(w.dtype) / w.comfort / OCC_SCALE).clamp(0.0, 1.0)
        return torch.cat([occ, slots, self._context()], dim=1).clamp(0.0, 1.0).to(torch.float32)

    def action_masks(self) -> torch.Tensor:
        """(B, K, M + 1) bool; column 0 (no recommendation) is always valid."""
        w = self.world
        view = decision_view(w)
        mask = torch.ones(w.B * w.K, self.n_actions, dtype=torch.bool, device=self.device)
        mask[:, 1:] = view.mask
        return mask.view(w.B, w.K, self.n_actions)

    def infos(self) -> dict[str, torch.Tensor]:
        """Masks, idle slots and invalid-action counts, each (B, K, ...)."""
        w = self.world
        return {
            "action_mask": self.action_masks(),
            "idle": (w.guides.visitor < 0).view(w.B, w.K),
            "invalid_action": self._invalid.clone(),
        }

    def rewards(self) -> torch.Tensor:
        """(B, K): own visitor's gain this tick mixed with the day's mean gain (``rewards.cooperation``)."""
        w = self.world
        p, g = w.pop, w.guides
        own = torch.where(g.visitor >= 0, p.gain[w.slot_rows()], torch.zeros_like(p.gain[w.slot_rows()]))
        counted = (w.present | (p.gain != 0)).view(w.B, w.V)
        mean = (p.gain.view(w.B, w.V) * counted).sum(dim=1) / counted.sum(dim=1).clamp(min=1)
        c = w.config.rewards.cooperation
        return ((1.0 - c) * own.view(w.B, w.K) + c * mean[:, None]).to(torch.float32)

    def heuristic_actions(self, policy: str) -> torch.Tensor:
        """(B, K) actions of a heuristic guide policy (exhibit + 1, or 0)."""
        if policy not in POLICIES:
            raise ValueError(f"unknown heuristic policy {policy!r}; choose from {', '.join(POLICIES)}")
        w = self.world
        return (heuristic(w, policy, decision_view(w)) + 1).view(w.B, w.K)

    def summary(self) -> dict[str, torch.Tensor]:
        """Every day's metrics so far (``cpss.venue.metrics`` names), each a (B,) tensor."""
        return summary(self.world)

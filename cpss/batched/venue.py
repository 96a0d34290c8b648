"""Many independent venue days in one torch program (CPU or CUDA).

:class:`BatchedVenue` runs ``B`` days of the venue of :mod:`cpss.venue.model` side by side. Its tick
is the same sequence of kernels (decide → arrive → walk → queue → view → leave → bind →
refresh) with the same equations, written in torch over *flat* arrays: visitor ``v`` of day
``b`` is row ``b · V + v``, guide ``k`` of day ``b`` is slot ``b · K + k``, and per-zone and
per-item fields are ``(B, N)`` and ``(B, M)``. A batch of days is one big world made of ``B``
disconnected copies of the floor, so every kernel of the numpy path carries over with global
bin indices (``b · N + zone``) and no Python loop over days or visitors.

**What is shared and what is not.** All days share one floor plan (so the config must fix it:
``floor.layout_seed`` or ``floor.file``) and one clock. Day ``b`` of a batch reset with seed
``s`` draws its visitors exactly as ``VenueModel(config, seed=s + b)`` does (the same numpy
calls on ``np.random.default_rng(s + b)``), so a batched day and a numpy day with the same seed
start with the same visitors. The dynamics then draw from one ``torch.Generator`` seeded with
``s``, in a different order than the numpy path, so the two agree *in distribution*, not draw by
draw: ``tests/test_batched.py`` checks day metrics of paired days, and checks the observation,
mask, reward and metric kernels exactly on states imported from numpy models
(:mod:`cpss.batched.io`).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from cpss.batched import ops
from cpss.batched.decisions import TorchBoard, decide, start_leaving
from cpss.batched.movement import arrive, walk
from cpss.kit.config import ConfigError
from cpss.kit.context import active, noisy_count_torch
from cpss.kit.fparams import FELT
from cpss.kit.model import DayClock
from cpss.kit.personalisation import crowd_cost_torch, crowd_memory, item_part_torch, utility_torch, walk_part
from cpss.venue import equations as eq
from cpss.venue.config import VenueConfig
from cpss.venue.model import VenueModel
from cpss.venue.users import FLOAT_STATE, Activity

A = Activity
VISITOR_FLOATS = FLOAT_STATE  # the per-visitor float state of cpss.venue.users.Population
DAY_COUNTERS = ("offers", "accepts", "views", "wait_sum", "congestion_minutes", "peak_ratio", "entry_queue_minutes")


class BatchedVenue(DayClock):
    """``num_days`` venue days in one tensor program (see the module docstring); all share one clock.

    Args:
        config: The venue config (its floor must be fixed by ``layout_seed`` or ``file``).
        num_days: Days in the batch (B).
        seed: Root seed; day ``b`` has the visitors of seed ``seed + b``.
        device: Torch device ("cpu", "cuda", ...).
        dtype: Float dtype of the state (float32 is fast; float64 matches numpy to rounding).
        policy: Heuristic guide policy used when no recommendations are set (default: config).
    """

    def __init__(
        self,
        config: VenueConfig,
        num_days: int,
        seed: int = 0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        policy: str | None = None,
    ) -> None:
        if config.floor.file is None and config.floor.layout_seed is None:
            raise ConfigError("floor.layout_seed: the batched venue needs a fixed floor plan (set it, or floor.file)")
        if config.visitors.count < 1:
            raise ConfigError("visitors.count: the batched venue needs at least one visitor per day")
        if num_days < 1:
            raise ConfigError(f"num_days: must be >= 1 (got {num_days})")
        self.config, self.B, self.device, self.dtype = config, int(num_days), torch.device(device), dtype
        probe = VenueModel(config, seed=seed, policy=policy)  # static tables, validation, styles
        self.probe, self.policy = probe, probe.policy
        fl = probe.floor
        self.N, self.M, self.T, self.K = fl.n_zones, fl.n_items, len(fl.topics), config.guides.count
        self.V = config.visitors.count
        self.dt, self.day_minutes, self.entrance = probe.dt, probe.day_minutes, fl.entrance
        self.params = probe.params
        t = self._t
        self.features, self.item_zone = t(fl.item_features), t(fl.item_zone, torch.long)
        self.attraction, self.item_dwell = t(fl.item_attraction), t(fl.item_dwell)
        self.item_cap = t(fl.item_capacity)
        self.capacity, self.comfort, self.area = t(probe.capacity, torch.long), t(probe.comfort), t(probe.area)
        self.dist, self.izd = t(fl.dist_min), t(probe.item_zone_dist)
        self.neighbours, self.degree = t(probe.neighbours, torch.long), t(probe.degree)
        self.next_hop = t(probe.next_hop, torch.long)
        self.consider = t(probe.consider, torch.long)
        # Per-zone tables of the consideration sets (rows: a chooser's zone), built once.
        self.consider_safe = self.consider.clamp(min=0)
        rooms = torch.arange(self.N, device=self.device)[:, None]
        self.consider_here = self.item_zone[self.consider_safe] == rooms
        self.consider_walk = walk_part(self.izd[rooms, self.consider_safe], self.params.w, self.params.f)
        self.style = {k: t(v) for k, v in probe.style_table._asdict().items()}
        self.reset(seed)

    def _t(self, x: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x), dtype=dtype or self.dtype, device=self.device)

    # ------------------------------------------------------------------ reset
    def reset(self, seed: int) -> None:
        """Start ``B`` fresh days: day ``b`` gets the visitors of ``VenueModel(config, seed=seed + b)``."""
        B, V, N, K, t = self.B, self.V, self.N, self.K, self._t
        self.seed, self.minute, self.running, self._version = int(seed), 0.0, True, 0
        self.gen = torch.Generator(device=self.device).manual_seed(int(seed))
        days = [self._sample_day(seed + b) for b in range(B)]
        p = self.pop = SimpleNamespace()
        for name in ("arrival", "style", "budget", "interest", "trust", "has_device", "leader", "top_items"):
            arr = np.concatenate([getattr(d[0], name) for d in days])
            setattr(p, name, t(arr, None if arr.dtype.kind == "f" else torch.long))
        p.has_device = p.has_device.bool()
        self.day = torch.arange(B * V, device=self.device) // max(V, 1)
        p.leader = p.leader + self.day * V
        p.is_leader = p.leader == torch.arange(B * V, device=self.device)
        p.state = torch.full((B * V,), int(A.OUTSIDE), dtype=torch.int8, device=self.device)
        for name in ("zone", "target_item", "target_zone", "slot"):
            setattr(p, name, torch.full((B * V,), -1, dtype=torch.long, device=self.device))
        for name in VISITOR_FLOATS:
            setattr(p, name, torch.zeros(B * V, dtype=self.dtype, device=self.device))
        p.entered = torch.full((B * V,), float("nan"), dtype=self.dtype, device=self.device)
        p.leaving, p.guided = (torch.zeros(B * V, dtype=torch.bool, device=self.device) for _ in range(2))
        p.satiation = torch.zeros(B * V, self.T, dtype=self.dtype, device=self.device)
        p.n_viewed, p.top_seen = (torch.zeros(B * V, dtype=torch.long, device=self.device) for _ in range(2))
        p.visited = torch.zeros(B * V, self.M, dtype=torch.bool, device=self.device)
        g = self.guides = SimpleNamespace()
        g.visitor = torch.full((B * K,), -1, dtype=torch.long, device=self.device)
        g.recommendation = g.visitor.clone()
        g.estimate = torch.zeros(B * K, self.T, dtype=self.dtype, device=self.device)
        g.offered, g.accepted = (torch.zeros(B * K, dtype=torch.long, device=self.device) for _ in range(2))
        self.base_noise = t(np.stack([d[1] for d in days]))
        self.sensed = torch.zeros(B, N, dtype=self.dtype, device=self.device)
        self.reading = torch.zeros_like(self.sensed)  # the sensors' fresh reading (``sensed`` is what guides see)
        self.board = TorchBoard(self, round(self.config.context.sensors.delay / self.dt))
        self.popularity = torch.zeros(B, self.M, dtype=self.dtype, device=self.device)
        for name in DAY_COUNTERS:
            setattr(self, name, torch.zeros(B, dtype=self.dtype, device=self.device))
        self._external: torch.Tensor | None = None
        self._view_cache: tuple[int, ops.TorchView] | None = None
        self.refresh()

    def _sample_day(self, seed: int) -> tuple:
        """The visitors and base noise of one day, drawn as ``VenueModel(seed=seed)`` draws them."""
        rng = np.random.default_rng(seed)
        return self.probe.draw_visitors(rng), self.probe.draw_base_noise(rng)

    # ------------------------------------------------------------------ helpers
    @property
    def present(self) -> torch.Tensor:
        """(BV,) users inside."""
        s = self.pop.state
        return (s != A.OUTSIDE) & (s != A.LEFT)

    def attention_of(self, idx: torch.Tensor) -> torch.Tensor:
        """Attention of flat users ``idx`` now."""
        p = self.pop
        return eq.attention_torch(self.minute - p.entered[idx], p.walked[idx], self.params.fatigue)

    def slot_rows(self) -> torch.Tensor:
        """(BK,) flat row of each guide's user; idle guides get their day's first row (as ``VenueModel``)."""
        g = self.guides.visitor
        first = torch.arange(self.B * self.K, device=self.device) // max(self.K, 1) * self.V
        return torch.where(g >= 0, g, first)

    def _flag(self, users: torch.Tensor) -> torch.Tensor:
        mark = torch.zeros(self.B * self.V, dtype=torch.bool, device=self.device)
        mark[users] = True
        return mark

    def _rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=self.gen, device=self.device, dtype=self.dtype)

    def _randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=self.gen, device=self.device, dtype=self.dtype)

    def set_recommendations(self, items: torch.Tensor) -> None:
        """Recommendations (B, K) or (BK,) (item, -1 for none) for the next tick's decisions."""
        self._external = torch.as_tensor(items, dtype=torch.long, device=self.device).reshape(-1)

    # ------------------------------------------------------------------ the tick
    def step(self) -> None:
        """Advance every day by one tick (the sequence of :meth:`cpss.venue.model.VenueModel.step`)."""
        if not self.running:
            raise RuntimeError("the day is over: call reset() first")
        self.pop.gain.zero_()
        decide(self)
        self.minute += self.dt
        arrive(self)
        walk(self)
        self._queue()
        self._view()
        self._leave()
        self._bind_guides()
        self.refresh()
        self._version += 1

    def refresh(self) -> None:
        """Per-tick crowd and context fields, sensors, congestion and the item-level part of ``f``."""
        p, B, N, M = self.pop, self.B, self.N, self.M
        present = self.present
        self.occupancy = ops.counts(self.day * N + p.zone, present, B * N).view(B, N)
        item_idx = self.day * M + p.target_item
        self.viewers = ops.counts(item_idx, p.state == A.VIEWING, B * M).view(B, M).to(self.dtype)
        self.queue_len = ops.counts(item_idx, p.state == A.QUEUING, B * M).view(B, M).to(self.dtype)
        occ = self.occupancy.to(self.dtype)
        self.density = eq.density(occ, self.area)
        self.zone_closed = self._t(active(self.probe.closures, N, self.minute))
        self.zone_event = self._t(active(self.probe.events, N, self.minute))
        ratio = occ / self.comfort
        self.noise = eq.zone_noise_torch(self.base_noise, occ, self.comfort, self.params.crowd)
        self.crowd_noise = eq.occupancy_noise_torch(occ, self.comfort, self.params.crowd)
        s = self.probe.sensors.params
        noisy = noisy_count_torch(occ, self._randn(B, N), self._randn(B, N), s)
        self.reading = torch.where(self._rand(B, N) < s.dropout, self.reading, noisy)
        self.sensed = self.board.push(self, self.reading)
        self.peak_ratio = torch.maximum(self.peak_ratio, ratio.amax(dim=1) if N else self.peak_ratio)
        crowded = present & (self.density.reshape(-1)[self.day * N + p.zone.clamp(min=0)] > self.params.f.rho_star)
        p.congested_min += self.dt * crowded
        self.congestion_minutes += self.dt * crowded.view(B, -1).sum(dim=1)
        held = (p.state == A.OUTSIDE) & (p.arrival <= self.minute)  # at a full entrance after their arrival time
        self.entry_queue_minutes += self.dt * held.view(B, -1).sum(dim=1)
        self.derive_item_fields()

    def derive_item_fields(self) -> None:
        """Open items, expected waits and the item-level part of ``f``, from this tick's crowd and context."""
        self.open = self.zone_closed[self.item_zone] == 0
        self.consider_open = (self.consider >= 0) & self.open[self.consider_safe]
        self.wait = eq.expected_wait_torch(self.queue_len, self.viewers, self.item_cap, self.item_dwell)
        iz, prm = self.item_zone, self.params
        self.view_density = eq.view_density(self.viewers, self.queue_len, self.item_cap, prm.crowd)
        self.item_part = item_part_torch(
            self.viewers, self.density[:, iz], self.view_density, self.wait, self.crowd_noise[:, iz],
            self.base_noise[:, iz], self.zone_event[iz], self.attraction, prm.w, prm.f,
        )  # fmt: skip

    def _queue(self) -> None:
        p, M = self.pop, self.M
        q = torch.nonzero(p.state == A.QUEUING).flatten()
        give_up = self.minute - p.queue_since[q] > self.params.crowd.queue_patience
        p.state[q[give_up]] = int(A.DECIDING)
        q = q[~give_up]
        viewing = ops.counts(self.day * M + p.target_item, p.state == A.VIEWING, self.B * M)
        free = self.item_cap.repeat(self.B) - viewing
        ok = ops.admit(self.gen, q, self.day[q] * M + p.target_item[q], free, p.queue_since[q])
        p.trip_wait[ok] += self.minute - p.queue_since[ok]
        p.wait_total[ok] += p.trip_wait[ok]
        d = self.day[ok]
        self.wait_sum.index_add_(0, d, p.trip_wait[ok])
        self.views.index_add_(0, d, torch.ones_like(p.trip_wait[ok]))
        item = p.target_item[ok]
        match = (p.interest[ok] * self.features[item]).sum(dim=1)
        mult = self.style["dwell_mult"][p.style[ok]]
        prm = self.params
        quality = eq.viewing_quality_torch(self.view_density[d, item], prm.w, prm.f, prm.crowd)
        p.dwell_left[ok] = eq.dwell_time_torch(
            self.item_dwell[item], mult, match, quality, self._randn(ok.numel()), prm.dwell
        )
        p.state[ok] = int(A.VIEWING)

    def _view(self) -> None:
        p, g = self.pop, self.guides
        viewing = torch.nonzero(p.state == A.VIEWING).flatten()
        p.dwell_left[viewing] -= self.dt
        done = viewing[p.dwell_left[viewing] <= 0]
        if done.numel() == 0:
            return
        item, zone, d = p.target_item[done], p.zone[done], self.day[done]
        feats = self.features[item]
        match = (p.interest[done] * feats).sum(dim=1)
        prm = self.params
        gain = utility_torch(  # scored with the experienced weights, not the decision weights (docs/model.md §2.4)
            w=FELT,
            p=prm.f,
            match=match,
            attention=self.attention_of(done),
            exposure=(p.satiation[done] * feats).sum(dim=1),
            trust=p.trust[done],
            guided=p.guided[done].to(self.dtype),
            viewers=(self.viewers[d, item] - 1).clamp(min=0),
            density=self.density[d, zone],
            view_density=self.view_density[d, item],
            queue_wait=p.trip_wait[done],
            crowd_noise=self.crowd_noise[d, zone],
            noise=self.base_noise[d, zone],
            event=self.zone_event[zone],
            attraction=self.attraction[item],
            walk_min=p.trip_walk[done],
        )
        cost = crowd_cost_torch(
            self.density[d, zone], self.view_density[d, item], p.trip_wait[done], self.crowd_noise[d, zone], prm.f
        )
        before = crowd_memory(p.crowd_peak[done], p.crowd_last[done], FELT, prm.f)
        p.crowd_peak[done] = torch.maximum(p.crowd_peak[done], cost)
        p.crowd_last[done] = cost
        remembered = crowd_memory(p.crowd_peak[done], p.crowd_last[done], FELT, prm.f) - before
        p.satisfaction[done] += gain + remembered
        p.gain[done] += gain + remembered
        p.satiation[done] += feats
        p.visited[done, item] = True
        p.n_viewed[done] += 1
        p.top_seen[done] += (p.top_items[done] == item[:, None]).any(dim=1)
        self.popularity.view(-1).index_add_(0, d * self.M + item, torch.ones_like(gain))
        sel = p.slot[done] >= 0
        k = p.slot[done[sel]]
        signal = eq.observed_match(match[sel], self._randn(k.numel()), self.params.guide)
        g.estimate[k] = ops.update_estimate(g.estimate[k], feats[sel], signal, self.params.guide)
        was = p.guided[done]
        tg = done[was]
        p.trust[tg] = eq.trust_update_torch(p.trust[tg], gain[was], self.params.guide)
        p.guided[done] = False
        p.state[done] = int(A.DECIDING)

    def _leave(self) -> None:
        p = self.pop
        if self.closed:
            self._exit(torch.nonzero(self.present).flatten())
            self.running = False
            return
        d = torch.nonzero((p.state == A.DECIDING) & ~p.leaving).flatten()
        elapsed = self.minute - p.entered[d]
        out = eq.tired(elapsed, p.budget[d], self.attention_of(d), self.params.fatigue)
        start_leaving(self, d[out])

    def _exit(self, users: torch.Tensor) -> None:
        p = self.pop
        self.occupancy.view(-1).index_add_(0, self.day[users] * self.N + p.zone[users], -torch.ones_like(users))
        p.state[users] = int(A.LEFT)
        k = p.slot[users]
        self.guides.visitor[k[k >= 0]] = -1
        p.slot[users] = -1

    def _bind_guides(self) -> None:
        g, p, B, V, K = self.guides, self.pop, self.B, self.V, self.K
        free = (g.visitor < 0).view(B, K)
        if K == 0 or V == 0:
            return
        waiting = (self.present & p.has_device & (p.slot < 0) & ~p.leaving).view(B, V)
        key = torch.where(waiting, p.entered.view(B, V), torch.full_like(p.entered.view(B, V), torch.inf))
        order = torch.sort(key, dim=1, stable=True).indices
        rank = free.long().cumsum(dim=1) - 1
        assign = free & (rank < waiting.sum(dim=1, keepdim=True))
        b, k = torch.nonzero(assign, as_tuple=True)
        users = order[b, rank[b, k]] + b * V
        slots = b * K + k
        g.visitor[slots] = users
        p.slot[users] = slots
        noisy = p.interest[users] + self.config.guides.profile_noise * self._randn(users.numel(), self.T)
        noisy = noisy.clamp(min=0.0) + 1e-6
        g.estimate[slots] = noisy / torch.linalg.vector_norm(noisy, dim=1, keepdim=True)

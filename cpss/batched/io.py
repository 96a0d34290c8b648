"""Metrics of a batch of days, and import of numpy days into a batch.

* :func:`summary` — every metric of :mod:`cpss.venue.metrics` for every day of a
  :class:`cpss.batched.venue.BatchedVenue`, as ``(B,)`` tensors, the externality and fairness
  metrics (:func:`cpss.venue.metrics.fairness`, docs/metrics.md) included;
* :func:`from_models` — a batch whose day ``b`` is the current state of the numpy
  :class:`cpss.venue.model.VenueModel` ``models[b]`` (to continue those days in torch, or to check the
  torch kernels against the numpy ones on the same state, as ``tests/test_batched.py`` does).
"""

from __future__ import annotations

import numpy as np
import torch

from cpss.batched.venue import DAY_COUNTERS, VISITOR_FLOATS, BatchedVenue
from cpss.venue.metrics import fairness_names, fairness_values
from cpss.venue.model import VenueModel
from cpss.venue.users import Activity

A = Activity


def _masked_sort(values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows sorted ascending with masked-out entries last (+inf), and the count per row."""
    x = torch.where(mask, values, torch.full_like(values, torch.inf))
    return torch.sort(x, dim=1).values, mask.sum(dim=1)


def _gini(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Gini coefficient of each row's masked values clipped at 0 (0 for no value or a zero sum).

    The form of :func:`cpss.kit.stats.gini`: ``sum((2 r - n - 1) x_(r)) / (n sum x)`` over the
    sorted values ``x_(1) <= ... <= x_(n)``.
    """
    clipped, n = _masked_sort(values.clamp(min=0.0), mask)
    ranks = torch.arange(1, values.shape[1] + 1, device=values.device, dtype=values.dtype)[None, :]
    x = torch.where(ranks <= n[:, None], clipped, torch.zeros_like(clipped))
    total = x.sum(dim=1)
    g = ((2 * ranks - n[:, None] - 1) * x).sum(dim=1) / (n.to(values.dtype).clamp(min=1) * total.clamp(min=1e-300))
    return torch.where((n > 0) & (total > 0), g, torch.zeros_like(g))


def fairness(w: BatchedVenue) -> dict[str, torch.Tensor]:
    """The externality and fairness metrics of every day, as :func:`cpss.venue.metrics.fairness`."""
    p, B, V, dt = w.pop, w.B, w.V, w.dtype
    entered = (p.state != A.OUTSIDE).view(B, V)
    guided = p.has_device[p.leader].view(B, V)
    size = torch.bincount(p.leader, minlength=B * V)[p.leader].view(B, V)
    style = p.style.view(B, V)
    n_styles = len(w.probe.style_names)
    rows = [entered & guided, entered & ~guided, entered]
    rows += [entered & (style == s) for s in range(n_styles)]
    rows += [entered & (size == 1), entered & (size == 2), entered & (size >= 3)]
    sat, wait = p.satisfaction.view(B, V), p.wait_total.view(B, V)
    nan = torch.full((B,), float("nan"), dtype=dt, device=w.device)
    n = [r.sum(dim=1) for r in rows]
    welfare = [(sat * r).sum(dim=1) for r in rows]
    mean_sat = [torch.where(k > 0, s / k.clamp(min=1), nan) for s, k in zip(welfare, n, strict=True)]
    mean_wait = [torch.where(k > 0, (wait * r).sum(dim=1) / k.clamp(min=1), nan) for r, k in zip(rows, n, strict=True)]
    share = torch.where(n[2] > 0, n[0].to(dt) / n[2].clamp(min=1), nan)
    views = _gini(w.popularity, torch.ones_like(w.popularity, dtype=torch.bool))
    values = fairness_values(share, mean_sat, mean_wait, welfare, views)
    return dict(zip(fairness_names(w.probe.style_names), values, strict=True))


def summary(w: BatchedVenue) -> dict[str, torch.Tensor]:
    """The day's metrics for every day, as in :func:`cpss.venue.metrics.summary` (each a (B,) tensor)."""
    p, g, B, V, K = w.pop, w.guides, w.B, w.V, w.K
    dt = w.dtype
    arrived = (p.state != A.OUTSIDE).view(B, V)
    n = arrived.sum(dim=1)
    nf = n.to(dt).clamp(min=1)
    sat = p.satisfaction.view(B, V)
    srt, _ = _masked_sort(sat, arrived)
    half = n // 2
    hi = srt.gather(1, half.clamp(max=max(V - 1, 0))[:, None])[:, 0]
    lo = srt.gather(1, (half - 1).clamp(min=0)[:, None])[:, 0]
    median = torch.where(n % 2 == 1, hi, 0.5 * (lo + hi))
    zero = torch.zeros(B, dtype=dt, device=w.device)
    per_visitor = (p.n_viewed.view(B, V) * arrived).sum(dim=1).to(dt) / nf
    coverage = (p.top_seen.view(B, V) * arrived).sum(dim=1).to(dt) / (nf * p.top_items.shape[1])
    state = p.state.view(B, V)
    return {
        "minute": torch.full((B,), w.minute, dtype=dt, device=w.device),
        "mean_satisfaction": torch.where(n > 0, (sat * arrived).sum(dim=1) / nf, zero),
        "median_satisfaction": torch.where(n > 0, median, zero),
        "satisfaction_gini": _gini(sat, arrived),
        "arrived": n.to(dt),
        "present": ((state != A.OUTSIDE) & (state != A.LEFT)).sum(dim=1).to(dt),
        "left": (state == A.LEFT).sum(dim=1).to(dt),
        "served": (g.visitor >= 0).view(B, K).sum(dim=1).to(dt),
        "items_per_visitor": torch.where(n > 0, per_visitor, zero),
        "top_interest_coverage": torch.where(n > 0, coverage, zero),
        "mean_wait": torch.where(w.views > 0, w.wait_sum / w.views.clamp(min=1), zero),
        "occupancy_ratio": (w.occupancy.to(dt) / w.comfort).amax(dim=1).clamp(min=0.0),
        "peak_occupancy_ratio": w.peak_ratio.clone(),
        "congestion_minutes": w.congestion_minutes.clone(),
        "acceptance_rate": torch.where(w.offers > 0, w.accepts / w.offers.clamp(min=1), zero),
        "recommendations": w.offers.clone(),
        "entry_queue_minutes": w.entry_queue_minutes.clone(),
        "crowded_minutes": w.congestion_minutes + w.entry_queue_minutes,
        **fairness(w),
    }


def from_models(
    models: list[VenueModel], device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64
) -> BatchedVenue:
    """A batch whose day ``b`` continues ``models[b]`` from its current state.

    The models must share one config (and so one floor and clock). The batch's torch generator
    is seeded with the first model's root seed; the numpy models are not changed.
    """
    if not models:
        raise ValueError("from_models: give at least one model")
    m0 = models[0]
    if any(m.config != m0.config or m.minute != m0.minute for m in models):
        raise ValueError("from_models: all models need the same config and the same minute")
    w = BatchedVenue(m0.config, len(models), seed=m0.root_seed, device=device, dtype=dtype, policy=m0.policy)
    V, K = w.V, w.K
    t = w._t

    def stack(arrays: list[np.ndarray], kind: torch.dtype | None = None) -> torch.Tensor:
        return t(np.concatenate(arrays), kind)

    def rows(arrays: list[np.ndarray], kind: torch.dtype | None = None) -> torch.Tensor:
        return t(np.stack(arrays), kind)

    kinds = {
        "style": torch.long,
        "top_items": torch.long,
        "zone": torch.long,
        "target_item": torch.long,
        "target_zone": torch.long,
        "n_viewed": torch.long,
        "top_seen": torch.long,
        "has_device": torch.bool,
        "leaving": torch.bool,
        "guided": torch.bool,
        "visited": torch.bool,
        "state": torch.int8,
    }
    for name in ("arrival", "budget", "trust", "entered", "satiation", "interest", *VISITOR_FLOATS, *kinds):
        setattr(w.pop, name, stack([getattr(m.pop, name) for m in models], kinds.get(name)))
    w.pop.leader = stack([m.pop.leader for m in models], torch.long) + w.day * V
    w.pop.is_leader = w.pop.leader == torch.arange(w.B * V, device=w.device)
    w.pop.slot = stack([np.where(m.pop.slot >= 0, m.pop.slot + b * K, -1) for b, m in enumerate(models)], torch.long)
    g = w.guides
    g.visitor = stack(
        [np.where(m.guides.visitor >= 0, m.guides.visitor + b * V, -1) for b, m in enumerate(models)], torch.long
    )
    for name in ("recommendation", "offered", "accepted"):
        setattr(g, name, stack([getattr(m.guides, name) for m in models], torch.long))
    g.estimate = stack([m.guides.estimate for m in models])
    for name in ("base_noise", "sensed", "popularity", "viewers", "queue_len", "density", "noise", "crowd_noise"):
        setattr(w, name, rows([getattr(m, name) for m in models]))
    w.occupancy = rows([m.occupancy for m in models], torch.long)
    w.reading = rows([m.sensors.reading for m in models])
    w.board.take(w, [m.board for m in models])
    for name in DAY_COUNTERS:
        setattr(w, name, t(np.array([float(getattr(m, name)) for m in models])))
    w.minute, w._version, w._view_cache = float(m0.minute), 0, None
    w.zone_closed, w.zone_event = t(m0.zone_closed), t(m0.zone_event)
    w.derive_item_fields()
    w.running = all(m.running for m in models)
    return w

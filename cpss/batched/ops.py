"""Tensor helpers of the batched venue (:mod:`cpss.batched.venue`).

The equations themselves are not here: the engine calls the torch forms written beside the
numpy forms in :mod:`cpss.kit.personalisation` and :mod:`cpss.venue.equations`. This module has
what only a batch of days needs:

* :func:`counts` — occupancy-style bin counts over flat (day, bin) indices;
* :func:`admit` — first-come-first-served admission under capacities, as :func:`cpss.venue.crowd.admit`;
* :func:`update_estimate` — the guides' interest estimates, as :func:`cpss.venue.guides.update_estimate`;
* :func:`policy` — the six heuristic guide policies of :data:`cpss.venue.guides.POLICY_FUNCTIONS`,
  scoring with :func:`~cpss.venue.equations.interest_score` and :func:`~cpss.venue.equations.crowd_aware_score_torch`.

Every random draw takes an explicit ``torch.Generator``; nothing uses torch's global RNG.
"""

from __future__ import annotations

import dataclasses

import torch

from cpss.kit.personalisation import FParams
from cpss.venue.equations import crowd_aware_score_torch, estimate_step_torch, interest_score
from cpss.venue.params import GuideParams

Tensor = torch.Tensor


def counts(index: Tensor, mask: Tensor, size: int) -> Tensor:
    """How many masked entries fall on each of ``size`` (flat) bins."""
    return torch.bincount(index[mask], minlength=size)[:size]


def admit(
    gen: torch.Generator, candidates: Tensor, bins: Tensor, free: Tensor, priority: Tensor | None = None
) -> Tensor:
    """Candidates admitted to their (flat) bin without exceeding its free places.

    Within a bin, lower ``priority`` enters first; ties (or no priority) are broken by a random
    permutation, as in :func:`cpss.venue.crowd.admit`.
    """
    c = candidates.numel()
    if c == 0:
        return candidates
    order = torch.randperm(c, generator=gen, device=candidates.device)
    if priority is not None:
        order = order[torch.sort(priority[order], stable=True).indices]
    order = order[torch.sort(bins[order], stable=True).indices]
    sorted_bins = bins[order]
    rank = torch.arange(c, device=candidates.device) - torch.searchsorted(sorted_bins, sorted_bins)
    return candidates[order[rank < free.clamp(min=0)[sorted_bins]]]


def update_estimate(estimate: Tensor, features: Tensor, signal: Tensor, p: GuideParams) -> Tensor:
    """One online step of interest estimates, as :func:`cpss.venue.guides.update_estimate`."""
    err = signal - (estimate * features).sum(dim=1)
    new = estimate_step_torch(estimate, features, err[:, None], p)
    norm = torch.linalg.vector_norm(new, dim=1, keepdim=True)
    return torch.where(norm > 0, new / norm.clamp(min=1e-12), estimate)


def gumbel(gen: torch.Generator, shape: tuple[int, ...], like: Tensor) -> Tensor:
    """Standard Gumbel noise from ``gen``."""
    u = torch.rand(shape, generator=gen, device=like.device, dtype=like.dtype)
    return -torch.log(-torch.log(u.clamp(min=1e-12, max=1.0 - 1e-7)))


@dataclasses.dataclass
class TorchView:
    """What the guides of all days know (as :class:`cpss.venue.guides.DecisionView`).

    Slots are flat over days (``day · K + k``); per-item fields are per day (rows of ``B``).
    """

    active: Tensor  # (BK,) bool
    mask: Tensor  # (BK, M) bool
    match: Tensor  # (BK, M)
    novelty: Tensor  # (BK, M)
    walk: Tensor  # (BK, M)
    crowd_density: Tensor  # (BK, M) sensed density of each item's zone, repeated per slot
    attraction: Tensor  # (M,)
    popularity: Tensor  # (BK, M)
    f: FParams
    guide: GuideParams


def _best(score: Tensor, view: TorchView) -> Tensor:
    choice = torch.where(view.mask, score, torch.full_like(score, -torch.inf)).argmax(dim=1)
    ok = view.active & view.mask.any(dim=1)
    return torch.where(ok, choice, torch.full_like(choice, -1))


def policy(name: str, view: TorchView, gen: torch.Generator) -> Tensor:
    """Recommendations (BK,) of a heuristic policy (item, or -1), as in :mod:`cpss.venue.guides`."""
    shape = view.mask.shape

    def noise() -> Tensor:
        return torch.rand(shape, generator=gen, device=view.match.device, dtype=view.match.dtype)

    if name == "none":
        return torch.full((shape[0],), -1, dtype=torch.long, device=view.mask.device)
    if name == "random":
        return _best(noise(), view)
    if name == "nearest":
        return _best(-view.walk + 1e-6 * noise(), view)
    if name == "interest":
        return _best(interest_score(view.match, view.novelty), view)
    if name == "crowd_aware":
        score = crowd_aware_score_torch(
            view.match, view.novelty, view.attraction, view.crowd_density, view.walk, view.guide, view.f
        )
        return _best(score, view)
    if name == "popular":
        return _best(view.popularity + 1e-6 * noise(), view)
    raise ValueError(f"guides.policy: unknown policy {name!r}")

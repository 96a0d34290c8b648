"""Torch kernels of the batched venue (:mod:`cpss.batched.venue`).

The same equations as the numpy path, written once more in torch so that many independent days
run as one tensor program on CPU or CUDA:

* :class:`TorchF` — ``f(u, x_pa, cr, cx, env)`` with the weights and constants of a
  :class:`cpss.kit.personalisation.PersonalisationFunction` (the five terms, their weighted sum,
  the acceptance probability); ``tests/test_batched.py`` checks it against the numpy ``f``;
* :func:`admit` — first-come-first-served admission under capacities, as :func:`cpss.venue.crowd.admit`;
* :func:`attention`, :func:`expected_wait`, :func:`update_estimate` — as in :mod:`cpss.venue.users`,
  :mod:`cpss.venue.crowd` and :mod:`cpss.venue.guides`;
* :func:`policy` — the six heuristic guide policies of :data:`cpss.venue.guides.POLICY_FUNCTIONS`.

Every random draw takes an explicit ``torch.Generator``; nothing uses torch's global RNG.
"""

from __future__ import annotations

import dataclasses

import torch

from cpss.kit.personalisation import PersonalisationFunction

Tensor = torch.Tensor


class TorchF:
    """``f`` in torch: the numpy :class:`PersonalisationFunction`'s weights and constants.

    Args:
        f: The numpy function whose ``weights`` and ``params`` are used.
    """

    def __init__(self, f: PersonalisationFunction) -> None:
        self.w = f.weights
        self.p = f.params

    def user(self, match: Tensor, attention: Tensor, exposure: Tensor) -> Tensor:
        """``clip(match, 0, 1) · attention · exp(-exposure / n_sat)`` (unweighted)."""
        return match.clamp(0.0, 1.0) * attention * torch.exp(-exposure / self.p.n_sat)

    def item_part(
        self, viewers: Tensor, density: Tensor, queue_wait: Tensor, noise: Tensor, event: Tensor, attraction: Tensor
    ) -> Tensor:
        """Weighted crowd + context + attraction terms: the part of ``f`` that depends on the item only."""
        p, w = self.p, self.w
        crowd = (
            p.social_proof * (1.0 - torch.exp(-viewers / p.social_scale))
            - p.congestion_penalty * (density - p.rho_star).clamp(min=0.0)
            - p.wait_cost * queue_wait
        )
        context = p.event_bonus * event - p.noise_sensitivity * noise
        return w.crowd * crowd + w.context * context + w.environment * p.attraction_weight * attraction

    def walk_part(self, walk_min: Tensor) -> Tensor:
        """Weighted walking part of the environment term: ``-w_env · walk_cost · walk_min``."""
        return -self.w.environment * self.p.walk_cost * walk_min

    def utility(
        self,
        *,
        match: Tensor,
        attention: Tensor,
        exposure: Tensor,
        trust: Tensor,
        guided: Tensor,
        viewers: Tensor,
        density: Tensor,
        queue_wait: Tensor,
        noise: Tensor,
        event: Tensor,
        attraction: Tensor,
        walk_min: Tensor,
    ) -> Tensor:
        """``Σ_k w_k · term_k`` for broadcastable inputs (as ``PersonalisationFunction.utility``)."""
        return (
            self.w.user * self.user(match, attention, exposure)
            + self.w.personaliser * guided * trust * self.p.content_bonus
            + self.item_part(viewers, density, queue_wait, noise, event, attraction)
            + self.walk_part(walk_min)
        )

    def acceptance(self, utility: Tensor) -> Tensor:
        """``σ(accept_bias + accept_sharpness · utility)``."""
        return torch.sigmoid(self.p.accept_bias + self.p.accept_sharpness * utility)


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


def attention(elapsed: Tensor, walked: Tensor, *, onset: float, tau: float, walk_factor: float) -> Tensor:
    """Museum fatigue as attention, as :func:`cpss.venue.users.attention`."""
    return torch.exp(-(elapsed + walk_factor * walked - onset).clamp(min=0.0) / tau)


def expected_wait(queue_len: Tensor, viewers: Tensor, capacity: Tensor, dwell: Tensor) -> Tensor:
    """Expected queueing minutes per item, as :func:`cpss.venue.crowd.expected_wait`."""
    ahead = queue_len + (viewers - capacity + 1).clamp(min=0)
    return ahead.clamp(min=0) / capacity * dwell


def update_estimate(estimate: Tensor, features: Tensor, signal: Tensor, lr: float) -> Tensor:
    """One online step of interest estimates, as :func:`cpss.venue.guides.update_estimate`."""
    err = signal - (estimate * features).sum(dim=1)
    new = (estimate + lr * err[:, None] * features).clamp(min=0.0)
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
    rho_star: float
    congestion_penalty: float
    walk_cost: float
    attraction_weight: float
    crowd_weight: float


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
        return _best(view.match * view.novelty, view)
    if name == "crowd_aware":
        crowd = view.congestion_penalty * (view.crowd_density - view.rho_star).clamp(min=0.0)
        score = (
            view.match * view.novelty
            + view.attraction_weight * view.attraction
            - view.crowd_weight * crowd
            - view.walk_cost * view.walk
        )
        return _best(score, view)
    if name == "popular":
        return _best(view.popularity + 1e-6 * noise(), view)
    raise ValueError(f"guides.policy: unknown policy {name!r}")

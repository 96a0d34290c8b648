"""The personalisers ``x_pa``: mobile guides, their state, and heuristic policies.

A guide is a *slot*: it serves one user at a time and is rebound to the next waiting user
with a device when its user leaves. What a guide knows about its user is an *estimate* of
the user's interests (from an entry questionnaire, refined after every visit), never the
ground truth. Heuristic policies decide from a :class:`DecisionView`, which holds only what
guides can know: estimates, the visit history, walking times and noisy sensor readings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import mesa
import numpy as np

from cpss.kit.personalisation import FParams
from cpss.venue.equations import crowd_aware_score, estimate_step, interest_score
from cpss.venue.params import GuideParams


@dataclasses.dataclass
class GuideSlots:
    """Arrays of per-guide state; index ``k`` is one guide."""

    visitor: np.ndarray  # (K,) user served, -1 when idle
    estimate: np.ndarray  # (K, T) estimated interests of the served user
    recommendation: np.ndarray  # (K,) item recommended at the current decision, -1 none
    offered: np.ndarray  # (K,) recommendations offered so far
    accepted: np.ndarray  # (K,) recommendations accepted so far

    @classmethod
    def empty(cls, k: int, n_topics: int) -> GuideSlots:
        """K idle guides."""
        return cls(
            visitor=np.full(k, -1, dtype=np.int64),
            estimate=np.zeros((k, n_topics)),
            recommendation=np.full(k, -1, dtype=np.int64),
            offered=np.zeros(k, dtype=np.int64),
            accepted=np.zeros(k, dtype=np.int64),
        )

    @property
    def size(self) -> int:
        """Number of guides."""
        return int(self.visitor.shape[0])


def update_estimate(estimate: np.ndarray, features: np.ndarray, signal: np.ndarray, p: GuideParams) -> np.ndarray:
    """One online least-squares step of interest estimates toward an observed match.

    ``est <- normalise(estimate_step(est, f, signal - est·f))`` (:func:`~cpss.venue.equations.estimate_step`);
    an estimate that would become all zeros is kept.

    Args:
        estimate: (K, T) current estimates (unit norm).
        features: (K, T) features of the items just viewed.
        signal: (K,) observed interest match (:func:`~cpss.venue.equations.observed_match`).
        p: The guides' parameters (``estimate_lr``).

    Returns:
        (K, T) updated estimates with unit norm.
    """
    err = signal - np.sum(estimate * features, axis=1)
    new = estimate_step(estimate, features, err[:, None], p)
    norm = np.linalg.norm(new, axis=1, keepdims=True)
    return np.where(norm > 0, new / np.maximum(norm, 1e-12), estimate)


@dataclasses.dataclass
class DecisionView:
    """What guides know when their users stand at a decision point.

    Attributes:
        active: (K,) the slot's user is deciding now.
        mask: (K, M) items that may be recommended (open, not yet seen).
        match: (K, M) estimated interest match (estimate · features).
        novelty: (K, M) exp(-exposure / n_sat) from the known visit history.
        walk: (K, M) walking minutes from the user's zone.
        crowd_density: (M,) sensed density (p/m²) of each item's zone.
        attraction: (M,) intrinsic attraction.
        popularity: (M,) views so far today.
        f: Constants of ``f`` the guides assume (crowding threshold and penalty, walk cost…).
        guide: The guides' own parameters (``crowd_weight``…).
    """

    active: np.ndarray
    mask: np.ndarray
    match: np.ndarray
    novelty: np.ndarray
    walk: np.ndarray
    crowd_density: np.ndarray
    attraction: np.ndarray
    popularity: np.ndarray
    f: FParams = dataclasses.field(default_factory=FParams)
    guide: GuideParams = dataclasses.field(default_factory=GuideParams)


Policy = Callable[[DecisionView, np.random.Generator], np.ndarray]


def _best(score: np.ndarray, view: DecisionView) -> np.ndarray:
    """Argmax of ``score`` over allowed items per active slot; -1 where none."""
    masked = np.where(view.mask, score, -np.inf)
    choice = np.argmax(masked, axis=1)
    ok = view.active & view.mask.any(axis=1)
    return np.where(ok, choice, -1)


def policy_none(view: DecisionView, rng: np.random.Generator) -> np.ndarray:
    """Free roaming: never recommend."""
    return np.full(view.active.shape[0], -1, dtype=np.int64)


def policy_random(view: DecisionView, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random allowed item."""
    return _best(rng.random(view.mask.shape), view)


def policy_nearest(view: DecisionView, rng: np.random.Generator) -> np.ndarray:
    """The closest allowed item (ties broken at random)."""
    return _best(-view.walk + 1e-6 * rng.random(view.mask.shape), view)


def policy_interest(view: DecisionView, rng: np.random.Generator) -> np.ndarray:
    """Crowd-blind best match: estimated interest x novelty."""
    return _best(interest_score(view.match, view.novelty), view)


def policy_crowd_aware(view: DecisionView, rng: np.random.Generator) -> np.ndarray:
    """Interest minus expected congestion (from sensors) and walking, plus attraction."""
    density = view.crowd_density[None, :]
    score = crowd_aware_score(view.match, view.novelty, view.attraction, density, view.walk, view.guide, view.f)
    return _best(score, view)


def policy_popular(view: DecisionView, rng: np.random.Generator) -> np.ndarray:
    """The most viewed allowed item so far (ties broken at random)."""
    return _best(np.broadcast_to(view.popularity, view.mask.shape) + 1e-6 * rng.random(view.mask.shape), view)


POLICY_FUNCTIONS: dict[str, Policy] = {
    "none": policy_none,
    "random": policy_random,
    "nearest": policy_nearest,
    "interest": policy_interest,
    "crowd_aware": policy_crowd_aware,
    "popular": policy_popular,
}


class Guide(mesa.Agent):
    """A mobile guide entity: a thin handle onto slot ``slot`` of the guide arrays.

    Args:
        model: The owning model (must have ``guides``).
        slot: Index in the guide arrays.
    """

    def __init__(self, model: mesa.Model, slot: int) -> None:
        super().__init__(model)
        self.slot = int(slot)

    @property
    def visitor(self) -> int:
        """Index of the user served, -1 when idle."""
        return int(self.model.guides.visitor[self.slot])

    @property
    def recommendation(self) -> int:
        """Item recommended at the current decision, -1 for none."""
        return int(self.model.guides.recommendation[self.slot])

    @property
    def acceptance_rate(self) -> float:
        """Share of this guide's recommendations that were accepted."""
        g = self.model.guides
        return float(g.accepted[self.slot] / max(1, g.offered[self.slot]))

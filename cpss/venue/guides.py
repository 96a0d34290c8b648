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
from typing import NamedTuple

import mesa
import numpy as np

from cpss.kit.jit import record
from cpss.kit.personalisation import FParams
from cpss.venue.equations import crowd_aware_score, estimate_step, interest_score
from cpss.venue.kernels.guides import coordinated_picks, party_counts
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
        zone_load: (N,) occupancy the guides predict per room before this tick's recommendations
            (:meth:`OccupancyBoard.load`); with ``zone_area``, ``item_zone``, ``user_zone`` and
            ``party``, what ``crowd_coordinated`` needs (None where the view was built without them).
        zone_area: (N,) floor area of each room (m²).
        item_zone: (M,) room of each item.
        user_zone: (K,) room of each slot's user (0 for idle slots).
        party: (K,) size of each slot's user's group (1 for idle slots).
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
    zone_load: np.ndarray | None = None
    zone_area: np.ndarray | None = None
    item_zone: np.ndarray | None = None
    user_zone: np.ndarray | None = None
    party: np.ndarray | None = None


class OccupancyBoard:
    """What the guides' dispatcher knows of room occupancy: late sensor readings and its own parties.

    Every tick the model pushes the sensors' fresh reading and where the guided parties are now
    (the guides know their own users' rooms exactly). :meth:`push` returns the reading of
    ``delay`` ticks ago (zeros before the first one), which is what every personaliser sees
    (``context.sensors.delay``). :meth:`load` predicts today's occupancy from it: the late reading
    plus how the guided parties have moved since it was taken (a Smith predictor on the part of
    the crowd the guides steer). With no delay the load is the reading itself.

    Args:
        n_zones: Number of rooms.
        delay: Ticks a reading lags behind the rooms (>= 0).
        group_size: (V,) size of each user's group, read at its leader (``group_sizes``).
    """

    def __init__(self, n_zones: int, delay: int, group_size: np.ndarray) -> None:
        self.delay = int(delay)
        self.group_size = np.asarray(group_size, dtype=float)
        self.readings = np.zeros((self.delay + 1, n_zones))
        self.parties = np.zeros((self.delay + 1, n_zones))
        self.pushed = 0

    def push(self, reading: np.ndarray, visitor: np.ndarray, zone: np.ndarray) -> np.ndarray:
        """Record this tick's fresh ``reading`` (N,) and the guided parties; return the late reading."""
        slot = self.pushed % (self.delay + 1)
        self.readings[slot] = reading
        party_counts(visitor, zone, self.group_size, self.parties[slot])
        self.pushed += 1
        return self.late(self.readings)

    def late(self, buffer: np.ndarray) -> np.ndarray:
        """The row of ``buffer`` pushed ``delay`` ticks before the last push (zeros if none was)."""
        if self.pushed <= self.delay:
            return np.zeros(buffer.shape[1])
        return buffer[(self.pushed - 1 - self.delay) % (self.delay + 1)]

    def load(self) -> np.ndarray:
        """(N,) predicted occupancy: the late reading + guided parties now - guided parties then."""
        now = self.parties[(self.pushed - 1) % (self.delay + 1)] if self.pushed else np.zeros(self.parties.shape[1])
        return self.late(self.readings) + now - self.late(self.parties)


def group_sizes(leader: np.ndarray) -> np.ndarray:
    """(V,) number of users whose leader is each user (the group size at a leader, 0 elsewhere)."""
    return np.bincount(leader, minlength=leader.size).astype(float)


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


class _ScoreParams(NamedTuple):
    f: FParams
    guide: GuideParams


def policy_crowd_coordinated(view: DecisionView, rng: np.random.Generator) -> np.ndarray:
    """Crowd-aware guides that coordinate: the marginal crowding of each move, on predicted occupancy.

    The guides decide in slot order. Each scores items with
    :func:`~cpss.venue.equations.coordinated_score`, whose cost is the
    :func:`~cpss.venue.equations.marginal_crowding` of the item's room minus that of the room
    the party leaves (0 within the user's room), both on the predicted occupancy
    (``view.zone_load``) plus the parties recommended so far this tick. With
    ``guides.spread_temperature`` > 0 the item is drawn from the softmax of the scores (one
    uniform per slot, drawn from ``rng``), else it is the best one. See
    :func:`cpss.venue.kernels.guides.coordinated_picks`.
    """
    if view.zone_load is None or view.zone_area is None or view.item_zone is None:
        raise ValueError("crowd_coordinated: the decision view has no zone_load, zone_area or item_zone")
    k = view.active.shape[0]
    uniforms = rng.random(k) if view.guide.spread_temperature > 0 and k else np.zeros(k)
    user_zone = np.zeros(k, np.int64) if view.user_zone is None else view.user_zone
    party = np.ones(k) if view.party is None else view.party
    recs = np.full(k, -1, dtype=np.int64)
    coordinated_picks(
        (view.active, view.mask, view.match, view.novelty, view.walk),
        (view.attraction, view.item_zone, view.zone_area),
        (np.array(view.zone_load, dtype=float), np.asarray(user_zone, np.int64), np.asarray(party, float)),
        uniforms, record(_ScoreParams(view.f, view.guide)), recs,
    )  # fmt: skip
    return recs


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
    "crowd_coordinated": policy_crowd_coordinated,
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

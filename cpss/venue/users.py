"""The users ``u``: per-user state in numpy arrays, and the thin Mesa entity onto them.

All users of a day are sampled when the model is built (:func:`sample_population`); their
dynamic state (where they are, what they do, fatigue, satiation, satisfaction) lives in one
:class:`Population` of arrays owned by the model, so that every update is an array kernel.
A :class:`User` Mesa agent is created when a user enters and removed when the user leaves;
it holds only an index and reads the arrays through properties.
"""

from __future__ import annotations

import dataclasses
from enum import IntEnum

import mesa
import numpy as np


class Activity(IntEnum):
    """The user state machine."""

    OUTSIDE = 0
    """Not yet arrived (or waiting at a full entrance)."""
    DECIDING = 1
    """At a decision point: chooses the next item, wanders, or leaves."""
    WALKING = 2
    """Walking to the target item's zone, to a neighbouring room (wandering) or to the exit."""
    QUEUING = 3
    """Waiting for a free viewing place at a full item."""
    VIEWING = 4
    """Viewing an item."""
    LEFT = 5
    """Gone for the day."""


@dataclasses.dataclass(frozen=True)
class Style:
    """A behavioural archetype (e.g. a museum visiting style)."""

    name: str
    share: float
    """Share of users with this style."""
    stop_bias: float
    """Added to every item's choice utility (higher: stops more often)."""
    selectivity: float
    """Multiplies the utility in the choice model (higher: picks only the best matches)."""
    walk_sensitivity: float
    """Multiplies walking minutes in the choice model (higher: stays near)."""
    dwell_mult: float
    """Multiplies viewing time."""
    order_bonus: float
    """Bonus for items in the current zone (following the layout room by room)."""


FLOAT_STATE = (
    "walk_left",
    "trip_walk",
    "walked",
    "dwell_left",
    "queue_since",
    "trip_wait",
    "wait_total",
    "satisfaction",
    "gain",
    "congested_min",
    "crowd_peak",
    "crowd_last",
)
"""The per-user float state that starts at zero (``Population.init_dynamic``)."""


@dataclasses.dataclass
class Population:
    """Arrays of per-user state; index ``v`` is one user for the whole day."""

    arrival: np.ndarray  # (V,) arrival minute
    style: np.ndarray  # (V,) style index
    budget: np.ndarray  # (V,) time budget in minutes
    interest: np.ndarray  # (V, T) true interests, unit L2 norm
    trust: np.ndarray  # (V,) trust in the personaliser, [0, 1]
    has_device: np.ndarray  # (V,) bool: uses a mobile guide
    leader: np.ndarray  # (V,) index of the group leader (self for leaders and solo users)
    top_items: np.ndarray  # (V, k) items that best match the true interests
    state: np.ndarray = dataclasses.field(init=False)
    zone: np.ndarray = dataclasses.field(init=False)
    target_item: np.ndarray = dataclasses.field(init=False)
    target_zone: np.ndarray = dataclasses.field(init=False)
    walk_left: np.ndarray = dataclasses.field(init=False)
    trip_walk: np.ndarray = dataclasses.field(init=False)
    walked: np.ndarray = dataclasses.field(init=False)
    dwell_left: np.ndarray = dataclasses.field(init=False)
    queue_since: np.ndarray = dataclasses.field(init=False)
    trip_wait: np.ndarray = dataclasses.field(init=False)
    wait_total: np.ndarray = dataclasses.field(init=False)
    leaving: np.ndarray = dataclasses.field(init=False)
    guided: np.ndarray = dataclasses.field(init=False)
    satiation: np.ndarray = dataclasses.field(init=False)
    satisfaction: np.ndarray = dataclasses.field(init=False)
    gain: np.ndarray = dataclasses.field(init=False)
    n_viewed: np.ndarray = dataclasses.field(init=False)
    visited: np.ndarray = dataclasses.field(init=False)
    slot: np.ndarray = dataclasses.field(init=False)
    entered: np.ndarray = dataclasses.field(init=False)
    congested_min: np.ndarray = dataclasses.field(init=False)
    crowd_peak: np.ndarray = dataclasses.field(init=False)  # largest crowd cost of a view so far (peak-end)
    crowd_last: np.ndarray = dataclasses.field(init=False)  # crowd cost of the latest view
    top_seen: np.ndarray = dataclasses.field(init=False)

    def init_dynamic(self, n_items: int) -> None:
        """Allocate the dynamic state (everyone outside, nothing seen)."""
        v, t = self.interest.shape
        self.state = np.full(v, Activity.OUTSIDE, dtype=np.int8)
        self.zone = np.full(v, -1, dtype=np.int64)
        self.target_item = np.full(v, -1, dtype=np.int64)
        self.target_zone = np.full(v, -1, dtype=np.int64)
        for name in FLOAT_STATE:
            setattr(self, name, np.zeros(v))
        self.entered = np.full(v, np.nan)
        self.leaving = np.zeros(v, dtype=bool)
        self.guided = np.zeros(v, dtype=bool)
        self.satiation = np.zeros((v, t))
        self.n_viewed = np.zeros(v, dtype=np.int64)
        self.top_seen = np.zeros(v, dtype=np.int64)
        self.visited = np.zeros((v, n_items), dtype=bool)
        self.slot = np.full(v, -1, dtype=np.int64)

    @property
    def size(self) -> int:
        """Number of users of the day."""
        return int(self.arrival.shape[0])

    @property
    def present(self) -> np.ndarray:
        """Bool mask of users inside the venue."""
        return (self.state != Activity.OUTSIDE) & (self.state != Activity.LEFT)

    @property
    def arrived(self) -> np.ndarray:
        """Bool mask of users who have entered (present or left)."""
        return self.state != Activity.OUTSIDE


def sample_population(
    rng: np.random.Generator,
    *,
    n: int,
    arrival: np.ndarray,
    styles: list[Style],
    n_topics: int,
    item_features: np.ndarray,
    budget_median: float,
    budget_sigma: float,
    device_share: float,
    trust_mean: float,
    group_probs: list[float],
    interest_concentration: float = 0.3,
    top_k: int = 5,
) -> Population:
    """Draw the day's users from the model RNG.

    Args:
        rng: The model's generator.
        n: Number of users.
        arrival: (n,) sorted arrival minutes.
        styles: Behavioural archetypes with their shares.
        n_topics: Number of topics.
        item_features: (M, T) item features (for each user's top items).
        budget_median: Median time budget in minutes (lognormal).
        budget_sigma: Lognormal sigma of the budget.
        device_share: Share of groups whose leader carries a mobile guide.
        trust_mean: Mean initial trust in the personaliser.
        group_probs: Probabilities of group sizes 1, 2, 3, ...
        interest_concentration: Dirichlet concentration of interests (low: focused users).
        top_k: How many best-matching items define a user's top interests.

    Returns:
        The population (dynamic state allocated).
    """
    shares = np.array([s.share for s in styles], dtype=float)
    interest = rng.dirichlet(np.full(n_topics, interest_concentration), size=n)
    interest /= np.linalg.norm(interest, axis=1, keepdims=True)
    # Groups: consecutive arrivals share a group, a leader, a style, a device and a budget.
    sizes = rng.choice(len(group_probs), size=n, p=np.asarray(group_probs) / sum(group_probs)) + 1
    leader = np.empty(n, dtype=np.int64)
    i = 0
    for size in sizes:
        if i >= n:
            break
        leader[i : i + size] = i
        i += size
    lead = leader
    style = rng.choice(len(styles), size=n, p=shares / shares.sum())[lead]
    budget = (budget_median * np.exp(rng.normal(0.0, budget_sigma, size=n)))[lead]
    # One device per group, carried by the leader; companions follow the leader's choices.
    has_device = (rng.random(n) < device_share) & (lead == np.arange(n))
    trust = np.clip(rng.normal(trust_mean, 0.15, size=n), 0.0, 1.0)
    arrival = np.asarray(arrival, dtype=float)[lead]
    k = min(top_k, item_features.shape[0])
    top = np.argsort(-(interest @ item_features.T), axis=1, kind="stable")[:, :k]
    pop = Population(
        arrival=arrival,
        style=style,
        budget=budget,
        interest=interest,
        trust=trust,
        has_device=has_device,
        leader=leader,
        top_items=top,
    )
    pop.init_dynamic(item_features.shape[0])
    return pop


class User(mesa.Agent):
    """A user (visitor) entity: a thin handle onto row ``idx`` of the population arrays.

    Args:
        model: The owning model (must have ``pop`` and ``style_names``).
        idx: Row in the population arrays.
    """

    def __init__(self, model: mesa.Model, idx: int) -> None:
        super().__init__(model)
        self.idx = int(idx)

    @property
    def activity(self) -> Activity:
        """Current state of the state machine."""
        return Activity(int(self.model.pop.state[self.idx]))

    @property
    def zone(self) -> int:
        """Zone id the user is in."""
        return int(self.model.pop.zone[self.idx])

    @property
    def cell(self) -> mesa.discrete_space.Cell:
        """The Mesa network cell of the user's zone."""
        return self.model.grid[self.zone]

    @property
    def style(self) -> str:
        """Name of the user's visiting style."""
        return self.model.style_names[int(self.model.pop.style[self.idx])]

    @property
    def satisfaction(self) -> float:
        """Accumulated satisfaction."""
        return float(self.model.pop.satisfaction[self.idx])

    @property
    def fatigue(self) -> float:
        """1 - attention."""
        return float(1.0 - self.model.attention_of(np.array([self.idx]))[0])

    @property
    def has_guide(self) -> bool:
        """Whether a guide slot currently serves this user."""
        return bool(self.model.pop.slot[self.idx] >= 0)

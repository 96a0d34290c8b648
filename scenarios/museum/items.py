"""Per-item (entity) observations of the museum guides: one row of features per candidate exhibit.

With ``guides.observation = "items"`` a guide observes, instead of the flat layout of
:mod:`scenarios.museum`, a block of agent features followed by one row of item features per
exhibit (``Box(-1, 1, (A + M·I,))``, :data:`AGENT_FEATURES` then ``M`` rows of
:data:`ITEM_FEATURES`). The rows are filled while the guide's visitor stands at a decision
point and are zeros otherwise (there is nothing to choose; this also keeps a batch of days cheap). Every row describes the exhibit *relative to the served visitor and the
crowd*, so a policy that scores rows with shared weights (``agents.item_ppo``) knows what it
chooses, and runs unchanged on any floor plan (museum-small, museum-busy, museum-large).

The features are built once, in torch, from what the guides know (their interest estimates,
the sensors, the occupancy board; never the truth). Both engines call the same functions: the
batched engine on its ``(B·K, M)`` tensors, the Mesa engine on its ``DecisionView`` (one day).
The equations are the registered ones of :mod:`cpss.venue.equations` (crowding, marginal
crowding, the heuristics' scores); nothing is written twice.

In items mode ``state()`` is :func:`pooled_state`: a fixed-size summary of the true state
(occupancy pooled over rooms, presence, guide activity), the centralised critic's input.
"""

from __future__ import annotations

import numpy as np
import torch

from cpss.kit.personalisation import crowding_torch
from cpss.venue.equations import coordinated_score, crowd_aware_score_torch, interest_score, marginal_crowding_torch
from cpss.venue.kernels.choice import DECIDING, LEFT, OUTSIDE

ITEM_FEATURES = (
    "valid",  # 1 if the guide may recommend the exhibit now (open, unseen, visitor deciding)
    "match",  # estimated interest match (estimate · features), in [-1, 1]
    "novelty",  # exp(-exposure / n_sat) from the known visit history
    "interest",  # match · novelty (the `interest` heuristic's score)
    "attraction",  # intrinsic attraction / 2
    "crowding",  # crowding term of f at the sensed density of the exhibit's room / 2
    "occupancy",  # sensed density of the exhibit's room / 2 p/m²
    "move_cost",  # marginal crowding the visitor's party adds by moving there (crowd_coordinated's cost) / 2
    "walk",  # walking minutes from the visitor's room / 2
    "same_room",  # 1 if the exhibit is in the visitor's room
    "popularity",  # share of today's views that went to the exhibit
    "crowd_aware",  # the crowd_aware heuristic's score / 2
    "coordinated",  # the crowd_coordinated score on the board's predicted load (no sequencing) / 2
)
"""Columns of each item row (all clipped to [-1, 1])."""

AGENT_FEATURES = (
    "time_left",  # visitor's time left / budget
    "fatigue",  # 1 - attention
    "deciding",  # 1 if the visitor stands at a decision point
    "idle",  # 1 if the slot serves nobody
    "time_of_day",  # fraction of the opening hours
    "party",  # size of the visitor's group / 5
    "room_occupancy",  # sensed occupancy of the visitor's room / comfortable capacity / 4
    "mean_occupancy",  # the same, averaged over rooms
    "max_occupancy",  # the same, the fullest room
    "valid_share",  # share of exhibits that may be recommended now
)
"""Columns of the agent block that precedes the item rows."""

STATE_FEATURES = (
    "mean_occupancy",  # true occupancy / comfortable capacity / 4, mean over rooms
    "max_occupancy",  # the same, the fullest room
    "crowded_rooms",  # share of rooms above their comfortable capacity
    "time_of_day",
    "present",  # visitors in the building / visitors of the day
    "idle_guides",  # share of guide slots serving nobody
    "deciding_guides",  # share of guide slots whose visitor decides now
)
"""Columns of the pooled global state of items mode (``state()``)."""

A_DIM, I_DIM, S_DIM = len(AGENT_FEATURES), len(ITEM_FEATURES), len(STATE_FEATURES)


def _scale(x: torch.Tensor, by: float) -> torch.Tensor:
    return (x / by).clamp(-1.0, 1.0)


def item_rows(
    *,
    mask: torch.Tensor,
    match: torch.Tensor,
    novelty: torch.Tensor,
    walk: torch.Tensor,
    crowd_density: torch.Tensor,
    attraction: torch.Tensor,
    popularity: torch.Tensor,
    load: torch.Tensor,
    area: torch.Tensor,
    item_zone: torch.Tensor,
    user_zone: torch.Tensor,
    party: torch.Tensor,
    guide,
    f,
) -> torch.Tensor:
    """(S, M, I) item rows of ``S`` guide slots (fields as in ``cpss.venue.guides.DecisionView``).

    Args:
        mask: (S, M) recommendable items.
        match: (S, M) estimated interest match.
        novelty: (S, M) novelty from the known visit history.
        walk: (S, M) walking minutes from the visitor's room.
        crowd_density: (S, M) sensed density of each item's room.
        attraction: (M,) intrinsic attraction.
        popularity: (S, M) views so far today (of the slot's day).
        load: (S, N) occupancy the guides' board predicts in each room of the slot's day.
        area: (N,) room areas.
        item_zone: (M,) room of each item.
        user_zone: (S,) room of each slot's visitor (0 when idle).
        party: (S,) size of the visitor's group.
        guide: The guides' parameters (``GuideParams``).
        f: The constants of f (``FParams``).
    """
    n = party.clamp(min=1.0)
    own = load.gather(1, user_zone[:, None])[:, 0]
    relief = marginal_crowding_torch(own - n, n, area[user_zone], f)
    cost = marginal_crowding_torch(load, n[:, None], area[None, :], f) - relief[:, None]
    cost = cost.scatter(1, user_zone[:, None], torch.zeros_like(relief)[:, None])[:, item_zone]
    attr = attraction.expand_as(match)
    aware = crowd_aware_score_torch(match, novelty, attr, crowd_density, walk, guide, f)
    coordinated = coordinated_score(match, novelty, attr, cost, walk, guide, f)
    views = popularity.sum(dim=1, keepdim=True).clamp(min=1.0)
    columns = (
        mask.to(match.dtype),
        match.clamp(-1.0, 1.0),
        novelty.clamp(0.0, 1.0),
        interest_score(match, novelty).clamp(-1.0, 1.0),
        _scale(attr, 2.0),
        _scale(crowding_torch(crowd_density, f), 2.0),
        _scale(crowd_density, 2.0),
        _scale(cost, 2.0),
        _scale(walk, 2.0),
        (item_zone[None, :] == user_zone[:, None]).to(match.dtype),
        popularity / views,
        _scale(aware, 2.0),
        _scale(coordinated, 2.0),
    )
    return torch.stack(columns, dim=2)


def agent_rows(
    *,
    time_left: torch.Tensor,
    fatigue: torch.Tensor,
    deciding: torch.Tensor,
    idle: torch.Tensor,
    time_of_day: torch.Tensor,
    party: torch.Tensor,
    sensed_ratio: torch.Tensor,
    user_zone: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """(S, A) agent blocks: the served visitor, the guide's slot and the sensed building.

    Args:
        time_left: (S,) visitor's time left / budget.
        fatigue: (S,) 1 - attention.
        deciding: (S,) 1 if the visitor stands at a decision point.
        idle: (S,) bool, the slot serves nobody.
        time_of_day: (S,) fraction of the opening hours.
        party: (S,) size of the visitor's group.
        sensed_ratio: (S, N) sensed occupancy / comfortable capacity / OCC_SCALE of the slot's day.
        user_zone: (S,) the visitor's room.
        mask: (S, M) recommendable items.
    """
    live = (~idle.bool()).to(time_left.dtype)
    here = sensed_ratio.gather(1, user_zone[:, None])[:, 0] * live
    columns = (
        time_left,
        fatigue,
        deciding,
        idle.to(time_left.dtype),
        time_of_day,
        (party / 5.0).clamp(0.0, 1.0) * live,
        here,
        sensed_ratio.mean(dim=1),
        sensed_ratio.amax(dim=1),
        mask.to(time_left.dtype).mean(dim=1),
    )
    return torch.stack(columns, dim=1).clamp(-1.0, 1.0)


def observations(agents: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """(S, A + M·I) float32 flat observations: the agent block, then the item rows."""
    return torch.cat([agents, items.flatten(1)], dim=1).to(torch.float32)


def pooled_state(
    *, occupancy_ratio: torch.Tensor, time_of_day: torch.Tensor, present: torch.Tensor, idle: torch.Tensor,
    deciding: torch.Tensor,
) -> torch.Tensor:  # fmt: skip
    """(B, S_DIM) float32 pooled global state of ``B`` days.

    Args:
        occupancy_ratio: (B, N) true occupancy / comfortable capacity.
        time_of_day: (B,) fraction of the opening hours.
        present: (B,) share of the day's visitors in the building.
        idle: (B, K) bool, the slot serves nobody.
        deciding: (B, K) bool, the slot's visitor decides now.
    """
    ratio = occupancy_ratio / 4.0
    columns = (
        ratio.mean(dim=1),
        ratio.amax(dim=1) if ratio.shape[1] else torch.zeros_like(time_of_day),
        (occupancy_ratio > 1.0).to(ratio.dtype).mean(dim=1),
        time_of_day,
        present,
        idle.to(ratio.dtype).mean(dim=1) if idle.shape[1] else torch.ones_like(time_of_day),
        deciding.to(ratio.dtype).mean(dim=1) if deciding.shape[1] else torch.zeros_like(time_of_day),
    )
    return torch.stack(columns, dim=1).clamp(0.0, 1.0).to(torch.float32)


def from_model(model, flat: np.ndarray) -> np.ndarray:
    """(K, A + M·I) float32 items-mode observations of a Mesa museum day.

    Args:
        model: The :class:`cpss.venue.model.VenueModel` (its ``decision_view``).
        flat: (K, 4N + T + M + 5) its flat observations (``MuseumScenario.observe``), which hold the
            visitor block, the sensed occupancy and the time of day in the museum's layout.
    """
    view = model.decision_view()
    n, t, m = model.floor.n_zones, len(model.floor.topics), model.floor.n_items
    x = torch.from_numpy(np.asarray(flat, dtype=np.float64))
    idle = x[:, -1] > 0.5
    at = n + 2 + t + m
    tensor = torch.from_numpy
    party = torch.where(idle, torch.ones(len(x), dtype=torch.float64), tensor(np.asarray(view.party, dtype=float)))
    user_zone = tensor(np.asarray(view.user_zone, dtype=np.int64))
    k = len(x)
    on = torch.from_numpy(np.asarray(view.active, dtype=bool))
    rows = item_rows(
        mask=tensor(view.mask), match=tensor(view.match), novelty=tensor(view.novelty), walk=tensor(view.walk),
        crowd_density=tensor(np.asarray(view.crowd_density, dtype=float)).expand(k, m),
        attraction=tensor(np.asarray(view.attraction, dtype=float)),
        popularity=tensor(np.asarray(view.popularity, dtype=float)).expand(k, m),
        load=tensor(np.asarray(view.zone_load, dtype=float)).expand(k, n), area=tensor(np.asarray(view.zone_area, dtype=float)),
        item_zone=tensor(np.asarray(view.item_zone, dtype=np.int64)), user_zone=user_zone, party=party,
        guide=view.guide, f=view.f,
    )  # fmt: skip
    rows = rows * on[:, None, None].to(rows.dtype)  # rows are filled only for slots that decide now
    agents = agent_rows(
        time_left=x[:, n], fatigue=x[:, n + 1], deciding=x[:, at], idle=idle, time_of_day=x[:, at + 1 + n],
        party=party, sensed_ratio=x[:, at + 1 : at + 1 + n], user_zone=user_zone, mask=tensor(view.mask),
    )  # fmt: skip
    return observations(agents, rows).numpy()


def model_state(model) -> np.ndarray:
    """(S_DIM,) float32 pooled global state of a Mesa museum day (items mode's ``state()``)."""
    p, g = model.pop, model.guides
    idle = g.visitor < 0
    deciding = ~idle & (model.slot_rows(p.state) == DECIDING)
    present = ((p.state != OUTSIDE) & (p.state != LEFT)).mean() if p.size else 0.0
    out = pooled_state(
        occupancy_ratio=torch.from_numpy(np.asarray(model.occupancy / model.comfort, dtype=float))[None, :],
        time_of_day=torch.tensor([min(1.0, model.minute / model.day_minutes)], dtype=torch.float64),
        present=torch.tensor([float(present)], dtype=torch.float64),
        idle=torch.from_numpy(idle)[None, :],
        deciding=torch.from_numpy(np.asarray(deciding))[None, :],
    )
    return out[0].numpy()

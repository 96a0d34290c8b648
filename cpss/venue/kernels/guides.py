"""Compiled (numba) kernels of the guides: what they know, what they recommend, acceptance.

Companion of :mod:`cpss.venue.kernels.choice` (same conventions: no random draws inside, the model's arrays
written in place, arithmetic in the order of the numpy code it replaces).
"""

from __future__ import annotations

import numpy as np

from cpss.kit.jit import jit
from cpss.kit.personalisation import acceptance, utility
from cpss.venue.equations import (
    attention,
    coordinated_score,
    crowd_aware_score,
    density,
    interest_score,
    marginal_crowding,
    novelty,
)
from cpss.venue.kernels.choice import DECIDING, start_trip


@jit
def guide_picks(
    code: int,
    visitor: np.ndarray,
    estimate: np.ndarray,
    state: np.ndarray,
    zone: np.ndarray,
    satiation: np.ndarray,
    visited: np.ndarray,
    is_open: np.ndarray,
    features: np.ndarray,
    item_zone: np.ndarray,
    dist_min: np.ndarray,
    sensed: np.ndarray,
    area: np.ndarray,
    attraction: np.ndarray,
    params: np.ndarray,
    recs: np.ndarray,
) -> int:
    """Recommendations of the ``interest`` (1) or ``crowd_aware`` (2) policy into ``recs`` (-1 for none).

    The same argmax as :func:`cpss.venue.guides._best` over the slots whose user decides now,
    of :func:`~cpss.venue.equations.interest_score` or :func:`~cpss.venue.equations.crowd_aware_score`.
    Returns how many guides recommend.
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    recs[:] = -1
    n_offers = 0
    n_topics = features.shape[1]
    for k in range(visitor.size):
        v = visitor[k]
        if v < 0 or state[v] != DECIDING or code == 0:
            continue
        best, best_s = -1, -np.inf
        for j in range(item_zone.size):
            if visited[v, j] or not is_open[j]:
                continue
            match = 0.0
            exposure = 0.0
            for t in range(n_topics):
                match += estimate[k, t] * features[j, t]
                exposure += satiation[v, t] * features[j, t]
            new = novelty(exposure, prm.f)
            if code == 2:
                z = item_zone[j]
                crowd = density(sensed[z], area[z])
                s = crowd_aware_score(match, new, attraction[j], crowd, dist_min[zone[v], z], prm.guide, prm.f)
            else:
                s = interest_score(match, new)
            if best < 0 or s > best_s:
                best, best_s = j, s
        recs[k] = best
        if best >= 0:
            n_offers += 1
    return n_offers


@jit
def coordinated_picks(
    view: tuple, floor: tuple, board: tuple, uniforms: np.ndarray, params: np.ndarray, recs: np.ndarray
) -> int:
    """Recommendations of the ``crowd_coordinated`` policy into ``recs`` (-1 for none).

    ``view`` = (active, mask, match, novelty, walk) of a :class:`cpss.venue.guides.DecisionView`;
    ``floor`` = (attraction, item_zone, zone_area); ``board`` = (load, user_zone, party), where
    ``load`` (N,) is the predicted occupancy and is updated in place. Slots decide in order:
    slot ``k`` scores each allowed item with :func:`~cpss.venue.equations.coordinated_score`, of
    cost ``marginal_crowding(load[z_j], n_k) - marginal_crowding(load[z_k] - n_k, n_k)`` for an
    item in another room than its user's (0 in the same room), picks the best item or, with
    ``params[0].guide.spread_temperature`` τ > 0, draws one from the softmax ``exp((s - max s) / τ)``
    by inverse CDF at ``(1 - uniforms[k]) · total``; then its party of ``n_k`` moves in ``load``.
    ``params`` is a record with fields ``f`` and ``guide``. Returns how many guides recommend.
    """
    active, mask, match, new, walk = view
    attraction, item_zone, area = floor
    load, user_zone, party = board
    prm = params[0]
    tau = prm.guide.spread_temperature
    n_items = item_zone.size
    score = np.empty(n_items)
    n_offers = 0
    for k in range(active.size):
        recs[k] = -1
        if not active[k]:
            continue
        zk, n = user_zone[k], party[k]
        relief = marginal_crowding(load[zk] - n, n, area[zk], prm.f)
        best, best_s = -1, -np.inf
        for j in range(n_items):
            if not mask[k, j]:
                continue
            z = item_zone[j]
            cost = 0.0 if z == zk else marginal_crowding(load[z], n, area[z], prm.f) - relief
            score[j] = coordinated_score(match[k, j], new[k, j], attraction[j], cost, walk[k, j], prm.guide, prm.f)
            if best < 0 or score[j] > best_s:
                best, best_s = j, score[j]
        if best < 0:
            continue
        if tau > 0:
            total = 0.0
            for j in range(n_items):
                if mask[k, j]:
                    score[j] = np.exp((score[j] - best_s) / tau)
                    total += score[j]
            u = (1.0 - uniforms[k]) * total
            cum = 0.0
            for j in range(n_items):
                if mask[k, j]:
                    cum += score[j]
                    best = j
                    if cum >= u:
                        break
        recs[k] = best
        n_offers += 1
        z = item_zone[best]
        if z != zk:
            load[z] += n
            load[zk] -= n
    return n_offers


@jit
def accept_offers(
    recs: np.ndarray,
    visitor: np.ndarray,
    uniforms: np.ndarray,
    pop: tuple,
    floor: tuple,
    fields: tuple,
    params: np.ndarray,
    minute: float,
    counts: tuple,
    first: np.ndarray,
    trip: tuple,
) -> tuple[int, int]:
    """Users accept a recommendation with probability ``f.acceptance`` of its expected utility.

    The utility is ``expected_utility`` of the (user, item) pair, guided; accepted users walk
    to the item, guided. ``pop`` = (interest, satiation, trust, entered, walked); ``floor`` =
    (features, item_zone, dist_min, attraction); ``fields`` = this tick's (viewers, density,
    viewing-zone density, expected wait, occupancy noise, ambient noise, event); acceptance is
    :func:`~cpss.kit.personalisation.acceptance`; ``counts`` = (offered, accepted) per guide. One
    uniform per recommending guide, in guide order. Moves the users of ``first`` who still
    decide (did not accept) to its front, in order; returns the number accepted and their count.
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    interest, satiation, trust, entered, walked = pop
    features, item_zone, dist_min, attraction = floor
    viewers, zone_density, view_density, wait, crowd_noise, noise, event = fields
    offered, accepted = counts
    state, zone = trip[0], trip[1]
    n_ok = i = 0
    for k in range(recs.size):
        j = recs[k]
        if j < 0:
            continue
        v = visitor[k]
        z = item_zone[j]
        match = 0.0
        exposure = 0.0
        for t in range(features.shape[1]):
            match += interest[v, t] * features[j, t]
            exposure += satiation[v, t] * features[j, t]
        att = attention(minute - entered[v], walked[v], prm.fatigue)
        util = utility(
            match, att, exposure, trust[v], 1.0, viewers[j], zone_density[z], view_density[j], wait[j], crowd_noise[z],
            noise[z], event[z], attraction[j], dist_min[zone[v], z], prm.w, prm.f,
        )  # fmt: skip
        offered[k] += 1
        if uniforms[i] < acceptance(util, prm.f):
            accepted[k] += 1
            n_ok += 1
            start_trip(v, z, j, trip, dist_min)
            trip[7][v] = True
        i += 1
    n = 0
    for r in range(first.size):  # in place: n <= r
        v = first[r]
        if state[v] == DECIDING:
            first[n] = v
            n += 1
    return n_ok, n


@jit
def view_mask(
    visitor: np.ndarray, state: np.ndarray, visited: np.ndarray, is_open: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(active, mask) of :func:`view_arrays` alone."""
    n_slots, n_items = visitor.size, is_open.size
    active = np.zeros(n_slots, np.bool_)
    mask = np.zeros((n_slots, n_items), np.bool_)
    for k in range(n_slots):
        v = visitor[k]
        active[k] = v >= 0 and state[v] == DECIDING
        if active[k]:
            for j in range(n_items):
                mask[k, j] = not visited[v, j] and is_open[j]
    return active, mask


@jit
def view_arrays(
    visitor: np.ndarray,
    estimate: np.ndarray,
    state: np.ndarray,
    zone: np.ndarray,
    satiation: np.ndarray,
    visited: np.ndarray,
    is_open: np.ndarray,
    features: np.ndarray,
    item_zone: np.ndarray,
    dist_min: np.ndarray,
    sensed: np.ndarray,
    area: np.ndarray,
    params: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The arrays of a :class:`cpss.venue.guides.DecisionView`: (active, mask, match, novelty, walk, crowd density).

    Idle slots read row 0 of the population (as ``slot_rows`` does; zeros when nobody comes).
    """
    n_slots, n_items, n_topics = visitor.size, item_zone.size, features.shape[1]
    active = np.zeros(n_slots, np.bool_)
    mask = np.zeros((n_slots, n_items), np.bool_)
    match, new, walk = np.empty((n_slots, n_items)), np.empty((n_slots, n_items)), np.empty((n_slots, n_items))
    crowd = np.empty(n_items)
    for j in range(n_items):
        crowd[j] = density(sensed[item_zone[j]], area[item_zone[j]])
    anyone = state.size > 0
    for k in range(n_slots):
        row = max(visitor[k], 0)
        active[k] = anyone and visitor[k] >= 0 and state[row] == DECIDING
        z = max(zone[row], 0) if anyone else 0
        for j in range(n_items):
            m = 0.0
            exposure = 0.0
            for t in range(n_topics):
                m += estimate[k, t] * features[j, t]
                if anyone:
                    exposure += satiation[row, t] * features[j, t]
            match[k, j] = m
            new[k, j] = novelty(exposure, params[0].f)
            walk[k, j] = dist_min[z, item_zone[j]]
            mask[k, j] = active[k] and not visited[row, j] and is_open[j]
    return active, mask, match, new, walk, crowd


@jit
def offers(recs: np.ndarray, active: np.ndarray, mask: np.ndarray, out: np.ndarray) -> int:
    """Valid recommendations (item per guide) into ``out``; returns how many guides recommend.

    A recommendation becomes -1 (none) where the guide's user does not decide now or the item
    is not in the guide's mask.
    """
    if recs.size != out.size:
        raise ValueError("recommendations: one per guide")
    n = 0
    for k in range(recs.size):
        r = recs[k]
        if r >= mask.shape[1]:
            raise IndexError("recommendation: no such item")
        out[k] = r if r >= 0 and active[k] and mask[k, r] else -1
        n += out[k] >= 0
    return n


@jit
def party_counts(visitor: np.ndarray, zone: np.ndarray, group_size: np.ndarray, out: np.ndarray) -> None:
    """``out`` (N,) = members of guided groups per room, counted at their leader's room (served slots only).

    ``visitor`` is each guide slot's user (-1: idle), ``zone`` each user's room (-1: outside),
    ``group_size`` each user's group size (read at the leader the slot serves).
    """
    out[:] = 0.0
    for k in range(visitor.size):
        v = visitor[k]
        if v >= 0 and zone[v] >= 0:
            out[zone[v]] += group_size[v]

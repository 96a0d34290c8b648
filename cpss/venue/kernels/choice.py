"""Compiled (numba) kernels of the venue's decisions: who decides, guides' picks, users' own choice.

Each kernel fuses what used to be a dozen numpy calls into one loop over the users concerned,
because at a thousand users the fixed cost of a numpy call, not the arithmetic, dominated a
tick. The kernels draw **no** random numbers: the model draws them from its
``np.random.Generator`` in Python, in the same order and with the same sizes as before, and
passes them in. The arithmetic follows the numpy expressions it replaces term by term (the same
order of additions and products), so results agree with them to rounding.

Arrays are the model's own (``cpss.venue.users.Population``, ``cpss.venue.guides.GuideSlots``, the
floor plan); kernels that start trips write into them in place. ``trip`` is the tuple
``(state, zone, target_item, target_zone, walk_left, trip_walk, trip_wait, guided, leaving)``
returned by :meth:`cpss.venue.model.VenueModel.trip_arrays`.
"""

from __future__ import annotations

import numpy as np

from cpss.kit.jit import jit
from cpss.venue.equations import attention, choice_utility, follows, leave_value, stop_value
from cpss.venue.params import StyleTable

OUTSIDE, DECIDING, WALKING, QUEUING, VIEWING, LEFT = 0, 1, 2, 3, 4, 5
"""The values of :class:`cpss.venue.users.Activity` (plain ints for the compiled code)."""

POLICY_CODES = {"none": 0, "interest": 1, "crowd_aware": 2}
"""Heuristic guide policies that draw no random numbers, with their kernel codes."""


@jit
def start_trip(v: int, to_zone: int, item: int, trip: tuple, dist_min: np.ndarray) -> None:
    """User ``v`` starts walking to ``to_zone`` (for ``item``, or -1), as ``_start_trip`` does."""
    state, zone, target_item, target_zone, walk_left, trip_walk, trip_wait, guided, _ = trip
    target_item[v] = item
    target_zone[v] = to_zone
    w = dist_min[zone[v], to_zone]
    walk_left[v] = w
    trip_walk[v] = w
    trip_wait[v] = 0.0
    guided[v] = False
    state[v] = WALKING


@jit
def start_leaving(v: int, entrance: int, trip: tuple, dist_min: np.ndarray) -> None:
    """User ``v`` heads for the exit."""
    start_trip(v, entrance, -1, trip, dist_min)
    trip[8][v] = True


@jit
def deciders(state: np.ndarray, leader: np.ndarray, out: tuple) -> tuple[int, int]:
    """Users at a decision point: fills ``out`` = (those who choose first, companions who may follow a leader).

    ``out`` holds two (V,) arrays (:func:`choice_buffers`); returns how many of each.
    """
    first, follow = out
    nf = nc = 0
    for v in range(state.size):
        if state[v] == DECIDING:
            lead = leader[v]
            if lead != v and state[lead] != LEFT:
                follow[nc] = v
                nc += 1
            else:
                first[nf] = v
                nf += 1
    return nf, nc


def choice_buffers(n_users: int) -> tuple[np.ndarray, ...]:
    """Output arrays of :func:`deciders` (first, follow) and :func:`own_choice_stage` (stage, item), (V,) each."""
    return tuple(np.zeros(n_users, np.int64) for _ in range(4))


@jit
def follow_leaders(
    rest: np.ndarray,
    uniforms: np.ndarray,
    params: np.ndarray,
    leader: np.ndarray,
    visited: np.ndarray,
    is_open: np.ndarray,
    entrance: int,
    trip: tuple,
    item_zone: np.ndarray,
    dist_min: np.ndarray,
) -> int:
    """Companions follow their leader (to its item or out) when they draw :func:`~cpss.venue.equations.follows`.

    Moves the companions who choose on their own to the front of ``rest``, in order, and
    returns how many they are.
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    state, target_item, leaving = trip[0], trip[2], trip[8]
    n = 0
    for i in range(rest.size):
        v = rest[i]
        lead = leader[v]
        item = target_item[lead]
        can = follows(uniforms[i], prm.crowd.cohesion, prm.w) and state[lead] != DECIDING
        if can and leaving[lead]:
            start_leaving(v, entrance, trip, dist_min)
        elif can and item >= 0 and not visited[v, item] and is_open[item]:
            start_trip(v, item_zone[item], item, trip, dist_min)
        else:
            rest[n] = v  # in place: n <= i
            n += 1
    return n


@jit
def own_choice_stage(
    users: np.ndarray,
    uniforms: np.ndarray,
    gumbels: np.ndarray,
    zone: np.ndarray,
    style: np.ndarray,
    interest: np.ndarray,
    satiation: np.ndarray,
    visited: np.ndarray,
    entered: np.ndarray,
    walked: np.ndarray,
    consider: np.ndarray,
    walk_part: np.ndarray,
    here: np.ndarray,
    cand_feat: np.ndarray,
    item_part: np.ndarray,
    is_open: np.ndarray,
    styles: StyleTable,
    params: np.ndarray,
    minute: float,
    out: tuple,
) -> int:
    """The two-stage logit of ``_own_choice``: fills ``out`` = (stage 0/1/2 = item/wander/leave, item).

    Returns how many users wander.

    ``consider`` (zones x K) are the items in view from each zone (-1 = padding), ``walk_part``
    the weighted walking part of ``f`` to each, ``here`` whether it is in that zone and
    ``cand_feat`` (zones x T x K) its features (topic-major, so that the dot products run over
    contiguous rows; each is still summed topic by topic); ``item_part`` the item-level part of
    ``f`` per item this tick. The equations are :func:`~cpss.venue.equations.choice_utility`,
    :func:`~cpss.venue.equations.stop_value` and :func:`~cpss.venue.equations.leave_value`.
    ``out`` holds two arrays of at least ``users.size`` (:func:`choice_buffers`).
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    n, n_cand, n_topics = users.size, consider.shape[1], cand_feat.shape[1]
    stage, best = out
    vals = np.empty(n_cand)
    cum = np.empty(n_cand)
    match, exposure = np.empty(n_cand), np.empty(n_cand)
    n_wander = 0
    for i in range(n):
        v = users[i]
        z = zone[v]
        st = style[v]
        sel, stop, bonus = styles.selectivity[st], styles.stop_bias[st], styles.order_bonus[st]
        walk_sens = styles.walk_sensitivity[st]
        att = attention(minute - entered[v], walked[v], prm.fatigue)
        match[:] = 0.0
        exposure[:] = 0.0
        for t in range(n_topics):
            it, sat = interest[v, t], satiation[v, t]
            row = cand_feat[z, t]
            for k in range(n_cand):
                match[k] += it * row[k]
                exposure[k] += sat * row[k]
        top = -np.inf
        for k in range(n_cand):
            j = consider[z, k]
            if j < 0 or visited[v, j] or not is_open[j]:
                vals[k] = -np.inf
                continue
            util = choice_utility(match[k], att, exposure[k], walk_part[z, k], item_part[j], walk_sens, prm.w, prm.f)
            vals[k] = stop_value(util, here[z, k], sel, stop, bonus)
            if vals[k] > top:
                top = vals[k]
        has = top > -np.inf
        shift = top if has else 0.0
        acc = 0.0
        for k in range(n_cand):  # inverse-CDF draw from the softmax: the first k with cum >= u
            if vals[k] > -np.inf:  # exp(-inf) adds exactly 0
                acc += np.exp(vals[k] - shift)
            cum[k] = acc
        u = uniforms[i] * acc
        pos = 0
        while pos < n_cand and cum[pos] < u:  # cum never decreases: this counts cum < u
            pos += 1
        pos = min(pos, n_cand - 1)
        best[i] = consider[z, pos]
        options = (vals[pos] if has else -np.inf, prm.choice.browse_bias, leave_value(att, prm.choice))
        s, s_val = 0, options[0] + gumbels[i, 0]
        for c in range(1, 3):
            if options[c] + gumbels[i, c] > s_val:
                s, s_val = c, options[c] + gumbels[i, c]
        stage[i] = s
        if s == 1:
            n_wander += 1
    return n_wander


@jit
def apply_own_choice(
    users: np.ndarray,
    stage: np.ndarray,
    best: np.ndarray,
    r_wander: np.ndarray,
    neighbours: np.ndarray,
    degree: np.ndarray,
    entrance: int,
    trip: tuple,
    item_zone: np.ndarray,
    dist_min: np.ndarray,
) -> None:
    """Start the trips chosen by :func:`own_choice_stage` (``r_wander``: one uniform per wanderer)."""
    zone = trip[1]
    w = 0
    for i in range(users.size):
        v = users[i]
        if stage[i] == 0:
            start_trip(v, item_zone[best[i]], best[i], trip, dist_min)
        elif stage[i] == 1:
            z = zone[v]
            start_trip(v, neighbours[z, np.int64(r_wander[w] * degree[z])], -1, trip, dist_min)
            w += 1
        else:
            start_leaving(v, entrance, trip, dist_min)

"""Compiled (numba) kernels of the venue's movement, queues, visits and per-tick crowd fields.

Companion of :mod:`cpss.venue.kernels.choice` (same conventions: no random draws inside, the model's arrays
written in place, arithmetic in the order of the numpy code it replaces). Phases that draw
random numbers in the middle are split in two kernels around the draw.
"""

from __future__ import annotations

import numpy as np

from cpss.kit.jit import jit
from cpss.kit.personalisation import item_part
from cpss.venue.equations import attention, density, expected_wait, tired, zone_noise
from cpss.venue.kernels.choice import DECIDING, LEFT, OUTSIDE, QUEUING, VIEWING, WALKING, start_leaving


@jit
def admit_order(
    candidates: np.ndarray,
    perm: np.ndarray,
    bins: np.ndarray,
    free: np.ndarray,
    priority: np.ndarray,
    by_priority: bool,
) -> np.ndarray:
    """The admitted candidates, in ``np.lexsort((priority[perm], bins[perm]))`` order.

    Within a bin, candidates enter by ascending priority (if ``by_priority``), ties broken by
    their position in the random permutation ``perm``; at most ``max(free, 0)`` per bin. Only
    bins with free places are sorted, so a long queue at a full item costs one pass.
    """
    n, n_bins = candidates.size, free.size
    count = np.zeros(n_bins + 1, np.int64)
    for c in range(n):
        if free[bins[c]] > 0:
            count[bins[c] + 1] += 1
    for b in range(n_bins):
        count[b + 1] += count[b]
    fill = count[:-1].copy()
    members = np.empty(count[n_bins], np.int64)
    for r in range(n):  # bucket by bin, each bucket already in permutation order
        c = perm[r]
        b = bins[c]
        if free[b] > 0:
            members[fill[b]] = c
            fill[b] += 1
    out = np.empty(count[n_bins], candidates.dtype)
    n_out = 0
    for b in range(n_bins):
        lo, hi = count[b], count[b + 1]
        take = min(hi - lo, free[b])
        if take <= 0:
            continue
        group = members[lo:hi]
        if by_priority and take * (hi - lo) <= 4096:  # the `take` first by (priority, position): selection
            for _ in range(take):
                best = -1
                for i in range(hi - lo):
                    if group[i] >= 0 and (best < 0 or priority[group[i]] < priority[group[best]]):
                        best = i
                out[n_out] = candidates[group[best]]
                n_out += 1
                group[best] = -1
            continue
        if by_priority:
            group = group[np.argsort(priority[group], kind="mergesort")]
        for i in range(take):
            out[n_out] = candidates[group[i]]
            n_out += 1
    return out[:n_out]


@jit
def arrivals(state: np.ndarray, arrival: np.ndarray, minute: float) -> np.ndarray:
    """Users outside whose arrival time has come."""
    out = np.empty(state.size, np.int64)
    n = 0
    for v in range(state.size):
        if state[v] == OUTSIDE and arrival[v] <= minute:
            out[n] = v
            n += 1
    return out[:n]


@jit
def exit_users(
    users: np.ndarray, state: np.ndarray, zone: np.ndarray, slot: np.ndarray, occupancy: np.ndarray, visitor: np.ndarray
) -> None:
    """Users leave the venue and free their guide slots."""
    for v in users:
        occupancy[zone[v]] -= 1
        state[v] = LEFT
        if slot[v] >= 0:
            visitor[slot[v]] = -1
        slot[v] = -1


@jit
def walk_step(trip: tuple, walked: np.ndarray, dt: float, exits: tuple) -> tuple[np.ndarray, int, int, np.ndarray]:
    """Walkers advance; those at the exit leave (as ``exit_users``).

    ``exits`` = (entrance, guide slot per user, user per guide, occupancy per zone, hard
    capacity per zone). Returns ``(out, nd, nm, free)``: ``out`` holds, one after the other,
    the ``nd`` users who left, the ``nm`` arrivals that change zone, the zone each of those
    wants and the arrivals in place; ``free`` are the free places per zone (one array, not four,
    because every array a kernel returns costs a boxing).
    """
    state, zone, target_zone, walk_left, leaving = trip[0], trip[1], trip[3], trip[4], trip[8]
    entrance, slot, visitor, occupancy, capacity = exits
    n = state.size
    done, moving, here = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    nd = nm = nh = 0
    for v in range(n):
        if state[v] != WALKING:
            continue
        step = min(dt, walk_left[v])
        walk_left[v] -= step
        walked[v] += step
        if walk_left[v] > 1e-9:
            continue
        if leaving[v] and target_zone[v] == entrance:
            done[nd] = v
            nd += 1
        elif zone[v] != target_zone[v]:
            moving[nm] = v
            nm += 1
        else:
            here[nh] = v
            nh += 1
    exit_users(done[:nd], state, zone, slot, occupancy, visitor)
    out = np.empty(nd + 2 * nm + nh, np.int64)
    out[:nd] = done[:nd]
    out[nd : nd + nm] = moving[:nm]
    for i in range(nm):
        out[nd + nm + i] = target_zone[moving[i]]
    out[nd + 2 * nm :] = here[:nh]
    return out, nd, nm, capacity - occupancy


@jit
def enter_venue(
    ok: np.ndarray,
    state: np.ndarray,
    zone: np.ndarray,
    entered: np.ndarray,
    occupancy: np.ndarray,
    entrance: int,
    minute: float,
) -> None:
    """Admitted arrivals enter at the entrance and choose."""
    for v in ok:
        state[v] = DECIDING
        zone[v] = entrance
        entered[v] = minute
    occupancy[entrance] += ok.size


@jit
def walk_enter(
    moving: np.ndarray,
    ok: np.ndarray,
    here: np.ndarray,
    trip: tuple,
    occupancy: np.ndarray,
    queue_since: np.ndarray,
    minute: float,
    dt: float,
    patience: float,
) -> None:
    """Admitted walkers enter their zone; blocked ones wait at the door (or give up); arrivals queue."""
    state, zone, target_item, target_zone, trip_wait = trip[0], trip[1], trip[2], trip[3], trip[6]
    for v in ok:
        occupancy[zone[v]] -= 1
        occupancy[target_zone[v]] += 1
        zone[v] = target_zone[v]
    blocked = np.ones(state.size, np.bool_)
    for v in ok:
        blocked[v] = False
    for v in moving:
        if blocked[v]:
            trip_wait[v] += dt
            if trip_wait[v] > patience:
                state[v] = DECIDING  # waited too long at a full door: choose again
    for group in (ok, here):
        for v in group:
            if target_item[v] >= 0:
                state[v] = QUEUING
                queue_since[v] = minute
            else:
                state[v] = DECIDING


@jit
def queue_candidates(
    state: np.ndarray,
    queue_since: np.ndarray,
    target_item: np.ndarray,
    item_capacity: np.ndarray,
    minute: float,
    patience: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Queuers who gave up choose again.

    Returns (queuers who stay, the item each waits for, since when, free viewing places per item).
    """
    q = np.empty(state.size, np.int64)
    viewers = np.zeros(item_capacity.size, np.int64)
    n = 0
    for v in range(state.size):
        if state[v] == QUEUING:
            if minute - queue_since[v] > patience:
                state[v] = DECIDING
            else:
                q[n] = v
                n += 1
        elif state[v] == VIEWING:
            viewers[target_item[v]] += 1
    q = q[:n]
    return q, target_item[q], queue_since[q], item_capacity - viewers


@jit
def leave_tired(
    trip: tuple,
    entered: np.ndarray,
    walked: np.ndarray,
    budget: np.ndarray,
    minute: float,
    params: np.ndarray,
    entrance: int,
    dist_min: np.ndarray,
) -> None:
    """Deciding users out of time or attention head for the exit (:func:`~cpss.venue.equations.tired`)."""
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    state, leaving = trip[0], trip[8]
    for v in range(state.size):
        if state[v] == DECIDING and not leaving[v]:
            elapsed = minute - entered[v]
            if tired(elapsed, budget[v], attention(elapsed, walked[v], prm.fatigue), prm.fatigue):
                start_leaving(v, entrance, trip, dist_min)


@jit
def item_fields(
    zone_closed: np.ndarray,
    zone_density: np.ndarray,
    noise: np.ndarray,
    event: np.ndarray,
    viewers: np.ndarray,
    queue: np.ndarray,
    item_zone: np.ndarray,
    capacity: np.ndarray,
    dwell: np.ndarray,
    attraction: np.ndarray,
    params: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(open items, expected queueing minutes, item-level part of ``f``) for this tick.

    :func:`~cpss.venue.equations.expected_wait` and :func:`~cpss.kit.personalisation.item_part`.
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    m = item_zone.size
    is_open, wait, part = np.empty(m, np.bool_), np.empty(m), np.empty(m)
    for j in range(m):
        z = item_zone[j]
        is_open[j] = zone_closed[z] == 0
        wait[j] = expected_wait(queue[j], viewers[j], capacity[j], dwell[j])
        part[j] = item_part(viewers[j], zone_density[z], wait[j], noise[z], event[z], attraction[j], prm.w, prm.f)
    return is_open, wait, part


@jit
def crowd_fields(
    pop: tuple,
    area: np.ndarray,
    comfort: np.ndarray,
    base_noise: np.ndarray,
    n_items: int,
    params: np.ndarray,
    dt: float,
) -> tuple:
    """The per-tick crowd fields, and congested minutes for users in rooms denser than ``rho_star``.

    ``pop`` = (state, zone, target_item, congested_min); :func:`~cpss.venue.equations.density`
    and :func:`~cpss.venue.equations.zone_noise`.
    Returns (occupancy per zone, viewers per item, queue length per item, users who have
    arrived, density per zone, noise per zone (as ``zone_noise``), highest occupancy /
    comfortable capacity, users in congestion).
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    state, zone, target_item, congested_min = pop
    n_zones = area.size
    occ = np.zeros(n_zones, np.int64)
    viewers = np.zeros(n_items, np.int64)
    queue = np.zeros(n_items, np.int64)
    arrived = np.empty(state.size, np.bool_)
    for v in range(state.size):
        s = state[v]
        arrived[v] = s != OUTSIDE
        if s != OUTSIDE and s != LEFT:
            occ[zone[v]] += 1
            if s == VIEWING:
                viewers[target_item[v]] += 1
            elif s == QUEUING:
                queue[target_item[v]] += 1
    dens, noise = np.empty(n_zones), np.empty(n_zones)
    top = 0.0
    for z in range(n_zones):
        dens[z] = density(occ[z], area[z])
        noise[z] = zone_noise(base_noise[z], occ[z], comfort[z], prm.crowd)
        top = max(top, occ[z] / comfort[z])
    crowded = 0
    for v in range(state.size):
        if state[v] != OUTSIDE and state[v] != LEFT and dens[zone[v]] > prm.f.rho_star:
            congested_min[v] += dt
            crowded += 1
    return occ, viewers, queue, arrived, dens, noise, top, crowded


@jit
def free_guides(
    visitor: np.ndarray,
    state: np.ndarray,
    has_device: np.ndarray,
    slot: np.ndarray,
    leaving: np.ndarray,
    entered: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Idle guides, and as many present users with a device and no guide, earliest entry first.

    Returns ``(out, n_free)``: the idle guides are ``out[:n_free]``, the waiting users the rest.
    """
    free = np.empty(visitor.size, np.int64)
    n = 0
    for k in range(visitor.size):
        if visitor[k] < 0:
            free[n] = k
            n += 1
    if n == 0:
        return free[:0], 0
    wait = np.empty(state.size, np.int64)
    m = 0
    for v in range(state.size):
        if state[v] != OUTSIDE and state[v] != LEFT and has_device[v] and slot[v] < 0 and not leaving[v]:
            wait[m] = v
            m += 1
    wait = wait[:m]
    wait = wait[np.argsort(entered[wait], kind="mergesort")][:n]
    out = np.empty(n + wait.size, np.int64)
    out[:n] = free[:n]
    out[n:] = wait
    return out, n

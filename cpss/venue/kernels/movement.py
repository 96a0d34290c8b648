"""Compiled (numba) kernels of the venue's movement: arrivals, walking through rooms, doors, queues, leaving.

Companion of :mod:`cpss.venue.kernels.choice` (same conventions: no random draws inside, the model's arrays
written in place, arithmetic in the order of the numpy code it replaces). Phases that draw
random numbers in the middle are split in two kernels around the draw.
"""

from __future__ import annotations

import numpy as np

from cpss.kit.jit import jit
from cpss.venue.equations import attention, balks, skips, tired
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
def arrivals(state: np.ndarray, arrival: np.ndarray, minute: float, out: np.ndarray) -> int:
    """Fills ``out`` (V,) with the users outside whose arrival time has come; returns how many."""
    n = 0
    for v in range(state.size):
        if state[v] == OUTSIDE and arrival[v] <= minute:
            out[n] = v
            n += 1
    return n


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
def next_hops(dist_min: np.ndarray, neighbours: np.ndarray, degree: np.ndarray) -> np.ndarray:
    """(N, N) the room after ``x`` on a shortest walk from ``x`` to ``t`` (``t`` itself when ``x == t``).

    The lowest-numbered neighbour ``y`` with ``dist[x, y] + dist[y, t] = dist[x, t]``.
    """
    n = dist_min.shape[0]
    out = np.empty((n, n), np.int32)
    for x in range(n):
        for t in range(n):
            out[x, t] = t
            if x == t:
                continue
            for i in range(degree[x]):
                y = neighbours[x, i]
                if y != x and abs(dist_min[x, y] + dist_min[y, t] - dist_min[x, t]) <= 1e-9 * max(1.0, dist_min[x, t]):
                    out[x, t] = y
                    break
    return out


@jit
def path_room(zone: int, target: int, walk_left: float, next_hop: np.ndarray, dist_min: np.ndarray) -> int:
    """The room a walker from ``zone`` to ``target`` with ``walk_left`` minutes to go has reached.

    The last room ``y`` along the shortest walk with ``dist[y, target] >= walk_left`` (it has
    passed the door into ``y``); ``target`` once ``walk_left`` is 0.
    """
    x = zone
    while x != target:
        y = next_hop[x, target]
        if y == x or dist_min[y, target] < walk_left - 1e-9:
            break
        x = y
    return x


@jit
def walk_step(
    trip: tuple, walked: np.ndarray, dt: float, exits: tuple, route: tuple, params: np.ndarray, out: tuple
) -> tuple[int, int, int]:
    """Walkers advance through the rooms on their way; those at the exit leave (as ``exit_users``).

    ``exits`` = (entrance, guide slot per user, user per guide, occupancy per zone, hard
    capacity per zone); ``route`` = (density per zone at the last refresh, next-hop table,
    walking minutes). A walker occupies the room it has reached (:func:`path_room`); one that
    reaches a new room asks to enter it. One that arrives at a room that :func:`balks` at does
    not ask: it decides again where it stands. Users leaving for the exit stay counted where
    they are until they exit. Fills ``out`` (:func:`walk_buffers`) = (users who left, walkers
    that change room, the room each of those wants, arrivals in place, free places per zone)
    and returns how many left, change room and arrived in place.
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    state, zone, target_zone, walk_left, leaving = trip[0], trip[1], trip[3], trip[4], trip[8]
    entrance, slot, visitor, occupancy, capacity = exits
    dens, next_hop, dist_min = route
    n = state.size
    done, moving, want, here, free = out
    nd = nm = nh = 0
    for v in range(n):
        if state[v] != WALKING:
            continue
        step = min(dt, walk_left[v])
        walk_left[v] -= step
        walked[v] += step
        arrived = walk_left[v] <= 1e-9
        if leaving[v]:
            if arrived and target_zone[v] == entrance:
                done[nd] = v
                nd += 1
            continue
        x = target_zone[v] if arrived else path_room(zone[v], target_zone[v], walk_left[v], next_hop, dist_min)
        if x == zone[v]:
            if arrived:
                here[nh] = v
                nh += 1
        elif arrived and balks(dens[x], prm.w, prm.f, prm.crowd):
            state[v] = DECIDING  # too crowded to go in: choose again where it stands
        else:
            moving[nm], want[nm] = v, x
            nm += 1
    exit_users(done[:nd], state, zone, slot, occupancy, visitor)
    for z in range(free.size):
        free[z] = capacity[z] - occupancy[z]
    return nd, nm, nh


def walk_buffers(n_users: int, capacity: np.ndarray, occupancy: np.ndarray) -> tuple[np.ndarray, ...]:
    """The output arrays of :func:`walk_step`: four (V,) user lists and the (N,) free places."""
    free = np.zeros(capacity.size, np.result_type(capacity, occupancy))
    return (*(np.zeros(n_users, np.int64) for _ in range(4)), free)


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
    want: np.ndarray,
    ok: np.ndarray,
    here: np.ndarray,
    trip: tuple,
    occupancy: np.ndarray,
    queue_since: np.ndarray,
    clock: tuple,
    view: tuple,
    params: np.ndarray,
) -> None:
    """Admitted walkers enter the room they reached; blocked ones wait at its door (or give up); arrivals queue.

    ``want`` is the room each of ``moving`` asked for; ``clock`` = (minute, dt, queue patience);
    ``view`` = (viewing-zone density per item, walking minutes). A walker blocked on its way
    waits at the door of the room it could not enter. An arrival at an exhibit it cannot see
    (:func:`skips`) decides again instead of queueing.
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    minute, dt, patience = clock
    view_density, dist_min = view
    state, zone, target_item, target_zone, walk_left, trip_wait = trip[0], trip[1], trip[2], trip[3], trip[4], trip[6]
    room = np.full(state.size, -1, np.int64)
    for i in range(moving.size):
        room[moving[i]] = want[i]
    blocked = np.ones(state.size, np.bool_)
    for v in ok:
        occupancy[zone[v]] -= 1
        occupancy[room[v]] += 1
        zone[v] = room[v]
        blocked[v] = False
    for v in moving:
        if blocked[v]:
            trip_wait[v] += dt
            if walk_left[v] > 1e-9:
                walk_left[v] = dist_min[zone[v], target_zone[v]]  # back at the door it could not pass
            if trip_wait[v] > patience:
                state[v] = DECIDING  # waited too long at a full door: choose again
    for group in (ok, here):
        for v in group:
            if walk_left[v] > 1e-9:
                continue  # on its way through
            j = target_item[v]
            if j >= 0 and not skips(view_density[j], prm.w, prm.f, prm.crowd):
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
    out: tuple,
) -> int:
    """Queuers who gave up choose again; the others stay.

    Fills ``out`` (:func:`queue_buffers`) = (queuers who stay, the item each waits for, since
    when, free viewing places per item) and returns how many stay (the first three are valid
    up to that count).
    """
    q, items, since, free = out
    n = 0
    free[:] = item_capacity
    for v in range(state.size):
        if state[v] == QUEUING:
            if minute - queue_since[v] > patience:
                state[v] = DECIDING
            else:
                q[n], items[n], since[n] = v, target_item[v], queue_since[v]
                n += 1
        elif state[v] == VIEWING:
            free[target_item[v]] -= 1
    return n


def queue_buffers(n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The output arrays of :func:`queue_candidates`."""
    return np.zeros(n_users, np.int64), np.zeros(n_users, np.int64), np.zeros(n_users), np.zeros(n_items, np.int64)


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
def free_guides(
    visitor: np.ndarray,
    state: np.ndarray,
    has_device: np.ndarray,
    slot: np.ndarray,
    leaving: np.ndarray,
    entered: np.ndarray,
    out: tuple,
) -> tuple[int, int]:
    """Idle guides, and as many present users with a device and no guide, earliest entry first.

    Fills ``out`` = (idle guides, waiting users), two (K,) arrays, and returns how many of each.
    """
    free, waiting = out
    n = 0
    for k in range(visitor.size):
        if visitor[k] < 0:
            free[n] = k
            n += 1
    if n == 0:
        return 0, 0
    wait = np.empty(state.size, np.int64)
    m = 0
    for v in range(state.size):
        if state[v] != OUTSIDE and state[v] != LEFT and has_device[v] and slot[v] < 0 and not leaving[v]:
            wait[m] = v
            m += 1
    wait = wait[:m]
    wait = wait[np.argsort(entered[wait], kind="mergesort")][:n]
    waiting[: wait.size] = wait
    return n, wait.size

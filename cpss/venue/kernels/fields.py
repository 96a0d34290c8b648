"""Compiled (numba) kernels of the per-tick crowd and context fields, and the item-level part of ``f``.

Companion of :mod:`cpss.venue.kernels.movement` (same conventions: no random draws inside).
"""

from __future__ import annotations

import numpy as np

from cpss.kit.jit import jit
from cpss.kit.personalisation import item_part
from cpss.venue.equations import density, expected_wait, occupancy_noise, view_density, zone_noise
from cpss.venue.kernels.choice import LEFT, OUTSIDE, QUEUING, VIEWING


@jit
def item_fields(
    zone_closed: np.ndarray,
    zone_fields: tuple,
    viewers: np.ndarray,
    queue: np.ndarray,
    items: tuple,
    params: np.ndarray,
    out: tuple,
) -> None:
    """Fill ``out`` = (open items, expected queueing minutes, viewing-zone density, item part of ``f``) this tick.

    ``zone_fields`` = (density, occupancy noise, ambient noise, event) per zone; ``items`` =
    (zone, capacity, median dwell, attraction) per item. :func:`~cpss.venue.equations.expected_wait`,
    :func:`~cpss.venue.equations.view_density` and :func:`~cpss.kit.personalisation.item_part`.
    The outputs are the caller's arrays (:func:`item_buffers`): a returned array costs numba
    about a microsecond to hand back, a written one nothing.
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    zone_density, crowd_noise, ambient, event = zone_fields
    item_zone, capacity, dwell, attraction = items
    is_open, wait, view, part = out
    for j in range(item_zone.size):
        z = item_zone[j]
        is_open[j] = zone_closed[z] == 0
        wait[j] = expected_wait(queue[j], viewers[j], capacity[j], dwell[j])
        view[j] = view_density(viewers[j], queue[j], capacity[j], prm.crowd)
        part[j] = item_part(
            viewers[j], zone_density[z], view[j], wait[j], crowd_noise[z], ambient[z], event[z], attraction[j],
            prm.w, prm.f,
        )  # fmt: skip


def item_buffers(n_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The output arrays of :func:`item_fields` for ``n_items`` items."""
    return np.zeros(n_items, np.bool_), np.zeros(n_items), np.zeros(n_items), np.zeros(n_items)


def crowd_buffers(n_zones: int, n_items: int, n_users: int) -> tuple[np.ndarray, ...]:
    """The output arrays of :func:`crowd_fields`: occupancy, viewers, queue, arrived, density, noise, crowd noise."""
    occ, viewers, queue = np.zeros(n_zones, np.int64), np.zeros(n_items, np.int64), np.zeros(n_items, np.int64)
    return occ, viewers, queue, np.zeros(n_users, np.bool_), np.zeros(n_zones), np.zeros(n_zones), np.zeros(n_zones)


@jit
def crowd_fields(
    pop: tuple,
    area: np.ndarray,
    comfort: np.ndarray,
    base_noise: np.ndarray,
    params: np.ndarray,
    clock: tuple,
    out: tuple,
) -> tuple:
    """The per-tick crowd fields, congested minutes for users in rooms denser than ``rho_star``, and the entry queue.

    ``pop`` = (state, zone, target_item, congested_min, arrival); ``clock`` = (minute, dt);
    :func:`~cpss.venue.equations.density`, :func:`~cpss.venue.equations.zone_noise` and
    :func:`~cpss.venue.equations.occupancy_noise`. Fills ``out`` (:func:`crowd_buffers`) =
    (occupancy per zone, viewers per item, queue length per item, users who have arrived, density
    per zone, noise heard per zone, the part of it occupancy makes) and returns (highest occupancy
    / comfortable capacity, users in congestion, users held outside a full entrance after their
    arrival time).
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    state, zone, target_item, congested_min, arrival = pop
    minute, dt = clock
    n_zones = area.size
    occ, viewers, queue, arrived, dens, noise, crowd_noise = out
    occ[:] = 0
    viewers[:] = 0
    queue[:] = 0
    for v in range(state.size):
        s = state[v]
        arrived[v] = s != OUTSIDE
        if s != OUTSIDE and s != LEFT:
            occ[zone[v]] += 1
            if s == VIEWING:
                viewers[target_item[v]] += 1
            elif s == QUEUING:
                queue[target_item[v]] += 1
    top = 0.0
    for z in range(n_zones):
        dens[z] = density(occ[z], area[z])
        noise[z] = zone_noise(base_noise[z], occ[z], comfort[z], prm.crowd)
        crowd_noise[z] = occupancy_noise(occ[z], comfort[z], prm.crowd)
        top = max(top, occ[z] / comfort[z])
    crowded = held = 0
    for v in range(state.size):
        if state[v] != OUTSIDE and state[v] != LEFT and dens[zone[v]] > prm.f.rho_star:
            congested_min[v] += dt
            crowded += 1
        elif state[v] == OUTSIDE and arrival[v] <= minute:
            held += 1
    return top, crowded, held

"""Compiled (numba) kernels of the venue's visits: starting, finishing, and what guides learn.

Companion of :mod:`cpss.venue.kernels.choice` (same conventions: no random draws inside, the model's arrays
written in place, arithmetic in the order of the numpy code it replaces).
"""

from __future__ import annotations

import numpy as np

from cpss.kit.fparams import FELT
from cpss.kit.jit import jit
from cpss.kit.personalisation import crowd_cost, crowd_memory, utility
from cpss.venue.equations import (
    attention,
    dwell_time,
    estimate_step,
    observed_match,
    trust_update,
    viewing_quality,
)
from cpss.venue.kernels.choice import DECIDING, VIEWING
from cpss.venue.params import StyleTable


@jit
def start_views(
    ok: np.ndarray,
    normals: np.ndarray,
    state: np.ndarray,
    style: np.ndarray,
    target_item: np.ndarray,
    queue_since: np.ndarray,
    trip_wait: np.ndarray,
    wait_total: np.ndarray,
    dwell_left: np.ndarray,
    interest: np.ndarray,
    features: np.ndarray,
    item_dwell: np.ndarray,
    view_density: np.ndarray,
    styles: StyleTable,
    params: np.ndarray,
    minute: float,
) -> float:
    """Admitted queuers start viewing for :func:`~cpss.venue.equations.dwell_time`; returns the sum of their waits.

    The dwell is cut short by the :func:`~cpss.venue.equations.viewing_quality` of the item's
    viewing zone at the last refresh.
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    total = 0.0
    for i in range(ok.size):
        v = ok[i]
        trip_wait[v] += minute - queue_since[v]
        wait_total[v] += trip_wait[v]
        total += trip_wait[v]
        j = target_item[v]
        match = 0.0
        for t in range(features.shape[1]):
            match += interest[v, t] * features[j, t]
        quality = viewing_quality(view_density[j], prm.w, prm.f, prm.crowd)
        dwell_left[v] = dwell_time(item_dwell[j], styles.dwell_mult[style[v]], match, quality, normals[i], prm.dwell)
        state[v] = VIEWING
    return total


@jit
def views_done(state: np.ndarray, dwell_left: np.ndarray, dt: float, out: np.ndarray) -> int:
    """Viewers' dwell time runs down; fills ``out`` (V,) with those who finish now and returns how many."""
    n = 0
    for v in range(state.size):
        if state[v] == VIEWING:
            dwell_left[v] -= dt
            if dwell_left[v] <= 0:
                out[n] = v
                n += 1
    return n


@jit
def finish_views(
    done: np.ndarray,
    pop: tuple,
    popularity: np.ndarray,
    item_fields: tuple,
    zone_fields: tuple,
    features: np.ndarray,
    attraction: np.ndarray,
    params: np.ndarray,
    minute: float,
) -> tuple[np.ndarray, int]:
    """Users who finish a view gain its satisfaction ``f`` and choose again.

    ``pop`` = (state, zone, target_item, interest, satiation, trust, guided, trip_wait,
    trip_walk, entered, walked, satisfaction, gain, visited, n_viewed, top_seen, top_items,
    slot, crowd_peak, crowd_last); ``item_fields`` = (viewers, viewing-zone density) per item;
    ``zone_fields`` = (density, occupancy noise, ambient noise, event) per zone. The gain is
    :func:`~cpss.kit.personalisation.utility` of the visit as it happened (co-viewers,
    queueing and walking it took), plus the change of the remembered crowding
    (:func:`~cpss.kit.personalisation.crowd_memory` of the peak and the latest
    :func:`~cpss.kit.personalisation.crowd_cost`), both scored with the experienced weights
    :data:`~cpss.kit.fparams.FELT`, not the decision weights of the config; trust moves by
    :func:`~cpss.venue.equations.trust_update` on the visit's own utility. Returns each user's
    interest match and how many of them have a guide (who then refine their estimates).
    """
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    state, zone, target_item, interest, satiation, trust, guided, trip_wait, trip_walk = pop[:9]
    entered, walked, satisfaction, gain, visited, n_viewed, top_seen, top_items, slot = pop[9:18]
    crowd_peak, crowd_last = pop[18], pop[19]
    viewers, view_density = item_fields
    density, crowd_noise, ambient, event = zone_fields
    match = np.empty(done.size)
    n_sel = 0
    for i in range(done.size):
        v = done[i]
        j, z = target_item[v], zone[v]
        m = 0.0
        exposure = 0.0
        for t in range(features.shape[1]):
            m += interest[v, t] * features[j, t]
            exposure += satiation[v, t] * features[j, t]
        att = attention(minute - entered[v], walked[v], prm.fatigue)
        g = utility(
            m, att, exposure, trust[v], 1.0 if guided[v] else 0.0, max(0, viewers[j] - 1), density[z], view_density[j],
            trip_wait[v], crowd_noise[z], ambient[z], event[z], attraction[j], trip_walk[v], FELT, prm.f,
        )  # fmt: skip
        cost = crowd_cost(density[z], view_density[j], trip_wait[v], crowd_noise[z], prm.f)
        before = crowd_memory(crowd_peak[v], crowd_last[v], FELT, prm.f)
        crowd_peak[v] = max(crowd_peak[v], cost)
        crowd_last[v] = cost
        remembered = crowd_memory(crowd_peak[v], crowd_last[v], FELT, prm.f) - before
        satisfaction[v] += g + remembered
        gain[v] += g + remembered
        for t in range(features.shape[1]):
            satiation[v, t] += features[j, t]
        visited[v, j] = True
        n_viewed[v] += 1
        for t in range(top_items.shape[1]):
            if top_items[v, t] == j:
                top_seen[v] += 1
                break
        popularity[j] += 1.0
        if slot[v] >= 0:
            n_sel += 1
        if guided[v]:  # trust moves toward how good the guided visit was
            trust[v] = trust_update(trust[v], g, prm.guide)
        guided[v] = False
        state[v] = DECIDING
        match[i] = m
    return match, n_sel


@jit
def refine_estimates(
    done: np.ndarray,
    match: np.ndarray,
    normals: np.ndarray,
    slot: np.ndarray,
    target_item: np.ndarray,
    features: np.ndarray,
    estimate: np.ndarray,
    params: np.ndarray,
) -> None:
    """Guides refine their estimates from the visits they observed (as :func:`cpss.venue.guides.update_estimate`)."""
    prm = params[0]  # the VenueParams record (cpss.kit.jit.record)
    n_topics = features.shape[1]
    new = np.empty(n_topics)
    s = 0
    for i in range(done.size):
        v = done[i]
        k = slot[v]
        if k < 0:
            continue
        j = target_item[v]
        signal = observed_match(match[i], normals[s], prm.guide)
        s += 1
        dot = 0.0
        for t in range(n_topics):
            dot += estimate[k, t] * features[j, t]
        err = signal - dot
        sq = 0.0
        for t in range(n_topics):
            new[t] = estimate_step(estimate[k, t], features[j, t], err, prm.guide)
            sq += new[t] * new[t]
        norm = np.sqrt(sq)
        if norm > 0:
            for t in range(n_topics):
                estimate[k, t] = new[t] / max(norm, 1e-12)

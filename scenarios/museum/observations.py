"""Compiled (numba) kernels of the museum environment: observations and rewards.

An env step builds one observation per guide and a reward per guide; in numpy that was some
thirty small array calls per step, more than the world's own tick at museum-small's size. The
kernels compute the same values (the layout table in :mod:`scenarios.museum`) in one pass.
"""

from __future__ import annotations

import numpy as np

from cpss.kit.jit import jit
from cpss.venue.equations import attention
from cpss.venue.kernels.choice import DECIDING, LEFT, OUTSIDE


@jit
def clip01(x: float) -> float:
    """``np.clip(x, 0, 1)``."""
    return min(max(x, 0.0), 1.0)


@jit
def museum_observations(
    visitor: np.ndarray,
    estimate: np.ndarray,
    pop: tuple,
    sensed: np.ndarray,
    comfort: np.ndarray,
    zone_closed: np.ndarray,
    noise: np.ndarray,
    minute: float,
    day_minutes: float,
    params: np.ndarray,
    occ_scale: float,
) -> np.ndarray:
    """(K, 4N + T + M + 5) float32 observations of the guides (see the museum's layout table).

    ``pop`` = (state, zone, entered, budget, walked, visited); ``params`` the model's
    :attr:`~cpss.venue.model.VenueModel.kernel_params`; fatigue is 1 -
    :func:`~cpss.venue.equations.attention`; sensed occupancy is scaled by ``occ_scale`` times
    the comfortable capacity. Idle slots read row 0 of the population and are masked, as
    ``slot_rows`` did.
    """
    state, zone, entered, budget, walked, visited = pop
    n_slots, n_topics = estimate.shape
    n_zones, n_items = sensed.size, visited.shape[1]
    obs = np.empty((n_slots, 4 * n_zones + n_topics + n_items + 5), np.float32)
    anyone = state.size > 0
    for k in range(n_slots):
        idle = visitor[k] < 0
        live = 0.0 if idle else 1.0
        row = max(visitor[k], 0)
        z = max(zone[row], 0) if anyone else 0
        for c in range(n_zones):
            obs[k, c] = live if c == z else 0.0
        e = entered[row] if anyone else 0.0
        elapsed = 0.0 if np.isnan(e) else minute - e
        b = max(budget[row] if anyone else 0.0, 1e-9)
        obs[k, n_zones] = clip01(clip01((b - elapsed) / b) * live)
        tired = 1.0 - attention(elapsed, walked[row] if anyone else 0.0, params[0].fatigue)
        obs[k, n_zones + 1] = 0.0 if idle else clip01(tired)
        at = n_zones + 2
        for t in range(n_topics):
            obs[k, at + t] = clip01(estimate[k, t] * live)
        at += n_topics
        for j in range(n_items):
            obs[k, at + j] = 1.0 if (not idle and anyone and visited[row, j]) else 0.0
        at += n_items
        obs[k, at] = 1.0 if (not idle and anyone and state[row] == DECIDING) else 0.0
        at += 1
        for c in range(n_zones):
            obs[k, at + c] = clip01(sensed[c] / comfort[c] / occ_scale)
        at += n_zones
        obs[k, at] = clip01(min(1.0, minute / day_minutes))
        at += 1
        for c in range(n_zones):
            obs[k, at + c] = clip01(zone_closed[c])
            obs[k, at + n_zones + c] = clip01(noise[c])
        obs[k, at + 2 * n_zones] = 1.0 if idle else 0.0
    return obs


@jit
def _block_sum(a: np.ndarray, lo: int, n: int) -> float:
    """Numpy's pairwise sum of at most 128 values: 8 partial sums, then the rest in order."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0, r1, r2, r3 = r0 + a[lo + i], r1 + a[lo + i + 1], r2 + a[lo + i + 2], r3 + a[lo + i + 3]
        r4, r5, r6, r7 = r4 + a[lo + i + 4], r5 + a[lo + i + 5], r6 + a[lo + i + 6], r7 + a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@jit
def pairwise_sum(a: np.ndarray, n: int) -> float:
    """Sum of ``a[:n]`` by numpy's pairwise summation.

    ``0.0 + pairwise_sum(a, a.size)`` is ``np.add.reduce(a)`` of a contiguous float64 array to
    the bit: blocks of up to 128 values, larger ranges split in halves (rounded down to a
    multiple of 8) and the halves' sums added. The recursion runs on explicit stacks (a
    recursive kernel cannot be cached).
    """
    if n <= 128:
        return _block_sum(a, 0, n)
    task_lo, task_n = np.empty(128, np.int64), np.empty(128, np.int64)  # task_n < 0: add the top two sums
    sums = np.empty(64)
    n_tasks, n_sums = 1, 0
    task_lo[0], task_n[0] = 0, n
    while n_tasks:
        n_tasks -= 1
        lo, m = task_lo[n_tasks], task_n[n_tasks]
        if m < 0:
            n_sums -= 1
            sums[n_sums - 1] = sums[n_sums - 1] + sums[n_sums]
        elif m <= 128:
            sums[n_sums] = _block_sum(a, lo, m)
            n_sums += 1
        else:
            half = m // 2
            half -= half % 8
            task_lo[n_tasks], task_n[n_tasks] = 0, -1  # then add the two halves' sums
            task_lo[n_tasks + 1], task_n[n_tasks + 1] = lo + half, m - half  # second: the right half
            task_lo[n_tasks + 2], task_n[n_tasks + 2] = lo, half  # first: the left half
            n_tasks += 3
    return sums[0]


@jit
def museum_rewards(visitor: np.ndarray, state: np.ndarray, gain: np.ndarray, cooperation: float) -> np.ndarray:
    """``(1 - c) · own user's gain this tick + c · mean gain of users present (or who gained)``, per guide."""
    gains = np.empty(state.size)
    n = 0
    for v in range(state.size):
        if (state[v] != OUTSIDE and state[v] != LEFT) or gain[v] != 0:
            gains[n] = gain[v]
            n += 1
    mean = (0.0 + pairwise_sum(gains, n)) / n if n else 0.0  # == gains[:n].mean()
    out = np.empty(visitor.size)
    for k in range(visitor.size):
        own = gain[visitor[k]] if visitor[k] >= 0 else 0.0
        out[k] = (1.0 - cooperation) * own + cooperation * mean
    return out


@jit
def museum_actions(acts: np.ndarray, mask: np.ndarray, visitor: np.ndarray, recs: np.ndarray, invalid: np.ndarray):
    """Fill ``recs`` (recommendation per guide, -1 for none) and ``invalid`` from actions 0 = none, j + 1 = item j.

    An action is valid if it is 0 or its item is in the guide's mask; idle guides recommend
    nothing and are never flagged. Negative actions index from the end, as numpy does.
    """
    n_cols = mask.shape[1] + 1
    if acts.size != mask.shape[0] or recs.size != acts.size or invalid.size != acts.size:
        raise ValueError("one action per guide")
    recs[:] = -1
    invalid[:] = False
    for k in range(acts.size):
        a = acts[k] if acts[k] >= 0 else acts[k] + n_cols
        if a < 0 or a >= n_cols:
            raise IndexError("action out of range")
        ok = a == 0 or mask[k, a - 1]
        if visitor[k] >= 0:
            if ok:
                recs[k] = acts[k] - 1
            else:
                invalid[k] = True


@jit
def action_mask_rows(mask: np.ndarray) -> np.ndarray:
    """(K, M + 1) int8: column 0 (no recommendation) always valid, then the guides' masks."""
    out = np.ones((mask.shape[0], mask.shape[1] + 1), np.int8)
    for k in range(mask.shape[0]):
        for j in range(mask.shape[1]):
            out[k, j + 1] = mask[k, j]
    return out

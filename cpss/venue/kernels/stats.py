"""Compiled (numba) kernel of the day's per-tick statistics, read by the metric reporters.

The median and the Gini coefficient of satisfaction need the satisfactions in sorted order.
Sorting all of them every tick cost more than the rest of a tick at 10 000 users, yet only the
users who finished a visit (or arrived) change between ticks; :class:`SortedSatisfaction`
keeps the sorted list and merges the changed values in, which gives the same sorted sequence
in one pass.
"""

from __future__ import annotations

import numpy as np

from cpss.kit.jit import jit
from cpss.venue.kernels.choice import LEFT, OUTSIDE

STAT_NAMES = ("arrived", "present", "left", "mean", "median", "gini", "items", "coverage", "served", "occupancy_ratio")
"""Entries of the vector :func:`day_stats` returns."""


@jit
def day_stats(
    state: np.ndarray,
    sat: np.ndarray,
    counts: tuple,
    shadow: np.ndarray,
    inside: np.ndarray,
    vals: np.ndarray,
    ids: np.ndarray,
    out: tuple,
) -> int:
    """Per-tick figures over the users who entered (see :data:`STAT_NAMES`), and the new sorted lists.

    ``counts`` = (items viewed per user, top items seen per user, k of the top-k, each guide's
    user, occupancy per zone, comfortable capacity per zone). Mean, median and Gini are of
    satisfaction (Gini with negative values clipped to 0); items is items viewed per user;
    coverage the share of top-k items seen; served the busy guides; occupancy ratio the
    highest occupancy / comfortable capacity.

    ``vals``/``ids`` are last tick's satisfactions of the users who had entered, sorted, and
    ``shadow``/``inside`` what they were computed from (updated in place): users whose value
    changed (or who arrived) are dropped from the list and merged back in at their new place.
    """
    n_viewed, top_seen, n_top, visitor, occupancy, comfort = counts
    n = state.size
    n_arrived = n_present = n_left = n_items = n_seen = n_drop = n_changed = 0
    drop = np.zeros(n, np.bool_)
    changed = np.empty(n, np.int64)
    for v in range(n):
        s = state[v]
        if s != OUTSIDE:
            n_arrived += 1
            n_items += n_viewed[v]
            n_seen += top_seen[v]
            if s == LEFT:
                n_left += 1
            else:
                n_present += 1
        stale = inside[v] and (s == OUTSIDE or sat[v] != shadow[v])
        if stale:
            drop[v] = True
            n_drop += 1
        if s != OUTSIDE and (stale or not inside[v]):
            changed[n_changed] = v
            n_changed += 1
        inside[v] = s != OUTSIDE
        shadow[v] = sat[v]
    changed = changed[:n_changed]
    changed = changed[np.argsort(sat[changed])]
    m = ids.size - n_drop + n_changed
    figures, out_vals, out_ids = out
    total = clipped = weighted = 0.0
    i = j = 0
    for o in range(m):  # merge the kept entries with the changed ones, and sum as we go
        while i < ids.size and drop[ids[i]]:
            i += 1
        if j >= n_changed or (i < ids.size and vals[i] <= sat[changed[j]]):
            x, who = vals[i], ids[i]
            i += 1
        else:
            x, who = sat[changed[j]], changed[j]
            j += 1
        out_vals[o], out_ids[o] = x, who
        total += x
        x = x if x > 0.0 else 0.0
        clipped += x
        weighted += (2 * (o + 1) - m - 1) * x
    figures[:] = 0.0
    figures[0], figures[1], figures[2] = n_arrived, n_present, n_left
    if m:
        half = m // 2
        figures[3] = total / m
        figures[4] = out_vals[half] if m % 2 else 0.5 * (out_vals[half - 1] + out_vals[half])
        figures[5] = 0.0 if clipped == 0 else weighted / (m * clipped)
        figures[6] = n_items / m
        figures[7] = n_seen / (m * n_top)
    for k in range(visitor.size):
        figures[8] += visitor[k] >= 0
    for z in range(occupancy.size):
        figures[9] = max(figures[9], occupancy[z] / comfort[z])
    return m


GROUP_BUCKETS = ("1", "2", "3plus")
"""Group-size buckets of the externality metrics: solo visitors, pairs, groups of three or more."""


def group_means(values: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over the users of each group; NaN for a group with no user.

    Args:
        values: (V,) one value per user.
        member: (G, V) bool, row ``g`` marks the users of group ``g``.

    Returns:
        (G,) the mean per group (NaN where a row marks nobody).
    """
    n = member.sum(axis=1)
    total = (member * values[None, :]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def fairness_groups(
    state: np.ndarray, has_device: np.ndarray, leader: np.ndarray, style: np.ndarray, n_styles: int
) -> np.ndarray:
    """The (G, V) membership rows of the externality metrics, among users who entered.

    Rows, in order: guided (the user's group carries a mobile guide, ``has_device`` of its
    leader), unguided, everyone, one row per style index, then one per :data:`GROUP_BUCKETS`
    bucket of the size of the user's group (users sharing a leader).
    """
    entered = state != OUTSIDE
    guided = has_device[leader]
    size = np.bincount(leader, minlength=leader.size)[leader]
    rows = [entered & guided, entered & ~guided, entered]
    rows += [entered & (style == s) for s in range(n_styles)]
    rows += [entered & (size == 1), entered & (size == 2), entered & (size >= 3)]
    return np.stack(rows)

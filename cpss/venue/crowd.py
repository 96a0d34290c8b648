"""The crowd ``cr``: direct influence of users on each other, as array kernels.

Occupancy per zone and item, admission under hard capacities and first-come-first-served
queues at full items, expected queueing time, and the companions graph (the following itself
happens in :meth:`cpss.venue.decisions.DecisionsMixin._decide`). Social proof and congestion discomfort enter
the utilities through :func:`cpss.kit.personalisation.crowd_term`.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from cpss.venue.kernels.movement import admit_order


def counts(index: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """How many masked entries fall on each of ``size`` bins (zones or items)."""
    return np.bincount(index[mask], minlength=size)[:size]


def admit(
    rng: np.random.Generator,
    candidates: np.ndarray,
    bins: np.ndarray,
    free: np.ndarray,
    priority: np.ndarray | None = None,
) -> np.ndarray:
    """Choose which candidates enter their bin without exceeding its free places.

    Within a bin, candidates are admitted by ascending ``priority`` (first come, first
    served); ties, or no priority, are broken at random from ``rng``.

    Args:
        rng: The model's generator.
        candidates: (C,) user indices asking to enter.
        bins: (C,) the zone or item each candidate wants.
        free: (B,) free places per bin (negative counts as 0).
        priority: (C,) lower enters first, or None.

    Returns:
        The admitted subset of ``candidates``.
    """
    if candidates.size == 0:
        return candidates
    perm = rng.permutation(candidates.size)
    bins = np.asarray(bins, dtype=np.int64)
    free = np.asarray(free)
    if free.dtype != np.int64:
        if free.dtype.kind == "f":  # rank < free  <=>  rank < ceil(free)
            free = np.minimum(np.ceil(free), candidates.size)
        free = free.astype(np.int64)
    if priority is None:
        return admit_order(candidates, perm, bins, free, _NO_PRIORITY, False)
    return admit_order(candidates, perm, bins, free, np.asarray(priority, dtype=float), True)


_NO_PRIORITY = np.zeros(0)


def social_graph(leader: np.ndarray) -> nx.Graph:
    """The companions graph: one clique per group (users sharing a leader).

    Args:
        leader: (V,) each user's group leader (groups are drawn from the model RNG).

    Returns:
        An undirected graph on user indices.
    """
    g = nx.Graph()
    g.add_nodes_from(range(leader.shape[0]))
    order = np.argsort(leader, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(leader[order])) + 1)
    for members in groups:
        if members.size > 1:
            g.add_edges_from((int(a), int(b)) for i, a in enumerate(members) for b in members[i + 1 :])
    return g

"""The routes world's equations: a route's cost, its marginal social cost, and the closed forms.

Each route ``r`` has an affine cost in the share ``x_r`` of the day's users who take it,
``c_r(x_r) = a_r + b_r * x_r`` (:func:`route_cost`). The users' mean cost when a share ``s``
takes route B is ``C(s) = (1 - s) c_A(1 - s) + s c_B(s)`` (:func:`mean_cost`), and the cost one
more user adds to the total, his own cost plus the delay he imposes on the others on his route,
is ``a_r + 2 b_r x_r`` (:func:`marginal_cost`). The two registered forms serve numpy, numba and
torch alike (plain arithmetic); ``tests/test_equations.py`` checks them.

The closed forms follow (not registered: they take no array inputs). With ``b_A + b_B > 0``:

* **selfish (Wardrop) equilibrium**: no user gains by switching, so the used routes cost the
  same: ``s_eq = clip((a_A + b_A - a_B) / (b_A + b_B), 0, 1)`` (:func:`selfish_share`);
* **social optimum**: ``C'(s) = 0``, the marginal social costs are equal:
  ``s_opt = clip((a_A + 2 b_A - a_B) / (2 (b_A + b_B)), 0, 1)`` (:func:`optimum_share`).

Pigou's example (``a = (1, 0)``, ``b = (0, 1)``): ``s_eq = 1`` with ``C = 1``, ``s_opt = 1/2``
with ``C = 3/4``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cpss.kit.equations import UNIT, register


class RouteParams(NamedTuple):
    """One route's cost ``a + b * x`` in its share ``x`` of the day's users (config ``route_a`` / ``route_b``)."""

    a: float = 0.0
    """Cost of the route when nobody else takes it (free-flow cost; minus a room's value) [U]."""
    b: float = 1.0
    """Extra cost when every user takes the route (congestion slope, >= 0) [U]."""


def route_cost(load, p: RouteParams):
    """Cost of a route to each of its users: ``a + b * load`` (``load``: the route's share of users)."""
    return p.a + p.b * load


register(route_cost, params=(RouteParams,), load=UNIT)


def marginal_cost(load, p: RouteParams):
    """Marginal social cost of a route, ``d(load * cost) / d load = a + 2 b * load``.

    The cost of one more user on the route: his own cost plus the cost his presence adds to
    the others already on it.
    """
    return p.a + 2.0 * p.b * load


register(marginal_cost, params=(RouteParams,), load=UNIT)


def mean_cost(share_b, pa: RouteParams, pb: RouteParams):
    """Users' mean cost ``C(s) = (1 - s) c_A(1 - s) + s c_B(s)`` when a share ``s`` takes route B."""
    return (1.0 - share_b) * route_cost(1.0 - share_b, pa) + share_b * route_cost(share_b, pb)


register(mean_cost, params=(RouteParams, RouteParams), share_b=UNIT)


# ---- closed forms ------------------------------------------------------------------------
def selfish_share(pa: RouteParams, pb: RouteParams) -> float:
    """Share on route B at the selfish (Wardrop) equilibrium: the used routes cost the same."""
    return float(np.clip((pa.a + pa.b - pb.a) / (pa.b + pb.b), 0.0, 1.0))


def optimum_share(pa: RouteParams, pb: RouteParams) -> float:
    """Share on route B at the social optimum: the marginal social costs are equal."""
    return float(np.clip((pa.a + 2.0 * pa.b - pb.a) / (2.0 * (pa.b + pb.b)), 0.0, 1.0))


def selfish_route(share_b: float, pa: RouteParams, pb: RouteParams) -> float:
    """Where a selfish user goes at the share ``share_b``: 1.0 (B is cheaper), 0.0 (A), 0.5 (a tie)."""
    gap = route_cost(share_b, pb) - route_cost(1.0 - share_b, pa)
    return 1.0 if gap < -1e-12 else 0.0 if gap > 1e-12 else 0.5

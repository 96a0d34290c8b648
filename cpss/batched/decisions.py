"""Decisions of the batched venue: what guides see, recommendations and acceptance, own choices.

The torch counterpart of :mod:`cpss.venue.decisions` for :class:`cpss.batched.venue.BatchedVenue`
(same equations, docs/model.md §2), over the flat visitor and guide arrays of all days at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from cpss.batched import ops
from cpss.kit.personalisation import acceptance_torch, utility_torch
from cpss.venue.equations import choice_utility_torch, follows, leave_value, novelty_torch, stop_value
from cpss.venue.users import Activity

if TYPE_CHECKING:
    from cpss.batched.venue import BatchedVenue

A = Activity


def decision_view(w: BatchedVenue) -> ops.TorchView:
    """What the guides of every day know about their users' current decision (cached per tick)."""
    if w._view_cache is not None and w._view_cache[0] == w._version:
        return w._view_cache[1]
    p, g, prm = w.pop, w.guides, w.params
    rows = w.slot_rows()
    active = (g.visitor >= 0) & (p.state[rows] == A.DECIDING)
    mask = active[:, None] & ~p.visited[rows] & w.open[None, :]
    exposure = p.satiation[rows] @ w.features.T
    sensed = (w.sensed / w.area)[:, w.item_zone]
    view = ops.TorchView(
        active=active,
        mask=mask,
        match=g.estimate @ w.features.T,
        novelty=novelty_torch(exposure, prm.f),
        walk=w.izd[p.zone[rows].clamp(min=0)],
        crowd_density=sensed.repeat_interleave(w.K, dim=0),
        attraction=w.attraction,
        popularity=w.popularity.repeat_interleave(w.K, dim=0),
        f=prm.f,
        guide=prm.guide,
    )
    w._view_cache = (w._version, view)
    return view


def pair_utility(w: BatchedVenue, users: torch.Tensor, items: torch.Tensor, guided: bool) -> torch.Tensor:
    """Utility ``users`` expect from ``items`` now (one item per user; true interests)."""
    p = w.pop
    d, feats, iz = w.day[users], w.features[items], w.item_zone[items]
    return utility_torch(
        w=w.params.w,
        p=w.params.f,
        match=(p.interest[users] * feats).sum(dim=1),
        attention=w.attention_of(users),
        exposure=(p.satiation[users] * feats).sum(dim=1),
        trust=p.trust[users],
        guided=torch.tensor(float(guided), dtype=w.dtype, device=w.device),
        viewers=w.viewers[d, items],
        density=w.density[d, iz],
        view_density=w.view_density[d, items],
        queue_wait=w.wait[d, items],
        crowd_noise=w.crowd_noise[d, iz],
        noise=w.base_noise[d, iz],
        event=w.zone_event[iz],
        attraction=w.attraction[items],
        walk_min=w.izd[p.zone[users], items],
    )


def decide(w: BatchedVenue) -> None:
    """Guides recommend, users accept or choose themselves, companions follow their leader."""
    p, g = w.pop, w.guides
    deciding = p.state == A.DECIDING
    follower = deciding & ~p.is_leader & (p.state[p.leader] != A.LEFT)
    first = deciding & ~follower
    if w.K:
        view = decision_view(w)
        recs = w._external if w._external is not None else ops.policy(w.policy, view, w.gen)
        allowed = view.mask.gather(1, recs.clamp(min=0)[:, None])[:, 0]
        recs = torch.where(view.active & (recs >= 0) & allowed, recs, torch.full_like(recs, -1))
        g.recommendation = recs
        w._external = None
        slots = torch.nonzero(recs >= 0).flatten()
        users, items = g.visitor[slots], recs[slots]
        util = pair_utility(w, users, items, guided=True)
        ok = w._rand(slots.numel()) < acceptance_torch(util, w.params.f)
        g.offered[slots] += 1
        g.accepted[slots[ok]] += 1
        day = slots // w.K
        w.offers.index_add_(0, day, torch.ones_like(util))
        w.accepts.index_add_(0, day, ok.to(w.dtype))
        go_to_item(w, users[ok], items[ok], guided=True)
        first[users[ok]] = False
    own_choice(w, torch.nonzero(first).flatten())
    rest = torch.nonzero(follower & (p.state == A.DECIDING)).flatten()
    if rest.numel():
        lead = p.leader[rest]
        item = p.target_item[lead]
        can = follows(w._rand(rest.numel()), w.params.crowd.cohesion, w.params.w) & (p.state[lead] != A.DECIDING)
        leaves = can & p.leaving[lead]
        start_leaving(w, rest[leaves])
        follow = can & ~p.leaving[lead] & (item >= 0)
        safe = item.clamp(min=0)
        follow &= ~p.visited[rest, safe] & w.open[safe]
        go_to_item(w, rest[follow], item[follow], guided=False)
        own_choice(w, rest[~follow & ~leaves])


def own_choice(w: BatchedVenue, users: torch.Tensor) -> None:
    """Logit choice over the unseen open items in view, then stop vs wander vs leave.

    As :meth:`cpss.venue.decisions.DecisionsMixin._own_choice`: the item by inverse-CDF sampling from
    the softmax over the consideration set, then a three-way Gumbel-max logit.
    """
    n = users.numel()
    if n == 0:
        return
    p, prm, s = w.pop, w.params, w.style
    st, zone, day = p.style[users], p.zone[users], w.day[users]
    cand, safe = w.consider[zone], w.consider_safe[zone]  # (U, K) item ids; -1 = padding in cand
    match = (p.interest[users] @ w.features.T).gather(1, safe)
    exposure = (p.satiation[users] @ w.features.T).gather(1, safe)
    att = w.attention_of(users)
    walk_sensitivity = s["walk_sensitivity"][st][:, None]
    item = w.item_part[day].gather(1, safe)
    util = choice_utility_torch(
        match, att[:, None], exposure, w.consider_walk[zone], item, walk_sensitivity, prm.w, prm.f
    )
    items_v = stop_value(
        util, w.consider_here[zone], s["selectivity"][st][:, None], s["stop_bias"][st][:, None],
        s["order_bonus"][st][:, None],
    )  # fmt: skip
    allowed = w.consider_open[zone] & ~p.visited[users].gather(1, safe)
    items_v = torch.where(allowed, items_v, torch.full_like(items_v, -torch.inf))
    top = items_v.amax(dim=1, keepdim=True)
    has = torch.isfinite(top[:, 0])
    weights = torch.exp(items_v - torch.where(has[:, None], top, torch.zeros_like(top)))
    cum = weights.cumsum(dim=1)
    u = w._rand(n)[:, None] * cum[:, -1:]
    pos = (cum < u).sum(dim=1).clamp(max=cand.shape[1] - 1)
    best = cand.gather(1, pos[:, None])[:, 0]
    best_v = torch.where(has, items_v.gather(1, pos[:, None])[:, 0], torch.full_like(att, -torch.inf))
    options = torch.stack([best_v, torch.full_like(att, prm.choice.browse_bias), leave_value(att, prm.choice)], dim=1)
    stage = (options + ops.gumbel(w.gen, tuple(options.shape), options)).argmax(dim=1)
    stop = stage == 0
    go_to_item(w, users[stop], best[stop], guided=False)
    wander = users[stage == 1]
    z = p.zone[wander]
    pick = (w._rand(wander.numel()) * w.degree[z]).long()
    start_trip(w, wander, w.neighbours[z, pick], torch.full_like(wander, -1))
    start_leaving(w, users[stage == 2])


def start_trip(w: BatchedVenue, users: torch.Tensor, zones: torch.Tensor, item: torch.Tensor) -> None:
    """Send ``users`` walking to ``zones`` (for ``item``, or -1)."""
    p = w.pop
    p.target_item[users] = item
    p.target_zone[users] = zones
    p.walk_left[users] = w.dist[p.zone[users], zones]
    p.trip_walk[users] = p.walk_left[users]
    p.trip_wait[users] = 0.0
    p.guided[users] = False
    p.state[users] = int(A.WALKING)


def go_to_item(w: BatchedVenue, users: torch.Tensor, items: torch.Tensor, guided: bool) -> None:
    """Send ``users`` to ``items``; ``guided`` marks visits a guide recommended."""
    start_trip(w, users, w.item_zone[items], items)
    w.pop.guided[users] = guided


def start_leaving(w: BatchedVenue, users: torch.Tensor) -> None:
    """Send ``users`` to the exit."""
    exit_zone = torch.full((users.numel(),), w.entrance, dtype=torch.long, device=w.device)
    start_trip(w, users, exit_zone, torch.full_like(exit_zone, -1))
    w.pop.leaving[users] = True

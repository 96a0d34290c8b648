"""Decisions of the batched venue: what guides see, recommendations and acceptance, own choices.

The torch counterpart of :mod:`cpss.venue.decisions` for :class:`cpss.batched.venue.BatchedVenue`
(same equations, docs/model.md §2), over the flat visitor and guide arrays of all days at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from cpss.batched import ops
from cpss.kit.personalisation import acceptance_torch, utility_torch
from cpss.venue.equations import (
    choice_utility_torch,
    coordinated_score,
    follows,
    leave_value,
    marginal_crowding_torch,
    novelty_torch,
    stop_value,
)
from cpss.venue.users import Activity

if TYPE_CHECKING:
    from cpss.batched.venue import BatchedVenue
    from cpss.venue.guides import OccupancyBoard

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


class TorchBoard:
    """The guides' occupancy board of every day, as :class:`cpss.venue.guides.OccupancyBoard`.

    Args:
        w: The batched venue (its days, rooms and population).
        delay: Ticks a reading lags behind the rooms.
    """

    def __init__(self, w: BatchedVenue, delay: int) -> None:
        self.delay, self.N = int(delay), w.N
        self.group_size = torch.bincount(w.pop.leader, minlength=w.B * w.V).to(w.dtype)
        self.readings = torch.zeros(self.delay + 1, w.B, w.N, dtype=w.dtype, device=w.device)
        self.parties = torch.zeros_like(self.readings)
        self.pushed = 0

    def push(self, w: BatchedVenue, reading: torch.Tensor) -> torch.Tensor:
        """Record this tick's fresh ``reading`` (B, N) and the guided parties; return the late reading."""
        slot = self.pushed % (self.delay + 1)
        self.readings[slot] = reading
        v = w.guides.visitor[w.guides.visitor >= 0]
        v = v[w.pop.zone[v] >= 0]
        bins = w.day[v] * self.N + w.pop.zone[v]
        parties = torch.zeros(w.B * self.N, dtype=w.dtype, device=w.device).index_add_(0, bins, self.group_size[v])
        self.parties[slot] = parties.view(w.B, self.N)
        self.pushed += 1
        return self.late(self.readings)

    def late(self, buffer: torch.Tensor) -> torch.Tensor:
        """The (B, N) entry pushed ``delay`` ticks before the last push (zeros if none was)."""
        if self.pushed <= self.delay:
            return torch.zeros_like(buffer[0])
        return buffer[(self.pushed - 1 - self.delay) % (self.delay + 1)]

    def load(self) -> torch.Tensor:
        """(B, N) predicted occupancy: the late reading + guided parties now - guided parties then."""
        now = self.parties[(self.pushed - 1) % (self.delay + 1)] if self.pushed else torch.zeros_like(self.parties[0])
        return self.late(self.readings) + now - self.late(self.parties)

    def take(self, w: BatchedVenue, boards: list[OccupancyBoard]) -> None:
        """Continue the numpy boards of ``w``'s days (for :func:`cpss.batched.io.from_models`)."""
        if any(b.delay != self.delay or b.pushed != boards[0].pushed for b in boards):
            raise ValueError("from_models: the models' occupancy boards differ in delay or age")
        self.group_size = torch.bincount(w.pop.leader, minlength=w.B * w.V).to(w.dtype)
        for name in ("readings", "parties"):
            stacked = torch.stack([torch.as_tensor(getattr(b, name)) for b in boards], dim=1)
            setattr(self, name, stacked.to(device=w.device, dtype=w.dtype))
        self.pushed = boards[0].pushed


def heuristic(w: BatchedVenue, name: str, view: ops.TorchView, uniforms: torch.Tensor | None = None) -> torch.Tensor:
    """Recommendations (BK,) of the heuristic ``name``: :func:`coordinated_picks` or :func:`cpss.batched.ops.policy`."""
    if name == "crowd_coordinated":
        return coordinated_picks(w, view, uniforms)
    return ops.policy(name, view, w.gen)


def coordinated_picks(w: BatchedVenue, view: ops.TorchView, uniforms: torch.Tensor | None = None) -> torch.Tensor:
    """Recommendations (BK,) of ``crowd_coordinated``, as :func:`cpss.venue.kernels.guides.coordinated_picks`.

    The slots of all days decide in slot order, each day on its own predicted load
    (:meth:`TorchBoard.load`). ``uniforms`` (BK,) are the draws of the softmax (drawn from the
    batch's generator when not given and the temperature is > 0).
    """
    B, K, M = w.B, w.K, w.M
    g, f = view.guide, view.f
    load = w.board.load().clone()
    rows = w.slot_rows()
    user_zone = w.pop.zone[rows].clamp(min=0).view(B, K)
    party = w.board.group_size[rows].view(B, K)
    active, mask = view.active.view(B, K), view.mask.view(B, K, M)
    match, new, walk = (x.view(B, K, M) for x in (view.match, view.novelty, view.walk))
    tau = g.spread_temperature
    if tau > 0 and uniforms is None:
        uniforms = w._rand(B * K)
    u_all = uniforms.view(B, K) if tau > 0 else None
    out = torch.full((B, K), -1, dtype=torch.long, device=w.device)
    for k in torch.nonzero(active.any(dim=0)).flatten().tolist():  # a slot no day uses changes nothing
        zk, n = user_zone[:, k], party[:, k]
        relief = marginal_crowding_torch(load.gather(1, zk[:, None])[:, 0] - n, n, w.area[zk], f)
        zone_cost = marginal_crowding_torch(load, n[:, None], w.area[None, :], f) - relief[:, None]
        zone_cost.scatter_(1, zk[:, None], torch.zeros_like(relief)[:, None])
        score = coordinated_score(match[:, k], new[:, k], w.attraction, zone_cost[:, w.item_zone], walk[:, k], g, f)
        score = torch.where(mask[:, k], score, torch.full_like(score, -torch.inf))
        ok = active[:, k] & mask[:, k].any(dim=1)
        best = score.argmax(dim=1)
        top = score.gather(1, best[:, None])[:, 0]
        if tau > 0:
            weights = torch.where(mask[:, k], torch.exp((score - top[:, None]) / tau), torch.zeros_like(score))
            cum = weights.cumsum(dim=1)
            target = (1.0 - u_all[:, k]) * cum[:, -1]
            best = (cum < target[:, None]).sum(dim=1).clamp(max=M - 1)
        pick = torch.where(ok, best, torch.full_like(best, -1))
        out[:, k] = pick
        z = w.item_zone[pick.clamp(min=0)]
        moved = (n * (ok & (z != zk))).to(load.dtype)
        load.scatter_add_(1, z[:, None], moved[:, None])
        load.scatter_add_(1, zk[:, None], -moved[:, None])
    return out.view(-1)


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
        recs = w._external if w._external is not None else heuristic(w, w.policy, view)
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

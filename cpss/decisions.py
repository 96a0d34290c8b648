"""Decisions in the venue: what guides see, recommendations and acceptance, users' own choices.

:class:`DecisionsMixin` holds the decision kernels of :class:`cpss.venue.VenueModel` (split out
to keep each module readable); it relies on the model's arrays (``pop``, ``guides``, ``floor``,
the per-tick crowd fields) and RNG. See docs/model.md §2 for the equations.
"""

from __future__ import annotations

import numpy as np

from cpss import crowd
from cpss.personalisation import pair_dot
from cpss.personalisers import POLICY_FUNCTIONS, DecisionView
from cpss.users import Activity

A = Activity


class DecisionsMixin:
    """Decision kernels of the venue model (mixed into :class:`cpss.venue.VenueModel`)."""

    def decision_view(self) -> DecisionView:
        """What the guides know about their users' current decision (see DecisionView).

        Computed once per tick (the world does not change between the end of a tick and the
        decisions at the start of the next), then served from a cache.
        """
        if self._view_cache is not None and self._view_cache[0] == self._version:
            return self._view_cache[1]
        view = self._decision_view()
        self._view_cache = (self._version, view)
        return view

    def slot_rows(self, arr: np.ndarray) -> np.ndarray:
        """Rows of a per-user array for each guide's user.

        Idle guides get row 0 (zeros if nobody comes today); callers mask idle guides themselves.
        """
        if self.pop.size == 0:
            return np.zeros((self.guides.size, *arr.shape[1:]), dtype=arr.dtype)
        return arr[np.maximum(self.guides.visitor, 0)]

    def _decision_view(self) -> DecisionView:
        g, p, fl = self.guides, self.pop, self.floor
        active_k = (g.visitor >= 0) & (self.slot_rows(p.state) == A.DECIDING)
        mask = active_k[:, None] & ~self.slot_rows(p.visited) & self.item_open()[None, :]
        exposure = pair_dot(self.slot_rows(p.satiation), fl.item_features)
        return DecisionView(
            active=active_k,
            mask=mask,
            match=pair_dot(g.estimate, fl.item_features),
            novelty=np.exp(-exposure / self.f.params.n_sat),
            walk=self.item_zone_dist[np.maximum(self.slot_rows(p.zone), 0)],
            crowd_density=(self.sensed / self.area)[fl.item_zone],
            attraction=fl.item_attraction,
            popularity=self.popularity,
            rho_star=self.f.params.rho_star,
            congestion_penalty=self.f.params.congestion_penalty,
            walk_cost=self.f.params.walk_cost,
            attraction_weight=self.f.params.attraction_weight,
            crowd_weight=self.config.guides.crowd_weight,
        )

    def expected_utility(self, users: np.ndarray, guided: bool) -> np.ndarray:
        """(U, M) utility users expect from each item now (true interests; what they see)."""
        p, fl = self.pop, self.floor
        zone = p.zone[users]
        wait = crowd.expected_wait(self.queue_len, self.viewers, fl.item_capacity, fl.item_dwell)
        return self.f.utility(
            match=pair_dot(p.interest[users], fl.item_features),
            attention=self.attention_of(users)[:, None],
            exposure=pair_dot(p.satiation[users], fl.item_features),
            trust=p.trust[users][:, None],
            guided=np.float64(guided),
            viewers=self.viewers[None, :],
            density=self.density[fl.item_zone][None, :],
            queue_wait=wait[None, :],
            noise=self.noise[fl.item_zone][None, :],
            event=self.zone_event[fl.item_zone][None, :],
            attraction=fl.item_attraction[None, :],
            walk_min=self.item_zone_dist[zone],
        )

    def _decide(self) -> None:
        p, g = self.pop, self.guides
        deciding = p.state == A.DECIDING
        follower = deciding & (p.leader != np.arange(p.size)) & (p.state[p.leader] != A.LEFT)
        first = np.flatnonzero(deciding & ~follower)
        # Guides recommend to the users they serve (external actions or the heuristic).
        if g.size:
            view = self.decision_view()
            recs = self._external if self._external is not None else POLICY_FUNCTIONS[self.policy](view, self.rng)
            recs = np.where(view.active & (recs >= 0) & view.mask[np.arange(g.size), np.maximum(recs, 0)], recs, -1)
            g.recommendation[:] = recs
            self._external = None
            slots = np.flatnonzero(recs >= 0)
            users = g.visitor[slots]
            if slots.size:
                util = self.expected_utility(users, guided=True)[np.arange(slots.size), recs[slots]]
                ok = self.rng.random(slots.size) < self.f.acceptance(util)
                g.offered[slots] += 1
                g.accepted[slots[ok]] += 1
                self.offers += slots.size
                self.accepts += int(ok.sum())
                self._go_to_item(users[ok], recs[slots][ok], guided=True)
                first = first[~self._flag(users[ok])[first]]
        self._own_choice(first)
        # Companions follow their leader's current target with probability `cohesion`.
        rest = np.flatnonzero(follower & (p.state == A.DECIDING))
        if rest.size:
            lead = p.leader[rest]
            item = p.target_item[lead]
            can = (self.rng.random(rest.size) < self.config.crowd.cohesion) & (p.state[lead] != A.DECIDING)
            leaves = can & p.leaving[lead]
            self._start_leaving(rest[leaves])
            follow = can & ~p.leaving[lead] & (item >= 0)
            follow[follow] = ~p.visited[rest[follow], item[follow]] & self.item_open()[item[follow]]
            self._go_to_item(rest[follow], item[follow], guided=False)
            self._own_choice(rest[~follow & ~leaves])

    def _own_choice(self, users: np.ndarray) -> None:
        """Logit choice over the unseen open items in view, then stop vs 'wander' vs 'leave'.

        Users consider the items within ``visitors.consideration_hops`` rooms (``self.consider``);
        guides may recommend any item. The item is drawn from the softmax of the utilities by
        inverse-CDF sampling (one uniform per user), the same distribution as Gumbel-max.
        """
        if users.size == 0:
            return
        p, fl, v, f = self.pop, self.floor, self.config.visitors, self.f
        st, s = p.style[users], self._style_arr
        zone = p.zone[users]
        cand = self.consider[zone]  # (U, K) item ids, -1 = padding
        safe = np.maximum(cand, 0)
        match = np.take_along_axis(pair_dot(p.interest[users], fl.item_features), safe, axis=1)
        exposure = np.take_along_axis(pair_dot(p.satiation[users], fl.item_features), safe, axis=1)
        user = f.weights.user * f.terms_user(match, self.attention_of(users)[:, None], exposure)
        walk = f.weights.environment * f.walk_part(self.item_zone_dist[zone[:, None], safe])
        util = user + s["walk_sensitivity"][st][:, None] * walk + self._item_part[safe]
        here = fl.item_zone[safe] == zone[:, None]
        items_v = (
            s["selectivity"][st][:, None] * util + s["stop_bias"][st][:, None] + (s["order_bonus"][st][:, None] * here)
        )
        allowed = (cand >= 0) & ~p.visited[users[:, None], safe] & self._open[safe]
        items_v = np.where(allowed, items_v, -np.inf)
        top = items_v.max(axis=1, keepdims=True)
        has = np.isfinite(top[:, 0])
        weights = np.exp(items_v - np.where(has[:, None], top, 0.0))
        cum = np.cumsum(weights, axis=1)
        u = self.rng.random(users.size)[:, None] * cum[:, -1:]
        pos = np.minimum((cum < u).sum(axis=1), cand.shape[1] - 1)
        best = cand[np.arange(users.size), pos]
        best_v = np.where(has, items_v[np.arange(users.size), pos], -np.inf)
        # Second stage: stop at that item (its plain utility) vs wander vs leave, a three-way
        # logit, so that many items in view do not crowd out moving on.
        fatigue = 1.0 - self.attention_of(users)
        options = np.stack(
            [best_v, np.full(users.size, v.browse_bias), v.leave_bias + v.leave_fatigue * fatigue], axis=1
        )
        stage = np.argmax(options + self.rng.gumbel(size=options.shape), axis=1)
        self._go_to_item(users[stage == 0], best[stage == 0], guided=False)
        wander = users[stage == 1]
        z = p.zone[wander]
        nxt = self.neighbours[z, (self.rng.random(wander.size) * self.degree[z]).astype(np.int64)]
        self._start_trip(wander, nxt, item=np.full(wander.size, -1))
        self._start_leaving(users[stage == 2])

    def _flag(self, users: np.ndarray) -> np.ndarray:
        """(V,) bool, True for ``users`` (fast set membership for index arrays)."""
        mark = np.zeros(self.pop.size, dtype=bool)
        mark[users] = True
        return mark

    def _go_to_item(self, users: np.ndarray, items: np.ndarray, guided: bool) -> None:
        self._start_trip(users, self.floor.item_zone[items], items)
        self.pop.guided[users] = guided

    def _start_trip(self, users: np.ndarray, zones: np.ndarray, item: np.ndarray) -> None:
        p = self.pop
        p.target_item[users] = item
        p.target_zone[users] = zones
        p.walk_left[users] = self.floor.dist_min[p.zone[users], zones]
        p.trip_walk[users] = p.walk_left[users]
        p.trip_wait[users] = 0.0
        p.guided[users] = False
        p.state[users] = A.WALKING

    def _start_leaving(self, users: np.ndarray) -> None:
        self._start_trip(users, np.full(users.size, self.floor.entrance), np.full(users.size, -1))
        self.pop.leaving[users] = True

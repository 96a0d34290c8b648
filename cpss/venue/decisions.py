"""Decisions in the venue: what guides see, recommendations and acceptance, users' own choices.

:class:`DecisionsMixin` holds the decision kernels of :class:`cpss.venue.model.VenueModel` (split out
to keep each module readable); it relies on the model's arrays (``pop``, ``guides``, ``floor``,
the per-tick crowd fields) and RNG. See docs/model.md §2 for the equations.
"""

from __future__ import annotations

import numpy as np

from cpss.kit.personalisation import pair_dot
from cpss.venue.equations import expected_wait
from cpss.venue.guides import POLICY_FUNCTIONS, DecisionView
from cpss.venue.kernels import choice as kn
from cpss.venue.kernels import guides as kg
from cpss.venue.users import Activity

A = Activity


class DecisionsMixin:
    """Decision kernels of the venue model (mixed into :class:`cpss.venue.model.VenueModel`)."""

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

    def decision_mask(self) -> tuple[np.ndarray, np.ndarray]:
        """The ``(active, mask)`` fields of :meth:`decision_view` alone (for action masks), cached per tick."""
        if self._mask_cache is not None and self._mask_cache[0] == self._version:
            return self._mask_cache[1]
        if self._view_cache is not None and self._view_cache[0] == self._version:
            out = (self._view_cache[1].active, self._view_cache[1].mask)
        else:
            out = kg.view_mask(self.guides.visitor, self.pop.state, self.pop.visited, self.item_open())
        self._mask_cache = (self._version, out)
        return out

    def slot_rows(self, arr: np.ndarray) -> np.ndarray:
        """Rows of a per-user array for each guide's user.

        Idle guides get row 0 (zeros if nobody comes today); callers mask idle guides themselves.
        """
        if self.pop.size == 0:
            return np.zeros((self.guides.size, *arr.shape[1:]), dtype=arr.dtype)
        return arr[np.maximum(self.guides.visitor, 0)]

    def _decision_view(self) -> DecisionView:
        g, p, fl = self.guides, self.pop, self.floor
        active, mask, match, novelty, walk, crowd_density = kg.view_arrays(
            g.visitor, g.estimate, p.state, p.zone, p.satiation, p.visited, self.item_open(), fl.item_features,
            fl.item_zone, fl.dist_min, self.sensed, self.area, self.kernel_params,
        )  # fmt: skip
        return DecisionView(
            active=active,
            mask=mask,
            match=match,
            novelty=novelty,
            walk=walk,
            crowd_density=crowd_density,
            attraction=fl.item_attraction,
            popularity=self.popularity,
            f=self.params.f,
            guide=self.params.guide,
            zone_load=self.board.load(),
            zone_area=self.area,
            item_zone=fl.item_zone,
            user_zone=np.maximum(self.slot_rows(p.zone), 0),
            party=self.slot_rows(self.board.group_size),
        )

    def expected_utility(self, users: np.ndarray, guided: bool) -> np.ndarray:
        """(U, M) utility users expect from each item now (true interests; what they see)."""
        p, fl = self.pop, self.floor
        zone = p.zone[users]
        wait = expected_wait(self.queue_len, self.viewers, fl.item_capacity, fl.item_dwell)
        return self.f.utility(
            match=pair_dot(p.interest[users], fl.item_features),
            attention=self.attention_of(users)[:, None],
            exposure=pair_dot(p.satiation[users], fl.item_features),
            trust=p.trust[users][:, None],
            guided=np.float64(guided),
            viewers=self.viewers[None, :],
            density=self.density[fl.item_zone][None, :],
            view_density=self.view_density[None, :],
            queue_wait=wait[None, :],
            crowd_noise=self.crowd_noise[fl.item_zone][None, :],
            noise=self.base_noise[fl.item_zone][None, :],
            event=self.zone_event[fl.item_zone][None, :],
            attraction=fl.item_attraction[None, :],
            walk_min=self.item_zone_dist[zone],
        )

    def _decide(self) -> None:
        p, g, fl = self.pop, self.guides, self.floor
        buf = self.buffers("choice", lambda: kn.choice_buffers(p.size))
        n_first, n_follow = kn.deciders(p.state, p.leader, buf[:2])
        first, follower = buf[0][:n_first], buf[1][:n_follow]
        trip = self.trip_arrays()
        # Guides recommend to the users they serve (external actions or the heuristic).
        if g.size:
            code = kn.POLICY_CODES.get(self.policy) if self._external is None else None
            if code is not None:  # a heuristic that draws nothing: only the deciding users' rows
                n_offers = kg.guide_picks(
                    code, g.visitor, g.estimate, p.state, p.zone, p.satiation, p.visited, self._open,
                    fl.item_features, fl.item_zone, fl.dist_min, self.sensed, self.area, fl.item_attraction,
                    self.kernel_params, g.recommendation,
                )  # fmt: skip
            else:
                if self._external is None:
                    recs = POLICY_FUNCTIONS[self.policy](self.decision_view(), self.rng)
                else:
                    recs = self._external
                active, mask = self.decision_mask()
                n_offers = kg.offers(np.asarray(recs, dtype=np.int64), active, mask, g.recommendation)
            self._external = None
            if n_offers:
                uniforms = self.rng.random(n_offers)
                n_ok, n_first = kg.accept_offers(
                    g.recommendation, g.visitor, uniforms, (p.interest, p.satiation, p.trust, p.entered, p.walked),
                    (fl.item_features, fl.item_zone, fl.dist_min, fl.item_attraction),
                    (self.viewers, self.density, self.view_density, self._wait, self.crowd_noise, self.base_noise,
                     self.zone_event), self.kernel_params,
                    self.minute, (g.offered, g.accepted), first, trip,
                )  # fmt: skip
                first = first[:n_first]
                self.offers += n_offers
                self.accepts += n_ok
        self._own_choice(first)
        # Companions follow their leader's current target with probability `cohesion`.
        if follower.size:
            uniforms = self.rng.random(follower.size)
            n_own = kn.follow_leaders(
                follower, uniforms, self.kernel_params, p.leader, p.visited, self._open, fl.entrance, trip,
                fl.item_zone, fl.dist_min,
            )  # fmt: skip
            self._own_choice(follower[:n_own])

    def _own_choice(self, users: np.ndarray) -> None:
        """Logit choice over the unseen open items in view, then stop vs 'wander' vs 'leave'.

        Users consider the items within ``visitors.consideration_hops`` rooms (``self.consider``);
        guides may recommend any item. The item is drawn from the softmax of the utilities by
        inverse-CDF sampling (one uniform per user), the same distribution as Gumbel-max. The
        second stage is a three-way logit (stop at that item with its plain utility, wander to
        a neighbouring room, leave), so that many items in view do not crowd out moving on.
        """
        if users.size == 0:
            return
        p, fl = self.pop, self.floor
        uniforms = self.rng.random(users.size)
        gumbels = self.rng.gumbel(size=(users.size, 3))
        out = self.buffers("choice", lambda: kn.choice_buffers(p.size))[2:]
        n_wander = kn.own_choice_stage(
            users, uniforms, gumbels, p.zone, p.style, p.interest, p.satiation, p.visited, p.entered, p.walked,
            self.consider, self._consider_walk, self._consider_here, self._consider_feat, self._item_part, self._open,
            self.style_table, self.kernel_params, self.minute, out,
        )  # fmt: skip
        stage, best = out[0][: users.size], out[1][: users.size]
        wander = self.rng.random(n_wander)
        kn.apply_own_choice(
            users, stage, best, wander, self.neighbours, self.degree, fl.entrance, self.trip_arrays(), fl.item_zone,
            fl.dist_min,
        )  # fmt: skip

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

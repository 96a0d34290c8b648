"""A straightforward per-agent reference implementation of the venue's hot kernels.

``ReferenceVenueModel`` replaces the array kernels of the users' own choice and of the visit's
satisfaction with plain Python loops over users and items using scalar ``math``, written from
the equations in docs/model.md rather than from the vectorised code. It draws random numbers in
the same order as the fast path (one uniform per chooser, then a (U, 3) Gumbel block, ...), so
the same seed must give the same day. ``reference_admit`` does the same for capacity admission.
"""

from __future__ import annotations

import math

import numpy as np

from cpss.kit.fparams import FELT
from cpss.venue.model import VenueModel
from cpss.venue.users import Activity

A = Activity


def reference_admit(rng, candidates, bins, free, priority=None):
    """Per-candidate admission: shuffle, then first come first served within each bin."""
    if candidates.size == 0:
        return candidates
    perm = rng.permutation(candidates.size)
    order = sorted(
        range(candidates.size),
        key=lambda r: (int(bins[perm[r]]), 0.0 if priority is None else float(priority[perm[r]]), r),
    )
    taken: dict[int, int] = {}
    out = []
    for r in order:
        c = perm[r]
        b = int(bins[c])
        if taken.get(b, 0) < max(0, int(free[b])):
            taken[b] = taken.get(b, 0) + 1
            out.append(candidates[c])
    return np.array(out, dtype=candidates.dtype)


class ReferenceVenueModel(VenueModel):
    """VenueModel with per-agent loops for the own-choice and visit kernels."""

    def _view_density(self, j: int) -> float:
        """Viewers and queuers over the viewing zone: capacity places of ``crowd.view_m2`` each."""
        fl = self.floor
        return (self.viewers[j] + self.queue_len[j]) / (fl.item_capacity[j] * self.config.crowd.view_m2)

    def _crowd_noise(self, z: int) -> float:
        """The noise the occupants of zone ``z`` made at the last refresh (occupancy over comfortable capacity)."""
        occupancy = self.occupancy_history[-1][z]
        return min(1.0, self.config.crowd.crowd_noise * occupancy / self.comfort[z])

    def _crowd_cost(self, z: int, view_density: float, wait: float) -> float:
        prm = self.f.params
        return (
            prm.congestion_penalty * max(0.0, self.density[z] - prm.rho_star)
            + prm.view_penalty * max(0.0, view_density - prm.rho_view)
            + prm.wait_cost * wait
            + prm.noise_sensitivity * self._crowd_noise(z)
        )

    def _scalar_item_part(self, j: int) -> float:
        prm, w, fl = self.f.params, self.f.weights, self.floor
        z = fl.item_zone[j]
        ahead = self.queue_len[j] + max(0, self.viewers[j] - fl.item_capacity[j] + 1)
        wait = max(0.0, ahead) / fl.item_capacity[j] * fl.item_dwell[j]
        crowd = prm.social_proof * (1 - math.exp(-self.viewers[j] / prm.social_scale)) - self._crowd_cost(
            z, self._view_density(j), wait
        )
        context = prm.event_bonus * self.zone_event[z] - prm.noise_sensitivity * self.base_noise[z]
        env = prm.attraction_weight * fl.item_attraction[j]
        return w.crowd * crowd + w.context * context + w.environment * env

    def _attention(self, v: int) -> float:
        c = self.config.visitors
        e = (self.minute - self.pop.entered[v]) + c.walk_fatigue * self.pop.walked[v]
        return math.exp(-max(0.0, e - c.fatigue_onset) / c.fatigue_tau)

    def _own_choice(self, users: np.ndarray) -> None:
        if users.size == 0:
            return
        p, fl, cfg, prm, w = self.pop, self.floor, self.config.visitors, self.f.params, self.f.weights
        uniforms = self.rng.random(users.size)
        gumbels = self.rng.gumbel(size=(users.size, 3))
        decisions = []
        for i, v in enumerate(users):
            style = self.styles[p.style[v]]
            zone = p.zone[v]
            att = self._attention(v)
            cands, values = [], []
            for j in self.consider[zone]:
                if j < 0 or p.visited[v, j] or self.zone_closed[fl.item_zone[j]]:
                    continue
                match = sum(p.interest[v, t] * fl.item_features[j, t] for t in range(len(fl.topics)))
                exposure = sum(p.satiation[v, t] * fl.item_features[j, t] for t in range(len(fl.topics)))
                user = min(1.0, max(0.0, match)) * att * math.exp(-exposure / prm.n_sat)
                walk = -prm.walk_cost * fl.dist_min[zone, fl.item_zone[j]]
                util = w.user * user + style.walk_sensitivity * w.environment * walk + self._scalar_item_part(j)
                here = style.order_bonus if fl.item_zone[j] == zone else 0.0
                cands.append(j)
                values.append(style.selectivity * util + style.stop_bias + here)
            best, best_v = -1, -math.inf
            if cands:
                top = max(values)
                cum, acc = [], 0.0
                for val in values:
                    acc += math.exp(val - top)
                    cum.append(acc)
                u = uniforms[i] * cum[-1]
                pos = min(sum(1 for c in cum if c < u), len(cands) - 1)
                best, best_v = cands[pos], values[pos]
            options = [best_v, cfg.browse_bias, cfg.leave_bias + cfg.leave_fatigue * (1 - att)]
            noisy = [o + g for o, g in zip(options, gumbels[i], strict=True)]
            decisions.append((v, noisy.index(max(noisy)), best))
        go = [(v, b) for v, s, b in decisions if s == 0]
        if go:
            self._go_to_item(np.array([v for v, _ in go]), np.array([b for _, b in go]), guided=False)
        wander = np.array([v for v, s, _ in decisions if s == 1], dtype=np.int64)
        z = p.zone[wander]
        nxt = self.neighbours[z, (self.rng.random(wander.size) * self.degree[z]).astype(np.int64)]
        self._start_trip(wander, nxt, item=np.full(wander.size, -1))
        self._start_leaving(np.array([v for v, s, _ in decisions if s == 2], dtype=np.int64))

    def _view(self) -> None:
        p, fl, g, prm, w = self.pop, self.floor, self.guides, self.f.params, FELT  # a visit is scored as felt
        viewing = np.flatnonzero(p.state == A.VIEWING)
        p.dwell_left[viewing] -= self.dt
        done = [int(v) for v in viewing if p.dwell_left[v] <= 0]
        gains, matches, memory = {}, {}, {}
        for v in done:
            j, z = p.target_item[v], p.zone[v]
            match = float(np.dot(p.interest[v], fl.item_features[j]))
            exposure = float(np.dot(p.satiation[v], fl.item_features[j]))
            user = min(1.0, max(0.0, match)) * self._attention(v) * math.exp(-exposure / prm.n_sat)
            pa = float(p.guided[v]) * p.trust[v] * prm.content_bonus
            others = max(0, self.viewers[j] - 1)
            cost = self._crowd_cost(z, self._view_density(j), p.trip_wait[v])
            crowd = prm.social_proof * (1 - math.exp(-others / prm.social_scale)) - cost
            context = prm.event_bonus * self.zone_event[z] - prm.noise_sensitivity * self.base_noise[z]
            env = prm.attraction_weight * fl.item_attraction[j] - prm.walk_cost * p.trip_walk[v]
            gains[v] = w.user * user + w.personaliser * pa + w.crowd * crowd + w.context * context + w.environment * env
            matches[v] = match
            # peak-end: the visit remembers the mean of its worst and its latest crowding
            before = -w.crowd * prm.crowd_memory * 0.5 * (p.crowd_peak[v] + p.crowd_last[v])
            p.crowd_peak[v] = max(p.crowd_peak[v], cost)
            p.crowd_last[v] = cost
            memory[v] = -w.crowd * prm.crowd_memory * 0.5 * (p.crowd_peak[v] + p.crowd_last[v]) - before
        for v in done:
            j = p.target_item[v]
            p.satisfaction[v] += gains[v] + memory[v]
            p.gain[v] += gains[v] + memory[v]
            p.satiation[v] += fl.item_features[j]
            p.visited[v, j] = True
            p.n_viewed[v] += 1
            p.top_seen[v] += int(j in p.top_items[v])
            self.popularity[j] += 1
        served = [v for v in done if p.slot[v] >= 0]
        if served:
            noise = self.rng.standard_normal(len(served))
            for v, eps in zip(served, noise, strict=True):
                k, f = p.slot[v], fl.item_features[p.target_item[v]]
                est = g.estimate[k]
                err = matches[v] + 0.1 * eps - float(np.dot(est, f))
                new = np.maximum(0.0, est + self.config.guides.estimate_lr * err * f)
                norm = float(np.linalg.norm(new))
                g.estimate[k] = new / norm if norm > 0 else est
        for v in done:
            if p.guided[v]:
                target = min(1.0, max(0.0, gains[v] / 0.5))
                p.trust[v] += self.config.guides.trust_lr * (target - p.trust[v])
            p.guided[v] = False
            p.state[v] = A.DECIDING

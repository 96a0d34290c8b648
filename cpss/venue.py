"""A venue world: users visit items on a floor plan, guides recommend, the crowd interferes.

One tick (``minutes_per_step`` minutes) runs these array kernels over all users at once:

1. **decide** — users at a decision point either follow their guide's recommendation (accepted
   with probability ``f.acceptance``), follow their group leader, or choose themselves in two
   stages: the best-looking unseen open item by a logit over items (Gumbel-max), then a
   three-way logit between stopping there, wandering to a neighbouring room, and leaving;
2. **arrive** — users whose arrival time has come enter at the entrance (capacity allowing);
3. **walk** — walkers advance and enter their target zone if its hard capacity allows;
4. **queue** — users at a full item wait first-come-first-served, or give up;
5. **view** — viewers finish and gain the satisfaction ``f`` gives for the visit;
6. **leave** — users out of time or attention head for the exit; closing empties the venue;
7. **bind** — free guides are bound to waiting users with a device; sensors are read;
   metrics are collected.

Decisions happen at the start of a tick so that an environment can observe the users standing
at a decision point after a tick and act on them in the next one.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from mesa import DataCollector

from cpss import crowd, metrics
from cpss.config import ConfigError
from cpss.context import OccupancySensors, Window, active, sample_arrivals, zone_noise
from cpss.decisions import DecisionsMixin
from cpss.environment import FloorPlan, Item, generate_floor, load_floor
from cpss.model import CPSSModel
from cpss.personalisation import FParams, PersonalisationFunction
from cpss.personalisers import POLICY_FUNCTIONS, DecisionView, Guide, GuideSlots, update_estimate
from cpss.users import Activity, Style, User, attention, sample_population
from cpss.venue_config import VenueConfig

A = Activity


class VenueModel(DecisionsMixin, CPSSModel):
    """The museum-like venue world (see the module docstring for the tick).

    Args:
        config: The validated configuration (defaults if None).
        seed: Overrides ``config.world.seed`` when given.
        policy: Overrides ``config.guides.policy`` when given.
    """

    def __init__(self, config: VenueConfig | None = None, seed: int | None = None, policy: str | None = None) -> None:
        cfg = config or VenueConfig()
        super().__init__(cfg.world.seed if seed is None else seed, cfg.world.minutes_per_step, cfg.world.day_minutes)
        self.config = cfg
        self.policy = policy or cfg.guides.policy
        if self.policy not in POLICY_FUNCTIONS:
            raise ConfigError(f"guides.policy: unknown policy {self.policy!r}")
        self.floor = self._build_floor()
        fl = self.floor
        self.make_space(fl.graph)
        self.items = [Item(self, j) for j in range(fl.n_items)]
        self.capacity, self.comfort, self.area = fl.zone_capacity, fl.zone_comfort, fl.zone_area
        self.item_zone_dist = fl.dist_min[:, fl.item_zone]  # (N, M) walking minutes
        degree = np.array([fl.graph.degree(z) for z in range(fl.n_zones)])
        self.neighbours = np.zeros((fl.n_zones, max(1, degree.max())), dtype=np.int64)
        for z in range(fl.n_zones):
            nb = sorted(fl.graph.neighbors(z)) or [z]
            self.neighbours[z, : len(nb)] = nb
        self.degree = np.maximum(degree, 1)
        self.consider = self._consideration_sets(cfg.visitors.consideration_hops)
        # --- users (u) and their companions (cr) ---
        v = cfg.visitors
        self.styles = [Style(name=n, **s.model_dump()) for n, s in v.styles.items()]
        self.style_names = [s.name for s in self.styles]
        self._style_arr = {
            k: np.array([getattr(s, k) for s in self.styles])
            for k in ("stop_bias", "selectivity", "walk_sensitivity", "dwell_mult", "order_bonus")
        }
        last = max(self.dt, self.day_minutes - cfg.world.last_entry_before_close)
        self.pop = sample_population(
            self.rng,
            n=v.count,
            arrival=sample_arrivals(self.rng, v.count, cfg.context.arrival_profile, last),
            styles=self.styles,
            n_topics=len(fl.topics),
            item_features=fl.item_features,
            budget_median=v.budget_median,
            budget_sigma=v.budget_sigma,
            device_share=cfg.guides.device_share,
            trust_mean=cfg.guides.trust_mean,
            group_probs=v.group_sizes,
            interest_concentration=v.interest_concentration,
        )
        self.social_graph = crowd.social_graph(self.pop.leader)
        self.handles: dict[int, User] = {}
        # --- personalisers (x_pa) ---
        self.guides = GuideSlots.empty(cfg.guides.count, len(fl.topics))
        self.guide_entities = [Guide(self, k) for k in range(cfg.guides.count)]
        self._external: np.ndarray | None = None
        self._view_cache: tuple[int, DecisionView] | None = None
        self._version = 0  # bumped at the end of every tick
        # --- context (cx) and sensors ---
        c = cfg.context
        self.closures = self._windows(c.closures, "context.closures")
        self.events = self._windows(c.events, "context.events")
        self.base_noise = np.clip(c.base_noise + 0.1 * self.rng.random(fl.n_zones), 0.0, 1.0)
        self.sensors = OccupancySensors(fl.n_zones, c.sensors, self.rng)
        self.f = PersonalisationFunction(
            cfg.f,
            FParams(
                n_sat=v.satiation_n,
                content_bonus=cfg.guides.content_bonus,
                social_proof=cfg.crowd.social_proof,
                social_scale=cfg.crowd.social_scale,
                rho_star=cfg.crowd.rho_star,
                congestion_penalty=cfg.crowd.congestion_penalty,
                wait_cost=cfg.crowd.wait_cost,
                noise_sensitivity=c.noise_sensitivity,
                event_bonus=c.event_bonus,
                attraction_weight=cfg.f.attraction_weight,
                walk_cost=cfg.f.walk_cost,
                accept_bias=cfg.f.accept_bias,
                accept_sharpness=cfg.f.accept_sharpness,
            ),
        )
        # --- counters for metrics ---
        self.popularity = np.zeros(fl.n_items)
        self.offers = self.accepts = self.views = 0
        self.wait_sum = self.congestion_minutes = self.peak_ratio = 0.0
        self.occupancy_history: list[np.ndarray] = []
        self._refresh_crowd()
        self.datacollector = DataCollector(model_reporters=metrics.MODEL_REPORTERS)
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ construction
    def _build_floor(self) -> FloorPlan:
        f = self.config.floor
        if f.file:
            return load_floor(f.file)
        rng = self.rng if f.layout_seed is None else np.random.default_rng(f.layout_seed)
        return generate_floor(
            rng,
            rooms=f.rooms,
            items=f.exhibits,
            topics=f.topics,
            room_area=f.room_area,
            comfort_m2=f.comfort_m2,
            hard_m2=f.hard_m2,
            extra_door_share=f.extra_doors,
            n_stars=f.stars,
            dwell_median_min=f.dwell_median,
        )

    def _consideration_sets(self, hops: int | None) -> np.ndarray:
        """(N, K) items within ``hops`` doors of each zone, padded with -1 (None: all items)."""
        fl = self.floor
        if hops is None:
            return np.tile(np.arange(fl.n_items), (fl.n_zones, 1))
        lengths = dict(nx.all_pairs_shortest_path_length(fl.graph, cutoff=hops))
        near = [np.flatnonzero(np.isin(fl.item_zone, list(lengths[z]))) for z in range(fl.n_zones)]
        out = np.full((fl.n_zones, max(1, max(len(n) for n in near))), -1, dtype=np.int64)
        for z, items in enumerate(near):
            out[z, : len(items)] = items
        return out

    def _windows(self, entries: list, field: str) -> list[Window]:
        for i, w in enumerate(entries):
            if w.zone >= self.floor.n_zones:
                raise ConfigError(
                    f"{field}[{i}].zone: zone {w.zone} does not exist (the floor has {self.floor.n_zones} zones)"
                )
            if w.end < w.start:
                raise ConfigError(f"{field}[{i}]: end must be >= start")
        return [Window(w.zone, w.start, w.end) for w in entries]

    # ------------------------------------------------------------------ public helpers
    def attention_of(self, idx: np.ndarray) -> np.ndarray:
        """Attention (1 - fatigue) of users ``idx`` now."""
        v = self.config.visitors
        return attention(
            self.minute - self.pop.entered[idx],
            self.pop.walked[idx],
            onset=v.fatigue_onset,
            tau=v.fatigue_tau,
            walk_factor=v.walk_fatigue,
        )

    def item_open(self) -> np.ndarray:
        """(M,) items whose zone is not closed now."""
        return self._open

    def set_recommendations(self, items: np.ndarray) -> None:
        """Recommendations (item per guide, -1 for none) for the next tick's decisions.

        Without a call, the configured heuristic policy recommends.
        """
        self._external = np.asarray(items, dtype=np.int64)

    # ------------------------------------------------------------------ the tick
    def step(self) -> None:
        """Advance the world by one tick (see the module docstring)."""
        self.pop.gain[:] = 0.0
        self._decide()
        self.minute += self.dt
        self._arrive()
        self._walk()
        self._queue()
        self._view()
        self._leave()
        self._bind_guides()
        self._refresh_crowd()
        self._version += 1
        self.datacollector.collect(self)

    def _refresh_crowd(self) -> None:
        p, fl = self.pop, self.floor
        present = p.present
        self.occupancy = crowd.counts(p.zone, present, fl.n_zones)
        self.viewers = crowd.counts(p.target_item, p.state == A.VIEWING, fl.n_items)
        self.queue_len = crowd.counts(p.target_item, p.state == A.QUEUING, fl.n_items)
        self.density = crowd.density(self.occupancy, self.area)
        self.zone_closed = active(self.closures, fl.n_zones, self.minute)
        self.zone_event = active(self.events, fl.n_zones, self.minute)
        ratio = self.occupancy / self.comfort
        self.noise = zone_noise(self.base_noise, ratio, self.config.context.crowd_noise)
        self.sensed = self.sensors.read(self.occupancy.astype(float))
        self.peak_ratio = max(self.peak_ratio, float(ratio.max(initial=0.0)))
        crowded = present & (self.density[np.maximum(p.zone, 0)] > self.f.params.rho_star)
        p.congested_min[crowded] += self.dt
        self.congestion_minutes += self.dt * float(crowded.sum())
        self.occupancy_history.append(self.occupancy.copy())
        # Item-level part of f (crowd, context, attraction), shared by every user this tick.
        self._open = self.zone_closed[fl.item_zone] == 0
        wait = crowd.expected_wait(self.queue_len, self.viewers, fl.item_capacity, fl.item_dwell)
        self._item_part = self.f.combine(
            self.f.item_terms(
                viewers=self.viewers,
                density=self.density[fl.item_zone],
                queue_wait=wait,
                noise=self.noise[fl.item_zone],
                event=self.zone_event[fl.item_zone],
                attraction=fl.item_attraction,
            )
        )
        self._arrived = p.state != A.OUTSIDE

    def _arrive(self) -> None:
        p = self.pop
        cand = np.flatnonzero((p.state == A.OUTSIDE) & (p.arrival <= self.minute))
        if cand.size == 0 or self.closed:
            return
        ent = self.floor.entrance
        free = self.capacity - self.occupancy
        ok = crowd.admit(self.rng, cand, np.full(cand.size, ent), free, p.arrival[cand])
        p.state[ok], p.zone[ok], p.entered[ok] = A.DECIDING, ent, self.minute
        self.occupancy[ent] += ok.size
        for v in ok.tolist():
            self.handles[v] = User(self, v)

    def _walk(self) -> None:
        p = self.pop
        walking = np.flatnonzero(p.state == A.WALKING)
        step = np.minimum(self.dt, p.walk_left[walking])
        p.walk_left[walking] -= step
        p.walked[walking] += step
        there = walking[p.walk_left[walking] <= 1e-9]
        done = there[p.leaving[there] & (p.target_zone[there] == self.floor.entrance)]
        self._exit(done)
        there = there[~p.leaving[there] | (p.target_zone[there] != self.floor.entrance)]
        moving = there[p.zone[there] != p.target_zone[there]]
        ok = crowd.admit(self.rng, moving, p.target_zone[moving], self.capacity - self.occupancy)
        np.subtract.at(self.occupancy, p.zone[ok], 1)
        np.add.at(self.occupancy, p.target_zone[ok], 1)
        p.zone[ok] = p.target_zone[ok]
        blocked = moving[~self._flag(ok)[moving]]
        p.trip_wait[blocked] += self.dt
        give_up = blocked[p.trip_wait[blocked] > self.config.crowd.queue_patience]
        p.state[give_up] = A.DECIDING  # waited too long at a full door: choose again
        entered = there[~self._flag(blocked)[there]]
        to_item = entered[p.target_item[entered] >= 0]
        p.state[to_item], p.queue_since[to_item] = A.QUEUING, self.minute
        p.state[entered[p.target_item[entered] < 0]] = A.DECIDING

    def _queue(self) -> None:
        p, fl = self.pop, self.floor
        q = np.flatnonzero(p.state == A.QUEUING)
        give_up = q[self.minute - p.queue_since[q] > self.config.crowd.queue_patience]
        p.state[give_up] = A.DECIDING
        q = q[~self._flag(give_up)[q]]
        viewers = crowd.counts(p.target_item, p.state == A.VIEWING, fl.n_items)
        ok = crowd.admit(self.rng, q, p.target_item[q], fl.item_capacity - viewers, p.queue_since[q])
        waited = self.minute - p.queue_since[ok]
        p.trip_wait[ok] += waited
        p.wait_total[ok] += p.trip_wait[ok]
        self.wait_sum += float(p.trip_wait[ok].sum())
        self.views += ok.size
        item = p.target_item[ok]
        mult = self._style_arr["dwell_mult"][p.style[ok]]
        match = np.sum(p.interest[ok] * fl.item_features[item], axis=1)
        # Dwell ~ LogNormal(ln m_e, 0.85) scaled by style and interest (calibration §8, [D]/[U]).
        p.dwell_left[ok] = fl.item_dwell[item] * mult * (0.5 + match) * np.exp(0.85 * self.rng.standard_normal(ok.size))
        p.state[ok] = A.VIEWING

    def _view(self) -> None:
        p, fl, g = self.pop, self.floor, self.guides
        viewing = np.flatnonzero(p.state == A.VIEWING)
        p.dwell_left[viewing] -= self.dt
        done = viewing[p.dwell_left[viewing] <= 0]
        if done.size == 0:
            return
        item, zone = p.target_item[done], p.zone[done]
        feats = fl.item_features[item]
        match = np.sum(p.interest[done] * feats, axis=1)
        gain = self.f.utility(
            match=match,
            attention=self.attention_of(done),
            exposure=np.sum(p.satiation[done] * feats, axis=1),
            trust=p.trust[done],
            guided=p.guided[done].astype(float),
            viewers=np.maximum(0, self.viewers[item] - 1),
            density=self.density[zone],
            queue_wait=p.trip_wait[done],
            noise=self.noise[zone],
            event=self.zone_event[zone],
            attraction=fl.item_attraction[item],
            walk_min=p.trip_walk[done],
        )
        p.satisfaction[done] += gain
        p.gain[done] += gain
        p.satiation[done] += feats
        p.visited[done, item] = True
        p.n_viewed[done] += 1
        p.top_seen[done] += (p.top_items[done] == item[:, None]).any(axis=1)
        np.add.at(self.popularity, item, 1.0)
        sel = p.slot[done] >= 0
        if sel.any():  # the guide refines its estimate from what it observes
            k = p.slot[done[sel]]
            signal = match[sel] + 0.1 * self.rng.standard_normal(int(sel.sum()))
            g.estimate[k] = update_estimate(g.estimate[k], feats[sel], signal, self.config.guides.estimate_lr)
        was_guided = p.guided[done]
        tg = done[was_guided]  # trust moves toward how good the guided visit was
        p.trust[tg] += self.config.guides.trust_lr * (np.clip(gain[was_guided] / 0.5, 0.0, 1.0) - p.trust[tg])
        p.guided[done] = False
        p.state[done] = A.DECIDING

    def _leave(self) -> None:
        p = self.pop
        if self.closed:
            self._exit(np.flatnonzero(p.present))
            self.running = False
            return
        d = np.flatnonzero((p.state == A.DECIDING) & ~p.leaving)
        tired = (self.minute - p.entered[d] >= p.budget[d]) | (
            self.attention_of(d) < self.config.visitors.attention_floor
        )
        self._start_leaving(d[tired])

    def _exit(self, users: np.ndarray) -> None:
        p = self.pop
        np.subtract.at(self.occupancy, p.zone[users], 1)
        p.state[users] = A.LEFT
        k = p.slot[users]
        self.guides.visitor[k[k >= 0]] = -1
        p.slot[users] = -1
        for v in users.tolist():
            self.handles.pop(v).remove()

    def _bind_guides(self) -> None:
        g, p = self.guides, self.pop
        free = np.flatnonzero(g.visitor < 0)
        if free.size == 0:
            return
        waiting = np.flatnonzero(p.present & p.has_device & (p.slot < 0) & ~p.leaving)
        waiting = waiting[np.argsort(p.entered[waiting], kind="stable")][: free.size]
        k = free[: waiting.size]
        g.visitor[k] = waiting
        p.slot[waiting] = k
        noisy = p.interest[waiting] + self.config.guides.profile_noise * self.rng.standard_normal(
            p.interest[waiting].shape
        )
        noisy = np.maximum(noisy, 0.0) + 1e-6
        g.estimate[k] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)

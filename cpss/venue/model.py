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

from cpss.kit.config import ConfigError
from cpss.kit.context import OccupancySensors, Window, active, sample_arrivals
from cpss.kit.floorplan import FloorPlan, Item, generate_floor, load_floor
from cpss.kit.jit import record
from cpss.kit.model import CPSSModel
from cpss.kit.personalisation import PersonalisationFunction, walk_part
from cpss.venue import crowd, metrics
from cpss.venue.config import VenueConfig
from cpss.venue.decisions import DecisionsMixin
from cpss.venue.equations import attention
from cpss.venue.guides import POLICY_FUNCTIONS, DecisionView, Guide, GuideSlots, OccupancyBoard, group_sizes
from cpss.venue.kernels import fields as kf
from cpss.venue.kernels import movement as kc
from cpss.venue.kernels import visits as kv
from cpss.venue.params import StyleTable, venue_params
from cpss.venue.trajectories import TrajectoryRecorder
from cpss.venue.users import Activity, Population, Style, User, sample_population

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
        for name, dtype in (("dist_min", float), ("item_zone", np.int64), ("item_features", float)):
            setattr(fl, name, np.ascontiguousarray(getattr(fl, name), dtype=dtype))
        for name, dtype in (("item_attraction", float), ("item_capacity", np.int64), ("item_dwell", float)):
            setattr(fl, name, np.ascontiguousarray(getattr(fl, name), dtype=dtype))
        self._n_zones = fl.n_zones
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
        self.next_hop = kc.next_hops(fl.dist_min, self.neighbours, self.degree)  # (N, N) the way through rooms
        self.consider = self._consideration_sets(cfg.visitors.consideration_hops)
        # --- users (u) and their companions (cr) ---
        v = cfg.visitors
        self.styles = [Style(name=n, **s.model_dump()) for n, s in v.styles.items()]
        self.style_names = [s.name for s in self.styles]
        self.style_table = StyleTable.of(self.styles)
        self.pop = self.draw_visitors(self.rng)
        self.handles: dict[int, User] = {}
        # --- personalisers (x_pa) ---
        self.guides = GuideSlots.empty(cfg.guides.count, len(fl.topics))
        self.guide_entities = [Guide(self, k) for k in range(cfg.guides.count)]
        self._external: np.ndarray | None = None
        self._view_cache: tuple[int, DecisionView] | None = None
        self._mask_cache: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None
        self._version = 0  # bumped at the end of every tick
        # --- context (cx) and sensors ---
        c = cfg.context
        self.closures = self._windows(c.closures, "context.closures")
        self.events = self._windows(c.events, "context.events")
        self.base_noise = self.draw_base_noise(self.rng)
        self.sensors = OccupancySensors(fl.n_zones, c.sensors, self.rng)
        self.board = OccupancyBoard(fl.n_zones, round(c.sensors.delay / self.dt), group_sizes(self.pop.leader))
        self.params = venue_params(cfg)
        """Every parameter family, read by name from the config (what equations and the torch engine take)."""
        self._kernel_record: tuple[object, np.ndarray] | None = None
        self.f = PersonalisationFunction(self.params.w, self.params.f)
        self._choice_tables()
        # --- counters for metrics ---
        self.popularity = np.zeros(fl.n_items)
        self.offers = self.accepts = self.views = 0
        self.wait_sum = self.congestion_minutes = self.peak_ratio = 0.0
        self.entry_queue_minutes = 0.0
        """Visitor-minutes spent held outside a full entrance after the arrival time (not in ``congestion_minutes``)."""
        self.occupancy_history: list[np.ndarray] = []
        self.trajectories: TrajectoryRecorder | None = None
        """The recorder of per-visitor events (:mod:`cpss.venue.trajectories`), None: not recorded."""
        self._refresh_crowd()
        self.datacollector = metrics.VenueCollector()
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ construction
    def _build_floor(self) -> FloorPlan:
        f = self.config.floor
        plan = load_floor(f.file) if f.file else self._generate_floor()
        if plan.n_items and (f.blockbuster_attraction is not None or f.blockbuster_dwell is not None):
            top = int(np.argmax(plan.item_attraction))  # the most attractive exhibit (a star) becomes the blockbuster
            plan.item_attraction = np.asarray(plan.item_attraction, dtype=float).copy()
            plan.item_dwell = np.asarray(plan.item_dwell, dtype=float).copy()
            if f.blockbuster_attraction is not None:
                plan.item_attraction[top] = f.blockbuster_attraction
            if f.blockbuster_dwell is not None:
                plan.item_dwell[top] = f.blockbuster_dwell
        return plan

    def _generate_floor(self) -> FloorPlan:
        f = self.config.floor
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
        reach = np.zeros((fl.n_zones, fl.n_zones), dtype=bool)
        for z, lengths in nx.all_pairs_shortest_path_length(fl.graph, cutoff=hops):
            reach[z, list(lengths)] = True
        near = [np.flatnonzero(row) for row in reach[:, fl.item_zone]]
        out = np.full((fl.n_zones, max(1, max(len(n) for n in near))), -1, dtype=np.int64)
        for z, items in enumerate(near):
            out[z, : len(items)] = items
        return out

    def _choice_tables(self) -> None:
        """Per (zone, item in view): the weighted walking part of ``f``, whether it is in the zone, its features."""
        fl, zones = self.floor, np.arange(self._n_zones)[:, None]
        cand_zone = fl.item_zone[np.maximum(self.consider, 0)]
        self._consider_walk = walk_part(fl.dist_min[zones, cand_zone], self.params.w, self.params.f)
        self._consider_here = cand_zone == zones
        self._consider_feat = np.ascontiguousarray(fl.item_features[np.maximum(self.consider, 0)].transpose(0, 2, 1))

    @property
    def kernel_params(self) -> np.ndarray:
        """:attr:`params` as the compiled kernels take it (:func:`cpss.kit.jit.record`), rebuilt if replaced."""
        if self._kernel_record is None or self._kernel_record[0] is not self.params:
            self._kernel_record = (self.params, record(self.params))
        return self._kernel_record[1]

    def trip_arrays(self) -> tuple[np.ndarray, ...]:
        """The population arrays a trip writes, in the order :mod:`cpss.venue.kernels.choice` expects."""
        p = self.pop
        return (
            p.state,
            p.zone,
            p.target_item,
            p.target_zone,
            p.walk_left,
            p.trip_walk,
            p.trip_wait,
            p.guided,
            p.leaving,
        )

    def draw_visitors(self, rng: np.random.Generator) -> Population:
        """The day's visitors drawn from ``rng`` (the model's own generator in ``__init__``)."""
        cfg, v, fl = self.config, self.config.visitors, self.floor
        last = max(self.dt, self.day_minutes - cfg.world.last_entry_before_close)
        return sample_population(
            rng,
            n=v.count,
            arrival=sample_arrivals(rng, v.count, cfg.context.arrival_profile, last, cfg.context.entry_interval),
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

    def draw_base_noise(self, rng: np.random.Generator) -> np.ndarray:
        """(N,) ambient noise of each zone, drawn from ``rng`` right after the visitors."""
        return np.clip(self.config.context.base_noise + 0.1 * rng.random(self.floor.n_zones), 0.0, 1.0)

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
    @property
    def social_graph(self) -> nx.Graph:
        """The companions graph (:func:`cpss.venue.crowd.social_graph`), built on first use."""
        if getattr(self, "_social_graph", None) is None:
            self._social_graph = crowd.social_graph(self.pop.leader)
        return self._social_graph

    def attention_of(self, idx: np.ndarray) -> np.ndarray:
        """Attention (1 - fatigue) of users ``idx`` now."""
        return attention(self.minute - self.pop.entered[idx], self.pop.walked[idx], self.params.fatigue)

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
        rec = self.trajectories
        self.pop.gain[:] = 0.0
        if rec is not None:
            rec.before_decide(self)
        self._decide()
        self.minute += self.dt
        if rec is not None:
            rec.decided(self)
        for phase in (self._arrive, self._walk, self._queue, self._view, self._leave):
            phase()
            if rec is not None:
                rec.observe(self)
        self._bind_guides()
        self._refresh_crowd()
        self._version += 1
        self.datacollector.collect(self)

    def _refresh_crowd(self) -> None:
        p, fl = self.pop, self.floor
        crowd = self.buffers("crowd", lambda: kf.crowd_buffers(self._n_zones, fl.n_items, p.size))
        items = self.buffers("items", lambda: kf.item_buffers(fl.n_items))
        ratio_max, crowded, held = kf.crowd_fields(
            (p.state, p.zone, p.target_item, p.congested_min, p.arrival), self.area, self.comfort, self.base_noise,
            self.kernel_params, (self.minute, self.dt), crowd,
        )  # fmt: skip
        self.occupancy, self.viewers, self.queue_len, self._arrived, self.density, self.noise, self.crowd_noise = crowd
        self.zone_closed = active(self.closures, self._n_zones, self.minute)
        self.zone_event = active(self.events, self._n_zones, self.minute)
        self.sensed = self.board.push(self.sensors.read(self.occupancy), self.guides.visitor, self.pop.zone)
        self.peak_ratio = max(self.peak_ratio, ratio_max)
        self.congestion_minutes += self.dt * float(crowded)
        self.entry_queue_minutes += self.dt * float(held)
        self.occupancy_history.append(self.occupancy.copy())
        # Item-level part of f (crowd, context, attraction), shared by every user this tick.
        kf.item_fields(
            self.zone_closed, self.zone_fields(), self.viewers, self.queue_len,
            (fl.item_zone, fl.item_capacity, fl.item_dwell, fl.item_attraction), self.kernel_params, items,
        )  # fmt: skip
        self._open, self._wait, self.view_density, self._item_part = items

    def zone_fields(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(density, occupancy noise, ambient noise, event) per zone: the zone inputs of ``f`` (crowd, then context)."""
        return self.density, self.crowd_noise, self.base_noise, self.zone_event

    def _arrive(self) -> None:
        p = self.pop
        if self.closed:
            return
        buf = self.buffers("arrivals", lambda: (np.zeros(p.size, dtype=np.int64),))[0]
        cand = buf[: kc.arrivals(p.state, p.arrival, self.minute, buf)]
        if cand.size == 0:
            return
        ent = self.floor.entrance
        free = self.capacity - self.occupancy
        ok = crowd.admit(self.rng, cand, np.full(cand.size, ent), free, p.arrival[cand])
        kc.enter_venue(ok, p.state, p.zone, p.entered, self.occupancy, ent, self.minute)
        for v in ok.tolist():
            self.handles[v] = User(self, v)

    def _walk(self) -> None:
        p, trip, fl = self.pop, self.trip_arrays(), self.floor
        exits = (fl.entrance, p.slot, self.guides.visitor, self.occupancy, self.capacity)
        route = (self.density, self.next_hop, fl.dist_min)
        buf = self.buffers("walk", lambda: kc.walk_buffers(p.size, self.capacity, self.occupancy))
        nd, nm, nh = kc.walk_step(trip, p.walked, self.dt, exits, route, self.kernel_params, buf)
        done, moving, bins, here, free = buf[0][:nd], buf[1][:nm], buf[2][:nm], buf[3][:nh], buf[4]
        for v in done.tolist():  # the kernel did what _exit does to the arrays
            self.handles.pop(v).remove()
        ok = crowd.admit(self.rng, moving, bins, free)
        clock = (self.minute, self.dt, self.params.crowd.queue_patience)
        view = (self.view_density, fl.dist_min)
        kc.walk_enter(moving, bins, ok, here, trip, self.occupancy, p.queue_since, clock, view, self.kernel_params)

    def _queue(self) -> None:
        p, fl = self.pop, self.floor
        patience = self.params.crowd.queue_patience
        buf = self.buffers("queue", lambda: kc.queue_buffers(p.size, fl.n_items))
        n = kc.queue_candidates(p.state, p.queue_since, p.target_item, fl.item_capacity, self.minute, patience, buf)
        if n == 0:
            return
        ok = crowd.admit(self.rng, buf[0][:n], buf[1][:n], buf[3], buf[2][:n])
        if ok.size == 0:
            return
        normals = self.rng.standard_normal(ok.size)
        self.wait_sum += kv.start_views(
            ok, normals, p.state, p.style, p.target_item, p.queue_since, p.trip_wait, p.wait_total, p.dwell_left,
            p.interest, fl.item_features, fl.item_dwell, self.view_density, self.style_table, self.kernel_params,
            self.minute,
        )  # fmt: skip
        self.views += ok.size

    def _view(self) -> None:
        p, fl = self.pop, self.floor
        buf = self.buffers("views", lambda: (np.zeros(p.size, dtype=np.int64),))[0]
        done = buf[: kv.views_done(p.state, p.dwell_left, self.dt, buf)]
        if done.size == 0:
            return
        pop = (p.state, p.zone, p.target_item, p.interest, p.satiation, p.trust, p.guided, p.trip_wait, p.trip_walk)
        pop += (p.entered, p.walked, p.satisfaction, p.gain, p.visited, p.n_viewed, p.top_seen, p.top_items, p.slot)
        pop += (p.crowd_peak, p.crowd_last)
        match, n_guided = kv.finish_views(
            done, pop, self.popularity, (self.viewers, self.view_density), self.zone_fields(), fl.item_features,
            fl.item_attraction, self.kernel_params, self.minute,
        )  # fmt: skip
        if n_guided:  # the guides refine their estimates from what they observe
            normals = self.rng.standard_normal(n_guided)
            estimate = self.guides.estimate
            kv.refine_estimates(
                done, match, normals, p.slot, p.target_item, fl.item_features, estimate, self.kernel_params
            )

    def _leave(self) -> None:
        p = self.pop
        if self.closed:
            self._exit(np.flatnonzero(p.present))
            self.running = False
            return
        fl = self.floor
        kc.leave_tired(
            self.trip_arrays(), p.entered, p.walked, p.budget, self.minute, self.kernel_params, fl.entrance, fl.dist_min
        )

    def _exit(self, users: np.ndarray) -> None:
        p = self.pop
        kc.exit_users(users, p.state, p.zone, p.slot, self.occupancy, self.guides.visitor)
        for v in users.tolist():
            self.handles.pop(v).remove()

    def _bind_guides(self) -> None:
        g, p = self.guides, self.pop
        buf = self.buffers("bind", lambda: (np.zeros(g.size, dtype=np.int64), np.zeros(g.size, dtype=np.int64)))
        n_free, n_wait = kc.free_guides(g.visitor, p.state, p.has_device, p.slot, p.leaving, p.entered, buf)
        if n_wait == 0:  # nobody waits (or no guide is free)
            return
        free, waiting = buf[0][:n_free], buf[1][:n_wait]
        k = free[: waiting.size]
        g.visitor[k] = waiting
        p.slot[waiting] = k
        noisy = p.interest[waiting] + self.config.guides.profile_noise * self.rng.standard_normal(
            p.interest[waiting].shape
        )
        noisy = np.maximum(noisy, 0.0) + 1e-6
        g.estimate[k] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)

"""The smart-workshop world: workers and cobots at stations of a line, machines that break.

State lives in numpy arrays indexed by station ``i`` (the worker at station ``i`` is row ``i``;
rotation permutes the worker rows); the Mesa entities :class:`Station`, :class:`Worker`,
:class:`Cobot` and :class:`Technician` are thin handles onto those arrays. One tick
(``minutes_per_step`` minutes) runs these array kernels over all stations at once:

1. **context** — shift clock (overnight recovery and forgetting between shifts, rotation at
   breaks), order arrivals (Poisson at a share of the line's capacity), temperature, noise;
2. **team** — idle workers may help an overloaded neighbour; each worker's proximity phase
   (near the cobot or not) moves on, farther from a fast cobot they distrust;
3. **work** — the cobot takes sub-tasks (:mod:`scenarios.workshop.ergonomics`) as far as the
   worker accepts them; the worker's pace follows skill, fatigue (3CC-r failure rule), mental
   fatigue and visible coworkers; the safety controller turns workspace entries into
   force-limited contact, protective stops or real violations (:mod:`scenarios.workshop.safety`);
   jobs progress, finish (or need rework) and flow downstream (blocking after service);
   machines wear in working time and fail; technicians and engineers repair them;
4. **worker** — fatigue per body region, mental fatigue, trust, preferences and well-being
   (``f``) update (:mod:`scenarios.workshop.humans`); sensors are read; metrics are collected.

Common random numbers: each random process has its own stream spawned from the root seed and
draws a fixed block per tick; failure clocks (working minutes to each failure), repair times and
fault kinds are drawn per station in advance. Policies compared on one seed therefore see the
same orders, proximity phases, workspace entries and the same k-th failure of each machine.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from mesa import DataCollector

from cpss.kit.context import OccupancySensors
from cpss.kit.model import CPSSModel
from cpss.kit.personalisation import FParams, PersonalisationFunction
from scenarios.workshop import dynamics as dyn
from scenarios.workshop import ergonomics as erg
from scenarios.workshop import humans, line, metrics
from scenarios.workshop import safety as sf
from scenarios.workshop.config import WorkshopConfig
from scenarios.workshop.entities import Cobot, Station, Technician, Worker

ABSENT_M = 5.0
"""Distance (m) reported for a worker who is away from the station."""
STREAMS = ("arrivals", "people", "safety", "work", "sensors", "failures")
"""Random streams spawned from the root seed, one per process (common random numbers)."""
# upper arm (hand and forearm allow more) and chest, ISO/TS 15066 Table A.2 (calibration §3.3)
ARM = {"force": 300.0, "human_mass": 3.0, "stiffness": 30.0}
CHEST = {"force": 280.0, "human_mass": 40.0, "stiffness": 25.0}


class WorkshopModel(CPSSModel):
    """The cobotic production system (see the module docstring for the tick).

    Args:
        config: The validated configuration (defaults if None).
        seed: Overrides ``config.world.seed`` when given.
    """

    def __init__(self, config: WorkshopConfig | None = None, seed: int | None = None) -> None:
        cfg = config or WorkshopConfig()
        root = cfg.world.seed if seed is None else seed
        self.shift_minutes = float(cfg.world.day_minutes)
        super().__init__(root, cfg.world.minutes_per_step, cfg.world.shifts * self.shift_minutes)
        self.config = cfg
        fl, w, c, fa = cfg.floor, cfg.workers, cfg.cobots, cfg.fatigue
        streams = np.random.SeedSequence([root, 18]).spawn(len(STREAMS))
        self.streams = {name: np.random.default_rng(s) for name, s in zip(STREAMS, streams, strict=True)}
        # --- env: stations on a networkx graph, buffers, machines ---
        lrng = self.rng if fl.layout_seed is None else np.random.default_rng(fl.layout_seed)
        self.layout = lay = dyn.build_layout(
            lrng, fl.stations, fl.cells, fl.task_types, fl.cycle_time, fl.cycle_time_cv
        )
        self.make_space(lay.graph)
        n, self.n_cells = lay.n_stations, fl.cells
        self.first, self.last = lay.upstream < 0, lay.downstream < 0
        self.buffer = np.where(self.first, 0, fl.initial_wip).astype(np.int64)
        self.backlog = np.zeros(self.n_cells, dtype=np.int64)
        self.busy = np.zeros(n, dtype=bool)
        self.blocked = np.zeros(n, dtype=bool)
        self.progress = np.zeros(n)
        self.share, self.loads, self.factor = erg.task_tables(
            lay.task, np.asarray(fa.share), np.asarray(fa.loads), np.asarray(fa.cobot_factor)
        )
        self.manual_loads = erg.worker_loads(np.zeros_like(self.share), self.share, self.loads)
        m = cfg.machines
        self.mtbf = np.inf if m.availability >= 1.0 else m.availability * m.mttr / (1 - m.availability)
        fr, size = self.streams["failures"], (n, m.max_failures)
        self.clock_up = fr.exponential(self.mtbf, size) if np.isfinite(self.mtbf) else np.full(size, np.inf)
        self.clock_repair = fr.gamma(m.repair_shape, m.mttr / m.repair_shape, size) + m.response
        self.clock_process = (fr.random(size) < m.process_fault_share) & (cfg.team.engineers > 0)
        self.n_fail = np.zeros(n, dtype=np.int64)
        self.up = np.ones(n, dtype=bool)
        self.uptime_left = self.clock_up[:, 0].copy()
        self.repair_left = np.zeros(n)
        self.fault_kind = np.zeros(n, dtype=np.int64)
        self.down_since = np.zeros(n)
        self.repairer = np.full(n, -1, dtype=np.int64)
        t = cfg.team
        self.crew_kind = np.repeat([0, 1], [t.technicians, t.engineers])
        self.crew_station = np.full(self.crew_kind.size, -1, dtype=np.int64)
        # --- users: the roster (fixed across days with workers.roster_seed) ---
        rrng = self.rng if w.roster_seed is None else np.random.default_rng(w.roster_seed)
        vars(self).update(dataclasses.asdict(dyn.sample_roster(rrng, n, fl.task_types, w)))
        self.mf = np.zeros((n, len(erg.REGIONS)))
        self.F = np.asarray(fa.F)[None, :] * self.fatigue_mult[:, None]
        self.R = np.asarray(fa.R)[None, :] * self.recovery_mult[:, None]
        self.phys, self.mental = np.zeros(n), np.zeros(n)
        self.capacity = np.ones(n)
        self.near = np.zeros(n, dtype=bool)
        self.distance = np.full(n, ABSENT_M)
        self.present = np.ones(n, dtype=bool)
        self.helping = np.full(n, -1, dtype=np.int64)
        self.helpers = np.zeros(n)
        self.last_rest, self.shift = 0.0, 0
        self.pace, self.pace_excess = self.pace_nat.copy(), np.zeros(n)
        self.work_share, self.worker_duty, self.assist_eff = np.zeros(n), np.zeros(n), np.zeros(n)
        self.taken = np.zeros_like(self.share)
        self.offered, self.own_load, self._setting = np.zeros_like(self.share), np.zeros((n, 3)), np.zeros(0)
        self.carry = np.zeros(n)
        self.waited_tool = np.zeros(n, dtype=bool)
        # --- personalisers: cobots at stations ---
        k = cfg.n_cobots
        self.cobot_station = (
            np.asarray(c.stations, dtype=np.int64)
            if c.stations is not None
            else np.round(np.linspace(0, n - 1, k)).astype(np.int64)
        )
        self.has_cobot = np.zeros(n, dtype=bool)
        self.has_cobot[self.cobot_station] = True
        self.safe_speed = float(np.floor(1000 * c.v_reduced / c.v_max) / 1000)
        self.speed = np.where(self.has_cobot, self.safe_speed, 0.0)
        self.assist = np.where(self.has_cobot, c.fixed_assistance, 0.0)
        self.focus = np.where(self.has_cobot, c.fixed_focus, 0.0)
        self.limit_arm = sf.pfl_speed_limit(robot_mass=c.robot_mass, payload=c.payload, **ARM)
        self.limit_chest = sf.pfl_speed_limit(robot_mass=c.robot_mass, payload=c.payload, **CHEST)
        self.pfl_speed = float(min(self.limit_arm, self.limit_chest) / c.v_max)
        """Highest speed setting at which a contact with any exposed body region stays within its limit."""
        self.speed_cap = self._speed_cap()
        self.speed = np.minimum(self.speed, self.speed_cap)
        self.stop = np.zeros(n, dtype=bool)
        self.stops_tick = np.zeros(n, dtype=np.int64)
        self.violations_tick = np.zeros(n, dtype=np.int64)
        self.cobot_error = np.zeros(n, dtype=bool)
        # --- context and sensors ---
        ctx = cfg.context
        self.breaks = [(b.start, b.end) for b in ctx.breaks]
        self.peaks = [(p.start, p.end, p.factor) for p in ctx.peaks]
        worked = 1.0 - sum(min(e, self.shift_minutes) - s for s, e in self.breaks) / self.shift_minutes
        self.cell_capacity = dyn.line_capacity(lay, w.prior_jobs, m.availability, w.learning_rate, w.plateau, worked)
        self.base_rate = ctx.order_load * self.cell_capacity
        self.peak_rate = float(self.base_rate.max()) * max([1.0] + [p[2] for p in self.peaks])
        self.order_rate = self.base_rate
        self.on_break = False
        self.temp, self.noise, self.heat = ctx.temperature, ctx.base_noise, 0.0
        s, srng = ctx.sensors, self.streams["sensors"]
        self.machine_sensor = OccupancySensors(n, s.machine, srng)
        self.proximity_sensor = OccupancySensors(n, s.proximity, srng)
        self.wearable = OccupancySensors(2 * n, s.wearable, srng)
        self._read_sensors()
        ff = cfg.f
        self.f = PersonalisationFunction(
            ff,
            FParams(
                n_sat=ff.monotony_hours,
                content_bonus=ff.assist_value,
                social_proof=ff.support,
                social_scale=ff.support_scale,
                rho_star=ff.pressure_fill,
                congestion_penalty=ff.pressure_penalty,
                wait_cost=ff.wait_cost,
                noise_sensitivity=ff.noise_sensitivity,
                event_bonus=ff.break_bonus,
                attraction_weight=ff.machine_weight,
                walk_cost=ff.walk_cost,
            ),
        )
        # --- job bookkeeping (each cell is FIFO, so lead times are exact) ---
        wip0 = np.bincount(lay.cell, weights=self.buffer, minlength=self.n_cells).astype(np.int64)
        self.arrival_time = np.zeros((self.n_cells, max(16, 2 * int(wip0.max(initial=0)) + 16)))
        self.n_jobs = wip0.copy()  # jobs ever recorded per cell (initial WIP + orders)
        self.initial_wip = wip0
        self.released = np.zeros(self.n_cells, dtype=np.int64)
        self.done = np.zeros(self.n_cells, dtype=np.int64)
        # --- per-tick outputs (read by rewards) and counters (read by metrics) ---
        self.completed = np.zeros(n, dtype=bool)
        self.done_tick = np.zeros(self.n_cells, dtype=np.int64)
        self.violation = np.zeros(n, dtype=bool)
        self.utility, self.mismatch = np.zeros(n), np.zeros(n)
        self.collaborating = np.zeros(n, dtype=bool)
        self.work_minutes, self.satisfaction = np.zeros(n), np.zeros(n)
        self.violations = self.stops = self.failures = self.repairs = self.helps = self.tool_waits = 0
        self.cobot_errors = self.reworks = 0
        self.lead_sum = self.fatigue_sum = self.phys_sum = self.elapsed = self.peak_fatigue = 0.0
        self.mismatch_sum = self.collab_minutes = self.starved_min = self.blocked_min = 0.0
        self.up_min = self.failed_min = self.crew_busy_min = self.lost_sec = 0.0
        self.buffer_history: list[np.ndarray] = []
        self.stations = [Station(self, i) for i in range(n)]
        self.workers = [Worker(self, i) for i in range(n)]
        self.cobots = [Cobot(self, j) for j in range(k)]
        self.crew = [Technician(self, j) for j in range(self.crew_kind.size)]
        self.datacollector = DataCollector(model_reporters=metrics.MODEL_REPORTERS)
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ public helpers
    @property
    def input_level(self) -> np.ndarray:
        """(S,) jobs waiting at each station: its buffer, or its cell's order book if first."""
        return np.where(self.first, self.backlog[self.layout.cell], self.buffer)

    @property
    def wip(self) -> int:
        """Jobs in the line: in buffers, in process and finished but blocked."""
        return int(self.buffer.sum() + self.busy.sum() + self.blocked.sum())

    @property
    def combined_fatigue(self) -> np.ndarray:
        """(S,) mean of physical (most fatigued region) and mental fatigue of each worker."""
        return 0.5 * (self.phys + self.mental)

    @property
    def shift_minute(self) -> float:
        """Minutes since the current shift started."""
        return self.minute - self.shift * self.shift_minutes

    def set_cobot_actions(self, speed: np.ndarray, assist: np.ndarray, focus: np.ndarray | None = None) -> None:
        """Speed (capped at the safety-rated limit), assistance share and ergonomic focus, in [0, 1], per cobot (K,)."""
        st = self.cobot_station
        self.speed[st] = np.clip(speed, 0.0, self.speed_cap)
        self.assist[st] = np.clip(assist, 0.0, 1.0)
        if focus is not None:
            self.focus[st] = np.clip(focus, 0.0, 1.0)

    def _speed_cap(self) -> float:
        """Highest speed setting (fraction of ``v_max``) the controller's safety-rated limit allows."""
        c = self.config.cobots
        if c.speed_limit is None:
            return 1.0
        if c.speed_limit == "pfl":
            return self.pfl_speed
        return float(min(1.0, c.speed_limit / c.v_max))

    # ------------------------------------------------------------------ the tick
    def step(self) -> None:
        """Advance the world by one tick (see the module docstring)."""
        n = self.layout.n_stations
        people = self.streams["people"].random((3, n))
        z = self.streams["people"].standard_normal(n)
        u_safety = self.streams["safety"].random((3, n))
        u_work = self.streams["work"].random((4, n))
        self._context()
        self._team(people[0], people[1], people[2], z)
        self._work(u_safety, u_work)
        line.flow(self)
        line.repair(self)
        humans.update(self)
        self._read_sensors()
        metrics.account(self)
        self.minute += self.dt
        self.datacollector.collect(self)
        if self.closed:
            self.running = False

    def _context(self) -> None:
        ctx, t0 = self.config.context, self.minute
        shift = int(t0 // self.shift_minutes + 1e-9)
        if shift > self.shift:
            self.shift = shift
            humans.overnight(self)
        ts = self.shift_minute
        was_on_break = self.on_break
        self.on_break = dyn.in_windows(ts, self.breaks)
        if self.on_break:
            self.last_rest = t0 + self.dt
            if not was_on_break and self.config.team.rotation:
                humans.rotate(self)
        self.order_rate = self.base_rate * dyn.demand_factor(ts, self.peaks)
        arrivals = self.streams["arrivals"].poisson(self.order_rate * self.dt)
        line.record_arrivals(self, arrivals, t0)
        self.backlog += arrivals
        self.temp = dyn.temperature(ts, self.shift_minutes, ctx.temperature, ctx.temperature_rise)
        self.heat = float(np.clip((self.temp - ctx.comfort_temperature) / 10.0, 0.0, 1.0))
        running = float((self.busy & self.up).mean())
        self.noise = float(np.clip(ctx.base_noise + ctx.machine_noise * running, 0.0, 1.0))

    def _team(self, u_help: np.ndarray, u_side: np.ndarray, u_prox: np.ndarray, z: np.ndarray) -> None:
        lay, t = self.layout, self.config.team
        waiting = self.present & (~self.busy | self.blocked | ~self.up)
        self.helping[:] = -1
        if not self.on_break:
            cap = max(self.config.floor.buffer_capacity, 1)
            over = (self.input_level >= cap) & self.busy & self.up
            left = (lay.upstream >= 0) & over[np.maximum(lay.upstream, 0)]
            right = (lay.downstream >= 0) & over[np.maximum(lay.downstream, 0)]
            target = np.where(left & (~right | (u_side < 0.5)), lay.upstream, np.where(right, lay.downstream, -1))
            go = waiting & (target >= 0) & (u_help < t.help_probability)
            self.helping[go] = target[go]
        away = self.helping >= 0
        self.present = ~away & (not self.on_break)
        self.helpers = np.bincount(self.helping[away], minlength=lay.n_stations).astype(float)
        stay = self.persistence + (1 - self.persistence) * self.near_share
        enter = (1 - self.persistence) * self.near_share
        self.near = np.where(self.near, u_prox < stay, u_prox < enter) & self.present
        wary = self.config.workers.keep_away * (1.0 - self.trust) * np.where(self.has_cobot, self.speed, 0.0)
        dist = np.where(self.near, self.near_dist + 0.1 * z, self.far_dist + 0.3 * z) + wary
        self.distance = np.where(self.present, np.clip(dist, 0.05, ABSENT_M), ABSENT_M)

    def _work(self, u_safety: np.ndarray, u_work: np.ndarray) -> None:
        cfg, lay, dt = self.config, self.layout, self.dt
        w, t, c, fa = cfg.workers, cfg.team, cfg.cobots, cfg.fatigue
        able = self.busy & self.up & ~self.blocked & self.present
        waits = dyn.tool_waits(able & (u_work[0] < t.tool_need), lay.cell, u_work[1], t.shared_tools)
        self.tool_waits += int(waits.sum())
        self.waited_tool = waits
        # the cobot's offer, as far as the worker accepts it
        reliance = np.clip(self.trust / w.reliance_trust, 0.0, 1.0)
        setting = np.concatenate([self.assist, self.focus])
        if not np.array_equal(setting, self._setting):  # the allocation changes only with the setting
            self._setting = setting
            self.offered = erg.allocate(self.assist, self.focus, self.share, self.loads, self.factor)
        self.taken = self.offered * np.where(self.has_cobot, reliance, 0.0)[:, None]
        h_frac, c_frac = erg.split_times(self.taken, self.share, self.factor)
        self.own_load = erg.worker_loads(self.taken, self.share, self.loads)
        load = self.own_load * (1.0 + w.heat_load * self.heat)
        self.capacity = erg.capacity_factor(self.mf, load)
        failed = self.capacity < 1.0
        own = self.pace_nat * np.maximum(1.0 - w.mental_slowdown * self.mental, 0.1) * np.maximum(self.capacity, 0.05)
        dn = np.maximum(lay.downstream, 0)
        starving = ~self.last & (self.buffer[dn] == 0) & ~self.busy[dn]
        peer = dyn.peer_pace(self.pace_nat, lay.upstream, lay.downstream, t.peer_effect)
        self.pace = own * peer * (1 + t.starve_boost * starving)
        self.pace_excess = np.maximum(0.0, self.pace / own - 1.0)
        mult = dyn.time_multiplier(
            self.experience[np.arange(lay.n_stations), lay.task], progress_ratio=w.learning_rate, plateau=w.plateau
        )
        human = lay.cycle * mult / self.pace / (1 + t.help_share * self.helpers)
        # the safety controller: workspace entries of the tick
        v = np.where(self.has_cobot, self.speed, 0.0) * c.v_max
        moving = able & self.has_cobot & (c_frac > 0) & (v > 0)
        rate = np.where(self.near, c.reach_rate, c.walk_rate) * dt * moving
        count = sf.poisson_count(u_safety[0], rate)
        lean = ~self.near | (u_safety[1] < c.lean_share)
        limit = np.where(lean, self.limit_chest, self.limit_arm)
        t_stop = sf.stopping_time(v, t_min=c.t_stop_min, t_max=c.t_stop_max, v_max=c.v_max)
        self.stops_tick, self.violations_tick, lost = sf.entries(
            v,
            self.distance,
            count,
            limit,
            u_safety[2],
            miss=c.miss_rate,
            t_react=c.t_react,
            t_stop=t_stop,
            intrusion=c.intrusion,
            stop_cost=c.restart + c.dwell,
        )
        self.stop = self.stops_tick > 0
        self.violation = self.violations_tick > 0
        self.lost_sec += float(lost.sum())
        avail = np.clip(1.0 - lost / (60.0 * dt), 0.0, 1.0)
        cobot = lay.cycle * c.time_ratio / np.maximum(dyn.speed_factor(self.speed, c.speed_half), 1e-6)
        cobot_part = np.where(c_frac > 0, c_frac * cobot / np.maximum(avail, 1e-3), 0.0)
        minutes, joined = erg.shared_job(h_frac * human, cobot_part, (1.0 - h_frac) * human)
        # the worker's share of the job done by hand, and the mean load over their working time
        hand = h_frac + (1.0 - h_frac) * joined / np.maximum((1.0 - h_frac) * human, 1e-12)
        cobot_loads = erg.worker_loads(1.0 - self.taken, self.share, self.loads)
        mix = (joined / np.maximum(minutes, 1e-12))[:, None]
        self.own_load = (1.0 - mix) * self.own_load + mix * cobot_loads
        self.assist_eff = 1.0 - hand
        pause = np.where(failed, fa.micro_pause / 60.0, 0.0)
        self.work_share = able * np.where(waits, max(0.0, 1.0 - t.tool_wait / dt), 1.0) * (1.0 - pause)
        self.worker_duty = self.work_share * np.clip((h_frac * human + joined) / np.maximum(minutes, 1e-9), 0.0, 1.0)
        self.progress += np.minimum(dt / np.maximum(minutes, 1e-9), 1.0) * self.work_share
        finished = able & (self.progress >= 1.0)
        self.cobot_error = finished & (c_frac > 0) & (u_work[3] < c.error_rate)
        p_err = dyn.error_probability(np.maximum(self.phys, self.mental), w.error_base) + fa.failure_error * failed
        err = finished & ((u_work[2] < p_err) | self.cobot_error)
        self.reworks += int(err.sum())
        self.cobot_errors += int(self.cobot_error.sum())
        self.progress[err] = 0.5
        self.completed = finished & ~err
        self.carry = np.where(self.completed, np.minimum(self.progress - 1.0, 0.99), 0.0)
        self.progress[self.completed] = 0.0
        self.busy[self.completed] = False
        self.blocked[self.completed] = True
        idx = np.flatnonzero(self.completed)
        self.experience[idx, lay.task[idx]] += hand[idx]
        # operation-dependent wear on the clocks drawn in advance
        self.uptime_left -= dt * self.work_share
        fail = self.up & (self.uptime_left <= 0)
        k = self.n_fail % cfg.machines.max_failures
        self.up[fail] = False
        self.down_since[fail] = self.minute
        self.fault_kind[fail] = self.clock_process[fail, k[fail]]
        self.repair_left[fail] = self.clock_repair[fail, k[fail]]
        self.n_fail[fail] += 1
        self.failures += int(fail.sum())

    def _read_sensors(self) -> None:
        self.machine_reading = self.machine_sensor.read(self.up.astype(float))
        self.proximity_reading = self.proximity_sensor.read(self.distance)
        self.wearable_reading = self.wearable.read(np.concatenate([self.phys, self.mental]))

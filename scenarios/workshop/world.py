"""The smart-workshop world: workers and cobots at stations of a line, machines that break.

State lives in numpy arrays indexed by station ``i`` (operator ``i`` works at station ``i``);
the Mesa entities :class:`Station`, :class:`Worker`, :class:`Cobot` and :class:`Technician`
are thin handles onto those arrays. One tick (``minutes_per_step`` minutes) runs these array
kernels over all stations at once:

1. **context** — breaks, order arrivals (Poisson at the current demand rate), temperature,
   noise;
2. **team** — idle workers may help an overloaded neighbour; proximity phases of each worker
   (within reach of the cobot or not) move on;
3. **safety** — a cobot moving faster than the reduced speed while its worker is inside the
   protective separation is a violation and makes a protective stop;
4. **work** — stations process their job at a rate set by skill, fatigue, pace (drifting toward
   the team's), helpers, shared tools and the cobot's speed and share; finished jobs move
   downstream (blocking after service), idle stations pull the next job; machines wear while
   producing and fail; free technicians and engineers repair them, oldest fault first;
5. **worker** — physical and mental fatigue, trust, skill and well-being (``f``) update;
   sensors are read; metrics are collected.

Every random number is drawn from ``model.rng`` in fixed-size blocks each tick, so policies
compared on one seed see the same arrivals, proximity phases and failure draws.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from mesa import DataCollector

from cpss.kit.context import OccupancySensors
from cpss.kit.model import CPSSModel
from cpss.kit.personalisation import FParams, PersonalisationFunction
from scenarios.workshop import dynamics as dyn
from scenarios.workshop import metrics
from scenarios.workshop.config import WorkshopConfig
from scenarios.workshop.entities import Cobot, Station, Technician, Worker

ABSENT_M = 5.0
"""Distance (m) reported for a worker who is away from the station."""


class WorkshopModel(CPSSModel):
    """The cobotic production system (see the module docstring for the tick).

    Args:
        config: The validated configuration (defaults if None).
        seed: Overrides ``config.world.seed`` when given.
    """

    def __init__(self, config: WorkshopConfig | None = None, seed: int | None = None) -> None:
        cfg = config or WorkshopConfig()
        super().__init__(cfg.world.seed if seed is None else seed, cfg.world.minutes_per_step, cfg.world.day_minutes)
        self.config = cfg
        fl, w, c = cfg.floor, cfg.workers, cfg.cobots
        # --- env: stations on a networkx graph, buffers, machines ---
        lrng = self.rng if fl.layout_seed is None else np.random.default_rng(fl.layout_seed)
        self.layout = lay = dyn.build_layout(
            lrng, fl.stations, fl.cells, fl.task_types, fl.cycle_time, fl.cycle_time_cv
        )
        self.make_space(lay.graph)
        n, self.n_cells = lay.n_stations, fl.cells
        self.first = lay.upstream < 0
        self.last = lay.downstream < 0
        self.buffer = np.where(self.first, 0, fl.initial_wip).astype(np.int64)
        self.backlog = np.zeros(self.n_cells, dtype=np.int64)
        self.busy = np.zeros(n, dtype=bool)
        self.blocked = np.zeros(n, dtype=bool)
        self.progress = np.zeros(n)
        m = cfg.machines
        self.mtbf = np.inf if m.availability >= 1.0 else m.availability * m.mttr / (1 - m.availability)
        self.up = np.ones(n, dtype=bool)
        self.uptime_left = self._uptimes(n)
        self.repair_left = np.zeros(n)
        self.fault_kind = np.zeros(n, dtype=np.int64)
        self.down_since = np.zeros(n)
        self.repairer = np.full(n, -1, dtype=np.int64)
        t = cfg.team
        self.crew_kind = np.repeat([0, 1], [t.technicians, t.engineers])
        self.crew_station = np.full(self.crew_kind.size, -1, dtype=np.int64)
        # --- users: the roster (fixed across days with workers.roster_seed) ---
        rrng = self.rng if w.roster_seed is None else np.random.default_rng(w.roster_seed)
        # pace_nat, pref_speed, pref_assist, stated_speed, ..., experience, trust (see Roster)
        vars(self).update(dataclasses.asdict(dyn.sample_roster(rrng, n, fl.task_types, w)))
        self.phys = np.zeros(n)
        self.mental = np.zeros(n)
        self.near = np.zeros(n, dtype=bool)
        self.distance = np.full(n, ABSENT_M)
        self.present = np.ones(n, dtype=bool)
        self.helping = np.full(n, -1, dtype=np.int64)
        self.helpers = np.zeros(n)
        self.last_rest = 0.0
        self.pace, self.pace_excess = self.pace_nat.copy(), np.zeros(n)
        self.work_share = np.zeros(n)
        self.assist_eff = np.zeros(n)
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
        self.stop = np.zeros(n, dtype=bool)
        # --- context and sensors ---
        ctx = cfg.context
        self.breaks = [(b.start, b.end) for b in ctx.breaks]
        self.peaks = [(p.start, p.end, p.factor) for p in ctx.peaks]
        self.base_rate = ctx.order_load / fl.cycle_time
        self.peak_rate = self.base_rate * max([1.0] + [p[2] for p in self.peaks])
        self.order_rate = self.base_rate
        self.on_break = False
        self.temp = ctx.temperature
        self.noise = ctx.base_noise
        s = ctx.sensors
        self.machine_sensor = OccupancySensors(n, s.machine, self.rng)
        self.proximity_sensor = OccupancySensors(n, s.proximity, self.rng)
        self.wearable = OccupancySensors(2 * n, s.wearable, self.rng)
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
        self.utility = np.zeros(n)
        self.mismatch = np.zeros(n)
        self.collaborating = np.zeros(n, dtype=bool)
        self.work_minutes = np.zeros(n)
        self.satisfaction = np.zeros(n)
        self.violations = self.failures = self.repairs = self.helps = self.tool_waits = 0
        self.lead_sum = self.fatigue_sum = self.elapsed = self.peak_fatigue = 0.0
        self.mismatch_sum = self.collab_minutes = self.starved_min = self.blocked_min = 0.0
        self.up_min = 0.0
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
        """(S,) mean of physical and mental fatigue of each operator."""
        return 0.5 * (self.phys + self.mental)

    def set_cobot_actions(self, speed: np.ndarray, assist: np.ndarray) -> None:
        """Speed and assistance share, in [0, 1], of every cobot (K,) from the next tick on."""
        self.speed[self.cobot_station] = np.clip(speed, 0.0, 1.0)
        self.assist[self.cobot_station] = np.clip(assist, 0.0, 1.0)

    # ------------------------------------------------------------------ the tick
    def step(self) -> None:
        """Advance the world by one tick (see the module docstring)."""
        cfg, lay, dt = self.config, self.layout, self.dt
        n, t0 = lay.n_stations, self.minute
        u = self.rng.random((7, n))
        z = self.rng.standard_normal(n)
        repair_draw = self.rng.gamma(cfg.machines.repair_shape, cfg.machines.mttr / cfg.machines.repair_shape, n)
        uptime_draw = self._uptimes(n)
        self._context(t0)
        self._team(u[0], u[1], u[2], z)
        speed_ms = self.speed * cfg.cobots.v_max
        able = self.busy & self.up & ~self.blocked & self.present
        moving = self.has_cobot & able & (self.assist > 0) & (self.speed > 0)
        c = cfg.cobots
        self.violation = moving & dyn.safety_violation(
            speed_ms,
            self.distance,
            v_limit=c.v_reduced,
            v_human=c.v_human,
            t_react=c.t_react,
            t_stop=c.t_stop,
            intrusion=c.intrusion,
        )
        self.stop = self.violation
        self._work(able, u[3], u[4], u[5], u[6], repair_draw)
        self._flow()
        self._repair(uptime_draw)
        self._update_workers()
        self._read_sensors()
        self._account()
        self.minute += dt
        self.datacollector.collect(self)
        if self.closed:
            self.running = False

    def _uptimes(self, n: int) -> np.ndarray:
        """Operating minutes to the next failure (exponential; none when availability is 1)."""
        return self.rng.exponential(self.mtbf, n) if np.isfinite(self.mtbf) else np.full(n, np.inf)

    def _context(self, t0: float) -> None:
        ctx = self.config.context
        self.on_break = dyn.in_windows(t0, self.breaks)
        if self.on_break:
            self.last_rest = t0 + self.dt
        self.order_rate = self.base_rate * dyn.demand_factor(t0, self.peaks)
        arrivals = self.rng.poisson(self.order_rate * self.dt, self.n_cells)
        self._record_arrivals(arrivals, t0)
        self.backlog += arrivals
        self.temp = dyn.temperature(t0, self.day_minutes, ctx.temperature, ctx.temperature_rise)
        running = float((self.busy & self.up).mean())
        self.noise = float(np.clip(ctx.base_noise + ctx.machine_noise * running, 0.0, 1.0))

    def _record_arrivals(self, arrivals: np.ndarray, t0: float) -> None:
        need = int((self.n_jobs + arrivals).max(initial=0))
        if need > self.arrival_time.shape[1]:
            grown = np.zeros((self.n_cells, 2 * need))
            grown[:, : self.arrival_time.shape[1]] = self.arrival_time
            self.arrival_time = grown
        rows = np.repeat(np.arange(self.n_cells), arrivals)
        offset = np.arange(rows.size) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
        self.arrival_time[rows, self.n_jobs[rows] + offset] = t0
        self.n_jobs += arrivals

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
        dist = np.where(self.near, self.near_dist + 0.1 * z, self.far_dist + 0.3 * z)
        self.distance = np.where(self.present, np.clip(dist, 0.05, ABSENT_M), ABSENT_M)

    def _work(
        self,
        able: np.ndarray,
        u_need: np.ndarray,
        u_prio: np.ndarray,
        u_err: np.ndarray,
        u_kind: np.ndarray,
        repair_draw: np.ndarray,
    ) -> None:
        cfg, lay, dt = self.config, self.layout, self.dt
        w, t, c = cfg.workers, cfg.team, cfg.cobots
        waits = dyn.tool_waits(able & (u_need < t.tool_need), lay.cell, u_prio, t.shared_tools)
        self.tool_waits += int(waits.sum())
        self.waited_tool = waits
        share = np.where(waits, max(0.0, 1.0 - t.tool_wait / dt), 1.0)
        own = self.pace_nat * (1 - w.fatigue_slowdown * self.phys - w.mental_slowdown * self.mental)
        own = np.maximum(own, 0.05)
        dn = np.maximum(lay.downstream, 0)
        starving = ~self.last & (self.buffer[dn] == 0) & ~self.busy[dn]
        self.pace = dyn.conform_pace(own, lay.cell, t.pace_conformity) * (1 + t.starve_boost * starving)
        self.pace_excess = np.maximum(0.0, self.pace / own - 1.0)
        mult = dyn.time_multiplier(
            self.experience[np.arange(lay.n_stations), lay.task], progress_ratio=w.learning_rate, plateau=w.plateau
        )
        human = lay.cycle * mult / self.pace / (1 + t.help_share * self.helpers)
        v_eff = self.speed * np.where(self.stop, 1 - c.stop_loss, 1.0)
        cobot = lay.cycle * c.time_ratio / np.maximum(dyn.speed_factor(v_eff, c.speed_half), 1e-6)
        assist = np.where(self.has_cobot, self.assist, 0.0)
        minutes = dyn.job_minutes(human, cobot, assist)
        self.assist_eff = dyn.cobot_share(human, cobot, assist)
        self.work_share = able * share
        self.progress += np.minimum(dt / minutes, 1.0) * self.work_share
        finished = able & (self.progress >= 1.0)
        err = finished & (u_err < dyn.error_probability(np.maximum(self.phys, self.mental), w.error_base))
        self.progress[err] = 0.5
        self.completed = finished & ~err
        self.carry = np.where(self.completed, np.minimum(self.progress - 1.0, 0.99), 0.0)
        self.progress[self.completed] = 0.0
        self.busy[self.completed] = False
        self.blocked[self.completed] = True
        idx = np.flatnonzero(self.completed)
        self.experience[idx, lay.task[idx]] += 1.0 - self.assist_eff[idx]
        # operation-dependent wear; failed machines wait for a crew
        self.uptime_left -= dt * self.work_share
        fail = self.up & (self.uptime_left <= 0)
        self.up[fail] = False
        self.down_since[fail] = self.minute
        process = (u_kind < cfg.machines.process_fault_share) & (cfg.team.engineers > 0)
        self.fault_kind[fail] = process[fail]
        self.repair_left[fail] = repair_draw[fail]
        self.failures += int(fail.sum())

    def _flow(self) -> None:
        lay, cap = self.layout, self.config.floor.buffer_capacity
        dn = np.maximum(lay.downstream, 0)
        space = self.last | (self.buffer[dn] < cap)
        move = self.blocked & space
        np.add.at(self.buffer, dn[move & ~self.last], 1)
        self.done_tick = np.bincount(lay.cell[move & self.last], minlength=self.n_cells)
        cells = np.flatnonzero(self.done_tick)
        finish = self.minute + self.dt
        self.lead_sum += float((finish - self.arrival_time[cells, self.done[cells]]).sum())
        self.done += self.done_tick
        self.blocked[move] = False
        avail = np.where(self.first, self.backlog[lay.cell] > 0, self.buffer > 0)
        start = ~self.busy & ~self.blocked & self.up & avail
        np.subtract.at(self.buffer, np.flatnonzero(start & ~self.first), 1)
        rel = np.bincount(lay.cell[start & self.first], minlength=self.n_cells)
        self.backlog -= rel
        self.released += rel
        self.busy[start] = True
        self.progress[start] = np.where(self.completed[start], self.carry[start], 0.0)

    def _repair(self, uptime_draw: np.ndarray) -> None:
        waiting = ~self.up & (self.repairer < 0)
        for kind in (0, 1):
            free = np.flatnonzero((self.crew_station < 0) & (self.crew_kind == kind))
            queue = np.flatnonzero(waiting & (self.fault_kind == kind))
            queue = queue[np.argsort(self.down_since[queue], kind="stable")][: free.size]
            self.crew_station[free[: queue.size]] = queue
            self.repairer[queue] = free[: queue.size]
        under = ~self.up & (self.repairer >= 0)
        self.repair_left[under] -= self.dt
        fixed = under & (self.repair_left <= 0)
        self.crew_station[self.repairer[fixed]] = -1
        self.repairer[fixed] = -1
        self.up[fixed] = True
        self.uptime_left[fixed] = uptime_draw[fixed]
        self.repairs += int(fixed.sum())

    def _update_workers(self) -> None:
        cfg, dt = self.config, self.dt
        w, ctx = cfg.workers, cfg.context
        helping = self.helping >= 0
        assist = np.where(self.present, self.assist_eff, 0.0)
        work = np.where(helping, 1.0, self.work_share)
        heat = float(np.clip((self.temp - ctx.comfort_temperature) / 10.0, 0.0, 1.0))
        relief = np.where(helping, 1.0, 1.0 - w.assist_relief * assist)
        load = work * self.pace * relief * (1.0 + w.heat_load * heat)
        self.phys = dyn.fatigue_step(
            self.phys,
            load,
            1.0 - work,
            dt,
            rate=w.fatigue_rate * self.fatigue_mult,
            recovery=w.recovery_rate * self.recovery_mult,
            rest_mult=w.rest_multiplier,
        )
        speed = np.where(self.has_cobot & self.present, self.speed, 0.0)
        drive = dyn.mental_drive(
            work, speed, self.pref_speed, self.distance, self.sensitivity, np.where(helping, 0.0, self.pace_excess)
        )
        self.mental = dyn.fatigue_step(
            self.mental,
            drive,
            1.0 - work,
            dt,
            rate=w.mental_rate * self.fatigue_mult,
            recovery=w.mental_recovery * self.recovery_mult,
            rest_mult=w.mental_rest_multiplier,
        )
        self.mental = np.clip(self.mental + w.stop_startle * self.stop, 0.0, 1.0)
        self.collaborating = self.has_cobot & (self.work_share > 0)
        self.mismatch = np.where(
            self.collaborating, dyn.comfort_mismatch(self.speed, self.assist, self.pref_speed, self.pref_assist), 0.0
        )
        learn = w.trust_lr * dt * self.collaborating
        self.trust = np.clip(
            self.trust + learn * (1.0 - self.mismatch - self.trust) - w.stop_trust_drop * self.stop, 0.0, 1.0
        )
        idle = self.present & (self.work_share <= 0)
        cap = cfg.floor.buffer_capacity
        self.utility = dt * self.f.utility(
            match=1.0 - self.mismatch,
            attention=1.0 - np.maximum(self.phys, self.mental),
            exposure=np.full(self.phys.shape, max(0.0, self.minute - self.last_rest) / 60.0),
            trust=self.trust,
            guided=np.where(self.collaborating, self.assist_eff, 0.0),
            viewers=self.helpers,
            density=np.minimum(self.input_level / cap, 2.0),
            queue_wait=dt * idle,
            noise=np.full(self.phys.shape, min(1.0, self.noise + heat)),
            event=np.full(self.phys.shape, float(self.on_break)),
            attraction=self.up.astype(float),
            walk_min=dt * helping + cfg.team.tool_wait * self.waited_tool,
        )
        self.satisfaction += self.utility
        self.work_minutes += dt * work

    def _read_sensors(self) -> None:
        self.machine_reading = self.machine_sensor.read(self.up.astype(float))
        self.proximity_reading = self.proximity_sensor.read(self.distance)
        self.wearable_reading = self.wearable.read(np.concatenate([self.phys, self.mental]))

    def _account(self) -> None:
        dt = self.dt
        fat = self.combined_fatigue
        self.violations += int(self.violation.sum())
        self.fatigue_sum += float(fat.mean()) * dt
        self.elapsed += dt
        self.peak_fatigue = max(self.peak_fatigue, float(fat.max(initial=0.0)))
        self.mismatch_sum += float(self.mismatch.sum()) * dt
        self.collab_minutes += float(self.collaborating.sum()) * dt
        self.helps += int((self.helping >= 0).sum())
        self.starved_min += dt * float((self.present & ~self.busy & ~self.blocked).sum())
        self.blocked_min += dt * float(self.blocked.sum())
        self.up_min += dt * float(self.up.sum())
        self.buffer_history.append(self.input_level.copy())

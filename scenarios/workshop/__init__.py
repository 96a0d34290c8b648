"""Workshop: cobots personalising collaboration with workers on a production line.

The seed's second CPSS, a cobotic production system (smart workshop):
``pa = f(u, x_pa, cr, cx, env)`` with the worker ``u``, the cobot ``x_pa``, the team ``cr``,
the shift and order book ``cx`` and the shop floor ``env``.

| | |
|---|---|
| Import | `scenarios.make("workshop")`, `scenarios.workshop.parallel_env()`, `.env()` (AEC) |
| Configs | `workshop-small` (one 6-station line, 6 workers, 1 technician + 1 engineer, 6 cobots, 8 h at 1 min/tick), `workshop-large` (24 stations in 4 cells, 24 workers, 4 technicians + 2 engineers, 24 cobots) |
| Agents | `cobot_0` … `cobot_{K-1}`, one per station it stands at (`cobots.stations`; default one per station) |
| Actions | `Box(0, 1, (3,), float32)`: `[speed, assistance, focus]`; speed × `cobots.v_max` is the TCP speed (m/s); assistance the share of the job's manual time the cobot offers to take over; focus which sub-tasks it takes first (0: those it does fastest, 1: the heaviest for the worker) |
| Default action | `[v_reduced / v_max, fixed_assistance, fixed_focus]` (0.166, 0.3, 0): at the ISO 10218-1 reduced speed, below every body region's force limit: never a stop or a violation |
| Mask | none (continuous actions; `infos` carry no `action_mask`) |
| Observation | `Box(0, 1, (26,), float32)`, layout below |
| State | `Box(0, 1, (13·S + cells + 7,))`: per station the true buffer fill, busy, blocked, progress, machine up, worker present, distance, physical (most fatigued body region) and mental fatigue, true preferred speed and share, trust, skill; the order book per cell; the context |
| Reward | per cobot and tick: `(1 − cooperation) · own + cooperation · output · jobs finished by its cell`, with `own = output · jobs its station finished + wellbeing · f-utility of its worker − fatigue · worker fatigue − safety · real violations` |
| Idle | `infos[agent]["idle"]` while its worker is away (break, helping a colleague): the setting has no effect then |
| Episode | `world.shifts` shifts (default 1); truncation at the end (`terminations` are always False) |

## The five terms of f, with workshop meanings
| term | museum meaning | workshop meaning (inputs of `cpss.kit.personalisation`) |
|---|---|---|
| user `u` | interest match × attention × novelty | match = 1 − comfort mismatch (speed and share vs the worker's true preference), attention = 1 − fatigue, exposure = hours since the last break (monotony) |
| personaliser `x_pa` | guide's content × trust | share of the job the cobot does × trust × `f.assist_value` |
| crowd `cr` | social proof − congestion − queueing | colleagues helping at the station (support) − input buffer fill above `f.pressure_fill` − minutes starved or blocked |
| context `cx` | events − noise | break (bonus) − noise and heat |
| environment `env` | attraction − walking | machine up − minutes fetching shared tools or helping elsewhere |

## Entities and dynamics (scenarios/workshop/world.py; handles in entities.py)
* **Stations** on a networkx graph: one line, or cells of lines; a buffer of
  `floor.buffer_capacity` jobs before each station (blocking after service); the first station
  of a cell pulls from the cell's order book. Orders arrive at `context.order_load` (0.9) times
  the manual line's capacity (bottleneck at median skill × the zero-buffer efficiency
  `1 / (1 + Σ MTTR/MTBF)` × the worked share of the shift), with two demand peaks. Machines
  fail after a number of *working* minutes drawn per station in advance (exponential, MTBF =
  A·MTTR/(1 − A)) and wait for a free technician (an engineer for process faults); repairs are
  Erlang plus `machines.response` minutes to reach and diagnose.
* **Jobs and sub-tasks** (scenarios/workshop/ergonomics.py): every job is three sub-tasks
  (fit, fasten, lift) with a share of the manual time (task type `t` rolls the shares of
  `fatigue.share` by `t`), a target load in %MVC on each body region (`fatigue.loads`) and a
  cobot time factor (`fatigue.cobot_factor`: the cobot is quick at fastening, slow at fitting).
  The cobot takes whole sub-tasks in the order set by `focus` until `assistance` of the manual
  time is covered; the worker takes back the part they do not trust it with (reliance =
  `min(1, trust / workers.reliance_trust)`). Worker and cobot work in parallel: a job takes
  `max(H · (1 − a_eff), C(v) · Σ s_k·m_k·x_k / available)` minutes, with `H` the worker's
  minutes for a whole job (cycle time × Wright learning curve / pace) and `C(v)` the cobot's
  (falls with speed, saturating); the worker rests while waiting, and joins the cobot on what
  is left once the wait has lasted as long as the job by hand. Assistance helps until the
  cobot becomes the bottleneck, ergonomic focus costs cycle time, and a crawling cobot never
  stalls a job.
* **Fatigue** (3CC-r per body region: shoulder, grip, trunk): each tick the worker works on
  their sub-tasks for their share of the minute at the time-weighted load of those sub-tasks
  (raised by heat), then rests; the exact update uses the published F and R per region
  (Frey-Law et al. 2012) and r = 15 (Looft et al. 2018). **Failure** (`MF > 1 − TL` on a
  region): the worker slows to the residual capacity `(1 − MF)/TL`, takes a micro-pause of
  `fatigue.micro_pause` s each minute, and a job finished while failed needs rework with an
  extra chance `fatigue.failure_error`. Mental fatigue grows with time on task, a cobot faster
  than liked close by, and being pushed above one's pace.
* **Safety** (scenarios/workshop/safety.py): within each tick the worker enters the cobot's
  workspace a Poisson number of times (`cobots.reach_rate` per minute when near, reaches that
  expose the arm or, with chance `cobots.lean_share`, the chest; `cobots.walk_rate` when far,
  exposing the chest). At or below the exposed region's force-limited speed (PFL, ISO/TS 15066
  `v = F_T/√(μk)`: upper arm ≈ 1.1 m/s, chest ≈ 0.54 m/s) the cobot keeps working. Faster, the
  separation monitor makes a protective stop (reaction + stopping time `T_s(v)`, growing with
  speed, + `cobots.restart` + `cobots.dwell` seconds lost). An entry the monitor misses
  (`cobots.miss_rate`) that starts inside the protective separation
  `S_p = v_h(T_r + T_s) + v·T_r + v·T_s/2 + C` (v_h 2.0 m/s within 0.5 m, else 1.6 m/s) ends in a
  contact at the computed contact speed: above the region's limit it is a **real violation**.
  `cobots.speed_limit` is the controller's safety-rated speed limit: `"pfl"` clips every
  speed setting to the lowest force-limited speed, which rules out stops and violations.
* **Workers** (one per station): skill per task type on a Wright curve (85%) with a plateau,
  improving with the manual share of each job; true and stated preferences for cobot speed
  and share, drifting toward the setting experienced while nothing goes wrong
  (`workers.pref_adapt`), and down after a violation; **trust** moving toward the cobot's fit
  to those preferences, up with assisted jobs done, down with stops, violations and cobot
  errors (`cobots.error_rate`); trust sets reliance on offered help and the distance kept from
  a fast cobot (`workers.keep_away`).
* **Team**: pooled technicians pulled away by breakdowns; idle workers help an overloaded
  neighbour; a worker slower than the neighbours they see speeds up by `team.peer_effect`
  (0.17) per unit of relative gap, a faster one does not slow down (Mas & Moretti); shared
  tool kits per cell; with `team.rotation` workers move one station down the cell at each break
  and shift start, carrying their skill and fatigue.
* **Shifts**: with `world.shifts` > 1 one episode runs several shifts; overnight fatigue
  recovers and `workers.forgetting` of the experience is lost; the line keeps its WIP.
* **Context**: breaks (10/30/10 min), two demand peaks, noise rising with running machines,
  temperature rising mid-shift.
* **Common random numbers**: orders, proximity phases, workspace entries, rework draws and
  sensors each draw from their own stream spawned from the root seed, a fixed block per tick;
  failure clocks, repair times and fault kinds are drawn per station in advance. Two policies
  on one seed see the same shift.

## Observation layout (all in [0, 1]; the sensed values are noisy)
| index | name | content |
|---|---|---|
| 0 | `input` | jobs waiting at the station / buffer capacity (first station: order book / 50) |
| 1 | `output` | jobs in the next station's buffer / capacity (0 at the last station) |
| 2 | `busy` | 1 while a job is in process |
| 3 | `blocked` | 1 while a finished job waits for room downstream |
| 4 | `progress` | progress of the current job |
| 5 | `machine` | own machine status as sensed (1 up, 0 down) |
| 6 | `machine_up_line` | upstream machine as sensed (1 when there is none) |
| 7 | `machine_down_line` | downstream machine as sensed (1 when there is none) |
| 8 | `proximity` | sensed worker distance / 3 m (1: far or away) |
| 9 | `fatigue_physical` | wearable estimate of physical fatigue (the most fatigued body region's MF) |
| 10 | `fatigue_mental` | wearable estimate of mental fatigue |
| 11 | `stated_speed` | worker's stated preferred speed |
| 12 | `stated_assistance` | worker's stated preferred assistance share |
| 13 | `skill` | worker's skill on the station's task, 1 − (1 + jobs)^(−b) |
| 14 | `present` | 1 while the worker is at the station |
| 15 | `helpers` | colleagues helping at the station / 2 |
| 16 | `cycle_time` | station's nominal cycle time / (2 × floor.cycle_time) |
| 17 | `position` | position in the cell (0 first … 1 last) |
| 18 | `clock` | minutes since the shift started / shift length |
| 19 | `on_break` | 1 during a break |
| 20 | `next_break` | minutes to the next break / 120 (1 when none is left) |
| 21 | `order_rate` | order arrival rate / its peak |
| 22 | `backlog` | cell's order book / 50 |
| 23 | `noise` | shop-floor noise level |
| 24 | `temperature` | (temperature − 15 °C) / 20 |
| 25 | `crew_free` | share of technicians and engineers free |

## Metrics
throughput (jobs and per hour), jobs in, work in progress, order book, lead time, mean and peak
fatigue (and physical / mental now), mean physical fatigue over the shift, failed minutes
(worker-minutes past the 3CC failure point), comfort mismatch, real safety violations,
protective stops, cobot errors, technicians' utilisation, workload Gini, mean satisfaction,
trust, availability, starved and blocked shares, failures, helping minutes
(`scenarios.workshop.metrics`). Run folders plot throughput, WIP, fatigue, stops, violations and
mismatch, and a heatmap of jobs waiting per station.

## Heuristic cobots (scenarios/workshop/heuristics.py)
* `fixed` — the same setting all shift (`cobots.fixed_speed`, default the reduced speed;
  `cobots.fixed_assistance`; `cobots.fixed_focus`), blind to the worker: never a stop.
* `preference` — the worker's stated speed and share, capped at the force-limited speed
  whenever the sensed distance is within 1 m + `cobots.guard_margin`.
* `fatigue_adaptive` — fatigue-aware allocation: as `preference`, but once the wearable's
  fatigue estimate `F̂` passes `cobots.adaptive_onset` the share rises toward 1
  (`a + gain·ramp·(1 − a)`), and the focus turns to the heaviest sub-tasks (`min(1, 2F̂)`).
* `separation` — speed by separation with balanced assistance: up to the upper arm's
  force-limited speed, capped where `S_p(v)` + the margin still fits in the sensed distance,
  and at the chest's force-limited speed when the worker is near; the assistance share (quickest
  sub-tasks first) that makes the job shortest at that speed, estimated from the observed cycle
  time and skill.

Their trade-offs over 30 paired shifts: docs/experiments/workshop-tradeoffs.md.

Defaults and their sources: scenarios/workshop/config.py (descriptions ending in `[A]` are
assumptions) and shared/reference/calibration-workshop.md. Env contract: docs/envs.md.

## Version history
* v1 (issue 18): 3CC-r fatigue per body region with published constants and a failure rule;
  safety as physics (SSM with speed-dependent stopping, ISO 13855 approach speeds, PFL body
  limits, protective stops, real violations); sub-task allocation and the `focus` action;
  trust acting on reliance and distance; preferences adapting; asymmetric peer effect; demand
  at 0.9 of the manual line's capacity; rotation; multi-shift episodes; common random numbers.
* v0: initial release.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from cpss.kit.env import CPSSParallelEnv, aec_from_parallel
from cpss.kit.scenario import Scenario
from scenarios.workshop import dynamics as dyn
from scenarios.workshop import heuristics, render
from scenarios.workshop.config import WorkshopConfig
from scenarios.workshop.world import WorkshopModel

__all__ = ["OBS_FIELDS", "WorkshopConfig", "WorkshopModel", "WorkshopScenario", "env", "parallel_env"]

DISTANCE_SCALE = 3.0
"""Metres that map to 1 in the proximity observation (farther, or away, reads as 1)."""
BACKLOG_SCALE = 50.0
"""Orders that map to 1 in the order-book observations."""
BREAK_HORIZON = 120.0
"""Minutes that map to 1 in "minutes to the next break"."""

OBS_FIELDS: tuple[tuple[str, str], ...] = (
    ("input", "jobs waiting at the station / buffer capacity (first station: order book / 50)"),
    ("output", "jobs in the next station's buffer / capacity (0 at the last station)"),
    ("busy", "1 while a job is in process"),
    ("blocked", "1 while a finished job waits for room downstream"),
    ("progress", "progress of the current job"),
    ("machine", "own machine status as sensed (1 up, 0 down)"),
    ("machine_up_line", "upstream machine as sensed (1 when there is none)"),
    ("machine_down_line", "downstream machine as sensed (1 when there is none)"),
    ("proximity", "sensed worker distance / 3 m (1: far or away)"),
    ("fatigue_physical", "wearable estimate of physical fatigue (the most fatigued body region's MF)"),
    ("fatigue_mental", "wearable estimate of mental fatigue"),
    ("stated_speed", "worker's stated preferred speed"),
    ("stated_assistance", "worker's stated preferred assistance share"),
    ("skill", "worker's skill on the station's task, 1 − (1 + jobs)^(−b)"),
    ("present", "1 while the worker is at the station"),
    ("helpers", "colleagues helping at the station / 2"),
    ("cycle_time", "station's nominal cycle time / (2 × floor.cycle_time)"),
    ("position", "position in the cell (0 first … 1 last)"),
    ("clock", "minutes since the shift started / shift length"),
    ("on_break", "1 during a break"),
    ("next_break", "minutes to the next break / 120 (1 when none is left)"),
    ("order_rate", "order arrival rate / its peak"),
    ("backlog", "cell's order book / 50"),
    ("noise", "shop-floor noise level"),
    ("temperature", "(temperature − 15 °C) / 20"),
    ("crew_free", "share of technicians and engineers free"),
)
"""Name and meaning of each observation entry, in order."""

STATION_STATE = 13
"""State entries per station."""


class WorkshopScenario(Scenario):
    """Cobots choosing speed and assistance for their workers (see the module docstring)."""

    name = "workshop"
    config_cls = WorkshopConfig
    agent_prefix = "cobot"
    heuristic_policies = heuristics.POLICIES
    seed_key = "world.seed"
    dashboard_page = "scenarios.workshop.dashboard:PAGE"
    plot_metrics = ("throughput", "wip", "mean_fatigue", "protective_stops", "safety_violations", "comfort_mismatch")
    headline_metrics = (
        "throughput",
        "physical_fatigue_mean",
        "failed_minutes",
        "protective_stops",
        "safety_violations",
        "comfort_mismatch",
        "mean_trust",
        "workload_gini",
    )

    def build_world(self, seed: int) -> WorkshopModel:
        """A fresh shift."""
        return WorkshopModel(self.config, seed=seed)

    def n_agents(self) -> int:
        """One agent per cobot."""
        return self.config.n_cobots

    def observation_space(self, model: WorkshopModel) -> spaces.Box:
        """Box(0, 1, (26,)) per OBS_FIELDS."""
        return spaces.Box(0.0, 1.0, shape=(len(OBS_FIELDS),), dtype=np.float32)

    def action_space(self, model: WorkshopModel) -> spaces.Box:
        """Box(0, 1, (3,)): speed, assistance share and ergonomic focus."""
        return spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float32)

    def state_space(self, model: WorkshopModel) -> spaces.Box:
        """Box(0, 1) of the global state."""
        n = model.layout.n_stations
        return spaces.Box(0.0, 1.0, shape=(STATION_STATE * n + model.n_cells + 7,), dtype=np.float32)

    # ---- observations ------------------------------------------------------------------
    def _context(self, m: WorkshopModel) -> np.ndarray:
        ahead = dyn.next_start(m.shift_minute, m.breaks)
        return np.array(
            [
                m.minute / m.day_minutes,
                float(dyn.in_windows(m.shift_minute, m.breaks)),
                min(1.0, ahead / BREAK_HORIZON),
                float(np.mean(m.order_rate)) / max(m.peak_rate, 1e-9),
                m.noise,
                (m.temp - 15.0) / 20.0,
                float((m.crew_station < 0).mean()),
            ]
        )

    def observe(self, model: WorkshopModel) -> np.ndarray:
        """(K, 26) per OBS_FIELDS."""
        m, lay, cap = model, model.layout, self.config.floor.buffer_capacity
        st = m.cobot_station
        up, dn = lay.upstream[st], lay.downstream[st]
        sensed = np.clip(m.machine_reading, 0.0, 1.0)
        n = lay.n_stations
        level = np.where(m.first, m.input_level / BACKLOG_SCALE, m.input_level / cap)
        out_level = np.where(dn >= 0, m.buffer[np.maximum(dn, 0)] / cap, 0.0)
        skill = dyn.skill_level(m.experience[np.arange(n), lay.task], progress_ratio=self.config.workers.learning_rate)
        ctx = self._context(m)
        cols = [
            level[st],
            out_level,
            m.busy[st],
            m.blocked[st],
            m.progress[st],
            sensed[st],
            np.where(up >= 0, sensed[np.maximum(up, 0)], 1.0),
            np.where(dn >= 0, sensed[np.maximum(dn, 0)], 1.0),
            m.proximity_reading[st] / DISTANCE_SCALE,
            m.wearable_reading[st],
            m.wearable_reading[n + st],
            m.stated_speed[st],
            m.stated_assist[st],
            skill[st],
            m.present[st],
            m.helpers[st] / 2.0,
            lay.cycle[st] / (2.0 * self.config.floor.cycle_time),
            lay.position[st] / max(1, lay.position.max()),
            *(np.full(st.size, ctx[i]) for i in range(3)),
            np.full(st.size, ctx[3]),
            m.backlog[lay.cell[st]] / BACKLOG_SCALE,
            *(np.full(st.size, ctx[i]) for i in range(4, 7)),
        ]
        obs = np.stack([np.asarray(c, dtype=float) for c in cols], axis=1)
        return np.clip(np.nan_to_num(obs), 0.0, 1.0).astype(np.float32)

    def state(self, model: WorkshopModel) -> np.ndarray:
        """True per-station state, the order books and the context (see the module docstring)."""
        m, lay, cap = model, model.layout, self.config.floor.buffer_capacity
        n = lay.n_stations
        skill = dyn.skill_level(m.experience[np.arange(n), lay.task], progress_ratio=self.config.workers.learning_rate)
        level = np.where(m.first, m.input_level / BACKLOG_SCALE, m.input_level / cap)
        per_station = np.stack(
            [
                level,
                m.busy,
                m.blocked,
                m.progress,
                m.up,
                m.present,
                m.distance / DISTANCE_SCALE,
                m.phys,
                m.mental,
                m.pref_speed,
                m.pref_assist,
                m.trust,
                skill,
            ],
            axis=1,
        )
        out = np.concatenate([per_station.ravel(), m.backlog / BACKLOG_SCALE, self._context(m)])
        return np.clip(np.nan_to_num(out), 0.0, 1.0).astype(np.float32)

    # ---- actions and rewards ------------------------------------------------------------
    def idle(self, model: WorkshopModel) -> np.ndarray:
        """Cobots whose worker is away (break or helping a colleague)."""
        return ~model.present[model.cobot_station]

    def default_action(self) -> np.ndarray:
        """The reduced (always safe) speed, the fixed assistance share and focus."""
        c = self.config.cobots
        speed = np.floor(1000 * c.v_reduced / c.v_max) / 1000
        return np.array([speed, c.fixed_assistance, c.fixed_focus], dtype=np.float32)

    def apply_actions(self, model: WorkshopModel, actions: list[Any]) -> np.ndarray:
        """Set every cobot's speed, share and focus; in-bounds continuous actions are always valid.

        A setting takes effect while the worker is at the station; an idle cobot keeps it.
        """
        acts = np.stack([np.asarray(a, dtype=float) for a in actions])
        model.set_cobot_actions(acts[:, 0], acts[:, 1], acts[:, 2])
        return np.zeros(len(actions), dtype=bool)

    def rewards(self, model: WorkshopModel) -> np.ndarray:
        """Own station's output and worker well-being, mixed with the cell's output."""
        r, m = self.config.rewards, model
        st = m.cobot_station
        own = (
            r.output * m.completed[st]
            + r.wellbeing * m.utility[st]
            - r.fatigue * m.combined_fatigue[st] * m.dt
            - r.safety * m.violations_tick[st]
        )
        team = r.output * m.done_tick[m.layout.cell[st]]
        return (1.0 - r.cooperation) * own + r.cooperation * team

    def heuristic_actions(self, model: WorkshopModel, policy: str, rng: np.random.Generator) -> list[np.ndarray]:
        """Actions of a heuristic cobot policy (scenarios.workshop.heuristics)."""
        return list(heuristics.actions(model, policy))

    # ---- reporting ----------------------------------------------------------------------
    def summary(self, model: WorkshopModel) -> dict[str, float]:
        """The shift's metrics (scenarios.workshop.metrics.summary)."""
        from scenarios.workshop.metrics import summary

        return summary(model)

    def occupancy(self, model: WorkshopModel) -> tuple[np.ndarray, list[str]]:
        """Jobs waiting per station per tick (the run folder's heatmap)."""
        n = model.layout.n_stations
        hist = model.buffer_history or [model.input_level]
        return np.array(hist), [f"station {i}" for i in range(n)]

    def render_text(self, model: WorkshopModel) -> str:
        """One line per station: jobs waiting, state, machine, worker, cobot."""
        return render.text(model)

    def render_rgb(self, model: WorkshopModel) -> np.ndarray:
        """Stations coloured by worker fatigue, down machines crossed, jobs waiting before each."""
        return render.rgb(model)


def parallel_env(**kwargs: Any) -> CPSSParallelEnv:
    """The workshop as a PettingZoo ParallelEnv (kwargs as for ``scenarios.make``)."""
    from scenarios.registry import make

    return make("workshop", **kwargs)


def env(**kwargs: Any):
    """The workshop as a PettingZoo AEC env, with the order-enforcing and bounds wrappers."""
    return aec_from_parallel(parallel_env(**kwargs))

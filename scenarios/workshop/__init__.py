"""Workshop: cobots personalising collaboration with workers on a production line.

The seed's second CPSS, a cobotic production system (smart workshop):
``pa = f(u, x_pa, cr, cx, env)`` with the worker ``u``, the cobot ``x_pa``, the team ``cr``,
the shift and order book ``cx`` and the shop floor ``env``.

| | |
|---|---|
| Import | `scenarios.make("workshop")`, `scenarios.workshop.parallel_env()`, `.env()` (AEC) |
| Configs | `workshop-small` (one 6-station line, 6 workers, 2 technicians + 1 engineer, 6 cobots, 8 h at 1 min/tick), `workshop-large` (24 stations in 4 cells, 24 workers, 6 technicians + 2 engineers, 24 cobots) |
| Agents | `cobot_0` … `cobot_{K-1}`, one per station it stands at (`cobots.stations`; default one per station) |
| Actions | `Box(0, 1, (2,), float32)`: `[speed, assistance]`; speed × `cobots.v_max` is the TCP speed (m/s), assistance the share of each job the cobot takes over |
| Default action | `[v_reduced / v_max, fixed_assistance]` (0.166, 0.3): at the ISO 10218-1 reduced speed, never a safety violation |
| Mask | none (continuous actions; `infos` carry no `action_mask`) |
| Observation | `Box(0, 1, (26,), float32)`, layout below |
| State | `Box(0, 1, (13·S + cells + 7,))`: per station the true buffer fill, busy, blocked, progress, machine up, worker present, distance, physical and mental fatigue, true preferred speed and share, trust, skill; the order book per cell; the context |
| Reward | per cobot and tick: `(1 − cooperation) · own + cooperation · output · jobs finished by its cell`, with `own = output · jobs its station finished + wellbeing · f-utility of its worker − fatigue · worker fatigue − safety · violation` |
| Idle | `infos[agent]["idle"]` while its worker is away (break, helping a colleague): the setting has no effect then |
| Episode | one shift; truncation at its end (`terminations` are always False) |

## The five terms of f, with workshop meanings
| term | museum meaning | workshop meaning (inputs of `cpss.kit.personalisation`) |
|---|---|---|
| user `u` | interest match × attention × novelty | match = 1 − comfort mismatch (speed and share vs the worker's true preference), attention = 1 − fatigue, exposure = hours since the last break (monotony) |
| personaliser `x_pa` | guide's content × trust | assistance share × trust × `f.assist_value` |
| crowd `cr` | social proof − congestion − queueing | colleagues helping at the station (support) − input buffer fill above `f.pressure_fill` − minutes starved or blocked |
| context `cx` | events − noise | break (bonus) − noise and heat |
| environment `env` | attraction − walking | machine up − minutes fetching shared tools or helping elsewhere |

## Entities and dynamics (scenarios/workshop/world.py, handles in workshop_entities.py)
* **Stations** on a networkx graph: one line, or cells of lines; a buffer of
  `floor.buffer_capacity` jobs before each station (blocking after service); the first station
  of a cell pulls from the cell's order book. Machines fail while producing (exponential
  uptime, MTBF = A·MTTR/(1 − A)) and wait for a free technician (or an engineer for process
  faults); repairs are Erlang. Jobs of a cell flow first in, first out.
* **Workers** (one per station): skill per task type on a Wright curve (85%) with a plateau,
  improving with each job's manual share; physical and mental fatigue with the exact 3CC-r
  update (grows with load, pace, heat and cobot speed above preference near the worker;
  recovers faster at rest); true and stated preferences for cobot speed and share; trust; a
  personal habit of working within the cobot's reach.
* **Team**: pooled technicians pulled away by breakdowns; idle workers help an overloaded
  neighbour; paces drift toward the cell's mean (Mas & Moretti); shared tool kits per cell.
* **Context**: breaks (10/30/10 min), order rate with two demand peaks, noise rising with
  running machines, temperature rising mid-shift.
* **Work sharing**: with `H` the worker's and `C` the cobot's minutes for a whole job (`C`
  falls with speed, saturating), a job takes `max((1 − a)·H, H·C / (H + C))`; the cobot's
  realised share is `min(a, H / (H + C))`, and the worker's physical load falls with it.
  Assistance beyond that balanced share only changes comfort.
* **Safety** (speed and separation): a cobot moving faster than `cobots.v_reduced` while the
  worker is nearer than the protective separation `S_p(v)` counts one violation per minute and
  makes a protective stop (`cobots.stop_loss` of the minute lost, trust drop, startle).

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
| 9 | `fatigue_physical` | wearable estimate of physical fatigue |
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
fatigue (and physical / mental now), comfort mismatch, safety violations, workload Gini, mean
satisfaction, trust, availability, starved and blocked shares, failures, helping minutes
(`scenarios.workshop.metrics`). Run folders plot throughput, WIP, fatigue, violations and
mismatch, and a heatmap of jobs waiting per station.

## Heuristic cobots
* `fixed` — the same setting all shift (`cobots.fixed_speed`, default the reduced speed;
  `cobots.fixed_assistance`), blind to the worker.
* `preference` — the worker's stated preference, slowed to the reduced speed whenever the
  sensed distance is inside `S_p` + `cobots.guard_margin`.
* `fatigue_adaptive` — as `preference`, but with the wearable's fatigue estimate `F̂` the share
  rises to `a + gain·F̂·(1 − a)` and the speed falls to `v·(1 − F̂/2)`.

Defaults and their sources: scenarios/workshop/config.py (descriptions ending in `[A]` are
assumptions) and shared/reference/calibration-workshop.md. Env contract: docs/envs.md.

## Version history
* v0: initial release.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from cpss.kit.env import CPSSParallelEnv, aec_from_parallel
from cpss.kit.render import figure_to_rgb
from cpss.kit.scenario import Scenario
from scenarios.workshop import dynamics as dyn
from scenarios.workshop import heuristics
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
    ("fatigue_physical", "wearable estimate of physical fatigue"),
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
        m = model
        lines = [
            f"workshop — minute {m.minute:.0f} of {m.day_minutes:.0f}"
            f"{' (break)' if m.on_break else ''}; done {int(m.done.sum())}, WIP {m.wip}, "
            f"order book {int(m.backlog.sum())}"
        ]
        for i in range(m.layout.n_stations):
            state = "blocked" if m.blocked[i] else "busy" if m.busy[i] else "idle"
            machine = "up" if m.up[i] else "DOWN"
            cobot = f"cobot v={m.speed[i]:.2f} a={m.assist[i]:.2f}" if m.has_cobot[i] else "no cobot"
            warn = " VIOLATION" if m.violation[i] else ""
            lines.append(
                f"station {i:>2} [{int(m.input_level[i]):>3}] {state:<7} {machine:<4} "
                f"fatigue {m.combined_fatigue[i]:.2f} dist {m.distance[i]:.1f} m "
                f"{cobot}{warn}"
            )
        return "\n".join(lines)

    def render_rgb(self, model: WorkshopModel) -> np.ndarray:
        """Stations coloured by worker fatigue, down machines crossed, jobs waiting before each."""
        import matplotlib.pyplot as plt  # after cpss.kit.render selected the Agg backend

        m = model
        xy = m.layout.xy
        fig, ax = plt.subplots(figsize=(7, 1.2 + 1.0 * m.n_cells), dpi=80)
        for u, v in m.layout.graph.edges:
            ax.plot(xy[[u, v], 0], xy[[u, v], 1], color="0.8", lw=2, zorder=1)
        sc = ax.scatter(
            xy[:, 0],
            xy[:, 1],
            c=m.combined_fatigue,
            cmap="RdYlGn_r",
            vmin=0,
            vmax=1,
            s=400,
            marker="s",
            edgecolors="k",
            zorder=2,
        )
        down = ~m.up
        ax.scatter(xy[down, 0], xy[down, 1], marker="x", s=250, c="k", zorder=3)
        for i in range(m.layout.n_stations):
            ax.annotate(
                str(int(m.input_level[i])),
                xy[i] + np.array([-0.45, 0.0]),
                ha="center",
                va="center",
                fontsize=7,
                zorder=3,
            )
        ax.set_xlim(-0.9, xy[:, 0].max() + 0.5)
        ax.set_ylim(xy[:, 1].min() - 0.5, 0.5)
        fig.colorbar(sc, ax=ax, label="fatigue")
        ax.set_title(f"minute {m.minute:.0f}: done {int(m.done.sum())}, WIP {m.wip}")
        ax.set_axis_off()
        fig.tight_layout()
        return figure_to_rgb(fig)


def parallel_env(**kwargs: Any) -> CPSSParallelEnv:
    """The workshop as a PettingZoo ParallelEnv (kwargs as for ``scenarios.make``)."""
    from scenarios.registry import make

    return make("workshop", **kwargs)


def env(**kwargs: Any):
    """The workshop as a PettingZoo AEC env, with the order-enforcing and bounds wrappers."""
    return aec_from_parallel(parallel_env(**kwargs))

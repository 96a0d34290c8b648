"""The workers' side of a workshop tick: fatigue, trust, preferences, well-being; shifts and rotation.

Functions of a :class:`scenarios.workshop.world.WorkshopModel` that update its worker arrays
in place (all stations at once):

* :func:`update` — after the work of a tick: 3CC-r fatigue per body region (work, then rest,
  within the tick), mental fatigue (time on task, stress from a cobot faster than liked close
  by, being pushed above one's pace, startle at stops and violations), trust (toward the
  cobot's fit to the worker's preferences, up with each assisted job done, down with stops,
  violations and cobot errors), preferences drifting toward the setting experienced while
  nothing goes wrong, and the utility of ``f``;
* :func:`overnight` — between shifts of a multi-shift episode: fatigue recovers, a share of
  experience is forgotten;
* :func:`rotate` — workers move one station down their cell, carrying their own state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scenarios.workshop import dynamics as dyn
from scenarios.workshop import ergonomics as erg

if TYPE_CHECKING:
    from scenarios.workshop.world import WorkshopModel

WORKER_ARRAYS = (
    "pace_nat",
    "pref_speed",
    "pref_assist",
    "stated_speed",
    "stated_assist",
    "sensitivity",
    "near_share",
    "persistence",
    "near_dist",
    "far_dist",
    "fatigue_mult",
    "recovery_mult",
    "experience",
    "trust",
    "mf",
    "F",
    "R",
    "phys",
    "mental",
    "satisfaction",
    "work_minutes",
)
"""Per-worker rows that move with a worker when the team rotates."""


def update(m: WorkshopModel) -> None:
    """Fatigue, trust, preferences and well-being after the tick's work (see the module docstring)."""
    cfg, dt = m.config, m.dt
    w, fa = cfg.workers, cfg.fatigue
    helping = m.helping >= 0
    # local fatigue: the worker's own sub-tasks (or the helped station's manual job), then rest
    own = m.own_load
    helped = m.manual_loads[np.maximum(m.helping, 0)]
    load = np.where(helping[:, None], helped, own) * (1.0 + w.heat_load * m.heat)
    tick_s = 60.0 * dt
    work_s = tick_s * np.where(helping, 1.0, m.worker_duty)
    m.mf = erg.work_rest_step(m.mf, load, work_s, tick_s - work_s, F=m.F, R=m.R, r=fa.rest_multiplier)
    m.phys = m.mf.max(axis=1)
    # mental fatigue
    work = work_s / tick_s
    speed = np.where(m.has_cobot & m.present, m.speed, 0.0)
    drive = dyn.mental_drive(
        work, speed, m.pref_speed, m.distance, m.sensitivity, np.where(helping, 0.0, m.pace_excess)
    )
    m.mental = dyn.fatigue_step(
        m.mental,
        drive,
        1.0 - work,
        dt,
        rate=w.mental_rate * m.fatigue_mult,
        recovery=w.mental_recovery * m.recovery_mult,
        rest_mult=w.mental_rest_multiplier,
    )
    m.mental = np.clip(m.mental + w.stop_startle * m.stops_tick + w.violation_startle * m.violations_tick, 0.0, 1.0)
    # trust and preferences
    m.collaborating = m.has_cobot & (m.work_share > 0)
    m.mismatch = np.where(m.collaborating, dyn.comfort_mismatch(m.speed, m.assist, m.pref_speed, m.pref_assist), 0.0)
    assisted = m.completed & (m.assist_eff > 0)
    learn = w.trust_lr * dt * m.collaborating
    m.trust = np.clip(
        m.trust
        + learn * (1.0 - m.mismatch - m.trust)
        + w.success_trust_gain * assisted
        - w.stop_trust_drop * m.stops_tick
        - w.violation_trust_drop * m.violations_tick
        - w.error_trust_drop * m.cobot_error,
        0.0,
        1.0,
    )
    calm = m.collaborating & (m.stops_tick == 0) & (m.violations_tick == 0)
    drift = w.pref_adapt * dt / 60.0 * calm
    m.pref_speed = np.clip(m.pref_speed + drift * (m.speed - m.pref_speed), 0.05, 1.0)
    m.pref_assist = np.clip(m.pref_assist + drift * (m.assist - m.pref_assist), 0.0, 0.9)
    m.pref_speed = np.where(m.violation, 0.8 * m.pref_speed, m.pref_speed)
    # well-being (f)
    idle = m.present & (m.work_share <= 0)
    cap = cfg.floor.buffer_capacity
    m.utility = dt * m.f.utility(
        match=1.0 - m.mismatch,
        attention=1.0 - np.maximum(m.phys, m.mental),
        exposure=np.full(m.phys.shape, max(0.0, m.minute - m.last_rest) / 60.0),
        trust=m.trust,
        guided=np.where(m.collaborating, m.assist_eff, 0.0),
        viewers=m.helpers,
        density=np.minimum(m.input_level / cap, 2.0),
        queue_wait=dt * idle,
        noise=np.full(m.phys.shape, min(1.0, m.noise + m.heat)),
        event=np.full(m.phys.shape, float(m.on_break)),
        attraction=m.up.astype(float),
        walk_min=dt * helping + cfg.team.tool_wait * m.waited_tool,
    )
    m.satisfaction += m.utility
    m.work_minutes += dt * work


def overnight(m: WorkshopModel) -> None:
    """Between two shifts: full recovery of fatigue, a share of experience forgotten, rotation."""
    m.mf[:] = 0.0
    m.phys[:] = 0.0
    m.mental[:] = 0.0
    m.experience *= 1.0 - m.config.workers.forgetting
    if m.config.team.rotation:
        rotate(m)


def rotate(m: WorkshopModel) -> None:
    """Every worker moves one station down their cell (the last to the first), with their state."""
    lay = m.layout
    per = lay.n_stations // m.n_cells
    src = lay.cell * per + (lay.position - 1) % per  # station i now holds the worker from src[i]
    for name in WORKER_ARRAYS:
        arr = getattr(m, name)
        setattr(m, name, arr[src].copy())

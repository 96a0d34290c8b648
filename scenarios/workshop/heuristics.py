"""Heuristic cobot policies of the workshop (what a careful integrator would program).

Each reads only what a cobot could sense (the noisy proximity sensor, the wearable's fatigue
estimate, the worker's stated preferences) and returns ``(speed, assistance, focus)`` per cobot.
Their trade-offs, measured over paired shifts, are in docs/experiments/workshop-tradeoffs.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scenarios.workshop import dynamics as dyn
from scenarios.workshop import ergonomics as erg
from scenarios.workshop import safety as sf

if TYPE_CHECKING:
    from scenarios.workshop.world import WorkshopModel

POLICIES = ("fixed", "preference", "fatigue_adaptive", "separation")
"""Names of the heuristic policies, in the order of the docs."""
NEAR_M = 1.0
"""Sensed distance (m) under which a worker counts as in the shared zone."""
SHARES = np.linspace(0.0, 0.8, 17)
"""Assistance shares the balancing heuristic considers."""


def _fatigue_estimate(m: WorkshopModel, st: np.ndarray) -> np.ndarray:
    n = m.layout.n_stations
    return np.clip(np.maximum(m.wearable_reading[st], m.wearable_reading[n + st]), 0.0, 1.0)


def separation_speed(m: WorkshopModel, st: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``wanted`` speed, capped so that no sensed entry can cause a violation.

    A worker sensed near (within ``NEAR_M`` plus the guard margin) caps the speed at the lower
    force-limited speed of the body regions that could be touched (chest), where contact is
    allowed; a worker farther away caps it where the protective separation plus the margin
    still fits in the sensed distance (a walk-in then makes a protective stop, not a violation),
    but never below that force-limited speed.
    """
    c = m.config.cobots
    d = m.proximity_reading[st] - c.guard_margin
    grid = np.linspace(0.0, 1.0, 101)
    v = grid * c.v_max
    t_stop = sf.stopping_time(v, t_min=c.t_stop_min, t_max=c.t_stop_max, v_max=c.v_max)
    sp = sf.protective_separation(v, t_react=c.t_react, t_stop=t_stop, intrusion=c.intrusion)
    fits = np.where(sp[None, :] <= d[:, None], grid[None, :], 0.0).max(axis=1)
    pfl = m.pfl_speed
    cap = np.where(d < NEAR_M, pfl, np.maximum(fits, pfl))
    return np.minimum(wanted, cap)


def balanced_share(m: WorkshopModel, st: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """The assistance share (quickest sub-tasks first) that makes a job shortest at ``speed``.

    Estimates the worker's minutes per job from the station's cycle time and the worker's skill
    (both observed; natural pace taken as 1) and the cobot's from its speed, and picks the share
    in :data:`SHARES` minimising ``max(worker part, cobot part)`` (ties: the larger share).
    """
    c, w, lay = m.config.cobots, m.config.workers, m.layout
    k, g = st.size, SHARES.size
    human = lay.cycle[st] * dyn.time_multiplier(
        m.experience[st, lay.task[st]], progress_ratio=w.learning_rate, plateau=w.plateau
    )
    cobot = lay.cycle[st] * c.time_ratio / np.maximum(dyn.speed_factor(speed, c.speed_half), 1e-6)
    rows = np.repeat(st, g)
    x = erg.allocate(np.tile(SHARES, k), np.zeros(k * g), m.share[rows], m.loads[rows], m.factor[rows])
    h_frac, c_frac = erg.split_times(x, m.share[rows], m.factor[rows])
    job = np.maximum(h_frac * np.repeat(human, g), c_frac * np.repeat(cobot, g)).reshape(k, g)
    best = g - 1 - np.argmin(job[:, ::-1] * (1 + 1e-9), axis=1)
    return SHARES[best]


def actions(m: WorkshopModel, policy: str) -> np.ndarray:
    """(K, 3) actions of ``policy`` for every cobot.

    Raises:
        ValueError: Unknown policy.
    """
    c = m.config.cobots
    st = m.cobot_station
    k = st.size
    if policy == "fixed":
        speed = np.full(k, m.safe_speed if c.fixed_speed is None else c.fixed_speed)
        assist = np.full(k, c.fixed_assistance)
        focus = np.full(k, c.fixed_focus)
    elif policy in ("preference", "fatigue_adaptive"):
        speed, assist, focus = m.stated_speed[st].copy(), m.stated_assist[st].copy(), np.zeros(k)
        if policy == "fatigue_adaptive":
            est = _fatigue_estimate(m, st)
            ramp = np.clip((est - c.adaptive_onset) / max(1.0 - c.adaptive_onset, 1e-9), 0.0, 1.0)
            assist = assist + c.adaptive_gain * ramp * (1.0 - assist)
            focus = np.clip(2.0 * est, 0.0, 1.0)
        near = m.proximity_reading[st] < NEAR_M + c.guard_margin
        speed = np.where(near, np.minimum(speed, m.pfl_speed), speed)
    elif policy == "separation":
        speed = separation_speed(m, st, np.full(k, m.limit_arm / c.v_max))
        assist, focus = balanced_share(m, st, speed), np.zeros(k)
    else:
        raise ValueError(f"unknown heuristic policy {policy!r}; choose from {', '.join(POLICIES)}")
    return np.clip(np.stack([speed, assist, focus], axis=1), 0.0, 1.0).astype(np.float32)

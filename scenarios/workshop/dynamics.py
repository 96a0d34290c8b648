"""Pure array kernels of the smart workshop: safety, fatigue, learning, pace, line, context.

Each function is a pure function of numpy arrays and scalars (randomness only through a
generator passed in), so the table tests in tests/test_workshop.py pin the rules down one by
one. Sources of the constants are in shared/reference/calibration-workshop.md (§ numbers below).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

if TYPE_CHECKING:
    from scenarios.workshop.config import WorkersSection

# ---------------------------------------------------------------- cobot


def speed_factor(speed: np.ndarray, half: float) -> np.ndarray:
    """Cobot work rate at ``speed`` in [0, 1] relative to full speed: ``v·(1 + h) / (v + h)``.

    A cobot cycle is a fixed part (grasping, processing) plus motion at speed ``v``; ``h`` is
    the speed at which motion takes as long as the fixed part. 0 at rest, 1 at full speed.
    """
    v = np.clip(np.asarray(speed, dtype=float), 0.0, 1.0)
    return v * (1.0 + half) / (v + half)


# ---------------------------------------------------------------- worker: fatigue, skill, comfort


def fatigue_step(
    fatigue: np.ndarray,
    load: np.ndarray,
    rest_share: np.ndarray,
    dt: float,
    *,
    rate: np.ndarray | float,
    recovery: np.ndarray | float,
    rest_mult: float,
) -> np.ndarray:
    """Exact update of ``df/dt = rate·load − R·f`` over ``dt`` minutes, clipped to [0, 1].

    Used for mental fatigue (physical fatigue is per body region in
    :mod:`scenarios.workshop.ergonomics`). The form of 3CC-r: recovery is faster at rest,
    ``R = recovery · (1 + (rest_mult − 1) · rest_share)``. The exact exponential
    ``f∞ + (f − f∞)·exp(−R·dt)`` with ``f∞ = rate·load / R`` is stable for any tick length.

    Args:
        fatigue: Current fatigue in [0, 1].
        load: Load during the tick (1 = nominal manual work, 0 = rest).
        rest_share: Share of the tick spent resting (breaks, waiting), in [0, 1].
        dt: Tick length in minutes.
        rate: Fatigue rate per minute at load 1.
        recovery: Recovery rate per minute under load.
        rest_mult: Recovery multiplier at full rest (``r``).

    Returns:
        The new fatigue in [0, 1].
    """
    r_eff = np.asarray(recovery, dtype=float) * (1.0 + (rest_mult - 1.0) * np.asarray(rest_share))
    target = np.asarray(rate, dtype=float) * np.asarray(load, dtype=float) / r_eff
    out = target + (np.asarray(fatigue, dtype=float) - target) * np.exp(-r_eff * dt)
    return np.clip(out, 0.0, 1.0)


def wright_exponent(progress_ratio: float) -> float:
    """Learning exponent ``b = −log₂(LR)`` (0.234 for an 85% curve)."""
    return float(-np.log2(progress_ratio))


def time_multiplier(experience: np.ndarray, *, progress_ratio: float, plateau: float) -> np.ndarray:
    """Unit time relative to a novice's: ``plateau + (1 − plateau)·(1 + n)^(−b)`` (§2)."""
    b = wright_exponent(progress_ratio)
    return plateau + (1.0 - plateau) * (1.0 + np.asarray(experience, dtype=float)) ** (-b)


def skill_level(experience: np.ndarray, *, progress_ratio: float) -> np.ndarray:
    """Skill in [0, 1): ``1 − (1 + n)^(−b)``, the share of learnable time already learnt."""
    return 1.0 - (1.0 + np.asarray(experience, dtype=float)) ** (-wright_exponent(progress_ratio))


def comfort_mismatch(
    speed: np.ndarray, assist: np.ndarray, pref_speed: np.ndarray, pref_assist: np.ndarray
) -> np.ndarray:
    """Distance of the cobot's behaviour from the worker's preference, in [0, 1]."""
    return 0.5 * (np.abs(speed - pref_speed) + np.abs(assist - pref_assist))


def mental_drive(
    work_share: np.ndarray,
    speed: np.ndarray,
    pref_speed: np.ndarray,
    distance: np.ndarray,
    sensitivity: np.ndarray,
    pace_excess: np.ndarray,
    *,
    base: float = 0.5,
    speed_weight: float = 2.0,
    pace_weight: float = 5.0,
    d0: float = 0.5,
) -> np.ndarray:
    """Mental load of a tick: time on task plus stress from speed and pace (§4).

    ``work_share · (base + sensitivity·speed_weight·max(0, v − v_pref)·exp(−d/d0)
    + pace_weight·max(0, pace_excess))``: a cobot faster than the worker likes stresses more
    when it is close (Kato & Arai 2009; Story et al. 2022); being pushed above one's own pace
    by the team adds load. Constants are assumptions.
    """
    proximity = np.exp(-np.asarray(distance, dtype=float) / d0)
    over = np.maximum(0.0, np.asarray(speed) - np.asarray(pref_speed))
    return work_share * (
        base + sensitivity * speed_weight * over * proximity + pace_weight * np.maximum(0.0, pace_excess)
    )


def error_probability(fatigue: np.ndarray, base: float, beta: float = 0.6) -> np.ndarray:
    """Chance a job needs rework: ``p₀ + (β·F)⁶`` (Givi-style, §9.2)."""
    return np.clip(base + (beta * np.asarray(fatigue, dtype=float)) ** 6, 0.0, 1.0)


# ---------------------------------------------------------------- team


def peer_pace(pace: np.ndarray, upstream: np.ndarray, downstream: np.ndarray, elasticity: float) -> np.ndarray:
    """Effort multiplier from visible coworkers (the neighbours up and down the line).

    ``1 + e·max(0, p̄_neighbours / p − 1)``: a worker slower than the neighbours they see
    speeds up by ``e`` per unit of relative gap (Mas & Moretti 2009: +1.7% effort per +10% of
    coworker productivity, mostly among the less productive); a faster worker does not slow
    down. A worker with no neighbour keeps their pace.
    """
    p = np.asarray(pace, dtype=float)
    has_up, has_dn = upstream >= 0, downstream >= 0
    total = np.where(has_up, p[np.maximum(upstream, 0)], 0.0) + np.where(has_dn, p[np.maximum(downstream, 0)], 0.0)
    count = has_up.astype(float) + has_dn
    gap = np.where(count > 0, total / np.maximum(count, 1.0) / p - 1.0, 0.0)
    return 1.0 + elasticity * np.maximum(gap, 0.0)


def line_capacity(
    layout: Layout, prior_jobs: float, availability: float, progress_ratio: float, plateau: float, working_share: float
) -> np.ndarray:
    """(cells,) jobs per shift minute each cell's manual line can make.

    The bottleneck's rate at median skill, times the zero-buffer line efficiency
    ``1 / (1 + Σ MTTR/MTBF)`` (Buzacott; calibration §5, ``MTTR/MTBF = (1 − A)/A``), times the
    share of the shift that is worked (breaks). The order rate is ``context.order_load`` times
    this (calibration §9.1: 0.9); buffers and cobots make the real line a little faster.
    """
    unit = layout.cycle * time_multiplier(np.asarray(prior_jobs), progress_ratio=progress_ratio, plateau=plateau)
    cells = int(layout.cell.max()) + 1
    worst = np.zeros(cells)
    np.maximum.at(worst, layout.cell, unit)
    per_cell = np.bincount(layout.cell, minlength=cells)
    efficiency = 1.0 / (1.0 + per_cell * (1.0 - availability) / availability)
    return working_share * efficiency / worst


def tool_waits(needing: np.ndarray, cell: np.ndarray, priority: np.ndarray, tools: int) -> np.ndarray:
    """Stations that find no free shared tool: per cell, all but the ``tools`` first by priority.

    Args:
        needing: (S,) bool, stations that need a shared tool this tick.
        cell: (S,) cell of each station.
        priority: (S,) random keys; lower goes first.
        tools: Tool kits per cell.

    Returns:
        (S,) bool, stations that wait.
    """
    idx = np.flatnonzero(needing)
    order = idx[np.lexsort((priority[idx], cell[idx]))]
    cells = cell[order]
    rank = np.arange(order.size) - np.searchsorted(cells, cells, side="left")
    out = np.zeros(needing.shape[0], dtype=bool)
    out[order[rank >= tools]] = True
    return out


# ---------------------------------------------------------------- context


def in_windows(minute: float, windows: Sequence[tuple[float, float]]) -> bool:
    """True while ``start <= minute < end`` for one of the windows."""
    return any(s <= minute < e for s, e in windows)


def next_start(minute: float, windows: Sequence[tuple[float, float]]) -> float:
    """Minutes until the next window starts (inf if none is left)."""
    ahead = [s - minute for s, _ in windows if s > minute]
    return min(ahead) if ahead else float("inf")


def demand_factor(minute: float, peaks: Sequence[tuple[float, float, float]]) -> float:
    """Order-rate multiplier at ``minute``: the product of the active peaks' factors."""
    out = 1.0
    for s, e, factor in peaks:
        if s <= minute < e:
            out *= factor
    return out


def temperature(minute: float, day_minutes: float, start: float, rise: float) -> float:
    """Shop-floor temperature: ``start + rise·sin(π·t / day)`` (warmest mid-shift) [A]."""
    return start + rise * float(np.sin(np.pi * min(max(minute / day_minutes, 0.0), 1.0)))


# ---------------------------------------------------------------- layout


def lognormal_mean_one(rng: np.random.Generator, cv: float, size: int | tuple[int, ...]) -> np.ndarray:
    """Lognormal draws with mean 1 and coefficient of variation ``cv``."""
    sigma = np.sqrt(np.log1p(cv**2))
    return np.exp(sigma * rng.standard_normal(size) - 0.5 * sigma**2)


@dataclasses.dataclass(frozen=True)
class Layout:
    """Stations in cells; each cell is a line from its first to its last station."""

    graph: nx.Graph
    cell: np.ndarray  # (S,) cell of each station
    position: np.ndarray  # (S,) index within the cell
    upstream: np.ndarray  # (S,) previous station, -1 for the first of a cell
    downstream: np.ndarray  # (S,) next station, -1 for the last of a cell
    xy: np.ndarray  # (S, 2) drawing positions
    task: np.ndarray  # (S,) task type
    cycle: np.ndarray  # (S,) nominal manual minutes per job

    @property
    def n_stations(self) -> int:
        """Number of stations."""
        return int(self.cell.shape[0])


def build_layout(
    rng: np.random.Generator, stations: int, cells: int, task_types: int, cycle_time: float, cycle_cv: float
) -> Layout:
    """``cells`` lines of ``stations / cells`` stations on a networkx path graph per cell.

    Flow edges join consecutive stations of a cell; cells lie side by side (aisle edges join
    stations at the same position in neighbouring cells, for drawing and the Mesa space).
    Cycle times are lognormal with mean ``cycle_time`` and coefficient of variation ``cycle_cv``.
    """
    per = stations // cells
    idx = np.arange(stations)
    cell, position = idx // per, idx % per
    upstream = np.where(position > 0, idx - 1, -1)
    downstream = np.where(position < per - 1, idx + 1, -1)
    graph = nx.Graph()
    graph.add_nodes_from(range(stations))
    graph.add_edges_from((int(i), int(i) + 1) for i in idx[downstream >= 0])
    graph.add_edges_from((int(i), int(i) + per) for i in idx[cell < cells - 1])
    cycle = cycle_time * lognormal_mean_one(rng, cycle_cv, stations)
    xy = np.stack([position, -cell], axis=1).astype(float)
    return Layout(
        graph=graph,
        cell=cell,
        position=position,
        upstream=upstream,
        downstream=downstream,
        xy=xy,
        task=idx % task_types,
        cycle=cycle,
    )


# ---------------------------------------------------------------- roster


@dataclasses.dataclass
class Roster:
    """Per-worker traits (index = station): the users of the workshop."""

    pace_nat: np.ndarray  # natural pace (mean 1)
    pref_speed: np.ndarray  # true preferred cobot speed in [0, 1]
    pref_assist: np.ndarray  # true preferred assistance share
    stated_speed: np.ndarray  # what the worker said (questionnaire noise)
    stated_assist: np.ndarray
    sensitivity: np.ndarray  # stress from speed above preference (lognormal, mean 1)
    near_share: np.ndarray  # share of minutes spent within the cobot's reach
    persistence: np.ndarray  # chance a proximity phase carries on for another minute
    near_dist: np.ndarray  # typical distance (m) when near
    far_dist: np.ndarray  # typical distance (m) when away from the shared zone
    fatigue_mult: np.ndarray  # individual multipliers of fatigue and recovery rates
    recovery_mult: np.ndarray
    experience: np.ndarray  # (S, task types) jobs done before
    trust: np.ndarray  # initial trust in the cobot


def sample_roster(rng: np.random.Generator, n: int, task_types: int, w: WorkersSection) -> Roster:
    """Draw ``n`` workers from the population described by ``w`` (calibration §9.2)."""
    pref_speed = np.clip(rng.normal(w.pref_speed, w.pref_sd, n), 0.05, 1.0)
    pref_assist = np.clip(rng.normal(w.pref_assistance, w.pref_sd, n), 0.0, 0.9)
    return Roster(
        pace_nat=lognormal_mean_one(rng, w.pace_cv, n),
        pref_speed=pref_speed,
        pref_assist=pref_assist,
        stated_speed=np.clip(pref_speed + w.stated_noise * rng.standard_normal(n), 0.0, 1.0),
        stated_assist=np.clip(pref_assist + w.stated_noise * rng.standard_normal(n), 0.0, 1.0),
        sensitivity=lognormal_mean_one(rng, w.speed_sensitivity_cv, n),
        near_share=np.clip(rng.normal(w.near_share, 0.15, n), 0.05, 0.95),
        persistence=np.clip(rng.normal(w.near_persistence, 0.1, n), 0.0, 0.97),
        near_dist=rng.uniform(0.3, 0.7, n),
        far_dist=rng.uniform(1.3, 2.5, n),
        fatigue_mult=lognormal_mean_one(rng, w.fatigue_cv, n),
        recovery_mult=lognormal_mean_one(rng, w.fatigue_cv, n),
        experience=w.prior_jobs * np.exp(w.prior_sigma * rng.standard_normal((n, task_types))),
        trust=np.clip(rng.normal(w.trust_mean, 0.15, n), 0.0, 1.0),
    )

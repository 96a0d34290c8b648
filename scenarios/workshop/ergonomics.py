"""Ergonomics of the workshop: 3CC-r fatigue per body region and sub-tasks shared with a cobot.

Pure array kernels (no randomness). Loads are target loads ``TL`` as a fraction of maximum
voluntary contraction (%MVC / 100) per body region; fatigue is the fatigued fraction ``MF``
of motor units of the three-compartment controller model with rest recovery (3CC-r: Xia &
Frey-Law 2008, Looft et al. 2018), with the joint constants of Frey-Law, Looft & Heitsman
2012 (calibration §1.1). Rates are per second.

A job is a few sub-tasks, each with a share of the job's manual time, a load on every body
region and a cobot time factor (how long the cobot needs for it, relative to the job's
average). The cobot takes over whole sub-tasks or parts of them (:func:`allocate`); the
worker does the rest at the loads of the sub-tasks left to them (:func:`worker_loads`).
"""

from __future__ import annotations

import numpy as np

REGIONS = ("shoulder", "grip", "trunk")
"""Body regions with their own fatigue state (columns of the region arrays)."""
SUBTASKS = ("fit", "fasten", "lift")
"""Sub-tasks of every job (rows of the sub-task arrays)."""


def fatigue_step(
    mf: np.ndarray, load: np.ndarray, seconds: np.ndarray | float, *, F: np.ndarray, R: np.ndarray, r: float
) -> np.ndarray:
    """Exact 3CC-r update of the fatigued fraction under a constant target load.

    With the worker tracking the load (``MA = TL`` while capacity allows),
    ``dMF/dt = F·TL − R_r·MF`` with ``R_r = R`` under load and ``r·R`` at rest (``TL = 0``);
    over ``Δ`` seconds ``MF ← MF∞ + (MF − MF∞)·exp(−R_r·Δ)`` with ``MF∞ = F·TL / R_r``
    (calibration §1.1, stable for any Δ).

    Args:
        mf: Fatigued fraction, (..., regions).
        load: Target load as a fraction of MVC, broadcastable to ``mf``.
        seconds: Duration, broadcastable to ``mf`` (per row: give shape (S, 1)).
        F: Fatigue rate per region (1/s).
        R: Recovery rate per region (1/s).
        r: Rest-recovery multiplier.

    Returns:
        The new fatigued fraction, clipped to [0, 1].
    """
    tl = np.asarray(load, dtype=float)
    rr = np.where(tl > 0.0, 1.0, r) * np.asarray(R, dtype=float)
    target = np.asarray(F, dtype=float) * tl / rr
    out = target + (np.asarray(mf, dtype=float) - target) * np.exp(-rr * np.asarray(seconds, dtype=float))
    return np.clip(out, 0.0, 1.0)


def work_rest_step(
    mf: np.ndarray, load: np.ndarray, work_s: np.ndarray, rest_s: np.ndarray, *, F: np.ndarray, R: np.ndarray, r: float
) -> np.ndarray:
    """A tick split into ``work_s`` seconds at ``load`` followed by ``rest_s`` seconds of rest.

    Args:
        mf: (S, regions) fatigued fraction.
        load: (S, regions) load while working.
        work_s: (S,) seconds of work.
        rest_s: (S,) seconds of rest.
        F: Fatigue rate per region (1/s).
        R: Recovery rate per region (1/s).
        r: Rest-recovery multiplier.

    Returns:
        (S, regions) fatigued fraction after the tick.
    """
    mid = fatigue_step(mf, load, np.asarray(work_s)[:, None], F=F, R=R, r=r)
    return fatigue_step(mid, 0.0, np.asarray(rest_s)[:, None], F=F, R=R, r=r)


def endurance_time(load: np.ndarray | float, *, F: float, R: float) -> np.ndarray:
    """Closed-form 3CC-r endurance time (s) of a sustained load from rested.

    ``ET = −ln(1 − R·(1 − TL) / (F·TL)) / R``; infinite at or below ``TL* = R / (F + R)``.
    """
    tl = np.asarray(load, dtype=float)
    arg = 1.0 - R * (1.0 - tl) / (F * np.maximum(tl, 1e-12))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(arg > 0.0, -np.log(np.maximum(arg, 1e-300)) / R, np.inf)


def capacity_factor(mf: np.ndarray, load: np.ndarray) -> np.ndarray:
    """Share of the required effort a worker can still give: ``min_r min(1, (1 − MF_r) / TL_r)``.

    Below 1 the worker has failed (3CC failure criterion ``MA + MR < TL``, i.e.
    ``MF > 1 − TL``) on at least one region and slows down to what the residual capacity allows.
    """
    tl = np.asarray(load, dtype=float)
    ratio = np.where(tl > 0.0, (1.0 - np.asarray(mf)) / np.maximum(tl, 1e-12), 1.0)
    return np.clip(ratio, 0.0, 1.0).min(axis=-1)


# ---------------------------------------------------------------- sub-tasks shared with the cobot


def task_tables(
    task: np.ndarray, share: np.ndarray, loads: np.ndarray, cobot_factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-station sub-task tables: task type ``t`` rolls the sub-task time shares by ``t``.

    Args:
        task: (S,) task type of each station.
        share: (K,) time shares of the sub-tasks for task type 0 (sum 1).
        loads: (K, regions) target load of each sub-task on each region.
        cobot_factor: (K,) cobot time on a sub-task relative to the job's average.

    Returns:
        ``(share (S, K), loads (S, K, regions), factor (S, K))``.
    """
    k = share.shape[0]
    idx = (np.arange(k)[None, :] - np.asarray(task)[:, None]) % k
    s = share[idx]
    return s, np.broadcast_to(loads, (s.shape[0], *loads.shape)), np.broadcast_to(cobot_factor, s.shape)


def priorities(loads: np.ndarray, factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S, K) heaviness (total load over regions) and quickness (``1 / cobot factor``), each scaled to its row maximum."""
    heavy = loads.sum(axis=-1)
    heavy = heavy / np.maximum(heavy.max(axis=-1, keepdims=True), 1e-12)
    quick = 1.0 / factor
    return heavy, quick / quick.max(axis=-1, keepdims=True)


def allocate(
    assist: np.ndarray, focus: np.ndarray, share: np.ndarray, loads: np.ndarray, factor: np.ndarray
) -> np.ndarray:
    """Share of each sub-task the cobot takes over, filling ``assist`` of the job's manual time.

    Sub-tasks are taken whole, in order of a priority that blends ergonomics and speed:
    ``focus·heaviness + (1 − focus)·quickness`` with heaviness the sub-task's total load over
    the body regions and quickness ``1 / cobot factor`` (each scaled to its maximum): ``focus = 1`` takes the
    heaviest sub-tasks first, ``focus = 0`` those the cobot does fastest.

    Args:
        assist: (S,) share of the job's manual time to take over, in [0, 1].
        focus: (S,) ergonomic focus in [0, 1].
        share: (S, K) sub-task time shares.
        loads: (S, K, regions) sub-task loads.
        factor: (S, K) cobot time factors.

    Returns:
        (S, K) share of each sub-task done by the cobot, in [0, 1].
    """
    heavy, quick = priorities(loads, factor)
    f = np.asarray(focus, dtype=float)[:, None]
    order = np.argsort(-(f * heavy + (1.0 - f) * quick), axis=-1, kind="stable")
    s = np.take_along_axis(share, order, axis=-1)
    before = np.cumsum(s, axis=-1) - s
    taken = np.clip((np.asarray(assist, dtype=float)[:, None] - before) / np.maximum(s, 1e-12), 0.0, 1.0)
    out = np.empty_like(taken)
    np.put_along_axis(out, order, taken, axis=-1)
    return out


def split_times(x: np.ndarray, share: np.ndarray, factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fractions of a job left to the worker (of their manual time) and given to the cobot.

    Returns:
        ``(human (S,), cobot (S,))``: ``Σ s_k·(1 − x_k)`` and ``Σ s_k·m_k·x_k``.
    """
    return (share * (1.0 - x)).sum(axis=-1), (share * factor * x).sum(axis=-1)


def shared_job(own: np.ndarray, cobot: np.ndarray, manual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minutes per job, and minutes the worker spends on the cobot's sub-tasks.

    Worker and cobot work on their parts in parallel (``own`` and ``cobot`` minutes; the
    cobot's part would take the worker ``manual`` minutes), and a worker who finishes first
    waits, resting. A worker who has waited as long as the whole job takes by hand
    (``H = own + manual``) joins the cobot on what is left: the job takes ``max(own, cobot)``
    while ``cobot ≤ H``, else ``H + (1 − H/cobot) / (1/cobot + 1/manual)``. Assistance thus
    helps until the cobot becomes the bottleneck, and a cobot that barely moves never stalls a
    job (at most ``H + manual`` minutes).
    """
    own, cobot, manual = (np.asarray(a, dtype=float) for a in (own, cobot, manual))
    start = own + manual
    late = cobot > start
    rate = 1.0 / np.maximum(cobot, 1e-12) + 1.0 / np.maximum(manual, 1e-12)
    joined = np.where(late, (1.0 - start / np.maximum(cobot, 1e-12)) / rate, 0.0)
    return np.where(late, start + joined, np.maximum(own, cobot)), joined


def worker_loads(x: np.ndarray, share: np.ndarray, loads: np.ndarray) -> np.ndarray:
    """(S, regions) mean load on each region while the worker works on the sub-tasks left to them.

    Sub-tasks alternate within seconds, so the tick uses their time-weighted mean load (a
    conservative simplification: the 3CC-r rest multiplier applies only to whole rests).
    """
    w = share * (1.0 - x)
    total = w.sum(axis=-1, keepdims=True)
    return (w[..., None] * loads).sum(axis=-2) / np.maximum(total, 1e-12)

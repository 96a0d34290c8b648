"""Collaborative safety of the workshop as physics: separation monitoring and force limiting.

Pure array kernels (ISO/TS 15066, ISO 13855, calibration §3). Inside a one-minute tick the
worker enters the cobot's workspace a few times (reach-ins from the shared zone, walk-ins from
farther away; the count is a Poisson draw). For each entry the cell's safety controller acts:

* **PFL** (power and force limiting): at or below the transient speed limit of the exposed
  body region the cobot keeps working; a contact would stay under the region's force limit.
* **SSM** (speed and separation monitoring): faster, the cobot makes a protective stop. It
  loses its reaction and stopping time, the restart delay and the time the worker stays in the
  workspace. A detected entry is always stopped in time (the monitor slows or holds the robot
  while the worker is inside ``S_p(v)``). An entry the monitor misses (occlusion, sensor
  dropout: ``miss`` per entry) that starts inside ``S_p(v)`` is stopped only when the worker
  is seen at contact range: the contact speed is computed, and a contact above the exposed
  region's limit is a **real violation**. A policy avoids violations by staying at or below the
  force-limited speed whenever the worker may be close.

Stopping time grows with speed (``T_s = t_min + (t_max − t_min)·v / v_max``), so stopping
distance grows faster than linearly.
"""

from __future__ import annotations

import numpy as np

HUMAN_NEAR = 2.0
"""Approach speed (m/s) for separations up to 0.5 m (ISO 13855, K = 2000 mm/s)."""
HUMAN_FAR = 1.6
"""Approach speed (m/s) beyond 0.5 m (ISO 13855, K = 1600 mm/s)."""
NEAR_LIMIT = 0.5
"""Separation (m) at which the approach speed switches (ISO 13855)."""


def stopping_time(v: np.ndarray | float, *, t_min: float, t_max: float, v_max: float) -> np.ndarray:
    """Robot stopping time (s) at TCP speed ``v``: linear from ``t_min`` at rest to ``t_max`` at ``v_max``."""
    return t_min + (t_max - t_min) * np.clip(np.asarray(v, dtype=float) / v_max, 0.0, None)


def protective_separation(
    v: np.ndarray | float, *, t_react: float, t_stop: np.ndarray | float, intrusion: float
) -> np.ndarray:
    """Protective separation distance ``S_p`` (m) of ISO/TS 15066 with ISO 13855 approach speeds.

    ``S_p = v_h·(T_r + T_s) + v_r·T_r + v_r·T_s / 2 + C`` (robot braking linearly, so its
    stopping distance is ``v_r·T_s / 2``). ``v_h`` is 2.0 m/s where that gives ``S_p ≤ 0.5 m``,
    else 1.6 m/s with ``S_p`` at least 0.5 m.

    Args:
        v: Robot TCP speed (m/s).
        t_react: Reaction time ``T_r`` (s).
        t_stop: Stopping time ``T_s`` (s) at that speed (see :func:`stopping_time`).
        intrusion: ``C + Z_d + Z_r`` (m).
    """
    v = np.asarray(v, dtype=float)
    robot = v * t_react + 0.5 * v * np.asarray(t_stop, dtype=float) + intrusion
    close = HUMAN_NEAR * (t_react + t_stop) + robot
    far = np.maximum(NEAR_LIMIT, HUMAN_FAR * (t_react + t_stop) + robot)
    return np.where(close <= NEAR_LIMIT, close, far)


def pfl_speed_limit(force: float, human_mass: float, stiffness: float, robot_mass: float, payload: float) -> float:
    """Highest transient contact speed (m/s) for a body region: ``v = F_T / √(μ·k)`` (ISO/TS 15066 A.3).

    Args:
        force: Transient force limit ``F_T`` of the region (N).
        human_mass: Effective mass of the region ``m_H`` (kg).
        stiffness: Effective spring constant ``k`` (N/mm).
        robot_mass: Total moving mass of the robot ``M`` (kg); ``m_R = M/2 + payload``.
        payload: Payload plus tool (kg).
    """
    m_r = robot_mass / 2.0 + payload
    mu = human_mass * m_r / (human_mass + m_r)
    return float(force / np.sqrt(mu * stiffness * 1000.0))


def contact_speed(
    v: np.ndarray, gap: np.ndarray, v_human: np.ndarray, *, t_react: float, t_stop: np.ndarray
) -> np.ndarray:
    """Robot speed (m/s) when a worker closing in from ``gap`` metres meets it; 0 if it stopped first.

    The robot keeps ``v`` for ``T_r``, then brakes linearly to rest over ``T_s``; the worker
    approaches at ``v_human``. Solves ``gap = v_h·t + x_robot(t)`` for the contact time.
    """
    v = np.asarray(v, dtype=float)
    g = np.maximum(np.asarray(gap, dtype=float), 0.0)
    ts = np.maximum(np.asarray(t_stop, dtype=float), 1e-9)
    closing = v_human + v
    first = g <= closing * t_react
    rest = g - closing * t_react
    a = v / (2.0 * ts)
    disc = np.maximum(closing**2 - 4.0 * a * rest, 0.0)
    tau = np.where(a > 0, (closing - np.sqrt(disc)) / np.maximum(2.0 * a, 1e-12), rest / np.maximum(closing, 1e-12))
    braking = np.where((disc > 0) & (tau <= ts), v * (1.0 - tau / ts), 0.0)
    return np.where(first, v, braking)


def poisson_count(u: np.ndarray, lam: np.ndarray, cap: int = 12) -> np.ndarray:
    """Poisson counts by inversion of one uniform each (keeps random streams aligned across policies)."""
    lam = np.asarray(lam, dtype=float)
    term = np.exp(-lam)
    cdf = term.copy()
    count = np.zeros(lam.shape, dtype=np.int64)
    for k in range(1, cap + 1):
        above = u > cdf
        if not above.any():
            break
        count += above
        term = term * lam / k
        cdf = cdf + term
    return count


def entries(
    v: np.ndarray,
    distance: np.ndarray,
    n: np.ndarray,
    limit: np.ndarray,
    u_miss: np.ndarray,
    *,
    miss: float,
    t_react: float,
    t_stop: np.ndarray,
    intrusion: float,
    stop_cost: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What ``n`` workspace entries from ``distance`` do to a cobot at ``v`` within one tick.

    Args:
        v: (S,) robot TCP speed (m/s).
        distance: (S,) worker's distance when an entry starts (m).
        n: (S,) entries this tick.
        limit: (S,) PFL speed limit of the exposed body region (m/s).
        u_miss: (S,) uniform draws: the tick has a missed entry where ``u_miss < 1 − (1 − miss)^n``.
        miss: Chance that the monitor misses an entry.
        t_react: Reaction time (s).
        t_stop: (S,) stopping time at ``v`` (s).
        intrusion: ``C + Z_d + Z_r`` (m).
        stop_cost: Seconds lost per stop besides reaction and braking (restart, worker in the way).

    Returns:
        ``(stops, violations, lost_seconds)`` per station (at most one violation a tick).
    """
    ssm = v > limit
    stops = np.where(ssm, n, 0)
    lost = stops * (t_react + t_stop + stop_cost)
    missed = np.asarray(u_miss) < 1.0 - (1.0 - miss) ** n
    if not (ssm & missed).any():
        return stops, np.zeros(stops.shape, dtype=np.int64), lost
    sp = protective_separation(v, t_react=t_react, t_stop=t_stop, intrusion=intrusion)
    v_h = np.where(distance <= NEAR_LIMIT, HUMAN_NEAR, HUMAN_FAR)
    hit = contact_speed(v, distance - intrusion, v_h, t_react=t_react, t_stop=t_stop)
    violations = (ssm & missed & (distance < sp) & (hit > limit)).astype(np.int64)
    return stops, violations, lost

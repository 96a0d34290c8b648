"""The context ``cx``: time of day, noise, closures, events, and sensors.

Context is indirect influence on users; sensors are how personalisers see the world (the CPS side).

Everything here is a pure function of arrays or a small object whose randomness comes from
the model's generator.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from cpss.kit.config import SensorConfig
from cpss.kit.equations import COUNT, NORMAL, register
from cpss.kit.jit import jit, record

MUSEUM_HOURLY_PROFILE = (0.10, 0.16, 0.22, 0.17, 0.13, 0.10, 0.08, 0.04)
"""Share of daily arrivals per opening hour from 10:00: the third hour (12:00-13:00) is the
peak with 0.22 (Dexibit via calibration-museum.md §9); the other hours are an assumption."""


def sample_arrivals(
    rng: np.random.Generator,
    n: int,
    profile: tuple[float, ...] | list[float],
    last_minute: float,
    entry_interval: float = 0.0,
) -> np.ndarray:
    """Arrival minutes of ``n`` users under a piecewise-constant hourly profile.

    A non-homogeneous Poisson process conditioned on its total count: each arrival falls in an
    hour with probability proportional to the profile, uniformly within the hour. With timed
    entry (``entry_interval`` > 0) everyone enters at the start of their slot, in waves
    (calibration-museum.md §6.1: batches per slot for timed tickets).

    Args:
        rng: The model's generator.
        n: Number of arrivals.
        profile: Relative weight of each hour, from opening.
        last_minute: No arrival at or after this minute (e.g. an hour before closing).
        entry_interval: Minutes between entry waves; 0 for continuous arrivals.

    Returns:
        Sorted arrival minutes, shape (n,).
    """
    weights = np.asarray(profile, dtype=float)
    hours = min(len(weights), int(np.ceil(last_minute / 60.0)))
    weights = weights[:hours]
    if weights.sum() <= 0:
        raise ValueError("arrival profile: weights must not all be zero")
    hour = rng.choice(hours, size=n, p=weights / weights.sum())
    width = np.minimum(60.0, last_minute - hour * 60.0)
    minutes = np.sort(hour * 60.0 + rng.random(n) * width)
    if entry_interval > 0:
        minutes = np.floor(minutes / entry_interval) * entry_interval
    return minutes


@dataclasses.dataclass(frozen=True)
class Window:
    """A zone-level schedule entry (closure or event) from ``start`` to ``end`` minutes."""

    zone: int
    start: float
    end: float


def active(windows: list[Window], n_zones: int, minute: float) -> np.ndarray:
    """(N,) 1.0 for zones with a window active at ``minute``, else 0.0."""
    out = np.zeros(n_zones)
    for w in windows:
        if w.start <= minute < w.end:
            out[w.zone] = 1.0
    return out


class SensorParams(NamedTuple):
    """Noise of the occupancy sensors (read by name from :class:`cpss.kit.config.SensorConfig`)."""

    relative_noise: float = 0.1
    """Standard deviation of the multiplicative noise."""
    absolute_noise: float = 0.5
    """Standard deviation of the additive noise (persons)."""
    dropout: float = 0.02
    """Chance that a sensor repeats its previous reading."""

    @classmethod
    def of(cls, config: SensorConfig) -> SensorParams:
        """The record of a config section, field by field."""
        return cls(**{name: float(getattr(config, name)) for name in cls._fields})


def noisy_count(occupancy, rel, absn, p: SensorParams):
    """A sensor's reading of a true count: ``max(0, occupancy · (1 + relative_noise · rel) + absolute_noise · absn)``.

    ``rel`` and ``absn`` are standard normal draws.
    """
    return np.maximum(occupancy * (1.0 + p.relative_noise * rel) + p.absolute_noise * absn, 0.0)


def noisy_count_torch(occupancy, rel, absn, p: SensorParams):
    """Torch form of :func:`noisy_count`."""
    return (occupancy * (1.0 + p.relative_noise * rel) + p.absolute_noise * absn).clamp(min=0.0)


register(noisy_count, noisy_count_torch, params=(SensorParams,), occupancy=COUNT, rel=NORMAL, absn=NORMAL)


@jit
def sensor_reading(
    occupancy: np.ndarray, previous: np.ndarray, rel: np.ndarray, absn: np.ndarray, u: np.ndarray, params: np.ndarray
) -> np.ndarray:
    """Noisy, sometimes stale readings, compiled (the kernel of :meth:`OccupancySensors.read`).

    Args:
        occupancy: (N,) true occupancy.
        previous: (N,) the previous readings.
        rel: (N,) standard normal draws of the relative noise.
        absn: (N,) standard normal draws of the absolute noise.
        u: (N,) uniform draws; a sensor with ``u < dropout`` repeats its previous reading.
        params: The sensors' noise, a :class:`SensorParams` as :func:`cpss.kit.jit.record`.

    Returns:
        (N,) the new readings.
    """
    p = params[0]
    out = np.empty(occupancy.size)
    for z in range(occupancy.size):
        out[z] = previous[z] if u[z] < p.dropout else noisy_count(occupancy[z], rel[z], absn[z], p)
    return out


class OccupancySensors:
    """Noisy, sometimes stale occupancy readings per zone.

    reading = max(0, true · (1 + ε_rel) + ε_abs) with ε ~ Normal(0, σ); with probability
    ``dropout`` a sensor repeats its previous reading instead.

    Args:
        n_zones: Number of zones.
        config: Noise parameters.
        rng: The model's generator.
    """

    def __init__(self, n_zones: int, config: SensorConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        self.reading = np.zeros(n_zones)
        self.params = SensorParams.of(config)
        self._record = record(self.params)

    def read(self, occupancy: np.ndarray) -> np.ndarray:
        """Take a reading of the true ``occupancy`` (N,) and return the (N,) estimate."""
        n = occupancy.shape[0]
        normals = self.rng.standard_normal(2 * n)  # the same draws as two calls of n, in one
        relative, absolute = normals[:n], normals[n:]
        stale = self.rng.random(n)
        self.reading = sensor_reading(occupancy, self.reading, relative, absolute, stale, self._record)
        return self.reading

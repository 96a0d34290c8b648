"""The base Mesa model of every CPSS world: one root seed, a clock and a floor-plan space.

It also holds :func:`release`, which drops Mesa's class-level reference to a model that is done.
"""

from __future__ import annotations

from collections.abc import Callable

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import Network

from cpss.kit.config import ConfigError


class DayClock:
    """The day's clock of a world: ``minute``, ``dt`` (minutes per tick) and ``day_minutes``."""

    minute: float
    dt: float
    day_minutes: float

    @property
    def closed(self) -> bool:
        """True once the day is over."""
        return self.minute >= self.day_minutes - 1e-9

    @property
    def horizon(self) -> int:
        """Number of ticks in a day."""
        return round(self.day_minutes / self.dt)


class CPSSModel(DayClock, mesa.Model):
    """A Mesa model with a single root seed, a minute clock and a network space.

    Every random draw in a world comes from ``self.rng`` (numpy) or ``self.random`` (stdlib,
    used by Mesa's AgentSet shuffles), both seeded from ``seed``; nothing uses a global RNG.

    Args:
        seed: Root seed (>= 0).
        minutes_per_step: Simulated minutes per tick.
        day_minutes: Length of the day (episode) in minutes.
    """

    def __init__(self, seed: int, minutes_per_step: float, day_minutes: float) -> None:
        if not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"world.seed: must be an integer >= 0 (got {seed!r})")
        super().__init__(seed=seed)
        self.root_seed = seed
        self.dt = float(minutes_per_step)
        self.day_minutes = float(day_minutes)
        self.minute = 0.0
        self._buffers: dict[str, tuple[np.ndarray, ...]] = {}

    def buffers(self, key: str, make: Callable[[], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
        """The output arrays a compiled kernel fills every tick, made by ``make`` on first use.

        numba hands a returned array back to Python in about a microsecond (a dozen of them are
        a tenth of a small world's tick); a filled array costs nothing. Read what a kernel
        filled before it runs again: the arrays are the same every tick.
        """
        out = self._buffers.get(key)
        if out is None:
            out = self._buffers[key] = make()
        return out

    def make_space(self, graph: nx.Graph) -> Network:
        """Build the Mesa network space (node ids must be 0..N-1) as ``self.grid``."""
        self.grid = Network(graph, capacity=None, random=self.random)
        return self.grid


def release(model: mesa.Model | None) -> None:
    """Drop Mesa's class-level reference to ``model`` so that it can be garbage-collected.

    Mesa 3.3 numbers agents per model in the class attribute ``mesa.Agent._ids``, a
    ``defaultdict`` keyed by the model itself, and never removes a key (mesa#3179, fixed in
    Mesa 3.4): every model built stays alive with all its agents for the life of the process.
    Call this once a model will create no more agents (a finished day, a probe); the model
    stays readable (its agents, metrics and summary are untouched), but an agent created in it
    afterwards would restart the numbering at 1. ``None`` and released models are ignored.
    """
    if model is not None:
        mesa.Agent._ids.pop(model, None)

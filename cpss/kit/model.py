"""The base Mesa model of every CPSS world: one root seed, a clock and a floor-plan space."""

from __future__ import annotations

import mesa
import networkx as nx
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

    def make_space(self, graph: nx.Graph) -> Network:
        """Build the Mesa network space (node ids must be 0..N-1) as ``self.grid``."""
        self.grid = Network(graph, capacity=None, random=self.random)
        return self.grid

"""Mesa entities of the smart workshop: thin handles onto the world's arrays.

The state of stations, workers, cobots and the maintenance crew lives in numpy arrays of
:class:`scenarios.workshop.world.WorkshopModel`; these entities give Mesa (and people
exploring a model) named, per-entity views of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
from mesa.discrete_space import FixedAgent

if TYPE_CHECKING:
    from scenarios.workshop.world import WorkshopModel


class Station(FixedAgent):
    """A station entity (workstation with its machine): a handle onto row ``index``."""

    def __init__(self, model: WorkshopModel, index: int) -> None:
        super().__init__(model)
        self.index = int(index)
        self.cell = model.grid[self.index]

    @property
    def machine_up(self) -> bool:
        """True while the machine works."""
        return bool(self.model.up[self.index])

    @property
    def waiting_jobs(self) -> int:
        """Jobs in the input buffer (the order book for a cell's first station)."""
        return int(self.model.input_level[self.index])


class Worker(mesa.Agent):
    """An operator entity: a handle onto row ``index`` of the worker arrays."""

    def __init__(self, model: WorkshopModel, index: int) -> None:
        super().__init__(model)
        self.index = int(index)

    @property
    def fatigue(self) -> tuple[float, float]:
        """Physical and mental fatigue in [0, 1]."""
        return float(self.model.phys[self.index]), float(self.model.mental[self.index])

    @property
    def trust(self) -> float:
        """Trust in the cobot in [0, 1]."""
        return float(self.model.trust[self.index])


class Cobot(FixedAgent):
    """A cobot entity fixed at its station: a handle onto cobot slot ``slot``."""

    def __init__(self, model: WorkshopModel, slot: int) -> None:
        super().__init__(model)
        self.slot = int(slot)
        self.station = int(model.cobot_station[slot])
        self.cell = model.grid[self.station]

    @property
    def setting(self) -> tuple[float, float]:
        """Current (speed, assistance share)."""
        return float(self.model.speed[self.station]), float(self.model.assist[self.station])


class Technician(mesa.Agent):
    """A maintenance technician (kind 0) or engineer (kind 1) of the pooled crew."""

    def __init__(self, model: WorkshopModel, index: int) -> None:
        super().__init__(model)
        self.index = int(index)
        self.kind = int(model.crew_kind[index])

    @property
    def repairing(self) -> int:
        """Station being repaired, -1 when free."""
        return int(self.model.crew_station[self.index])

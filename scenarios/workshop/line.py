"""The line side of a workshop tick: orders, job flow between stations, repairs.

Functions of a :class:`scenarios.workshop.world.WorkshopModel` that update its line arrays in
place (all stations at once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scenarios.workshop.world import WorkshopModel


def record_arrivals(m: WorkshopModel, arrivals: np.ndarray, t0: float) -> None:
    """Stamp the arrival minute of new orders (each cell is FIFO, so lead times are exact)."""
    need = int((m.n_jobs + arrivals).max(initial=0))
    if need > m.arrival_time.shape[1]:
        grown = np.zeros((m.n_cells, 2 * need))
        grown[:, : m.arrival_time.shape[1]] = m.arrival_time
        m.arrival_time = grown
    rows = np.repeat(np.arange(m.n_cells), arrivals)
    offset = np.arange(rows.size) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    m.arrival_time[rows, m.n_jobs[rows] + offset] = t0
    m.n_jobs += arrivals


def flow(m: WorkshopModel) -> None:
    """Finished jobs move downstream where there is room (blocking after service); idle stations pull."""
    lay, cap = m.layout, m.config.floor.buffer_capacity
    dn = np.maximum(lay.downstream, 0)
    space = m.last | (m.buffer[dn] < cap)
    move = m.blocked & space
    np.add.at(m.buffer, dn[move & ~m.last], 1)
    m.done_tick = np.bincount(lay.cell[move & m.last], minlength=m.n_cells)
    cells = np.flatnonzero(m.done_tick)
    finish = m.minute + m.dt
    m.lead_sum += float((finish - m.arrival_time[cells, m.done[cells]]).sum())
    m.done += m.done_tick
    m.blocked[move] = False
    avail = np.where(m.first, m.backlog[lay.cell] > 0, m.buffer > 0)
    start = ~m.busy & ~m.blocked & m.up & avail
    np.subtract.at(m.buffer, np.flatnonzero(start & ~m.first), 1)
    rel = np.bincount(lay.cell[start & m.first], minlength=m.n_cells)
    m.backlog -= rel
    m.released += rel
    m.busy[start] = True
    m.progress[start] = np.where(m.completed[start], m.carry[start], 0.0)


def repair(m: WorkshopModel) -> None:
    """Free crew take the oldest waiting fault of their kind; repaired machines get their next clock."""
    waiting = ~m.up & (m.repairer < 0)
    for kind in (0, 1):
        free = np.flatnonzero((m.crew_station < 0) & (m.crew_kind == kind))
        queue = np.flatnonzero(waiting & (m.fault_kind == kind))
        queue = queue[np.argsort(m.down_since[queue], kind="stable")][: free.size]
        m.crew_station[free[: queue.size]] = queue
        m.repairer[queue] = free[: queue.size]
    under = ~m.up & (m.repairer >= 0)
    m.crew_busy_min += m.dt * float((m.crew_station[m.crew_kind == 0] >= 0).sum())
    m.repair_left[under] -= m.dt
    fixed = under & (m.repair_left <= 0)
    m.crew_station[m.repairer[fixed]] = -1
    m.repairer[fixed] = -1
    m.up[fixed] = True
    m.uptime_left[fixed] = m.clock_up[fixed, m.n_fail[fixed] % m.config.machines.max_failures]
    m.repairs += int(fixed.sum())

"""Arriving and walking in the batched engine: the torch twins of :mod:`cpss.venue.kernels.movement`.

Functions of a :class:`cpss.batched.venue.BatchedVenue` ``w`` (as :mod:`cpss.batched.decisions`),
called by its tick in the order of :meth:`cpss.venue.model.VenueModel.step`: :func:`arrive`
admits visitors at the entrance, :func:`walk` moves walkers room by room along their shortest
path (walkers occupy the rooms they pass), with balking at crowded rooms and waiting at full
doors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from cpss.batched import ops
from cpss.venue import equations as eq
from cpss.venue.users import Activity as A

if TYPE_CHECKING:
    from cpss.batched.venue import BatchedVenue


def arrive(w: BatchedVenue) -> None:
    """Admit the visitors whose arrival time has come, first come first served, while the entrance has room."""
    p, N = w.pop, w.N
    cand = torch.nonzero((p.state == A.OUTSIDE) & (p.arrival <= w.minute)).flatten()
    if cand.numel() == 0 or w.closed:
        return
    free = (w.capacity - w.occupancy).reshape(-1)
    ok = ops.admit(w.gen, cand, w.day[cand] * N + w.entrance, free, p.arrival[cand])
    p.state[ok], p.zone[ok], p.entered[ok] = int(A.DECIDING), w.entrance, w.minute
    w.occupancy.view(-1).index_add_(0, w.day[ok] * N + w.entrance, torch.ones_like(ok))


def path_room(w: BatchedVenue, zone: torch.Tensor, target: torch.Tensor, walk_left: torch.Tensor) -> torch.Tensor:
    """The room each walker has reached on its way (as :func:`cpss.venue.kernels.movement.path_room`)."""
    x = zone.clone()
    for _ in range(w.N):
        y = w.next_hop[x, target]
        on = (x != target) & (y != x) & (w.dist[y, target] >= walk_left - 1e-9)
        if not bool(on.any()):
            break
        x = torch.where(on, y, x)
    return x


def walk(w: BatchedVenue) -> None:
    """Move walkers along their path: balk at crowded rooms, wait at full doors, then queue or choose again."""
    p, N, ent, prm = w.pop, w.N, w.entrance, w.params
    walking = torch.nonzero(p.state == A.WALKING).flatten()
    step = p.walk_left[walking].clamp(max=w.dt)
    p.walk_left[walking] -= step
    p.walked[walking] += step
    arrived = p.walk_left[walking] <= 1e-9
    leaving = p.leaving[walking]
    w._exit(walking[leaving & arrived & (p.target_zone[walking] == ent)])
    go, arrived = walking[~leaving], arrived[~leaving]  # those leaving stay counted where they are
    room = torch.where(arrived, p.target_zone[go], path_room(w, p.zone[go], p.target_zone[go], p.walk_left[go]))
    change = room != p.zone[go]
    here = go[~change & arrived]
    cand, want, cand_arrived = go[change], room[change], arrived[change]
    balk = cand_arrived & eq.balks_torch(w.density[w.day[cand], want], prm.w, prm.f, prm.crowd)
    p.state[cand[balk]] = int(A.DECIDING)  # too crowded to go in: choose again where it stands
    moving, want = cand[~balk], want[~balk]
    free = (w.capacity - w.occupancy).reshape(-1)
    ok = ops.admit(w.gen, moving, w.day[moving] * N + want, free)
    wanted = torch.full_like(p.zone, -1)
    wanted[moving] = want
    occ = w.occupancy.view(-1)
    occ.index_add_(0, w.day[ok] * N + p.zone[ok], -torch.ones_like(ok))
    occ.index_add_(0, w.day[ok] * N + wanted[ok], torch.ones_like(ok))
    p.zone[ok] = wanted[ok]
    blocked = moving[~w._flag(ok)[moving]]
    p.trip_wait[blocked] += w.dt
    mid = blocked[p.walk_left[blocked] > 1e-9]  # blocked on the way: back at the door it could not pass
    p.walk_left[mid] = w.dist[p.zone[mid], p.target_zone[mid]]
    p.state[blocked[p.trip_wait[blocked] > prm.crowd.queue_patience]] = int(A.DECIDING)
    entered = torch.cat([ok, here])
    entered = entered[p.walk_left[entered] <= 1e-9]
    item = p.target_item[entered]
    view = w.view_density[w.day[entered], item.clamp(min=0)]
    queues = (item >= 0) & ~eq.skips_torch(view, prm.w, prm.f, prm.crowd)
    p.state[entered[queues]], p.queue_since[entered[queues]] = int(A.QUEUING), w.minute
    p.state[entered[~queues]] = int(A.DECIDING)

"""Per-visitor trajectories of a venue day, recorded as the event log of :mod:`cpss.data.schema`.

A :class:`TrajectoryRecorder` watches a :class:`~cpss.venue.model.VenueModel` from outside: the
model calls :meth:`TrajectoryRecorder.decided` after its decisions and
:meth:`TrajectoryRecorder.observe` after each later phase of a tick, and the recorder compares
the population's arrays (state, room, target exhibit) with what it saw last. It reads and never
writes the model, and draws no random numbers, so a day runs the same with or without it (a
model without a recorder skips every call).

Times are minutes after opening. Events of a phase carry the tick's end time, except views:
a view starts at the tick it begins and ends after the dwell time the model drew for it (not
rounded to ticks), or at closing time. A visitor who waits at a full exhibit gets a
``join_queue`` (when the wait began) and a ``leave_queue`` event; walking straight into a free
viewing place records no queue. Recommendations carry the exhibit offered, and are accepted or
declined in the same minute.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from cpss.data.schema import EVENT_CODE, EVENT_SCHEMA, EVENTS
from cpss.venue.users import Activity

_E = EVENT_CODE
OUTSIDE, QUEUING, VIEWING, LEFT = (int(Activity[name]) for name in ("OUTSIDE", "QUEUING", "VIEWING", "LEFT"))
"""The activities the recorder tells apart, as plain ints (an enum member lookup per use is slow)."""


class TrajectoryRecorder:
    """Records the events of every visitor of one model's day (attach before the first tick).

    Args:
        model: The venue model (a fresh one, before its first ``step``).
    """

    def __init__(self, model: Any) -> None:
        p = model.pop
        self.state = p.state.copy()
        self.zone = p.zone.copy()
        self.target = p.target_item.copy()
        self.view_start = np.zeros(p.size)
        self.view_dwell = np.zeros(p.size)
        self.offered = model.guides.offered.copy()
        self.accepted = model.guides.accepted.copy()
        self.slot_visitor = model.guides.visitor.copy()
        self.day_minutes = float(model.day_minutes)
        self._chunks: list[tuple[np.ndarray, ...]] = []
        model.trajectories = self

    # ------------------------------------------------------------------ recording
    def _emit(self, who: np.ndarray, time: Any, event: str, room: np.ndarray, exhibit: np.ndarray | None) -> None:
        """Append events of one kind for ``who`` (visitor indices), ``room`` and ``exhibit`` (-1: none)."""
        if who.size:
            self._append(who, time, np.full(who.size, _E[event], dtype=np.int32), room, exhibit)

    def _append(self, who: np.ndarray, time: Any, codes: np.ndarray, room: np.ndarray, exhibit: Any) -> None:
        times = np.broadcast_to(np.asarray(time, dtype=float), who.shape).copy()
        ex = np.full(who.size, -1, dtype=np.int64) if exhibit is None else np.asarray(exhibit, dtype=np.int64)
        self._chunks.append((who.astype(np.int64), times, codes, room.astype(np.int64), ex))

    def before_decide(self, model: Any) -> None:
        """Remember who each guide serves and its offer counters (called before the decisions)."""
        g = model.guides
        self.slot_visitor = g.visitor.copy()
        self.offered = g.offered.copy()
        self.accepted = g.accepted.copy()

    def decided(self, model: Any) -> None:
        """Record the recommendations of this tick's decisions, then any change of state they made."""
        g = model.guides
        slots = np.flatnonzero(g.offered > self.offered)
        if slots.size:
            pair = np.repeat(slots, 2)  # each offer is followed by its answer
            who = self.slot_visitor[pair]
            codes = np.full(pair.size, _E["recommendation_offered"], dtype=np.int32)
            ok = g.accepted[slots] > self.accepted[slots]
            codes[1::2] = np.where(ok, _E["recommendation_accepted"], _E["recommendation_declined"])
            self._append(who, model.minute, codes, self.zone[who], g.recommendation[pair])
        self.observe(model)

    def observe(self, model: Any) -> None:
        """Record what changed since the last call (called after each phase of a tick)."""
        p, minute = model.pop, model.minute
        state, zone, target = p.state, p.zone, p.target_item
        was, before_zone, before_target = self.state, self.zone, self.target
        changed = np.flatnonzero((state != was) | (zone != before_zone))
        if changed.size == 0:
            return
        s, s0 = state[changed], was[changed]
        z, z0 = zone[changed], before_zone[changed]
        # ---- arrivals: at the door when their arrival time came, inside at the entrance
        new = changed[(s0 == OUTSIDE) & (s != OUTSIDE)]
        self._emit(new, p.arrival[new], "arrive", zone[new], None)
        self._emit(new, minute, "enter_room", zone[new], None)
        # ---- queues and views that end (before any move or exit of the same visitor)
        left_queue = changed[(s0 == QUEUING) & (s != QUEUING)]
        waited = left_queue[p.queue_since[left_queue] < minute]
        self._emit(waited, p.queue_since[waited], "join_queue", before_zone[waited], before_target[waited])
        self._emit(waited, minute, "leave_queue", before_zone[waited], before_target[waited])
        ends = changed[(s0 == VIEWING) & (s != VIEWING)]
        end_time = np.minimum(self.view_start[ends] + self.view_dwell[ends], self.day_minutes)
        end_time = np.where(state[ends] == LEFT, np.minimum(end_time, minute), end_time)
        self._emit(ends, end_time, "end_view", before_zone[ends], before_target[ends])
        # ---- moves between rooms
        moved = changed[(z != z0) & (z0 >= 0) & (s != LEFT)]
        self._emit(moved, minute, "leave_room", before_zone[moved], None)
        self._emit(moved, minute, "enter_room", zone[moved], None)
        # ---- views that start
        starts = changed[(s == VIEWING) & (s0 != VIEWING)]
        self.view_start[starts] = minute
        self.view_dwell[starts] = p.dwell_left[starts]
        self._emit(starts, minute, "start_view", zone[starts], target[starts])
        # ---- exits
        gone = changed[(s == LEFT) & (s0 != LEFT)]
        self._emit(gone, minute, "leave_room", zone[gone], None)
        self._emit(gone, minute, "leave", zone[gone], None)
        self.state = state.copy()
        self.zone = zone.copy()
        self.target = target.copy()

    def _censor(self, model: Any) -> None:
        """Events that end what is open now (a day cut short), appended to the recorder's chunks."""
        p, minute = model.pop, model.minute
        inside = np.flatnonzero((self.state != OUTSIDE) & (self.state != LEFT))
        s = self.state[inside]
        wait = inside[(s == QUEUING) & (p.queue_since[inside] < minute)]
        self._emit(wait, p.queue_since[wait], "join_queue", self.zone[wait], self.target[wait])
        self._emit(wait, minute, "leave_queue", self.zone[wait], self.target[wait])
        view = inside[s == VIEWING]
        end = np.minimum(self.view_start[view] + self.view_dwell[view], minute)
        self._emit(view, end, "end_view", self.zone[view], self.target[view])
        self._emit(inside, minute, "leave_room", self.zone[inside], None)
        self._emit(inside, minute, "leave", self.zone[inside], None)

    # ------------------------------------------------------------------ the log
    def table(self, model: Any) -> pa.Table:
        """The day's events as an Arrow table in :data:`cpss.data.schema.EVENT_SCHEMA`, grouped by visitor.

        Each visitor's events keep the order they happened in; visitors come in id order. A day cut
        short (the model still running) is censored at its last minute: the views, waits and stays
        still open end there and the visitors inside get a ``leave`` event at that minute.
        """
        chunks = self._chunks
        if model.running:
            kept, self._chunks = self._chunks, []
            self._censor(model)
            chunks, self._chunks = kept + self._chunks, kept
        if chunks:
            who, time, code, room, item = (np.concatenate(parts) for parts in zip(*chunks, strict=True))
        else:
            who, time, room, item = (np.zeros(0, dtype=np.int64) for _ in range(4))
            time, code = time.astype(float), np.zeros(0, dtype=np.int32)
        if model.running:  # a view that ended in the last tick may end after its minute: the log stops there
            time = np.minimum(time, model.minute)
        order = np.argsort(who, kind="stable")
        who, time, code, room, item = who[order], time[order], code[order], room[order], item[order]
        p, fl = model.pop, model.floor
        rooms = [str(fl.graph.nodes[z].get("name", z)) for z in range(fl.n_zones)]
        lead = p.leader[who]

        def names(index: np.ndarray, dictionary: list[str], mask: np.ndarray | None = None) -> pa.Array:
            idx = pa.array(index.astype(np.int32), mask=mask)
            return pa.DictionaryArray.from_arrays(idx, pa.array(dictionary, type=pa.string()))

        columns = [
            pa.array(who.astype(np.int32)),
            pa.array(lead.astype(np.int32)),
            names(p.style[who], list(model.style_names)),
            pa.array(p.has_device[lead].astype(bool)),
            pa.array(time),
            names(code, list(EVENTS)),
            names(room, rooms),
            names(np.maximum(item, 0), [str(n) for n in fl.item_names], item < 0),
        ]
        return pa.Table.from_arrays(columns, schema=EVENT_SCHEMA)

"""The visitor-log schemas: the event log the simulator writes and the simpler room-level log.

Both are tables with stable column names and dtypes (docs/data.md). Times are minutes after
opening (float64). The **event log** has one row per event of a visitor, in the visitor's
order of events:

| column | dtype | meaning |
|---|---|---|
| ``visitor`` | int32 | visitor id (unique in the log) |
| ``group`` | int32 | id of the group's leader (== ``visitor`` for leaders and solo visitors) |
| ``style`` | string | visiting style (``ant``, ``butterfly``, ...; empty when unknown) |
| ``guided`` | bool | the visitor's group carries a mobile guide |
| ``time`` | float64 | minutes after opening |
| ``event`` | string | one of :data:`EVENTS` |
| ``room`` | string | room the event happens in (the room's name) |
| ``exhibit`` | string, nullable | exhibit of queue, view and recommendation events |

The **room log** has one row per stay in a room: ``visitor`` (int), ``room`` (string),
``enter`` and ``leave`` (float minutes after opening).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cpss.kit.atomic import atomic_write

EVENTS = (
    "arrive",
    "enter_room",
    "leave_room",
    "join_queue",
    "leave_queue",
    "start_view",
    "end_view",
    "recommendation_offered",
    "recommendation_accepted",
    "recommendation_declined",
    "leave",
)
"""Event kinds, in the order of their codes (the simulator's recorder writes codes, the file names)."""

EVENT_CODE = {name: i for i, name in enumerate(EVENTS)}
"""Code of each event kind."""

EXHIBIT_EVENTS = frozenset(
    {
        "join_queue",
        "leave_queue",
        "start_view",
        "end_view",
        "recommendation_offered",
        "recommendation_accepted",
        "recommendation_declined",
    }
)
"""Events that name an exhibit."""

EVENT_SCHEMA = pa.schema(
    [
        pa.field("visitor", pa.int32(), nullable=False),
        pa.field("group", pa.int32(), nullable=False),
        pa.field("style", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("guided", pa.bool_(), nullable=False),
        pa.field("time", pa.float64(), nullable=False),
        pa.field("event", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("room", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("exhibit", pa.dictionary(pa.int32(), pa.string()), nullable=True),
    ],
    metadata={"cpss.log": "events", "cpss.schema_version": "1"},
)
"""Arrow schema of the event log (strings dictionary-encoded; the column order is part of the schema)."""

EVENT_COLUMNS = tuple(EVENT_SCHEMA.names)
"""Column names of the event log, in order."""

ROOM_COLUMNS = ("visitor", "room", "enter", "leave")
"""Column names of the room log."""


def write_parquet(table: pa.Table, path: str | Path) -> None:
    """Write ``table`` to ``path`` as Parquet, atomically (:func:`cpss.kit.atomic.atomic_write`)."""
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))

"""Visitor logs: the event-log and room-log schemas, readers with validation, statistics and distances.

docs/data.md documents the schemas, the checks and every statistic.
"""

from cpss.data.readers import LogError, VisitorLog, events_log, read_log, rooms_log
from cpss.data.schema import EVENT_SCHEMA, EVENTS, ROOM_COLUMNS, write_parquet
from cpss.data.stats import LogStats, distances, headline, ks, summarize, tv

__all__ = [
    "EVENTS",
    "EVENT_SCHEMA",
    "ROOM_COLUMNS",
    "LogError",
    "LogStats",
    "VisitorLog",
    "distances",
    "events_log",
    "headline",
    "ks",
    "read_log",
    "rooms_log",
    "summarize",
    "tv",
    "write_parquet",
]

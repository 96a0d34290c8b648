"""Visitor logs: the event-log and room-log schemas, readers with validation, statistics and distances."""

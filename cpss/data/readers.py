"""Reading and validating visitor logs (CSV or Parquet): the event log and the room log.

:func:`read_log` tells the two schemas of :mod:`cpss.data.schema` apart by their columns and
checks them; every problem is one line naming the file, the row (data rows counted from 1, the
header not counted) and the column: a missing column, a value of the wrong type, an unknown
event or room, time going backwards within a visitor, overlapping stays in rooms, a view or a
stay that is never closed. :func:`events_log` and :func:`rooms_log` build the same
:class:`VisitorLog` from tables already in memory (what the simulator records).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from cpss.data.schema import EVENT_CODE, EVENTS, EXHIBIT_EVENTS, ROOM_COLUMNS
from cpss.kit.config import ConfigError


class LogError(ConfigError):
    """A visitor log that cannot be read or is inconsistent; the message is one line."""


@dataclasses.dataclass
class VisitorLog:
    """A validated visitor log in the forms the statistics need.

    Attributes:
        kind: ``"events"`` (the full event log) or ``"rooms"`` (stays in rooms only).
        source: Where it came from (a path, or a label).
        stays: One row per stay: ``visitor``, ``room``, ``enter``, ``leave``, ordered by visitor and time.
        visits: One row per visitor (index ``visitor``): ``arrive`` (at the door: the ``arrive``
            event, else the first stay), ``enter`` (first stay), ``leave`` (end of the last stay),
            ``style`` ("" when unknown), ``group``, ``guided``.
        views: One row per view (event logs): ``visitor``, ``exhibit``, ``room``, ``start``, ``end``,
            ``style``; None for room logs.
    """

    kind: str
    source: str
    stays: pd.DataFrame
    visits: pd.DataFrame
    views: pd.DataFrame | None
    optional: frozenset[str] = frozenset()
    """The optional columns of the event log that the file has (``style``, ``group``, ``guided``)."""

    @property
    def rooms(self) -> list[str]:
        """Rooms that appear in the log, sorted."""
        return sorted(self.stays["room"].unique().tolist())

    @property
    def has_styles(self) -> bool:
        """Whether every visitor's style is known."""
        return bool(len(self.visits)) and bool((self.visits["style"] != "").all())


def _fail(source: str, row: int | None, column: str, problem: str) -> LogError:
    where = f"row {row + 1}, column {column}" if row is not None else f"column {column}"
    return LogError(f"{source}: {where}: {problem}")


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame (one-line :class:`LogError` when it cannot be read)."""
    path = Path(path)
    if not path.is_file():
        raise LogError(f"{path}: log file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pandas()
        if suffix == ".csv":
            return pd.read_csv(path, keep_default_na=True)
    except (pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LogError(f"{path}: cannot read the log ({line})") from None
    raise LogError(f"{path}: unknown log format {suffix!r} (use .csv or .parquet)")


def read_log(path: str | Path, rooms: Collection[str] | None = None) -> VisitorLog:
    """Read and validate an event log or a room log.

    Args:
        path: A ``.csv`` or ``.parquet`` file.
        rooms: The floor's room names; rooms outside it are errors (None: any room).

    Raises:
        LogError: One line naming the file, row and column of the first problem.
    """
    frame = read_table(path)
    if "event" in frame.columns:
        return events_log(frame, str(path), rooms)
    return rooms_log(frame, str(path), rooms)


# ---------------------------------------------------------------------- column checks
def _require(frame: pd.DataFrame, columns: tuple[str, ...], source: str, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _fail(source, None, missing[0], f"missing column ({what} needs {', '.join(columns)})")
    if len(frame) == 0:
        raise LogError(f"{source}: the log has no rows")


def _integers(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() | (values != np.round(values)) | (values.abs() > 2**31 - 1)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(source, i, column, f"not an integer id ('{raw.iloc[i]}')")
    return values.to_numpy().astype(np.int64)


def _times(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(source, i, column, f"not a time in minutes >= 0 ('{raw.iloc[i]}')")
    return values


def _names(frame: pd.DataFrame, column: str, source: str, known: Collection[str] | None, what: str) -> np.ndarray:
    raw = frame[column]
    values = raw.astype("string").fillna("")
    bad = values.str.strip() == ""
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(source, i, column, f"empty {what}")
    out = values.to_numpy(dtype=object).astype(str)
    if known is not None:
        unknown = ~np.isin(out, np.asarray(list(known), dtype=str))
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise _fail(source, i, column, f"unknown {what} '{out[i]}' (not on the floor plan)")
    return out


def _in_order(visitor: np.ndarray, time: np.ndarray, source: str, column: str, rows: np.ndarray) -> None:
    """Each visitor's times must not decrease in file order (``rows``: the file rows of the entries)."""
    order = np.argsort(visitor, kind="stable")
    v, t = visitor[order], time[order]
    back = (v[1:] == v[:-1]) & (t[1:] < t[:-1])
    if back.any():
        k = int(np.flatnonzero(back)[0]) + 1
        raise _fail(
            source, int(rows[order][k]), column, f"time goes backwards for visitor {v[k]} ({t[k]:g} < {t[k - 1]:g})"
        )


def _pairs(
    visitor: np.ndarray, is_open: np.ndarray, key: np.ndarray, rows: np.ndarray, source: str, column: str, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Match opening and closing entries (already in each visitor's order): (opening rows, closing rows).

    Per visitor they must alternate open, close, open, ... with the same ``key`` (room or exhibit).
    """
    order = np.argsort(visitor, kind="stable")
    v, o, k, r = visitor[order], is_open[order], key[order], rows[order]
    first = np.r_[True, v[1:] != v[:-1]]
    pos = np.arange(v.size) - np.maximum.accumulate(np.where(first, np.arange(v.size), 0))
    expect_open = pos % 2 == 0
    wrong = o != expect_open
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        if o[i]:
            problem = f"overlapping {what}s: visitor {v[i]} enters '{k[i]}' while still in '{k[i - 1]}'"
        else:
            problem = f"visitor {v[i]} ends a {what} in '{k[i]}' that never started"
        raise _fail(source, int(r[i]), column, problem)
    last = np.r_[v[1:] != v[:-1], True]
    unclosed = last & o
    if unclosed.any():
        i = int(np.flatnonzero(unclosed)[0])
        raise _fail(source, int(r[i]), column, f"visitor {v[i]}'s {what} in '{k[i]}' never ends")
    mismatch = ~o & (k != np.roll(k, 1))
    if mismatch.any():
        i = int(np.flatnonzero(mismatch)[0])
        raise _fail(source, int(r[i]), column, f"visitor {v[i]} ends a {what} in '{k[i]}' but is in '{k[i - 1]}'")
    return r[o], r[~o]


# ---------------------------------------------------------------------- the two schemas
def events_log(frame: pd.DataFrame, source: str, rooms: Collection[str] | None = None) -> VisitorLog:
    """A :class:`VisitorLog` from an event-log table (validated as :func:`read_log` does)."""
    _require(frame, ("visitor", "time", "event", "room"), source, "an event log")
    visitor = _integers(frame, "visitor", source)
    time = _times(frame, "time", source)
    event = _names(frame, "event", source, EVENTS, "event")
    room = _names(frame, "room", source, rooms, "room")
    rows = np.arange(len(frame))
    code = np.vectorize(EVENT_CODE.__getitem__, otypes=[np.int64])(event)
    _in_order(visitor, time, source, "time", rows)
    exhibit = np.full(len(frame), "", dtype=object)
    needs = np.isin(code, [EVENT_CODE[e] for e in EXHIBIT_EVENTS])
    if needs.any():
        if "exhibit" not in frame.columns:
            raise _fail(
                source,
                int(np.flatnonzero(needs)[0]),
                "exhibit",
                "missing column (view and queue events name an exhibit)",
            )
        names = frame["exhibit"].astype("string").fillna("")
        empty = needs & (names.str.strip() == "").to_numpy(dtype=bool)
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise _fail(source, i, "exhibit", f"no exhibit for a {event[i]} event")
        exhibit[needs] = names.to_numpy(dtype=object)[needs].astype(str)
    stay = np.isin(code, [EVENT_CODE["enter_room"], EVENT_CODE["leave_room"]])
    opened, closed = _pairs(
        visitor[stay], code[stay] == EVENT_CODE["enter_room"], room[stay], rows[stay], source, "event", "stay"
    )
    stays = pd.DataFrame(
        {"visitor": visitor[opened], "room": room[opened], "enter": time[opened], "leave": time[closed]}
    )
    view = np.isin(code, [EVENT_CODE["start_view"], EVENT_CODE["end_view"]])
    v_open, v_close = _pairs(
        visitor[view], code[view] == EVENT_CODE["start_view"], exhibit[view], rows[view], source, "event", "view"
    )
    style = _column(frame, "style", "", str)
    group = _column(frame, "group", None, int)
    guided = _column(frame, "guided", False, bool)
    if group is None:
        group = visitor
    views = pd.DataFrame(
        {
            "visitor": visitor[v_open],
            "exhibit": exhibit[v_open].astype(str),
            "room": room[v_open],
            "start": time[v_open],
            "end": time[v_close],
            "style": style[v_open],
        }
    )
    visits = _visits(stays, visitor, time, style, group, guided)
    optional = frozenset(c for c in ("style", "group", "guided") if c in frame.columns)
    return VisitorLog("events", source, stays, visits, views, optional)


def _column(frame: pd.DataFrame, name: str, default: object, kind: type) -> np.ndarray | None:
    if name not in frame.columns:
        return None if default is None else np.full(len(frame), default, dtype=object if kind is str else kind)
    col = frame[name]
    if kind is str:
        return col.astype("string").fillna("").to_numpy(dtype=object).astype(str)
    if kind is int:
        return pd.to_numeric(col, errors="coerce").fillna(-1).to_numpy().astype(np.int64)
    if col.dtype == bool:
        return col.to_numpy()
    words = col.astype("string").str.strip().str.lower().isin(["true", "yes"]).to_numpy(dtype=bool)
    return words | (pd.to_numeric(col, errors="coerce").fillna(0).to_numpy() > 0)


def _visits(
    stays: pd.DataFrame, visitor: np.ndarray, time: np.ndarray, style: np.ndarray, group: np.ndarray, guided: np.ndarray
) -> pd.DataFrame:
    frame = pd.DataFrame({"visitor": visitor, "time": time, "style": style, "group": group, "guided": guided})
    by = frame.groupby("visitor", sort=True)
    out = pd.DataFrame(
        {
            "arrive": by["time"].min(),
            "style": by["style"].first(),
            "group": by["group"].first(),
            "guided": by["guided"].first(),
        }
    )
    inside = stays.groupby("visitor")
    out["enter"] = inside["enter"].min().reindex(out.index).fillna(out["arrive"])
    out["leave"] = inside["leave"].max().reindex(out.index).fillna(out["enter"])
    return out


def rooms_log(frame: pd.DataFrame, source: str, rooms: Collection[str] | None = None) -> VisitorLog:
    """A :class:`VisitorLog` from a room-log table (validated as :func:`read_log` does)."""
    _require(frame, ROOM_COLUMNS, source, "a room log (or an event log: visitor, time, event, room)")
    visitor = _integers(frame, "visitor", source)
    room = _names(frame, "room", source, rooms, "room")
    enter = _times(frame, "enter", source)
    leave = _times(frame, "leave", source)
    back = leave < enter
    if back.any():
        i = int(np.flatnonzero(back)[0])
        raise _fail(source, i, "leave", f"time goes backwards: leaves at {leave[i]:g} before entering at {enter[i]:g}")
    rows = np.arange(len(frame))
    _in_order(visitor, enter, source, "enter", rows)
    order = np.argsort(visitor, kind="stable")
    v, e, lv = visitor[order], enter[order], leave[order]
    overlap = (v[1:] == v[:-1]) & (e[1:] < lv[:-1])
    if overlap.any():
        k = int(np.flatnonzero(overlap)[0]) + 1
        raise _fail(
            source,
            int(order[k]),
            "enter",
            f"overlapping stays: visitor {v[k]} enters at {e[k]:g} before leaving at {lv[k - 1]:g}",
        )
    stays = pd.DataFrame({"visitor": v, "room": room[order], "enter": e, "leave": lv})
    n = len(frame)
    visits = _visits(stays, visitor, enter, np.full(n, "", dtype=object), visitor, np.zeros(n, dtype=bool))
    return VisitorLog("rooms", source, stays, visits, None)

"""Summary statistics of a visitor log, simulated or observed, and the distances between two logs.

:func:`summarize` turns a :class:`~cpss.data.readers.VisitorLog` into a :class:`LogStats`: the
room transition matrix, dwell times per room and per exhibit, visit durations, arrival times,
stops per exhibit, the share of diligent visitors and the occupancy profile over the day.
:func:`distances` compares two of them: the two-sample Kolmogorov-Smirnov statistic
(:func:`ks`) for distributions and the total-variation distance (:func:`tv`) for the rows of the
transition matrix and the occupancy profile. docs/data.md defines each statistic.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from cpss.data.readers import VisitorLog

EXIT = "(exit)"
"""Column of the transition matrix for leaving the venue after a room."""


@dataclasses.dataclass
class LogStats:
    """The summary statistics of one log (see :func:`summarize`).

    Attributes:
        kind: The log's kind (``events`` or ``rooms``).
        visitors: Number of visitors.
        transitions: Counts of moves: rows the room left, columns the room entered next or :data:`EXIT`.
        room_dwell: One row per stay: ``room``, ``dwell`` (minutes).
        exhibit_dwell: One row per view: ``exhibit``, ``style``, ``dwell`` (minutes); None for room logs.
        visit_minutes: (V,) minutes from entering to leaving, per visitor.
        arrivals: (V,) arrival minute of each visitor.
        stops: Views per visitor of each exhibit (index: exhibit); None for room logs.
        diligent: Share of visitors who stopped at more than half of the exhibits (NaN for room logs).
        diligent_rooms: Share of visitors who entered more than half of the rooms.
        occupancy: Mean visitors present per time bin (index: bin start minute) and room (columns).
    """

    kind: str
    visitors: int
    transitions: pd.DataFrame
    room_dwell: pd.DataFrame
    exhibit_dwell: pd.DataFrame | None
    visit_minutes: np.ndarray
    arrivals: np.ndarray
    stops: pd.Series | None
    diligent: float
    diligent_rooms: float
    occupancy: pd.DataFrame


def summarize(
    log: VisitorLog, *, n_exhibits: int | None = None, n_rooms: int | None = None, bin_minutes: float = 15.0
) -> LogStats:
    """The summary statistics of ``log``.

    Args:
        log: A validated log.
        n_exhibits: Exhibits on the floor (default: those seen in the log); sets the diligent threshold.
        n_rooms: Rooms on the floor (default: those seen in the log), for room logs' diligent share.
        bin_minutes: Width of the occupancy profile's bins.
    """
    stays, visits = log.stays, log.visits
    # ---- transitions: consecutive stays of a visitor, then the exit after the last one
    nxt = stays["room"].shift(-1).where(stays["visitor"].shift(-1) == stays["visitor"], EXIT)
    transitions = pd.crosstab(stays["room"], nxt).astype(float)
    room_dwell = pd.DataFrame({"room": stays["room"].to_numpy(), "dwell": (stays["leave"] - stays["enter"]).to_numpy()})
    n_visitors = len(visits)
    views = log.views
    if views is not None:
        exhibit_dwell = pd.DataFrame(
            {
                "exhibit": views["exhibit"].to_numpy(),
                "style": views["style"].to_numpy(),
                "dwell": views["end"] - views["start"],
            }
        )
        stops = views.groupby("exhibit").size().astype(float) / max(1, n_visitors)
        seen = views.groupby("visitor")["exhibit"].nunique().reindex(visits.index, fill_value=0)
        diligent = float((seen > (n_exhibits or views["exhibit"].nunique()) / 2).mean()) if n_visitors else float("nan")
    else:
        exhibit_dwell, stops, diligent = None, None, float("nan")
    entered = stays.groupby("visitor")["room"].nunique().reindex(visits.index, fill_value=0)
    diligent_rooms = float((entered > (n_rooms or stays["room"].nunique()) / 2).mean()) if n_visitors else float("nan")
    return LogStats(
        kind=log.kind,
        visitors=n_visitors,
        transitions=transitions,
        room_dwell=room_dwell,
        exhibit_dwell=exhibit_dwell,
        visit_minutes=(visits["leave"] - visits["enter"]).to_numpy(dtype=float),
        arrivals=visits["arrive"].to_numpy(dtype=float),
        stops=stops,
        diligent=diligent,
        diligent_rooms=diligent_rooms,
        occupancy=occupancy_profile(stays, bin_minutes),
    )


def occupancy_profile(stays: pd.DataFrame, bin_minutes: float) -> pd.DataFrame:
    """Mean visitors present per bin of ``bin_minutes`` and room (the time each stay overlaps each bin)."""
    end = float(stays["leave"].max()) if len(stays) else 0.0
    edges = np.arange(0.0, end + bin_minutes, bin_minutes)
    lo, hi = edges[:-1], edges[1:]
    enter, leave = stays["enter"].to_numpy()[:, None], stays["leave"].to_numpy()[:, None]
    overlap = np.clip(np.minimum(leave, hi) - np.maximum(enter, lo), 0.0, None) / bin_minutes  # (stays, bins)
    rooms = stays["room"].to_numpy()
    names = sorted(set(rooms.tolist()))
    table = {r: overlap[rooms == r].sum(axis=0) for r in names}
    return pd.DataFrame(table, index=pd.Index(lo, name="minute"))


def headline(stats: LogStats) -> dict[str, float]:
    """Scalar summaries of a log (medians and means of its distributions)."""
    out = {
        "visitors": float(stats.visitors),
        "median visit (min)": _median(stats.visit_minutes),
        "median arrival (min)": _median(stats.arrivals),
        "rooms entered per visitor": len(stats.room_dwell) / max(1, stats.visitors),
        "median room dwell (min)": _median(stats.room_dwell["dwell"].to_numpy()),
        "diligent share (rooms)": stats.diligent_rooms,
        "peak occupancy (visitors)": float(stats.occupancy.sum(axis=1).max()) if len(stats.occupancy) else 0.0,
    }
    if stats.exhibit_dwell is not None and stats.stops is not None:
        out["views per visitor"] = len(stats.exhibit_dwell) / max(1, stats.visitors)
        out["median view dwell (min)"] = _median(stats.exhibit_dwell["dwell"].to_numpy())
        out["mean stops per exhibit"] = float(stats.stops.mean()) if len(stats.stops) else 0.0
        out["diligent share (exhibits)"] = stats.diligent
    return out


def _median(x: np.ndarray) -> float:
    return float(np.median(x)) if len(x) else float("nan")


# ---------------------------------------------------------------------- distances
def ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs (NaN if one is empty)."""
    a, b = np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))
    if a.size == 0 or b.size == 0:
        return float("nan")
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def tv(p: np.ndarray, q: np.ndarray) -> float:
    """Total-variation distance ``½ Σ |p/Σp − q/Σq|`` between two non-negative weight vectors (NaN if one is all 0)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def transition_tv(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    """TV distance between the rows of two transition-count matrices, per room left that both have."""
    rows = sorted(set(a.index) & set(b.index))
    cols = sorted(set(a.columns) | set(b.columns))
    a, b = a.reindex(index=rows, columns=cols, fill_value=0.0), b.reindex(index=rows, columns=cols, fill_value=0.0)
    return pd.Series({r: tv(a.loc[r].to_numpy(), b.loc[r].to_numpy()) for r in rows}, dtype=float)


def distances(a: LogStats, b: LogStats) -> list[dict[str, object]]:
    """Side-by-side rows ``{statistic, a, b, distance, measure}`` comparing two logs' statistics."""
    rows: list[dict[str, object]] = []

    def add(name: str, va: float, vb: float, dist: float, measure: str) -> None:
        rows.append({"statistic": name, "a": float(va), "b": float(vb), "distance": float(dist), "measure": measure})

    add(
        "visit duration (median min)",
        _median(a.visit_minutes),
        _median(b.visit_minutes),
        ks(a.visit_minutes, b.visit_minutes),
        "KS",
    )
    add("arrival time (median min)", _median(a.arrivals), _median(b.arrivals), ks(a.arrivals, b.arrivals), "KS")
    da, db = a.room_dwell["dwell"].to_numpy(), b.room_dwell["dwell"].to_numpy()
    add("room dwell, all rooms (median min)", _median(da), _median(db), ks(da, db), "KS")
    common = sorted(set(a.room_dwell["room"]) & set(b.room_dwell["room"]))
    per_room = [ks(_of(a.room_dwell, "room", r), _of(b.room_dwell, "room", r)) for r in common]
    na, nb = len(a.room_dwell) / max(1, a.visitors), len(b.room_dwell) / max(1, b.visitors)
    add("room dwell, per room (mean KS); rooms per visitor", na, nb, _mean(per_room), "KS")
    if a.exhibit_dwell is not None and b.exhibit_dwell is not None and a.stops is not None and b.stops is not None:
        ea, eb = a.exhibit_dwell["dwell"].to_numpy(), b.exhibit_dwell["dwell"].to_numpy()
        add("exhibit dwell, all exhibits (median min)", _median(ea), _median(eb), ks(ea, eb), "KS")
        shared = sorted(set(a.exhibit_dwell["exhibit"]) & set(b.exhibit_dwell["exhibit"]))
        per_item = [ks(_of(a.exhibit_dwell, "exhibit", e), _of(b.exhibit_dwell, "exhibit", e)) for e in shared]
        add("exhibit dwell, per exhibit (mean KS)", _median(ea), _median(eb), _mean(per_item), "KS")
        exhibits = sorted(set(a.stops.index) | set(b.stops.index))
        sa, sb = a.stops.reindex(exhibits, fill_value=0.0), b.stops.reindex(exhibits, fill_value=0.0)
        add("stops per exhibit (mean)", sa.mean(), sb.mean(), ks(sa.to_numpy(), sb.to_numpy()), "KS")
        add("stops over exhibits (shares)", sa.sum(), sb.sum(), tv(sa.to_numpy(), sb.to_numpy()), "TV")
        add("diligent share (exhibits)", a.diligent, b.diligent, abs(a.diligent - b.diligent), "|a-b|")
    add("diligent share (rooms)", a.diligent_rooms, b.diligent_rooms, abs(a.diligent_rooms - b.diligent_rooms), "|a-b|")
    row_tv = transition_tv(a.transitions, b.transitions)
    weight = a.transitions.sum(axis=1).reindex(row_tv.index).to_numpy()
    mean_tv = float(np.average(row_tv.to_numpy(), weights=weight)) if weight.sum() > 0 else float("nan")
    add("room transitions (rows, mean TV)", len(row_tv), len(row_tv), mean_tv, "TV")
    add(
        "room transitions (worst row TV)",
        len(row_tv),
        len(row_tv),
        float(row_tv.max()) if len(row_tv) else float("nan"),
        "TV",
    )
    pa_, pb_ = a.occupancy.sum(axis=1), b.occupancy.sum(axis=1)
    bins = sorted(set(pa_.index) | set(pb_.index))
    pa_, pb_ = pa_.reindex(bins, fill_value=0.0), pb_.reindex(bins, fill_value=0.0)
    add("occupancy over the day (peak)", pa_.max(), pb_.max(), tv(pa_.to_numpy(), pb_.to_numpy()), "TV")
    return rows


def _mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _of(frame: pd.DataFrame, key: str, value: str) -> np.ndarray:
    return frame.loc[frame[key] == value, "dwell"].to_numpy()

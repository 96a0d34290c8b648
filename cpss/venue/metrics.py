"""Metrics of a venue day: module-level DataCollector reporters and the day's summary.

Reporters are plain functions of the model (no lambdas, so models stay picklable). All their
values are computed together, once per tick (the population figures by one compiled kernel,
:func:`cpss.venue.kernels.stats.day_stats`), and cached on the model until the next tick; each
reporter reads its entry. :class:`VenueCollector` collects the whole row in one pass.
Satisfaction statistics are over users who have entered (present or left).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from mesa import DataCollector

from cpss.venue.kernels.stats import day_stats


def _sat(m: Any) -> np.ndarray:
    return m.pop.satisfaction[m._arrived]


def _stats(m: Any) -> list[float]:
    """The population figures of :data:`cpss.venue.kernels.stats.STAT_NAMES` (one kernel call)."""
    p = m.pop
    keep = getattr(m, "_sorted_sat", None)
    if keep is None:  # satisfactions seen so far and the sorted list (see cpss.venue.kernels.stats)
        keep = (np.zeros(p.size), np.zeros(p.size, dtype=bool), np.zeros(0), np.zeros(0, dtype=np.int64))
    shadow, inside, vals, ids = keep
    counts = (p.n_viewed, p.top_seen, p.top_items.shape[1], m.guides.visitor, m.occupancy, m.comfort)
    out, vals, ids = day_stats(p.state, p.satisfaction, counts, shadow, inside, vals, ids)
    m._sorted_sat = (shadow, inside, vals, ids)
    return out.tolist()


def _row(m: Any) -> list[float | int]:
    """Every reporter's value now, in :data:`MODEL_REPORTERS` order; cached until the next tick."""
    cache = getattr(m, "_row_cache", None)
    if cache is not None and cache[0] == m._version:
        return cache[1]
    n_arrived, n_present, n_left, mean, median, gini_, items, coverage, n_served, occupancy = _stats(m)
    row = [
        float(m.minute),
        mean,
        median,
        gini_,
        int(n_arrived),
        int(n_present),
        int(n_left),
        int(n_served),
        items,
        coverage,
        float(m.wait_sum / m.views) if m.views else 0.0,
        occupancy,
        float(m.peak_ratio),
        float(m.congestion_minutes),
        float(m.accepts / m.offers) if m.offers else 0.0,
        int(m.offers),
    ]
    m._row_cache = (m._version, row)
    return row


def minute(m: Any) -> float:
    """Minutes since opening."""
    return _row(m)[0]


def mean_satisfaction(m: Any) -> float:
    """Mean accumulated satisfaction of users who entered."""
    return _row(m)[1]


def median_satisfaction(m: Any) -> float:
    """Median accumulated satisfaction of users who entered."""
    return _row(m)[2]


def satisfaction_gini(m: Any) -> float:
    """Gini coefficient of satisfaction (clipped at 0) over users who entered."""
    return _row(m)[3]


def arrived(m: Any) -> int:
    """Users who have entered so far."""
    return _row(m)[4]


def present(m: Any) -> int:
    """Users inside the venue."""
    return _row(m)[5]


def left(m: Any) -> int:
    """Users who have left."""
    return _row(m)[6]


def served(m: Any) -> int:
    """Users currently served by a guide."""
    return _row(m)[7]


def items_per_visitor(m: Any) -> float:
    """Items viewed per user who entered."""
    return _row(m)[8]


def top_interest_coverage(m: Any) -> float:
    """Share of each user's top-k best-matching items seen, averaged over users who entered."""
    return _row(m)[9]


def mean_wait(m: Any) -> float:
    """Mean minutes of queueing (and waiting at full doors) per started view."""
    return _row(m)[10]


def occupancy_ratio(m: Any) -> float:
    """Highest occupancy / comfortable capacity over zones, now."""
    return _row(m)[11]


def peak_occupancy_ratio(m: Any) -> float:
    """Highest occupancy / comfortable capacity over zones so far today."""
    return _row(m)[12]


def congestion_minutes(m: Any) -> float:
    """Visitor-minutes spent in rooms denser than the crowding threshold, so far."""
    return _row(m)[13]


def acceptance_rate(m: Any) -> float:
    """Share of recommendations accepted so far."""
    return _row(m)[14]


def recommendations(m: Any) -> int:
    """Recommendations offered so far."""
    return _row(m)[15]


MODEL_REPORTERS = {
    "minute": minute,
    "mean_satisfaction": mean_satisfaction,
    "median_satisfaction": median_satisfaction,
    "satisfaction_gini": satisfaction_gini,
    "arrived": arrived,
    "present": present,
    "left": left,
    "served": served,
    "items_per_visitor": items_per_visitor,
    "top_interest_coverage": top_interest_coverage,
    "mean_wait": mean_wait,
    "occupancy_ratio": occupancy_ratio,
    "peak_occupancy_ratio": peak_occupancy_ratio,
    "congestion_minutes": congestion_minutes,
    "acceptance_rate": acceptance_rate,
    "recommendations": recommendations,
}
"""Reporter name -> function(model), collected every tick."""


def summary(m: Any) -> dict[str, float]:
    """The day's headline figures (every reporter's current value)."""
    return {name: float(fn(m)) for name, fn in MODEL_REPORTERS.items()}


class VenueCollector(DataCollector):
    """Mesa's DataCollector over :data:`MODEL_REPORTERS`, one row per collect.

    Mesa's own ``collect`` checks each reporter's kind, deep-copies its value and appends it to
    its column; this keeps the rows of :func:`_row` (plain Python numbers) and builds the same
    columns (``model_vars``, hence the same ``get_model_vars_dataframe()``) when they are read.
    """

    def __init__(self) -> None:
        self._rows: list[list[float | int]] = []
        super().__init__(model_reporters=MODEL_REPORTERS)

    @property
    def model_vars(self) -> dict[str, list[float | int]]:
        """Reporter name -> its value at every collect (built from the rows on each access)."""
        return {name: [row[i] for row in self._rows] for i, name in enumerate(MODEL_REPORTERS)}

    @model_vars.setter
    def model_vars(self, value: dict) -> None:
        """Mesa's ``__init__`` assigns an empty dict; the columns come from the rows instead."""

    def collect(self, model: Any) -> None:
        """Append every reporter's current value (one row)."""
        self._rows.append(_row(model))

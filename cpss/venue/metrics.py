"""Metrics of a venue day: module-level DataCollector reporters and the day's summary.

Reporters are plain functions of the model (no lambdas, so models stay picklable). All their
values are computed together, once per tick (the population figures by one compiled kernel,
:func:`cpss.venue.kernels.stats.day_stats`), and cached on the model until the next tick; each
reporter reads its entry. :class:`VenueCollector` collects the whole row in one pass.
Satisfaction statistics are over users who have entered (present or left).

The day's :func:`summary` adds the externality and fairness metrics of :func:`fairness` (what
guidance does to others: guided vs unguided visitors, visiting styles, group sizes, exposure
concentration, welfare); they are computed when the summary is read, not collected per tick.
docs/metrics.md defines every metric.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from mesa import DataCollector

from cpss.kit.stats import gini
from cpss.venue.kernels.stats import GROUP_BUCKETS, STAT_NAMES, day_stats, fairness_groups, group_means


def _sat(m: Any) -> np.ndarray:
    return m.pop.satisfaction[m._arrived]


def _stats(m: Any) -> list[float]:
    """The population figures of :data:`cpss.venue.kernels.stats.STAT_NAMES` (one kernel call)."""
    p = m.pop
    keep = getattr(m, "_sorted_sat", None)
    if keep is None:  # satisfactions seen so far, the sorted list's length, two list buffers, the figures
        lists = [(np.zeros(p.size), np.zeros(p.size, dtype=np.int64)) for _ in range(2)]
        keep = (np.zeros(p.size), np.zeros(p.size, dtype=bool), 0, *lists, np.zeros(len(STAT_NAMES)))
    shadow, inside, n_sorted, (vals, ids), spare, figures = keep
    counts = (p.n_viewed, p.top_seen, p.top_items.shape[1], m.guides.visitor, m.occupancy, m.comfort)
    n = day_stats(p.state, p.satisfaction, counts, shadow, inside, vals[:n_sorted], ids[:n_sorted], (figures, *spare))
    m._sorted_sat = (shadow, inside, n, spare, (vals, ids), figures)  # the new list is in `spare`: swap
    return figures.tolist()


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
        float(m.entry_queue_minutes),
        float(m.congestion_minutes + m.entry_queue_minutes),
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


def entry_queue_minutes(m: Any) -> float:
    """Visitor-minutes spent held at a full entrance after the arrival time, so far."""
    return _row(m)[16]


def crowded_minutes(m: Any) -> float:
    """Visitor-minutes of crowding anywhere: in rooms above the threshold plus held at the entrance."""
    return _row(m)[17]


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
    "entry_queue_minutes": entry_queue_minutes,
    "crowded_minutes": crowded_minutes,
}
"""Reporter name -> function(model), collected every tick."""


def style_key(name: str) -> str:
    """A visiting style's name as a snake_case key part (``"Big spender"`` -> ``big_spender``)."""
    return re.sub(r"\W+", "_", name.strip().lower()).strip("_") or "style"


def fairness_names(style_names: list[str]) -> list[str]:
    """Keys of :func:`fairness`, in order, for a venue with these visiting styles."""
    names = ["share_guided", "sat_guided", "sat_unguided", "wait_guided", "wait_unguided", "wait_all"]
    names += ["welfare_total", "welfare_guided", "welfare_unguided", "gini_views"]
    for kind in ("sat", "wait"):
        names += [f"{kind}_style_{style_key(s)}" for s in style_names]
        names += [f"{kind}_group_{b}" for b in GROUP_BUCKETS]
    return names


def fairness_values(share: Any, sat: Any, wait: Any, welfare: Any, gini_views: Any) -> list[Any]:
    """The values of :func:`fairness_names`, in order, from the figures per set of users.

    ``sat``, ``wait`` and ``welfare`` are indexed by the rows of
    :func:`cpss.venue.kernels.stats.fairness_groups` (guided, unguided, everyone, the styles, the
    group sizes); entries may be numbers (numpy) or (B,) tensors (the batched engine).
    """
    out = [share, sat[0], sat[1], wait[0], wait[1], wait[2], welfare[2], welfare[0], welfare[1], gini_views]
    for per_set in (sat, wait):
        out += list(per_set[3:])
    return out


def fairness(m: Any) -> dict[str, float]:
    """Externality and fairness metrics of the day so far (definitions: docs/metrics.md).

    Over users who entered: guided users are those whose group carries a mobile guide.
    ``sat_*`` are mean accumulated satisfactions and ``wait_*`` mean minutes queued per user of
    each set (NaN for a set with nobody in it); ``welfare_*`` sums satisfaction; ``gini_views``
    is the Gini coefficient of views over exhibits.
    """
    p = m.pop
    rows = fairness_groups(p.state, p.has_device, p.leader, p.style, len(m.style_names))
    n = rows.sum(axis=1)
    share = float(n[0] / n[2]) if n[2] else float("nan")
    welfare = (rows * p.satisfaction[None, :]).sum(axis=1)
    sat, wait = group_means(p.satisfaction, rows), group_means(p.wait_total, rows)
    values = fairness_values(share, sat, wait, welfare, gini(m.popularity))
    return dict(zip(fairness_names(m.style_names), map(float, values), strict=True))


def summary(m: Any) -> dict[str, float]:
    """The day's figures: every reporter's current value, then :func:`fairness`."""
    return {**{name: float(fn(m)) for name, fn in MODEL_REPORTERS.items()}, **fairness(m)}


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

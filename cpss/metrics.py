"""Metrics of a venue day: module-level DataCollector reporters and the day's summary.

Reporters are plain functions of the model that read the population arrays (no lambdas,
so models stay picklable; no per-agent loops, so they stay cheap at thousands of users).
Satisfaction statistics are over users who have entered (present or left).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (negative values are clipped to 0).

    Args:
        values: 1-D array.

    Returns:
        0 for perfect equality up to (n-1)/n for one holder of everything; 0 for empty input.
    """
    x = np.sort(np.clip(np.asarray(values, dtype=float), 0.0, None))
    n = x.size
    if n == 0 or x.sum() == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(np.sum((2 * ranks - n - 1) * x) / (n * x.sum()))


def _sat(m: Any) -> np.ndarray:
    return m.pop.satisfaction[m._arrived]


def minute(m: Any) -> float:
    """Minutes since opening."""
    return float(m.minute)


def mean_satisfaction(m: Any) -> float:
    """Mean accumulated satisfaction of users who entered."""
    s = _sat(m)
    return float(s.mean()) if s.size else 0.0


def median_satisfaction(m: Any) -> float:
    """Median accumulated satisfaction of users who entered."""
    s = _sat(m)
    if s.size == 0:
        return 0.0
    half = s.size // 2
    part = np.partition(s, [half - 1, half] if s.size > 1 else [0])
    return float(part[half] if s.size % 2 else 0.5 * (part[half - 1] + part[half]))


def satisfaction_gini(m: Any) -> float:
    """Gini coefficient of satisfaction (clipped at 0) over users who entered."""
    return gini(_sat(m))


def served(m: Any) -> int:
    """Users currently served by a guide."""
    return int((m.guides.visitor >= 0).sum())


def present(m: Any) -> int:
    """Users inside the venue."""
    return int(m.pop.present.sum())


def left(m: Any) -> int:
    """Users who have left."""
    return int((m.pop.state == 5).sum())


def arrived(m: Any) -> int:
    """Users who have entered so far."""
    return int(m._arrived.sum())


def items_per_visitor(m: Any) -> float:
    """Items viewed per user who entered."""
    a = m._arrived
    return float(m.pop.n_viewed[a].mean()) if a.any() else 0.0


def top_interest_coverage(m: Any) -> float:
    """Share of each user's top-k best-matching items seen, averaged over users who entered."""
    a = m._arrived
    n = int(a.sum())
    return float(m.pop.top_seen[a].sum() / (n * m.pop.top_items.shape[1])) if n else 0.0


def mean_wait(m: Any) -> float:
    """Mean minutes of queueing (and waiting at full doors) per started view."""
    return float(m.wait_sum / m.views) if m.views else 0.0


def occupancy_ratio(m: Any) -> float:
    """Highest occupancy / comfortable capacity over zones, now."""
    return float((m.occupancy / m.comfort).max(initial=0.0))


def peak_occupancy_ratio(m: Any) -> float:
    """Highest occupancy / comfortable capacity over zones so far today."""
    return float(m.peak_ratio)


def congestion_minutes(m: Any) -> float:
    """Visitor-minutes spent in rooms denser than the crowding threshold, so far."""
    return float(m.congestion_minutes)


def acceptance_rate(m: Any) -> float:
    """Share of recommendations accepted so far."""
    return float(m.accepts / m.offers) if m.offers else 0.0


def recommendations(m: Any) -> int:
    """Recommendations offered so far."""
    return int(m.offers)


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
